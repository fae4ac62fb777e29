// Every site, with a drop zone to deploy a new one (or a new version of one).

import { get, siteUrl } from '../api.js';
import { h, paged, table, bytes, ago } from '../ui.js';
import { deployBox } from '../deploy.js';

export function render(main, _params, ctx) {
  const list = paged((limit, offset) => get('/sites', { limit, offset }, { meta: true }), (rows) => table([
    { label: 'Site', cell: (s) => h('a', { href: `/sites/${s.name}` }, s.name) },
    { label: 'Open', cell: (s) => h('a', { href: siteUrl(s.name, s.url), target: '_blank', rel: 'noopener', 'aria-label': `Open ${s.name} in a new tab` }, 'Open ↗') },
    { label: 'Deployment', cell: (s) => (s.active_deployment_id ? '#' + s.active_deployment_id : null), cls: 'hide-phone' },
    { label: 'Files', cell: (s) => s.file_count, num: true },
    { label: 'Size', cell: (s) => bytes(s.size_bytes), num: true },
    { label: 'Updated', cell: (s) => ago(s.updated_at), cls: 'hide-phone' },
  ], rows, 'No sites yet: drop a folder above to deploy the first one.'));
  main.append(h('h1', null, 'Sites'),
    h('section', { 'aria-label': 'Deploy' }, deployBox((result) => ctx.navigate(`/sites/${result.site}`))),
    list);
}
