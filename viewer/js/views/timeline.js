// #/timeline?actor=..&actor=..&service=..&from=NS&to=NS&highlight=SEQ,SEQ
// Swim lanes per service and actor; events as marks, lock waits and holds
// as bars, HTTP calls as arrows between lanes, races as links between their
// two accesses. Wide windows come back from the collector aggregated into
// buckets; zooming in asks again, so the page never loads everything.
import {h, s, clear, fmtNs, fmtWall, fmtInt, enc, empty} from '../dom.js';
import {get} from '../api.js';
import {arrowDefs} from '../graph.js';

const LANE = 30;
const AXIS = 28;

function kindClass(k) {
  if (k === 'read' || k === 'write' || k === 'rmw') return 'k-' + k;
  if (k.startsWith('lock_')) return 'k-lock';
  if (k.startsWith('http_')) return 'k-http';
  if (k.startsWith('span_')) return 'k-span';
  if (k.startsWith('db_')) return 'k-db';
  return 'k-other';
}

function timelineHash(p) {
  const q = new URLSearchParams();
  for (const a of p.actors) q.append('actor', a);
  if (p.service) q.set('service', p.service);
  if (p.from !== null) q.set('from', String(p.from));
  if (p.to !== null) q.set('to', String(p.to));
  if (p.highlight.length) q.set('highlight', p.highlight.join(','));
  const qs = q.toString();
  return '#/timeline' + (qs ? '?' + qs : '');
}

// Link to the timeline (used by the other views).
export function timelineLink(opts) {
  return timelineHash({actors: opts.actors || [], service: opts.service || '',
    from: opts.from ?? null, to: opts.to ?? null, highlight: opts.highlight || []});
}

function apiQuery(p, extra) {
  const q = new URLSearchParams();
  for (const a of p.actors) q.append('actor', a);
  if (p.service) q.set('service', p.service);
  if (p.from !== null) q.set('from', String(p.from));
  if (p.to !== null) q.set('to', String(p.to));
  if (p.highlight.length) q.set('highlight', p.highlight.join(','));
  for (const [k, v] of Object.entries(extra || {})) q.set(k, String(v));
  return '/v1/timeline?' + q.toString();
}

function bigint(v) {
  if (v === null || v === undefined || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

function details(ev, t0) {
  const rows = [
    ['kind', ev.kind],
    ['actor', ev.actor],
    ['service', ev.service],
    ['time', fmtWall(ev.wall_ns) || String(ev.t)],
    ['from window start', fmtNs(ev.t - t0)],
    ['seq', ev.seq],
    ['clock (own counter)', ev.counter],
    ['object', ev.object],
    ['location', ev.location],
    ['value', ev.value],
    ['detail', ev.detail],
    ['duration', ev.duration_ns ? fmtNs(ev.duration_ns) : undefined],
    ['ordered after', ev.from_actor ? `${ev.from_actor} @ ${ev.from_counter}` : undefined],
    ['locks held', ev.locks && ev.locks.length ? ev.locks.join(', ') : 'none'],
  ];
  return h('dl', {class: 'kv'}, rows.filter((r) => r[1] !== undefined && r[1] !== null && r[1] !== '')
    .map(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))]));
}

