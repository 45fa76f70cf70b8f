// #/locks: contention table and a chart of wait time per lock;
// #/locks/<name>: one lock.
import {h, s, table, link, enc, fmtInt, fmtNs, empty, section} from '../dom.js';
import {get} from '../api.js';

function chart(items) {
  const top = [...items].sort((a, b) => b.wait_ns.total - a.wait_ns.total).slice(0, 15);
  if (!top.length) return null;
  const max = Math.max(1, ...top.map((l) => l.wait_ns.total));
  const w = 640;
  const rowH = 22;
  const labelW = 200;
  const svg = s('svg', {class: 'bars-chart', viewBox: `0 0 ${w} ${top.length * rowH + 8}`, role: 'img',
    'aria-label': 'total wait time per lock'});
  top.forEach((l, i) => {
    const y = 4 + i * rowH;
    const bw = ((w - labelW - 90) * l.wait_ns.total) / max;
    const label = l.lock.length > 28 ? l.lock.slice(0, 27) + '…' : l.lock;
    svg.appendChild(s('text', {x: labelW - 6, y: y + 14, 'text-anchor': 'end'}, label, s('title', {}, l.lock)));
    svg.appendChild(s('rect', {class: 'bar-wait', x: labelW, y: y + 3, width: Math.max(1, bw), height: rowH - 8}));
    svg.appendChild(s('text', {x: labelW + bw + 6, y: y + 14, class: 'muted'}, fmtNs(l.wait_ns.total)));
  });
  return section('Total wait per lock', svg);
}

const cols = [
  {label: 'lock', get: (l) => link('#/locks/' + enc(l.lock), l.lock)},
  {label: 'acquisitions', get: (l) => fmtInt(l.acquisitions), cls: 'num'},
  {label: 'contended', get: (l) => fmtInt(l.contended), cls: 'num'},
  {label: 'wait p50', get: (l) => fmtNs(l.wait_ns.p50), cls: 'num'},
  {label: 'wait p99', get: (l) => fmtNs(l.wait_ns.p99), cls: 'num'},
  {label: 'wait max', get: (l) => fmtNs(l.wait_ns.max), cls: 'num'},
  {label: 'hold p50', get: (l) => fmtNs(l.hold_ns.p50), cls: 'num'},
  {label: 'hold p99', get: (l) => fmtNs(l.hold_ns.p99), cls: 'num'},
  {label: 'hold max', get: (l) => fmtNs(l.hold_ns.max), cls: 'num'},
  {label: 'top sites', get: (l) => l.top_locations.slice(0, 3).map((t) =>
    h('div', {}, h('code', {}, t.location), ` ×${t.contended}`))},
];

export async function render(main, ctx) {
  if (ctx.segs.length) {
    const name = ctx.segs[0];
    const r = await get('/v1/locks?lock=' + encodeURIComponent(name));
    if (!ctx.isCurrent()) return null;
    main.appendChild(h('p', {}, link('#/locks', '← all locks')));
    const l = r.items[0];
    if (!l) {
      main.appendChild(empty('No such lock.'));
      return null;
    }
    main.append(h('h1', {}, 'Lock ', h('code', {}, l.lock)),
      table(cols.slice(1, 9), [l], {cls: 'grid lock-one'}),
      section('Top contending sites', l.top_locations.length ? table([
        {label: 'location', get: (t) => h('code', {}, t.location)},
        {label: 'contended', get: (t) => fmtInt(t.contended), cls: 'num'},
        {label: 'wait', get: (t) => fmtNs(t.wait_ns), cls: 'num'}], l.top_locations) : empty('Never contended.')));
    return null;
  }
  const only = ctx.params.get('contended') === '1';
  const r = await get('/v1/locks?limit=1000' + (only ? '&contended=1' : ''));
  if (!ctx.isCurrent()) return null;
  const items = [...r.items].sort((a, b) => b.contended - a.contended || b.wait_ns.total - a.wait_ns.total);
  main.append(h('h1', {}, 'Locks'),
    h('p', {}, only ? link('#/locks', 'Show all locks') : link('#/locks?contended=1', 'Show contended locks only'),
      h('span', {class: 'muted'}, ` · ${fmtInt(r.total)} locks`)),
    items.length ? table(cols, items, {cls: 'grid locks'}) : empty('No locks seen.'),
    chart(items) || '');
  return null;
}
