// The viewer's browser test: a real causeway-server loaded through its
// ingest API with fixture traces, Debian's Chromium driven by
// playwright-core. Checks every route renders its items, the race ->
// timeline link, that event-derived strings stay text, the live overview,
// API keys, the viewer's security headers; saves screenshots of every view
// (1280x800 light and dark, phone width) for review.
//
// Environment (set by CTest, tests/viewer.cmake):
//   CW_SERVER_BIN  causeway-server      CW_CWT_GEN  cwt_gen (spec -> .cwt)
//   CW_SOURCE_DIR  the source tree      CW_SHOTS_DIR  where screenshots go
//   CW_CHROMIUM    the browser (default /usr/bin/chromium)
import {spawn, execFileSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const SRC = process.env.CW_SOURCE_DIR || path.resolve(here, '../..');
const SERVER = process.env.CW_SERVER_BIN;
const CWTGEN = process.env.CW_CWT_GEN;
const SHOTS = process.env.CW_SHOTS_DIR || path.join(SRC, 'build', 'viewer-screenshots');
const CHROMIUM = process.env.CW_CHROMIUM || '/usr/bin/chromium';
const XSS = '<img src=x onerror=alert(1)>';
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

let chromium;
try {
  ({chromium} = await import('playwright-core'));
} catch (e) {
  console.error('FAIL: playwright-core is not installed in tests/viewer: run ' +
    'CAUSEWAY_WITH_BROWSER=1 scripts/install-deps.sh (npm ci in tests/viewer)');
  process.exit(1);
}
for (const [what, p] of [['CW_SERVER_BIN', SERVER], ['CW_CWT_GEN', CWTGEN], ['chromium', CHROMIUM]]) {
  if (!p || !fs.existsSync(p)) {
    console.error(`FAIL: ${what} not found (${p}); scripts/install-deps.sh with CAUSEWAY_WITH_BROWSER=1 installs chromium`);
    process.exit(1);
  }
}

let failures = 0;
let checks = 0;
function check(cond, what) {
  checks++;
  if (cond) {
    console.log('ok   ' + what);
  } else {
    failures++;
    console.log('FAIL ' + what);
  }
}

const servers = [];
const tmpdirs = [];

async function startServer(extra) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-viewer-'));
  tmpdirs.push(dir);
  // No --keep-events: audit trails and the critical path work out of the
  // box, from the bounded event memory.
  const args = ['--listen', '127.0.0.1:0', '--data-dir', dir, '--fsync', '0',
    '--viewer-dir', path.join(SRC, 'viewer'), ...extra];
  const p = spawn(SERVER, args, {stdio: ['ignore', 'pipe', 'inherit']});
  servers.push(p);
  const port = await new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error('server did not start')), 10000);
    p.stdout.on('data', (d) => {
      buf += d;
      const m = /listening on [^:]+:(\d+)/.exec(buf);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    });
    p.on('exit', (code) => reject(new Error('server exited ' + code)));
  });
  return `http://127.0.0.1:${port}`;
}

function cwt(spec) {
  const out = path.join(tmpdirs[0], path.basename(spec) + '.cwt');
  execFileSync(CWTGEN, [path.join(here, 'fixtures', spec), out]);
  return fs.readFileSync(out);
}

async function send(url, route, body, headers) {
  const r = await fetch(url + route, {method: 'POST', body, headers});
  const txt = await r.text();
  if (!r.ok) throw new Error(`${route}: ${r.status} ${txt}`);
  return JSON.parse(txt);
}

async function api(url, route, headers) {
  const r = await fetch(url + route, {headers});
  return {status: r.status, headers: r.headers, body: await r.text()};
}

async function loadFixtures(url, headers = {}) {
  const a = await send(url, '/v1/events', cwt('shop.cwspec'), {...headers, 'Content-Encoding': 'lz4'});
  if (a.accepted < 38) throw new Error('fixture not accepted: ' + JSON.stringify(a));
  await send(url, '/events', fs.readFileSync(path.join(here, 'fixtures', 'xss-raceway.json')),
    {...headers, 'Content-Type': 'application/json'});
  await api(url, '/v1/summary?sync=1', headers);
}

const LAUNCH = {
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
};

