#!/usr/bin/env python3
"""causeway check on a real ShiViz log against an independent answer.

usage: shiviz_check.py CAUSEWAY LOG

Runs `causeway check --input-format shiviz` with ShiViz's own regex for the
TSViz sample log, then recomputes the races from the log here, directly
from the definition (docs/detection.md 3.1), with Python's re and plain
vector-clock comparison: two accesses of one variable by different hosts,
at least one a write, neither clock <= the other. The event text maps to
accesses as the documented default --shiviz-map does ("Read V from VAR of
type T (ptr=ADDR)", "Write V to VAR ..." -> variable VAR@ADDR). Events,
racy variables, racy location pairs (lines) and race groups must agree,
and the two races read from the log at its lines 1051-1066 (below) must be
reported.
"""
import itertools
import json
import os
import re
import subprocess
import sys

CLI, LOG = sys.argv[1:3]
SHIVIZ_RE = r"(?<timestamp>(\d*)) (?<event>.*)\n(?<host>\w*) (?<clock>.*)"
ACCESS = re.compile(r"^(Read|Write) .* (from|to) ([^ ]+)"
                    r"( of type .*\(ptr=([0-9a-fx]+)\))?")

out = subprocess.run([CLI, "check", "--input-format", "shiviz",
                      "--shiviz-regex", SHIVIZ_RE, "--report", "json",
                      "--fail-on", "none", LOG], capture_output=True)
if out.returncode != 0:
    sys.exit("causeway check failed: %s" % out.stderr.decode())
got = json.loads(out.stdout)

text = open(LOG).read()
name = os.path.basename(LOG)
pat = re.compile(SHIVIZ_RE.replace("(?<", "(?P<"), re.M)
events, acc = 0, {}
for m in pat.finditer(text):
    events += 1
    clock = json.loads(m.group("clock"))
    host = m.group("host")
    assert host in clock, "ShiViz requires the host's own entry"
    a = ACCESS.match(m.group("event"))
    if not a:
        continue
    var = a.group(3) + ("@" + a.group(5) if a.group(5) else "")
    line = text.count("\n", 0, m.start("event")) + 1
    acc.setdefault(var, []).append(
        (host, a.group(1) == "Write", clock, "%s:%d" % (name, line)))


def leq(a, b):
    return all(v <= b.get(k, 0) for k, v in a.items())


racy, pairs, groups = set(), set(), set()
for var, xs in acc.items():
    for (h1, w1, c1, l1), (h2, w2, c2, l2) in itertools.combinations(xs, 2):
        if h1 == h2 or not (w1 or w2) or leq(c1, c2) or leq(c2, c1):
            continue
        racy.add(var)
        p = tuple(sorted((l1, l2)))
        pairs.add(p)
        groups.add((var, p))

s = got["summary"]
want = {"events": events, "racy_variables": len(racy),
        "racy_location_pairs": len(pairs), "race_groups": len(groups)}
bad = {k: (s[k], v) for k, v in want.items() if s[k] != v}
got_vars = {r["variable"] for r in got["races"]}
if got_vars != racy:
    bad["variables"] = (sorted(got_vars), sorted(racy))
# Read from the log (lines 1051-1066): thread4 reads 12188 from
# __wt_stats.v (ptr 7fef5080bef8) at line 1051 (clock thread4:131,
# thread5:118) and writes 12189 at line 1057 (thread4:132); thread5 writes
# 12190 at line 1065 with clock thread4:120, thread5:135: it saw neither,
# and thread4 never saw thread5:135. So 1051/1065 race read/write and
# 1057/1065 write/write.
v = "__wt_stats.v@7fef5080bef8"
for a, b, kind in ((1051, 1065, "read/write"), (1057, 1065, "write/write")):
    loc = ["%s:%d" % (name, a), "%s:%d" % (name, b)]
    if not any(x["variable"] == v and sorted(x["locations"]) == loc and
               x["kind"] == kind for x in got["races"]):
        bad["race %d/%d" % (a, b)] = "missing"
print("causeway:", {k: s[k] for k in want}, "variables:", sorted(got_vars))
if bad:
    sys.exit("shiviz_check: differs (causeway, expected): %s" % bad)
print("shiviz_check: ok")
