// #/anomalies: slow calls, timeouts and retries grouped by site, from
// GET /v1/anomalies; #/anomalies/<index>: one anomaly with every field.
import {h, table, link, empty, fmtInt, fmtNs} from '../dom.js';
import {getOptional} from '../api.js';

function scalar(v, key) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' && /_ns$/.test(key)) return fmtNs(v);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function siteOf(a) {
  return a.site || a.location || a.route || a.target || a.detail || a.object || '(unknown site)';
}

function kv(obj) {
  return h('dl', {class: 'kv'}, Object.entries(obj).map(([k, v]) => [h('dt', {}, k), h('dd', {}, scalar(v, k))]));
}

export async function render(main, ctx) {
  const r = await getOptional('/v1/anomalies?limit=1000');
  if (!ctx.isCurrent()) return null;
  if (!r) {
    main.append(h('h1', {}, 'Anomalies'), empty('This collector does not report anomalies (no /v1/anomalies route).'));
    return null;
  }
  const items = r.items || [];
  items.forEach((a, k) => {
    if (a.index === undefined) a.index = k;
  });
  if (ctx.segs.length) {
    const i = Number(ctx.segs[0]);
    const a = items.find((x) => x.index === i);
    main.appendChild(h('p', {}, link('#/anomalies', '← all anomalies')));
    main.appendChild(a ? h('article', {class: 'card anomaly'}, h('h1', {}, `Anomaly #${i}: `, a.kind || 'anomaly'), kv(a)) :
      empty('No such anomaly.'));
    return null;
  }
  main.appendChild(h('h1', {}, 'Anomalies'));
  main.appendChild(h('p', {class: 'muted'}, `${fmtInt(r.total ?? items.length)} anomalies.`));
  if (!items.length) {
    main.appendChild(empty('No anomalies.'));
    return null;
  }
  const groups = new Map();
  for (const a of items) {
    const site = siteOf(a);
    if (!groups.has(site)) groups.set(site, []);
    groups.get(site).push(a);
  }
  const keys = [...new Set(items.flatMap((a) => Object.keys(a)))]
    .filter((k) => k !== 'index' && items.every((a) => a[k] === undefined || typeof a[k] !== 'object')).slice(0, 8);
  for (const [site, list] of groups) {
    main.appendChild(h('section', {class: 'card anomaly-group'},
      h('h2', {}, h('code', {}, site), ' ', h('span', {class: 'muted'}, `${list.length}`)),
      table([{label: '#', get: (a) => link('#/anomalies/' + a.index, String(a.index)), cls: 'num'}]
        .concat(keys.map((k) => ({label: k, get: (a) => scalar(a[k], k)}))), list, {cls: 'grid anomalies'})));
  }
  return null;
}
