// The audit log: who did what, newest first.

import { get } from '../api.js';
import { h, paged, table, when, badge } from '../ui.js';

export function render(main) {
  main.append(h('h1', null, 'Audit log'), paged((limit, offset) => get('/audit', { limit, offset }, { meta: true }), (rows) => table([
    { label: 'When', cell: (a) => when(a.created_at) },
    { label: 'Who', cell: (a) => a.actor },
    { label: 'Action', cell: (a) => h('code', null, a.action) },
    { label: 'On', cell: (a) => a.resource },
    { label: 'Result', cell: (a) => badge(a.result, a.result === 'ok' ? 'ok' : 'bad') },
    { label: 'Details', cell: (a) => a.details, cls: 'hide-phone' },
  ], rows, 'Nothing recorded yet.')));
}
