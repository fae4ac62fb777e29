// The KV browser: a site's keys by prefix, one value at a time, and deleting keys.

import { get, del } from '../api.js';
import { h, act, paged, table, bytes, when, field, toast } from '../ui.js';

const keyPath = (name, key) => `/sites/${name}/kv/${key.split('/').map(encodeURIComponent).join('/')}`;

export function render(panel, name) {
  const prefix = h('input', { name: 'prefix', placeholder: 'prefix (empty: all keys)', autocomplete: 'off' });
  const submit = h('button', { type: 'submit' }, 'List');
  const viewer = h('div');
  const holder = h('div');
  let list;
  const show = () => {
    list = paged((limit, offset) => get(`/sites/${name}/kv`, { prefix: prefix.value, limit, offset }, { meta: true }), (rows) => table([
      { label: 'Key', cell: (k) => h('button', { type: 'button', class: 'ghost mono', onclick: (e) => view(e.currentTarget, k.key) }, k.key) },
      { label: 'Value', cell: (k) => h('code', null, k.preview + (k.truncated ? '…' : '')), cls: 'hide-phone' },
      { label: 'Size', cell: (k) => bytes(k.size), num: true },
      { label: 'Expires', cell: (k) => (k.expires_at ? when(k.expires_at) : 'never'), cls: 'hide-phone' },
      { label: '', cell: (k) => h('button', { type: 'button', class: 'danger', 'data-delete': k.key,
        onclick: (e) => act(e.currentTarget, async () => { await del(keyPath(name, k.key)); toast(`${k.key} deleted`); viewer.replaceChildren(); list.reload(); }) }, 'Delete') },
    ], rows, prefix.value ? 'No keys with this prefix.' : 'This site has stored nothing in KV yet.'), 50);
    holder.replaceChildren(list);
  };
  const view = (button, key) => act(button, async () => {
    const item = await get(keyPath(name, key));
    viewer.replaceChildren(h('h2', null, key), h('p', { class: 'muted small' }, `${bytes(item.size)} · updated ${when(item.updated_at)}`),
      h('pre', { class: 'viewer', tabindex: '0' }, typeof item.value === 'string' ? item.value : JSON.stringify(item.value, null, 2)));
  });
  const form = h('form', { class: 'row', role: 'search' }, field('Prefix', prefix), submit);
  form.addEventListener('submit', (e) => { e.preventDefault(); show(); });
  panel.append(form, holder, viewer);
  show();
}
