#!/usr/bin/env python3
"""`causeway dump --format clocks` round trip.

usage: clocks_roundtrip.py CAUSEWAY CWT_GEN CASE_DIR...

For every native case (tests/data/<case>/*.cwspec): build its trace files,
write each as JSON lines with explicit clocks (`causeway dump --format
clocks`), and require `causeway check` on the JSON lines to give the same
JSON report (summary and every finding) as on the trace files.
"""
import json
import os
import subprocess
import sys
import tempfile

CLI, GEN = sys.argv[1:3]


def report(files):
    r = subprocess.run([CLI, "check", "--report", "json", "--fail-on",
                        "none"] + files, capture_output=True)
    j = json.loads(r.stdout) if r.stdout else {}
    j.pop("input", None)  # names the files and their kind
    return r.returncode, j, r.stderr


failed = checked = 0
with tempfile.TemporaryDirectory() as tmp:
    for d in sys.argv[3:]:
        specs = sorted(f for f in os.listdir(d) if f.endswith(".cwspec"))
        if not specs:
            continue
        name = os.path.basename(d.rstrip("/"))
        cwts, jsonls = [], []
        for f in specs:
            cwt = os.path.join(tmp, "%s-%s.cwt" % (name, f[:-7]))
            subprocess.run([GEN, os.path.join(d, f), cwt], check=True)
            jl = cwt[:-4] + ".jsonl"
            with open(jl, "w") as out:
                subprocess.run([CLI, "dump", "--format", "clocks", cwt],
                               stdout=out, stderr=subprocess.DEVNULL)
            cwts.append(cwt)
            jsonls.append(jl)
        a, b = report(cwts), report(jsonls)
        checked += 1
        # A truncated trace file exits 2 (not all was checked); dump wrote
        # its complete frames only, so the JSON lines check those in full.
        trunc = a[0] == 2 and b"truncated" in a[2]
        if (a[1] != b[1]) or (a[0] != b[0] and not trunc):
            failed += 1
            print("FAIL %s:\n  trace files: %s\n  JSON lines:  %s" %
                  (name, json.dumps(a[:2])[:600], json.dumps(b[:2])[:600]))
        else:
            print("PASS %s (exit %d, %d events)" %
                  (name, a[0], a[1].get("summary", {}).get("events", 0)))
print("clocks_roundtrip: %d cases, %d failed" % (checked, failed))
sys.exit(1 if failed or not checked else 0)
