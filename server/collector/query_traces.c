/*
 * query_traces: JSON views of the trace index: the traces list, one trace
 * (its events and the findings that involve its actors), its export as
 * Chrome Trace Event JSON, and the services with the calls between them.
 */
#define _POSIX_C_SOURCE 200809L
#include "query.h"

#include "cw_format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int has_actor(const cw_trace *tr, cw_actor_id a) {
  for (uint32_t i = 0; i < tr->nactors; i++)
    if (tr->actors[i] == a)
      return 1;
  return 0;
}

static json_t *services_json(cw_engine *e, const cw_trace *tr) {
  json_t *s = json_array();
  for (uint32_t i = 0; i < tr->nservices; i++)
    json_array_append_new(s, cw__q_str(e, tr->services[i]));
  return s;
}

static json_t *trace_head(cw_engine *e, const cw_trace *tr) {
  char hex[33];
  cw__id_to_hex(tr->id, hex);
  return json_pack("{s:s,s:o,s:I,s:I,s:I}", "trace_id", hex, "services",
                   services_json(e, tr), "events", (json_int_t)tr->nevents,
                   "start_ns", (json_int_t)tr->first_ns, "duration_ns",
                   (json_int_t)(tr->last_ns - tr->first_ns));
}

static int has_service(cw_engine *e, const cw_trace *tr, const char *svc) {
  for (uint32_t i = 0; i < tr->nservices; i++)
    if (!strcmp(cw__engine_str(e, tr->services[i]), svc))
      return 1;
  return 0;
}

json_t *cw__query_traces(cw_engine *e, const cw_traces *t, const cw_query *q) {
  const cw_trace **all = malloc(CW_TRACES_MAX * sizeof *all);
  json_t *items = json_array();
  uint64_t total = 0;
  if (all) {
    size_t n;
    cw__traces_list(t, 0, CW_TRACES_MAX, all, &n);
    for (size_t i = 0; i < n; i++) {
      if (q->service[0] && !has_service(e, all[i], q->service))
        continue;
      if (total >= q->offset && total < q->offset + q->limit)
        json_array_append_new(items, trace_head(e, all[i]));
      total++;
    }
  }
  free(all);
  return cw__q_page(items, total, q);
}

static void span_hex(const uint8_t s[8], char out[17]) {
  for (int i = 0; i < 8; i++)
    snprintf(out + i * 2, 3, "%02x", s[i]);
}

static json_t *event_json(cw_engine *e, const cw_trace_event *ev) {
  json_t *o = cw__q_actor_obj(e, ev->actor);
  char sp[17], parent[17];
  span_hex(ev->span_id, sp);
  span_hex(ev->parent_span_id, parent);
  json_object_set_new(o, "kind", json_string(cw__ev_kind_name(ev->kind)));
  if (ev->object)
    json_object_set_new(o, "object", cw__q_str(e, ev->object));
  if (ev->loc)
    json_object_set_new(o, "location", cw__q_str(e, ev->loc));
  if (ev->detail)
    json_object_set_new(o, "detail", cw__q_str(e, ev->detail));
  json_object_set_new(o, "wall_ns", json_integer(ev->wall_ns));
  if (ev->duration_ns)
    json_object_set_new(o, "duration_ns",
                        json_integer((json_int_t)ev->duration_ns));
  if (ev->flags & CW_EVF_AUX)
    json_object_set_new(o, "aux", json_integer(ev->aux));
  json_object_set_new(o, "seq", json_integer((json_int_t)ev->seq));
  json_object_set_new(o, "span_id", json_string(sp));
  json_object_set_new(o, "parent_span_id", json_string(parent));
  return o;
}

