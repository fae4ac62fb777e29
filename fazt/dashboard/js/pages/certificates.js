// Certificates (SPEC §11): what the ACME client holds, soonest expiry first. A server started
// without certificate support answers 404; that is a state to explain, not an error.

import { get } from '../api.js';
import { h, table, when, section, badge, text } from '../ui.js';

const KIND = { valid: 'ok', pending: 'warn', 'self-signed': 'warn', failed: 'bad', expired: 'bad' };

function statusBadge(c) {
  const days = c.not_after ? (new Date(c.not_after) - Date.now()) / 86400000 : NaN;
  if (c.status === 'valid' && days < 14) return badge(`expires in ${Math.max(0, Math.floor(days))} d`, 'warn');
  return badge(text(c.status), KIND[c.status] || '');
}

export async function certificateRows(limit) {
  const unavailable = () => h('p', { class: 'muted' },
    'No certificates: this server does not manage HTTPS certificates (start it with --https to get them automatically).');
  let rows;
  try {
    rows = await get('/certificates', { limit: limit || 100 });
  } catch (err) {
    if (err.status === 404 || err.status === 503) return unavailable();
    throw err;
  }
  rows = [...rows].sort((a, b) => String(a.not_after || '9').localeCompare(String(b.not_after || '9')));
  return table([
    { label: 'Name', cell: (c) => h('code', null, text(c.name)) },
    { label: 'Status', cell: statusBadge },
    { label: 'Expires', cell: (c) => when(c.not_after) },
    { label: 'Issuer', cell: (c) => c.issuer, cls: 'hide-phone' },
    { label: 'Last error', cell: (c) => c.last_error, cls: 'hide-phone' },
    { label: 'Next attempt', cell: (c) => when(c.next_attempt), cls: 'hide-phone' },
  ], rows, 'No certificates yet: they are requested when the server starts with --https.');
}

export function render(main) {
  const box = h('div');
  main.append(h('h1', null, 'Certificates'), box);
  section(box, () => certificateRows());
}
