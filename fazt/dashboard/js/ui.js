// Small DOM helpers shared by every page: element building, formatting that never prints
// "undefined", errors shown beside the control that caused them, tables, pagers.

import { ApiError } from './api.js';

// h('button', {class: 'ghost', onclick: fn}, 'Text', child, [more]) -> Element
export function h(tag, attrs, ...children) {
  const el = tag === 'svg' || attrs?.svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false || key === 'svg') continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.setAttribute('class', value);
    else if (key in el && !(el instanceof SVGElement) && typeof value !== 'string') el[key] = value;
    else el.setAttribute(key, value === true ? '' : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

export function svg(tag, attrs, ...children) { return h(tag, { ...attrs, svg: true }, ...children); }

// What a missing value looks like everywhere.
export const text = (v) => (v === null || v === undefined || v === '' || Number.isNaN(v) ? '—' : String(v));

export function bytes(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = Math.abs(n);
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return (n < 0 ? '-' : '') + (i ? v.toFixed(v < 10 ? 1 : 0) : v) + ' ' + units[i];
}

export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return text(iso);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function ago(iso) {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime())) return '—';
  const s = Math.round((Date.now() - d.getTime()) / 1000);
  if (s < 60) return 'just now';
  if (s < 3600) return Math.floor(s / 60) + ' min ago';
  if (s < 86400) return Math.floor(s / 3600) + ' h ago';
  return Math.floor(s / 86400) + ' d ago';
}

export function duration(seconds) {
  if (typeof seconds !== 'number') return '—';
  const d = Math.floor(seconds / 86400); const hr = Math.floor((seconds % 86400) / 3600); const m = Math.floor((seconds % 3600) / 60);
  return d ? `${d} d ${hr} h` : hr ? `${hr} h ${m} min` : `${m} min`;
}

export function message(err) {
  if (err instanceof ApiError) return err.message;
  return 'Something went wrong in the dashboard. Reload the page and try again.';
}

// Show err's message right after `anchor` (or after the form field the server named).
export function showError(anchor, err) {
  const form = anchor.closest('form');
  const target = (err instanceof ApiError && err.field && form && form.elements[err.field]) || anchor;
  clearError(anchor);
  const p = h('p', { class: 'error', role: 'alert', 'data-error-for': '' }, message(err));
  const label = target.closest('label');
  (label || target).after(p);
  if (target !== anchor) target.setAttribute('aria-invalid', 'true');
  anchor._faztError = p;
  return p;
}

export function clearError(anchor) {
  if (anchor._faztError) { anchor._faztError.remove(); anchor._faztError = null; }
  anchor.closest('form')?.querySelectorAll('[aria-invalid]').forEach((el) => el.removeAttribute('aria-invalid'));
}

// Run an action for a control: the control is disabled meanwhile and any error lands beside it.
export async function act(control, fn) {
  clearError(control);
  control.disabled = true;
  try {
    return await fn();
  } catch (err) {
    if (err && err.name === 'AbortError') return undefined;
    if (!(err instanceof ApiError)) console.warn(err); // eslint-disable-line no-console
    showError(control, err);
    return undefined;
  } finally {
    control.disabled = false;
  }
}

// Render a loading state, then whatever `load` returns; a failure shows its message in place.
export async function section(container, load) {
  container.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  try {
    const content = await load();
    container.replaceChildren(...[content].flat().filter(Boolean));
  } catch (err) {
    if (err && err.name === 'AbortError') return;
    if (!(err instanceof ApiError)) console.warn(err); // eslint-disable-line no-console
    container.replaceChildren(h('p', { class: 'error', role: 'alert' }, message(err)));
  }
}

// columns: [{label, cell: row => node|string, num?: bool, cls?}]
export function table(columns, rows, empty = 'Nothing here yet.') {
  if (!rows.length) return h('p', { class: 'muted' }, empty);
  return h('div', { class: 'table-wrap' }, h('table', null,
    h('thead', null, h('tr', null, columns.map((c) => h('th', { scope: 'col', class: [c.num && 'num', c.cls].filter(Boolean).join(' ') || null }, c.label)))),
    h('tbody', null, rows.map((row) => h('tr', null, columns.map((c) => {
      const value = c.cell(row);
      // Action columns (no label) stay blank when a row has no action; data columns show '—'.
      const shown = value instanceof Node ? value : (c.label ? text(value) : '');
      return h('td', { class: [c.num && 'num', c.cls].filter(Boolean).join(' ') || null }, shown);
    }))))));
}

// A paged list: load(limit, offset) -> {data, meta}; render(rows) -> node.
export function paged(load, render, limit = 50) {
  const box = h('div');
  let offset = 0;
  const show = () => section(box, async () => {
    const { data, meta } = await load(limit, offset);
    const total = meta?.total ?? data.length;
    const prev = h('button', { type: 'button', class: 'ghost', disabled: offset === 0, onclick: () => { offset = Math.max(0, offset - limit); show(); } }, '← Newer');
    const next = h('button', { type: 'button', class: 'ghost', disabled: offset + limit >= total, onclick: () => { offset += limit; show(); } }, 'Older →');
    const pager = total > limit ? h('div', { class: 'pager' }, prev, next, h('span', { class: 'muted small' }, `${offset + 1}–${Math.min(offset + limit, total)} of ${total}`)) : null;
    return [render(data), pager];
  });
  box.reload = show;
  show();
  return box;
}

export function badge(label, kind) { return h('span', { class: 'badge ' + (kind || '') }, label); }

export function toast(msg) {
  const el = document.getElementById('toast');
  el.textContent = msg;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.textContent = ''; }, 4000);
}

export function card(title, ...children) {
  return h('section', { class: 'card' }, h('h2', null, title), ...children);
}

export function field(label, input) { return h('label', null, label, input); }
