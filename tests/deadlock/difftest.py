#!/usr/bin/env python3
"""Differential test of causeway's potential deadlocks against the
brute-force reference (ref_deadlocks.py) on seeded random STD traces
(gen_std.py).

Small traces (thousands, run by dl_batch, two passes with fresh engines
each, as `causeway check` does: pass 2 replays pass 1's record, and again
with pass 2 reading the trace again, dl_batch --reread) and large traces
(20k events, run by `causeway check`): the engine must say summary.exact
(an STD trace hits no bound of the two-pass engine, docs/detection.md
4.3), and its count and set of lock cycles (up to rotation) must equal
the reference's.
The small traces also go through the streaming engine (the collector's,
dl_batch --one-pass): where it says exact it must equal the reference.

usage: difftest.py CAUSEWAY DL_BATCH [--small N] [--large N] [--seed S]"""
import argparse
import io
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_std  # noqa: E402
import ref_deadlocks  # noqa: E402

CUTS = ('search_truncated', 'instances_cut', 'handoffs_cut', 'early_orders',
        'retired_skips', 'lost_events', 'forced_events', 'pending_events')


def canon(locks):
    m = locks.index(min(locks))
    return tuple(locks[m:] + locks[:m])


def gen(seed, events, **kw):
    buf = io.StringIO()
    gen_std.generate(seed, events, out=buf, **kw)
    return buf.getvalue()


def reference(text, tmp):
    path = os.path.join(tmp, 'ref.std')
    with open(path, 'w') as f:
        f.write(text)
    r = ref_deadlocks.analyse(ref_deadlocks.parse(path))
    return r['potential_deadlocks'], set(canon(c) for c in r['cycles'])


def keep(text, seed):
    path = os.path.join(tempfile.gettempdir(), 'cw-diff-%d.std' % seed)
    with open(path, 'w') as f:
        f.write(text)
    return path


def one_pass(dl_batch, batch, traces, tmp):
    """The streaming engine (the collector's): where it says exact, it must
    equal the reference. @return failures."""
    p = subprocess.run([dl_batch, '--one-pass', batch], capture_output=True,
                       text=True)
    if p.returncode != 0:
        raise SystemExit('dl_batch --one-pass failed: ' + p.stderr)
    fails = nonexact = differ = 0
    for line in p.stdout.splitlines():
        d = json.loads(line)
        s = int(d['name'])
        rn, rc = traces[s]
        ec = set(canon(c) for c in d['cycles'])
        same = d['potential_deadlocks'] == rn and ec == rc
        nonexact += not d['exact']
        differ += not same
        if d['exact'] and not same:
            fails += 1
            print('FAIL one-pass seed %d: exact but %d cycles, reference %d'
                  % (s, d['potential_deadlocks'], rn))
    print('streaming engine: %d flagged not exact, %d differ from the '
          'reference (all flagged unless failed above)' % (nonexact, differ))
    return fails


def reread(dl_batch, batch, refs):
    """Pass 2 reading the traces again instead of pass 1's record: the
    same answers. @return failures."""
    p = subprocess.run([dl_batch, '--reread', batch], capture_output=True,
                       text=True)
    if p.returncode != 0:
        raise SystemExit('dl_batch --reread failed: ' + p.stderr)
    fails = seen = 0
    for line in p.stdout.splitlines():
        d = json.loads(line)
        s = int(d['name'])
        rn, rc = refs[s]
        seen += 1
        ec = set(canon(c) for c in d['cycles'])
        if d['potential_deadlocks'] != rn or ec != rc or not d['exact']:
            fails += 1
            print('FAIL reread seed %d: causeway %d%s, reference %d' %
                  (s, d['potential_deadlocks'],
                   '' if d['exact'] else ' (not exact)', rn))
    if seen != len(refs):
        raise SystemExit('dl_batch --reread skipped %d traces' %
                         (len(refs) - seen))
    print('second pass reading the traces again: %d failed' % fails)
    return fails


