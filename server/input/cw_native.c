/*
 * cw_native: decoder of causeway's native trace files (docs/event-format.md)
 * into engine events.
 *
 * DESIGN. A trace file is a concatenation of LZ4 frames, one batch each.
 * The SDK drains per-thread buffers in turn, so within one process events
 * reach the file slightly out of sequence order. Each file is therefore a
 * source with a min-heap keyed by (seq, arrival): frames are decoded one at
 * a time until the heap holds a window of events, and the smallest is
 * handed on, which restores seq order whenever the disorder is shorter than
 * the window (CW_NATIVE_WINDOW events split over the files, at least 64 Ki
 * each). Several files (processes) are merged by the wall-clock time of
 * their next event; the engine holds back any event whose joins name
 * clocks it has not seen yet, so small clock skew between hosts costs
 * nothing. Records become engine events through cw_native_map.c, the
 * mapping the collector uses too (clocks, names, services, shared
 * resources are decided there).
 *
 * Strings and actors are batch-local in the format; they are interned into
 * the engine as soon as a batch is decoded, so held-back events own no
 * batch memory (only their join lists, allocated per event that has one).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw_format.h"
#include "cw_input.h"
#include "cw_native_map.h"

#define NAT_MIN_WINDOW ((size_t)1 << 16)
#define NAT_MAX_FILE ((size_t)16 << 30) /* compressed trace file cap */

typedef struct nat_item {
  uint64_t seq, ord;
  int64_t wall;
  cw_aevent ev;      /* ev.joins is NULL while held */
  cw_ae_join *joins; /* ev.njoins entries, owned */
} nat_item;

typedef struct nat_src {
  const char *name;
  const uint8_t *buf;
  size_t len, pos;
  uint8_t *owned;
  nat_item *heap;
  size_t n, cap, window;
  uint64_t ord;
  int done;
  cw_nmap *map; /* the shared native -> engine mapping */
  cw_engine *e;
  cw_input_stats *st;
  int oom;
} nat_src;

static int item_less(const nat_item *a, const nat_item *b) {
  return a->seq != b->seq ? a->seq < b->seq : a->ord < b->ord;
}

static int heap_push(nat_src *s, const nat_item *it) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 1024;
    nat_item *h = realloc(s->heap, cap * sizeof *h);
    if (!h)
      return -1;
    s->heap = h;
    s->cap = cap;
  }
  size_t i = s->n++;
  s->heap[i] = *it;
  s->heap[i].ord = s->ord++;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!item_less(&s->heap[i], &s->heap[p]))
      break;
    nat_item t = s->heap[i];
    s->heap[i] = s->heap[p];
    s->heap[p] = t;
    i = p;
  }
  return 0;
}

static void heap_pop(nat_src *s, nat_item *out) {
  *out = s->heap[0];
  s->heap[0] = s->heap[--s->n];
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < s->n && item_less(&s->heap[l], &s->heap[m]))
      m = l;
    if (r < s->n && item_less(&s->heap[r], &s->heap[m]))
      m = r;
    if (m == i)
      break;
    nat_item t = s->heap[i];
    s->heap[i] = s->heap[m];
    s->heap[m] = t;
    i = m;
  }
}

static int on_batch(void *ud, const cw_batch_ctx *ctx) {
  nat_src *s = ud;
  cw__nmap_batch(s->map, s->e, ctx);
  s->st->batches++;
  return 0;
}

