// #/critical-path: the chain of spans, each ending before the next begins,
// with the largest total duration.
import {h, s, table, fmtNs, empty} from '../dom.js';
import {get} from '../api.js';
import {timelineLink} from './timeline.js';

export async function render(main, ctx) {
  const r = await get('/v1/critical-path');
  if (!ctx.isCurrent()) return null;
  main.appendChild(h('h1', {}, 'Critical path'));
  if (!r.spans.length) {
    main.appendChild(empty('No spans seen (a collector run with --event-memory 0 and without --keep-events 1 keeps none).'));
    return null;
  }
  main.appendChild(h('p', {}, `${r.spans.length} spans, ${fmtNs(r.total_ns)} in total.`));
  if (r.truncated) {
    main.appendChild(h('p', {class: 'warn', id: 'critpath-truncated'},
      `Truncated: the collector's span memory is full; ${r.dropped_spans} later span(s) are not on this path ` +
      '(--event-memory bounds it; --keep-events 1 keeps every span).'));
  }
  const w = 640;
  const rowH = 24;
  const svg = s('svg', {class: 'critpath', viewBox: `0 0 ${w} ${r.spans.length * rowH + 6}`, role: 'img',
    'aria-label': 'critical path spans'});
  let acc = 0;
  r.spans.forEach((sp, i) => {
    const x = (acc / Math.max(1, r.total_ns)) * (w - 10) + 5;
    const bw = Math.max(2, (sp.duration_ns / Math.max(1, r.total_ns)) * (w - 10));
    svg.appendChild(s('rect', {class: 'span-bar', x, y: 3 + i * rowH, width: bw, height: rowH - 6},
      s('title', {}, `${sp.span} (${sp.actor}): ${fmtNs(sp.duration_ns)}`)));
    svg.appendChild(s('text', {x: Math.min(x + 4, w - 150), y: 3 + i * rowH + 13}, sp.span));
    acc += sp.duration_ns;
  });
  main.appendChild(h('div', {class: 'card'}, svg));
  main.appendChild(table([
    {label: 'span', get: (sp) => sp.span},
    {label: 'actor', get: (sp) => sp.actor},
    {label: 'service', get: (sp) => sp.service},
    {label: 'duration', get: (sp) => fmtNs(sp.duration_ns), cls: 'num'},
    {label: '', get: (sp) => h('a', {href: timelineLink({actors: [sp.actor], highlight: [sp.begin_seq, sp.end_seq]})},
      'timeline')},
  ], r.spans, {cls: 'grid critpath-table'}));
  return null;
}
