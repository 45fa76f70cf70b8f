#!/usr/bin/env python3
"""Brute-force reference for potential deadlocks (design 4.2), written
independently of the engine, for STD traces (THREAD|OP|LOC).

Definition: a cycle of n >= 2 distinct actors and n distinct locks where
actor i requests lock i+1 while holding lock i, such that
  - gate locks: the sets of locks held at the requests are pairwise disjoint;
  - ordering: the requests are pairwise concurrent under happens-before
    computed WITHOUT the release->acquire edges of the cycle's own locks.
Distinct lock cycles are counted up to rotation; lengths 2..MAXLEN.

A request is a req(L) event, or an acq(L) not preceded by its req(L).
Happens-before: program order, release(L) -> every later acquire(L),
fork(T) -> T's first event, T's last event -> join(T).

It is slow on purpose: for every candidate lock cycle it recomputes vector
clocks over the whole trace with that cycle's lock edges removed, and
searches all combinations of (deduplicated) requests.

usage: ref_deadlocks.py TRACE.std   -> prints JSON {"potential_deadlocks": N,
                                        "cycles": [[lock, ...], ...]}
"""
import itertools
import json
import sys

MAXLEN = 4


def parse(path):
    evs = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            parts = line.split('|')
            t, op = parts[0], parts[1]
            name, arg = op[:op.index('(')], op[op.index('(') + 1:-1]
            evs.append((t, name, arg))
    return evs


def requests(evs):
    """Lock requests made while holding other locks:
    (event index, thread, frozenset held, requested lock)."""
    held = {}
    pending = {}  # thread -> lock of an outstanding req
    out = []
    for i, (t, op, x) in enumerate(evs):
        h = held.setdefault(t, [])
        if op == 'req':
            pending[t] = x
            if any(l != x for l in h):
                out.append((i, t, frozenset(l for l in h if l != x), x))
        elif op == 'acq':
            if pending.get(t) != x and any(l != x for l in h):
                out.append((i, t, frozenset(l for l in h if l != x), x))
            pending.pop(t, None)
            h.append(x)
        elif op == 'rel':
            if x in h:
                h.remove(x)
    return out


def clocks(evs, excluded, need):
    """Vector clocks of the events in `need`, without the lock edges of
    `excluded`."""
    vc = {}
    lockrel = {}
    first = set()
    forkclk = {}
    out = {}
    for i, (t, op, x) in enumerate(evs):
        c = vc.get(t)
        if c is None:
            c = dict(forkclk.get(t, {}))
            vc[t] = c
        c[t] = c.get(t, 0) + 1
        if op == 'acq' and x not in excluded and x in lockrel:
            for k, v in lockrel[x].items():
                if v > c.get(k, 0):
                    c[k] = v
        elif op == 'join' and x in vc:
            for k, v in vc[x].items():
                if v > c.get(k, 0):
                    c[k] = v
        if i in need:
            out[i] = dict(c)
        if op == 'rel':
            r = lockrel.setdefault(x, {})
            for k, v in c.items():
                if v > r.get(k, 0):
                    r[k] = v
        elif op == 'fork':
            forkclk[x] = dict(c)
        first.add(t)
    return out


def lock_cycles(edges):
    """Simple cycles of the lock graph (length 2..MAXLEN), one per rotation
    class, as tuples starting at their smallest lock."""
    succ = {}
    for (h, r) in edges:
        succ.setdefault(h, set()).add(r)
    found = set()

    def dfs(path):
        for n in sorted(succ.get(path[-1], ())):
            if n == path[0] and len(path) >= 2:
                found.add(tuple(path))
            elif n not in path and n > path[0] and len(path) < MAXLEN:
                dfs(path + [n])
    for s in sorted(succ):
        dfs([s])
    return sorted(found)


def analyse(evs):
    reqs = requests(evs)
    # instances per edge (held lock h -> requested r)
    by_edge = {}
    for (i, t, hs, r) in reqs:
        for h in hs:
            by_edge.setdefault((h, r), []).append((i, t, hs))
    cycles = lock_cycles(by_edge.keys())
    need = set(r[0] for r in reqs)
    reported = []
    cache = {}
    for cyc in cycles:
        n = len(cyc)
        S = frozenset(cyc)
        edges = [(cyc[k], cyc[(k + 1) % n]) for k in range(n)]
        # static prefilter: an actor that can hold no lock of a candidate
        if any(e not in by_edge for e in edges):
            continue
        if S not in cache:
            cache[S] = clocks(evs, S, need)
        C = cache[S]

        def own(i):
            return C[i][evs[i][0]]

        def before(i, j):  # event i happens before event j (i != j)
            return C[j].get(evs[i][0], 0) >= own(i)
        # deduplicate instances with the same actor, held set and clock
        cand = []
        for e in edges:
            seen = {}
            for (i, t, hs) in by_edge[e]:
                key = (t, hs, tuple(sorted(C[i].items())))
                seen.setdefault(key, (i, t, hs))
            cand.append(list(seen.values()))
        ok = False

        def choose(k, picked):
            if k == n:
                return True
            for (i, t, hs) in cand[k]:
                good = True
                for (j, u, gs) in picked:
                    if u == t or (hs & gs) or before(i, j) or before(j, i):
                        good = False
                        break
                if good and choose(k + 1, picked + [(i, t, hs)]):
                    return True
            return False
        ok = choose(0, [])
        if ok:
            reported.append(list(cyc))
    return {"potential_deadlocks": len(reported), "cycles": reported}


def main():
    res = analyse(parse(sys.argv[1]))
    json.dump(res, sys.stdout)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
