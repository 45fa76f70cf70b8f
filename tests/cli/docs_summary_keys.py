#!/usr/bin/env python3
"""The summary examples in the docs have the keys the output has.

usage: docs_summary_keys.py CAUSEWAY STD_TRACE DOC...

Runs `causeway check --report json` on a trace and requires every
"summary" example block of each DOC (the JSON report in docs/cli.md, the
GET /v1/findings example in docs/http-api.md) to list exactly the report's
summary keys, in the same order (one serializer writes them all).
"""
import json
import re
import subprocess
import sys

cli, trace, docs = sys.argv[1], sys.argv[2], sys.argv[3:]
out = subprocess.run([cli, "check", "--report", "json", "--fail-on", "none",
                      trace], capture_output=True, check=True)
want = list(json.loads(out.stdout)["summary"])
bad = 0
for d in docs:
    text = open(d).read()
    blocks = re.findall(r'"summary":\s*\{([^{}]*)\}', text)
    full = [b for b in blocks if "..." not in b]
    if not full:
        print("%s: no complete summary example" % d)
        bad += 1
    for b in full:
        keys = re.findall(r'"([a-z_]+)"\s*:', b)
        if keys != want:
            print("%s: summary example keys differ:\n  doc:    %s\n  output: %s"
                  % (d, keys, want))
            bad += 1
print("docs_summary_keys: %d problem(s)" % bad)
sys.exit(1 if bad else 0)
