// #/traces: request traces across services; #/traces/<id>: one trace as a
// timeline, its findings, a step-through debugger over its events in
// causal order, its spans as a tree, its events as a causal graph (from
// their clocks) and as a list, and export as Chrome Trace Event JSON
// (Perfetto). ?view=tree|graph|events jumps to that part; &span=ID selects
// a span in the tree.
import {h, s, clear, table, link, enc, fmtInt, fmtNs, fmtWall, empty, section} from '../dom.js';
import {get, getOptional, download} from '../api.js';
import {timelineLink} from './timeline.js';
import {laneDag} from '../graph.js';

const NO_SPAN = '0000000000000000';

async function list(main, ctx) {
  const service = ctx.params.get('service') || '';
  const r = await get('/v1/traces?limit=1000' + (service ? '&service=' + encodeURIComponent(service) : ''));
  if (!ctx.isCurrent()) return;
  main.append(h('h1', {}, 'Traces'), h('p', {class: 'muted'}, `${fmtInt(r.total)} traces, newest first.`));
  main.appendChild(r.items.length ? table([
    {label: 'trace', get: (t) => link('#/traces/' + enc(t.trace_id), h('code', {}, t.trace_id))},
    {label: 'services', get: (t) => t.services.join(' → ')},
    {label: 'events', get: (t) => fmtInt(t.events), cls: 'num'},
    {label: 'start', get: (t) => fmtWall(t.start_ns)},
    {label: 'duration', get: (t) => fmtNs(t.duration_ns), cls: 'num'},
  ], r.items, {cls: 'grid traces'}) : empty('No traces (events carrying a W3C trace id) seen yet.'));
}

function miniTimeline(tr) {
  const items = tr.items;
  if (!items.length) return null;
  const actors = [...new Set(items.map((e) => e.actor))];
  const t0 = Math.min(...items.map((e) => e.wall_ns));
  const t1 = Math.max(...items.map((e) => e.wall_ns + (e.duration_ns || 0)));
  const w = 700;
  const labelW = 170;
  const rowH = 26;
  const x = (t) => labelW + ((t - t0) / Math.max(1, t1 - t0)) * (w - labelW - 10);
  const svg = s('svg', {class: 'trace-mini', width: w, viewBox: `0 0 ${w} ${actors.length * rowH + 10}`, role: 'img',
    'aria-label': 'trace timeline'});
  actors.forEach((a, i) => {
    const y = 5 + i * rowH + rowH / 2;
    svg.appendChild(s('line', {class: 'lane-line', x1: labelW, x2: w - 5, y1: y, y2: y}));
    svg.appendChild(s('text', {x: 4, y: y + 4, class: 'lane-label'}, a.length > 24 ? '…' + a.slice(-23) : a, s('title', {}, a)));
  });
  for (const e of items) {
    const y = 5 + actors.indexOf(e.actor) * rowH + rowH / 2;
    if (e.duration_ns) {
      svg.appendChild(s('rect', {class: 'span-bar', x: x(e.wall_ns - e.duration_ns), y: y - 6,
        width: Math.max(2, x(e.wall_ns) - x(e.wall_ns - e.duration_ns)), height: 12},
      s('title', {}, `${e.kind} ${e.object || e.detail || ''}: ${fmtNs(e.duration_ns)}`)));
    }
    svg.appendChild(s('circle', {class: ['ev-dot', 'k-' + e.kind.split('_')[0]], cx: x(e.wall_ns), cy: y, r: 4},
      s('title', {}, `${e.kind} ${e.object || e.detail || ''} ${e.location || ''}`)));
  }
  return svg;
}

