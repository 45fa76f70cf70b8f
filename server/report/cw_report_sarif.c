/*
 * cw_report_sarif: SARIF 2.1.0 output, so code-scanning UIs annotate the
 * racing lines. A "FILE:LINE" location becomes a physicalLocation; any other
 * location string (an STD LOC such as "11") a logicalLocation. The second
 * side of a race, and the other edges of a cycle, are relatedLocations.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cw_report.h"
#include "cw_report_util.h"

static json_t *text(const char *s) {
  return json_pack("{s:o}", "text", cw__report_jstr(s));
}

/* Percent-encodes a file path into a URI reference: relative to `root`
 * (the working directory) when it lies below it, as code-scanning UIs want
 * repository-relative paths; "file://" for other absolute paths. */
static json_t *uri(const char *s, size_t n, const char *root) {
  static const char hex[] = "0123456789ABCDEF";
  size_t rl = root ? strlen(root) : 0;
  const char *scheme = "";
  if (rl > 1 && n > rl + 1 && memcmp(s, root, rl) == 0 && s[rl] == '/') {
    s += rl + 1;
    n -= rl + 1;
  } else if (n > 0 && s[0] == '/') {
    scheme = "file://";
  }
  size_t sl = strlen(scheme);
  char *buf = malloc(sl + n * 3 + 1);
  if (!buf)
    return NULL;
  memcpy(buf, scheme, sl);
  size_t k = sl;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9') || (c && strchr("-._~/", c))) {
      buf[k++] = (char)c;
    } else {
      buf[k++] = '%';
      buf[k++] = hex[c >> 4];
      buf[k++] = hex[c & 15];
    }
  }
  json_t *j = json_stringn(buf, k);
  free(buf);
  return j;
}

static json_t *location(const char *loc, const char *msg, int id,
                        const char *root, int *bad) {
  json_t *o = json_object();
  if (!o) {
    *bad = 1;
    return NULL;
  }
  if (id > 0)
    cw__jput(o, "id", json_integer(id), bad);
  size_t fl;
  unsigned long line;
  if (cw__loc_split(loc, &fl, &line)) {
    cw__jput(o, "physicalLocation",
             json_pack("{s:{s:o},s:{s:I}}", "artifactLocation", "uri",
                       uri(loc, fl, root), "region", "startLine",
                       (json_int_t)line),
             bad);
  } else {
    cw__jput(o, "logicalLocations",
             json_pack("[{s:o,s:s}]", "name", cw__report_jstr(loc), "kind",
                       "location"),
             bad);
  }
  if (msg)
    cw__jput(o, "message", text(msg), bad);
  return o;
}

static json_t *rules(void) {
  return json_pack(
      "[{s:s,s:s,s:{s:s},s:{s:s},s:{s:s}},"
      "{s:s,s:s,s:{s:s},s:{s:s},s:{s:s}},"
      "{s:s,s:s,s:{s:s},s:{s:s},s:{s:s}}]",
      "id", "race", "name", "DataRace", "shortDescription", "text",
      "Two accesses to one variable, at least one a write, by different "
      "actors, with neither happening before the other",
      "fullDescription", "text",
      "Write/write races are errors, read/write races warnings.",
      "defaultConfiguration", "level", "error", "id", "potential-deadlock",
      "name", "PotentialDeadlock", "shortDescription", "text",
      "Locks are taken in a cyclic order by concurrent actors",
      "fullDescription", "text",
      "A lock-order cycle with disjoint gate locks and pairwise concurrent "
      "requests.",
      "defaultConfiguration", "level", "warning", "id", "deadlock", "name",
      "Deadlock", "shortDescription", "text",
      "Actors wait for locks held by each other", "fullDescription", "text",
      "A cycle in the wait-for graph.", "defaultConfiguration", "level",
      "error");
}

static json_t *race_result(const cw_engine *e, const cw_race_group *g,
                           const char *root, int *bad) {
  const char *var = cw__engine_str(e, g->var);
  int ww = g->first.is_write && g->second.is_write;
  char msg[1024], other[512];
  snprintf(
      msg, sizeof msg,
      "Data race on '%s' (%s): %s by %s at %s, concurrent %s by %s "
      "at %s",
      var, ww ? "write/write" : "read/write",
      g->first.is_write ? "write" : "read", cw__report_actor(e, g->first.actor),
      cw__engine_str(e, g->first.loc), g->second.is_write ? "write" : "read",
      cw__report_actor(e, g->second.actor), cw__engine_str(e, g->second.loc));
  snprintf(other, sizeof other, "the other side of the race on '%s'", var);
  json_t *r = json_object(), *locs = json_array(), *rel = json_array();
  if (!r || !locs || !rel) {
    json_decref(r);
    json_decref(locs);
    json_decref(rel);
    *bad = 1;
    return NULL;
  }
  cw__jput(r, "ruleId", json_string("race"), bad);
  cw__jput(r, "ruleIndex", json_integer(0), bad);
  cw__jput(r, "level",
           json_string(g->severity == CW_SEV_ERROR ? "error" : "warning"), bad);
  cw__jput(r, "message", text(msg), bad);
  cw__jadd(locs, location(cw__engine_str(e, g->first.loc), NULL, 0, root, bad),
           bad);
  cw__jadd(rel, location(cw__engine_str(e, g->second.loc), other, 1, root, bad),
           bad);
  cw__jput(r, "locations", locs, bad);
  cw__jput(r, "relatedLocations", rel, bad);
  char fp[600];
  snprintf(fp, sizeof fp, "%s|%s|%s", var, cw__engine_str(e, g->loc1),
           cw__engine_str(e, g->loc2));
  cw__jput(r, "partialFingerprints",
           json_pack("{s:o}", "causewayRace/v1", cw__report_jstr(fp)), bad);
  return r;
}

