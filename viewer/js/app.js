// app: hash router of the causeway viewer. Routes (the contract other tools
// link to) are listed in viewer/README.md.
import {h, clear} from './dom.js';
import {getKey, setKey, onUnauthorized, ApiError} from './api.js';
import * as live from './live.js';
import * as overview from './views/overview.js';
import * as timeline from './views/timeline.js';
import * as races from './views/races.js';
import * as deadlocks from './views/deadlocks.js';
import * as locks from './views/locks.js';
import * as anomalies from './views/anomalies.js';
import * as variables from './views/variables.js';
import * as traces from './views/traces.js';
import * as critpath from './views/critpath.js';

const routes = {
  '': overview,
  'timeline': timeline,
  'races': races,
  'deadlocks': deadlocks,
  'locks': locks,
  'anomalies': anomalies,
  'variables': variables,
  'traces': traces,
  'critical-path': critpath,
};

const main = document.getElementById('view');
let cleanup = null;
let generation = 0;

export function parseHash(hash) {
  let hs = hash.replace(/^#\/?/, '');
  let query = '';
  const q = hs.indexOf('?');
  if (q >= 0) {
    query = hs.slice(q + 1);
    hs = hs.slice(0, q);
  }
  const segs = hs.split('/').filter((x) => x !== '').map((x) => {
    try {
      return decodeURIComponent(x);
    } catch (e) {
      return x;
    }
  });
  return {segs, params: new URLSearchParams(query)};
}

function markNav(name) {
  for (const a of document.querySelectorAll('#nav a')) {
    const target = a.getAttribute('href').replace(/^#\/?/, '');
    if (target === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

async function render() {
  const {segs, params} = parseHash(location.hash);
  const name = segs[0] || '';
  const view = routes[name];
  const gen = ++generation;
  if (cleanup) {
    try {
      cleanup();
    } catch (e) { /* ignore */ }
    cleanup = null;
  }
  markNav(name);
  clear(main);
  main.setAttribute('aria-busy', 'true');
  main.dataset.view = name || 'overview';
  if (!view) {
    main.appendChild(h('p', {class: 'error'}, 'No such view: ', name));
    main.removeAttribute('aria-busy');
    return;
  }
  const ctx = {
    segs: segs.slice(1),
    params,
    isCurrent: () => gen === generation,
    rerender: () => render(),
  };
  try {
    const c = await view.render(main, ctx);
    if (gen === generation) cleanup = typeof c === 'function' ? c : null;
    else if (typeof c === 'function') c();
  } catch (e) {
    if (gen !== generation) return;
    clear(main);
    const msg = e instanceof ApiError && e.status === 401 ?
      'This collector needs an API key.' : 'Could not load this view: ' + e.message;
    main.appendChild(h('p', {class: 'error', role: 'alert'}, msg));
  }
  if (gen === generation) {
    main.removeAttribute('aria-busy');
    main.dataset.ready = String(gen);
  }
}

// ---- API key dialog ------------------------------------------------------
const dlg = document.getElementById('key-dialog');
const keyBtn = document.getElementById('key-button');
function askKey(message) {
  document.getElementById('key-error').textContent = message || '';
  keyBtn.hidden = false;
  if (!dlg.open) dlg.showModal();
  document.getElementById('key-input').focus();
}
let asked = false;
onUnauthorized(() => {
  if (asked && dlg.open) return;
  asked = true;
  askKey(getKey() ? 'The collector refused this key.' : '');
});
document.getElementById('key-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const v = document.getElementById('key-input').value.trim();
  if (!v) return;
  setKey(v);
  document.getElementById('key-input').value = '';
  dlg.close();
  asked = false;
  live.restart();
  render();
});
document.getElementById('key-forget').addEventListener('click', () => {
  setKey('');
  document.getElementById('key-input').value = '';
});
keyBtn.addEventListener('click', () => askKey(''));
if (getKey()) keyBtn.hidden = false;

// ---- Live indicator ------------------------------------------------------
const liveEl = document.getElementById('live');
live.on('state', (t) => {
  liveEl.textContent = t;
  liveEl.dataset.state = t;
});

window.addEventListener('hashchange', render);
live.start();
render();
