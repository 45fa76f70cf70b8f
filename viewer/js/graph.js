// graph: small hand-written SVG graphs (services and their calls, lock
// cycles). Layouts are circular: the graphs here have a handful of nodes,
// where a layout library would add weight without making them clearer.
import {s} from './dom.js';

// nodes: [{id, label, kind, cls, href}], edges: [{from, to, label, cls}]
export function circleGraph(nodes, edges, opts = {}) {
  const w = opts.width || 420;
  const hgt = opts.height || 300;
  const cx = w / 2;
  const cy = hgt / 2;
  const r = Math.min(w, hgt) / 2 - 48;
  const pos = new Map();
  nodes.forEach((n, i) => {
    const a = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(1, nodes.length);
    pos.set(n.id, nodes.length === 1 ? {x: cx, y: cy} : {x: cx + r * Math.cos(a), y: cy + r * Math.sin(a)});
  });
  const svg = s('svg', {viewBox: `0 0 ${w} ${hgt}`, class: ['graph', opts.cls], role: 'img',
    'aria-label': opts.label || 'graph'});
  const defs = s('defs', {},
    s('marker', {id: (opts.idPrefix || 'g') + '-arrow', viewBox: '0 0 10 10', refX: '10', refY: '5',
      markerWidth: '7', markerHeight: '7', orient: 'auto-start-reverse'},
    s('path', {d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead'})));
  svg.appendChild(defs);
  for (const e of edges) {
    const a = pos.get(e.from);
    const b = pos.get(e.to);
    if (!a || !b) continue;
    const dx = b.x - a.x;
    const dy = b.y - a.y;
    const len = Math.hypot(dx, dy) || 1;
    const pad = 26;
    // curve slightly so that a->b and b->a do not overlap
    const mx = (a.x + b.x) / 2 - (dy / len) * 18;
    const my = (a.y + b.y) / 2 + (dx / len) * 18;
    const x1 = a.x + (dx / len) * pad;
    const y1 = a.y + (dy / len) * pad;
    const x2 = b.x - (dx / len) * pad;
    const y2 = b.y - (dy / len) * pad;
    const g = s('g', {class: ['edge', e.cls]});
    g.appendChild(s('path', {d: `M${x1},${y1} Q${mx},${my} ${x2},${y2}`,
      'marker-end': `url(#${opts.idPrefix || 'g'}-arrow)`}));
    if (e.label !== undefined) {
      g.appendChild(s('text', {x: mx, y: my, class: 'edge-label', 'text-anchor': 'middle'}, String(e.label)));
    }
    if (e.title) g.appendChild(s('title', {}, e.title));
    svg.appendChild(g);
  }
  for (const n of nodes) {
    const p = pos.get(n.id);
    const g = s('g', {class: ['node', n.kind, n.cls], transform: `translate(${p.x},${p.y})`});
    if (n.kind === 'lock') g.appendChild(s('rect', {x: -22, y: -14, width: 44, height: 28, rx: 4}));
    else g.appendChild(s('circle', {r: 22}));
    const label = String(n.label);
    const short = label.length > 26 ? label.slice(0, 25) + '…' : label;
    g.appendChild(s('text', {y: 38, 'text-anchor': 'middle'}, short));
    g.appendChild(s('title', {}, label));
    if (n.href) {
      const a = s('a', {href: n.href});
      a.appendChild(g);
      svg.appendChild(a);
    } else {
      svg.appendChild(g);
    }
  }
  return svg;
}
