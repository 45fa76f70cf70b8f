/*
 * test_db_trace.h: test helper for the database wrapper tests. It starts
 * the SDK with a trace file, and after cw_flush() reads the events back
 * with the native decoder, so tests assert on what was really recorded.
 * Header-only (static functions); one includer per test program.
 */
#ifndef TEST_DB_TRACE_H
#define TEST_DB_TRACE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "causeway.h"
#include "cw_format.h"

typedef struct tev {
  uint32_t kind, flags;
  uint64_t seq;
  int64_t aux;
  char object[128];
  char detail[256];
} tev;

typedef struct tlog {
  tev *ev;
  size_t n, cap;
} tlog;

static char trace_path[256];
static tlog events;

static void copy_str(char *dst, size_t cap, const char *s, size_t n) {
  if (!s)
    n = 0;
  if (n >= cap)
    n = cap - 1;
  if (n)
    memcpy(dst, s, n);
  dst[n] = 0;
}

static int collect(void *ud, const cw_batch_ctx *ctx, const cw_event_rec *r) {
  tlog *l = ud;
  size_t n;
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 256;
    tev *p = realloc(l->ev, cap * sizeof *p);
    if (!p)
      return 1;
    l->ev = p;
    l->cap = cap;
  }
  tev *e = &l->ev[l->n++];
  memset(e, 0, sizeof *e);
  e->kind = r->kind;
  e->flags = r->flags;
  e->seq = r->seq;
  e->aux = r->aux;
  const char *s = cw__ctx_string(ctx, r->object, &n);
  copy_str(e->object, sizeof e->object, s, n);
  if (r->flags & CW_EVF_DETAIL) {
    s = cw__ctx_string(ctx, r->detail, &n);
    copy_str(e->detail, sizeof e->detail, s, n);
  }
  return 0;
}

static int by_seq(const void *a, const void *b) {
  const tev *x = a, *y = b;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Starts the SDK writing to a fresh trace file. */
static int trace_start(const char *service) {
  snprintf(trace_path, sizeof trace_path, "/tmp/cw-dbtest-%ld.cwt",
           (long)getpid());
  unlink(trace_path);
  cw_config cfg;
  cw_config_init(&cfg);
  cfg.service = service;
  cfg.trace_file = trace_path;
  return cw_init(&cfg) == CW_OK ? 0 : -1;
}

/* Flushes and reloads every event recorded so far, in sequence order. */
static void trace_reload(void) {
  cw_decode_cb cb;
  cw_decode_error err;
  int tail = 0;
  memset(&cb, 0, sizeof cb);
  cb.on_event = collect;
  if (cw_flush() != CW_OK)
    fail_msg("cw_flush failed");
  events.n = 0;
  if (cw__decode_file(trace_path, &cb, &events, &tail, &err) < 0)
    fail_msg("decode: %s", err.msg);
  if (events.n > 1)
    qsort(events.ev, events.n, sizeof *events.ev, by_seq);
}

static void trace_stop(void) {
  cw_shutdown();
  unlink(trace_path);
  free(events.ev);
  events.ev = NULL;
  events.n = events.cap = 0;
}

/* Index of the first event at or after `from` with this kind whose object
 * (or, when object is NULL, detail) matches, or -1. */
static long find_ev(size_t from, uint32_t kind, const char *object,
                    const char *detail_prefix) {
  for (size_t i = from; i < events.n; i++) {
    const tev *e = &events.ev[i];
    if (e->kind != kind)
      continue;
    if (object && strcmp(e->object, object) != 0)
      continue;
    if (detail_prefix &&
        strncmp(e->detail, detail_prefix, strlen(detail_prefix)) != 0)
      continue;
    return (long)i;
  }
  return -1;
}

/* Events recorded from now on start at this index. */
static size_t mark(void) {
  trace_reload();
  return events.n;
}

#endif /* TEST_DB_TRACE_H */
