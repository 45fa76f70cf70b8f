/*
 * cw_report_sarif: SARIF 2.1.0 output, as GitHub code scanning takes it.
 *
 * - Every location is a physicalLocation. A "FILE:LINE" location names the
 *   source file: relative to the source root (uriBaseId %SRCROOT%, declared
 *   in run.originalUriBaseIds) when it lies below it, else an absolute
 *   file:// URI. Any other location (an STD LOC such as "11", an
 *   "http-call:..." request) points at the trace file instead: at the
 *   event's line for STD text, line 1 for a binary trace; the original
 *   string stays in logicalLocations.
 * - The second side of a race and the other edges of a cycle are
 *   relatedLocations, linked from the message ("[text](id)") so GitHub
 *   shows them.
 * - partialFingerprints ("causewayRace/v1", "causewayDeadlock/v1") are built
 *   from names and root-relative locations only: stable across checkouts
 *   and machines. primaryLocationLineHash is left to GitHub's upload
 *   action, which computes it from the checked-out source (docs/cli.md).
 * - run.invocations says whether the input was complete (executionSuccessful)
 *   with the reason as a notification.
 *
 * A new kind of result adds a rule to `rules` below and a loop in
 * cw__report_write_sarif built on new_result/add_location.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cw_report.h"
#include "cw_report_util.h"

#define SRCROOT "%SRCROOT%"

typedef struct rule {
  const char *id, *name, *brief, *full, *level;
} rule;

static const rule rules[] = {
    {"race", "DataRace",
     "Two accesses to one variable, at least one a write, by different "
     "actors, with neither happening before the other",
     "Write/write races are errors, read/write races warnings.", "error"},
    {"potential-deadlock", "PotentialDeadlock",
     "Locks are taken in a cyclic order by concurrent actors",
     "A lock-order cycle with disjoint gate locks and pairwise concurrent "
     "requests.",
     "warning"},
    {"deadlock", "Deadlock", "Actors wait for locks held by each other",
     "A cycle in the wait-for graph.", "error"},
    {"anomaly", "Anomaly",
     "Slow calls, long lock waits, timeouts or a retry storm at one call site",
     "Grouped by call site against documented thresholds "
     "(docs/detection.md section 10).",
     "warning"},
};
#define NRULES (sizeof rules / sizeof rules[0])

typedef struct sarif {
  const cw_findings *f;
  const cw_engine *e;
  char root[4096]; /* absolute, no trailing '/' ("" = none) */
  char cwd[4096];
  int bad;
} sarif;

/* ---- Strings ---- */

