/*
 * native_feed: native batch -> engine events.
 *
 * DESIGN. The analysis thread decodes each stored batch with
 * cw__decode_batch and feeds events straight into the engine without a
 * per-event allocation: batch-local string and actor ids map to engine
 * symbols through arrays indexed by id and stamped with a batch epoch (so a
 * new batch invalidates them without clearing), and "file:line" locations go
 * through a small direct-mapped cache. Actor names that are not already
 * global ("service#instance/...") are qualified with the batch's service and
 * instance. The SDK's clocks are the happens-before: every event carries
 * CW_AEF_CLOCK_ONLY and its joins.
 */
#define _POSIX_C_SOURCE 200809L
#include "native_feed.h"
#include "cw_input.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cw__reject_reason_name(cw_reject_reason r) {
  switch (r) {
  case CW_REJ_UNKNOWN_KIND:
    return "unknown_kind";
  case CW_REJ_UNKNOWN_ACTOR:
    return "unknown_actor";
  case CW_REJ_COUNT_:
    break;
  }
  return "unknown";
}

/* @return -1 when the event is analysed, else its cw_reject_reason. */
static int event_verdict(const cw_batch_ctx *ctx, const cw_event_rec *ev) {
  if (ev->kind == 0 || ev->kind >= CW_EV_KIND_MAX_)
    return CW_REJ_UNKNOWN_KIND;
  size_t l;
  uint32_t k;
  if (!cw__ctx_actor(ctx, ev->actor, &l, &k))
    return CW_REJ_UNKNOWN_ACTOR;
  for (uint32_t i = 0; i < ev->njoins; i++)
    if (!cw__ctx_actor(ctx, ev->joins[i].actor, &l, &k))
      return CW_REJ_UNKNOWN_ACTOR;
  return -1;
}

/* ---- Ingest-side check --------------------------------------------------- */

typedef struct check_state {
  cw_native_info *info;
  uint64_t max_events;
  int too_many, headers;
} check_state;

static int chk_batch(void *ud, const cw_batch_ctx *ctx) {
  check_state *c = ud;
  const cw_batch_hdr *h = cw__ctx_header(ctx);
  c->headers++;
  memcpy(c->info->stream_id, h->stream_id, 16);
  c->info->batch_no = h->batch_no;
  return 0;
}

static int chk_event(void *ud, const cw_batch_ctx *ctx,
                     const cw_event_rec *ev) {
  check_state *c = ud;
  if (++c->info->events > c->max_events) {
    c->too_many = 1;
    return 1;
  }
  int v = event_verdict(ctx, ev);
  if (v < 0)
    c->info->accepted++;
  else
    c->info->rejected[v]++;
  return 0;
}

static int chk_gap(void *ud, const cw_batch_ctx *ctx, uint32_t actor,
                   uint64_t dropped, uint64_t first, uint64_t last) {
  check_state *c = ud;
  c->info->gaps += dropped;
  return 0;
}

int cw__native_check(const uint8_t *buf, size_t len, uint64_t max_events,
                     cw_native_info *info, cw_decode_error *err) {
  memset(info, 0, sizeof *info);
  check_state c = {info, max_events, 0, 0};
  cw_decode_cb cb = {chk_batch, chk_event, chk_gap, NULL};
  int rc = cw__decode_batch(buf, len, &cb, &c, err);
  if (c.too_many) {
    snprintf(err->msg, sizeof err->msg,
             "batch has more than %llu events (--max-batch-events)",
             (unsigned long long)max_events);
    return -1;
  }
  if (rc != CW_DECODE_OK)
    return -1;
  if (c.headers != 1) {
    snprintf(err->msg, sizeof err->msg, "batch has no BATCH header");
    err->offset = 0;
    return -1;
  }
  return 0;
}

/* ---- Analysis-side feed -------------------------------------------------- */

typedef struct slot {
  uint32_t epoch;
  uint32_t val;
} slot;

typedef struct loc_slot {
  uint32_t epoch;
  uint32_t file, line;
  cw_sym sym;
} loc_slot;

#define LOC_CACHE 1024
#define MAX_IDS ((size_t)1 << 24)