def small(dl_batch, tmp, first, n):
    traces = {}
    for s in range(first, first + n):
        kw = dict(threads=2 + s % 5, locks=3 + s % 4, depth=2 + s % 2,
                  churn=(0, 40, 15)[s % 3], gate=0.2, inv=0.3)
        traces[s] = (gen(s, 40 + s % 160, **kw), kw)
    batch = os.path.join(tmp, 'batch.std')
    with open(batch, 'w') as f:
        for s, (text, _) in traces.items():
            f.write('=== %d\n%s' % (s, text))
    p = subprocess.run([dl_batch, batch], capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit('dl_batch failed: ' + p.stderr)
    fails = nonexact = differ_flagged = 0
    refs = {}
    for line in p.stdout.splitlines():
        d = json.loads(line)
        s = int(d['name'])
        text, kw = traces.pop(s)
        rn, rc = reference(text, tmp)
        refs[s] = (rn, rc)
        ec = set(canon(c) for c in d['cycles'])
        nonexact += not d['exact']
        same = d['potential_deadlocks'] == rn and ec == rc
        differ_flagged += not same and not d['exact']
        if not same or not d['exact']:
            fails += 1
            print('FAIL small seed %d %s: causeway %d%s, reference %d; only '
                  'causeway %s; only reference %s (trace in %s)' %
                  (s, kw, d['potential_deadlocks'],
                   '' if d['exact'] else ' (not exact)', rn,
                   sorted(ec - rc), sorted(rc - ec), keep(text, s)))
    if traces:
        raise SystemExit('dl_batch skipped %d traces' % len(traces))
    print('%d small traces: %d failed (%d not exact, of which %d differ '
          'from the reference)' % (n, fails, nonexact, differ_flagged))
    fails += reread(dl_batch, batch, refs)
    return fails + one_pass(dl_batch, batch, refs, tmp)


def large(cw, tmp, seed, i):
    kw = (dict(threads=6, locks=8, depth=3, churn=0, gate=0.1, inv=0.005),
          dict(threads=8, locks=8, depth=3, churn=500, gate=0.1, inv=0.005),
          dict(threads=10, locks=8, depth=4, churn=300, gate=0.2,
               inv=0.01))[i % 3]
    text = gen(seed, 20000, **kw)
    path = os.path.join(tmp, 'large.std')
    with open(path, 'w') as f:
        f.write(text)
    p = subprocess.run([cw, 'check', '--report', 'json', '--fail-on', 'none',
                        path], capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit('causeway failed: ' + p.stderr)
    d = json.loads(p.stdout)
    summ = d['summary']
    ec = set(canon([e['held'] for e in x['cycle']])
             for x in d['potential_deadlocks'])
    rn, rc = reference(text, tmp)
    same = summ['potential_deadlocks'] == rn and ec == rc
    cuts = dict((k, summ.get(k, 0)) for k in CUTS if summ.get(k, 0))
    print('large seed %d %s: causeway %d (exact %s%s), reference %d%s' %
          (seed, kw, summ['potential_deadlocks'], summ['exact'],
           (', cut ' + json.dumps(cuts)) if cuts else '', rn,
           '' if same else '; differ: only causeway %s, only reference %s' %
           (sorted(ec - rc), sorted(rc - ec))))
    if not same or not summ['exact']:
        print('FAIL: %s (trace in %s)' %
              ('different' if not same else 'not exact', keep(text, seed)))
        return 1
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('causeway')
    ap.add_argument('dl_batch')
    ap.add_argument('--small', type=int, default=2000)
    ap.add_argument('--large', type=int, default=3)
    ap.add_argument('--seed', type=int, default=1)
    a = ap.parse_args()
    fails = 0
    with tempfile.TemporaryDirectory() as tmp:
        if a.small:
            fails += small(a.dl_batch, tmp, a.seed, a.small)
        for i in range(a.large):
            fails += large(a.causeway, tmp, 100000 + a.seed + i, i)
    print('%d small and %d large traces, %d failed' %
          (a.small, a.large, fails))
    return 1 if fails else 0


if __name__ == '__main__':
    sys.exit(main())
