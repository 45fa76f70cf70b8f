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

/* The timeline kind of an engine event the Raceway decoder fed; for
 * informational events the Raceway variant says what it was. */
static uint8_t tl_kind(const cw_aevent *ev, const char *variant) {
  switch (ev->kind) {
  case CW_AE_READ:
    return CW_EV_READ;
  case CW_AE_WRITE:
    return CW_EV_WRITE;
  case CW_AE_LOCK_REQUEST:
    return CW_EV_LOCK_REQUEST;
  case CW_AE_LOCK_ACQUIRE:
    return CW_EV_LOCK_ACQUIRED;
  case CW_AE_LOCK_RELEASE:
    return CW_EV_LOCK_RELEASE;
  case CW_AE_FORK:
    return CW_EV_FORK;
  case CW_AE_JOIN:
    return CW_EV_JOIN;
  default:
    break;
  }
  if (!variant)
    return CW_EV_MESSAGE;
  if (!strcmp(variant, "HttpRequest"))
    return CW_EV_HTTP_RECV;
  if (!strcmp(variant, "HttpResponse"))
    return CW_EV_HTTP_RESPOND;
  if (!strcmp(variant, "DatabaseQuery"))
    return CW_EV_DB_QUERY;
  if (!strcmp(variant, "DatabaseResult"))
    return CW_EV_DB_RESULT;
  return CW_EV_MESSAGE;
}

void cw__raceway_observe(void *ud, const cw_aevent *ev, const void *rawp) {
  cw_rw_observer *o = ud;
  json_t *raw = (json_t *)rawp;
  json_t *kind = json_object_get(raw, "kind");
  const char *variant = NULL;
  json_t *body = NULL;
  if (json_is_object(kind) && json_object_size(kind) == 1) {
    variant = json_object_iter_key(json_object_iter(kind));
    body = json_object_iter_value(json_object_iter(kind));
    if (!json_is_object(body))
      body = NULL;
  }
  cw_engine *e = o->engine;
  const char *object = NULL;
  double ms = 0;
  int64_t status = 0;
  int has_status = 0;
  if (variant && !strcmp(variant, "HttpRequest")) {
    object = body ? sfield(body, "url") : NULL;
  } else if (variant && !strcmp(variant, "HttpResponse")) {
    json_t *st = body ? json_object_get(body, "status") : NULL;
    if (json_is_integer(st)) {
      status = (int64_t)json_integer_value(st);
      has_status = 1;
    }
    json_t *d = body ? json_object_get(body, "duration_ms") : NULL;
    ms = json_is_number(d) ? json_number_value(d) : 0;
  } else if (variant && !strcmp(variant, "DatabaseQuery")) {
    object = body ? sfield(body, "query") : NULL;
    json_t *d = body ? json_object_get(body, "duration_ms") : NULL;
    ms = json_is_number(d) ? json_number_value(d) : 0;
  } else if (variant && ev->kind == CW_AE_OTHER) {
    object = body ? sfield(body, "function_name") : NULL;
    if (!object && body)
      object = sfield(body, "name");
    if (!object)
      object = variant;
  }
  cw_tl_event le;
  memset(&le, 0, sizeof le);
  le.kind = tl_kind(ev, variant);
  if (ev->flags & CW_AEF_ATOMIC)
    le.flags |= CW_EVF_ATOMIC;
  if (ev->flags & CW_AEF_SHARED)
    le.flags |= CW_EVF_SHARED;
  le.actor = ev->actor;
  le.object = ev->object ? ev->object
                         : (ev->child ? cw__engine_actor_name(e, ev->child)
                                      : sym(e, object));
  le.loc = ev->loc;
  le.detail = ev->detail;
  le.wall_ns = ev->ts_ns;
  le.duration_ns = ev->duration_ns;
  if (ms > 0 && ms < 1e9)
    le.duration_ns = (uint64_t)(ms * 1e6);
  le.seq = ev->seq;
  le.counter = ev->counter;
  if (ev->flags & CW_AEF_VAL_STR) {
    le.val_str = ev->val_str;
  } else if (ev->flags & CW_AEF_VAL_INT) {
    le.val = ev->val_int;
    le.has_val = 1;
  } else if (has_status) {
    le.val = status;
    le.has_val = 1;
  }
  for (uint32_t i = 0; i < ev->njoins && !le.from_actor; i++)
    if (ev->joins[i].actor != ev->actor) {
      le.from_actor = ev->joins[i].actor;
      le.from_counter = ev->joins[i].counter;
    }
  if (o->timeline)
    cw__timeline_add(o->timeline, &le);
  /* The trace index: once per Raceway event (its first engine event). */
  if (raw == o->last || !o->traces)
    return;
  o->last = raw;
  const char *tid = sfield(raw, "trace_id");
  uint8_t id[16];
  if (!tid || cw__uuid_to_id(tid, id))
    return;
  cw_trace_event te;
  memset(&te, 0, sizeof te);
  te.kind = le.kind == CW_EV_LOCK_REQUEST ? CW_EV_LOCK_ACQUIRED : le.kind;
  te.flags = le.flags | (has_status ? CW_EVF_AUX : 0);
  te.actor = ev->actor;
  te.service = cw__engine_actor_service(e, ev->actor);
  te.object = le.object;
  te.loc = le.loc;
  te.wall_ns = le.wall_ns;
  te.duration_ns = le.duration_ns;
  te.aux = status;
  te.seq = ev->seq;
  cw__traces_add(o->traces, id, te.service, &te);
}
