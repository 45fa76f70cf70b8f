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
 * nothing. Happens-before comes only from the SDK's clocks: every event is
 * fed with its counter, its joins and CW_AEF_CLOCK_ONLY, except that lock
 * events of database resources ("db:...") and external locks ("ext:...",
 * cw_extlock_*) also get the engine's derived release -> acquire edges,
 * since they order actors of different processes.
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
  cw_actor_id *amap; /* batch-local actor id -> engine actor */
  size_t amap_cap;
  cw_sym service;
  const char *svc, *inst; /* the current batch's header (borrowed) */
  size_t svc_len, inst_len;
  cw_engine *e;
  cw_input_stats *st;
  int oom;
} nat_src;

int cw__lock_is_shared_resource(const char *name, size_t len) {
  return (len > 3 && memcmp(name, "db:", 3) == 0) ||
         (len > 4 && memcmp(name, "ext:", 4) == 0);
}

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

/* The service of a global actor name "service#instance/actor". */
static cw_sym service_of(nat_src *s, const char *name, size_t len) {
  const char *hash = memchr(name, '#', len);
  if (!hash || hash == name)
    return s->service;
  return cw__engine_intern(s->e, name, (size_t)(hash - name));
}

/* An actor by name. A name that is not global yet (no '#') is qualified
 * with the batch's service and instance, as the collector does. */
static cw_actor_id actor_by_name(nat_src *s, const char *name, size_t len) {
  char buf[1024];
  if (!memchr(name, '#', len)) {
    int n =
        snprintf(buf, sizeof buf, "%.*s#%.*s/%.*s", (int)s->svc_len, s->svc,
                 (int)s->inst_len, s->inst, (int)(len > 512 ? 512 : len), name);
    if (n > 0 && (size_t)n < sizeof buf) {
      name = buf;
      len = (size_t)n;
    }
  }
  cw_sym sym = cw__engine_intern(s->e, name, len);
  return cw__engine_actor(s->e, sym, service_of(s, name, len));
}

static cw_actor_id map_actor(nat_src *s, const cw_batch_ctx *ctx, uint32_t id) {
  if (id >= s->amap_cap) {
    size_t cap = s->amap_cap ? s->amap_cap : 64;
    while (cap <= id)
      cap *= 2;
    cw_actor_id *m = realloc(s->amap, cap * sizeof *m);
    if (!m) {
      s->oom = 1;
      return 0;
    }
    memset(m + s->amap_cap, 0, (cap - s->amap_cap) * sizeof *m);
    s->amap = m;
    s->amap_cap = cap;
  }
  if (!s->amap[id]) {
    size_t len;
    const char *name = cw__ctx_actor(ctx, id, &len, NULL);
    if (!name)
      return 0;
    s->amap[id] = actor_by_name(s, name, len);
  }
  return s->amap[id];
}

static cw_sym str_sym(nat_src *s, const cw_batch_ctx *ctx, uint32_t id) {
  size_t len;
  const char *p = id ? cw__ctx_string(ctx, id, &len) : NULL;
  return p ? cw__engine_intern(s->e, p, len) : 0;
}

static int on_batch(void *ud, const cw_batch_ctx *ctx) {
  nat_src *s = ud;
  const cw_batch_hdr *h = cw__ctx_header(ctx);
  s->service = cw__engine_intern(s->e, h->service, h->service_len);
  s->svc = h->service;
  s->svc_len = h->service_len > 256 ? 256 : h->service_len;
  s->inst = h->instance;
  s->inst_len = h->instance_len > 256 ? 256 : h->instance_len;
  if (s->amap)
    memset(s->amap, 0, s->amap_cap * sizeof *s->amap);
  s->st->batches++;
  return 0;
}

