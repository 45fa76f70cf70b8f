// dom: builds elements from data without ever parsing data as HTML.
// Every string that comes from the collector is added as a text node or an
// attribute value (setAttribute), never through innerHTML.

const SVG_NS = 'http://www.w3.org/2000/svg';

function build(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'class') {
      el.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : v);
    } else if (k === 'dataset') {
      for (const [dk, dv] of Object.entries(v)) el.dataset[dk] = String(dv);
    } else if (k === 'text') {
      el.textContent = String(v);
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

// h('a', {href: '#/x'}, 'text', child, [more]) -> HTMLElement
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

// s('rect', {x: 1}) -> SVGElement
export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// Formats nanoseconds for people.
export function fmtNs(ns) {
  if (ns === undefined || ns === null) return '';
  const n = Number(ns);
  if (n >= 1e9) return (n / 1e9).toFixed(2) + ' s';
  if (n >= 1e6) return (n / 1e6).toFixed(2) + ' ms';
  if (n >= 1e3) return (n / 1e3).toFixed(1) + ' µs';
  return n + ' ns';
}

// Wall-clock nanoseconds -> ISO time with microseconds (UTC).
export function fmtWall(ns) {
  if (!ns) return '';
  const ms = Math.floor(Number(ns) / 1e6);
  const d = new Date(ms);
  if (isNaN(d.getTime())) return String(ns);
  const us = String(Math.floor((Number(ns) % 1e6) / 1e3)).padStart(3, '0');
  return d.toISOString().replace('Z', us + 'Z');
}

export function fmtInt(n) {
  return Number(n || 0).toLocaleString('en-US');
}

// A table from column specs [{label, get(row) -> node|string, cls}].
export function table(cols, rows, opts = {}) {
  const head = h('thead', {}, h('tr', {}, cols.map((c) => h('th', {scope: 'col', class: c.cls}, c.label))));
  const body = h('tbody', {}, rows.map((r, i) => h('tr', {class: opts.rowClass ? opts.rowClass(r, i) : null,
    dataset: opts.rowData ? opts.rowData(r, i) : undefined},
  cols.map((c) => h('td', {class: c.cls, 'data-label': c.label}, c.get(r, i))))));
  return h('div', {class: 'table-wrap'}, h('table', {class: opts.cls || 'grid'}, head, body));
}

export function link(href, ...children) {
  return h('a', {href}, ...children);
}

// Route-safe names: encodeURIComponent for every name placed in a hash route.
export function enc(name) {
  return encodeURIComponent(String(name));
}

export function empty(msg) {
  return h('p', {class: 'empty'}, msg);
}

export function section(title, ...children) {
  return h('section', {class: 'card'}, h('h2', {}, title), ...children);
}
