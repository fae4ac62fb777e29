// A site's deployments, newest first, each with what changed against the one before it
// (files and bytes), its preview link (d<ID>--NAME), a one-click rollback to any earlier one or
// promote of a newer one, and the site's traffic split if it has one (SPEC §15).

import { get, post, del } from '../api.js';
import { h, act, paged, table, bytes, when, badge, text, toast } from '../ui.js';
import { deployBox } from '../deploy.js';

function delta(value, before, format) {
  if (before === undefined) return null;
  const d = value - before;
  if (!d) return h('span', { class: 'muted small' }, ' ±0');
  return h('span', { class: 'small ' + (d > 0 ? 'up' : 'down') }, ` ${d > 0 ? '+' : '−'}${format(Math.abs(d))}`);
}

function splitBox(name, onEnd) {
  const box = h('p', { class: 'split', 'data-split': '' });
  get(`/sites/${name}/split`).then((data) => {
    if (!data.split) return;
    const total = data.split.reduce((sum, s) => sum + s.weight, 0);
    box.append('Traffic split: ', data.split.map((s) => `#${s.deployment_id} ${Math.round((100 * s.weight) / total)}%`).join(' · '),
      ' ', h('button', {
        type: 'button', class: 'ghost', 'data-end-split': '',
        onclick: (e) => act(e.currentTarget, async () => {
          await del(`/sites/${name}/split`);
          toast(`${name} serves its live deployment to everyone`);
          box.replaceChildren(); onEnd();
        }),
      }, 'End split'));
  }).catch(() => {});
  return box;
}

export function render(panel, name, ctx) {
  const list = paged((limit, offset) => get(`/sites/${name}/deployments`, { limit: limit + 1, offset }, { meta: true })
    .then((page) => ({ ...page, meta: { ...page.meta, limit } })), (all) => {
    // One extra row is fetched so the oldest shown deployment can be compared too.
    const rows = all.slice(0, 20).map((d, i) => ({ ...d, previous: all[i + 1] }));
    return table([
      { label: 'Deployment', cell: (d) => h('span', null, '#' + d.id, ' ', d.active ? badge('live', 'ok') : null) },
      { label: 'When', cell: (d) => when(d.created_at) },
      { label: 'Preview', cell: (d) => h('a', { href: d.preview_url, target: '_blank', rel: 'noopener noreferrer',
        'data-preview': d.id }, d.preview_url.replace(/^https?:\/\//, '').replace(/\/$/, '')), cls: 'hide-phone' },
      { label: 'By', cell: (d) => d.deployed_by, cls: 'hide-phone' },
      { label: 'Source', cell: (d) => (d.source_commit ? h('code', { title: `${d.source_url} ${d.source_ref}` }, d.source_commit.slice(0, 12)) : null), cls: 'hide-phone' },
      { label: 'Files', cell: (d) => h('span', null, text(d.file_count), delta(d.file_count, d.previous?.file_count, String)), num: true },
      { label: 'Size', cell: (d) => h('span', null, bytes(d.size_bytes), delta(d.size_bytes, d.previous?.size_bytes, bytes)), num: true },
      { label: '', cell: (d) => (d.active ? null : h('button', {
        type: 'button', class: 'ghost', 'data-rollback': d.id,
        onclick: (e) => act(e.currentTarget, async () => {
          await post(`/sites/${name}/rollback`, { deployment_id: d.id });
          toast(`${name} now serves deployment #${d.id}`);
          list.reload(); ctx.refresh();
        }),
      }, d.id < (all.find((x) => x.active)?.id ?? 0) ? 'Roll back' : 'Promote')) },
    ], rows, 'No deployments.');
  }, 20);
  panel.append(deployBox(() => { list.reload(); ctx.refresh(); }, name), splitBox(name, () => list.reload()), list);
}
