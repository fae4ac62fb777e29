// The shell: a history-API router that loads one module per page on demand (so the first load
// carries only what the first page needs), the navigation bar, and logging out.

import { post, onUnauthorized } from './api.js';
import { h, act } from './ui.js';

const NAV = [
  ['/', 'Overview'], ['/sites', 'Sites'], ['/keys', 'API keys'], ['/redirects', 'Redirects'],
  ['/webhooks', 'Webhooks'], ['/audit', 'Audit log'], ['/certificates', 'Certificates'], ['/system', 'System'],
];

// [pattern, module, page title]; a module exports render(main, params, ctx) -> cleanup?
const ROUTES = [
  [/^\/login$/, 'login', 'Log in'],
  [/^\/$/, 'overview', 'Overview'],
  [/^\/sites$/, 'sites', 'Sites'],
  [/^\/sites\/([a-z0-9-]+)(?:\/([a-z]+))?$/, 'site', 'Site'],
  [/^\/keys$/, 'keys', 'API keys'],
  [/^\/redirects$/, 'redirects', 'Redirects'],
  [/^\/webhooks$/, 'webhooks', 'Webhooks'],
  [/^\/audit$/, 'audit', 'Audit log'],
  [/^\/certificates$/, 'certificates', 'Certificates'],
  [/^\/system$/, 'system', 'System'],
];

const main = document.getElementById('main');
const header = document.getElementById('top');
let cleanup = null;
let generation = 0; // a newer navigation wins over a slower older one

export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', path);
  else if (path !== location.pathname + location.search) history.pushState(null, '', path);
  route();
}

function loginPath() {
  const here = location.pathname + location.search;
  return here.startsWith('/login') ? here : '/login?next=' + encodeURIComponent(here);
}

onUnauthorized(() => {
  if (!location.pathname.startsWith('/login')) navigate(loginPath(), { replace: true });
});

function renderNav(path) {
  const nav = document.getElementById('nav');
  nav.replaceChildren(...NAV.map(([href, label]) => {
    const current = href === '/' ? path === '/' : path === href || path.startsWith(href + '/');
    return h('a', { href, 'aria-current': current ? 'page' : null }, label);
  }));
}

async function route() {
  const mine = ++generation;
  if (cleanup) { try { cleanup(); } catch { /* a page's cleanup must not block the next page */ } cleanup = null; }
  const path = location.pathname.replace(/\/+$/, '') || '/';
  const match = ROUTES.map(([re, mod, title]) => [path.match(re), mod, title]).find(([m]) => m);
  // No separate "am I logged in?" round trip before drawing: the page's own API calls answer
  // 401 when the session is gone, and that leads to the login page (onUnauthorized above).
  header.hidden = path === '/login';
  renderNav(path);
  if (!match) {
    document.title = 'Not found · fazt';
    main.replaceChildren(h('h1', null, 'Not found'), h('p', null, 'There is no such page. ', h('a', { href: '/' }, 'Go to the overview')));
    return;
  }
  const [m, mod, title] = match;
  document.title = title + ' · fazt';
  let page;
  try {
    page = await import(`./pages/${mod}.js`);
  } catch {
    main.replaceChildren(h('p', { class: 'error', role: 'alert' }, 'This page could not be loaded. Check the connection and reload.'));
    return;
  }
  if (mine !== generation) return;
  main.replaceChildren();
  cleanup = page.render(main, m.slice(1), { navigate }) || null;
  if (typeof cleanup !== 'function') cleanup = null;
  if (document.activeElement === document.body || !main.contains(document.activeElement)) main.focus({ preventScroll: true });
}

// Same-origin links move within the app without reloading it.
document.addEventListener('click', (e) => {
  const a = e.target.closest('a[href]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  if (a.target || a.hasAttribute('download') || a.getAttribute('href').startsWith('#')) return;
  const u = new URL(a.href, location.href);
  if (u.origin !== location.origin || u.pathname.startsWith('/api/') || u.pathname.startsWith('/r/')) return;
  e.preventDefault();
  navigate(u.pathname + u.search);
});

window.addEventListener('popstate', route);

document.getElementById('logout').addEventListener('click', (e) => act(e.currentTarget, async () => {
  await post('/logout', {});
  navigate('/login', { replace: true });
}));

route();
