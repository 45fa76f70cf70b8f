/*
 * cw_raceway_event: maps one Raceway event onto engine events.
 *
 * DESIGN. Raceway's causality_vector is not a vector clock of actors (its
 * SDKs count per request context under the process's name), so
 * happens-before is rebuilt here from facts the events state plainly:
 *   - program order of each `thread_id` (the events arrive time-sorted);
 *   - LockAcquire/LockRelease, fed as LOCK_REQUEST + LOCK_ACQUIRE and
 *     LOCK_RELEASE, so the engine derives release -> acquire edges itself
 *     (a lock_type containing "read" is a shared rwlock mode). Whether an
 *     SDK meant "requested" or "acquired" no longer matters;
 *   - AsyncSpawn: a FORK from the spawner to the actor of `task_id`, and
 *     AsyncAwait on a spawned task: a JOIN of it;
 *   - parent_id naming an earlier event of another thread: an explicit join
 *     on that event (the span link of a request chain);
 *   - a causality_vector entry [component, n] of another process, on an
 *     event with upstream_span_id S: a join on that process's event in span
 *     S whose own entry was n - 1 (a call sends the caller's entries, the
 *     call counting one), remembered per "component|span|value".
 * Actors are "service#instance/thread_id" (process_id when there is no
 * instance_id). Counters are assigned here, one per engine event, so that
 * parent links can name the exact event they follow.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cw_raceway_int.h"

#define RW_NAME_MAX 1024
#define RW_DETAIL_MAX 512

enum {
  K_STATE,
  K_LOCK_ACQ,
  K_LOCK_REL,
  K_FUNC,
  K_SPAWN,
  K_AWAIT,
  K_FENCE,
  K_HTTP_REQ,
  K_HTTP_RESP,
  K_DB_QUERY,
  K_DB_RESULT,
  K_ERROR,
  K_CUSTOM
};

static const struct {
  const char *name;
  int k;
  const char *fields; /* known fields, space separated */
} kinds[] = {
    {"StateChange", K_STATE,
     " variable old_value new_value location access_type "},
    {"LockAcquire", K_LOCK_ACQ, " lock_id lock_type location "},
    {"LockRelease", K_LOCK_REL, " lock_id lock_type location "},
    {"FunctionCall", K_FUNC, " function_name module args file line "},
    {"AsyncSpawn", K_SPAWN, " task_id spawned_by "},
    {"AsyncAwait", K_AWAIT, " future_id awaited_at "},
    {"MemoryFence", K_FENCE, " ordering location "},
    {"HttpRequest", K_HTTP_REQ, " method url headers body "},
    {"HttpResponse", K_HTTP_RESP, " status headers body duration_ms "},
    {"DatabaseQuery", K_DB_QUERY, " query database duration_ms "},
    {"DatabaseResult", K_DB_RESULT, " rows_affected "},
    {"Error", K_ERROR, " error_type message stack_trace "},
    {"Custom", K_CUSTOM, " name data "},
};

static const char event_fields[] =
    " id trace_id parent_id timestamp kind metadata causality_vector "
    "lock_set ";
static const char meta_fields[] =
    " thread_id process_id service_name environment tags duration_ns "
    "instance_id distributed_span_id upstream_span_id ";

static int find_kind(json_t *kind, const char **key, json_t **body) {
  if (!json_is_object(kind) || json_object_size(kind) != 1)
    return -1;
  void *it = json_object_iter(kind);
  *key = json_object_iter_key(it);
  *body = json_object_iter_value(it);
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    if (strcmp(*key, kinds[i].name) == 0)
      return (int)i;
  return -2;
}

/* @return 1 when `obj` has a key not listed in `known`. */
static int has_unknown(json_t *obj, const char *known) {
  const char *k;
  json_t *v;
  char pat[130];
  json_object_foreach(obj, k, v) {
    size_t n = strlen(k);
    if (n > 120)
      return 1;
    pat[0] = ' ';
    memcpy(pat + 1, k, n);
    pat[n + 1] = ' ';
    pat[n + 2] = '\0';
    if (!strstr(known, pat))
      return 1;
  }
  return 0;
}

