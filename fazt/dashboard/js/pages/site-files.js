// The files of a site's live deployment, browsed folder by folder; text files open in a viewer,
// every file can be downloaded. The API lists files flat and paged, so the tree is built here
// from up to MAX_TREE paths (a bigger site shows its first MAX_TREE and says so).

import { get, request } from '../api.js';
import { h, act, section, table, bytes } from '../ui.js';

const TEXT = /^(text\/|application\/(json|javascript|xml|manifest\+json|ld\+json)|image\/svg\+xml)/;
const VIEW_LIMIT = 512 * 1024;
const PAGE = 100;
const MAX_TREE = 2000;

const fileUrl = (name, path) => `/sites/${name}/files/${path.split('/').map(encodeURIComponent).join('/')}`;

async function allFiles(name) {
  const files = [];
  let total = 0;
  do {
    const page = await get(`/sites/${name}/files`, { limit: PAGE, offset: files.length }, { meta: true });
    files.push(...page.data);
    total = page.meta?.total ?? files.length;
    if (!page.data.length) break;
  } while (files.length < total && files.length < MAX_TREE);
  return { files, total };
}

// What is directly inside folder `dir` ('' or 'a/b/'): sub-folders (with file counts) and files.
function listing(files, dir) {
  const folders = new Map();
  const here = [];
  for (const f of files) {
    if (!f.path.startsWith(dir)) continue;
    const rest = f.path.slice(dir.length);
    const slash = rest.indexOf('/');
    if (slash < 0) here.push(f);
    else folders.set(rest.slice(0, slash), (folders.get(rest.slice(0, slash)) || 0) + 1);
  }
  return { folders: [...folders].sort(([a], [b]) => a.localeCompare(b)), here };
}

export function render(panel, name) {
  const box = h('div');
  const viewer = h('div');
  let data = { files: [], total: 0 };
  let dir = '';

  const view = (button, f) => act(button, async () => {
    const response = await request(fileUrl(name, f.path), { raw: true });
    const body = await response.text();
    viewer.replaceChildren(h('h2', null, f.path), h('pre', { class: 'viewer', tabindex: '0', 'aria-label': `Contents of ${f.path}` }, body));
    viewer.scrollIntoView({ block: 'nearest' });
  });
  const open = (folder) => { dir = folder; viewer.replaceChildren(); draw(); box.querySelector('button')?.focus(); };

  function draw() {
    const { folders, here } = listing(data.files, dir);
    const parts = dir.split('/').filter(Boolean);
    const crumbs = h('nav', { class: 'row', 'aria-label': 'Folder' },
      h('button', { type: 'button', class: 'ghost', onclick: () => open('') }, name),
      parts.map((part, i) => ['/', h('button', { type: 'button', class: 'ghost', onclick: () => open(parts.slice(0, i + 1).join('/') + '/') }, part)]));
    const rows = [...folders.map(([folder, count]) => ({ folder, count })), ...here];
    const note = data.total > data.files.length ? h('p', { class: 'muted small' }, `Showing the first ${data.files.length} of ${data.total} files.`) : null;
    box.replaceChildren(crumbs, table([
      { label: 'Name', cell: (r) => (r.folder !== undefined
        ? h('button', { type: 'button', class: 'ghost mono', 'aria-label': `Open folder ${r.folder}`, onclick: () => open(dir + r.folder + '/') }, r.folder + '/')
        : TEXT.test(r.content_type) && r.size <= VIEW_LIMIT
          ? h('button', { type: 'button', class: 'ghost mono', onclick: (e) => view(e.currentTarget, r) }, r.path.slice(dir.length))
          : h('code', null, r.path.slice(dir.length))) },
      { label: 'Type', cell: (r) => (r.folder !== undefined ? 'folder' : r.content_type.split(';')[0]), cls: 'hide-phone' },
      { label: 'Size', cell: (r) => (r.folder !== undefined ? `${r.count} file${r.count === 1 ? '' : 's'}` : bytes(r.size)), num: true },
      { label: '', cell: (r) => (r.folder !== undefined ? '' : h('a', { href: '/api' + fileUrl(name, r.path), download: r.path.split('/').pop() }, 'Download')) },
    ], rows, 'This site has no files.'), ...(note ? [note] : []));
  }

  panel.append(box, viewer);
  section(box, async () => {
    data = await allFiles(name);
    return h('div');
  }).then(() => { if (!box.querySelector('.error')) draw(); });
}
