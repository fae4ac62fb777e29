// A site's traffic: pageviews and visitors per day as an SVG chart, top paths and referrers.

import { get } from '../api.js';
import { h, svg, section, table, text } from '../ui.js';

const W = 640; const H = 200; const PAD = 28;

function chart(timeline) {
  const max = Math.max(1, ...timeline.map((d) => d.views));
  const step = (W - PAD) / timeline.length;
  const y = (v) => H - PAD - (v / max) * (H - PAD * 1.5);
  const bars = timeline.map((d, i) => svg('rect', { class: 'views', x: PAD + i * step + 1, y: y(d.views), width: Math.max(1, step - 2), height: H - PAD - y(d.views) },
    svg('title', null, `${d.date}: ${d.views} views, ${d.visitors} visitors`)));
  const points = timeline.map((d, i) => `${PAD + i * step + step / 2},${y(d.visitors)}`).join(' ');
  const labels = [0, Math.floor(timeline.length / 2), timeline.length - 1].map((i) => svg('text', { x: PAD + i * step, y: H - 8 }, timeline[i].date.slice(5)));
  return svg('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `Views per day, at most ${max}` },
    svg('line', { x1: PAD, y1: H - PAD, x2: W, y2: H - PAD }), svg('text', { x: 0, y: y(max) + 4 }, String(max)), svg('text', { x: 0, y: H - PAD }, '0'),
    bars, svg('polyline', { class: 'visitors', points }), labels);
}

export function render(panel, name) {
  const days = h('select', { name: 'days', 'aria-label': 'Period' },
    [7, 30, 90].map((n) => h('option', { value: n, selected: n === 30 }, `Last ${n} days`)));
  const body = h('div');
  const load = () => section(body, async () => {
    const a = await get(`/sites/${name}/analytics`, { days: days.value });
    return [
      h('div', { class: 'grid' },
        h('div', { class: 'card' }, h('h2', null, 'Views'), h('div', { class: 'stat' }, text(a.views))),
        h('div', { class: 'card' }, h('h2', null, 'Unique visitors'), h('div', { class: 'stat' }, text(a.unique_visitors)),
          h('p', { class: 'muted small' }, 'Counted per day (the visitor hash rotates daily).'))),
      h('div', { class: 'card' }, h('h2', null, 'Views per day'), chart(a.timeline),
        h('p', { class: 'muted small' }, 'Bars: views. Line: visitors.')),
      h('div', { class: 'grid' },
        h('div', { class: 'card' }, h('h2', null, 'Top paths'), table([{ label: 'Path', cell: (r) => h('code', null, r.value) }, { label: 'Views', cell: (r) => r.count, num: true }], a.top_paths, 'No views yet.')),
        h('div', { class: 'card' }, h('h2', null, 'Top referrers'), table([{ label: 'Referrer', cell: (r) => h('code', null, r.value) }, { label: 'Views', cell: (r) => r.count, num: true }], a.top_referrers, 'No referrers yet.'))),
    ];
  });
  days.addEventListener('change', load);
  panel.append(h('div', { class: 'row' }, days), body);
  load();
}
