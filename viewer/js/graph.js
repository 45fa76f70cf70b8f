// graph: small hand-written SVG graphs (services and their calls, lock
// cycles). Layouts are circular: the graphs here have a handful of nodes,
// where a layout library would add weight without making them clearer.
import {s} from './dom.js';

// The arrowhead marker every graph's edges point with, as <defs>.
export function arrowDefs(id, size = 7) {
  return s('defs', {},
    s('marker', {id, viewBox: '0 0 10 10', refX: '10', refY: '5',
      markerWidth: String(size), markerHeight: String(size), orient: 'auto-start-reverse'},
    s('path', {d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead'})));
}

// Adds node g to svg, inside a link when the node has one.
function place(svg, g, href) {
  svg.appendChild(href ? s('a', {href}, g) : g);
}

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
  svg.appendChild(arrowDefs((opts.idPrefix || 'g') + '-arrow'));
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
    place(svg, g, n.href);
  }
  return svg;
}

// A causal graph (a DAG) in lanes: one column per lane (an actor), one row
// per rank, a node's rank being the longest path to it from a source, so
// every edge points down and events that happen together share a row.
// nodes: [{id, lane, label, title, href, cls, data}], edges: [{from, to,
// cls, data}]; edges must not form a cycle (causality never does; a node on
// a cycle would keep rank 0).
export function laneDag(nodes, edges, lanes, opts = {}) {
  const colW = opts.colWidth || 180;
  const rowH = opts.rowHeight || 46;
  const top = 44;
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const rank = new Map(nodes.map((n) => [n.id, 0]));
  const indeg = new Map(nodes.map((n) => [n.id, 0]));
  const out = new Map(nodes.map((n) => [n.id, []]));
  const live = edges.filter((e) => byId.has(e.from) && byId.has(e.to) && e.from !== e.to);
  for (const e of live) {
    out.get(e.from).push(e.to);
    indeg.set(e.to, indeg.get(e.to) + 1);
  }
  const queue = nodes.filter((n) => indeg.get(n.id) === 0).map((n) => n.id);
  while (queue.length) {
    const id = queue.shift();
    for (const to of out.get(id)) {
      rank.set(to, Math.max(rank.get(to), rank.get(id) + 1));
      indeg.set(to, indeg.get(to) - 1);
      if (indeg.get(to) === 0) queue.push(to);
    }
  }
  const laneIx = new Map(lanes.map((l, i) => [l, i]));
  const pos = (id) => {
    const n = byId.get(id);
    return {x: 20 + colW / 2 + laneIx.get(n.lane) * colW, y: top + 16 + rank.get(id) * rowH};
  };
  const rows = nodes.length ? Math.max(...nodes.map((n) => rank.get(n.id))) + 1 : 0;
  const w = 40 + lanes.length * colW + 60; // room for the last lane's labels
  const hgt = top + 32 + rows * rowH;
  const prefix = opts.idPrefix || 'dag';
  const svg = s('svg', {viewBox: `0 0 ${w} ${hgt}`, width: w, class: ['graph', 'dag', opts.cls], role: 'img',
    'aria-label': opts.label || 'causal graph'});
  svg.appendChild(arrowDefs(prefix + '-arrow'));
  lanes.forEach((l, i) => {
    const x = 20 + colW / 2 + i * colW;
    svg.appendChild(s('line', {class: 'lane-line', x1: x, x2: x, y1: top - 6, y2: hgt - 8}));
    const short = l.length > 22 ? '…' + l.slice(-21) : l;
    svg.appendChild(s('text', {x, y: 16 + (i % 2) * 14, class: 'lane-label', 'text-anchor': 'middle'}, short,
      s('title', {}, l)));
  });
  for (const e of live) {
    const a = pos(e.from);
    const b = pos(e.to);
    const dx = b.x - a.x;
    const dy = b.y - a.y;
    const len = Math.hypot(dx, dy) || 1;
    const pad = 9;
    const g = s('g', {class: ['edge', e.cls], dataset: e.data}, s('path', {d: `M${a.x + (dx / len) * pad},${a.y + (dy / len) * pad} ` +
      `L${b.x - (dx / len) * pad},${b.y - (dy / len) * pad}`, 'marker-end': `url(#${prefix}-arrow)`}));
    if (e.title) g.appendChild(s('title', {}, e.title));
    svg.appendChild(g);
  }
  for (const n of nodes) {
    const p = pos(n.id);
    const g = s('g', {class: ['node', n.cls], transform: `translate(${p.x},${p.y})`, dataset: n.data},
      s('circle', {r: 7}));
    const label = String(n.label);
    g.appendChild(s('text', {x: 11, y: 4}, label.length > 22 ? label.slice(0, 21) + '…' : label));
    g.appendChild(s('title', {}, n.title || label));
    place(svg, g, n.href);
  }
  return svg;
}