struct cw_feed {
  uint32_t epoch;
  slot *strs, *actors;
  size_t nstrs, nactors;
  loc_slot locs[LOC_CACHE];
  cw_ae_join *joins;
  size_t capjoins;
  cw_engine *e;
  cw_sym service;
  const char *svc, *inst;
  size_t svc_len, inst_len;
  uint64_t fed;
  cw_traces *traces;
  char name[1024];
};

cw_feed *cw__feed_new(void) {
  return calloc(1, sizeof(cw_feed));
}

void cw__feed_set_traces(cw_feed *f, cw_traces *t) {
  f->traces = t;
}

/* Trace index and service calls for one analysed event. */
static void note_trace(cw_feed *f, const cw_event_rec *ev, const cw_aevent *a) {
  if (ev->kind == CW_EV_HTTP_RECV) {
    for (uint32_t i = 0; i < a->njoins; i++) {
      cw_sym from = cw__engine_actor_service(f->e, a->joins[i].actor);
      if (from && from != f->service)
        cw__traces_call(f->traces, from, f->service);
    }
  }
  if (!(ev->flags & CW_EVF_TRACE))
    return;
  cw_trace_event te;
  memset(&te, 0, sizeof te);
  te.kind = (uint8_t)ev->kind;
  te.flags = (uint16_t)ev->flags;
  te.actor = a->actor;
  te.object = a->object
                  ? a->object
                  : (a->child ? cw__engine_actor_name(f->e, a->child) : 0);
  te.loc = a->loc;
  te.detail = a->detail;
  te.wall_ns = ev->wall_ns;
  te.duration_ns = ev->duration_ns;
  te.aux = ev->aux;
  te.seq = ev->seq;
  memcpy(te.span_id, ev->span_id, 8);
  memcpy(te.parent_span_id, ev->parent_span_id, 8);
  cw__traces_add(f->traces, ev->trace_id, f->service, &te);
}

void cw__feed_free(cw_feed *f) {
  if (!f)
    return;
  free(f->strs);
  free(f->actors);
  free(f->joins);
  free(f);
}

/* @return the slot for id, growing the array; NULL past MAX_IDS. */
static slot *slot_at(slot **arr, size_t *n, uint32_t id) {
  if (id >= *n) {
    if (id >= MAX_IDS)
      return NULL;
    size_t nn = *n ? *n : 256;
    while (nn <= id)
      nn *= 2;
    slot *na = realloc(*arr, nn * sizeof *na);
    if (!na)
      return NULL;
    memset(na + *n, 0, (nn - *n) * sizeof *na);
    *arr = na;
    *n = nn;
  }
  return &(*arr)[id];
}

static cw_sym str_sym(cw_feed *f, const cw_batch_ctx *ctx, uint32_t id) {
  if (id == 0)
    return 0;
  slot *s = slot_at(&f->strs, &f->nstrs, id);
  if (s && s->epoch == f->epoch)
    return s->val;
  size_t len;
  const char *str = cw__ctx_string(ctx, id, &len);
  if (!str)
    return 0;
  cw_sym sym = cw__engine_intern(f->e, str, len);
  if (s) {
    s->epoch = f->epoch;
    s->val = sym;
  }
  return sym;
}

/* Engine actor for a name, qualified with service#instance when needed. */
static cw_actor_id actor_by_name(cw_feed *f, const char *name, size_t len) {
  const char *full = name;
  size_t fl = len;
  if (!memchr(name, '#', len)) {
    int n = snprintf(f->name, sizeof f->name, "%.*s#%.*s/%.*s", (int)f->svc_len,
                     f->svc, (int)f->inst_len, f->inst, (int)len, name);
    full = f->name;
    fl = n < 0                         ? 0
         : (size_t)n >= sizeof f->name ? sizeof f->name - 1
                                       : (size_t)n;
  }
  cw_sym sym = cw__engine_intern(f->e, full, fl);
  return cw__engine_actor(f->e, sym, f->service);
}

