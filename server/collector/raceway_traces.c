/*
 * raceway_traces: Raceway JSON events -> trace index entries.
 */
#define _POSIX_C_SOURCE 200809L
#include "raceway_traces.h"

#include "cw_format.h"
#include "cw_input.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cw__uuid_to_id(const char *s, uint8_t id[16]) {
  char hex[33];
  size_t n = 0;
  for (const char *p = s; *p; p++) {
    if (*p == '-')
      continue;
    if (n >= 32)
      return -1;
    hex[n++] = *p;
  }
  hex[n] = '\0';
  return n == 32 ? cw__hex_to_id(hex, id) : -1;
}

static const char *sfield(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

static cw_sym sym(cw_engine *e, const char *s) {
  return s && *s ? cw__engine_intern(e, s, strlen(s)) : 0;
}

static int index_one(cw_traces *t, cw_timeline *tl, cw_engine *e, json_t *ev,
                     uint64_t pos) {
  const char *tid = sfield(ev, "trace_id");
  uint8_t id[16];
  json_t *md = json_object_get(ev, "metadata");
  json_t *kind = json_object_get(ev, "kind");
  int traced = tid && !cw__uuid_to_id(tid, id);
  if ((!traced && !tl) || !json_is_object(md) || !json_is_object(kind) ||
      json_object_size(kind) != 1)
    return 0;
  const char *thread = sfield(md, "thread_id");
  if (!thread)
    return 0;
  const char *svc = sfield(md, "service_name");
  if (!svc || !*svc)
    svc = "raceway";
  char ibuf[32];
  const char *inst = sfield(md, "instance_id");
  json_t *pid = json_object_get(md, "process_id");
  if (!inst || !*inst) {
    if (json_is_integer(pid)) {
      snprintf(ibuf, sizeof ibuf, "%lld", (long long)json_integer_value(pid));
      inst = ibuf;
    } else {
      inst = "0";
    }
  }
  char name[512];
  int n = snprintf(name, sizeof name, "%s#%s/%s", svc, inst, thread);
  if (n < 0 || (size_t)n >= sizeof name)
    return 0;
  cw_sym service = sym(e, svc);
  cw_trace_event te;
  memset(&te, 0, sizeof te);
  te.actor =
      cw__engine_actor(e, cw__engine_intern(e, name, (size_t)n), service);
  const char *ts = sfield(ev, "timestamp");
  if (ts)
    cw__rfc3339_parse(ts, &te.wall_ns);
  const char *variant = json_object_iter_key(json_object_iter(kind));
  json_t *body = json_object_iter_value(json_object_iter(kind));
  if (!json_is_object(body))
    body = NULL;
  const char *object = NULL, *loc = body ? sfield(body, "location") : NULL;
  double ms = 0;
  if (!strcmp(variant, "StateChange")) {
    const char *acc = body ? sfield(body, "access_type") : NULL;
    te.kind = acc && strstr(acc, "Read") ? CW_EV_READ : CW_EV_WRITE;
    object = body ? sfield(body, "variable") : NULL;
  } else if (!strcmp(variant, "LockAcquire")) {
    te.kind = CW_EV_LOCK_ACQUIRED;
    object = body ? sfield(body, "lock_id") : NULL;
  } else if (!strcmp(variant, "LockRelease")) {
    te.kind = CW_EV_LOCK_RELEASE;
    object = body ? sfield(body, "lock_id") : NULL;
  } else if (!strcmp(variant, "HttpRequest")) {
    te.kind = CW_EV_HTTP_RECV;
    object = body ? sfield(body, "url") : NULL;
  } else if (!strcmp(variant, "HttpResponse")) {
    te.kind = CW_EV_HTTP_RESPOND;
    json_t *st = body ? json_object_get(body, "status") : NULL;
    if (json_is_integer(st)) {
      te.aux = (int64_t)json_integer_value(st);
      te.flags |= CW_EVF_AUX;
    }
    json_t *d = body ? json_object_get(body, "duration_ms") : NULL;
    ms = json_is_number(d) ? json_number_value(d) : 0;
  } else if (!strcmp(variant, "DatabaseQuery")) {
    te.kind = CW_EV_DB_QUERY;
    object = body ? sfield(body, "query") : NULL;
    json_t *d = body ? json_object_get(body, "duration_ms") : NULL;
    ms = json_is_number(d) ? json_number_value(d) : 0;
  } else if (!strcmp(variant, "DatabaseResult")) {
    te.kind = CW_EV_DB_RESULT;
  } else {
    te.kind = CW_EV_MESSAGE;
    object = body ? sfield(body, "function_name") : NULL;
    if (!object && body)
      object = sfield(body, "name");
    if (!object)
      object = variant;
  }
  if (ms > 0 && ms < 1e9)
    te.duration_ns = (uint64_t)(ms * 1e6);
  te.object = sym(e, object);
  te.loc = sym(e, loc);
  te.seq = pos;
  if (tl) {
    cw_tl_event le;
    memset(&le, 0, sizeof le);
    le.kind = te.kind;
    le.flags = te.flags;
    le.actor = te.actor;
    le.object = te.object;
    le.loc = te.loc;
    le.wall_ns = te.wall_ns;
    le.duration_ns = te.duration_ns;
    le.val = te.aux;
    le.has_val = (te.flags & CW_EVF_AUX) != 0;
    le.seq = pos;
    cw__timeline_add(tl, &le);
  }
  if (!traced)
    return 0;
  te.service = service;
  cw__traces_add(t, id, service, &te);
  return 1;
}

size_t cw__raceway_index(cw_traces *t, cw_timeline *tl, cw_engine *e,
                         const char *json, size_t len) {
  json_t *root = json_loadb(json, len, 0, NULL);
  json_t *evs = json_is_array(root) ? root : json_object_get(root, "events");
  size_t n = 0, i;
  json_t *ev;
  if (json_is_array(evs))
    json_array_foreach(evs, i, ev) {
      n += (size_t)index_one(t, tl, e, ev, (uint64_t)i);
    }
  json_decref(root);
  return n;
}
