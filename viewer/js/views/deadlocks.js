// #/deadlocks: potential (lock-order cycles) and actual (wait-for cycles)
// deadlocks, each as a small graph of actors and locks with the
// acquisition sites. #/deadlocks/<i> is the i-th potential deadlock,
// #/deadlocks/actual/<i> the i-th actual one.
import {h, table, link, empty, fmtInt} from '../dom.js';
import {get} from '../api.js';
import {circleGraph} from '../graph.js';
import {timelineLink} from './timeline.js';

function cycleGraph(d, id) {
  const nodes = [];
  const edges = [];
  d.cycle.forEach((e) => {
    nodes.push({id: 'a:' + e.actor, label: e.actor, kind: 'actor'});
    nodes.push({id: 'l:' + e.requested, label: e.requested, kind: 'lock'});
  });
  const seen = new Set();
  const uniq = nodes.filter((n) => (seen.has(n.id) ? false : seen.add(n.id)));
  d.cycle.forEach((e) => {
    edges.push({from: 'l:' + e.held, to: 'a:' + e.actor, cls: 'holds', title: `${e.actor} holds ${e.held}`});
    edges.push({from: 'a:' + e.actor, to: 'l:' + e.requested, cls: 'requests',
      title: `${e.actor} requests ${e.requested} at ${e.location}`});
  });
  return circleGraph(uniq, edges, {width: 360, height: 260, idPrefix: id, label: 'lock cycle'});
}

function card(d, i, actual) {
  const href = actual ? `#/deadlocks/actual/${i}` : `#/deadlocks/${i}`;
  const actors = d.cycle.map((e) => e.actor);
  return h('article', {class: ['card', 'cycle', actual ? 'actual' : 'potential', d.active ? 'active' : null],
    dataset: {index: i}},
  h('h3', {}, link(href, `${actual ? 'Deadlock' : 'Potential deadlock'} #${i}`), ' ',
    h('span', {class: 'muted'}, `${d.length} actors`), ' ',
    d.active ? h('span', {class: 'badge error'}, 'blocked now') : null,
    d.exact !== undefined ? h('span', {class: 'badge'}, d.exact ? 'exact' : 'approximate') : null),
  h('div', {class: 'cycle-body'}, cycleGraph(d, (actual ? 'da' : 'dp') + i),
    table([
      {label: 'actor', get: (e) => e.actor},
      {label: 'service', get: (e) => e.service},
      {label: 'holds', get: (e) => e.held},
      {label: 'requests', get: (e) => e.requested},
      {label: 'at', get: (e) => h('code', {}, e.location)},
    ], d.cycle)),
  h('p', {}, link(timelineLink({actors}), 'These actors in the timeline')));
}

export async function render(main, ctx) {
  const [pot, act] = await Promise.all([get('/v1/potential-deadlocks?limit=1000'), get('/v1/deadlocks?limit=1000')]);
  if (!ctx.isCurrent()) return null;
  if (ctx.segs.length) {
    const actual = ctx.segs[0] === 'actual';
    const i = Number(actual ? ctx.segs[1] : ctx.segs[0] === 'potential' ? ctx.segs[1] : ctx.segs[0]);
    const listI = (actual ? act : pot).items.find((d, k) => (d.index ?? k) === i);
    main.appendChild(h('p', {}, link('#/deadlocks', '← all deadlocks')));
    main.appendChild(listI ? card(listI, i, actual) : empty('No such deadlock.'));
    return null;
  }
  main.append(h('h1', {}, 'Deadlocks'),
    h('h2', {}, `Actual deadlocks (${fmtInt(act.total)})`),
    act.items.length ? h('div', {class: 'cycles'}, act.items.map((d, k) => card(d, d.index ?? k, true))) :
      empty('No actual deadlock.'),
    h('h2', {}, `Potential deadlocks (${fmtInt(pot.total)})`),
    pot.items.length ? h('div', {class: 'cycles'}, pot.items.map((d, k) => card(d, d.index ?? k, false))) :
      empty('No lock-order cycle.'));
  return null;
}