json_t *cw__query_trace(cw_engine *e, const cw_traces *t, const char *hex,
                        const cw_query *q) {
  uint8_t id[16];
  const cw_trace *tr = cw__hex_to_id(hex, id) ? NULL : cw__traces_get(t, id);
  if (!tr)
    return NULL;
  json_t *o = trace_head(e, tr);
  json_t *actors = json_array();
  for (uint32_t i = 0; i < tr->nactors; i++)
    json_array_append_new(actors, cw__q_actor_obj(e, tr->actors[i]));
  json_object_set_new(o, "actors", actors);
  json_t *evs = json_array();
  for (uint64_t i = q->offset; i < tr->n && i < q->offset + q->limit; i++)
    json_array_append_new(evs, event_json(e, &tr->ev[i]));
  json_object_set_new(o, "events_kept", json_integer(tr->n));
  json_object_set_new(o, "offset", json_integer((json_int_t)q->offset));
  json_object_set_new(o, "limit", json_integer((json_int_t)q->limit));
  json_object_set_new(o, "items", evs);
  /* Findings that involve the trace's actors. */
  json_t *races = json_array();
  const cw_race_group *g;
  size_t n = cw__engine_races(e, &g);
  for (size_t i = 0; i < n; i++)
    if (has_actor(tr, g[i].first.actor) || has_actor(tr, g[i].second.actor)) {
      json_t *r = cw__q_race_json(e, &g[i]);
      json_object_set_new(r, "index", json_integer((json_int_t)i));
      json_array_append_new(races, r);
    }
  json_object_set_new(o, "races", races);
  for (int actual = 0; actual < 2; actual++) {
    json_t *arr = json_array();
    const cw_deadlock *d;
    n = actual ? cw__engine_deadlocks(e, &d)
               : cw__engine_potential_deadlocks(e, &d);
    for (size_t i = 0; i < n; i++) {
      int hit = 0;
      if (d[i].withdrawn)
        continue;
      for (uint32_t k = 0; k < d[i].n; k++)
        hit |= has_actor(tr, d[i].edges[k].actor);
      if (hit) {
        json_t *dj = cw__q_deadlock_json(e, &d[i]);
        json_object_set_new(dj, "index", json_integer((json_int_t)i));
        json_array_append_new(arr, dj);
      }
    }
    json_object_set_new(o, actual ? "deadlocks" : "potential_deadlocks", arr);
  }
  json_t *locks = json_array();
  const cw_lock_stats *l;
  n = cw__engine_locks(e, &l);
  for (size_t i = 0; i < n; i++) {
    int hit = 0;
    for (uint32_t k = 0; k < tr->n && !hit; k++)
      hit = tr->ev[k].kind >= CW_EV_LOCK_REQUEST &&
            tr->ev[k].kind <= CW_EV_LOCK_RELEASE &&
            tr->ev[k].object == l[i].lock;
    if (hit)
      json_array_append_new(locks, cw__q_lock_json(e, &l[i]));
  }
  json_object_set_new(o, "contention", locks);
  const cw_span_info *sp;
  uint64_t total = 0;
  n = cw__engine_critical_path(e, &sp, &total);
  json_t *path = json_array();
  uint64_t ptotal = 0;
  for (size_t i = 0; i < n; i++)
    if (has_actor(tr, sp[i].actor)) {
      json_t *s = cw__q_actor_obj(e, sp[i].actor);
      json_object_set_new(s, "span", cw__q_str(e, sp[i].name));
      json_object_set_new(s, "duration_ns",
                          json_integer((json_int_t)sp[i].duration_ns));
      json_array_append_new(path, s);
      ptotal += sp[i].duration_ns;
    }
  json_object_set_new(
      o, "critical_path",
      json_pack("{s:I,s:o}", "total_ns", (json_int_t)ptotal, "spans", path));
  return o;
}

/* Stable small ids for Chrome's pid/tid: index in the trace's lists. */
static int svc_index(cw_engine *e, const cw_trace *tr, cw_actor_id a) {
  cw_sym s = cw__engine_actor_service(e, a);
  for (uint32_t i = 0; i < tr->nservices; i++)
    if (tr->services[i] == s)
      return (int)i + 1;
  return (int)tr->nservices + 1;
}

