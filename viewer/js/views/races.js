// #/races (filter by variable and severity) and #/races/<index>: one race
// with both sides, their clocks and the missing happens-before edge.
import {h, table, link, enc, fmtInt, empty, section} from '../dom.js';
import {get, getOptional} from '../api.js';
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

function accessBox(title, a, ev, other, lastFromOther) {
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
      h('dt', {}, 'clock: own entry'), h('dd', {class: 'clock'}, ev ? `${a.actor} = ${ev.counter}` : 'event no longer kept'),
      h('dt', {}, `clock: entry for ${other}`), h('dd', {class: 'clock'},
        lastFromOther ? `≥ ${lastFromOther.from_counter} (last edge: ${lastFromOther.kind} ${lastFromOther.object || ''})` :
          'no edge from it seen')));
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
  // Both actors' kept events: the accesses' clock entries and the edges
  // each actor received from the other before its access.
  const tq = new URLSearchParams({mode: 'events', limit: '10000'});
  tq.append('actor', A.actor);
  if (B.actor !== A.actor) tq.append('actor', B.actor);
  const tl = await getOptional('/v1/timeline?' + tq.toString());
  const evs = tl && tl.items ? tl.items : [];
  const find = (x) => evs.find((e) => e.actor === x.actor && e.seq === x.seq);
  const ea = find(A);
  const eb = find(B);
  const lastFrom = (me, other, until) => {
    let best = null;
    for (const e of evs) {
      if (e.actor !== me.actor || e.from_actor !== other) continue;
      if (until && e.counter > until.counter) continue;
      if (!best || e.from_counter > best.from_counter) best = e;
    }
    return best;
  };
  const aFromB = lastFrom(A, B.actor, ea);
  const bFromA = lastFrom(B, A.actor, eb);
  main.append(
    h('h1', {}, 'Race on ', h('code', {class: 'race-title'}, race.variable)),
    h('p', {}, h('span', {class: ['badge', race.severity]}, race.severity), ' ',
      `${fmtInt(race.count)} racing pair(s) (${race.kind || race.severity}) between `,
      h('code', {}, (race.locations || [])[0] || A.location), ' and ', h('code', {}, (race.locations || [])[1] || B.location), '. ',
      link(raceLink(race), 'Open both accesses in the timeline'), ' · ',
      link('#/variables/' + enc(race.variable), 'audit trail')),
    h('div', {class: 'two'}, accessBox('First access', A, ea, B.actor, aFromB),
      accessBox('Second access', B, eb, A.actor, bFromA)),
    section('Why nothing orders them',
      h('p', {id: 'race-why'},
        ea && eb ?
          `For the first access to happen before the second, ${B.actor}'s clock at its access needed ` +
          `${A.actor} ≥ ${ea.counter}; ` +
          (bFromA ? `the last edge it received from ${A.actor} carried ${bFromA.from_counter}. ` :
            `no edge from ${A.actor} reached it. `) +
          `For the reverse, ${A.actor}'s clock needed ${B.actor} ≥ ${eb.counter}; ` +
          (aFromB ? `the last edge it received carried ${aFromB.from_counter}. ` : `no edge from ${B.actor} reached it. `) +
          'Neither clock covers the other access, so the accesses are concurrent' +
          (A.locks.some((l) => B.locks.includes(l)) ? '.' : ', and no lock is held by both.') :
          'The two accesses are concurrent: neither access\'s vector clock covers the other. ' +
          'Their events are no longer kept in the collector\'s memory, so their clocks cannot be shown.'),
      h('p', {class: 'muted'}, 'Edges shown are those received directly from the other actor (lock hand-offs, joins, HTTP); ' +
        'the engine compares full vector clocks.')));
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