static cw_actor_id actor_id(cw_feed *f, const cw_batch_ctx *ctx, uint32_t id) {
  slot *s = slot_at(&f->actors, &f->nactors, id);
  if (s && s->epoch == f->epoch)
    return s->val;
  size_t len;
  uint32_t kind;
  const char *name = cw__ctx_actor(ctx, id, &len, &kind);
  if (!name)
    return 0;
  cw_actor_id a = actor_by_name(f, name, len);
  if (s) {
    s->epoch = f->epoch;
    s->val = a;
  }
  return a;
}

static cw_sym loc_sym(cw_feed *f, const cw_batch_ctx *ctx, uint32_t file,
                      uint32_t line) {
  if (file == 0)
    return 0;
  loc_slot *ls = &f->locs[(file * 2654435761u ^ line) % LOC_CACHE];
  if (ls->epoch == f->epoch && ls->file == file && ls->line == line)
    return ls->sym;
  size_t len;
  const char *s = cw__ctx_string(ctx, file, &len);
  if (!s)
    return 0;
  char buf[600];
  int n = snprintf(buf, sizeof buf, "%.*s:%u", (int)(len > 512 ? 512 : len), s,
                   line);
  cw_sym sym = cw__engine_intern(f->e, buf, (size_t)n);
  *ls = (loc_slot){f->epoch, file, line, sym};
  return sym;
}

static cw_ae_kind map_kind(uint32_t k) {
  switch (k) {
  case CW_EV_THREAD_START:
  case CW_EV_TASK_BEGIN:
    return CW_AE_BEGIN;
  case CW_EV_THREAD_END:
  case CW_EV_TASK_END:
    return CW_AE_END;
  case CW_EV_FORK:
    return CW_AE_FORK;
  case CW_EV_JOIN:
    return CW_AE_JOIN;
  case CW_EV_LOCK_REQUEST:
    return CW_AE_LOCK_REQUEST;
  case CW_EV_LOCK_ACQUIRED:
    return CW_AE_LOCK_ACQUIRE;
  case CW_EV_LOCK_RELEASE:
    return CW_AE_LOCK_RELEASE;
  case CW_EV_LOCK_TIMEOUT:
    return CW_AE_LOCK_TIMEOUT;
  case CW_EV_READ:
    return CW_AE_READ;
  case CW_EV_WRITE:
  case CW_EV_RMW:
    return CW_AE_WRITE;
  case CW_EV_ANN_RELEASE:
    return CW_AE_ANN_RELEASE;
  case CW_EV_ANN_ACQUIRE:
    return CW_AE_ANN_ACQUIRE;
  case CW_EV_SPAN_BEGIN:
    return CW_AE_SPAN_BEGIN;
  case CW_EV_SPAN_END:
    return CW_AE_SPAN_END;
  case CW_EV_HTTP_SEND:
    return CW_AE_HTTP_SEND;
  case CW_EV_HTTP_RECV:
    return CW_AE_HTTP_RECV;
  case CW_EV_HTTP_RESPOND:
    return CW_AE_HTTP_RESPOND;
  case CW_EV_HTTP_RESPONSE:
    return CW_AE_HTTP_RESPONSE;
  case CW_EV_DB_QUERY:
    return CW_AE_DB_QUERY;
  case CW_EV_DB_RESULT:
    return CW_AE_DB_RESULT;
  case CW_EV_RETRY:
    return CW_AE_RETRY;
  case CW_EV_TIMEOUT:
    return CW_AE_TIMEOUT;
  default:
    return CW_AE_OTHER;
  }
}

static int fd_batch(void *ud, const cw_batch_ctx *ctx) {
  cw_feed *f = ud;
  const cw_batch_hdr *h = cw__ctx_header(ctx);
  f->svc = h->service;
  f->svc_len = h->service_len;
  f->inst = h->instance;
  f->inst_len = h->instance_len;
  f->service = cw__engine_intern(f->e, h->service, h->service_len);
  return 0;
}

