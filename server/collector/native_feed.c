/*
 * native_feed: native batch -> engine events.
 *
 * DESIGN. The analysis thread decodes each stored batch with
 * cw__decode_batch and hands every record to the shared mapper
 * (cw_native_map.c, also used by `causeway check`), which interns strings
 * and actors through per-batch caches, so feeding costs no allocation per
 * event. The SDK's clocks are the happens-before. A batch's events are fed
 * in sequence order (the SDK drains per-thread buffers in turn), as the CLI
 * restores it. Traced events also go to the trace index, under the service
 * of their actor's own name.
 */
#define _POSIX_C_SOURCE 200809L
#include "native_feed.h"
#include "cw_input.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
  int v = cw__nmap_verdict(ctx, ev);
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
    cw__decode_set_error(err, CW_DERR_TOO_BIG, 0,
                         "batch has more than %llu events (--max-batch-events)",
                         (unsigned long long)max_events);
    return -1;
  }
  if (rc != CW_DECODE_OK)
    return -1;
  if (c.headers != 1) {
    cw__decode_set_error(err, CW_DERR_MALFORMED, 0,
                         "batch has no BATCH header");
    return -1;
  }
  return 0;
}

/* ---- Analysis-side feed -------------------------------------------------- */

/* One mapped event of the batch being fed, until the batch is sorted. */
typedef struct fd_item {
  cw_aevent ev;
  uint64_t ord;
  uint32_t join0; /* its joins: jbuf[join0 .. join0 + ev.njoins) */
} fd_item;

struct cw_feed {
  cw_nmap *map;
  cw_engine *e;
  uint64_t fed;
  int oom;
  cw_traces *traces;
  cw_timeline *timeline;
  fd_item *items; /* the batch, reused between batches */
  size_t nitems, capitems;
  cw_ae_join *jbuf;
  size_t njbuf, capjbuf;
};

cw_feed *cw__feed_new(void) {
  cw_feed *f = calloc(1, sizeof(cw_feed));
  if (f && !(f->map = cw__nmap_new())) {
    free(f);
    return NULL;
  }
  return f;
}

void cw__feed_set_traces(cw_feed *f, cw_traces *t) {
  f->traces = t;
}

void cw__feed_free(cw_feed *f) {
  if (!f)
    return;
  cw__nmap_free(f->map);
  free(f->items);
  free(f->jbuf);
  free(f);
}

/* Keeps one mapped event (and a copy of its joins) for the sorted feed. */
static void keep(cw_feed *f, const cw_aevent *a) {
  if (f->nitems == f->capitems) {
    size_t cap = f->capitems ? f->capitems * 2 : 1024;
    fd_item *n = realloc(f->items, cap * sizeof *n);
    if (!n) {
      f->oom = 1;
      return;
    }
    f->items = n;
    f->capitems = cap;
  }
  if (f->njbuf + a->njoins > f->capjbuf) {
    size_t cap = f->capjbuf ? f->capjbuf : 1024;
    while (cap < f->njbuf + a->njoins)
      cap *= 2;
    cw_ae_join *n = realloc(f->jbuf, cap * sizeof *n);
    if (!n) {
      f->oom = 1;
      return;
    }
    f->jbuf = n;
    f->capjbuf = cap;
  }
  fd_item *it = &f->items[f->nitems];
  it->ev = *a;
  it->ev.joins = NULL;
  it->ord = f->nitems++;
  it->join0 = (uint32_t)f->njbuf;
  if (a->njoins)
    memcpy(f->jbuf + f->njbuf, a->joins, a->njoins * sizeof *a->joins);
  f->njbuf += a->njoins;
}

static int item_cmp(const void *x, const void *y) {
  const fd_item *a = x, *b = y;
  if (a->ev.seq != b->ev.seq)
    return a->ev.seq < b->ev.seq ? -1 : 1;
  return a->ord < b->ord ? -1 : a->ord > b->ord;
}

/* The name an event shows in traces and timelines: its object, else the
 * child actor of a fork/join, else the record's raw string. */
static cw_sym shown_object(cw_feed *f, const cw_batch_ctx *ctx,
                           const cw_event_rec *ev, const cw_aevent *a) {
  if (a->object)
    return a->object;
  return a->child ? cw__engine_actor_name(f->e, a->child)
                  : cw__nmap_str(f->map, ctx, ev->object);
}

/* Trace index (and through it, the calls between services) for one
 * analysed event, under the service of its actor's own name. */
static void note_trace(cw_feed *f, const cw_batch_ctx *ctx,
                       const cw_event_rec *ev, const cw_aevent *a) {
  if (!(ev->flags & CW_EVF_TRACE))
    return;
  cw_trace_event te;
  memset(&te, 0, sizeof te);
  te.kind = (uint8_t)ev->kind;
  te.flags = (uint16_t)ev->flags;
  te.actor = a->actor;
  te.service = cw__engine_actor_service(f->e, a->actor);
  te.object = shown_object(f, ctx, ev, a);
  te.loc = a->loc;
  if (ev->flags & CW_EVF_DETAIL)
    te.detail = cw__nmap_str(f->map, ctx, ev->detail);
  te.wall_ns = ev->wall_ns;
  te.duration_ns = ev->duration_ns;
  te.aux = ev->aux;
  te.seq = ev->seq;
  memcpy(te.span_id, ev->span_id, 8);
  memcpy(te.parent_span_id, ev->parent_span_id, 8);
  cw__traces_add(f->traces, ev->trace_id, te.service, &te);
}

