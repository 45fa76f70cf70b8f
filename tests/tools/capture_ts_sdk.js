// Records the POST /events bodies Raceway's real TypeScript SDK sends, in
// arrival order (see capture_python_sdk.py for the Python SDK). Run with
// node against the SDK compiled with tsc (github Mode7Labs/raceway,
// sdks/typescript, MIT):  node raceway_ts_capture.js SDK_DIST OUT MODE
// MODE "locked": REQUESTS concurrent requests (through the SDK's middleware,
// each its own context) each make ROUNDS transfers alice -> bob inside
// withLock(mutex, "accounts"); "unlocked": the same without the lock.
// Awaits inside the transfer let the requests interleave.
const http = require('http');
const fs = require('fs');
const path = require('path');
const [dist, out, mode] = process.argv.slice(2);
const REQUESTS = 4, ROUNDS = 25;
const { Raceway } = require(path.resolve(dist, 'index.js'));
fs.mkdirSync(out, { recursive: true });
const bodies = [];
const srv = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    bodies.push(Buffer.concat(chunks));
    res.setHeader('Content-Type', 'application/json');
    res.end('{"success":true,"data":"ok","error":null}');
  });
});
class Mutex {
  constructor() { this.q = []; this.held = false; }
  lock() {
    if (!this.held) { this.held = true; return Promise.resolve(); }
    return new Promise((r) => this.q.push(r));
  }
  unlock() { const n = this.q.shift(); if (n) n(); else this.held = false; }
}
const tick = () => new Promise((r) => setImmediate(r));
srv.listen(0, '127.0.0.1', async () => {
  const rw = new Raceway({ serverUrl: `http://127.0.0.1:${srv.address().port}`,
    serviceName: 'ts-bank', instanceId: 'ts-bank-1', environment: 'test' });
  const mw = rw.middleware();
  const acct = { alice: 1000, bob: 0 };
  const mu = new Mutex();
  async function transfer() {
    const a = acct.alice;
    rw.trackStateChange('alice.balance', a, a, 'Read');
    await tick();
    acct.alice = a - 1;
    rw.trackStateChange('alice.balance', a, a - 1, 'Write');
    const b = acct.bob;
    rw.trackStateChange('bob.balance', b, b, 'Read');
    await tick();
    acct.bob = b + 1;
    rw.trackStateChange('bob.balance', b, b + 1, 'Write');
  }
  const reqs = [];
  for (let i = 0; i < REQUESTS; i++) {
    reqs.push(new Promise((done) => {
      mw({ headers: {}, method: 'POST', url: '/transfer' }, {}, async () => {
        for (let k = 0; k < ROUNDS; k++) {
          if (mode === 'locked') await rw.withLock(mu, 'accounts', 'Mutex', transfer);
          else await transfer();
        }
        done();
      });
    }));
  }
  await Promise.all(reqs);
  await rw.stop();
  await new Promise((r) => setTimeout(r, 500));
  await rw.flush();
  await new Promise((r) => setTimeout(r, 500));
  srv.close();
  bodies.forEach((b, i) =>
    fs.writeFileSync(path.join(out, `body-${String(i).padStart(3, '0')}.json`), b));
  console.log(`${bodies.length} bodies, ${acct.alice} ${acct.bob}`);
  process.exit(0);
});