function debuggerBox(steps) {
  const box = h('div', {class: 'stepper card', id: 'stepper'});
  if (!steps.length) {
    box.appendChild(empty('No kept events for this trace\'s actors.'));
    return box;
  }
  let i = 0;
  const body = h('div', {class: 'step-body', 'aria-live': 'polite'});
  const pos = h('span', {class: 'muted', id: 'step-pos'});
  const show = () => {
    const e = steps[i];
    pos.textContent = `event ${i + 1} of ${steps.length}`;
    clear(body);
    body.appendChild(h('dl', {class: 'kv'},
      h('dt', {}, 'event'), h('dd', {id: 'step-kind'}, `${e.kind} ${e.object || e.detail || ''}`),
      h('dt', {}, 'actor'), h('dd', {}, `${e.actor} (${e.service})`),
      h('dt', {}, 'time'), h('dd', {}, fmtWall(e.wall_ns) || String(e.t)),
      h('dt', {}, 'clock'), h('dd', {class: 'clock'}, `${e.actor} = ${e.counter}` +
        (e.from_actor ? `; joined ${e.from_actor} = ${e.from_counter}` : '')),
      h('dt', {}, 'locks held'), h('dd', {}, e.locks.length ? e.locks.join(', ') : 'none'),
      h('dt', {}, 'location'), h('dd', {}, e.location || ''),
      e.value !== undefined ? [h('dt', {}, 'value'), h('dd', {}, String(e.value))] : null));
  };
  const prev = h('button', {type: 'button', id: 'step-prev', onclick: () => {
    i = Math.max(0, i - 1);
    show();
  }}, '◀ Previous');
  const next = h('button', {type: 'button', id: 'step-next', onclick: () => {
    i = Math.min(steps.length - 1, i + 1);
    show();
  }}, 'Next ▶');
  box.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowRight' || e.key === 'j') next.click();
    else if (e.key === 'ArrowLeft' || e.key === 'k') prev.click();
  });
  box.append(h('h2', {}, 'Step through'), h('div', {class: 'row'}, prev, next, pos), body);
  show();
  return box;
}

// The trace's spans nested by parent span (W3C parent-id), each with its
// events; a span whose parent is not in the trace is a root.
function spanTree(tr, id, selected) {
  const spans = new Map();
  const loose = [];
  for (const e of tr.items) {
    if (!e.span_id || e.span_id === NO_SPAN) {
      loose.push(e);
      continue;
    }
    let sp = spans.get(e.span_id);
    if (!sp) {
      sp = {id: e.span_id, parent: '', events: [], name: '', services: new Set(), start: Infinity, end: -Infinity};
      spans.set(e.span_id, sp);
    }
    sp.events.push(e);
    if (!sp.parent && e.parent_span_id && e.parent_span_id !== NO_SPAN) sp.parent = e.parent_span_id;
    if (e.kind === 'span_begin' && e.object && !sp.name) sp.name = e.object;
    sp.services.add(e.service);
    sp.start = Math.min(sp.start, e.wall_ns - (e.duration_ns || 0));
    sp.end = Math.max(sp.end, e.wall_ns);
  }
  const kids = new Map();
  const roots = [];
  for (const sp of spans.values()) {
    if (!sp.name) {
      const first = sp.events[0];
      sp.name = `${first.kind} ${first.detail || first.object || ''}`.trim();
    }
    if (sp.parent && spans.has(sp.parent) && sp.parent !== sp.id) {
      if (!kids.has(sp.parent)) kids.set(sp.parent, []);
      kids.get(sp.parent).push(sp);
    } else {
      roots.push(sp);
    }
  }
  const byStart = (a, b) => a.start - b.start;
  const evItem = (e) => h('li', {class: 'span-ev'},
    link(timelineLink({actors: [e.actor], highlight: [e.seq]}), e.kind),
    ` ${e.object || e.detail || ''}`, e.location ? [' ', h('code', {}, e.location)] : null,
    e.duration_ns ? ` · ${fmtNs(e.duration_ns)}` : '');
  const seen = new Set();
  const node = (sp) => {
    seen.add(sp.id);
    const children = (kids.get(sp.id) || []).filter((c) => !seen.has(c.id)).sort(byStart);
    const href = `#/traces/${enc(id)}?view=tree&span=${enc(sp.id)}`;
    return h('li', {class: ['span', sp.id === selected ? 'selected' : null], role: 'treeitem',
      'aria-expanded': 'true', 'aria-selected': sp.id === selected ? 'true' : 'false', dataset: {span: sp.id}},
    h('div', {class: 'span-head'}, link(href, h('strong', {}, sp.name)),
      ` ${[...sp.services].join(', ')} · ${fmtNs(Math.max(0, sp.end - sp.start))} · `,
      h('code', {class: 'muted'}, sp.id)),
    h('ul', {class: 'span-events'}, sp.events.map(evItem)),
    children.length ? h('ul', {role: 'group'}, children.map(node)) : null);
  };
  const tree = h('ul', {class: 'span-tree', id: 'span-tree', role: 'tree', 'aria-label': 'spans'},
    roots.sort(byStart).map(node));
  return [spans.size ? tree : empty('No spans (events carrying a span id) in this trace.'),
    loose.length ? h('p', {class: 'muted'}, `${loose.length} event(s) without a span.`) : null];
}

