#!/usr/bin/env python3
"""Validates a Chrome Trace Event export (GET /v1/traces/ID/chrome).

Written from the Trace Event Format document (Google, "Trace Event Format",
the JSON Object Format with a "traceEvents" array; Perfetto is not packaged
for Debian). It checks what the document defines and causeway emits:

- the object form: {"traceEvents": [...], "displayTimeUnit": "ms"|"ns"};
- every event has "ph", and "pid"/"tid" integers; "name" a string;
- metadata events ("ph": "M") named process_name / thread_name carry
  args.name; every (pid) used by a non-metadata event has a process_name,
  every (pid, tid) a thread_name, each named once;
- timestamps "ts" are numbers (microseconds) and never negative;
- complete events ("ph": "X") have "dur" >= 0, and the complete events of
  one thread nest (two slices are disjoint or one contains the other);
- instant events ("ph": "i") have scope "s" in g, p, t when present;
- flow events: every "s" (start) has exactly one "f" (finish) with the
  same "cat", "name" and "id", no id starts twice, the finish does not come
  before the start, and "bp" is "e" when present.
Plus causeway's own rule: a thread named "service#instance/actor" sits in the
process named "service" (an actor's service comes from its own name).

usage: chrome_trace_check.py FILE.json [MIN_FLOWS]  (exit 0 valid, 1 invalid)
"""
import json
import sys


def fail(msg):
    print("chrome_trace_check: " + msg)
    sys.exit(1)


def main(path, min_flows=0):
    doc = json.load(open(path))
    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        fail("not the JSON object format with a traceEvents array")
    if doc.get("displayTimeUnit", "ms") not in ("ms", "ns"):
        fail("displayTimeUnit must be ms or ns")
    procs, threads = {}, {}
    slices, starts, finishes = {}, {}, {}
    for i, ev in enumerate(doc["traceEvents"]):
        if not isinstance(ev, dict) or "ph" not in ev:
            fail("event %d has no ph" % i)
        ph = ev["ph"]
        for k in ("pid", "tid"):
            if not isinstance(ev.get(k), int):
                fail("event %d: %s is not an integer" % (i, k))
        if not isinstance(ev.get("name"), str):
            fail("event %d: name is not a string" % i)
        if ph == "M":
            name = (ev.get("args") or {}).get("name")
            if not isinstance(name, str):
                fail("metadata event %d without args.name" % i)
            if ev["name"] == "process_name":
                if ev["pid"] in procs:
                    fail("process %d named twice" % ev["pid"])
                procs[ev["pid"]] = name
            elif ev["name"] == "thread_name":
                key = (ev["pid"], ev["tid"])
                if key in threads:
                    fail("thread %s named twice" % (key,))
                threads[key] = name
            continue
        ts = ev.get("ts")
        if not isinstance(ts, (int, float)) or ts < 0:
            fail("event %d: ts %r is not a non-negative number" % (i, ts))
        key = (ev["pid"], ev["tid"])
        if ph == "X":
            dur = ev.get("dur")
            if not isinstance(dur, (int, float)) or dur < 0:
                fail("complete event %d: bad dur %r" % (i, dur))
            slices.setdefault(key, []).append((ts, ts + dur, i))
        elif ph == "i":
            if ev.get("s", "t") not in ("g", "p", "t"):
                fail("instant event %d: bad scope" % i)
        elif ph in ("s", "f"):
            if "id" not in ev:
                fail("flow event %d has no id" % i)
            if ev.get("bp", "e") != "e":
                fail("flow event %d: bp must be e" % i)
            fk = (ev.get("cat"), ev["name"], ev["id"])
            table = starts if ph == "s" else finishes
            if fk in table:
                fail("flow %s has two %s events" % (fk, ph))
            table[fk] = ts
        elif ph not in ("B", "E", "t", "C", "b", "e", "n"):
            fail("event %d: unknown ph %r" % (i, ph))
        if ev["pid"] not in procs and ph != "M":
            pass  # metadata may follow; checked below
    for ev in doc["traceEvents"]:
        if ev["ph"] == "M":
            continue
        if ev["pid"] not in procs:
            fail("pid %d has no process_name" % ev["pid"])
        if (ev["pid"], ev["tid"]) not in threads:
            fail("thread %s has no thread_name" % ((ev["pid"], ev["tid"]),))
    for (pid, tid), name in threads.items():
        if pid not in procs:
            fail("thread %s in an unnamed process" % name)
        if "#" in name and procs[pid] != name.split("#", 1)[0]:
            fail("thread %s is in process %s" % (name, procs[pid]))
    for key, sl in slices.items():
        sl.sort(key=lambda s: (s[0], -s[1]))
        stack = []
        for b, e, i in sl:
            while stack and stack[-1] <= b:
                stack.pop()
            if stack and e > stack[-1] + 1e-6:
                fail("slices of thread %s overlap without nesting (event %d)"
                     % (key, i))
            stack.append(e)
    for fk, ts in starts.items():
        if fk not in finishes:
            fail("flow %s starts and never ends" % (fk,))
        if finishes[fk] < ts:
            fail("flow %s ends before it starts" % (fk,))
    for fk in finishes:
        if fk not in starts:
            fail("flow %s ends without a start" % (fk,))
    if len(starts) < min_flows:
        fail("%d flows, expected at least %d" % (len(starts), min_flows))
    print("chrome_trace_check: ok: %d events, %d processes, %d threads, "
          "%d flows" % (len(doc["traceEvents"]), len(procs), len(threads),
                        len(starts)))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0)
