// Deploy the site from a public Git repository (a branch, tag or folder of it), and link it so
// that a signed push to the branch redeploys it. The webhook's secret is shown only once.

import { get, post, del } from '../api.js';
import { h, act, section, field, toast } from '../ui.js';

export function render(panel, name, ctx) {
  const linked = h('div');
  const result = h('div', { role: 'status', 'aria-live': 'polite' });
  const load = () => section(linked, async () => {
    let link;
    try { link = await get(`/sites/${name}/git`); } catch (err) { if (err.status === 404) return h('p', { class: 'muted' }, 'Not linked to a repository.'); throw err; }
    const unlink = h('button', { type: 'button', class: 'danger', onclick: (e) => act(e.currentTarget, async () => {
      await del(`/sites/${name}/git`); toast('Unlinked'); load();
    }) }, 'Unlink');
    return h('p', null, 'Linked to ', h('code', null, link.url), ' ', h('code', null, link.ref),
      link.dir ? [' folder ', h('code', null, link.dir)] : null, ' · webhook ', h('code', null, link.webhook_url), ' ', unlink);
  });

  const url = h('input', { name: 'url', type: 'url', placeholder: 'https://example.com/owner/repo.git', required: true });
  const ref = h('input', { name: 'ref', placeholder: 'main (default: HEAD)', autocomplete: 'off' });
  const dir = h('input', { name: 'dir', placeholder: 'folder (optional)', autocomplete: 'off' });
  const link = h('input', { name: 'link', type: 'checkbox' });
  const submit = h('button', { type: 'submit' }, 'Deploy');
  const form = h('form', { class: 'row', 'aria-label': 'Deploy from Git' }, field('Repository', url), field('Ref', ref),
    field('Folder', dir), field('Redeploy on push', link), submit);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    act(submit, async () => {
      const d = await post(`/sites/${name}/git`, { url: url.value.trim(), ref: ref.value.trim() || null,
        dir: dir.value.trim() || null, link: link.checked });
      toast(`Deployed ${d.source_commit.slice(0, 12)} as #${d.deployment_id}`);
      result.replaceChildren(h('p', null, 'Deployment #', String(d.deployment_id), ' from ', h('code', null, d.source_ref), ' at ',
        h('code', null, d.source_commit)));
      if (d.webhook_secret) {
        result.append(h('p', null, 'Webhook URL ', h('code', null, d.webhook_url), ' (content type application/json), secret ',
          h('code', { id: 'webhook-secret' }, d.webhook_secret), ' — shown only this once.'));
      }
      load(); ctx.refresh();
    });
  });
  panel.append(form, result, linked);
  load();
}