static const cw_ae_kind kind_map[CW_EV_KIND_MAX_] = {
    [CW_EV_THREAD_START] = CW_AE_BEGIN,
    [CW_EV_THREAD_END] = CW_AE_END,
    [CW_EV_FORK] = CW_AE_FORK,
    [CW_EV_JOIN] = CW_AE_JOIN,
    [CW_EV_TASK_BEGIN] = CW_AE_BEGIN,
    [CW_EV_TASK_END] = CW_AE_END,
    [CW_EV_LOCK_REQUEST] = CW_AE_LOCK_REQUEST,
    [CW_EV_LOCK_ACQUIRED] = CW_AE_LOCK_ACQUIRE,
    [CW_EV_LOCK_RELEASE] = CW_AE_LOCK_RELEASE,
    [CW_EV_READ] = CW_AE_READ,
    [CW_EV_WRITE] = CW_AE_WRITE,
    [CW_EV_RMW] = CW_AE_WRITE,
    [CW_EV_ANN_RELEASE] = CW_AE_ANN_RELEASE,
    [CW_EV_ANN_ACQUIRE] = CW_AE_ANN_ACQUIRE,
    [CW_EV_SPAN_BEGIN] = CW_AE_SPAN_BEGIN,
    [CW_EV_SPAN_END] = CW_AE_SPAN_END,
    [CW_EV_HTTP_SEND] = CW_AE_HTTP_SEND,
    [CW_EV_HTTP_RECV] = CW_AE_HTTP_RECV,
    [CW_EV_HTTP_RESPOND] = CW_AE_HTTP_RESPOND,
    [CW_EV_HTTP_RESPONSE] = CW_AE_HTTP_RESPONSE,
    [CW_EV_DB_QUERY] = CW_AE_DB_QUERY,
    [CW_EV_DB_RESULT] = CW_AE_DB_RESULT,
    [CW_EV_MESSAGE] = CW_AE_OTHER,
    [CW_EV_LOCK_TIMEOUT] = CW_AE_LOCK_TIMEOUT,
    [CW_EV_RETRY] = CW_AE_RETRY,
    [CW_EV_TIMEOUT] = CW_AE_TIMEOUT,
};

