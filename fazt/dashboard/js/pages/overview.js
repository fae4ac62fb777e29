// The overview: how many sites, today's and this week's traffic, the latest deploys, the
// server's health and the certificates closest to expiry. Each card loads on its own, so one
// slow or missing part (certificates on a server without --https) never blanks the page.

import { get } from '../api.js';
import { h, card, section, table, bytes, ago, duration, text, badge } from '../ui.js';
import { certificateRows } from './certificates.js';

export function render(main) {
  const sites = h('div'); const traffic = h('div'); const deploys = h('div'); const health = h('div'); const certs = h('div');
  main.append(h('h1', null, 'Overview'),
    h('div', { class: 'grid' }, card('Sites', sites), card('Visits', traffic), card('System health', health)),
    h('div', { class: 'grid' }, h('section', { class: 'card wide' }, h('h2', null, 'Recent deploys'), deploys)),
    h('div', { class: 'grid' }, h('section', { class: 'card wide' }, h('h2', null, 'Certificates'), certs)));

  section(sites, async () => {
    const { meta } = await get('/sites', { limit: 1 }, { meta: true });
    return [h('div', { class: 'stat' }, text(meta?.total)), h('a', { href: '/sites' }, 'All sites →')];
  });
  section(traffic, async () => {
    const s = await get('/stats');
    return [h('div', { class: 'stat' }, text(s.total_events_today)), h('p', { class: 'muted small' }, 'visits today (pageviews, beacons, clicks)'), h('dl', { class: 'kv' },
      h('dt', null, 'This week'), h('dd', null, text(s.total_events_week)),
      h('dt', null, 'Visitors today'), h('dd', null, text(s.unique_visitors?.today)),
      h('dt', null, 'Visitors this week'), h('dd', null, text(s.unique_visitors?.week)),
      h('dt', null, 'Redirect clicks'), h('dd', null, text(s.total_redirect_clicks)))];
  });
  section(health, async () => {
    const s = await get('/system/health');
    return h('dl', { class: 'kv' },
      h('dt', null, 'Status'), h('dd', null, badge(text(s.status), s.status === 'healthy' ? 'ok' : 'bad')),
      h('dt', null, 'Version'), h('dd', null, text(s.version)),
      h('dt', null, 'Uptime'), h('dd', null, duration(s.uptime_seconds)),
      h('dt', null, 'Memory'), h('dd', null, bytes(s.memory?.rss_bytes)),
      h('dt', null, 'Database'), h('dd', null, bytes(s.database?.size_bytes)),
      h('dt', null, 'JS workers'), h('dd', null, text(s.runtime?.js_workers)));
  });
  section(deploys, async () => {
    const rows = await get('/deployments', { limit: 8 });
    return table([
      { label: 'Site', cell: (d) => h('a', { href: `/sites/${d.site}` }, d.site) },
      { label: 'Deployment', cell: (d) => h('span', null, '#' + d.id, ' ', d.active ? badge('live', 'ok') : null) },
      { label: 'When', cell: (d) => ago(d.created_at) },
      { label: 'By', cell: (d) => d.deployed_by, cls: 'hide-phone' },
      { label: 'Files', cell: (d) => d.file_count, num: true },
      { label: 'Size', cell: (d) => bytes(d.size_bytes), num: true },
    ], rows, 'No deploys yet. Deploy a site from the Sites page.');
  });
  section(certs, () => certificateRows(5));
}