const problems = [];
function watch(page, label) {
  page.on('dialog', async (d) => {
    problems.push(`${label}: a dialog opened (${d.type()}: ${d.message()})`);
    await d.dismiss();
  });
  page.on('pageerror', (e) => problems.push(`${label}: page error ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/401|Unauthorized|Failed to load resource/.test(m.text())) {
      problems.push(`${label}: console error ${m.text()}`);
    }
  });
}

async function show(page, url, hash) {
  await page.goto(url + '/' + hash);
  await page.waitForFunction(() => {
    const m = document.getElementById('view');
    return m && m.dataset.ready && !m.hasAttribute('aria-busy');
  }, null, {timeout: 10000});
}

async function shoot(page, name) {
  await page.screenshot({path: path.join(SHOTS, name + '.png'), fullPage: false});
}

async function text(page, sel) {
  return (await page.locator(sel).first().textContent()) || '';
}

const routes = [
  ['overview', '#/'],
  ['timeline', '#/timeline'],
  ['timeline-race', '#/timeline?actor=bank%23b1%2Fh2&actor=bank%23b1%2Fh1&highlight=5,8'],
  ['races', '#/races'],
  ['race-0', '#/races/0'],
  ['deadlocks', '#/deadlocks'],
  ['deadlock-actual-0', '#/deadlocks/actual/0'],
  ['locks', '#/locks'],
  ['lock-accounts.mu', '#/locks/accounts.mu'],
  ['anomalies', '#/anomalies'],
  ['anomaly-0', '#/anomalies/0'],
  ['variables', '#/variables'],
  ['variable-xss', '#/variables/' + encodeURIComponent(XSS)],
  ['traces', '#/traces'],
  ['trace', '#/traces/' + TRACE],
  ['trace-tree', '#/traces/' + TRACE + '?view=tree'],
  ['trace-graph', '#/traces/' + TRACE + '?view=graph'],
  ['critical-path', '#/critical-path'],
];

async function main() {
  fs.mkdirSync(SHOTS, {recursive: true});
  const url = await startServer([]);
  await loadFixtures(url);
  const anomaliesRoute = (await api(url, '/v1/anomalies')).status === 200;

  // ---- headers of the viewer's files ------------------------------------
  for (const f of ['/', '/js/app.js', '/css/style.css']) {
    const r = await api(url, f);
    const csp = r.headers.get('content-security-policy') || '';
    check(r.status === 200 && /script-src 'self'/.test(csp) && /default-src 'none'/.test(csp) &&
      !/unsafe-inline/.test(csp), `${f}: strict Content-Security-Policy (${csp})`);
    check(r.headers.get('x-content-type-options') === 'nosniff', `${f}: X-Content-Type-Options: nosniff`);
  }
  const index = fs.readFileSync(path.join(SRC, 'viewer', 'index.html'), 'utf8');
  check(!/<script(?![^>]*\bsrc=)[^>]*>/.test(index) && !/\son[a-z]+=/.test(index), 'index.html has no inline script');

  const browser = await chromium.launch(LAUNCH);
  try {
    const ctx = await browser.newContext({viewport: {width: 1280, height: 800}, acceptDownloads: true});
    const page = await ctx.newPage();
    watch(page, 'main');

    // ---- every route renders its items ---------------------------------
    await show(page, url, '#/');
    check(Number((await text(page, '#ov-races-error .stat-value')).replace(/,/g, '')) >= 1, 'overview: error races counted');
    check(Number(await text(page, '#ov-deadlocks .stat-value')) === 1, 'overview: one actual deadlock');
    check(Number(await text(page, '#ov-potential .stat-value')) === 2, 'overview: two potential deadlocks');
    check(Number(await text(page, '#ov-contended .stat-value')) === 1, 'overview: one contended lock');
    check(Number(await text(page, '#ov-anomalies .stat-value')) === 1, 'overview: one anomaly');
    check(await page.locator('svg.graph .node.service').count() >= 2, 'overview: services graph has both services');
    check((await page.locator('svg.graph .edge').count()) >= 1, 'overview: the front -> bank call is drawn');
    check((await text(page, '.hot-vars')).includes('account:alice.balance'), 'overview: racy variable hotspot');
    check((await text(page, '.hot-locks')).includes('accounts.mu'), 'overview: contended lock hotspot');
    check(/\d/.test(await text(page, '#ov-events')), 'overview: ingest health shows events');

    await show(page, url, '#/timeline');
    const lanes = await page.locator('svg.timeline .lane').count();
    check(lanes >= 10, `timeline: one lane per actor (${lanes})`);
    check((await page.locator('svg.timeline .ev').count()) >= 40, 'timeline: every kept event is a mark');
    check((await page.locator('svg.timeline .bar.hold').count()) >= 4, 'timeline: lock holds as bars');
    check((await page.locator('svg.timeline .bar.wait').count()) >= 2, 'timeline: lock waits as bars');
    check((await page.locator('svg.timeline .bar.blocked').count()) === 2, 'timeline: the deadlocked waits run to the end');
    check((await page.locator('svg.timeline line.call').count()) >= 3, 'timeline: HTTP calls as arrows between lanes');
    check((await page.locator('svg.timeline .race-link').count()) >= 2, 'timeline: races link their accesses');
    await page.locator('svg.timeline .ev[data-kind="write"]').first().focus();
    check((await text(page, '#tl-details')).includes('locks held'), 'timeline: focusing an event shows its details with locks held');
    await page.locator('svg.timeline .ev[data-seq="8"]').first().focus();
    check((await text(page, '#tl-details')).includes('accounts.mu'), 'timeline: the write under accounts.mu lists it held');
    // zoom in with the keyboard: the window halves and the hash says so
    await page.locator('svg.timeline').focus();
    await page.keyboard.press('+');
    await page.waitForFunction(() => location.hash.includes('from='));
    check(/from=\d+&to=\d+/.test(await page.evaluate(() => location.hash)), 'timeline: keyboard zoom sets from/to');

    await show(page, url, '#/races');
    const raceRows = await page.locator('table.races tbody tr').count();
    check(raceRows === 3, `races: three race groups listed (${raceRows})`);
    await page.selectOption('#race-filter select[name=severity]', 'error');
    await page.click('#race-filter button');
    await page.waitForFunction(() => location.hash.includes('severity=error'));
    await show(page, url, '#/races?severity=error');
    const errRows = await page.locator('table.races tbody tr').count();
    check(errRows >= 1 && errRows < raceRows, `races: the severity filter narrows the list (${errRows})`);
    await show(page, url, '#/races?variable=' + encodeURIComponent('account:alice.balance'));
    check((await page.locator('table.races tbody tr').count()) === 2, 'races: the variable filter');

    await show(page, url, '#/races/0');
    check((await text(page, 'h1')).includes('account:alice.balance'), 'race: title names the variable');
    // both accesses' whole vector clocks side by side: one row per actor
    // either clock names, each with both entries as the collector reports
    const race0 = JSON.parse((await api(url, '/v1/races?offset=0&limit=1')).body).items[0];
    const clk = (a) => new Map((a.clock || []).map((x) => [x.actor, x.counter]));
    const [cA, cB] = [clk(race0.first), clk(race0.second)];
    const union = [...new Set([...cA.keys(), ...cB.keys()])].sort();
    const rows = await page.locator('table.clocks tbody tr').evaluateAll((els) =>
      els.map((e) => [e.dataset.actor, Number(e.dataset.first), Number(e.dataset.second)]));
    check(union.length >= 3 && JSON.stringify(rows) ===
      JSON.stringify(union.map((x) => [x, cA.get(x) || 0, cB.get(x) || 0])),
    `race: both whole clocks side by side, every actor's entry (${JSON.stringify(rows)})`);
    check(rows.some(([x, a, b]) => x !== race0.first.actor && x !== race0.second.actor && (a || b)),
      'race: the clocks show entries of actors other than the two sides');
    const why = await text(page, '#race-why');
    const A0 = race0.first;
    const B0 = race0.second;
    check(why.includes(`${A0.actor}'s event ${A0.counter}`) && why.includes(`${A0.actor} = ${cB.get(A0.actor) || 0}`) &&
      why.includes(`before its event ${B0.counter}`), `race: names the missing edge from the clocks (${why})`);
    check(why.includes('neither clock covers the other') && why.includes('no lock in common') === !A0.locks.some((l) => B0.locks.includes(l)),
      'race: names the differing entries and the locks held');
    // clicking the race opens the timeline with both accesses highlighted
    await page.click('text=Open both accesses in the timeline');
    await page.waitForFunction(() => location.hash.startsWith('#/timeline') && location.hash.includes('highlight='));
    await page.waitForFunction(() => document.getElementById('view').dataset.ready &&
      !document.getElementById('view').hasAttribute('aria-busy'));
    const hl = await page.locator('svg.timeline .ev.hl').count();
    check(hl === 2, `race -> timeline: both accesses highlighted (${hl})`);
    const hlSeqs = await page.locator('svg.timeline .ev.hl').evaluateAll((els) => els.map((e) => e.dataset.seq).sort());
    check(JSON.stringify(hlSeqs) === JSON.stringify(['5', '7']), 'race -> timeline: the highlighted events are the race\'s');

    await show(page, url, '#/deadlocks');
    check((await page.locator('.cycle.actual').count()) === 1, 'deadlocks: the actual deadlock');
    check((await page.locator('.cycle.actual.active').count()) === 1, 'deadlocks: highlighted while blocked');
    check((await page.locator('.cycle.potential').count()) === 2, 'deadlocks: both potential cycles');
    check((await text(page, '.cycle.actual')).includes('rows.c:11'), 'deadlocks: acquisition sites');
    check((await page.locator('.cycle.actual svg.graph .node').count()) === 4, 'deadlocks: cycle graph of 2 actors + 2 locks');
    await show(page, url, '#/deadlocks/actual/0');
    check((await page.locator('.cycle.actual').count()) === 1, 'deadlocks/actual/0: one cycle');
    await show(page, url, '#/deadlocks/0');
    check((await page.locator('.cycle.potential').count()) === 1, 'deadlocks/0: one potential cycle');

    await show(page, url, '#/locks');
    const lockRow = page.locator('table.locks tbody tr', {hasText: 'accounts.mu'});
    check((await lockRow.count()) === 1 && (await lockRow.textContent()).includes('bank.c:31'),
      'locks: accounts.mu with its contended site');
    check((await page.locator('svg.bars-chart rect').count()) >= 1, 'locks: wait chart');
    await show(page, url, '#/locks/' + encodeURIComponent('accounts.mu'));
    check((await text(page, 'h1')).includes('accounts.mu'), 'locks/<name>: one lock');

    await show(page, url, '#/anomalies');
    check(anomaliesRoute, 'anomalies: the collector has /v1/anomalies');
    check((await page.locator('.anomaly-group').count()) === 1, 'anomalies: one site');
    check((await text(page, '.anomaly-group')).includes('bank.c:70') &&
      (await text(page, '.anomaly-group')).includes('slow_db'), 'anomalies: the slow DB call, grouped by its site');
    await page.click('.anomaly-group a');
    await page.waitForFunction(() => location.hash === '#/anomalies/0');
    await page.waitForSelector('article.anomaly');
    check((await text(page, 'article.anomaly')).includes('700'), 'anomalies/0: the anomaly with its duration');

    await show(page, url, '#/variables');
    check((await text(page, 'table.variables')).includes('account:alice.balance'), 'variables: lists the variables');
    check((await text(page, 'table.variables')).includes(XSS), 'variables: the hostile name is shown as text');
    // counts without --keep-events: alice.balance is written by h2, then
    // read and written by h1, unordered: 3 accesses, 2 of them raced with
    // an earlier one
    const vars = JSON.parse((await api(url, '/v1/variables?variable=alice.balance')).body);
    const alice = vars.items.find((v) => v.variable === 'account:alice.balance');
    check(vars.keep_events === false && alice && alice.accesses === 3 && alice.reads === 1 && alice.writes === 2 &&
      alice.racing_accesses === 2, `variables: access counts by default (${JSON.stringify(alice)})`);
    const aliceRow = page.locator('table.variables tbody tr', {hasText: 'account:alice.balance'}).first();
    const cells = await aliceRow.locator('td.num').allTextContents();
    check(JSON.stringify(cells) === JSON.stringify(['3', '1', '2', '2']),
      `variables: the row shows accesses, reads, writes and raced (${cells})`);
    await show(page, url, '#/variables/' + encodeURIComponent('account:alice.balance'));
    check((await page.locator('table.audit tbody tr').count()) === 3, 'variable: audit trail of three accesses');
    check((await page.locator('table.audit tbody tr.racy').count()) === 3, 'variable: racing accesses marked');
    check((await text(page, 'main')).includes('--event-memory') && (await page.locator('#audit-truncated').count()) === 0,
      'variable: the audit trail comes from the kept events, nothing evicted');

    // ---- hostile strings stay text --------------------------------------
    await show(page, url, '#/variables/' + encodeURIComponent(XSS));
    check((await text(page, 'h1 code')) === XSS, 'xss: the variable named <img ...> renders as its text');
    check((await page.locator('main img').count()) === 0, 'xss: no <img> element was created');
    await show(page, url, '#/races?variable=' + encodeURIComponent(XSS));
    check((await page.locator('table.races tbody tr').count()) === 1, 'xss: its race is listed');
    check((await page.locator('main img, main script').count()) === 0, 'xss: no element from a location string');
    // Raceway-origin race -> timeline: the highlighted events are the
    // accesses the race list reports (its seq numbers), not others
    const rwRace = JSON.parse((await api(url, '/v1/races?variable=' + encodeURIComponent(XSS))).body).items[0];
    await page.click('table.races tbody tr a:text("timeline")');
    await page.waitForFunction(() => location.hash.startsWith('#/timeline') && location.hash.includes('highlight='));
    await page.waitForFunction(() => document.getElementById('view').dataset.ready &&
      !document.getElementById('view').hasAttribute('aria-busy'));
    const rwHl = await page.locator('svg.timeline .ev.hl').evaluateAll((els) =>
      els.map((e) => e.dataset.seq + ':' + e.dataset.kind).sort());
    const rwWant = [rwRace.first, rwRace.second].map((x) => x.seq + ':' + x.access).sort();
    check(JSON.stringify(rwHl) === JSON.stringify(rwWant),
      `raceway race -> timeline: the race's own accesses highlighted (${rwHl} vs ${rwWant})`);
    await page.waitForTimeout(300);

    await show(page, url, '#/traces');
    check((await text(page, 'table.traces')).includes(TRACE), 'traces: the W3C trace is listed');
    await show(page, url, '#/traces/' + TRACE);
    check((await text(page, 'h1')).includes(TRACE), 'trace: title');
    check((await page.locator('svg.trace-mini .ev-dot').count()) >= 8, 'trace: its events on a timeline');
    check((await page.locator('.trace-races li').count()) >= 1 &&
      (await text(page, '.trace-races')).includes('bank.c:52'), 'trace: its races with their locations');
    const before = await text(page, '#step-kind');
    await page.click('#step-next');
    check((await text(page, '#step-pos')).startsWith('event 2'), 'trace: the debugger steps forward');
    check((await text(page, '#step-kind')) !== before, 'trace: each step shows the next event');
    check((await text(page, '#stepper')).includes('clock'), 'trace: the debugger shows clocks');
    // span tree: every span of the trace once, nested under its parent
    const trApi = JSON.parse((await api(url, '/v1/traces/' + TRACE + '?limit=1000')).body);
    const parentOf = new Map();
    for (const e of trApi.items) {
      if (e.span_id === '0000000000000000') continue;
      if (!parentOf.has(e.span_id) || (e.parent_span_id !== '0000000000000000' && !parentOf.get(e.span_id))) {
        parentOf.set(e.span_id, e.parent_span_id === '0000000000000000' ? '' : e.parent_span_id);
      }
    }
    const treeSpans = await page.locator('#span-tree li.span').evaluateAll((els) => els.map((e) => e.dataset.span));
    check(parentOf.size >= 2 && treeSpans.length === parentOf.size &&
      [...parentOf.keys()].every((k) => treeSpans.includes(k)), `trace: the span tree lists every span once (${treeSpans})`);
    let nested = 0;
    for (const [child, parent] of parentOf) {
      if (!parent || !parentOf.has(parent)) continue;
      nested++;
      check((await page.locator(`#span-tree li.span[data-span="${parent}"] > ul > li.span[data-span="${child}"]`).count()) === 1,
        `trace: span ${child} is nested under its parent ${parent}`);
    }
    check(nested >= 1, 'trace: the fixture has a nested span (the bank handler under the checkout)');
    check((await text(page, '#span-tree')).includes('checkout') && (await text(page, '#span-tree')).includes('bank.c:39'),
      'trace: spans named, with their events and locations');
    // causal graph: a node per trace event (all kept), program-order edges,
    // and the HTTP call both ways as cross-actor edges from the joins
    const dagNodes = await page.locator('svg.causal .node').count();
    check(dagNodes === trApi.items.length, `trace: the causal graph has a node per event (${dagNodes} of ${trApi.items.length})`);
    const cross = await page.locator('svg.causal .edge.cross').evaluateAll((els) =>
      els.map((e) => e.dataset.from + '>' + e.dataset.to));
    check(cross.includes('front#f1/req1@2>bank#b1/h1@1') && cross.includes('bank#b1/h1@7>front#f1/req1@3'),
      `trace: the call and its response are happens-before edges between the lanes (${cross})`);
    const po = await page.locator('svg.causal .edge.po').count();
    const actorsInTrace = new Set(trApi.items.map((e) => e.actor)).size;
    check(po === trApi.items.length - actorsInTrace, `trace: program order links each actor's events (${po})`);
    check((await page.locator('svg.causal a').first().getAttribute('href')).startsWith('#/timeline'),
      'trace: graph nodes link to the timeline');
    // deep links: ?view=graph focuses the graph, &span= selects a span
    await show(page, url, '#/traces/' + TRACE + '?view=graph');
    check(await page.evaluate(() => document.activeElement && document.activeElement.closest('#trace-graph') !== null),
      'trace: ?view=graph focuses the causal graph');
    const childSpan = [...parentOf].find(([, p]) => p)[0];
    await show(page, url, '#/traces/' + TRACE + '?view=tree&span=' + childSpan);
    check((await page.locator('#span-tree li.span.selected').getAttribute('data-span')) === childSpan &&
      await page.evaluate(() => document.activeElement.closest('li.span.selected') !== null),
    'trace: &span= selects and focuses that span');
    await show(page, url, '#/traces/' + TRACE);
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#trace-export')]);
    const exported = JSON.parse(fs.readFileSync(await dl.path(), 'utf8'));
    check(Array.isArray(exported.traceEvents) && exported.traceEvents.length > 4, 'trace: Chrome Trace JSON export');

    await show(page, url, '#/critical-path');
    check((await text(page, 'table.critpath-table')).includes('checkout'), 'critical path: the checkout span');

    // ---- a small event memory: the audit trail says it is truncated -------
    const surl = await startServer(['--event-memory', '2K']);
    await loadFixtures(surl);
    await show(page, surl, '#/variables/' + encodeURIComponent('account:alice.balance'));
    const trunc = await text(page, '#audit-truncated');
    const sAudit = JSON.parse((await api(surl, '/v1/audit?variable=' + encodeURIComponent('account:alice.balance'))).body);
    check(sAudit.truncated === true && sAudit.evicted > 0 && trunc.includes(String(sAudit.evicted)),
      `variable: a truncated audit trail says how many events were evicted (${trunc})`);

    // ---- screenshots: 1280x800 light and dark, phone width ---------------
    for (const [scheme, vp, tag] of [['light', {width: 1280, height: 800}, ''],
      ['dark', {width: 1280, height: 800}, '-dark'], ['light', {width: 390, height: 844}, '-phone']]) {
      await page.setViewportSize(vp);
      await page.emulateMedia({colorScheme: scheme});
      for (const [name, hash] of routes) {
        await show(page, url, hash);
        await shoot(page, name + tag);
        if (!tag) {
          const body = await text(page, 'main');
          check(!/\bundefined\b|\bNaN\b|\[object Object\]/.test(body), `${name}: no undefined/NaN in the page`);
        }
      }
    }
    await page.setViewportSize({width: 1280, height: 800});
    await page.emulateMedia({colorScheme: 'light'});
    check(fs.readdirSync(SHOTS).filter((f) => f.endsWith('.png')).length >= routes.length * 3,
      `screenshots saved in ${SHOTS}`);

    // ---- live overview --------------------------------------------------
    await show(page, url, '#/');
    await page.waitForFunction(() => document.getElementById('live').dataset.state === 'live', null, {timeout: 10000});
    const evBefore = Number((await text(page, '#ov-events')).replace(/,/g, ''));
    const warnBefore = Number(await text(page, '#ov-races-error .stat-value'));
    await send(url, '/v1/events', cwt('live.cwspec'), {'Content-Encoding': 'lz4'});
    await page.waitForFunction((n) => Number(document.getElementById('ov-events').textContent.replace(/,/g, '')) > n,
      evBefore, {timeout: 10000}).then(() => check(true, 'live: the event count follows /v1/stream'),
      () => check(false, 'live: the event count follows /v1/stream'));
    await page.waitForFunction((n) => Number(document.querySelector('#ov-races-error .stat-value').textContent) > n,
      warnBefore, {timeout: 10000}).then(() => check(true, 'live: the new race appears without a reload'),
      () => check(false, 'live: the new race appears without a reload'));
    await ctx.close();

    // ---- API keys -------------------------------------------------------
    const kurl = await startServer(['--api-key', 'viewer-secret-key']);
    await loadFixtures(kurl, {Authorization: 'Bearer viewer-secret-key'});
    const kctx = await browser.newContext({viewport: {width: 1280, height: 800}});
    const kp = await kctx.newPage();
    watch(kp, 'keys');
    await kp.goto(kurl + '/#/races');
    await kp.waitForSelector('#key-dialog[open]', {timeout: 10000});
    check(true, 'keys: the viewer asks for the key');
    await kp.fill('#key-input', 'wrong-key');
    await kp.click('#key-save');
    await kp.waitForSelector('#key-dialog[open]', {timeout: 10000});
    check((await kp.locator('#key-error').textContent()).includes('refused'), 'keys: a wrong key is refused');
    await kp.fill('#key-input', 'viewer-secret-key');
    await kp.click('#key-save');
    await kp.waitForSelector('table.races tbody tr', {timeout: 10000});
    check((await kp.locator('table.races tbody tr').count()) === 3, 'keys: with the key the races load');
    check(await kp.evaluate(() => sessionStorage.getItem('causeway.apiKey')) === 'viewer-secret-key',
      'keys: the key is kept in sessionStorage (this tab only)');
    check(await kp.evaluate(() => localStorage.length) === 0, 'keys: nothing in localStorage');
    await kp.goto(kurl + '/#/');
    await kp.waitForFunction(() => document.getElementById('live').dataset.state === 'live', null, {timeout: 10000})
      .then(() => check(true, 'keys: the live stream connects with a stream token'),
        () => check(false, 'keys: the live stream connects with a stream token'));
    const evK = Number((await text(kp, '#ov-events')).replace(/,/g, ''));
    await send(kurl, '/v1/events', cwt('live.cwspec'), {'Content-Encoding': 'lz4', Authorization: 'Bearer viewer-secret-key'});
    await kp.waitForFunction((n) => Number(document.getElementById('ov-events').textContent.replace(/,/g, '')) > n,
      evK, {timeout: 10000}).then(() => check(true, 'keys: live updates arrive'),
      () => check(false, 'keys: live updates arrive'));
    const noKey = await api(kurl, '/v1/stream?token=0123456789abcdef0123456789abcdef');
    check(noKey.status === 401, 'keys: a made-up stream token is refused');
    const other = await browser.newContext();
    const op = await other.newPage();
    await op.goto(kurl + '/#/races');
    await op.waitForSelector('#key-dialog[open]', {timeout: 10000});
    check(true, 'keys: another tab (context) must enter the key again');
    await other.close();
    await kctx.close();
  } finally {
    await browser.close();
  }
  for (const p of problems) check(false, p);
  check(problems.length === 0, 'no dialog, page error or console error in any view');
}

let rc = 0;
try {
  await main();
} catch (e) {
  console.error('FAIL: ' + (e.stack || e));
  rc = 1;
} finally {
  for (const p of servers) p.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 200));
  for (const p of servers) if (p.exitCode === null) p.kill('SIGKILL');
  for (const d of tmpdirs) fs.rmSync(d, {recursive: true, force: true});
}
console.log(`${checks - failures}/${checks} checks passed`);
process.exit(rc || failures ? 1 : 0);
