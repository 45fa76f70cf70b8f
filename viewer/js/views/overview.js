// #/ : findings at a glance, services graph, hotspots, ingest health; the
// counts follow /v1/stream live.
import {h, clear, section, table, link, enc, fmtInt, empty} from '../dom.js';
import {get, getOptional} from '../api.js';
import * as live from '../live.js';
import {circleGraph} from '../graph.js';

function stat(id, label, value, href, cls) {
  return h('a', {class: ['stat', cls], href, id},
    h('span', {class: 'stat-value', dataset: {key: id}}, fmtInt(value)),
    h('span', {class: 'stat-label'}, label));
}

async function load() {
  const [sum, racesR, locksR, services, anomalies, dl] = await Promise.all([
    get('/v1/summary'),
    get('/v1/races?limit=1000'),
    get('/v1/locks?contended=1&limit=1000'),
    get('/v1/services'),
    getOptional('/v1/anomalies?limit=1000'),
    get('/v1/deadlocks?limit=1000'),
  ]);
  return {sum: sum.summary, races: racesR.items, locks: locksR.items, services, anomalies, dl: dl.items};
}

function findings(d) {
  const sm = d.sum;
  const errors = d.races.filter((r) => r.severity === 'error').length;
  const warnings = d.races.filter((r) => r.severity !== 'error').length;
  const active = d.dl.filter((x) => x.active).length;
  const anomalies = d.anomalies ? d.anomalies.total : null;
  return h('div', {class: 'stats', id: 'ov-findings'},
    stat('ov-races-error', 'races (error)', errors, '#/races?severity=error', errors ? 'bad' : 'ok'),
    stat('ov-races-warning', 'races (warning)', warnings, '#/races?severity=warning', warnings ? 'warn' : 'ok'),
    stat('ov-potential', 'potential deadlocks', sm.potential_deadlocks, '#/deadlocks', sm.potential_deadlocks ? 'warn' : 'ok'),
    stat('ov-deadlocks', 'deadlocks' + (active ? ` (${active} blocked now)` : ''), sm.deadlocks, '#/deadlocks',
      sm.deadlocks ? 'bad' : 'ok'),
    stat('ov-contended', 'contended locks', sm.contended_locks, '#/locks', sm.contended_locks ? 'warn' : 'ok'),
    anomalies === null ? null : stat('ov-anomalies', 'anomalies', anomalies, '#/anomalies', anomalies ? 'warn' : 'ok'));
}

function servicesGraph(sv) {
  const list = sv.services || [];
  if (!list.length) return empty('No services seen yet.');
  const nodes = list.map((x) => ({id: x.service, label: `${x.service} (${x.actors})`, kind: 'service',
    href: '#/timeline?service=' + enc(x.service)}));
  const edges = (sv.calls || []).map((c) => ({from: c.from, to: c.to, label: c.count,
    title: `${c.from} → ${c.to}: ${c.count} calls`}));
  return h('div', {class: 'graph-box'}, circleGraph(nodes, edges, {label: 'services and their calls', idPrefix: 'svc'}),
    table([{label: 'from', get: (c) => c.from}, {label: 'to', get: (c) => c.to},
      {label: 'calls', get: (c) => fmtInt(c.count), cls: 'num'}], sv.calls || []));
}

function hotspots(d) {
  const byVar = new Map();
  d.races.forEach((r) => {
    const v = byVar.get(r.variable) || {variable: r.variable, groups: 0, count: 0, index: r.index};
    v.groups += 1;
    v.count += r.count;
    byVar.set(r.variable, v);
  });
  const vars = [...byVar.values()].sort((a, b) => b.count - a.count).slice(0, 8);
  const locks = [...d.locks].sort((a, b) => b.wait_ns.total - a.wait_ns.total || b.contended - a.contended).slice(0, 8);
  return h('div', {class: 'two'},
    h('div', {}, h('h3', {}, 'Most racy variables'), vars.length ?
      table([{label: 'variable', get: (v) => link('#/variables/' + enc(v.variable), v.variable)},
        {label: 'groups', get: (v) => fmtInt(v.groups), cls: 'num'},
        {label: 'racing pairs', get: (v) => fmtInt(v.count), cls: 'num'}], vars, {cls: 'grid hot-vars'}) :
      empty('No races.')),
    h('div', {}, h('h3', {}, 'Most contended locks'), locks.length ?
      table([{label: 'lock', get: (l) => link('#/locks/' + enc(l.lock), l.lock)},
        {label: 'contended', get: (l) => fmtInt(l.contended), cls: 'num'},
        {label: 'wait p99', get: (l) => fmtNsCell(l.wait_ns.p99), cls: 'num'}], locks, {cls: 'grid hot-locks'}) :
      empty('No contention.')));
}

