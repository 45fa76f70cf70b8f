#!/usr/bin/env python3
"""Seeded generator of random STD traces for the deadlock differential test
and benchmark: many locks, nested critical sections (in lock order, except
a fraction `inv` in random order, so that some lock cycles appear), thread churn (workers joined by T0 and replaced by new
ones), hand-offs (a lock taken alone by one thread after another, some of
them also used nested), gate locks (a lock held around nested sections),
req(L) before some acquires, and reads/writes.

usage: gen_std.py SEED EVENTS [--threads N] [--locks N] [--depth N]
                  [--churn N] [--gate P] [--inv P] [--out FILE]
Writes the trace to stdout (or FILE). The same arguments give the same
trace."""
import argparse
import random
import sys


def generate(seed, events, threads=8, locks=10, depth=3, churn=0, gate=0.1,
             inv=0.05, out=sys.stdout):
    rng = random.Random(seed)
    w = out.write
    n = 0
    live = []
    nextt = 1
    for _ in range(threads):
        w('T0|fork(T%d)|m.c:1\n' % nextt)
        live.append(nextt)
        nextt += 1
        n += 1
    gates = ['G%d' % g for g in range(max(1, locks // 8))]
    names = ['L%d' % k for k in range(locks)]
    since_churn = 0
    while n < events:
        if churn and since_churn >= churn and len(live) > 1:
            since_churn = 0
            t = live.pop(rng.randrange(len(live)))
            w('T0|join(T%d)|m.c:2\n' % t)
            w('T0|fork(T%d)|m.c:3\n' % nextt)
            live.append(nextt)
            nextt += 1
            n += 2
            continue
        t = rng.choice(live)
        r = rng.random()
        lines = []
        if r < 0.15:
            # a hand-off: one lock alone, with an access under it
            l = rng.choice(names[:max(2, locks // 4)]) if rng.random() < 0.5 \
                else 'Q%d' % rng.randrange(2)
            lines += ['acq(%s)' % l, 'w(q%s)' % l, 'rel(%s)' % l]
        elif r < 0.25:
            lines.append('%s(x%d)' % (rng.choice('rw'), rng.randrange(8)))
        else:
            d = rng.randint(2, depth) if depth >= 2 else 1
            seq = rng.sample(names, min(d, len(names)))
            if rng.random() >= inv:  # most sections follow the lock order
                seq.sort(key=lambda x: int(x[1:]))
            g = rng.choice(gates) if rng.random() < gate else None
            if g:
                seq = [g] + seq
            for k, l in enumerate(seq):
                if k and rng.random() < 0.5:
                    lines.append('req(%s)' % l)
                lines.append('acq(%s)' % l)
                if rng.random() < 0.3:
                    lines.append('w(v%s)' % l)
            for l in reversed(seq):
                lines.append('rel(%s)' % l)
        for k, op in enumerate(lines):
            w('T%d|%s|f%d.c:%d\n' % (t, op, t % 7, 10 + k))
        n += len(lines)
        since_churn += len(lines)
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('seed', type=int)
    ap.add_argument('events', type=int)
    ap.add_argument('--threads', type=int, default=8)
    ap.add_argument('--locks', type=int, default=10)
    ap.add_argument('--depth', type=int, default=3)
    ap.add_argument('--churn', type=int, default=0)
    ap.add_argument('--gate', type=float, default=0.1)
    ap.add_argument('--inv', type=float, default=0.05)
    ap.add_argument('--out')
    a = ap.parse_args()
    out = open(a.out, 'w') if a.out else sys.stdout
    generate(a.seed, a.events, a.threads, a.locks, a.depth, a.churn, a.gate,
             a.inv, out)
    if a.out:
        out.close()


if __name__ == '__main__':
    main()
