#!/usr/bin/env python3
"""sarif_check.py SCHEMA ROOT FILE...: validates SARIF files against the
OASIS SARIF 2.1.0 JSON schema (python3-jsonschema), then against what
GitHub code scanning requires on top of it (docs.github.com, "SARIF support
for code scanning"):
  - every result has a ruleId naming a rule of the driver, a message text,
    and at least one location with a physicalLocation whose artifactLocation
    has a uri and whose region has startLine >= 1;
  - related locations are physical too, carry an id, and every "[text](id)"
    link of the message names one of them;
  - a relative uri has a uriBaseId declared in run.originalUriBaseIds as an
    absolute file:// URI ending in '/'; an absolute uri is a file:// URI;
  - every result has partialFingerprints, none holding an absolute path or
    ROOT (they must not change with the checkout directory);
  - invocations, when present, have executionSuccessful.
Exits 1 with the problems listed, 0 when every file passes."""
import json
import re
import sys

import jsonschema


def check_location(loc, where, bases, problems, related=False):
    pl = loc.get("physicalLocation")
    if not isinstance(pl, dict):
        problems.append(f"{where}: no physicalLocation")
        return
    art = pl.get("artifactLocation", {})
    uri = art.get("uri")
    if not uri:
        problems.append(f"{where}: artifactLocation without uri")
        return
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", uri):
        if not uri.startswith("file:///"):
            problems.append(f"{where}: absolute uri is not file:///: {uri}")
        if "uriBaseId" in art:
            problems.append(f"{where}: absolute uri with a uriBaseId")
    else:
        if uri.startswith("/"):
            problems.append(f"{where}: uri is an absolute path: {uri}")
        base = art.get("uriBaseId")
        if base is None:
            problems.append(f"{where}: relative uri without uriBaseId: {uri}")
        elif base not in bases:
            problems.append(f"{where}: uriBaseId {base} not in originalUriBaseIds")
    line = pl.get("region", {}).get("startLine")
    if not isinstance(line, int) or line < 1:
        problems.append(f"{where}: region.startLine missing or < 1")
    if related and not isinstance(loc.get("id"), int):
        problems.append(f"{where}: related location without id")


def check_github(doc, root, name, problems):
    for ri, run in enumerate(doc.get("runs", [])):
        rules = [r["id"] for r in run["tool"]["driver"].get("rules", [])]
        bases = run.get("originalUriBaseIds", {})
        for b, v in bases.items():
            u = v.get("uri", "")
            if not (u.startswith("file:///") and u.endswith("/")):
                problems.append(f"{name}: originalUriBaseIds[{b}] = {u!r}")
        for inv in run.get("invocations", []):
            if "executionSuccessful" not in inv:
                problems.append(f"{name}: invocation without executionSuccessful")
        for i, r in enumerate(run.get("results", [])):
            where = f"{name}: runs[{ri}].results[{i}]"
            if r.get("ruleId") not in rules:
                problems.append(f"{where}: ruleId {r.get('ruleId')!r} not a rule")
            if "ruleIndex" in r and rules[r["ruleIndex"]] != r.get("ruleId"):
                problems.append(f"{where}: ruleIndex disagrees with ruleId")
            text = r.get("message", {}).get("text")
            if not text:
                problems.append(f"{where}: no message text")
                text = ""
            locs = r.get("locations", [])
            if not locs:
                problems.append(f"{where}: no locations")
            for k, loc in enumerate(locs):
                check_location(loc, f"{where}.locations[{k}]", bases, problems)
            ids = set()
            for k, loc in enumerate(r.get("relatedLocations", [])):
                check_location(loc, f"{where}.relatedLocations[{k}]", bases,
                               problems, related=True)
                ids.add(loc.get("id"))
            # Links "[text](id)" not preceded by a backslash escape.
            for m in re.finditer(r"(?<!\\)\[(?:[^\]\\]|\\.)*\]\((\d+)\)", text):
                if int(m.group(1)) not in ids:
                    problems.append(f"{where}: message links unknown id {m.group(1)}")
            fps = r.get("partialFingerprints")
            if not fps:
                problems.append(f"{where}: no partialFingerprints")
            for k, v in (fps or {}).items():
                if root and root in v:
                    problems.append(f"{where}: fingerprint {k} holds the root")
                # A field that starts with '/' (fields are '|'-separated).
                if re.search(r"(^|\|)/", v) or "file:" in v:
                    problems.append(f"{where}: fingerprint {k} holds an absolute path")


def main():
    schema = json.load(open(sys.argv[1]))
    root = sys.argv[2]
    validator = jsonschema.Draft4Validator(schema)
    problems = []
    for path in sys.argv[3:]:
        doc = json.load(open(path))
        for err in validator.iter_errors(doc):
            problems.append(f"{path}: schema: {'/'.join(map(str, err.path))}: {err.message}")
        check_github(doc, root, path, problems)
    for p in problems:
        print(p)
    print(f"sarif_check: {len(sys.argv) - 3} file(s), {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