function fmtNsCell(v) {
  return v >= 1e6 ? (v / 1e6).toFixed(2) + ' ms' : v >= 1e3 ? (v / 1e3).toFixed(1) + ' µs' : v + ' ns';
}

function health(sm, rate) {
  return h('dl', {class: 'kv', id: 'ov-health'},
    h('dt', {}, 'events analysed'), h('dd', {id: 'ov-events'}, fmtInt(sm.events)),
    h('dt', {}, 'events/s'), h('dd', {id: 'ov-rate'}, rate === null ? '–' : fmtInt(Math.round(rate))),
    h('dt', {}, 'waiting for a clock source'), h('dd', {id: 'ov-pending'}, fmtInt(sm.pending_events)),
    h('dt', {}, 'lost events (SDK gaps)'), h('dd', {id: 'ov-lost', class: sm.lost_events ? 'bad' : ''}, fmtInt(sm.lost_events)),
    h('dt', {}, 'invalid events'), h('dd', {id: 'ov-invalid'}, fmtInt(sm.invalid_events)),
    h('dt', {}, 'analysis lag'), h('dd', {id: 'ov-lag'}, '–'));
}

async function lag() {
  // /metrics is open (no key); its lag gauge is the oldest queued batch.
  try {
    const res = await fetch('/metrics', {cache: 'no-store'});
    const txt = await res.text();
    const m = /^causeway_analysis_lag_seconds\s+([0-9.eE+-]+)/m.exec(txt);
    return m ? Number(m[1]) : null;
  } catch (e) {
    return null;
  }
}

export async function render(main, ctx) {
  let d = await load();
  if (!ctx.isCurrent()) return null;
  let rate = null;
  const root = h('div', {class: 'overview'});
  const draw = () => {
    clear(root);
    root.append(
      h('h1', {}, 'Overview'),
      section('Findings', findings(d)),
      h('div', {class: 'two'},
        section('Services', servicesGraph(d.services)),
        section('Ingest', health(d.sum, rate))),
      section('Hotspots', hotspots(d)));
  };
  draw();
  main.appendChild(root);
  const setLag = async () => {
    const l = await lag();
    const el = document.getElementById('ov-lag');
    if (el) el.textContent = l === null ? '–' : l.toFixed(2) + ' s';
  };
  setLag();
  let last = null;
  let busy = false;
  let again = false;
  const refresh = async () => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      const nd = await load();
      if (ctx.isCurrent()) {
        d = nd;
        draw();
        setLag();
      }
    } catch (e) { /* keep the last picture */ }
    busy = false;
    if (again) {
      again = false;
      refresh();
    }
  };
  const offE = live.on('events', (e) => {
    const now = performance.now();
    if (last && e.new) rate = (e.new * 1000) / Math.max(1, now - last);
    last = now;
    const el = document.getElementById('ov-events');
    if (el) el.textContent = fmtInt(e.analysed);
    const r = document.getElementById('ov-rate');
    if (r && rate !== null) r.textContent = fmtInt(Math.round(rate));
  });
  const offF = live.on('findings', () => refresh());
  // Raceway's UI polls every 20 s; the stream makes this a fallback only.
  const poll = setInterval(refresh, 20000);
  return () => {
    offE();
    offF();
    clearInterval(poll);
  };
}
