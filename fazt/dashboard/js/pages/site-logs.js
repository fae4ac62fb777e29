// Live logs: the last lines from the API, then new ones as Server-Sent Events arrive. The level
// filter only changes what is shown; pausing holds new lines back until resumed.

import { get } from '../api.js';
import { h, act, message } from '../ui.js';

const KEEP = 1000;
const LEVELS = ['debug', 'info', 'warn', 'error'];

export function render(panel, name) {
  const lines = [];
  let held = [];
  let paused = false;
  const level = h('select', { name: 'level', 'aria-label': 'Lowest level shown' },
    h('option', { value: '' }, 'All levels'), LEVELS.map((l) => h('option', { value: l }, l + ' and above')));
  const pause = h('button', { type: 'button', class: 'ghost', 'aria-pressed': 'false' }, 'Pause');
  const clear = h('button', { type: 'button', class: 'ghost' }, 'Clear');
  const state = h('span', { class: 'muted small', 'aria-live': 'polite', id: 'stream-state' }, 'Connecting…');
  const out = h('ol', { class: 'log', role: 'log', 'aria-label': `Log of ${name}`, tabindex: '0' });

  const visible = (line) => !level.value || LEVELS.indexOf(line.level) >= LEVELS.indexOf(level.value);
  const item = (line) => h('li', { class: 'lvl-' + line.level },
    `${(line.created_at || '').replace('T', ' ').replace('Z', '')} ${line.level.toUpperCase().padEnd(5)} ${line.message}`);
  const draw = () => {
    out.replaceChildren(...lines.filter(visible).map(item));
    out.scrollTop = out.scrollHeight;
  };
  const add = (batch) => {
    lines.push(...batch);
    if (lines.length > KEEP) lines.splice(0, lines.length - KEEP);
    const atBottom = out.scrollHeight - out.scrollTop - out.clientHeight < 40;
    out.append(...batch.filter(visible).map(item));
    while (out.children.length > KEEP) out.firstChild.remove();
    if (atBottom) out.scrollTop = out.scrollHeight;
  };

  level.addEventListener('change', draw);
  clear.addEventListener('click', () => { lines.length = 0; held = []; draw(); });
  pause.addEventListener('click', () => {
    paused = !paused;
    pause.setAttribute('aria-pressed', String(paused));
    pause.textContent = paused ? 'Resume' : 'Pause';
    if (!paused && held.length) { add(held); held = []; }
  });

  let source = null;
  const connect = () => {
    source = new EventSource(`/api/logs/stream?site_id=${encodeURIComponent(name)}`);
    source.addEventListener('open', () => { state.textContent = 'Live'; });
    source.addEventListener('log', (e) => {
      let line;
      try { line = JSON.parse(e.data); } catch { return; }
      if (paused) { held.push(line); state.textContent = `Paused (${held.length} new)`; } else add([line]);
    });
    source.addEventListener('switch', () => add([{ level: 'info', message: '— a new deployment is live —', created_at: new Date().toISOString().slice(0, 19) }]));
    source.addEventListener('error', () => { state.textContent = 'Disconnected; reconnecting…'; });
  };

  panel.append(h('div', { class: 'row' }, level, pause, clear, state), out);
  act(clear, async () => {
    try {
      const recent = await get(`/sites/${name}/logs`, { limit: 100 });
      add(recent.reverse());
    } catch (err) {
      out.append(h('li', { class: 'lvl-error' }, message(err)));
    }
    connect();
  });
  return () => { if (source) source.close(); };
}