static int on_event(void *ud, const cw_batch_ctx *ctx, const cw_event_rec *r) {
  nat_src *s = ud;
  int v = cw__nmap_verdict(ctx, r);
  if (v == CW_REJ_UNKNOWN_KIND) {
    s->st->unknown_kinds++;
    return 0;
  }
  if (v == CW_REJ_UNKNOWN_ACTOR) {
    s->st->unknown_actors++;
    return 0;
  }
  nat_item it;
  memset(&it, 0, sizeof it);
  if (cw__nmap_event(s->map, ctx, r, &it.ev) != 0) {
    s->oom = 1;
    return 1;
  }
  if (it.ev.njoins) {
    it.joins = malloc(it.ev.njoins * sizeof *it.joins);
    if (!it.joins) {
      s->oom = 1;
      return 1;
    }
    memcpy(it.joins, it.ev.joins, it.ev.njoins * sizeof *it.joins);
  }
  it.ev.joins = NULL;
  it.seq = r->seq;
  it.wall = r->wall_ns;
  if (s->oom || heap_push(s, &it) != 0) {
    free(it.joins);
    s->oom = 1;
    return 1;
  }
  return 0;
}

static int on_gap(void *ud, const cw_batch_ctx *ctx, uint32_t actor,
                  uint64_t dropped, uint64_t first_seq, uint64_t last_seq) {
  nat_src *s = ud;
  (void)last_seq;
  nat_item it;
  memset(&it, 0, sizeof it);
  cw__nmap_gap(s->map, ctx, actor, dropped, first_seq, &it.ev);
  it.seq = first_seq;
  it.wall = s->n ? s->heap[0].wall : 0;
  if (heap_push(s, &it) != 0) {
    s->oom = 1;
    return 1;
  }
  return 0;
}

static int on_retire(void *ud, const cw_batch_ctx *ctx, uint64_t seq,
                     const uint32_t *actors, uint32_t n) {
  nat_src *s = ud;
  for (uint32_t i = 0; i < n; i++) {
    nat_item it;
    memset(&it, 0, sizeof it);
    cw__nmap_retire(s->map, ctx, actors[i], seq, &it.ev);
    if (!it.ev.actor)
      continue;
    it.seq = seq;
    it.wall = s->n ? s->heap[0].wall : 0;
    if (heap_push(s, &it) != 0) {
      s->oom = 1;
      return 1;
    }
  }
  return 0;
}

static const cw_decode_cb nat_cb = {on_batch, on_event, on_gap, on_retire};

static int src_error(const nat_src *s, cw_input_error *err, const char *msg) {
  cw__input_error_at(err, s->name, 0, msg);
  return -1;
}

/* Decodes frames until the heap holds a window or the input ends. */
static int src_fill(nat_src *s, cw_input_error *err) {
  if (!s->map)
    return src_error(s, err, "out of memory");
  while (!s->done && s->n < s->window) {
    if (s->pos >= s->len) {
      s->done = 1;
      break;
    }
    size_t out_len = 0, used = 0;
    cw_decode_error de;
    memset(&de, 0, sizeof de);
    uint8_t *batch =
        cw__lz4_frame_decompress(s->buf + s->pos, s->len - s->pos,
                                 CW_MAX_BATCH_BYTES, &out_len, &used, &de);
    if (!batch) {
      if (de.code == CW_DERR_TRUNCATED) {
        /* A writer died mid-frame: keep what came before. */
        s->st->truncated_files++;
        s->done = 1;
        break;
      }
      char msg[240];
      snprintf(msg, sizeof msg, "byte %llu: %s",
               (unsigned long long)(s->pos + de.offset), de.msg);
      return src_error(s, err, msg);
    }
    int rc = cw__decode_batch(batch, out_len, &nat_cb, s, &de);
    free(batch);
    if (s->oom)
      return src_error(s, err, "out of memory");
    if (rc != CW_DECODE_OK) {
      char msg[240];
      snprintf(msg, sizeof msg, "batch at byte %llu: %s (record offset %llu)",
               (unsigned long long)s->pos, de.msg,
               (unsigned long long)de.offset);
      return src_error(s, err, msg);
    }
    s->pos += used;
    s->st->bytes += used;
  }
  return 0;
}

static void src_free(nat_src *s) {
  for (size_t i = 0; i < s->n; i++)
    free(s->heap[i].joins);
  free(s->heap);
  cw__nmap_free(s->map);
  free(s->owned);
}

