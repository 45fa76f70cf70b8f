/*
 * cw_report_json: the JSON report, {"summary":{...}, "races":[...],
 * "potential_deadlocks":[...], "deadlocks":[...], "locks":[...]}.
 * The collector serves the same document at GET /v1/findings.
 */
#include <stdlib.h>
#include <string.h>

#include "cw_report.h"

static json_t *str(const cw_engine *e, cw_sym s)
{
  return json_string(cw__engine_str(e, s));
}

/* json_object_set_new that remembers a failure. */
static void put(json_t *o, const char *k, json_t *v, int *bad)
{
  if (!v || json_object_set_new(o, k, v) != 0)
    *bad = 1;
}

static void add(json_t *a, json_t *v, int *bad)
{
  if (!v || json_array_append_new(a, v) != 0)
    *bad = 1;
}

static json_t *u64(uint64_t v)
{
  return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

json_t *cw__report_summary_json(const cw_findings *f)
{
  const cw_summary *s = &f->sum;
  int bad = 0;
  json_t *o = json_object();
  if (!o)
    return NULL;
  put(o, "events", u64(s->events), &bad);
  put(o, "racy_variables", u64(s->racy_variables), &bad);
  put(o, "racy_location_pairs", u64(s->racy_location_pairs), &bad);
  put(o, "race_groups", u64(s->race_groups), &bad);
  put(o, "potential_deadlocks", u64(s->potential_deadlocks), &bad);
  put(o, "deadlocks", u64(s->deadlocks), &bad);
  put(o, "contended_locks", u64(s->contended_locks), &bad);
  put(o, "invalid_events", u64(s->invalid_events), &bad);
  put(o, "lost_events", u64(s->lost_events), &bad);
  put(o, "pending_events", u64(s->pending_events), &bad);
  put(o, "forced_events", u64(s->forced_events), &bad);
  put(o, "retired_actors", u64(s->retired_actors), &bad);
  put(o, "active_deadlocks", u64(s->active_deadlocks), &bad);
  put(o, "skipped_events", u64(f->in ? f->in->skipped_events : 0), &bad);
  put(o, "suppressed", u64(f->suppressed), &bad);
  if (bad) {
    json_decref(o);
    return NULL;
  }
  return o;
}

static json_t *access_json(const cw_engine *e, const cw_access *a, int *bad)
{
  json_t *o = json_object();
  if (!o) {
    *bad = 1;
    return NULL;
  }
  put(o, "actor", json_string(cw__report_actor(e, a->actor)), bad);
  put(o, "service", json_string(cw__report_service(e, a->actor)), bad);
  put(o, "location", str(e, a->loc), bad);
  put(o, "access", json_string(a->is_write ? "write" : "read"), bad);
  put(o, "atomic", json_boolean(a->is_atomic), bad);
  if (a->val_flags & CW_AEF_VAL_INT)
    put(o, "value", json_integer((json_int_t)a->val_int), bad);
  else if (a->val_flags & CW_AEF_VAL_STR)
    put(o, "value", str(e, a->val_str), bad);
  json_t *locks = json_array();
  for (uint32_t i = 0; locks && i < a->nlocks; i++)
    add(locks, str(e, a->locks[i]), bad);
  put(o, "locks", locks, bad);
  put(o, "seq", u64(a->seq), bad);
  return o;
}

static json_t *race_json(const cw_engine *e, const cw_race_group *g,
                         int *bad)
{
  json_t *o = json_object();
  if (!o) {
    *bad = 1;
    return NULL;
  }
  int ww = g->first.is_write && g->second.is_write;
  put(o, "variable", str(e, g->var), bad);
  put(o, "severity",
      json_string(g->severity == CW_SEV_ERROR ? "error" : "warning"), bad);
  put(o, "kind", json_string(ww ? "write/write" : "read/write"), bad);
  put(o, "count", u64(g->count), bad);
  json_t *locs = json_array();
  if (locs) {
    add(locs, str(e, g->loc1), bad);
    add(locs, str(e, g->loc2), bad);
  }
  put(o, "locations", locs, bad);
  put(o, "first", access_json(e, &g->first, bad), bad);
  put(o, "second", access_json(e, &g->second, bad), bad);
  return o;
}

static json_t *deadlock_json(const cw_engine *e, const cw_deadlock *d,
                             int *bad)
{
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
      put(ed, "actor", json_string(cw__report_actor(e, x->actor)), bad);
      put(ed, "service", json_string(cw__report_service(e, x->actor)), bad);
      put(ed, "held", str(e, x->held), bad);
      put(ed, "requested", str(e, x->requested), bad);
      put(ed, "location", str(e, x->loc), bad);
      put(ed, "seq", u64(x->seq), bad);
    }
    add(cyc, ed, bad);
  }
  put(o, "cycle", cyc, bad);
  if (d->actual)
    put(o, "active", json_boolean(d->active), bad);
  return o;
}