export async function render(main, ctx) {
  const P = ctx.params;
  const p = {
    actors: P.getAll('actor').filter(Boolean),
    service: P.get('service') || '',
    from: bigint(P.get('from')),
    to: bigint(P.get('to')),
    highlight: (P.get('highlight') || '').split(',').filter((x) => /^\d+$/.test(x)).map(Number),
  };
  let [tl, races] = await Promise.all([get(apiQuery(p)), get('/v1/races?limit=1000')]);
  // A highlight without a window: zoom onto the highlighted events.
  if (p.highlight.length && p.from === null && p.to === null && tl.highlights.length) {
    const ts = tl.highlights.map((x) => x.t);
    const lo = Math.min(...ts);
    const hi = Math.max(...ts);
    const pad = Math.max(1000, (hi - lo) * 0.5);
    if (tl.mode === 'buckets') {
      p.from = Math.floor(lo - pad);
      p.to = Math.ceil(hi + pad);
      tl = await get(apiQuery(p));
    }
  }
  if (!ctx.isCurrent()) return null;
  const root = h('div', {class: 'timeline-view'});
  main.appendChild(root);
  root.appendChild(h('h1', {}, 'Timeline'));
  if (!tl.enabled) {
    root.appendChild(empty('This collector keeps no events (--event-memory 0): start it with a memory bound to see timelines.'));
    return null;
  }
  const from = tl.from;
  const to = tl.to;
  const span = Math.max(1, to - from);
  const go = (nf, nt) => {
    location.hash = timelineHash({...p, from: Math.round(nf), to: Math.round(nt)});
  };
  const zoom = (f, center) => {
    const c = center ?? (from + to) / 2;
    const nf = c - (c - from) * f;
    const nt = c + (to - c) * f;
    go(nf, Math.max(nf + 1, nt));
  };
  const pan = (f) => go(from + span * f, to + span * f);

  // ---- toolbar -----------------------------------------------------------
  const filt = h('form', {class: 'filters', id: 'tl-filter'},
    h('label', {}, 'actor ', h('input', {name: 'actor', value: p.actors.join(' | '), placeholder: 'all (| separates)'})),
    h('label', {}, 'service ', h('input', {name: 'service', value: p.service, placeholder: 'all'})),
    h('button', {type: 'submit'}, 'Apply'));
  filt.addEventListener('submit', (e) => {
    e.preventDefault();
    const fd = new FormData(filt);
    const actors = String(fd.get('actor') || '').split('|').map((x) => x.trim()).filter(Boolean);
    location.hash = timelineHash({...p, actors, service: String(fd.get('service') || '').trim()});
  });
  const tools = h('div', {class: 'toolbar', role: 'toolbar', 'aria-label': 'timeline controls'},
    h('button', {type: 'button', onclick: () => zoom(0.5), title: 'zoom in (+)'}, 'Zoom in'),
    h('button', {type: 'button', onclick: () => zoom(2), title: 'zoom out (−)'}, 'Zoom out'),
    h('button', {type: 'button', onclick: () => pan(-0.5), title: 'earlier (←)'}, '←'),
    h('button', {type: 'button', onclick: () => pan(0.5), title: 'later (→)'}, '→'),
    h('a', {class: 'button', href: timelineHash({actors: p.actors, service: p.service, from: null, to: null,
      highlight: p.highlight})}, 'Whole range'));
  root.append(filt, tools);
  root.appendChild(h('p', {class: 'muted', id: 'tl-info'},
    `${fmtWall(from) || from} + ${fmtNs(span)} · ${fmtInt(tl.total)} events in window · `,
    tl.mode === 'buckets' ? `aggregated into ${tl.buckets} buckets per lane (zoom in for single events)` :
      `showing ${fmtInt(tl.items.length)}`,
    tl.evicted ? ` · ${fmtInt(tl.evicted)} older events no longer kept` : ''));
  if (!tl.lanes.length) {
    root.appendChild(empty('No events in this window.'));
    return null;
  }

  // ---- lanes -------------------------------------------------------------
  const lanes = [...tl.lanes].sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
  const laneIx = new Map();
  const rowsSvc = [];
  let row = 0;
  let lastSvc = null;
  for (const l of lanes) {
    if (l.service !== lastSvc) {
      rowsSvc.push({service: l.service, row});
      row += 0.7;
      lastSvc = l.service;
    }
    laneIx.set(l.actor, row);
    row += 1;
  }
  const width = Math.max(320, Math.min(main.clientWidth || 1000, 2400) - 8);
  const labelW = width < 640 ? 96 : 190;
  const plotW = width - labelW - 12;
  const height = AXIS + row * LANE + 8;
  const x = (t) => labelW + ((t - from) / span) * plotW;
  const y = (actor) => AXIS + laneIx.get(actor) * LANE + LANE / 2;
  const svg = s('svg', {class: 'timeline', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-label': `timeline of ${lanes.length} actors`, tabindex: '0'});
  // axis
  const axis = s('g', {class: 'axis'});
  const nt = plotW < 400 ? 2 : 5;
  for (let i = 0; i <= nt; i++) {
    const t = from + (span * i) / nt;
    axis.appendChild(s('line', {x1: x(t), x2: x(t), y1: AXIS - 6, y2: height, class: 'tick'}));
    axis.appendChild(s('text', {x: x(t), y: AXIS - 10, 'text-anchor': i === 0 ? 'start' : i === nt ? 'end' : 'middle'},
      '+' + fmtNs(t - from)));
  }
  svg.appendChild(axis);
  for (const r of rowsSvc) {
    svg.appendChild(s('text', {class: 'svc-label', x: 4, y: AXIS + r.row * LANE + 14}, r.service || '(no service)'));
  }
  for (const l of lanes) {
    const yy = y(l.actor);
    const room = Math.floor((labelW - 16) / 7);
    const short = l.actor.length > room ? '…' + l.actor.slice(-(room - 1)) : l.actor;
    const g = s('g', {class: 'lane', dataset: {actor: l.actor}});
    g.appendChild(s('line', {x1: labelW, x2: width - 4, y1: yy, y2: yy, class: 'lane-line'}));
    g.appendChild(s('text', {x: 12, y: yy + 4, class: 'lane-label'}, short, s('title', {}, l.actor)));
    svg.appendChild(g);
  }
  const panel = h('aside', {class: 'details', id: 'tl-details', 'aria-live': 'polite'},
    h('p', {class: 'muted'}, 'Hover or focus an event for its details.'));

  if (tl.mode === 'buckets') {
    const nb = tl.buckets;
    const bw = plotW / nb;
    let max = 1;
    for (const l of lanes) for (let b = 0; b < nb; b++) max = Math.max(max, l.other[b] + l.access[b] + l.lock[b]);
    for (const l of lanes) {
      const g = s('g', {class: 'buckets'});
      for (let b = 0; b < nb; b++) {
        const n = l.other[b] + l.access[b] + l.lock[b];
        if (!n) continue;
        const hh = Math.max(2, (LANE - 8) * Math.sqrt(n / max));
        const cat = l.access[b] >= l.lock[b] && l.access[b] >= l.other[b] ? 'access' :
          l.lock[b] >= l.other[b] ? 'lock' : 'other';
        const t0 = from + b * tl.bucket_ns;
        const r = s('rect', {class: ['bucket', 'b-' + cat], x: labelW + b * bw, y: y(l.actor) - hh / 2,
          width: Math.max(1, bw - 0.5), height: hh, tabindex: '-1'},
        s('title', {}, `${l.actor}: ${n} events (${l.access[b]} accesses, ${l.lock[b]} lock, ${l.other[b]} other)`));
        r.addEventListener('click', () => go(t0, t0 + tl.bucket_ns));
        g.appendChild(r);
      }
      svg.appendChild(g);
    }
  } else {
    drawEvents(svg, tl, races.items, p, {x, y, laneIx, labelW, width, from, panel});
  }

  // zoom with the wheel, pan by dragging, keys + - ← →
  let pending = null;
  svg.addEventListener('wheel', (e) => {
    e.preventDefault();
    const rect = svg.getBoundingClientRect();
    const px = ((e.clientX - rect.left) / rect.width) * width;
    const c = from + ((px - labelW) / plotW) * span;
    const f = e.deltaY > 0 ? 1.5 : 1 / 1.5;
    const base = pending || {from, to};
    const nf = c - (c - base.from) * f;
    const nt = c + (base.to - c) * f;
    pending = {from: nf, to: nt};
    clearTimeout(svg._zt);
    svg._zt = setTimeout(() => go(pending.from, pending.to), 200);
  }, {passive: false});
  let drag = null;
  svg.addEventListener('pointerdown', (e) => {
    if (e.target.closest('.ev') || e.target.closest('.bucket')) return;
    drag = {x: e.clientX};
  });
  svg.addEventListener('pointerup', (e) => {
    if (!drag) return;
    const rect = svg.getBoundingClientRect();
    const dx = ((e.clientX - drag.x) / rect.width) * width;
    drag = null;
    if (Math.abs(dx) > 8) pan(-dx / plotW);
  });
  svg.addEventListener('keydown', (e) => {
    if (e.key === '+' || e.key === '=') zoom(0.5);
    else if (e.key === '-') zoom(2);
    else if (e.key === 'ArrowLeft' && e.target === svg) pan(-0.25);
    else if (e.key === 'ArrowRight' && e.target === svg) pan(0.25);
    else return;
    e.preventDefault();
  });
  root.appendChild(h('div', {class: 'timeline-wrap'}, h('div', {class: 'timeline-scroll'}, svg), panel));
  root.appendChild(legend());
  return null;
}

function legend() {
  const item = (cls, label) => h('span', {class: 'legend-item'}, h('span', {class: ['swatch', cls]}), label);
  return h('p', {class: 'legend'}, item('k-read', 'read'), item('k-write', 'write'), item('k-lock', 'lock event'),
    item('hold', 'lock held'), item('wait', 'lock wait'), item('k-http', 'HTTP'), item('k-span', 'span'),
    item('race-link', 'race'), item('hl', 'highlighted'));
}

function drawEvents(svg, tl, races, p, g) {
  const {x, y, laneIx, from, panel} = g;
  const items = tl.items.filter((e) => laneIx.has(e.actor));
  const bars = s('g', {class: 'bars'});
  const arrows = s('g', {class: 'arrows'});
  const marks = s('g', {class: 'marks'});
  svg.append(bars, arrows, marks);
  // lock waits and holds, per actor and lock
  const open = new Map();
  const endX = x(tl.to);
  const bar = (cls, actor, lock, t1, t2, tip) => {
    const yy = y(actor);
    bars.appendChild(s('rect', {class: ['bar', cls], x: x(t1), y: yy - (cls === 'hold' ? 7 : 4),
      width: Math.max(1.5, x(t2) - x(t1)), height: cls === 'hold' ? 14 : 8}, s('title', {}, tip)));
  };
  for (const e of items) {
    const key = e.actor + '\u0000' + (e.object || '');
    const st = open.get(key) || {};
    if (e.kind === 'lock_request') st.req = e.t;
    else if (e.kind === 'lock_acquired') {
      if (st.req !== undefined) bar('wait', e.actor, e.object, st.req, e.t, `${e.actor} waited ${fmtNs(e.t - st.req)} for ${e.object}`);
      st.req = undefined;
      st.acq = e.t;
    } else if (e.kind === 'lock_release') {
      if (st.acq !== undefined) bar('hold', e.actor, e.object, st.acq, e.t, `${e.actor} held ${e.object} for ${fmtNs(e.t - st.acq)}`);
      st.acq = undefined;
    }
    open.set(key, st);
  }
  for (const [key, st] of open) {
    const [actor, lock] = key.split('\u0000');
    if (st.acq !== undefined) bar('hold', actor, lock, st.acq, tl.to, `${actor} still holds ${lock} at the window's end`);
    if (st.req !== undefined) bar('wait blocked', actor, lock, st.req, tl.to, `${actor} still waits for ${lock} at the window's end`);
  }
  // HTTP calls: from the caller's event (actor, counter) to the receiver
  const byClock = new Map();
  for (const e of items) byClock.set(e.actor + '\u0000' + e.counter, e);
  for (const e of items) {
    if (!e.from_actor || !e.kind.startsWith('http_')) continue;
    const src = byClock.get(e.from_actor + '\u0000' + e.from_counter);
    if (!src) continue;
    arrows.appendChild(s('line', {class: 'call', x1: x(src.t), y1: y(src.actor), x2: x(e.t), y2: y(e.actor),
      'marker-end': 'url(#tl-arrow)'}, s('title', {}, `${src.actor} → ${e.actor} ${e.detail || ''}`)));
  }
  svg.appendChild(arrowDefs('tl-arrow', 6));
  // races whose two accesses are both on screen
  const bySeq = new Map();
  for (const e of items) bySeq.set(e.actor + '\u0000' + e.seq, e);
  for (const r of races) {
    const a = bySeq.get(r.first.actor + '\u0000' + r.first.seq);
    const b = bySeq.get(r.second.actor + '\u0000' + r.second.seq);
    if (!a || !b) continue;
    const mx = (x(a.t) + x(b.t)) / 2;
    const my = Math.min(y(a.actor), y(b.actor)) - 14;
    arrows.appendChild(s('a', {href: '#/races/' + r.index},
      s('path', {class: ['race-link', r.severity], d: `M${x(a.t)},${y(a.actor)} Q${mx},${my} ${x(b.t)},${y(b.actor)}`},
        s('title', {}, `race on ${r.variable}: ${r.first.location} / ${r.second.location}`))));
  }
  const hl = new Set(p.highlight);
  const hlActors = new Set(p.actors);
  let firstHl = null;
  for (const e of items) {
    const isHl = hl.has(e.seq) && (!hlActors.size || hlActors.has(e.actor));
    const cx = x(e.t);
    const cy = y(e.actor);
    const grp = s('g', {class: ['ev', kindClass(e.kind), isHl ? 'hl' : null], tabindex: '0',
      dataset: {seq: e.seq, actor: e.actor, kind: e.kind}, transform: `translate(${cx},${cy})`,
      'aria-label': `${e.kind} ${e.object || e.detail || ''} by ${e.actor}`});
    if (isHl) grp.appendChild(s('circle', {class: 'hl-ring', r: 10}));
    grp.appendChild(s('rect', {x: -3, y: -8, width: 6, height: 16, rx: 1.5}));
    grp.appendChild(s('title', {}, `${e.kind} ${e.object || ''} ${e.location || ''}`));
    const show = () => {
      clear(panel);
      panel.appendChild(h('h3', {}, e.kind, e.object ? ' ' + e.object : ''));
      panel.appendChild(details(e, from));
      if (e.object && (e.kind === 'read' || e.kind === 'write' || e.kind === 'rmw')) {
        panel.appendChild(h('p', {}, h('a', {href: '#/variables/' + enc(e.object)}, 'Audit trail of this variable')));
      }
    };
    grp.addEventListener('mouseenter', show);
    grp.addEventListener('focus', show);
    grp.addEventListener('click', show);
    marks.appendChild(grp);
    if (isHl && !firstHl) firstHl = e;
  }
  if (firstHl) {
    clear(panel);
    panel.appendChild(h('h3', {}, 'Highlighted: ', firstHl.kind, ' ', firstHl.object || ''));
    panel.appendChild(details(firstHl, from));
  }
}
