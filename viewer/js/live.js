// live: one shared connection to /v1/stream for the whole page; views
// subscribe to its frames while they are shown.
import {stream} from './api.js';

const subs = {events: new Set(), findings: new Set(), state: new Set()};
let stop = null;
let state = 'offline';

export function start() {
  if (stop) return;
  stop = stream({
    events: (d) => subs.events.forEach((f) => f(d)),
    findings: (d) => subs.findings.forEach((f) => f(d)),
    state: (t) => {
      state = t;
      subs.state.forEach((f) => f(t));
    },
  });
}

export function restart() {
  if (stop) stop();
  stop = null;
  start();
}

export function currentState() {
  return state;
}

// @return an unsubscribe function.
export function on(kind, fn) {
  subs[kind].add(fn);
  return () => subs[kind].delete(fn);
}