static int actor_index(const cw_trace *tr, cw_actor_id a) {
  for (uint32_t i = 0; i < tr->nactors; i++)
    if (tr->actors[i] == a)
      return (int)i + 1;
  return 0;
}

static uint64_t span_key(const uint8_t s[8]) {
  uint64_t k = 0;
  for (int i = 0; i < 8; i++)
    k = k << 8 | s[i];
  return k;
}

/* Flow arrows pair each http_send with the http_recv that answers it: the
 * recv's parent span is the send's span. One task may send several times
 * under one span (a GET, then a PUT): the k-th send of a span pairs with
 * the k-th recv naming it, both in time order. *flow receives, per event,
 * its flow id (0: no arrow); ids are 1, 2, ... and every id has exactly
 * one start and one end. */
static void pair_flows(const cw_trace *tr, uint32_t *flow) {
  uint32_t next = 1;
  memset(flow, 0, tr->n * sizeof *flow);
  for (;;) {
    /* The earliest unpaired send, and the earliest unpaired recv naming
     * its span. */
    int64_t best = INT64_MAX;
    uint32_t si = UINT32_MAX;
    for (uint32_t i = 0; i < tr->n; i++) {
      const cw_trace_event *ev = &tr->ev[i];
      if (ev->kind == CW_EV_HTTP_SEND && !flow[i] && span_key(ev->span_id) &&
          ev->wall_ns < best) {
        best = ev->wall_ns;
        si = i;
      }
    }
    if (si == UINT32_MAX)
      return;
    uint64_t key = span_key(tr->ev[si].span_id);
    uint32_t ri = UINT32_MAX;
    best = INT64_MAX;
    for (uint32_t i = 0; i < tr->n; i++) {
      const cw_trace_event *ev = &tr->ev[i];
      if (ev->kind == CW_EV_HTTP_RECV && !flow[i] &&
          span_key(ev->parent_span_id) == key && ev->wall_ns < best) {
        best = ev->wall_ns;
        ri = i;
      }
    }
    flow[si] = ri == UINT32_MAX ? UINT32_MAX : next; /* UINT32_MAX: none */
    if (ri != UINT32_MAX)
      flow[ri] = next++;
  }
}

