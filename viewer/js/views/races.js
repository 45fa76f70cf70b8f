// #/races (filter by variable and severity) and #/races/<index>: one race
// with both sides, their whole vector clocks side by side and the missing
// happens-before edge.
import {h, table, link, enc, fmtInt, empty, section} from '../dom.js';
import {get} from '../api.js';
import {timelineLink} from './timeline.js';

function sideCell(a) {
  return h('div', {class: 'side'},
    h('div', {}, h('strong', {}, a.access), ' at ', h('code', {}, a.location)),
    h('div', {class: 'muted'}, a.actor, ' · ', a.service),
    h('div', {class: 'muted'}, 'locks: ', a.locks.length ? a.locks.join(', ') : 'none'));
}

function raceLink(r) {
  return timelineLink({actors: [r.first.actor, r.second.actor], highlight: [r.first.seq, r.second.seq]});
}

async function list(main, ctx) {
  const variable = ctx.params.get('variable') || '';
  const severity = ctx.params.get('severity') || '';
  const q = new URLSearchParams({limit: '1000'});
  if (variable) q.set('variable', variable);
  if (severity) q.set('severity', severity);
  const r = await get('/v1/races?' + q.toString());
  if (!ctx.isCurrent()) return;
  const form = h('form', {class: 'filters', id: 'race-filter'},
    h('label', {}, 'variable ', h('input', {name: 'variable', value: variable, placeholder: 'exact name'})),
    h('label', {}, 'severity ', h('select', {name: 'severity'},
      ['', 'error', 'warning'].map((v) => h('option', {value: v, selected: v === severity}, v || 'any')))),
    h('button', {type: 'submit'}, 'Filter'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const fd = new FormData(form);
    const nq = new URLSearchParams();
    if (fd.get('variable')) nq.set('variable', String(fd.get('variable')));
    if (fd.get('severity')) nq.set('severity', String(fd.get('severity')));
    location.hash = '#/races' + (nq.toString() ? '?' + nq.toString() : '');
  });
  main.append(h('h1', {}, 'Races'), form,
    h('p', {class: 'muted'}, `${fmtInt(r.total)} race groups (variable and location pair).`));
  if (!r.items.length) {
    main.appendChild(empty('No races.'));
    return;
  }
  main.appendChild(table([
    {label: '#', get: (x) => link('#/races/' + x.index, String(x.index)), cls: 'num'},
    {label: 'severity', get: (x) => h('span', {class: ['badge', x.severity]}, x.severity)},
    {label: 'variable', get: (x) => link('#/races/' + x.index, x.variable), cls: 'race-var'},
    {label: 'first', get: (x) => sideCell(x.first)},
    {label: 'second', get: (x) => sideCell(x.second)},
    {label: 'pairs', get: (x) => fmtInt(x.count), cls: 'num'},
    {label: '', get: (x) => link(raceLink(x), 'timeline')},
  ], r.items, {cls: 'grid races', rowData: (x) => ({index: x.index})}));
}

function accessBox(title, a) {
  return h('div', {class: 'access card'},
    h('h3', {}, title),
    h('dl', {class: 'kv'},
      h('dt', {}, 'access'), h('dd', {}, a.access + (a.atomic ? ' (atomic)' : '')),
      h('dt', {}, 'location'), h('dd', {}, h('code', {}, a.location)),
      h('dt', {}, 'actor'), h('dd', {}, a.actor),
      h('dt', {}, 'service'), h('dd', {}, a.service),
      h('dt', {}, 'value'), h('dd', {}, a.value === undefined ? '–' : String(a.value)),
      h('dt', {}, 'locks held'), h('dd', {}, a.locks.length ? a.locks.join(', ') : 'none'),
      h('dt', {}, 'seq'), h('dd', {}, String(a.seq)),
      h('dt', {}, 'own clock entry'), h('dd', {class: 'clock'},
        a.counter === undefined ? '–' : `${a.actor} = ${a.counter}`)));
}

// {actor -> counter} of an access's whole vector clock.
function clockMap(a) {
  const m = new Map();
  for (const x of a.clock || []) m.set(x.actor, x.counter);
  return m;
}

// Both clocks side by side: one row per actor either clock has heard of.
function clockTable(A, B) {
  const ca = clockMap(A);
  const cb = clockMap(B);
  const actors = [...new Set([...ca.keys(), ...cb.keys()])].sort();
  const rows = actors.map((x) => ({actor: x, a: ca.get(x) || 0, b: cb.get(x) || 0}));
  const cell = (v, more) => h('span', {class: ['clock', more ? 'more' : null]}, String(v));
  return table([
    {label: 'actor', get: (r) => r.actor},
    {label: 'first access\u2019s clock', get: (r) => cell(r.a, r.a > r.b), cls: 'num'},
    {label: 'second access\u2019s clock', get: (r) => cell(r.b, r.b > r.a), cls: 'num'},
    {label: '', get: (r) => r.a > r.b ? 'first knows more' : r.b > r.a ? 'second knows more' : 'equal'},
  ], rows, {cls: 'grid clocks', rowClass: (r) => r.a !== r.b ? 'differs' : null,
    rowData: (r) => ({actor: r.actor, first: r.a, second: r.b})});
}

