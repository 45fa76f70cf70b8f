/*
 * cw_report_json: the JSON report, {"summary":{...}, "races":[...],
 * "potential_deadlocks":[...], "deadlocks":[...], "locks":[...],
 * "anomalies":[...]}.
 * The collector serves the same document at GET /v1/findings.
 */
#include <stdlib.h>
#include <string.h>

#include "cw_report.h"
#include "cw_report_util.h"

static json_t *str(const cw_engine *e, cw_sym s) {
  return cw__report_jstr(cw__engine_str(e, s));
}

static json_t *u64(uint64_t v) {
  return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

json_t *cw__report_summary_json(const cw_findings *f) {
  const cw_summary *s = &f->sum;
  int bad = 0;
  json_t *o = json_object();
  if (!o)
    return NULL;
    /* The engine's counters (CW_SUMMARY_FIELDS), then the view's own. */
#define PUT_(name) cw__jput(o, #name, u64(s->name), &bad);
  CW_SUMMARY_FIELDS(PUT_)
#undef PUT_
  cw__jput(o, "exact", json_boolean(s->exact), &bad);
  cw__jput(o, "skipped_events", u64(f->in ? f->in->skipped_events : 0), &bad);
  cw__jput(o, "late_events", u64(f->in ? f->in->late_events : 0), &bad);
  cw__jput(o, "suppressed", u64(f->suppressed), &bad);
  if (bad) {
    json_decref(o);
    return NULL;
  }
  return o;
}

static json_t *access_json(const cw_engine *e, const cw_access *a, int *bad) {
  json_t *o = json_object();
  if (!o) {
    *bad = 1;
    return NULL;
  }
  cw__jput(o, "actor", cw__report_jstr(cw__report_actor(e, a->actor)), bad);
  cw__jput(o, "service", cw__report_jstr(cw__report_service(e, a->actor)), bad);
  cw__jput(o, "location", str(e, a->loc), bad);
  cw__jput(o, "access", json_string(a->is_write ? "write" : "read"), bad);
  cw__jput(o, "atomic", json_boolean(a->is_atomic), bad);
  if (a->val_flags & CW_AEF_VAL_INT)
    cw__jput(o, "value", json_integer((json_int_t)a->val_int), bad);
  else if (a->val_flags & CW_AEF_VAL_STR)
    cw__jput(o, "value", str(e, a->val_str), bad);
  json_t *locks = json_array();
  for (uint32_t i = 0; locks && i < a->nlocks; i++)
    cw__jadd(locks, str(e, a->locks[i]), bad);
  cw__jput(o, "locks", locks, bad);
  cw__jput(o, "seq", u64(a->seq), bad);
  if (a->clock) {
    /* The whole vector clock of the access (docs/detection.md). */
    cw__jput(o, "counter", u64(a->counter), bad);
    json_t *clk = json_array();
    for (uint32_t i = 0; clk && i < a->nclock; i++) {
      json_t *x = json_object();
      if (x) {
        cw__jput(x, "actor",
                 cw__report_jstr(cw__report_actor(e, a->clock[i].actor)), bad);
        cw__jput(x, "counter", u64(a->clock[i].counter), bad);
      }
      cw__jadd(clk, x, bad);
    }
    cw__jput(o, "clock", clk, bad);
  }
  return o;
}

json_t *cw__report_race_json(const cw_engine *e, const cw_race_group *g,
                             int *bad) {
  json_t *o = json_object();
  if (!o) {
    *bad = 1;
    return NULL;
  }
  int ww = g->first.is_write && g->second.is_write;
  cw__jput(o, "variable", str(e, g->var), bad);
  cw__jput(o, "severity",
           json_string(g->severity == CW_SEV_ERROR ? "error" : "warning"), bad);
  cw__jput(o, "kind", json_string(ww ? "write/write" : "read/write"), bad);
  cw__jput(o, "count", u64(g->count), bad);
  json_t *locs = json_array();
  if (locs) {
    cw__jadd(locs, str(e, g->loc1), bad);
    cw__jadd(locs, str(e, g->loc2), bad);
  }
  cw__jput(o, "locations", locs, bad);
  cw__jput(o, "first", access_json(e, &g->first, bad), bad);
  cw__jput(o, "second", access_json(e, &g->second, bad), bad);
  return o;
}

json_t *cw__report_deadlock_json(const cw_engine *e, const cw_deadlock *d,
                                 int *bad) {
  json_t *o = json_object(), *cyc = json_array();
  if (!o || !cyc) {
    json_decref(o);
    json_decref(cyc);
    *bad = 1;
    return NULL;
  }
  for (uint32_t i = 0; i < d->n; i++) {
    const cw_cycle_edge *x = &d->edges[i];
    json_t *ed = json_object();
    if (ed) {
      cw__jput(ed, "actor", cw__report_jstr(cw__report_actor(e, x->actor)),
               bad);
      cw__jput(ed, "service", cw__report_jstr(cw__report_service(e, x->actor)),
               bad);
      cw__jput(ed, "held", str(e, x->held), bad);
      cw__jput(ed, "requested", str(e, x->requested), bad);
      cw__jput(ed, "location", str(e, x->loc), bad);
      cw__jput(ed, "seq", u64(x->seq), bad);
    }
    cw__jadd(cyc, ed, bad);
  }
  cw__jput(o, "length", u64(d->n), bad);
  cw__jput(o, "cycle", cyc, bad);
  if (d->actual) {
    cw__jput(o, "active", json_boolean(d->active), bad);
    const char *how = cw__deadlock_end_name(d->ended);
    if (!d->active && how)
      cw__jput(o, "ended", json_string(how), bad);
  }
  return o;
}

static json_t *stats_json(uint64_t total, uint64_t p50, uint64_t p99,
                          uint64_t max, int *bad) {
  json_t *o = json_object();
  if (!o) {
    *bad = 1;
    return NULL;
  }
  cw__jput(o, "total", u64(total), bad);
  cw__jput(o, "p50", u64(p50), bad);
  cw__jput(o, "p99", u64(p99), bad);
  cw__jput(o, "max", u64(max), bad);
  return o;
}

json_t *cw__report_lock_json(const cw_engine *e, const cw_lock_stats *l,
                             int *bad) {
  json_t *o = json_object(), *top = json_array();
  if (!o || !top) {
    json_decref(o);
    json_decref(top);
    *bad = 1;
    return NULL;
  }
  cw__jput(o, "lock", str(e, l->lock), bad);
  cw__jput(o, "acquisitions", u64(l->acquisitions), bad);
  cw__jput(o, "contended", u64(l->contended), bad);
  cw__jput(o, "wait_ns",
           stats_json(l->wait_total_ns, l->wait_p50_ns, l->wait_p99_ns,
                      l->wait_max_ns, bad),
           bad);
  cw__jput(o, "hold_ns",
           stats_json(l->hold_total_ns, l->hold_p50_ns, l->hold_p99_ns,
                      l->hold_max_ns, bad),
           bad);
  for (uint32_t i = 0; i < l->ntop; i++) {
    json_t *t = json_object();
    if (t) {
      cw__jput(t, "location", str(e, l->top[i].loc), bad);
      cw__jput(t, "contended", u64(l->top[i].contended), bad);
      cw__jput(t, "wait_ns", u64(l->top[i].wait_ns), bad);
    }
    cw__jadd(top, t, bad);
  }
  cw__jput(o, "top_locations", top, bad);
  return o;
}

static json_t *skipped_json(const cw_input_stats *in, int *bad) {
  json_t *o = json_object();
  if (!o) {
    *bad = 1;
    return NULL;
  }
  for (int r = 0; in && r < CW_SKIP_REASON_COUNT_; r++)
    if (in->skipped[r])
      cw__jput(o, cw__skip_reason_name((cw_skip_reason)r), u64(in->skipped[r]),
               bad);
  return o;
}

json_t *cw__report_json_findings(const cw_findings *f) {
  const cw_engine *e = f->e;
  int bad = 0;
  json_t *root = json_object();
  if (!root)
    return NULL;
  cw__jput(root, "summary", cw__report_summary_json(f), &bad);
  json_t *a = json_array();
  for (size_t i = 0; a && i < f->nraces; i++)
    cw__jadd(a, cw__report_race_json(e, f->races[i], &bad), &bad);
  cw__jput(root, "races", a, &bad);
  a = json_array();
  for (size_t i = 0; a && i < f->npotential; i++)
    cw__jadd(a, cw__report_deadlock_json(e, f->potential[i], &bad), &bad);
  cw__jput(root, "potential_deadlocks", a, &bad);
  a = json_array();
  for (size_t i = 0; a && i < f->ndeadlocks; i++)
    cw__jadd(a, cw__report_deadlock_json(e, f->deadlocks[i], &bad), &bad);
  cw__jput(root, "deadlocks", a, &bad);
  a = json_array();
  for (size_t i = 0; a && i < f->nlocks; i++)
    cw__jadd(a, cw__report_lock_json(e, &f->locks[i], &bad), &bad);
  cw__jput(root, "locks", a, &bad);
  a = json_array();
  for (size_t i = 0; a && i < f->nanomalies; i++)
    cw__jadd(a, cw__report_anomaly_json(e, &f->anomalies[i], i), &bad);
  cw__jput(root, "anomalies", a, &bad);
  json_t *in = json_object();
  if (in) {
    cw__jput(in, "skipped_reasons", skipped_json(f->in, &bad), &bad);
    cw__jput(in, "unknown_fields", u64(f->in ? f->in->unknown_fields : 0),
             &bad);
    cw__jput(in, "truncated_files", u64(f->in ? f->in->truncated_files : 0),
             &bad);
  }
  cw__jput(root, "input", in, &bad);
  if (bad) {
    json_decref(root);
    return NULL;
  }
  return root;
}

json_t *cw__report_json(const cw_engine *e, const cw_input_stats *in) {
  cw_findings f;
  if (cw__findings_collect(&f, e, NULL, in) != 0) {
    cw__findings_free(&f);
    return NULL;
  }
  json_t *j = cw__report_json_findings(&f);
  cw__findings_free(&f);
  return j;
}

int cw__report_write_json(FILE *out, const cw_findings *f) {
  json_t *j = cw__report_json_findings(f);
  if (!j)
    return -1;
  int rc = json_dumpf(j, out, JSON_INDENT(2));
  json_decref(j);
  if (rc == 0 && fputc('\n', out) == EOF)
    rc = -1;
  return rc;
}
