// The files of a site's live deployment; text files open in a viewer, others can be downloaded.

import { get, request } from '../api.js';
import { h, act, paged, table, bytes } from '../ui.js';

const TEXT = /^(text\/|application\/(json|javascript|xml|manifest\+json|ld\+json)|image\/svg\+xml)/;
const VIEW_LIMIT = 512 * 1024;

const fileUrl = (name, path) => `/sites/${name}/files/${path.split('/').map(encodeURIComponent).join('/')}`;

export function render(panel, name) {
  const viewer = h('div');
  const view = async (button, f) => act(button, async () => {
    const response = await request(fileUrl(name, f.path), { raw: true });
    const body = await response.text();
    viewer.replaceChildren(h('h2', null, f.path), h('pre', { class: 'viewer', tabindex: '0', 'aria-label': `Contents of ${f.path}` }, body));
    viewer.scrollIntoView({ block: 'nearest' });
  });
  const list = paged((limit, offset) => get(`/sites/${name}/files`, { limit, offset }, { meta: true }), (rows) => table([
    { label: 'Path', cell: (f) => (TEXT.test(f.content_type) && f.size <= VIEW_LIMIT
      ? h('button', { type: 'button', class: 'ghost mono', onclick: (e) => view(e.currentTarget, f) }, f.path)
      : h('code', null, f.path)) },
    { label: 'Type', cell: (f) => f.content_type.split(';')[0], cls: 'hide-phone' },
    { label: 'Size', cell: (f) => bytes(f.size), num: true },
    { label: '', cell: (f) => h('a', { href: '/api' + fileUrl(name, f.path), download: f.path.split('/').pop() }, 'Download') },
  ], rows, 'This site has no files.'), 100);
  panel.append(list, viewer);
}