static json_t *cycle_result(const cw_engine *e, const cw_deadlock *d,
                            const char *root, int *bad) {
  char msg[1024];
  size_t k = (size_t)snprintf(
      msg, sizeof msg, "%s: ", d->actual ? "Deadlock" : "Potential deadlock");
  for (uint32_t i = 0; i < d->n && k < sizeof msg; i++)
    k += (size_t)snprintf(msg + k, sizeof msg - k,
                          "%s%s holds '%s' and requests '%s'", i ? "; " : "",
                          cw__report_actor(e, d->edges[i].actor),
                          cw__engine_str(e, d->edges[i].held),
                          cw__engine_str(e, d->edges[i].requested));
  json_t *r = json_object(), *locs = json_array(), *rel = json_array();
  if (!r || !locs || !rel) {
    json_decref(r);
    json_decref(locs);
    json_decref(rel);
    *bad = 1;
    return NULL;
  }
  cw__jput(r, "ruleId",
           json_string(d->actual ? "deadlock" : "potential-deadlock"), bad);
  cw__jput(r, "ruleIndex", json_integer(d->actual ? 2 : 1), bad);
  cw__jput(r, "level", json_string(d->actual ? "error" : "warning"), bad);
  cw__jput(r, "message", text(msg), bad);
  for (uint32_t i = 0; i < d->n; i++) {
    char m[300];
    snprintf(m, sizeof m, "%s requests '%s' holding '%s'",
             cw__report_actor(e, d->edges[i].actor),
             cw__engine_str(e, d->edges[i].requested),
             cw__engine_str(e, d->edges[i].held));
    const char *loc = cw__engine_str(e, d->edges[i].loc);
    if (i == 0)
      cw__jadd(locs, location(loc, NULL, 0, root, bad), bad);
    else
      cw__jadd(rel, location(loc, m, (int)i, root, bad), bad);
  }
  cw__jput(r, "locations", locs, bad);
  cw__jput(r, "relatedLocations", rel, bad);
  return r;
}

int cw__report_write_sarif(FILE *out, const cw_findings *f) {
  int bad = 0;
  char cwd[4096];
  const char *root = getcwd(cwd, sizeof cwd) ? cwd : NULL;
  json_t *results = json_array();
  for (size_t i = 0; results && i < f->nraces; i++)
    cw__jadd(results, race_result(f->e, f->races[i], root, &bad), &bad);
  for (size_t i = 0; results && i < f->npotential; i++)
    cw__jadd(results, cycle_result(f->e, f->potential[i], root, &bad), &bad);
  for (size_t i = 0; results && i < f->ndeadlocks; i++)
    cw__jadd(results, cycle_result(f->e, f->deadlocks[i], root, &bad), &bad);
  json_t *doc = NULL;
  if (results && !bad)
    doc = json_pack("{s:s,s:s,s:[{s:{s:{s:s,s:s,s:s,s:o}},s:o}]}", "$schema",
                    "https://json.schemastore.org/sarif-2.1.0.json", "version",
                    "2.1.0", "runs", "tool", "driver", "name", "causeway",
                    "version", "0.1.0", "informationUri",
                    "https://github.com/causeway/causeway", "rules", rules(),
                    "results", results);
  else
    json_decref(results);
  if (!doc)
    return -1;
  /* The summary (with `exact` and the counts of what a bound cut) as the
   * run's property bag. */
  json_t *sum = cw__report_summary_json(f);
  json_t *run = json_array_get(json_object_get(doc, "runs"), 0);
  if (!sum || !run ||
      json_object_set_new(run, "properties",
                          json_pack("{s:o}", "summary", sum)) != 0) {
    json_decref(doc);
    return -1;
  }
  int rc = json_dumpf(doc, out, JSON_INDENT(2));
  json_decref(doc);
  if (rc == 0 && fputc('\n', out) == EOF)
    rc = -1;
  return rc;
}