/* A string or integer id field as text. @return 0 or -1. */
static int id_text(json_t *v, char *buf, size_t sz, const char **out) {
  if (json_is_string(v) && json_string_length(v) > 0) {
    *out = json_string_value(v);
    return 0;
  }
  if (json_is_integer(v)) {
    snprintf(buf, sz, "%lld", (long long)json_integer_value(v));
    *out = buf;
    return 0;
  }
  return -1;
}

static const char *str_field(json_t *body, const char *key) {
  json_t *v = json_object_get(body, key);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

int cw__rw_validate(json_t *ev) {
  if (!json_is_object(ev))
    return CW_SKIP_NOT_OBJECT;
  const char *key;
  json_t *body;
  int ki = find_kind(json_object_get(ev, "kind"), &key, &body);
  if (ki == -1)
    return CW_SKIP_BAD_KIND;
  if (ki == -2)
    return CW_SKIP_UNKNOWN_KIND;
  if (!json_is_object(body) && !json_is_null(body))
    return CW_SKIP_BAD_KIND;
  json_t *md = json_object_get(ev, "metadata");
  const char *tmp;
  char buf[32];
  if (!json_is_object(md) ||
      id_text(json_object_get(md, "thread_id"), buf, sizeof buf, &tmp) != 0)
    return CW_SKIP_BAD_METADATA;
  json_t *svc = json_object_get(md, "service_name");
  if (svc && !json_is_string(svc))
    return CW_SKIP_BAD_METADATA;
  switch (kinds[ki].k) {
  case K_STATE: {
    const char *at = str_field(body, "access_type");
    if (!str_field(body, "variable") || !at)
      return CW_SKIP_BAD_FIELD;
    if (strcmp(at, "Read") && strcmp(at, "Write") && strcmp(at, "AtomicRead") &&
        strcmp(at, "AtomicWrite") && strcmp(at, "AtomicRMW"))
      return CW_SKIP_BAD_FIELD;
    break;
  }
  case K_LOCK_ACQ:
  case K_LOCK_REL:
    if (id_text(json_object_get(body, "lock_id"), buf, sizeof buf, &tmp))
      return CW_SKIP_BAD_FIELD;
    break;
  case K_SPAWN:
    if (id_text(json_object_get(body, "task_id"), buf, sizeof buf, &tmp))
      return CW_SKIP_BAD_FIELD;
    break;
  default:
    break;
  }
  return -1;
}

int cw__rw_feeder_init(cw_rw_feeder *f, cw_engine *e, cw_input_stats *st) {
  memset(f, 0, sizeof *f);
  f->e = e;
  f->st = st;
  f->ids = json_object();
  f->actors = json_object();
  f->vc = json_object();
  return f->ids && f->actors && f->vc ? 0 : -1;
}

void cw__rw_feeder_free(cw_rw_feeder *f) {
  json_decref(f->ids);
  json_decref(f->actors);
  json_decref(f->vc);
  free(f->counters);
  memset(f, 0, sizeof *f);
}

static cw_sym intern(cw_rw_feeder *f, const char *s) {
  return cw__engine_intern(f->e, s, strlen(s));
}

/* The service and instance of an event's metadata. */
static const char *proc_parts(json_t *md, char *ibuf, size_t isz,
                              const char **inst) {
  const char *svc = str_field(md, "service_name");
  if (!svc || !*svc)
    svc = "raceway";
  if (id_text(json_object_get(md, "instance_id"), ibuf, isz, inst))
    if (id_text(json_object_get(md, "process_id"), ibuf, isz, inst))
      *inst = "0";
  return svc;
}

void cw__rw_process_name(json_t *ev, char *buf, size_t cap) {
  char ibuf[32];
  const char *inst = NULL;
  const char *svc =
      proc_parts(json_object_get(ev, "metadata"), ibuf, sizeof ibuf, &inst);
  snprintf(buf, cap, "%s#%s", svc, inst);
}

/* The actor "service#instance/thread" of a thread or task id. With
 * lookup_only, an actor that has not been registered yet gives 0. */
static cw_actor_id actor_for(cw_rw_feeder *f, json_t *md, const char *thread,
                             int lookup_only) {
  char ibuf[32];
  const char *inst = NULL;
  const char *svc = proc_parts(md, ibuf, sizeof ibuf, &inst);
  char name[RW_NAME_MAX];
  int n = snprintf(name, sizeof name, "%s#%s/%s", svc, inst, thread);
  if (n < 0)
    n = 0;
  if ((size_t)n >= sizeof name)
    n = (int)sizeof name - 1;
  name[n] = '\0';
  json_t *known = json_object_get(f->actors, name);
  if (known || lookup_only)
    return known ? (cw_actor_id)json_integer_value(known) : 0;
  cw_sym service = intern(f, svc);
  cw_actor_id a =
      cw__engine_actor(f->e, cw__engine_intern(f->e, name, (size_t)n), service);
  if (json_object_set_new(f->actors, name, json_integer(a)) != 0)
    return 0;
  return a;
}

/* Next counter of an actor. @return 0 on allocation failure. */
static uint64_t next_counter(cw_rw_feeder *f, cw_actor_id a) {
  if (a >= f->ncounters) {
    size_t n = f->ncounters ? f->ncounters : 64;
    while (n <= a)
      n *= 2;
    uint32_t *c = realloc(f->counters, n * sizeof *c);
    if (!c)
      return 0;
    memset(c + f->ncounters, 0, (n - f->ncounters) * sizeof *c);
    f->counters = c;
    f->ncounters = n;
  }
  return ++f->counters[a];
}

static uint64_t peek_counter(const cw_rw_feeder *f, cw_actor_id a) {
  return a < f->ncounters ? f->counters[a] : 0;
}

/* Fills detail text for an informational event. */
static void detail_text(char *buf, size_t sz, const char *key, json_t *body) {
  const char *a = NULL, *b = NULL;
  char num[32] = "";
  if (!strcmp(key, "HttpRequest")) {
    a = str_field(body, "method");
    b = str_field(body, "url");
  } else if (!strcmp(key, "HttpResponse")) {
    json_t *s = json_object_get(body, "status");
    if (json_is_integer(s))
      snprintf(num, sizeof num, "%lld", (long long)json_integer_value(s));
    a = num;
  } else if (!strcmp(key, "DatabaseQuery")) {
    a = str_field(body, "query");
  } else if (!strcmp(key, "DatabaseResult")) {
    json_t *s = json_object_get(body, "rows_affected");
    if (json_is_integer(s))
      snprintf(num, sizeof num, "%lld", (long long)json_integer_value(s));
    a = num;
  } else if (!strcmp(key, "FunctionCall")) {
    a = str_field(body, "function_name");
  } else if (!strcmp(key, "Error")) {
    a = str_field(body, "error_type");
    b = str_field(body, "message");
  } else if (!strcmp(key, "Custom")) {
    a = str_field(body, "name");
  } else if (!strcmp(key, "MemoryFence")) {
    a = str_field(body, "ordering");
  } else if (!strcmp(key, "AsyncAwait")) {
    a = str_field(body, "future_id");
  }
  snprintf(buf, sz, "%s%s%s%s%s", key, a ? " " : "", a ? a : "", b ? " " : "",
           b ? b : "");
}

static int feed_one(cw_rw_feeder *f, cw_aevent *ev) {
  uint64_t c = next_counter(f, ev->actor);
  if (!c)
    return -1;
  ev->counter = c;
  ev->seq = ++f->seq;
  (void)cw__engine_feed(f->e, ev);
  f->st->events++;
  if (f->obs)
    f->obs(f->obs_ud, ev, f->cur);
  ev->njoins = 0; /* a join applies to the first engine event only */
  ev->joins = NULL;
  return 0;
}

static void set_value(cw_rw_feeder *f, cw_aevent *ev, json_t *v) {
  if (!v || json_is_null(v))
    return;
  if (json_is_integer(v)) {
    ev->flags |= CW_AEF_VAL_INT;
    ev->val_int = (int64_t)json_integer_value(v);
  } else if (json_is_string(v)) {
    ev->flags |= CW_AEF_VAL_STR;
    ev->val_str =
        cw__engine_intern(f->e, json_string_value(v), json_string_length(v));
  } else {
    char *txt = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!txt)
      return;
    size_t n = strlen(txt);
    ev->flags |= CW_AEF_VAL_STR;
    ev->val_str = cw__engine_intern(f->e, txt, n > 256 ? 256 : n);
    free(txt);
  }
}

