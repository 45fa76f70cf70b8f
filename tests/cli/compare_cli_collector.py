#!/usr/bin/env python3
"""Same input, same answer: `causeway check` and the collector.

usage: compare_cli_collector.py CAUSEWAY SERVER CWT_GEN CWT_SPLIT CASE_DIR...

For every case directory with native (*.cwspec, *.bin) or Raceway (*.json,
*.jsonl) inputs (tests/data/<case>/, expected.json aside), this runs
`causeway check --report json` on the files, then starts a causeway-server,
posts the same batches to it in a shuffled order (each native LZ4 frame,
each Raceway JSON value is one batch; seed CW_SHUFFLE_SEED, default 11),
asks GET /v1/findings?sync=1 and requires the summary and every finding
list (races, potential_deadlocks, deadlocks, locks, anomalies) to be equal,
up to detection order (a race's representative pair is unordered, a cycle
is compared from its smallest edge) and the vector clocks the collector
adds to race sides for the viewer.
A case the CLI refuses as bad input (exit 2) must be refused by the
collector too (a 4xx answer to one of its batches). STD traces have no
collector ingest and are left out. Threshold options of a case's
expected.json "args" are given to both. A case with a README.compare file
is a documented known difference: it is listed as SKIP with that file.
"""
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

CLI, SERVER, GEN, SPLIT = sys.argv[1:5]
CASES = sys.argv[5:]
SEED = int(os.environ.get("CW_SHUFFLE_SEED", "11"))
LISTS = ["races", "potential_deadlocks", "deadlocks", "locks", "anomalies"]
THRESHOLDS = {"--slow-db-ms", "--slow-http-ms", "--slow-span-ms",
              "--lock-wait-ms", "--retry-storm"}


def threshold_args(args):
    out, i = [], 0
    while i < len(args):
        a = args[i]
        name = a.split("=", 1)[0]
        if name in THRESHOLDS:
            if "=" in a:
                out.append(a)
            else:
                out += [a, args[i + 1]]
                i += 1
        i += 1
    return out


def json_values(text):
    """The text slices of the JSON values of a Raceway file, in order."""
    dec, pos, out = json.JSONDecoder(), 0, []
    while True:
        while pos < len(text) and text[pos] in " \t\r\n\ufeff":
            pos += 1
        if pos >= len(text):
            return out
        try:
            _, end = dec.raw_decode(text, pos)
        except (ValueError, RecursionError):
            out.append(text[pos:])  # the collector must refuse it too
            return out
        out.append(text[pos:end])
        pos = end