void cw__feed_set_timeline(cw_feed *f, cw_timeline *t) {
  f->timeline = t;
}

/* Keeps one analysed event for the viewer's timelines. */
static void note_timeline(cw_feed *f, const cw_batch_ctx *ctx,
                          const cw_event_rec *ev, const cw_aevent *a) {
  cw_tl_event te;
  memset(&te, 0, sizeof te);
  te.kind = (uint8_t)ev->kind;
  te.flags = (uint16_t)ev->flags;
  te.actor = a->actor;
  te.object = shown_object(f, ctx, ev, a);
  te.loc = a->loc;
  if (ev->flags & CW_EVF_DETAIL)
    te.detail = cw__nmap_str(f->map, ctx, ev->detail);
  te.val_str = a->val_str;
  te.wall_ns = ev->wall_ns;
  te.duration_ns = ev->duration_ns;
  te.seq = ev->seq;
  te.counter = ev->counter;
  if (ev->flags & CW_EVF_VAL_INT) {
    te.val = ev->val_int;
    te.has_val = 1;
  } else if (ev->flags & CW_EVF_AUX) {
    te.val = ev->aux;
    te.has_val = 1;
  }
  /* The edge that ordered this event after another actor's: for HTTP the
   * caller (another service), else the first join naming another actor. */
  int http = ev->kind == CW_EV_HTTP_RECV || ev->kind == CW_EV_HTTP_RESPONSE;
  cw_sym own = cw__engine_actor_service(f->e, a->actor);
  for (uint32_t i = 0; i < a->njoins; i++) {
    cw_actor_id j = a->joins[i].actor;
    if (j == a->actor)
      continue;
    int other = cw__engine_actor_service(f->e, j) != own;
    if (!te.from_actor || (http && other)) {
      te.from_actor = j;
      te.from_counter = a->joins[i].counter;
    }
    if (!http || other)
      break;
  }
  cw__timeline_add(f->timeline, &te);
}

static int fd_batch(void *ud, const cw_batch_ctx *ctx) {
  cw_feed *f = ud;
  cw__nmap_batch(f->map, f->e, ctx);
  return 0;
}

static int fd_event(void *ud, const cw_batch_ctx *ctx, const cw_event_rec *ev) {
  cw_feed *f = ud;
  if (cw__nmap_verdict(ctx, ev) >= 0)
    return 0;
  cw_aevent a;
  if (cw__nmap_event(f->map, ctx, ev, &a) != 0) {
    f->oom = 1;
    return 1;
  }
  keep(f, &a);
  if (f->traces)
    note_trace(f, ctx, ev, &a);
  if (f->timeline)
    note_timeline(f, ctx, ev, &a);
  f->fed++;
  return 0;
}

static int fd_gap(void *ud, const cw_batch_ctx *ctx, uint32_t actor,
                  uint64_t dropped, uint64_t first, uint64_t last) {
  cw_feed *f = ud;
  (void)last;
  cw_aevent a;
  cw__nmap_gap(f->map, ctx, actor, dropped, first, &a);
  if (a.actor)
    keep(f, &a);
  return 0;
}

static int fd_retire(void *ud, const cw_batch_ctx *ctx, uint64_t seq,
                     const uint32_t *actors, uint32_t n) {
  cw_feed *f = ud;
  for (uint32_t i = 0; i < n; i++) {
    cw_aevent a;
    cw__nmap_retire(f->map, ctx, actors[i], seq, &a);
    if (a.actor)
      keep(f, &a);
  }
  return 0;
}

int cw__feed_native(cw_feed *f, cw_engine *e, const uint8_t *buf, size_t len,
                    uint64_t *fed) {
  f->e = e;
  f->fed = 0;
  f->oom = 0;
  cw_decode_cb cb = {fd_batch, fd_event, fd_gap, fd_retire};
  cw_decode_error err;
  f->nitems = f->njbuf = 0;
  int rc = cw__decode_batch(buf, len, &cb, f, &err);
  /* The SDK drains per-thread buffers in turn: restore the batch's
   * sequence order before the engine sees it, as causeway check does
   * (server/input/cw_native.c), so lock and wait-for state follow the
   * order the events happened in. */
  if (f->nitems > 1)
    qsort(f->items, f->nitems, sizeof *f->items, item_cmp);
  for (size_t i = 0; i < f->nitems; i++) {
    fd_item *it = &f->items[i];
    if (it->ev.njoins)
      it->ev.joins = f->jbuf + it->join0;
    cw__engine_feed(e, &it->ev);
  }
  *fed = f->fed;
  return rc == CW_DECODE_OK && !f->oom ? 0 : -1;
}