int cw__rw_feed(cw_rw_feeder *f, const cw_rw_event *re) {
  json_t *ev = re->ev, *md = json_object_get(ev, "metadata");
  f->cur = ev;
  const char *key;
  json_t *body;
  int ki = find_kind(json_object_get(ev, "kind"), &key, &body);
  if (ki < 0)
    return CW_SKIP_BAD_KIND; /* validated before: cannot happen */
  int k = kinds[ki].k;
  if (has_unknown(ev, event_fields) || has_unknown(md, meta_fields) ||
      (json_is_object(body) && has_unknown(body, kinds[ki].fields)))
    f->st->unknown_fields++;

  char tbuf[32];
  const char *thread = NULL;
  (void)id_text(json_object_get(md, "thread_id"), tbuf, sizeof tbuf, &thread);
  cw_aevent e;
  memset(&e, 0, sizeof e);
  e.actor = actor_for(f, md, thread, 0);
  if (!e.actor)
    return -1;
  e.ts_ns = re->ts_ns;
  json_t *dur = json_object_get(md, "duration_ns");
  if (json_is_integer(dur) && json_integer_value(dur) > 0)
    e.duration_ns = (uint64_t)json_integer_value(dur);
  const char *loc = str_field(body, "location");
  if (!loc && k == K_FUNC)
    loc = str_field(body, "file");
  if (loc)
    e.loc = intern(f, loc);

  /* A parent in another thread is a span link: join on that event. */
  cw_ae_join join[2];
  const char *pid = str_field(ev, "parent_id");
  if (pid) {
    json_t *p = json_object_get(f->ids, pid);
    if (p) {
      uint64_t packed = (uint64_t)json_integer_value(p);
      join[0].actor = (cw_actor_id)(packed >> 32);
      join[0].counter = packed & 0xffffffffu;
      if (join[0].actor != e.actor) {
        e.joins = join;
        e.njoins = 1;
      }
    }
  }
  /* causality_vector: an entry of another process's component, received
   * with the call from span upstream_span_id, follows that span's event
   * with the entry's value less one (the SDK counts the call itself). */
  char own[CW_RW_PROC_NAME_MAX];
  cw__rw_process_name(ev, own, sizeof own);
  const char *up = str_field(md, "upstream_span_id");
  size_t vi;
  json_t *ent;
  json_array_foreach(up ? json_object_get(ev, "causality_vector") : NULL, vi,
                     ent) {
    const char *comp = json_string_value(json_array_get(ent, 0));
    json_t *val = json_array_get(ent, 1);
    if (!comp || !json_is_integer(val) || !strcmp(comp, own) || e.njoins >= 2)
      continue;
    for (json_int_t v = json_integer_value(val) - 1;
         v >= 1 && v >= json_integer_value(val) - 4; v--) {
      char vkey[RW_NAME_MAX];
      snprintf(vkey, sizeof vkey, "%s|%s|%lld", comp, up, (long long)v);
      json_t *p = json_object_get(f->vc, vkey);
      if (!p)
        continue;
      uint64_t packed = (uint64_t)json_integer_value(p);
      join[e.njoins].actor = (cw_actor_id)(packed >> 32);
      join[e.njoins].counter = packed & 0xffffffffu;
      if (join[e.njoins].actor != e.actor) {
        e.joins = join;
        e.njoins++;
      }
      break;
    }
  }

  char buf[RW_DETAIL_MAX];
  const char *id = NULL;
  switch (k) {
  case K_STATE: {
    const char *at = str_field(body, "access_type");
    e.kind =
        (at[0] == 'R' || !strcmp(at, "AtomicRead")) ? CW_AE_READ : CW_AE_WRITE;
    if (!strncmp(at, "Atomic", 6))
      e.flags |= CW_AEF_ATOMIC;
    e.object = intern(f, str_field(body, "variable"));
    set_value(f, &e, json_object_get(body, "new_value"));
    if (feed_one(f, &e))
      return -1;
    break;
  }
  case K_LOCK_ACQ:
  case K_LOCK_REL: {
    (void)id_text(json_object_get(body, "lock_id"), buf, sizeof buf, &id);
    e.object = intern(f, id);
    const char *lt = str_field(body, "lock_type");
    for (const char *p = lt; p && *p; p++)
      if (!strncasecmp(p, "read", 4)) {
        e.flags |= CW_AEF_SHARED;
        break;
      }
    if (k == K_LOCK_ACQ) {
      e.kind = CW_AE_LOCK_REQUEST;
      if (feed_one(f, &e))
        return -1;
      e.kind = CW_AE_LOCK_ACQUIRE;
    } else {
      e.kind = CW_AE_LOCK_RELEASE;
    }
    if (feed_one(f, &e))
      return -1;
    break;
  }
  case K_SPAWN: {
    if (id_text(json_object_get(body, "task_id"), buf, sizeof buf, &id))
      return CW_SKIP_BAD_FIELD;
    e.kind = CW_AE_FORK;
    e.child = actor_for(f, md, id, 0);
    if (!e.child)
      return -1;
    if (e.child == e.actor)
      return CW_SKIP_BAD_FIELD;
    if (feed_one(f, &e))
      return -1;
    break;
  }
  default: {
    /* AsyncAwait on a task that ran: a join of it. */
    const char *fut = k == K_AWAIT ? str_field(body, "future_id") : NULL;
    cw_actor_id child = fut ? actor_for(f, md, fut, 1) : 0;
    if (child && child != e.actor && peek_counter(f, child) > 0) {
      e.kind = CW_AE_JOIN;
      e.child = child;
    } else {
      e.kind = CW_AE_OTHER;
      detail_text(buf, sizeof buf, key, body);
      e.detail = intern(f, buf);
    }
    if (feed_one(f, &e))
      return -1;
    break;
  }
  }

  /* This event's own causality entry, for calls it makes (above). */
  const char *span = str_field(md, "distributed_span_id");
  json_array_foreach(span ? json_object_get(ev, "causality_vector") : NULL, vi,
                     ent) {
    const char *comp = json_string_value(json_array_get(ent, 0));
    json_t *val = json_array_get(ent, 1);
    if (!comp || !json_is_integer(val) || strcmp(comp, own))
      continue;
    char vkey[RW_NAME_MAX];
    snprintf(vkey, sizeof vkey, "%s|%s|%lld", comp, span,
             (long long)json_integer_value(val));
    if (json_object_size(f->vc) >= CW_RW_MAX_IDS)
      json_object_clear(f->vc); /* bounded, like the event ids */
    uint64_t packed =
        ((uint64_t)e.actor << 32) | (peek_counter(f, e.actor) & 0xffffffffu);
    if (json_object_set_new(f->vc, vkey, json_integer((json_int_t)packed)))
      return -1;
    break;
  }

  const char *eid = str_field(ev, "id");
  if (eid && *eid && json_object_size(f->ids) >= CW_RW_MAX_IDS)
    json_object_clear(f->ids); /* bounded memory over unbounded streams */
  if (eid && *eid) {
    uint64_t packed =
        ((uint64_t)e.actor << 32) | (peek_counter(f, e.actor) & 0xffffffffu);
    if (json_object_set_new(f->ids, eid, json_integer((json_int_t)packed)))
      return -1;
  }
  return 0;
}
