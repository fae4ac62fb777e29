// API keys: create one (all of the API, or deploys of one site), see its token once, revoke.

import { get, post, del } from '../api.js';
import { h, act, paged, table, when, field, toast } from '../ui.js';

export function render(main) {
  const name = h('input', { name: 'name', placeholder: 'laptop', autocomplete: 'off', required: true });
  const scope = h('select', { name: 'scopes' }, h('option', { value: 'admin' }, 'Admin: the whole API'),
    h('option', { value: 'deploy' }, 'Deploy named sites only'));
  const site = h('input', { name: 'site', placeholder: 'blog, docs', autocomplete: 'off', hidden: true, 'aria-label': 'Sites the key may deploy (comma separated)' });
  scope.addEventListener('change', () => { site.hidden = scope.value !== 'deploy'; });
  const submit = h('button', { type: 'submit' }, 'Create key');
  const shown = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'row', 'aria-label': 'Create an API key' }, field('Name', name), field('Scope', scope), site, submit);

  const list = paged((limit, offset) => get('/keys', { limit, offset }, { meta: true }), (rows) => table([
    { label: 'Name', cell: (k) => k.name },
    { label: 'Scopes', cell: (k) => h('code', null, (k.scopes || []).join(', ')) },
    { label: 'Created', cell: (k) => when(k.created_at), cls: 'hide-phone' },
    { label: 'Last used', cell: (k) => (k.last_used_at ? when(k.last_used_at) : 'never'), cls: 'hide-phone' },
    { label: '', cell: (k) => h('button', { type: 'button', class: 'danger', 'data-revoke': k.name,
      onclick: (e) => act(e.currentTarget, async () => { await del(`/keys/${k.id}`); toast(`Key ${k.name} revoked`); list.reload(); }) }, 'Revoke') },
  ], rows, 'No API keys. Create one to deploy from the command line.'));

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    act(submit, async () => {
      const sites = site.value.split(/[\s,]+/).filter(Boolean);
      const scopes = scope.value === 'deploy' ? (sites.length ? sites.map((s) => `deploy:${s}`) : ['deploy:']) : ['admin'];
      const key = await post('/keys', { name: name.value.trim(), scopes });
      const token = h('code', { id: 'new-token' }, key.token);
      const copy = h('button', { type: 'button', class: 'ghost', onclick: () => navigator.clipboard?.writeText(key.token).then(() => toast('Copied'), () => toast('Select the token and copy it')) }, 'Copy');
      shown.replaceChildren(h('div', { class: 'token' }, h('p', null, h('strong', null, `Token for ${key.name}`), ' — shown only this once:'), h('p', null, token, ' ', copy)));
      name.value = '';
      list.reload();
    });
  });
  main.append(h('h1', null, 'API keys'), form, shown, list);
}
