// The server: health, cache, database, limits, and a backup of the whole cartridge to download.

import { get, request } from '../api.js';
import { h, act, section, card, bytes, duration, text, toast } from '../ui.js';

const rows = (pairs) => h('dl', { class: 'kv' }, pairs.flatMap(([k, v]) => [h('dt', null, k), h('dd', null, text(v))]));

async function download(button) {
  await act(button, async () => {
    let response;
    try {
      response = await request('/system/backup', { method: 'POST', raw: true });
    } catch (err) {
      if (err.status === 404) err.message = 'This server cannot stream backups; run "fazt backup OUT" on the server instead.';
      throw err;
    }
    const blob = await response.blob();
    const named = /filename="?([^";]+)"?/.exec(response.headers.get('content-disposition') || '');
    const a = h('a', { href: URL.createObjectURL(blob), download: named ? named[1] : `fazt-backup-${new Date().toISOString().slice(0, 10)}.db` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    toast(`Backup downloaded (${bytes(blob.size)})`);
  });
}

export function render(main) {
  const health = h('div'); const cache = h('div'); const db = h('div'); const limits = h('div'); const backup = h('div');
  main.append(h('h1', null, 'System'), h('div', { class: 'grid' },
    card('Health', health), card('Cache', cache), card('Database', db), card('Limits', limits), card('Backup', backup)));
  section(health, async () => {
    const s = await get('/system/health');
    return rows([['Status', s.status], ['Version', s.version], ['Mode', s.mode], ['Uptime', duration(s.uptime_seconds)],
      ['Sites', s.sites], ['Memory (RSS)', bytes(s.memory?.rss_bytes)], ['JS workers', s.runtime?.js_workers], ['JS worker restarts', s.runtime?.js_worker_restarts]]);
  });
  section(cache, async () => {
    const c = await get('/system/cache');
    return rows([['Files cached', c.cached_files], ['Used', `${bytes(c.cache_size_bytes)} of ${bytes(c.max_bytes)}`],
      ['Hits', c.hits], ['Misses', c.misses], ['Hit ratio', typeof c.hit_ratio === 'number' ? (c.hit_ratio * 100).toFixed(1) + ' %' : null]]);
  });
  section(db, async () => {
    const d = await get('/system/db');
    return rows([['File', d.path], ['Size', bytes(d.size_bytes)], ['WAL', bytes(d.wal_size_bytes)], ['Schema version', d.schema_version], ['Sites', d.sites]]);
  });
  section(limits, async () => {
    const l = await get('/system/limits');
    return rows([['Archive', bytes(l.max_archive_bytes)], ['Unpacked', bytes(l.max_unpacked_bytes)], ['Files per deploy', l.max_entries],
      ['Deployments kept', l.keep_deployments], ['JS CPU per request', l.js_cpu_ms != null ? l.js_cpu_ms + ' ms' : null], ['CPUs', l.cpu_count], ['RAM', bytes(l.total_ram)]]);
  });
  section(backup, async () => {
    const button = h('button', { type: 'button', id: 'backup' }, 'Download a backup');
    button.addEventListener('click', () => download(button));
    return [h('p', null, 'A consistent snapshot of data.db: every site, deployment, key, KV value and event. Restore it with ',
      h('code', null, 'fazt restore'), '.'), button];
  });
}