// The trace's events as a causal graph: one lane per actor, an edge for
// program order (each actor's events by clock counter) and one for each
// join that ordered an event after another actor's (the HTTP caller, a lock
// hand-off: from_actor/from_counter), drawn to it from the latest event of
// that actor at or before the joined counter. Counters come from the kept
// events (the timeline), matched to the trace's events by actor and seq.
function causalGraph(tr, steps, id) {
  const kept = new Map(steps.map((e) => [e.actor + '\u0000' + e.seq, e]));
  const evs = [];
  let missing = 0;
  for (const e of tr.items) {
    const k = kept.get(e.actor + '\u0000' + e.seq);
    if (k) evs.push(k);
    else missing++;
  }
  if (!evs.length) return empty('None of this trace\'s events are still kept (--event-memory).');
  const lanes = [...new Set(evs.map((e) => e.actor))];
  const byActor = new Map(lanes.map((a) => [a, []]));
  for (const e of evs) byActor.get(e.actor).push(e);
  for (const list of byActor.values()) list.sort((a, b) => a.counter - b.counter);
  const nid = (e) => e.actor + '@' + e.counter;
  const nodes = evs.map((e) => ({id: nid(e), lane: e.actor, label: `${e.kind} ${e.object || ''}`.trim(),
    title: `${e.actor} = ${e.counter}: ${e.kind} ${e.object || e.detail || ''} ${e.location || ''}`.trim(),
    href: timelineLink({actors: [e.actor], highlight: [e.seq]}), cls: 'k-' + e.kind.split('_')[0],
    data: {id: nid(e), seq: e.seq}}));
  const edges = [];
  for (const list of byActor.values()) {
    for (let i = 1; i < list.length; i++) {
      edges.push({from: nid(list[i - 1]), to: nid(list[i]), cls: 'po', data: {from: nid(list[i - 1]), to: nid(list[i])}});
    }
  }
  for (const e of evs) {
    if (!e.from_actor || !byActor.has(e.from_actor) || e.from_actor === e.actor) continue;
    const src = byActor.get(e.from_actor).findLast((x) => x.counter <= e.from_counter);
    if (!src) continue;
    edges.push({from: nid(src), to: nid(e), cls: 'cross',
      title: `${e.from_actor} = ${e.from_counter} happens before ${e.actor} = ${e.counter}`,
      data: {from: nid(src), to: nid(e)}});
  }
  return [h('div', {class: 'dag-scroll'}, laneDag(nodes, edges, lanes, {cls: 'causal', idPrefix: 'causal-' + id,
    label: 'causal graph of the trace\'s events'})),
  h('p', {class: 'muted'}, 'Down the page is later; an arrow is a happens-before edge (solid: the same actor, ' +
    'accent: a join with another actor, as an HTTP call or a lock hand-off).' +
    (missing ? ` ${missing} event(s) are no longer kept and are left out.` : ''))];
}

