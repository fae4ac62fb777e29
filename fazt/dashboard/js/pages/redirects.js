// The URL shortener: /r/SLUG on the admin host redirects and counts the click.

import { get, post, del } from '../api.js';
import { h, act, paged, table, when, field, toast } from '../ui.js';

export function render(main) {
  const slug = h('input', { name: 'slug', placeholder: 'launch', autocomplete: 'off', required: true });
  const destination = h('input', { name: 'destination', type: 'url', placeholder: 'https://example.com/page', required: true });
  const tags = h('input', { name: 'tags', placeholder: 'tags, comma separated', autocomplete: 'off' });
  const submit = h('button', { type: 'submit' }, 'Create redirect');
  const form = h('form', { class: 'row', 'aria-label': 'Create a redirect', novalidate: true }, field('Slug', slug), field('Destination', destination), field('Tags', tags), submit);
  const list = paged((limit, offset) => get('/redirects', { limit, offset }, { meta: true }), (rows) => table([
    { label: 'Link', cell: (r) => h('a', { href: `/r/${encodeURIComponent(r.slug)}`, target: '_blank', rel: 'noopener' }, '/r/' + r.slug) },
    { label: 'Destination', cell: (r) => h('code', null, r.destination) },
    { label: 'Clicks', cell: (r) => h('span', { 'data-clicks': r.slug }, String(r.click_count ?? 0)), num: true },
    { label: 'Tags', cell: (r) => (r.tags || []).join(', '), cls: 'hide-phone' },
    { label: 'Created', cell: (r) => when(r.created_at), cls: 'hide-phone' },
    { label: '', cell: (r) => h('button', { type: 'button', class: 'danger', onclick: (e) => act(e.currentTarget, async () => { await del(`/redirects/${r.id}`); toast(`/r/${r.slug} deleted`); list.reload(); }) }, 'Delete') },
  ], rows, 'No redirects yet.'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    act(submit, async () => {
      const tagList = tags.value.split(',').map((t) => t.trim()).filter(Boolean);
      await post('/redirects', { slug: slug.value.trim(), destination: destination.value.trim(), tags: tagList });
      toast(`/r/${slug.value.trim()} created`);
      slug.value = ''; destination.value = ''; tags.value = '';
      list.reload();
    });
  });
  main.append(h('h1', null, 'Redirects'), form, list);
}
