// A site's environment variables. Values are write-only: the API never sends them back, so
// the page shows names and times, and setting a name again replaces its value.

import { get, put, del } from '../api.js';
import { h, act, section, table, when, field, toast } from '../ui.js';

export function render(panel, name) {
  const list = h('div');
  const load = () => section(list, async () => table([
    { label: 'Name', cell: (v) => h('code', null, v.name) },
    { label: 'Value', cell: () => h('span', { class: 'muted', 'aria-label': 'hidden value' }, '••••••') },
    { label: 'Updated', cell: (v) => when(v.updated_at || v.created_at), cls: 'hide-phone' },
    { label: '', cell: (v) => h('button', { type: 'button', class: 'danger', 'data-unset': v.name,
      onclick: (e) => act(e.currentTarget, async () => { await del(`/sites/${name}/env/${encodeURIComponent(v.name)}`); toast(`${v.name} unset`); load(); }) }, 'Unset') },
  ], await get(`/sites/${name}/env`, { limit: 100 }), 'No environment variables. Scripts read them as process.env.NAME.'));

  const varName = h('input', { name: 'name', placeholder: 'API_URL', autocomplete: 'off', required: true });
  const value = h('input', { name: 'value', type: 'password', autocomplete: 'new-password', placeholder: 'value' });
  const submit = h('button', { type: 'submit' }, 'Set');
  const form = h('form', { class: 'row', 'aria-label': 'Set a variable' }, field('Name', varName), field('Value', value), submit);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    act(submit, async () => {
      await put(`/sites/${name}/env/${encodeURIComponent(varName.value.trim())}`, { value: value.value });
      toast(`${varName.value.trim()} set`);
      varName.value = ''; value.value = '';
      load();
    });
  });
  panel.append(form, list);
  load();
}
