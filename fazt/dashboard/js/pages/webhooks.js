// Inbound webhooks: POST /webhook/ENDPOINT on the admin host is recorded as an event, checked
// against an HMAC-SHA256 signature when a secret is set. One form creates a webhook or, after
// "Edit" on a row, saves that one (a blank secret keeps the current one).

import { get, post, put, del } from '../api.js';
import { h, act, paged, table, when, field, toast, badge } from '../ui.js';

export function render(main) {
  const name = h('input', { name: 'name', placeholder: 'GitHub pushes', autocomplete: 'off', required: true });
  const endpoint = h('input', { name: 'endpoint', placeholder: 'github (optional)', autocomplete: 'off' });
  const secret = h('input', { name: 'secret', type: 'password', autocomplete: 'new-password', placeholder: 'optional' });
  const submit = h('button', { type: 'submit' }, 'Create webhook');
  const cancel = h('button', { type: 'button', class: 'ghost', hidden: true }, 'Cancel');
  const form = h('form', { class: 'row', 'aria-label': 'Create a webhook' }, field('Name', name), field('Endpoint', endpoint), field('Secret', secret), submit, cancel);
  let editing = null;

  const reset = () => {
    editing = null;
    name.value = ''; endpoint.value = ''; secret.value = ''; secret.placeholder = 'optional';
    submit.textContent = 'Create webhook'; cancel.hidden = true;
  };
  const edit = (w) => {
    editing = w;
    name.value = w.name; endpoint.value = w.endpoint; secret.value = '';
    secret.placeholder = w.has_secret ? 'unchanged' : 'optional';
    submit.textContent = `Save ${w.name}`; cancel.hidden = false;
    name.focus();
  };
  cancel.addEventListener('click', reset);

  const list = paged((limit, offset) => get('/webhooks', { limit, offset }, { meta: true }), (rows) => table([
    { label: 'Name', cell: (w) => w.name },
    { label: 'URL', cell: (w) => h('code', null, `${location.origin}/webhook/${w.endpoint}`) },
    { label: 'Signed', cell: (w) => (w.has_secret ? 'HMAC-SHA256' : 'no'), cls: 'hide-phone' },
    { label: 'State', cell: (w) => h('button', { type: 'button', class: 'ghost', 'aria-label': `${w.is_active ? 'Pause' : 'Activate'} ${w.name}`,
      onclick: (e) => act(e.currentTarget, async () => { await put(`/webhooks/${w.id}`, { is_active: !w.is_active }); list.reload(); }) },
    w.is_active ? badge('active', 'ok') : badge('paused', 'warn')) },
    { label: 'Created', cell: (w) => when(w.created_at), cls: 'hide-phone' },
    { label: '', cell: (w) => h('span', { class: 'row' },
      h('button', { type: 'button', class: 'ghost', onclick: () => edit(w) }, 'Edit'),
      h('button', { type: 'button', class: 'danger', onclick: (e) => act(e.currentTarget, async () => { await del(`/webhooks/${w.id}`); toast(`${w.name} deleted`); list.reload(); }) }, 'Delete')) },
  ], rows, 'No webhooks yet.'));

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    act(submit, async () => {
      const body = { name: name.value.trim() };
      if (endpoint.value.trim()) body.endpoint = endpoint.value.trim();
      if (secret.value) body.secret = secret.value;
      if (editing) await put(`/webhooks/${editing.id}`, body);
      else await post('/webhooks', body);
      toast(`${body.name} ${editing ? 'saved' : 'created'}`);
      reset();
      list.reload();
    });
  });
  main.append(h('h1', null, 'Webhooks'), form, list);
}
