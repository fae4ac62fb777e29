// One site: its summary and tabs (deployments, files, env vars, KV, live logs, analytics), each
// tab its own module loaded when opened. The tab is part of the URL, so it survives a reload.

import { get, del, siteUrl } from '../api.js';
import { h, act, section, bytes, ago, text } from '../ui.js';

const TABS = [
  ['deployments', 'Deployments', 'site-deploys'], ['files', 'Files', 'site-files'], ['env', 'Env vars', 'site-env'],
  ['kv', 'KV', 'site-kv'], ['logs', 'Live logs', 'site-logs'], ['analytics', 'Analytics', 'site-analytics'],
  ['domains', 'Domains', 'site-domains'], ['git', 'Git', 'site-git'],
];

export function render(main, [name, tabName], ctx) {
  const current = TABS.find(([id]) => id === tabName) || TABS[0];
  const summary = h('div');
  const panel = h('div', { role: 'tabpanel', id: 'panel', tabindex: '0', 'aria-labelledby': 'tab-' + current[0] });
  let tabCleanup = null;
  const refresh = () => section(summary, async () => {
    const s = await get(`/sites/${name}`);
    return h('p', { class: 'muted' }, `Deployment #${text(s.active_deployment_id)} · ${text(s.file_count)} files · ${bytes(s.size_bytes)} · updated ${ago(s.updated_at)}`);
  });

  const tabs = TABS.map(([id, label]) => h('button', {
    type: 'button', role: 'tab', id: 'tab-' + id, 'aria-selected': String(id === current[0]), 'aria-controls': 'panel',
    tabindex: id === current[0] ? '0' : '-1', onclick: () => ctx.navigate(`/sites/${name}/${id}`),
  }, label));
  const tablist = h('div', { role: 'tablist', 'aria-label': 'Site sections' }, tabs);
  // Arrow keys move between tabs (the WAI-ARIA tabs pattern); Enter/Space/click open one.
  tablist.addEventListener('keydown', (e) => {
    const i = tabs.indexOf(document.activeElement);
    if (i < 0) return;
    const step = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
    if (step) { e.preventDefault(); tabs[(i + step + tabs.length) % tabs.length].focus(); }
    if (e.key === 'Home') { e.preventDefault(); tabs[0].focus(); }
    if (e.key === 'End') { e.preventDefault(); tabs[tabs.length - 1].focus(); }
  });

  const remove = h('button', { type: 'button', class: 'danger' }, 'Delete site');
  remove.addEventListener('click', () => {
    if (!window.confirm(`Delete the site ${name}, all its deployments, files, env vars, KV data and logs?`)) return;
    act(remove, async () => { await del(`/sites/${name}`); ctx.navigate('/sites'); });
  });

  main.append(
    h('h1', null, h('a', { href: '/sites', class: 'small' }, 'Sites'), ' / ', name,
      h('a', { class: 'button ghost', href: siteUrl(name), target: '_blank', rel: 'noopener', id: 'open-site' }, 'Open site ↗')),
    summary, tablist, panel, h('div', { class: 'row' }, remove));
  refresh();

  import(`./${current[2]}.js`).then((mod) => {
    tabCleanup = mod.render(panel, name, { ...ctx, refresh });
  }, () => {
    panel.replaceChildren(h('p', { class: 'error', role: 'alert' }, 'This tab could not be loaded. Check the connection and reload.'));
  });
  return () => { if (typeof tabCleanup === 'function') tabCleanup(); };
}