static json_t *stats_json(uint64_t total, uint64_t p50, uint64_t p99,
                          uint64_t max, int *bad)
{
  json_t *o = json_object();
  if (!o) {
    *bad = 1;
    return NULL;
  }
  put(o, "total", u64(total), bad);
  put(o, "p50", u64(p50), bad);
  put(o, "p99", u64(p99), bad);
  put(o, "max", u64(max), bad);
  return o;
}

static json_t *lock_json(const cw_engine *e, const cw_lock_stats *l, int *bad)
{
  json_t *o = json_object(), *top = json_array();
  if (!o || !top) {
    json_decref(o);
    json_decref(top);
    *bad = 1;
    return NULL;
  }
  put(o, "lock", str(e, l->lock), bad);
  put(o, "acquisitions", u64(l->acquisitions), bad);
  put(o, "contended", u64(l->contended), bad);
  put(o, "wait_ns", stats_json(l->wait_total_ns, l->wait_p50_ns,
                               l->wait_p99_ns, l->wait_max_ns, bad), bad);
  put(o, "hold_ns", stats_json(l->hold_total_ns, l->hold_p50_ns,
                               l->hold_p99_ns, l->hold_max_ns, bad), bad);
  for (uint32_t i = 0; i < l->ntop; i++) {
    json_t *t = json_object();
    if (t) {
      put(t, "location", str(e, l->top[i].loc), bad);
      put(t, "contended", u64(l->top[i].contended), bad);
      put(t, "wait_ns", u64(l->top[i].wait_ns), bad);
    }
    add(top, t, bad);
  }
  put(o, "top_locations", top, bad);
  return o;
}

static json_t *skipped_json(const cw_input_stats *in, int *bad)
{
  json_t *o = json_object();
  if (!o) {
    *bad = 1;
    return NULL;
  }
  for (int r = 0; in && r < CW_SKIP_REASON_COUNT_; r++)
    if (in->skipped[r])
      put(o, cw__skip_reason_name((cw_skip_reason)r), u64(in->skipped[r]),
          bad);
  return o;
}

json_t *cw__report_json_findings(const cw_findings *f)
{
  const cw_engine *e = f->e;
  int bad = 0;
  json_t *root = json_object();
  if (!root)
    return NULL;
  put(root, "summary", cw__report_summary_json(f), &bad);
  json_t *a = json_array();
  for (size_t i = 0; a && i < f->nraces; i++)
    add(a, race_json(e, f->races[i], &bad), &bad);
  put(root, "races", a, &bad);
  a = json_array();
  for (size_t i = 0; a && i < f->npotential; i++)
    add(a, deadlock_json(e, f->potential[i], &bad), &bad);
  put(root, "potential_deadlocks", a, &bad);
  a = json_array();
  for (size_t i = 0; a && i < f->ndeadlocks; i++)
    add(a, deadlock_json(e, f->deadlocks[i], &bad), &bad);
  put(root, "deadlocks", a, &bad);
  a = json_array();
  for (size_t i = 0; a && i < f->nlocks; i++)
    add(a, lock_json(e, &f->locks[i], &bad), &bad);
  put(root, "locks", a, &bad);
  json_t *in = json_object();
  if (in) {
    put(in, "skipped_reasons", skipped_json(f->in, &bad), &bad);
    put(in, "unknown_fields", u64(f->in ? f->in->unknown_fields : 0), &bad);
    put(in, "truncated_files", u64(f->in ? f->in->truncated_files : 0),
        &bad);
  }
  put(root, "input", in, &bad);
  if (bad) {
    json_decref(root);
    return NULL;
  }
  return root;
}

json_t *cw__report_json(const cw_engine *e, const cw_input_stats *in)
{
  cw_findings f;
  if (cw__findings_collect(&f, e, NULL, in) != 0) {
    cw__findings_free(&f);
    return NULL;
  }
  json_t *j = cw__report_json_findings(&f);
  cw__findings_free(&f);
  return j;
}

int cw__report_write_json(FILE *out, const cw_findings *f)
{
  json_t *j = cw__report_json_findings(f);
  if (!j)
    return -1;
  int rc = json_dumpf(j, out, JSON_INDENT(2));
  json_decref(j);
  if (rc == 0 && fputc('\n', out) == EOF)
    rc = -1;
  return rc;
}
