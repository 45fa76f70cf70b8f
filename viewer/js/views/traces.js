// #/traces: request traces across services; #/traces/<id>: one trace as a
// timeline, its findings, a step-through debugger over its events in
// causal order, and export as Chrome Trace Event JSON (Perfetto).
import {h, s, clear, table, link, enc, fmtInt, fmtNs, fmtWall, empty, section} from '../dom.js';
import {get, getOptional, download} from '../api.js';
import {timelineLink} from './timeline.js';

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
      link(timelineLink({actors: actors.slice(0, 16), from, to}), 'open in the timeline'), ' '),
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
    section('Events', table([
      {label: 'time', get: (e) => fmtWall(e.wall_ns)},
      {label: 'kind', get: (e) => e.kind},
      {label: 'actor', get: (e) => e.actor},
      {label: 'object', get: (e) => e.object || e.detail || ''},
      {label: 'location', get: (e) => e.location || ''},
      {label: 'duration', get: (e) => (e.duration_ns ? fmtNs(e.duration_ns) : ''), cls: 'num'},
    ], tr.items, {cls: 'grid trace-events'})));
}

export async function render(main, ctx) {
  if (ctx.segs.length) await one(main, ctx, ctx.segs[0]);
  else await list(main, ctx);
  return null;
}
