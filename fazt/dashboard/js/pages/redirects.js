// The URL shortener: /r/SLUG on the admin host redirects and counts the click. One form creates
// a redirect or, after "Edit" on a row, saves changes to that one.

import { get, post, put, del } from '../api.js';
import { h, act, paged, table, when, field, toast } from '../ui.js';

export function render(main) {
  const slug = h('input', { name: 'slug', placeholder: 'launch', autocomplete: 'off', required: true });
  const destination = h('input', { name: 'destination', type: 'url', placeholder: 'https://example.com/page', required: true });
  const tags = h('input', { name: 'tags', placeholder: 'tags, comma separated', autocomplete: 'off' });
  const submit = h('button', { type: 'submit' }, 'Create redirect');
  const cancel = h('button', { type: 'button', class: 'ghost', hidden: true }, 'Cancel');
  const form = h('form', { class: 'row', 'aria-label': 'Create a redirect', novalidate: true }, field('Slug', slug), field('Destination', destination), field('Tags', tags), submit, cancel);
  let editing = null; // the redirect being edited, or null when the form creates

  const reset = () => {
    editing = null;
    slug.value = ''; destination.value = ''; tags.value = '';
    submit.textContent = 'Create redirect'; cancel.hidden = true;
  };
  const edit = (r) => {
    editing = r;
    slug.value = r.slug; destination.value = r.destination; tags.value = (r.tags || []).join(', ');
    submit.textContent = `Save /r/${r.slug}`; cancel.hidden = false;
    destination.focus();
  };
  cancel.addEventListener('click', reset);

  const list = paged((limit, offset) => get('/redirects', { limit, offset }, { meta: true }), (rows) => table([
    { label: 'Link', cell: (r) => h('a', { href: `/r/${encodeURIComponent(r.slug)}`, target: '_blank', rel: 'noopener' }, '/r/' + r.slug) },
    { label: 'Destination', cell: (r) => h('code', null, r.destination) },
    { label: 'Clicks', cell: (r) => h('span', { 'data-clicks': r.slug }, String(r.click_count ?? 0)), num: true },
    { label: 'Tags', cell: (r) => (r.tags || []).join(', '), cls: 'hide-phone' },
    { label: 'Created', cell: (r) => when(r.created_at), cls: 'hide-phone' },
    { label: '', cell: (r) => h('span', { class: 'row' },
      h('button', { type: 'button', class: 'ghost', 'data-edit': r.slug, onclick: () => edit(r) }, 'Edit'),
      h('button', { type: 'button', class: 'danger', onclick: (e) => act(e.currentTarget, async () => { await del(`/redirects/${r.id}`); toast(`/r/${r.slug} deleted`); list.reload(); }) }, 'Delete')) },
  ], rows, 'No redirects yet.'));

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    act(submit, async () => {
      const body = { slug: slug.value.trim(), destination: destination.value.trim(), tags: tags.value.split(',').map((t) => t.trim()).filter(Boolean) };
      if (editing) await put(`/redirects/${editing.id}`, body);
      else await post('/redirects', body);
      toast(`/r/${body.slug} ${editing ? 'saved' : 'created'}`);
      reset();
      list.reload();
    });
  });
  main.append(h('h1', null, 'Redirects'), form, list);
}