static int read_file(nat_src *s, const char *path, cw_input_error *err) {
  char msg[128];
  size_t len;
  char *buf = cw__read_file(path, NAT_MAX_FILE, &len, msg, sizeof msg);
  if (!buf)
    return src_error(s, err, msg);
  s->owned = (uint8_t *)buf;
  s->buf = s->owned;
  s->len = len;
  return 0;
}

static int decode_sources(nat_src *src, size_t n, cw_engine *e,
                          const cw_input_opts *o, cw_input_stats *st,
                          cw_input_error *err) {
  int rc = 0;
  uint64_t fed = 0;
  for (;;) {
    nat_src *best = NULL;
    for (size_t i = 0; i < n && rc == 0; i++) {
      if ((rc = src_fill(&src[i], err)) != 0)
        break;
      if (src[i].n && (!best || src[i].heap[0].wall < best->heap[0].wall))
        best = &src[i];
    }
    if (rc || !best)
      break;
    nat_item it;
    heap_pop(best, &it);
    it.ev.joins = it.joins;
    (void)cw__engine_feed(e, &it.ev);
    free(it.joins);
    st->events++;
    if (o && o->progress && ++fed % 65536 == 0) {
      uint64_t done = 0;
      for (size_t i = 0; i < n; i++)
        done += src[i].pos;
      o->progress(o->progress_ud, done, o->total_bytes);
    }
  }
  return rc;
}

static void src_init(nat_src *s, const char *name, cw_engine *e,
                     cw_input_stats *st, size_t nsrc) {
  memset(s, 0, sizeof *s);
  s->name = name;
  s->e = e;
  s->st = st;
  s->map = cw__nmap_new();
  s->window = CW_NATIVE_WINDOW / (nsrc ? nsrc : 1);
  if (s->window < NAT_MIN_WINDOW)
    s->window = NAT_MIN_WINDOW;
}

int cw__native_decode_srcs(const cw_native_src *srcs, size_t n, cw_engine *e,
                           const cw_input_opts *o, cw_input_stats *st,
                           cw_input_error *err) {
  cw_input_stats dummy;
  st = cw__stats_or(st, &dummy);
  if (err) {
    err->msg[0] = '\0';
    err->line = 0;
  }
  nat_src *src = calloc(n ? n : 1, sizeof *src);
  if (!src)
    return -1;
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    src_init(&src[i], srcs[i].name, e, st, n);
    if (srcs[i].buf) {
      src[i].buf = srcs[i].buf;
      src[i].len = srcs[i].len;
    } else {
      rc = read_file(&src[i], srcs[i].name, err);
    }
  }
  if (rc == 0)
    rc = decode_sources(src, n, e, o, st, err);
  for (size_t i = 0; i < n; i++)
    src_free(&src[i]);
  free(src);
  return rc;
}

int cw__native_decode_files(const char *const *paths, size_t n, cw_engine *e,
                            const cw_input_opts *o, cw_input_stats *st,
                            cw_input_error *err) {
  cw_native_src *srcs = calloc(n ? n : 1, sizeof *srcs);
  if (!srcs)
    return -1;
  for (size_t i = 0; i < n; i++)
    srcs[i].name = paths[i];
  int rc = cw__native_decode_srcs(srcs, n, e, o, st, err);
  free(srcs);
  return rc;
}

int cw__native_decode_buf(const uint8_t *buf, size_t len, cw_engine *e,
                          const cw_input_opts *o, cw_input_stats *st,
                          cw_input_error *err) {
  cw_input_stats dummy;
  st = cw__stats_or(st, &dummy);
  if (err) {
    err->msg[0] = '\0';
    err->line = 0;
  }
  nat_src s;
  src_init(&s, (o && o->name) ? o->name : "<input>", e, st, 1);
  s.buf = buf;
  s.len = len;
  int rc = decode_sources(&s, 1, e, o, st, err);
  src_free(&s);
  return rc;
}