/* "kind detail" for informational events, e.g. "http_send GET /x". */
static cw_sym other_detail(nat_src *s, const cw_batch_ctx *ctx,
                           const cw_event_rec *r) {
  char buf[600];
  size_t dl = 0, ol = 0;
  const char *d = (r->flags & CW_EVF_DETAIL) && r->detail
                      ? cw__ctx_string(ctx, r->detail, &dl)
                      : NULL;
  const char *o = r->object ? cw__ctx_string(ctx, r->object, &ol) : NULL;
  int n = snprintf(buf, sizeof buf, "%s%s%.*s%s%.*s", cw__ev_kind_name(r->kind),
                   o ? " " : "", (int)(ol > 128 ? 128 : ol), o ? o : "",
                   d ? " " : "", (int)(dl > 400 ? 400 : dl), d ? d : "");
  if (n < 0)
    return 0;
  return cw__engine_intern(s->e, buf,
                           (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

static cw_sym location(nat_src *s, const cw_batch_ctx *ctx,
                       const cw_event_rec *r) {
  size_t fl;
  const char *f = r->file ? cw__ctx_string(ctx, r->file, &fl) : NULL;
  if (!f)
    return 0;
  if (!r->line)
    return cw__engine_intern(s->e, f, fl);
  char buf[1100];
  int n = snprintf(buf, sizeof buf, "%.*s:%u", (int)(fl > 1024 ? 1024 : fl), f,
                   r->line);
  return n > 0 ? cw__engine_intern(s->e, buf, (size_t)n) : 0;
}

static int on_event(void *ud, const cw_batch_ctx *ctx, const cw_event_rec *r) {
  nat_src *s = ud;
  if (r->kind >= CW_EV_KIND_MAX_ || !kind_map[r->kind]) {
    s->st->unknown_kinds++;
    return 0;
  }
  nat_item it;
  memset(&it, 0, sizeof it);
  cw_aevent *ev = &it.ev;
  ev->kind = kind_map[r->kind];
  ev->flags = CW_AEF_CLOCK_ONLY;
  if (r->flags & CW_EVF_ATOMIC || r->kind == CW_EV_RMW)
    ev->flags |= CW_AEF_ATOMIC;
  if (r->flags & CW_EVF_SHARED)
    ev->flags |= CW_AEF_SHARED;
  if (r->flags & CW_EVF_TRY)
    ev->flags |= CW_AEF_TRY;
  ev->actor = map_actor(s, ctx, r->actor);
  if (r->kind == CW_EV_FORK || r->kind == CW_EV_JOIN) {
    size_t len;
    const char *c = r->object ? cw__ctx_string(ctx, r->object, &len) : NULL;
    if (c)
      ev->child = actor_by_name(s, c, len);
  } else if (ev->kind == CW_AE_OTHER) {
    ev->detail = other_detail(s, ctx, r);
  } else {
    ev->object = str_sym(s, ctx, r->object);
    if (r->flags & CW_EVF_DETAIL)
      ev->detail = str_sym(s, ctx, r->detail);
    if (ev->kind == CW_AE_LOCK_ACQUIRE || ev->kind == CW_AE_LOCK_RELEASE) {
      /* Database lock resources ("db:...") are shared by every process
       * that uses the database, and no clock travels with them: their
       * release -> acquire edges come from the merged event order. */
      size_t len;
      const char *name = cw__ctx_string(ctx, r->object, &len);
      if (name && cw__lock_is_shared_resource(name, len))
        ev->flags &= ~(uint32_t)CW_AEF_CLOCK_ONLY;
    }
  }
  ev->loc = location(s, ctx, r);
  if (r->flags & CW_EVF_VAL_INT) {
    ev->flags |= CW_AEF_VAL_INT;
    ev->val_int = r->val_int;
  }
  if (r->flags & CW_EVF_VAL_STR) {
    ev->flags |= CW_AEF_VAL_STR;
    ev->val_str = str_sym(s, ctx, r->val_str);
  }
  ev->counter = r->counter;
  ev->ts_ns = (int64_t)r->mono_ns;
  ev->duration_ns = r->duration_ns;
  ev->aux = r->aux;
  ev->seq = r->seq;
  if (r->njoins) {
    it.joins = malloc(r->njoins * sizeof *it.joins);
    if (!it.joins) {
      s->oom = 1;
      return 1;
    }
    for (uint32_t i = 0; i < r->njoins; i++) {
      it.joins[i].actor = map_actor(s, ctx, r->joins[i].actor);
      it.joins[i].counter = r->joins[i].counter;
    }
    ev->njoins = r->njoins;
  }
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
  it.ev.kind = CW_AE_GAP;
  it.ev.actor = map_actor(s, ctx, actor);
  it.ev.aux = dropped > INT64_MAX ? INT64_MAX : (int64_t)dropped;
  it.ev.seq = first_seq;
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
    it.ev.kind = CW_AE_RETIRE;
    it.ev.actor = map_actor(s, ctx, actors[i]);
    it.ev.seq = seq;
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
  if (err) {
    snprintf(err->msg, sizeof err->msg, "%s: %s", s->name, msg);
    err->line = 0;
  }
  return -1;
}

/* Decodes frames until the heap holds a window or the input ends. */
static int src_fill(nat_src *s, cw_input_error *err) {
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
      if (strstr(de.msg, "truncated")) {
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
  free(s->amap);
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
  s->window = CW_NATIVE_WINDOW / (nsrc ? nsrc : 1);
  if (s->window < NAT_MIN_WINDOW)
    s->window = NAT_MIN_WINDOW;
}

int cw__native_decode_files(const char *const *paths, size_t n, cw_engine *e,
                            const cw_input_opts *o, cw_input_stats *st,
                            cw_input_error *err) {
  cw_input_stats dummy;
  if (!st) {
    memset(&dummy, 0, sizeof dummy);
    st = &dummy;
  }
  if (err) {
    err->msg[0] = '\0';
    err->line = 0;
  }
  nat_src *src = calloc(n ? n : 1, sizeof *src);
  if (!src)
    return -1;
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    src_init(&src[i], paths[i], e, st, n);
    rc = read_file(&src[i], paths[i], err);
  }
  if (rc == 0)
    rc = decode_sources(src, n, e, o, st, err);
  for (size_t i = 0; i < n; i++)
    src_free(&src[i]);
  free(src);
  return rc;
}

int cw__native_decode_buf(const uint8_t *buf, size_t len, cw_engine *e,
                          const cw_input_opts *o, cw_input_stats *st,
                          cw_input_error *err) {
  cw_input_stats dummy;
  if (!st) {
    memset(&dummy, 0, sizeof dummy);
    st = &dummy;
  }
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
