// #/variables: the variables seen; #/variables/<name>: its audit trail,
// every access in order, racing ones marked.
import {h, table, link, enc, fmtInt, empty} from '../dom.js';
import {get, getOptional} from '../api.js';
import {timelineLink} from './timeline.js';

export async function render(main, ctx) {
  if (ctx.segs.length) {
    const name = ctx.segs[0];
    const offset = Math.max(0, Number(ctx.params.get('offset') || 0) || 0);
    const r = await getOptional('/v1/audit?limit=1000&offset=' + offset + '&variable=' + encodeURIComponent(name));
    if (!ctx.isCurrent()) return null;
    main.append(h('p', {}, link('#/variables', '← all variables')),
      h('h1', {}, 'Variable ', h('code', {class: 'var-title'}, name)));
    if (!r) {
      main.appendChild(empty('Unknown variable (or the collector keeps no audit trails).'));
      return null;
    }
    const racy = r.items.filter((a) => a.racy).length;
    main.appendChild(h('p', {class: 'muted'}, `${fmtInt(r.total)} accesses, ${racy} racing on this page. `,
      link('#/races?variable=' + enc(name), 'Races on it')));
    if (r.source === 'events') {
      main.appendChild(h('p', {class: 'muted', id: 'audit-source'},
        'From the events the collector keeps in memory (--event-memory); every kept access that took part in a ' +
        'race is marked. Run the collector with --keep-events 1 for every access since it started.'));
    }
    if (r.truncated) {
      main.appendChild(h('p', {class: 'warn', id: 'audit-truncated'},
        `Truncated: the collector's event memory no longer holds its oldest ${fmtInt(r.evicted)} event(s), ` +
        'so the earliest accesses may be missing.'));
    }
    main.appendChild(table([
      {label: '#', get: (a, i) => String(offset + i + 1), cls: 'num'},
      {label: 'access', get: (a) => a.access + (a.atomic ? ' (atomic)' : '')},
      {label: 'actor', get: (a) => a.actor},
      {label: 'service', get: (a) => a.service},
      {label: 'location', get: (a) => h('code', {}, a.location)},
      {label: 'value', get: (a) => (a.value === undefined ? '' : String(a.value))},
      {label: 'locks held', get: (a) => a.locks.join(', ')},
      {label: 'clock', get: (a) => String(a.counter), cls: 'num'},
      {label: 'racy', get: (a) => (a.racy ? h('span', {class: 'badge error'}, 'races') : '')},
      {label: '', get: (a) => link(timelineLink({actors: [a.actor], highlight: [a.seq]}), 'timeline')},
    ], r.items, {cls: 'grid audit', rowClass: (a) => (a.racy ? 'racy' : null)}));
    if (r.total > offset + r.items.length) {
      main.appendChild(h('p', {}, link(`#/variables/${enc(name)}?offset=${offset + r.items.length}`, 'Next page →')));
    }
    return null;
  }
  const filter = ctx.params.get('q') || '';
  const r = await get('/v1/variables?limit=1000' + (filter ? '&variable=' + encodeURIComponent(filter) : ''));
  if (!ctx.isCurrent()) return null;
  const form = h('form', {class: 'filters'}, h('label', {}, 'name contains ',
    h('input', {name: 'q', value: filter})), h('button', {type: 'submit'}, 'Filter'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = String(new FormData(form).get('q') || '');
    location.hash = '#/variables' + (v ? '?q=' + encodeURIComponent(v) : '');
  });
  main.append(h('h1', {}, 'Variables'), form);
  main.appendChild(h('p', {class: 'muted', id: 'variables-note'}, `${fmtInt(r.total)} variables. Counts cover every ` +
    'access analysed; "raced" counts the accesses that raced with an earlier one' +
    (r.keep_events ? ', "racy" every access that took part in a race.' : '; open a variable for its accesses, ' +
      'each racing one marked.')));
  const cols = [
    {label: 'variable', get: (v) => link('#/variables/' + enc(v.variable), v.variable), cls: 'var-name'},
    {label: 'accesses', get: (v) => fmtInt(v.accesses), cls: 'num'},
    {label: 'reads', get: (v) => fmtInt(v.reads), cls: 'num'},
    {label: 'writes', get: (v) => fmtInt(v.writes), cls: 'num'},
    {label: 'raced', get: (v) => (v.racing_accesses ? h('span', {class: 'badge error'}, fmtInt(v.racing_accesses)) : '0'),
      cls: 'num'},
  ];
  if (r.keep_events) cols.push({label: 'racy', get: (v) => fmtInt(v.racy_accesses || 0), cls: 'num'});
  main.appendChild(r.items.length ? table(cols, r.items,
    {cls: 'grid variables', rowClass: (v) => (v.racing_accesses ? 'racy' : null)}) : empty('No variables seen.'));
  return null;
}