json_t *cw__query_trace_chrome(cw_engine *e, const cw_traces *t,
                               const char *hex) {
  uint8_t id[16];
  const cw_trace *tr = cw__hex_to_id(hex, id) ? NULL : cw__traces_get(t, id);
  if (!tr)
    return NULL;
  uint32_t *flow = malloc((tr->n ? tr->n : 1) * sizeof *flow);
  if (!flow)
    return NULL;
  pair_flows(tr, flow);
  json_t *evs = json_array();
  for (uint32_t i = 0; i < tr->nservices; i++)
    json_array_append_new(evs, json_pack("{s:s,s:s,s:i,s:i,s:{s:o}}", "ph", "M",
                                         "name", "process_name", "pid",
                                         (int)i + 1, "tid", 0, "args", "name",
                                         cw__q_str(e, tr->services[i])));
  for (uint32_t i = 0; i < tr->nactors; i++)
    json_array_append_new(
        evs, json_pack("{s:s,s:s,s:i,s:i,s:{s:o}}", "ph", "M", "name",
                       "thread_name", "pid", svc_index(e, tr, tr->actors[i]),
                       "tid", (int)i + 1, "args", "name",
                       cw__q_str(e, cw__engine_actor_name(e, tr->actors[i]))));
  /* Time zero: the earliest instant shown, which for a slice recorded at
   * its end (span end, HTTP respond, DB result) is end - duration. */
  int64_t t0 = tr->first_ns;
  for (uint32_t i = 0; i < tr->n; i++) {
    int64_t start = tr->ev[i].wall_ns - (int64_t)tr->ev[i].duration_ns;
    if (start < t0)
      t0 = start;
  }
  for (uint32_t i = 0; i < tr->n; i++) {
    const cw_trace_event *ev = &tr->ev[i];
    int pid = svc_index(e, tr, ev->actor), tid = actor_index(tr, ev->actor);
    const char *kind = cw__ev_kind_name(ev->kind);
    const char *obj = ev->object ? cw__engine_str(e, ev->object) : "";
    const char *det = ev->detail ? cw__engine_str(e, ev->detail) : "";
    char name[256];
    snprintf(name, sizeof name, "%s%s%s", kind, obj[0] || det[0] ? " " : "",
             obj[0] ? obj : det);
    json_t *args = json_pack("{s:I,s:o}", "seq", (json_int_t)ev->seq,
                             "location", cw__q_str(e, ev->loc));
    if (ev->flags & CW_EVF_AUX)
      json_object_set_new(args, "aux", json_integer(ev->aux));
    double ts = (double)(ev->wall_ns - t0) / 1000.0;
    if (ev->duration_ns) {
      /* Ends with its duration: a complete slice that started duration
       * earlier (never before time zero, see t0). */
      double dur = (double)ev->duration_ns / 1000.0;
      json_array_append_new(evs, json_pack("{s:s,s:s,s:s,s:i,s:i,s:f,s:f,s:o}",
                                           "ph", "X", "name", name, "cat", kind,
                                           "pid", pid, "tid", tid, "ts",
                                           ts - dur, "dur", dur, "args", args));
    } else {
      json_array_append_new(evs, json_pack("{s:s,s:s,s:s,s:i,s:i,s:f,s:s,s:o}",
                                           "ph", "i", "name", name, "cat", kind,
                                           "pid", pid, "tid", tid, "ts", ts,
                                           "s", "t", "args", args));
    }
    /* Flow arrow from a request sent to the handler that got it. */
    if (flow[i] && flow[i] != UINT32_MAX) {
      int send = ev->kind == CW_EV_HTTP_SEND;
      json_array_append_new(evs,
                            json_pack("{s:s,s:s,s:s,s:I,s:i,s:i,s:f,s:s}", "ph",
                                      send ? "s" : "f", "name", "http", "cat",
                                      "http", "id", (json_int_t)flow[i], "pid",
                                      pid, "tid", tid, "ts", ts, "bp", "e"));
    }
  }
  free(flow);
  return json_pack("{s:o,s:s}", "traceEvents", evs, "displayTimeUnit", "ms");
}

json_t *cw__query_services(cw_engine *e, const cw_traces *t) {
  /* Services are those of actors 1..N; the engine numbers actors densely
   * and names none past the last. */
  json_t *svcs = json_object();
  for (cw_actor_id a = 1; a < 10000000; a++) {
    cw_sym name = cw__engine_actor_name(e, a);
    if (!name)
      break;
    const char *svc = cw__engine_str(e, cw__engine_actor_service(e, a));
    json_t *s = json_object_get(svcs, svc);
    if (!s) {
      s = json_pack("{s:o,s:i}", "service",
                    cw__q_str(e, cw__engine_actor_service(e, a)), "actors", 0);
      /* A grouping key only: any bytes (the value's name is escaped). */
      json_object_set_new_nocheck(svcs, svc, s);
    }
    json_object_set_new(
        s, "actors",
        json_integer(json_integer_value(json_object_get(s, "actors")) + 1));
  }
  json_t *list = json_array();
  const char *k;
  json_t *v;
  json_object_foreach(svcs, k, v) {
    json_array_append(list, v);
  }
  json_decref(svcs);
  json_t *calls = json_array();
  const cw_call_edge *c;
  size_t n = t ? cw__traces_calls(t, &c) : 0;
  for (size_t i = 0; i < n; i++)
    json_array_append_new(calls, json_pack("{s:o,s:o,s:I}", "from",
                                           cw__q_str(e, c[i].from), "to",
                                           cw__q_str(e, c[i].to), "count",
                                           (json_int_t)c[i].count));
  return json_pack("{s:o,s:o}", "services", list, "calls", calls);
}