static int fd_event(void *ud, const cw_batch_ctx *ctx, const cw_event_rec *ev) {
  cw_feed *f = ud;
  if (event_verdict(ctx, ev) >= 0)
    return 0;
  cw_aevent a;
  memset(&a, 0, sizeof a);
  a.kind = map_kind(ev->kind);
  a.flags = (ev->flags & 0x1fu) | CW_AEF_CLOCK_ONLY;
  if (ev->kind == CW_EV_RMW)
    a.flags |= CW_AEF_ATOMIC;
  a.actor = actor_id(f, ctx, ev->actor);
  if (a.kind == CW_AE_FORK || a.kind == CW_AE_JOIN) {
    size_t len;
    const char *child = cw__ctx_string(ctx, ev->object, &len);
    if (child)
      a.child = actor_by_name(f, child, len);
  } else {
    a.object = str_sym(f, ctx, ev->object);
    if (a.kind == CW_AE_LOCK_ACQUIRE || a.kind == CW_AE_LOCK_RELEASE) {
      size_t len;
      const char *name = cw__ctx_string(ctx, ev->object, &len);
      if (name && cw__lock_is_shared_resource(name, len))
        a.flags &= ~(uint32_t)CW_AEF_CLOCK_ONLY;
    }
  }
  a.loc = loc_sym(f, ctx, ev->file, ev->line);
  a.val_int = ev->val_int;
  if (ev->flags & CW_EVF_VAL_STR)
    a.val_str = str_sym(f, ctx, ev->val_str);
  a.counter = ev->counter;
  if (ev->njoins) {
    if (ev->njoins > f->capjoins) {
      cw_ae_join *nj = realloc(f->joins, ev->njoins * sizeof *nj);
      if (!nj)
        return 1;
      f->joins = nj;
      f->capjoins = ev->njoins;
    }
    for (uint32_t i = 0; i < ev->njoins; i++) {
      f->joins[i].actor = actor_id(f, ctx, ev->joins[i].actor);
      f->joins[i].counter = ev->joins[i].counter;
    }
    a.joins = f->joins;
    a.njoins = ev->njoins;
  }
  a.ts_ns = (int64_t)ev->mono_ns;
  a.duration_ns = ev->duration_ns;
  a.aux = ev->aux;
  a.seq = ev->seq;
  if (ev->flags & CW_EVF_DETAIL)
    a.detail = str_sym(f, ctx, ev->detail);
  cw__engine_feed(f->e, &a);
  if (f->traces)
    note_trace(f, ev, &a);
  f->fed++;
  return 0;
}

static int fd_gap(void *ud, const cw_batch_ctx *ctx, uint32_t actor,
                  uint64_t dropped, uint64_t first, uint64_t last) {
  cw_feed *f = ud;
  cw_aevent a;
  memset(&a, 0, sizeof a);
  a.kind = CW_AE_GAP;
  a.actor = actor_id(f, ctx, actor);
  a.aux = (int64_t)dropped;
  a.seq = first;
  if (a.actor)
    cw__engine_feed(f->e, &a);
  return 0;
}

static int fd_retire(void *ud, const cw_batch_ctx *ctx, uint64_t seq,
                     const uint32_t *actors, uint32_t n) {
  cw_feed *f = ud;
  for (uint32_t i = 0; i < n; i++) {
    cw_aevent a;
    memset(&a, 0, sizeof a);
    a.kind = CW_AE_RETIRE;
    a.actor = actor_id(f, ctx, actors[i]);
    a.seq = seq;
    if (a.actor)
      cw__engine_feed(f->e, &a);
  }
  return 0;
}

int cw__feed_native(cw_feed *f, cw_engine *e, const uint8_t *buf, size_t len,
                    uint64_t *fed) {
  f->epoch++;
  if (f->epoch == 0) { /* wrapped: clear stamps once every 4G batches */
    if (f->strs)
      memset(f->strs, 0, f->nstrs * sizeof *f->strs);
    if (f->actors)
      memset(f->actors, 0, f->nactors * sizeof *f->actors);
    memset(f->locs, 0, sizeof f->locs);
    f->epoch = 1;
  }
  f->e = e;
  f->fed = 0;
  cw_decode_cb cb = {fd_batch, fd_event, fd_gap, fd_retire};
  cw_decode_error err;
  int rc = cw__decode_batch(buf, len, &cb, f, &err);
  *fed = f->fed;
  return rc == CW_DECODE_OK ? 0 : -1;
}