typedef struct sbuf {
  char *p;
  size_t n, cap;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n, int *bad) {
  if (b->n + n + 1 > b->cap) {
    size_t cap = (b->n + n + 1) * 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      *bad = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = '\0';
}

static void sb_str(sbuf *b, const char *s, int *bad) {
  sb_put(b, s, strlen(s), bad);
}

/* Message text from trace data: '[', ']' and '\' escaped, so that only our
 * own "[text](id)" links are links (SARIF 3.11.6). */
static void sb_text(sbuf *b, const char *s, int *bad) {
  for (; *s; s++) {
    if (*s == '[' || *s == ']' || *s == '\\')
      sb_put(b, "\\", 1, bad);
    sb_put(b, s, 1, bad);
  }
}

static json_t *text(const char *s) {
  return json_pack("{s:o}", "text", cw__report_jstr(s));
}

/* Percent-encodes a path into a URI reference (unreserved bytes and '/'
 * kept). @return a new string or NULL. */
static json_t *uri_enc(const char *prefix, const char *s, size_t n) {
  static const char hex[] = "0123456789ABCDEF";
  size_t pl = strlen(prefix);
  char *buf = malloc(pl + n * 3 + 1);
  if (!buf)
    return NULL;
  memcpy(buf, prefix, pl);
  size_t k = pl;
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

/* Makes path absolute (against cwd) and removes "." and ".." segments and
 * repeated slashes, lexically. @return a new string or NULL. */
static char *normalize(const sarif *s, const char *path, size_t n) {
  size_t cl = path[0] == '/' ? 0 : strlen(s->cwd);
  char *in = malloc(cl + n + 2), *out = malloc(cl + n + 2);
  if (!in || !out) {
    free(in);
    free(out);
    return NULL;
  }
  memcpy(in, s->cwd, cl);
  in[cl] = '/';
  memcpy(in + cl + 1, path, n);
  in[cl + 1 + n] = '\0';
  size_t k = 0;
  const char *p = in;
  while (*p) {
    while (*p == '/')
      p++;
    const char *seg = p;
    while (*p && *p != '/')
      p++;
    size_t sl = (size_t)(p - seg);
    if (sl == 0 || (sl == 1 && seg[0] == '.'))
      continue;
    if (sl == 2 && seg[0] == '.' && seg[1] == '.') {
      while (k > 0 && out[k - 1] != '/')
        k--;
      if (k > 0)
        k--;
      continue;
    }
    out[k++] = '/';
    memcpy(out + k, seg, sl);
    k += sl;
  }
  if (k == 0)
    out[k++] = '/';
  out[k] = '\0';
  free(in);
  return out;
}

/* A resolved file: its URI (and base id) for SARIF, and its stable name for
 * fingerprints (root-relative, else the file name alone). */
typedef struct where {
  json_t *uri;
  int under_root;
  char stable[512];
} where;

static void resolve_path(sarif *s, const char *path, size_t n, where *w) {
  memset(w, 0, sizeof *w);
  char *abs = normalize(s, path, n);
  if (!abs) {
    s->bad = 1;
    return;
  }
  size_t rl = strlen(s->root);
  if (rl > 0 && strncmp(abs, s->root, rl) == 0 && abs[rl] == '/' &&
      abs[rl + 1]) {
    const char *rel = abs + rl + 1;
    w->uri = uri_enc("", rel, strlen(rel));
    w->under_root = 1;
    snprintf(w->stable, sizeof w->stable, "%s", rel);
  } else {
    w->uri = uri_enc("file://", abs, strlen(abs));
    const char *base = strrchr(abs, '/');
    snprintf(w->stable, sizeof w->stable, "%s", base ? base + 1 : abs);
  }
  if (!w->uri)
    s->bad = 1;
  free(abs);
}

/* The input an actor's events came from: STD inputs are named after their
 * file (service = basename), `run` traces are <service>-<pid>.cwt. */
static const cw_report_input *input_of(const sarif *s, cw_actor_id actor) {
  const cw_report_ctx *c = s->f->ctx;
  if (!c || c->ninputs == 0)
    return NULL;
  const char *svc = cw__report_service(s->e, actor);
  size_t sl = strlen(svc);
  for (size_t i = 0; sl && i < c->ninputs; i++) {
    const char *b = strrchr(c->inputs[i].path, '/');
    b = b ? b + 1 : c->inputs[i].path;
    if (!strcmp(b, svc) || (!strncmp(b, svc, sl) && b[sl] == '-'))
      return &c->inputs[i];
  }
  return &c->inputs[0];
}

/* The stable name of a location for fingerprints. */
static void stable_loc(sarif *s, const char *loc, char *out, size_t cap) {
  size_t fl;
  unsigned long line;
  if (cw__loc_split(loc, &fl, &line)) {
    where w;
    resolve_path(s, loc, fl, &w);
    snprintf(out, cap, "%s:%lu", w.stable, line);
    json_decref(w.uri);
  } else {
    snprintf(out, cap, "%s", loc);
  }
}

/* A SARIF location for `loc`, recorded by `actor` at input position `seq`;
 * id > 0 for related locations. */
static json_t *location(sarif *s, const char *loc, cw_actor_id actor,
                        uint64_t seq, const char *msg, int id) {
  json_t *o = json_object();
  if (!o) {
    s->bad = 1;
    return NULL;
  }
  if (id > 0)
    cw__jput(o, "id", json_integer(id), &s->bad);
  size_t fl;
  unsigned long line;
  where w;
  if (cw__loc_split(loc, &fl, &line)) {
    resolve_path(s, loc, fl, &w);
  } else {
    /* No source line: the trace file (and the event's line in STD text). */
    const cw_report_input *in = input_of(s, actor);
    if (in) {
      resolve_path(s, in->path, strlen(in->path), &w);
      line = in->is_std && seq > 0 ? (unsigned long)seq : 1;
    } else {
      memset(&w, 0, sizeof w);
      w.uri = json_string("trace");
      line = 1;
    }
    cw__jput(o, "logicalLocations",
             json_pack("[{s:o,s:s}]", "name", cw__report_jstr(loc), "kind",
                       "location"),
             &s->bad);
  }
  json_t *art = json_pack("{s:o}", "uri", w.uri);
  if (art && w.under_root)
    cw__jput(art, "uriBaseId", json_string(SRCROOT), &s->bad);
  cw__jput(o, "physicalLocation",
           json_pack("{s:o,s:{s:I}}", "artifactLocation", art, "region",
                     "startLine", (json_int_t)line),
           &s->bad);
  if (msg)
    cw__jput(o, "message", text(msg), &s->bad);
  return o;
}

static size_t rule_index(const char *id) {
  for (size_t i = 0; i < NRULES; i++)
    if (!strcmp(rules[i].id, id))
      return i;
  return 0;
}

/* A result of rule `id` with a message; locations are added after. */
static json_t *new_result(sarif *s, const char *id, const char *level,
                          const char *msg) {
  json_t *r = json_object();
  if (!r) {
    s->bad = 1;
    return NULL;
  }
  cw__jput(r, "ruleId", json_string(id), &s->bad);
  cw__jput(r, "ruleIndex", json_integer((json_int_t)rule_index(id)), &s->bad);
  cw__jput(r, "level", json_string(level), &s->bad);
  cw__jput(r, "message", text(msg), &s->bad);
  cw__jput(r, "locations", json_array(), &s->bad);
  cw__jput(r, "relatedLocations", json_array(), &s->bad);
  return r;
}

static void add_location(sarif *s, json_t *r, json_t *loc, int related) {
  json_t *a = json_object_get(r, related ? "relatedLocations" : "locations");
  if (!a) {
    json_decref(loc);
    s->bad = 1;
    return;
  }
  cw__jadd(a, loc, &s->bad);
}

static void fingerprint(sarif *s, json_t *r, const char *key, const char *v) {
  cw__jput(r, "partialFingerprints",
           json_pack("{s:o}", key, cw__report_jstr(v)), &s->bad);
}

/* "[loc](id)" of a related location: loc in its root-relative form,
 * escaped. */
static void sb_link(sarif *s, sbuf *b, const char *loc, int id) {
  char n[32], st[600];
  stable_loc(s, loc, st, sizeof st);
  sb_str(b, "[", &s->bad);
  sb_text(b, st, &s->bad);
  snprintf(n, sizeof n, "](%d)", id);
  sb_str(b, n, &s->bad);
}

static json_t *race_result(sarif *s, const cw_race_group *g) {
  const cw_engine *e = s->e;
  const char *var = cw__engine_str(e, g->var);
  int ww = g->first.is_write && g->second.is_write;
  sbuf m = {0};
  sb_str(&m, "Data race on '", &s->bad);
  sb_text(&m, var, &s->bad);
  sb_str(&m, ww ? "' (write/write): " : "' (read/write): ", &s->bad);
  sb_str(&m, g->first.is_write ? "write by " : "read by ", &s->bad);
  sb_text(&m, cw__report_actor(e, g->first.actor), &s->bad);
  sb_str(&m,
         g->second.is_write ? ", concurrent write by "
                            : ", concurrent read by ",
         &s->bad);
  sb_text(&m, cw__report_actor(e, g->second.actor), &s->bad);
  sb_str(&m, " at ", &s->bad);
  sb_link(s, &m, cw__engine_str(e, g->second.loc), 1);
  json_t *r =
      new_result(s, "race", g->severity == CW_SEV_ERROR ? "error" : "warning",
                 m.p ? m.p : "Data race");
  free(m.p);
  if (!r)
    return NULL;
  char other[600];
  snprintf(other, sizeof other, "the other side of the race on '%s'", var);
  add_location(s, r,
               location(s, cw__engine_str(e, g->first.loc), g->first.actor,
                        g->first.seq, NULL, 0),
               0);
  add_location(s, r,
               location(s, cw__engine_str(e, g->second.loc), g->second.actor,
                        g->second.seq, other, 1),
               1);
  /* The group's two locations, in a checkout-independent form and order. */
  char a[600], b[600], fp[1400];
  stable_loc(s, cw__engine_str(e, g->loc1), a, sizeof a);
  stable_loc(s, cw__engine_str(e, g->loc2), b, sizeof b);
  int swap = strcmp(a, b) > 0;
  snprintf(fp, sizeof fp, "%s|%s|%s", var, swap ? b : a, swap ? a : b);
  fingerprint(s, r, "causewayRace/v1", fp);
  return r;
}

static json_t *cycle_result(sarif *s, const cw_deadlock *d) {
  const cw_engine *e = s->e;
  sbuf m = {0};
  sb_str(&m, d->actual ? "Deadlock: " : "Potential deadlock: ", &s->bad);
  for (uint32_t i = 0; i < d->n; i++) {
    const cw_cycle_edge *x = &d->edges[i];
    sb_str(&m, i ? "; " : "", &s->bad);
    sb_text(&m, cw__report_actor(e, x->actor), &s->bad);
    sb_str(&m, " holds '", &s->bad);
    sb_text(&m, cw__engine_str(e, x->held), &s->bad);
    sb_str(&m, "' and requests '", &s->bad);
    sb_text(&m, cw__engine_str(e, x->requested), &s->bad);
    sb_str(&m, "'", &s->bad);
    if (i > 0) {
      sb_str(&m, " at ", &s->bad);
      sb_link(s, &m, cw__engine_str(e, x->loc), (int)i);
    }
  }
  const char *id = d->actual ? "deadlock" : "potential-deadlock";
  json_t *r =
      new_result(s, id, d->actual ? "error" : "warning", m.p ? m.p : id);
  free(m.p);
  if (!r)
    return NULL;
  for (uint32_t i = 0; i < d->n; i++) {
    const cw_cycle_edge *x = &d->edges[i];
    char msg[600];
    snprintf(msg, sizeof msg, "%s requests '%s' holding '%s'",
             cw__report_actor(e, x->actor), cw__engine_str(e, x->requested),
             cw__engine_str(e, x->held));
    add_location(s, r,
                 location(s, cw__engine_str(e, x->loc), x->actor, x->seq,
                          i ? msg : NULL, (int)i),
                 i > 0);
  }
  /* The cycle's lock names, rotated to start at the smallest held lock
   * (cycles are equal up to rotation): no paths, no actor names. */
  uint32_t first = 0;
  for (uint32_t i = 1; i < d->n; i++)
    if (strcmp(cw__engine_str(e, d->edges[i].held),
               cw__engine_str(e, d->edges[first].held)) < 0)
      first = i;
  sbuf fp = {0};
  sb_str(&fp, id, &s->bad);
  for (uint32_t k = 0; k < d->n; k++) {
    const cw_cycle_edge *x = &d->edges[(first + k) % d->n];
    sb_str(&fp, "|", &s->bad);
    sb_str(&fp, cw__engine_str(e, x->held), &s->bad);
    sb_str(&fp, ">", &s->bad);
    sb_str(&fp, cw__engine_str(e, x->requested), &s->bad);
  }
  fingerprint(s, r, "causewayDeadlock/v1", fp.p ? fp.p : id);
  free(fp.p);
  return r;
}

static json_t *anomaly_result(sarif *s, const cw_anomaly *a) {
  const cw_engine *e = s->e;
  char msg[1024];
  cw__report_anomaly_line(e, a, msg, sizeof msg);
  json_t *r = new_result(s, "anomaly", "warning", msg);
  if (!r)
    return NULL;
  const char *loc = cw__engine_str(e, a->first_loc);
  const char *site = cw__engine_str(e, a->site);
  add_location(
      s, r,
      location(s, *loc ? loc : site, a->first_actor, a->first_seq, NULL, 0), 0);
  /* The site in its root-relative form when it is a FILE:LINE. */
  char st[600], fp[1400];
  stable_loc(s, site, st, sizeof st);
  snprintf(fp, sizeof fp, "%s|%s|%s", cw__anomaly_kind_name(a->kind),
           cw__engine_str(e, a->service), st);
  fingerprint(s, r, "causewayAnomaly/v1", fp);
  return r;
}

static json_t *rules_json(sarif *s) {
  json_t *a = json_array();
  for (size_t i = 0; a && i < NRULES; i++)
    cw__jadd(a,
             json_pack("{s:s,s:s,s:{s:s},s:{s:s},s:{s:s}}", "id", rules[i].id,
                       "name", rules[i].name, "shortDescription", "text",
                       rules[i].brief, "fullDescription", "text", rules[i].full,
                       "defaultConfiguration", "level", rules[i].level),
             &s->bad);
  if (!a)
    s->bad = 1;
  return a;
}

static json_t *invocation(sarif *s) {
  const char *why = cw__gate_incomplete(s->f);
  json_t *inv = json_pack("{s:b}", "executionSuccessful", why == NULL);
  if (inv && why)
    cw__jput(inv, "toolExecutionNotifications",
             json_pack("[{s:s,s:o}]", "level", "error", "message", text(why)),
             &s->bad);
  return json_pack("[o]", inv);
}

int cw__report_write_sarif(FILE *out, const cw_findings *f) {
  sarif s;
  memset(&s, 0, sizeof s);
  s.f = f;
  s.e = f->e;
  if (!getcwd(s.cwd, sizeof s.cwd))
    snprintf(s.cwd, sizeof s.cwd, "/");
  const char *root =
      f->ctx && f->ctx->source_root ? f->ctx->source_root : s.cwd;
  char *nroot = root[0] == '/' ? normalize(&s, root, strlen(root)) : NULL;
  snprintf(s.root, sizeof s.root, "%s",
           nroot && strcmp(nroot, "/") ? nroot : "");
  free(nroot);
  json_t *results = json_array();
  for (size_t i = 0; results && i < f->nraces; i++)
    cw__jadd(results, race_result(&s, f->races[i]), &s.bad);
  for (size_t i = 0; results && i < f->npotential; i++)
    cw__jadd(results, cycle_result(&s, f->potential[i]), &s.bad);
  for (size_t i = 0; results && i < f->ndeadlocks; i++)
    cw__jadd(results, cycle_result(&s, f->deadlocks[i]), &s.bad);
  for (size_t i = 0; results && i < f->nanomalies; i++)
    cw__jadd(results, anomaly_result(&s, &f->anomalies[i]), &s.bad);
  json_t *run = results ? json_pack("{s:{s:{s:s,s:s,s:s,s:o}},s:o,s:o}", "tool",
                                    "driver", "name", "causeway", "version",
                                    "0.1.0", "informationUri",
                                    "https://github.com/causeway/causeway",
                                    "rules", rules_json(&s), "invocations",
                                    invocation(&s), "results", results)
                        : NULL;
  if (run && s.root[0]) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/", s.root);
    cw__jput(run, "originalUriBaseIds",
             json_pack("{s:{s:o}}", SRCROOT, "uri",
                       uri_enc("file://", dir, strlen(dir))),
             &s.bad);
  }
  json_t *doc = NULL;
  if (run && !s.bad)
    doc = json_pack("{s:s,s:s,s:[o]}", "$schema",
                    "https://json.schemastore.org/sarif-2.1.0.json", "version",
                    "2.1.0", "runs", run);
  else
    json_decref(run);
  if (!doc)
    return -1;
  /* The summary (with `exact` and the counts of what a bound cut) as the
   * run's property bag. */
  json_t *sum = cw__report_summary_json(f);
  json_t *run0 = json_array_get(json_object_get(doc, "runs"), 0);
  if (!sum || !run0 ||
      json_object_set_new(run0, "properties",
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
