// Deploy by dropping a folder or a .zip on the page (or choosing one): a folder is zipped in
// the browser, skipping dot-files as `fazt deploy` does; the upload shows its progress.

import { upload, ApiError } from './api.js';
import { h, act, field, toast } from './ui.js';
import { makeZip } from './zip.js';

const NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

function guessName(label) {
  return label.toLowerCase().replace(/\.zip$/, '').replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63);
}

// readEntries answers in batches (about 100 at a time) until it answers an empty one.
async function readAll(reader) {
  const all = [];
  for (;;) {
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (!batch.length) return all;
    all.push(...batch);
  }
}

// Every file under a dropped directory entry, with its path relative to that directory.
async function walk(entry, prefix, out) {
  if (entry.name.startsWith('.')) return;
  if (entry.isFile) {
    const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
    out.push({ name: prefix + entry.name, file });
    return;
  }
  for (const child of await readAll(entry.createReader())) await walk(child, prefix + entry.name + '/', out);
}

async function zipFiles(list) {
  const files = [];
  for (const { name, file } of list) files.push({ name, data: new Uint8Array(await file.arrayBuffer()) });
  return makeZip(files);
}

export function deployBox(onDeployed, fixedSite) {
  const site = h('input', { name: 'site_name', placeholder: 'my-site', autocomplete: 'off', value: fixedSite || '', readOnly: Boolean(fixedSite) });
  const zipInput = h('input', { type: 'file', accept: '.zip,application/zip', name: 'file', 'aria-label': 'Zip file to deploy' });
  const dirInput = h('input', { type: 'file', webkitdirectory: true, multiple: true, 'aria-label': 'Folder to deploy' });
  const bar = h('progress', { max: 1, value: 0, hidden: true, 'aria-label': 'Upload progress' });
  const status = h('p', { class: 'muted small', 'aria-live': 'polite' });
  const anchor = status; // deploy errors are shown under the status line
  const zone = h('div', { class: 'drop' },
    h('p', { class: 'drop-hint' }, h('strong', null, fixedSite ? 'Deploy a new version' : 'Deploy a site'),
      ': drop a folder or a .zip anywhere on this page, or choose one.'),
    h('form', { class: 'row', onsubmit: (e) => e.preventDefault() }, fixedSite ? null : field('Site name', site),
      field('Zip file', zipInput), field('or a folder', dirInput)), bar, status);

  async function send(archive, label) {
    if (!site.value.trim()) site.value = guessName(label);
    const name = site.value.trim().toLowerCase();
    await act(anchor, async () => {
      if (!NAME.test(name)) throw new ApiError(400, 'VALIDATION_FAILED', 'A site name is 1–63 lowercase letters, digits or dashes (not at either end).');
      const form = new FormData();
      form.append('site_name', name);
      form.append('file', archive, label.endsWith('.zip') ? label : label + '.zip');
      bar.hidden = false; bar.value = 0;
      status.textContent = `Uploading ${label}…`;
      try {
        const result = await upload('/deploy', form, (fraction) => { bar.value = fraction; status.textContent = `Uploading ${label}: ${Math.round(fraction * 100)}%`; });
        status.textContent = `Deployed ${result.site}: deployment #${result.deployment_id}, ${result.file_count} files.`;
        toast(status.textContent);
        onDeployed(result);
      } catch (err) {
        status.textContent = '';
        throw err;
      } finally {
        bar.hidden = true;
      }
    });
  }

  zipInput.addEventListener('change', () => { const f = zipInput.files[0]; if (f) send(f, f.name); zipInput.value = ''; });
  dirInput.addEventListener('change', async () => {
    const files = [...dirInput.files].filter((f) => !f.webkitRelativePath.split('/').some((p) => p.startsWith('.')));
    if (!files.length) return;
    const root = files[0].webkitRelativePath.split('/')[0];
    const list = files.map((f) => ({ name: f.webkitRelativePath.split('/').slice(1).join('/'), file: f }));
    dirInput.value = '';
    send(await zipFiles(list), root);
  });
  // The whole page is the drop target while this box is on it; the box lights up meanwhile.
  const over = (e) => {
    if (!zone.isConnected) { detach(); return; }
    if (![...(e.dataTransfer?.types || [])].includes('Files')) return;
    e.preventDefault();
    zone.classList.add('over');
  };
  const leave = (e) => { if (!e.relatedTarget) zone.classList.remove('over'); };
  const dropped = async (e) => {
    if (!zone.isConnected) { detach(); return; }
    if (!e.dataTransfer || !e.dataTransfer.files.length) return;
    e.preventDefault();
    zone.classList.remove('over');
    const item = [...(e.dataTransfer.items || [])].find((i) => i.kind === 'file');
    const entry = item && item.webkitGetAsEntry ? item.webkitGetAsEntry() : null;
    if (entry && entry.isDirectory) {
      const list = [];
      for (const child of await readAll(entry.createReader())) await walk(child, '', list);
      send(await zipFiles(list), entry.name);
      return;
    }
    const file = e.dataTransfer.files[0];
    if (file) send(file, file.name);
  };
  function detach() {
    document.removeEventListener('dragover', over);
    document.removeEventListener('dragleave', leave);
    document.removeEventListener('drop', dropped);
  }
  document.addEventListener('dragover', over);
  document.addEventListener('dragleave', leave);
  document.addEventListener('drop', dropped);
  return zone;
}
