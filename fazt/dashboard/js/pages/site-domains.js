// A site's custom domains: add one (with what www. does), remove one, and check that a name
// reaches this server. The certificate comes at the first HTTPS visit to a registered name.

import { get, post, del } from '../api.js';
import { h, act, section, table, when, field, toast, badge } from '../ui.js';

const RESULTS = { reaches_this_server: ['reaches this server', 'ok'], resolves_elsewhere: ['resolves elsewhere', 'warn'],
  does_not_resolve: ['does not resolve', 'warn'] };

export function render(panel, name) {
  const list = h('div');
  const outcome = h('p', { role: 'status', 'aria-live': 'polite' });
  const check = (domain, control) => act(control, async () => {
    const r = await post(`/sites/${name}/domains/${encodeURIComponent(domain)}/check`, {});
    const [label, kind] = RESULTS[r.result] || [r.result, ''];
    outcome.replaceChildren(h('code', null, r.name), ' ', badge(label, kind), ' ', h('span', { class: 'muted small' }, r.message));
  });
  const load = () => section(list, async () => table([
    { label: 'Domain', cell: (d) => h('a', { href: 'https://' + d.name + '/', target: '_blank', rel: 'noopener' }, d.name) },
    { label: 'www.', cell: (d) => d.www },
    { label: 'Added', cell: (d) => when(d.created_at), cls: 'hide-phone' },
    { label: '', cell: (d) => h('span', { class: 'row' },
      h('button', { type: 'button', class: 'ghost', 'data-check': d.name, onclick: (e) => check(d.name, e.currentTarget) }, 'Check'),
      h('button', { type: 'button', class: 'danger', 'data-remove': d.name, onclick: (e) => act(e.currentTarget, async () => {
        await del(`/sites/${name}/domains/${encodeURIComponent(d.name)}`); toast(`${d.name} removed`); load();
      }) }, 'Remove')) },
  ], await get(`/sites/${name}/domains`, { limit: 100 }), 'No custom domains. Point a name\'s DNS at this server, then add it here.'));

  const domain = h('input', { name: 'name', placeholder: 'example.org', autocomplete: 'off', required: true });
  const www = h('select', { name: 'www' }, ...[['none', 'only the name'], ['redirect', 'www. redirects to it'],
    ['serve', 'www. serves it too']].map(([value, label]) => h('option', { value }, label)));
  const submit = h('button', { type: 'submit' }, 'Add');
  const form = h('form', { class: 'row', 'aria-label': 'Add a domain' }, field('Domain', domain), field('www.', www), submit);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    act(submit, async () => {
      const d = await post(`/sites/${name}/domains`, { name: domain.value.trim(), www: www.value });
      toast(`${name} now answers on ${d.name}`);
      domain.value = '';
      load();
    });
  });
  panel.append(form, outcome, list);
  load();
}