// The missing happens-before edge, from the two clocks.
function whyText(A, B) {
  const ca = clockMap(A);
  const cb = clockMap(B);
  const aInB = cb.get(A.actor) || 0;
  const bInA = ca.get(B.actor) || 0;
  const common = A.locks.filter((l) => B.locks.includes(l));
  const locksA = A.locks.length ? `${A.actor} held ${A.locks.join(', ')}` : `${A.actor} held no lock`;
  const locksB = B.locks.length ? `${B.actor} held ${B.locks.join(', ')}` : `${B.actor} held no lock`;
  const parts = [];
  if (A.actor === B.actor) {
    parts.push(`Both accesses are by ${A.actor}, yet neither clock covers the other (a lost event or a forced release).`);
  } else {
    parts.push(`The first access is ${A.actor}'s event ${A.counter}; the second access's clock has ` +
      `${A.actor} = ${aInB}, so nothing from ${A.actor}'s event ${A.counter} onwards reached ${B.actor} ` +
      `before its event ${B.counter}. The missing edge is one from ${A.actor} (at or after its event ${A.counter}) ` +
      `to ${B.actor} (before its event ${B.counter}): a release of a lock ${A.actor} held then acquired by ` +
      `${B.actor}, a join, a message or an HTTP call. ${locksA}; ${locksB}` +
      (common.length ? ` (in common: ${common.join(', ')}, held in shared mode by both).` : ': no lock in common.'));
    parts.push(`Nor is the second before the first: the first access's clock has ${B.actor} = ${bInA}, ` +
      `below ${B.actor}'s event ${B.counter}.`);
  }
  const firstMore = [...ca.keys()].filter((x) => (ca.get(x) || 0) > (cb.get(x) || 0));
  const secondMore = [...cb.keys()].filter((x) => (cb.get(x) || 0) > (ca.get(x) || 0));
  parts.push(`Entries where neither clock covers the other: the first knows more of ${firstMore.join(', ') || 'no actor'}; ` +
    `the second knows more of ${secondMore.join(', ') || 'no actor'}.`);
  return parts;
}

async function one(main, ctx, index) {
  const r = await get(`/v1/races?offset=${index}&limit=1`);
  const race = r.items[0];
  if (!ctx.isCurrent()) return;
  main.appendChild(h('p', {}, link('#/races', '← all races')));
  if (!race) {
    main.appendChild(empty(`No race #${index}.`));
    return;
  }
  const A = race.first;
  const B = race.second;
  const hasClocks = Array.isArray(A.clock) && Array.isArray(B.clock);
  main.append(
    h('h1', {}, 'Race on ', h('code', {class: 'race-title'}, race.variable)),
    h('p', {}, h('span', {class: ['badge', race.severity]}, race.severity), ' ',
      `${fmtInt(race.count)} racing pair(s) (${race.kind || race.severity}) between `,
      h('code', {}, (race.locations || [])[0] || A.location), ' and ', h('code', {}, (race.locations || [])[1] || B.location), '. ',
      link(raceLink(race), 'Open both accesses in the timeline'), ' · ',
      link('#/variables/' + enc(race.variable), 'audit trail')),
    h('div', {class: 'two'}, accessBox('First access', A), accessBox('Second access', B)),
    section('Vector clocks at the two accesses',
      hasClocks ? clockTable(A, B) : empty('This collector does not report the accesses\u2019 clocks.'),
      h('p', {class: 'muted'}, 'Each row is one actor\u2019s entry: how many of its events each access had heard of ' +
        '(through program order, lock hand-offs, joins, messages and HTTP calls). An access happens before another ' +
        'iff the other\u2019s clock covers it.')),
    section('Why nothing orders them',
      h('div', {id: 'race-why'}, hasClocks ? whyText(A, B).map((t) => h('p', {}, t)) :
        h('p', {}, 'The two accesses are concurrent: neither access\u2019s vector clock covers the other.'))));
}

export async function render(main, ctx) {
  if (ctx.segs.length) {
    const i = Number(ctx.segs[0]);
    if (!Number.isInteger(i) || i < 0) {
      main.appendChild(empty('Bad race index.'));
      return null;
    }
    await one(main, ctx, i);
  } else {
    await list(main, ctx);
  }
  return null;
}