async function one(main, ctx, id) {
  const tr = await getOptional(`/v1/traces/${encodeURIComponent(id)}?limit=1000`);
  if (!ctx.isCurrent()) return;
  main.appendChild(h('p', {}, link('#/traces', '← all traces')));
  if (!tr) {
    main.appendChild(empty('Unknown trace.'));
    return;
  }
  const actors = tr.actors.map((a) => a.actor);
  const from = tr.start_ns;
  const to = tr.start_ns + tr.duration_ns;
  // The actors' kept events in the trace's window, in causal order: each
  // actor's own order (counter), interleaved by time.
  const q = new URLSearchParams({mode: 'events', limit: '5000', from: String(from), to: String(to)});
  actors.slice(0, 16).forEach((a) => q.append('actor', a));
  const tl = await getOptional('/v1/timeline?' + q.toString());
  const steps = tl && tl.items ? [...tl.items].sort((a, b) => a.t - b.t || (a.actor === b.actor ? a.counter - b.counter : 0)) : [];
  if (!ctx.isCurrent()) return;
  const exportBtn = h('button', {type: 'button', id: 'trace-export'}, 'Export for Perfetto (Chrome Trace JSON)');
  exportBtn.addEventListener('click', () => download(`/v1/traces/${encodeURIComponent(id)}/chrome`, `trace-${id}.json`));
  main.append(h('h1', {}, 'Trace ', h('code', {}, tr.trace_id)),
    h('p', {}, tr.services.join(' → '), ` · ${fmtInt(tr.events)} events · ${fmtNs(tr.duration_ns)} · `,
      link(timelineLink({actors: actors.slice(0, 16), from, to}), 'open in the timeline'), ' · ',
      link(`#/traces/${enc(id)}?view=tree`, 'span tree'), ' · ', link(`#/traces/${enc(id)}?view=graph`, 'causal graph'),
      ' · ', link(`#/traces/${enc(id)}?view=events`, 'event list')),
    h('p', {}, exportBtn),
    section('Timeline', miniTimeline(tr) || empty('No events kept.')),
    section('Findings',
      h('h3', {}, `Races (${tr.races.length})`),
      tr.races.length ? h('ul', {class: 'trace-races'}, tr.races.map((r) => h('li', {},
        link('#/races/' + r.index, r.variable), ` ${(r.locations || []).join(' / ')}`))) : empty('None.'),
      h('h3', {}, `Deadlocks (${tr.deadlocks.length} actual, ${tr.potential_deadlocks.length} potential)`),
      h('ul', {}, tr.deadlocks.map((d) => h('li', {}, link('#/deadlocks/actual/' + d.index, d.cycle.map((e) => e.requested).join(' → ')))),
        tr.potential_deadlocks.map((d) => h('li', {}, link('#/deadlocks/' + d.index, d.cycle.map((e) => e.requested).join(' → '))))),
      h('h3', {}, `Locks taken (${tr.contention.length})`),
      h('ul', {}, tr.contention.map((l) => h('li', {}, link('#/locks/' + enc(l.lock), l.lock), ` contended ${l.contended}×`)))),
    debuggerBox(steps),
    h('section', {class: 'card', id: 'trace-tree'}, h('h2', {tabindex: '-1'}, 'Span tree'),
      spanTree(tr, id, ctx.params.get('span') || '')),
    h('section', {class: 'card', id: 'trace-graph'}, h('h2', {tabindex: '-1'}, 'Causal graph'),
      causalGraph(tr, steps, id)),
    h('section', {class: 'card', id: 'trace-events'}, h('h2', {tabindex: '-1'}, 'Events'), table([
      {label: 'time', get: (e) => fmtWall(e.wall_ns)},
      {label: 'kind', get: (e) => e.kind},
      {label: 'actor', get: (e) => e.actor},
      {label: 'object', get: (e) => e.object || e.detail || ''},
      {label: 'location', get: (e) => e.location || ''},
      {label: 'duration', get: (e) => (e.duration_ns ? fmtNs(e.duration_ns) : ''), cls: 'num'},
    ], tr.items, {cls: 'grid trace-events'})));
  const jump = {tree: 'trace-tree', graph: 'trace-graph', events: 'trace-events'}[ctx.params.get('view') || ''];
  const sel = ctx.params.get('span') ? main.querySelector('#span-tree li.span.selected') : null;
  if (jump) {
    const target = sel || document.getElementById(jump);
    target.scrollIntoView({block: 'start'});
    (sel ? sel.querySelector('a') : target.querySelector('h2')).focus({preventScroll: true});
  }
}

export async function render(main, ctx) {
  if (ctx.segs.length) await one(main, ctx, ctx.segs[0]);
  else await list(main, ctx);
  return null;
}