def post(url, body, headers):
    req = urllib.request.Request(url, data=body, headers=headers,
                                 method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def get_json(url):
    with urllib.request.urlopen(url, timeout=120) as r:
        return json.load(r)


def canon(v):
    return json.dumps(v, sort_keys=True)


def finding(k, v):
    """A finding with what depends on detection order normalised: a race's
    representative pair is unordered (first/second are the order the two
    accesses were analysed in), a cycle starts at its smallest edge."""
    v = dict(v)
    if k == "races" and "first" in v and "second" in v:
        # The collector adds each side's vector clock (the viewer's race
        # page, http-api.md); the CLI leaves it out to save memory.
        for side in ("first", "second"):
            v[side] = {x: y for x, y in v[side].items()
                       if x not in ("clock", "counter")}
        a, b = sorted([canon(v["first"]), canon(v["second"])])
        v["first"], v["second"] = a, b
    if "cycle" in v and v["cycle"]:
        c = [canon(e) for e in v["cycle"]]
        i = c.index(min(c))
        v["cycle"] = c[i:] + c[:i]
    return canon(v)


def run_case(d, tmp):
    name = os.path.basename(d.rstrip("/"))
    files = sorted(f for f in os.listdir(d)
                   if f != "expected.json" and not f.endswith(".supp")
                   and not f.startswith("README"))
    native = [f for f in files if f.endswith((".cwspec", ".bin"))]
    raceway = [f for f in files if f.endswith((".json", ".jsonl"))]
    if not native and not raceway or len(native) + len(raceway) != len(files):
        return None  # STD input: no collector ingest
    known = os.path.join(d, "README.compare")
    if os.path.exists(known):  # a documented known difference
        return "skipped: known difference, see %s" % known
    exp = json.load(open(os.path.join(d, "expected.json")))
    targs = threshold_args(exp.get("args", []))
    work = os.path.join(tmp, name)
    os.makedirs(work)
    inputs, bodies = [], []
    for f in files:
        p = os.path.join(d, f)
        if f.endswith(".cwspec"):
            cwt = os.path.join(work, f[:-7] + ".cwt")
            subprocess.run([GEN, p, cwt], check=True)
            p = cwt
        inputs.append(p)
        if f in native:
            prefix = os.path.join(work, os.path.basename(p) + ".frame")
            subprocess.run([SPLIT, p, prefix], check=True,
                           stdout=subprocess.DEVNULL)
            frames = sorted(x for x in os.listdir(work)
                            if x.startswith(os.path.basename(prefix)))
            for x in frames:
                bodies.append(("/v1/events", {"Content-Encoding": "lz4"},
                               open(os.path.join(work, x), "rb").read()))
            if not frames:  # nothing decodes: post the file as it is
                bodies.append(("/v1/events", {"Content-Encoding": "lz4"},
                               open(p, "rb").read()))
        else:
            text = open(p, "rb").read().decode("utf-8", "replace")
            for v in json_values(text):
                bodies.append(("/events",
                               {"Content-Type": "application/json"},
                               v.encode()))
    cli = subprocess.run([CLI, "check", "--report", "json", "--fail-on",
                          "none"] + targs + inputs, capture_output=True)
    random.Random("%s:%d" % (name, SEED)).shuffle(bodies)
    data = os.path.join(work, "data")
    out = open(os.path.join(work, "server.out"), "w+")
    srv = subprocess.Popen([SERVER, "--listen", "127.0.0.1:0", "--data-dir",
                            data] + targs, stdout=out,
                           stderr=open(os.path.join(work, "server.log"), "w"))
    try:
        addr = None
        for _ in range(200):
            out.seek(0)
            for line in out.read().splitlines():
                if line.startswith("listening on "):
                    addr = line[len("listening on "):]
            if addr:
                break
            time.sleep(0.05)
        if not addr:
            return "collector did not start"
        base = "http://" + addr
        codes = [post(base + path, body, h) for path, h, body in bodies]
        if cli.returncode == 2:
            if not any(400 <= c < 500 for c in codes):
                return "CLI refused the input, the collector took it: %s" % (
                    codes,)
            return "ok (both refuse)"
        if cli.returncode not in (0, 1):
            return "CLI failed: %s" % cli.stderr.decode()
        if any(c != 200 for c in codes):
            return "collector refused a batch the CLI analysed: %s" % codes
        want = json.loads(cli.stdout)
        got = get_json(base + "/v1/findings?sync=1")
        errs = []
        if canon(want["summary"]) != canon(got["summary"]):
            keys = sorted(set(want["summary"]) | set(got["summary"]))
            diff = {k: (want["summary"].get(k), got["summary"].get(k))
                    for k in keys
                    if want["summary"].get(k) != got["summary"].get(k)}
            errs.append("summary differs (cli, collector): %s" % diff)
        for k in LISTS:
            a = sorted(finding(k, x) for x in want.get(k, []))
            b = sorted(finding(k, x) for x in got.get(k, []))
            if a != b:
                errs.append("%s differ:\n  cli:       %s\n  collector: %s" %
                            (k, a, b))
        return "; ".join(errs) if errs else "ok (%d batches)" % len(bodies)
    finally:
        srv.terminate()
        srv.wait(timeout=30)


def main():
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for d in CASES:
            if not os.path.isdir(d) or not os.path.exists(
                    os.path.join(d, "expected.json")):
                continue
            r = run_case(d, tmp)
            if r is None:
                continue
            ok = r.startswith("ok") or r.startswith("skipped")
            failed += not ok
            print("%s %s: %s" % (("SKIP" if r.startswith("skipped") else
                                  "PASS") if ok else "FAIL",
                                 os.path.basename(d), r), flush=True)
    print("compare_cli_collector: %d failed" % failed)
    return 1 if failed else 0


sys.exit(main())
