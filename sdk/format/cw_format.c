/*
 * cw_format: native batch encoder and decoder (docs/event-format.md).
 *
 * DESIGN. The writer appends records to one bounded byte buffer and keeps two
 * open-addressing dictionaries (strings and actors) that map bytes to their
 * batch-local ids, so every string is written once per batch. The decoder is
 * strict and allocation-light: it validates every length against the end of
 * the buffer, keeps a table of (offset, length) for strings and actors, and
 * hands borrowed views to callbacks.
 */
#define _POSIX_C_SOURCE 200809L
#include "cw_format.h"
#include "cw_format_alloc.h"

#include <errno.h>
#include <lz4frame.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Varints --------------------------------------------------------------
 */

/* The varint writer, with the one-byte case first (most fields of a steady
 * event stream are small ids and deltas); inlined here. */
static inline size_t put_vi(uint8_t *p, uint64_t v) {
  return cw__vi_put(p, v);
}

size_t cw__put_varint(uint8_t *p, uint64_t v) {
  return put_vi(p, v);
}

static uint64_t zigzag(int64_t v) {
  return cw__zigzag(v);
}

/* ---- Writer ---------------------------------------------------------------
 */

typedef struct dict_slot {
  uint64_t hash;
  uint32_t id;  /* 0: empty */
  uint32_t off; /* offset of the bytes inside the batch buffer */
  uint32_t len;
} dict_slot;

typedef struct dict {
  dict_slot *slots;
  uint32_t cap; /* power of two */
  uint32_t count;
} dict;

typedef cw_bw_last actor_last;

struct cw_batch_writer {
  cw_bw_head h; /* first: what the inline encoder uses (cw_format.h) */
  dict strings, actors;
  uint32_t caplast;
  LZ4F_cctx *cctx; /* reused by every frame (cw__bw_frame) */
  uint8_t *zbuf;   /* the last frame */
  size_t zcap;
  uint32_t next_string;
  int64_t base_wall;
  uint64_t base_mono;
};

static uint64_t hash_bytes(const void *p, size_t n) {
  /* Eight bytes per multiply (the dictionaries are probed once per string
   * reference, so a byte-at-a-time hash was a large part of encoding). */
  const uint8_t *s = p;
  uint64_t h = 0x9e3779b97f4a7c15ull ^ ((uint64_t)n * 0xff51afd7ed558ccdull);
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, s, 8);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
    s += 8;
    n -= 8;
  }
  if (n) {
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++)
      w |= (uint64_t)s[i] << (8 * i);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
  }
  h ^= h >> 32;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 29;
  return h ? h : 1;
}

static int dict_init(dict *d, uint32_t cap) {
  d->slots = fmt_calloc(cap, sizeof(dict_slot));
  d->cap = cap;
  d->count = 0;
  return d->slots ? 0 : -1;
}

static void dict_clear(dict *d) {
  memset(d->slots, 0, (size_t)d->cap * sizeof(dict_slot));
  d->count = 0;
}

static int dict_grow(dict *d) {
  uint32_t ncap = d->cap * 2;
  dict_slot *ns = fmt_calloc(ncap, sizeof(dict_slot));
  if (!ns)
    return -1;
  for (uint32_t i = 0; i < d->cap; i++) {
    dict_slot *s = &d->slots[i];
    if (!s->id)
      continue;
    uint32_t j = (uint32_t)s->hash & (ncap - 1);
    while (ns[j].id)
      j = (j + 1) & (ncap - 1);
    ns[j] = *s;
  }
  fmt_free(d->slots);
  d->slots = ns;
  d->cap = ncap;
  return 0;
}

/* Finds the slot for (bytes) or the empty slot where it would go. */
static dict_slot *dict_find(dict *d, const uint8_t *base, const char *s,
                            size_t len, uint64_t h) {
  uint32_t j = (uint32_t)h & (d->cap - 1);
  for (;;) {
    dict_slot *sl = &d->slots[j];
    if (!sl->id)
      return sl;
    if (sl->hash == h && sl->len == len && memcmp(base + sl->off, s, len) == 0)
      return sl;
    j = (j + 1) & (d->cap - 1);
  }
}

cw_batch_writer *cw__bw_new(size_t capacity) {
  if (capacity < 256)
    capacity = 256;
  if (capacity > UINT32_MAX)
    capacity = UINT32_MAX;
  cw_batch_writer *bw = fmt_calloc(1, sizeof(*bw));
  if (!bw)
    return NULL;
  bw->h.buf = fmt_malloc(capacity);
  bw->h.cap = capacity;
  if (!bw->h.buf || dict_init(&bw->strings, 1024) ||
      dict_init(&bw->actors, 64)) {
    cw__bw_free(bw);
    return NULL;
  }
  return bw;
}

void cw__bw_free(cw_batch_writer *bw) {
  if (!bw)
    return;
  fmt_free(bw->h.buf);
  fmt_free(bw->strings.slots);
  fmt_free(bw->actors.slots);
  fmt_free(bw->h.last);
  fmt_free(bw->zbuf);
  if (bw->cctx)
    LZ4F_freeCompressionContext(bw->cctx);
  fmt_free(bw);
}

/* @return non-zero when `need` more bytes fit under the hard cap. */
static int room(const cw_batch_writer *bw, size_t need) {
  return bw->h.len + need <= bw->h.cap;
}

/* Writes a record whose payload is payload[0..n). */
static int put_record(cw_batch_writer *bw, uint8_t type, const uint8_t *payload,
                      size_t n) {
  uint8_t hdr[11];
  size_t h = 0;
  hdr[h++] = type;
  h += cw__put_varint(hdr + h, n);
  if (!room(bw, h + n))
    return -1;
  memcpy(bw->h.buf + bw->h.len, hdr, h);
  memcpy(bw->h.buf + bw->h.len + h, payload, n);
  bw->h.len += h + n;
  return 0;
}

int cw__bw_begin(cw_batch_writer *bw, const cw_batch_hdr *hdr) {
  bw->h.len = 0;
  bw->h.events = 0;
  bw->next_string = 1;
  bw->h.next_actor = 1;
  dict_clear(&bw->strings);
  dict_clear(&bw->actors);
  bw->base_wall = hdr->base_wall_ns;
  bw->base_mono = hdr->base_mono_ns;

  size_t need = 64 + hdr->service_len + hdr->instance_len;
  if (need > bw->h.cap)
    return -1;
  /* The SDK's names are short: no allocation (and so no failure) there. */
  uint8_t stackbuf[512];
  uint8_t *p = need <= sizeof stackbuf ? stackbuf : fmt_malloc(need);
  if (!p)
    return -1;
  size_t n = 0;
  memcpy(p, "CWB", 3);
  n += 3;
  n += cw__put_varint(p + n, CW_FORMAT_VERSION);
  memcpy(p + n, hdr->stream_id, 16);
  n += 16;
  n += cw__put_varint(p + n, hdr->batch_no);
  n += cw__put_varint(p + n, hdr->service_len);
  memcpy(p + n, hdr->service, hdr->service_len);
  n += hdr->service_len;
  n += cw__put_varint(p + n, hdr->instance_len);
  memcpy(p + n, hdr->instance, hdr->instance_len);
  n += hdr->instance_len;
  n += cw__put_varint(p + n, hdr->pid);
  n += cw__put_varint(p + n, zigzag(hdr->base_wall_ns));
  n += cw__put_varint(p + n, hdr->base_mono_ns);
  int rc = put_record(bw, CW_REC_BATCH, p, n);
  if (p != stackbuf)
    fmt_free(p);
  return rc;
}

static uint32_t intern(cw_batch_writer *bw, dict *d, const char *s, size_t len,
                       int *is_new) {
  uint64_t h = hash_bytes(s, len);
  dict_slot *sl = dict_find(d, bw->h.buf, s, len, h);
  *is_new = 0;
  if (sl->id)
    return sl->id;
  *is_new = 1;
  return 0;
}

uint32_t cw__bw_string(cw_batch_writer *bw, const char *s, size_t len) {
  int is_new;
  uint32_t id = intern(bw, &bw->strings, s, len, &is_new);
  if (id)
    return id;
  if (len > UINT32_MAX / 2)
    return 0;
  /* STRING: id, len, bytes. */
  uint8_t hdr[32];
  size_t h = 0;
  id = bw->next_string;
  hdr[h++] = CW_REC_STRING;
  uint8_t ib[20];
  size_t il = cw__put_varint(ib, id);
  il += cw__put_varint(ib + il, len);
  h += cw__put_varint(hdr + h, il + len);
  if (!room(bw, h + il + len))
    return 0;
  if ((bw->strings.count + 1) * 2 > bw->strings.cap && dict_grow(&bw->strings))
    return 0;
  uint8_t *w = bw->h.buf + bw->h.len;
  memcpy(w, hdr, h);
  memcpy(w + h, ib, il);
  memcpy(w + h + il, s, len);
  uint32_t off = (uint32_t)(bw->h.len + h + il);
  bw->h.len += h + il + len;
  uint64_t hh = hash_bytes(s, len);
  dict_slot *sl = dict_find(&bw->strings, bw->h.buf, s, len, hh);
  sl->hash = hh;
  sl->id = id;
  sl->off = off;
  sl->len = (uint32_t)len;
  bw->strings.count++;
  bw->next_string++;
  return id;
}

uint32_t cw__bw_actor(cw_batch_writer *bw, const char *name, size_t len,
                      uint32_t actor_kind) {
  uint32_t sid = cw__bw_string(bw, name, len);
  if (!sid)
    return 0;
  /* Actors are keyed by their string's bytes, which now live in the buffer. */
  int is_new;
  uint32_t id = intern(bw, &bw->actors, name, len, &is_new);
  if (id)
    return id;
  if ((bw->actors.count + 1) * 2 > bw->actors.cap && dict_grow(&bw->actors))
    return 0;
  if (bw->h.next_actor >= bw->caplast) {
    uint32_t ncap = bw->caplast ? bw->caplast * 2 : 64;
    actor_last *l = fmt_realloc(bw->h.last, (size_t)ncap * sizeof(*l));
    if (!l)
      return 0;
    bw->h.last = l;
    bw->caplast = ncap;
  }
  uint8_t p[24];
  size_t n = 0;
  id = bw->h.next_actor;
  n += cw__put_varint(p + n, id);
  n += cw__put_varint(p + n, sid);
  n += cw__put_varint(p + n, actor_kind);
  if (put_record(bw, CW_REC_ACTOR, p, n))
    return 0;
  /* Point the dictionary entry at the string's bytes in the buffer. */
  dict_slot *ss =
      dict_find(&bw->strings, bw->h.buf, name, len, hash_bytes(name, len));
  uint64_t h = hash_bytes(name, len);
  dict_slot *sl = dict_find(&bw->actors, bw->h.buf, name, len, h);
  sl->hash = h;
  sl->id = id;
  sl->off = ss->off;
  sl->len = (uint32_t)len;
  bw->h.last[id] = (actor_last){0, 0, bw->base_mono};
  bw->actors.count++;
  bw->h.next_actor++;
  return id;
}

/* Writes an event's payload at p (room for event_max() bytes); `delta`
 * selects the EVENT_D layout. @return its length. */
static size_t encode_event(const cw_batch_writer *bw, const cw_event_rec *ev,
                           uint32_t flags, int delta, uint8_t *p) {
  size_t n = 0;
  n += put_vi(p + n, ev->kind);
  n += put_vi(p + n, flags);
  if (delta) {
    const actor_last *l = &bw->h.last[ev->actor];
    n += put_vi(p + n, ev->actor);
    n += put_vi(p + n, zigzag((int64_t)(ev->seq - l->seq)));
    n += put_vi(p + n, zigzag((int64_t)(ev->counter - l->ctr)));
    n += put_vi(p + n, zigzag((int64_t)(ev->mono_ns - l->mono)));
  } else {
    n += put_vi(p + n, ev->seq);
    n += put_vi(p + n, ev->actor);
    n += put_vi(p + n, ev->counter);
    n += put_vi(p + n, zigzag((int64_t)((uint64_t)ev->wall_ns -
                                        (uint64_t)bw->base_wall)));
    n += put_vi(p + n, zigzag((int64_t)(ev->mono_ns - bw->base_mono)));
  }
  n += put_vi(p + n, ev->object);
  n += put_vi(p + n, ev->file);
  n += put_vi(p + n, ev->line);
  n += put_vi(p + n, ev->func);
  if (flags & CW_EVF_VAL_INT)
    n += put_vi(p + n, zigzag(ev->val_int));
  if (flags & CW_EVF_VAL_STR)
    n += put_vi(p + n, ev->val_str);
  if (flags & CW_EVF_DURATION)
    n += put_vi(p + n, ev->duration_ns);
  if (flags & CW_EVF_DETAIL)
    n += put_vi(p + n, ev->detail);
  if (flags & CW_EVF_AUX)
    n += put_vi(p + n, zigzag(ev->aux));
  if (flags & CW_EVF_TRACE) {
    memcpy(p + n, ev->trace_id, 16);
    memcpy(p + n + 16, ev->span_id, 8);
    memcpy(p + n + 24, ev->parent_span_id, 8);
    n += 32;
  }
  if (flags & CW_EVF_JOINS) {
    n += put_vi(p + n, ev->njoins);
    for (uint32_t i = 0; i < ev->njoins; i++) {
      n += put_vi(p + n, ev->joins[i].actor);
      n += put_vi(p + n, ev->joins[i].counter);
    }
  }
  return n;
}

int cw__bw_event(cw_batch_writer *bw, const cw_event_rec *ev) {
  uint32_t flags = ev->flags & CW_EVF_KNOWN_;
  if (ev->njoins)
    flags |= CW_EVF_JOINS;
  else
    flags &= ~(uint32_t)CW_EVF_JOINS;
  /* EVENT_D needs a defined actor and the wall time the header implies. */
  int delta = ev->actor > 0 && ev->actor < bw->h.next_actor &&
              (uint64_t)ev->wall_ns ==
                  (uint64_t)bw->base_wall + (ev->mono_ns - bw->base_mono);
  uint8_t type = delta ? CW_REC_EVENT_D : CW_REC_EVENT;
  if (delta && cw__bw_event_d(bw, ev->kind, flags, ev->actor, ev->object,
                              ev->file, ev->line, ev->func, ev->seq,
                              ev->counter, ev->mono_ns, ev->val_int) == 0)
    return 0;
  /* 11 varints, 5 optional ones, the trace ids and 2 per join entry. */
  size_t max = 16 * 10 + 32 + 10 + (size_t)ev->njoins * 20;
  size_t n;
  if (bw->h.cap - bw->h.len >= max + 11) {
    /* Encode in place behind a one-byte length, moved when longer. */
    uint8_t *w = bw->h.buf + bw->h.len;
    n = encode_event(bw, ev, flags, delta, w + 2);
    w[0] = type;
    size_t ll = 1;
    if (n < 0x80) {
      w[1] = (uint8_t)n;
    } else {
      uint8_t lb[10];
      ll = put_vi(lb, n);
      memmove(w + 1 + ll, w + 2, n);
      memcpy(w + 1, lb, ll);
    }
    bw->h.len += 1 + ll + n;
  } else {
    uint8_t stackbuf[512];
    uint8_t *p = max <= sizeof stackbuf ? stackbuf : fmt_malloc(max);
    if (!p)
      return -1;
    n = encode_event(bw, ev, flags, delta, p);
    int rc = put_record(bw, type, p, n);
    if (p != stackbuf)
      fmt_free(p);
    if (rc != 0)
      return -1;
  }
  if (ev->actor > 0 && ev->actor < bw->h.next_actor)
    bw->h.last[ev->actor] = (actor_last){ev->seq, ev->counter, ev->mono_ns};
  bw->h.events++;
  return 0;
}

int cw__bw_gap(cw_batch_writer *bw, uint32_t actor, uint64_t dropped,
               uint64_t first_seq, uint64_t last_seq) {
  uint8_t p[48];
  size_t n = 0;
  n += cw__put_varint(p + n, actor);
  n += cw__put_varint(p + n, dropped);
  n += cw__put_varint(p + n, first_seq);
  n += cw__put_varint(p + n, last_seq);
  return put_record(bw, CW_REC_GAP, p, n);
}

int cw__bw_retire(cw_batch_writer *bw, uint64_t seq, const uint32_t *actors,
                  uint32_t n) {
  size_t max = 20 + (size_t)n * 5;
  uint8_t *p = fmt_malloc(max);
  if (!p)
    return -1;
  size_t k = 0;
  k += cw__put_varint(p + k, seq);
  k += cw__put_varint(p + k, n);
  for (uint32_t i = 0; i < n; i++)
    k += cw__put_varint(p + k, actors[i]);
  int rc = put_record(bw, CW_REC_RETIRE, p, k);
  fmt_free(p);
  return rc;
}

const uint8_t *cw__bw_data(const cw_batch_writer *bw, size_t *len) {
  *len = bw->h.len;
  return bw->h.buf;
}

uint64_t cw__bw_events(const cw_batch_writer *bw) {
  return bw->h.events;
}

static void frame_prefs(LZ4F_preferences_t *prefs, size_t len) {
  memset(prefs, 0, sizeof *prefs);
  /* Each block's checksum (xxh32 of its compressed bytes), not the
   * content's (of the uncompressed batch, about 4.6 times as many bytes):
   * damage anywhere in the frame is still an error, for about 25
   * instructions per event less in the SDK's drain (docs/sdk.md). */
  prefs->frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled;
  prefs->frameInfo.contentSize = len;
  prefs->frameInfo.blockSizeID = LZ4F_max256KB;
}

const uint8_t *cw__bw_frame(cw_batch_writer *bw, size_t *out_len) {
  LZ4F_preferences_t prefs;
  frame_prefs(&prefs, bw->h.len);
  /* Every block is compressed at once (autoFlush: no staging copy), and
   * the records stay in place until the frame ends (stableSrc: linked
   * blocks use them as the dictionary without copying it): together about
   * 10 ns of drain CPU per event less than the staged default, and a
   * slightly better ratio (bench_sdk_cpu, 1 thread, 8 alternating runs:
   * median 49 against 60 ns; 4.65x against 4.48x). 64 KiB blocks measured
   * the same within the noise, at 4.53x. */
  prefs.autoFlush = 1;
  LZ4F_compressOptions_t opt = {.stableSrc = 1};
  if (!bw->cctx &&
      LZ4F_isError(LZ4F_createCompressionContext(&bw->cctx, LZ4F_VERSION))) {
    bw->cctx = NULL;
    return NULL;
  }
  size_t bound = LZ4F_compressFrameBound(bw->h.len, &prefs);
  if (bound > bw->zcap) {
    uint8_t *z = fmt_realloc(bw->zbuf, bound);
    if (!z)
      return NULL;
    bw->zbuf = z;
    bw->zcap = bound;
  }
  /* The context keeps its tables between frames: no allocation or
   * table set-up per batch. */
  size_t n = LZ4F_compressBegin(bw->cctx, bw->zbuf, bw->zcap, &prefs);
  if (LZ4F_isError(n))
    return NULL;
  size_t m = LZ4F_compressUpdate(bw->cctx, bw->zbuf + n, bw->zcap - n,
                                 bw->h.buf, bw->h.len, &opt);
  if (LZ4F_isError(m))
    return NULL;
  n += m;
  m = LZ4F_compressEnd(bw->cctx, bw->zbuf + n, bw->zcap - n, &opt);
  if (LZ4F_isError(m))
    return NULL;
  *out_len = n + m;
  return bw->zbuf;
}

uint8_t *cw__bw_compress(const cw_batch_writer *bw, size_t *out_len) {
  /* One-shot (tests, the transport's gap batches): no context to keep. */
  LZ4F_preferences_t prefs;
  frame_prefs(&prefs, bw->h.len);
  size_t bound = LZ4F_compressFrameBound(bw->h.len, &prefs);
  uint8_t *out = fmt_malloc(bound);
  if (!out)
    return NULL;
  size_t r = LZ4F_compressFrame(out, bound, bw->h.buf, bw->h.len, &prefs);
  if (LZ4F_isError(r)) {
    fmt_free(out);
    return NULL;
  }
  *out_len = r;
  return out;
}

/* ---- Decoder --------------------------------------------------------------
 */

typedef struct reader {
  const uint8_t *p, *end;
  int bad;
} reader;

typedef struct span {
  uint32_t off, len;
} span;

typedef struct actor_def {
  uint32_t name; /* string id */
  uint32_t kind;
  uint64_t seq, ctr, mono; /* its previous event (EVENT_D deltas) */
} actor_def;

struct cw_batch_ctx {
  const uint8_t *buf;
  size_t len;
  cw_batch_hdr hdr;
  int have_hdr;
  span *strings; /* index = id */
  uint32_t nstrings, capstrings;
  actor_def *actors; /* index = id */
  uint32_t nactors, capactors;
  cw_clock_entry *joins;
  uint32_t capjoins;
  reader times; /* the open TIMES column (p = NULL: none yet) */
};

void cw__decode_set_error(cw_decode_error *err, cw_decode_code code,
                          uint64_t offset, const char *fmt, ...) {
  if (!err)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
  err->offset = offset;
  err->code = code;
}

#define set_err(err, code, off, ...)                                           \
  cw__decode_set_error((err), CW_DERR_##code, (off), __VA_ARGS__)

static uint64_t rd_varint(reader *r) {
  uint64_t v = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (r->p >= r->end) {
      r->bad = 1;
      return 0;
    }
    uint8_t b = *r->p++;
    if (shift == 63 && b > 1) {
      r->bad = 1;
      return 0;
    }
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80))
      return v;
  }
  r->bad = 1;
  return 0;
}

static uint32_t rd_u32(reader *r) {
  uint64_t v = rd_varint(r);
  if (v > UINT32_MAX)
    r->bad = 1;
  return (uint32_t)v;
}

static const uint8_t *rd_bytes(reader *r, size_t n) {
  if ((size_t)(r->end - r->p) < n) {
    r->bad = 1;
    return NULL;
  }
  const uint8_t *s = r->p;
  r->p += n;
  return s;
}

const char *cw__ctx_string(const cw_batch_ctx *ctx, uint32_t id, size_t *len) {
  if (id == 0 || id >= ctx->nstrings || ctx->strings[id].len == UINT32_MAX) {
    if (len)
      *len = 0;
    return NULL;
  }
  if (len)
    *len = ctx->strings[id].len;
  return (const char *)ctx->buf + ctx->strings[id].off;
}

const char *cw__ctx_actor(const cw_batch_ctx *ctx, uint32_t id, size_t *len,
                          uint32_t *actor_kind) {
  if (id == 0 || id >= ctx->nactors || ctx->actors[id].name == 0) {
    if (len)
      *len = 0;
    return NULL;
  }
  if (actor_kind)
    *actor_kind = ctx->actors[id].kind;
  return cw__ctx_string(ctx, ctx->actors[id].name, len);
}

const cw_batch_hdr *cw__ctx_header(const cw_batch_ctx *ctx) {
  return &ctx->hdr;
}

/* Grows an id-indexed table so that index `id` exists. */
static int grow_table(void **tab, uint32_t *cap, uint32_t id, size_t elem) {
  if (id < *cap)
    return 0;
  if (id > (1u << 26))
    return -1; /* an absurd id: more than the batch could hold */
  uint32_t ncap = *cap ? *cap : 64;
  while (ncap <= id)
    ncap *= 2;
  void *n = fmt_realloc(*tab, (size_t)ncap * elem);
  if (!n)
    return -1;
  memset((char *)n + (size_t)*cap * elem, 0xff, (size_t)(ncap - *cap) * elem);
  *tab = n;
  *cap = ncap;
  return 0;
}

static int decode_header(reader *r, cw_batch_ctx *ctx) {
  const uint8_t *magic = rd_bytes(r, 3);
  if (!magic || memcmp(magic, "CWB", 3) != 0)
    return -1;
  cw_batch_hdr *h = &ctx->hdr;
  h->version = rd_u32(r);
  const uint8_t *sid = rd_bytes(r, 16);
  if (sid)
    memcpy(h->stream_id, sid, 16);
  h->batch_no = rd_varint(r);
  h->service_len = rd_varint(r);
  h->service = (const char *)rd_bytes(r, h->service_len);
  h->instance_len = rd_varint(r);
  h->instance = (const char *)rd_bytes(r, h->instance_len);
  h->pid = rd_varint(r);
  h->base_wall_ns = cw__unzigzag(rd_varint(r));
  h->base_mono_ns = rd_varint(r);
  if (r->bad || h->version == 0)
    return -1;
  ctx->have_hdr = 1;
  return 0;
}

/* @return 1 when id names an actor defined in the batch. */
static int actor_defined(const cw_batch_ctx *ctx, uint32_t id) {
  return id != 0 && id < ctx->nactors && ctx->actors[id].name != 0;
}

/* 1 when the open TIMES column still has values no EVENT_T took. */
static int times_left(const cw_batch_ctx *ctx) {
  return ctx->times.p && ctx->times.p < ctx->times.end;
}

/* Decodes an EVENT (type CW_REC_EVENT), EVENT_D or EVENT_T record; an
 * EVENT_T takes its sequence and time deltas and its value from the
 * batch's open TIMES column. */
static int decode_event(reader *r, cw_batch_ctx *ctx, cw_event_rec *ev,
                        uint8_t type, const char **why) {
  memset(ev, 0, sizeof *ev);
  ev->kind = rd_u32(r);
  ev->flags = rd_u32(r);
  reader *col = &ctx->times;
  if (type == CW_REC_EVENT_T && !col->p) {
    *why = "EVENT_T without a TIMES record before it";
    return -1;
  }
  if (type != CW_REC_EVENT) {
    ev->actor = rd_u32(r);
    if (!r->bad && !actor_defined(ctx, ev->actor)) {
      *why = "event names an undefined actor";
      return -1;
    }
    uint64_t dseq, dctr, dmono;
    if (type == CW_REC_EVENT_T) {
      dctr = rd_varint(r);
      dseq = rd_varint(col);
      dmono = rd_varint(col);
      if (ev->flags & CW_EVF_VAL_INT) /* the column holds the value too */
        ev->val_int = cw__unzigzag(rd_varint(col));
      if (col->bad) {
        *why = "EVENT_T past the end of its TIMES column";
        return -1;
      }
    } else {
      dseq = rd_varint(r);
      dctr = rd_varint(r);
      dmono = rd_varint(r);
    }
    if (!r->bad) {
      const actor_def *a = &ctx->actors[ev->actor];
      ev->seq = a->seq + (uint64_t)cw__unzigzag(dseq);
      ev->counter = a->ctr + (uint64_t)cw__unzigzag(dctr);
      ev->mono_ns = a->mono + (uint64_t)cw__unzigzag(dmono);
      ev->wall_ns = (int64_t)((uint64_t)ctx->hdr.base_wall_ns +
                              (ev->mono_ns - ctx->hdr.base_mono_ns));
    }
  } else {
    ev->seq = rd_varint(r);
    ev->actor = rd_u32(r);
    ev->counter = rd_varint(r);
    ev->wall_ns = (int64_t)((uint64_t)ctx->hdr.base_wall_ns +
                            (uint64_t)cw__unzigzag(rd_varint(r)));
    ev->mono_ns = ctx->hdr.base_mono_ns + (uint64_t)cw__unzigzag(rd_varint(r));
  }
  ev->object = rd_u32(r);
  ev->file = rd_u32(r);
  ev->line = rd_u32(r);
  ev->func = rd_u32(r);
  if (ev->flags & ~(uint32_t)CW_EVF_KNOWN_) {
    *why = "unknown event flags";
    return -1;
  }
  if ((ev->flags & CW_EVF_VAL_INT) && type != CW_REC_EVENT_T)
    ev->val_int = cw__unzigzag(rd_varint(r));
  if (ev->flags & CW_EVF_VAL_STR)
    ev->val_str = rd_u32(r);
  if (ev->flags & CW_EVF_DURATION)
    ev->duration_ns = rd_varint(r);
  if (ev->flags & CW_EVF_DETAIL)
    ev->detail = rd_u32(r);
  if (ev->flags & CW_EVF_AUX)
    ev->aux = cw__unzigzag(rd_varint(r));
  if (ev->flags & CW_EVF_TRACE) {
    const uint8_t *t = rd_bytes(r, 32);
    if (t) {
      memcpy(ev->trace_id, t, 16);
      memcpy(ev->span_id, t + 16, 8);
      memcpy(ev->parent_span_id, t + 24, 8);
    }
  }
  if (ev->flags & CW_EVF_JOINS) {
    uint64_t nj = rd_varint(r);
    /* Each entry takes at least two bytes: reject counts the record cannot
     * hold before allocating anything. */
    if (r->bad || nj > (uint64_t)(r->end - r->p) / 2) {
      *why = "join count exceeds record";
      return -1;
    }
    if (nj > ctx->capjoins) {
      cw_clock_entry *j = fmt_realloc(ctx->joins, (size_t)nj * sizeof *j);
      if (!j) {
        *why = "out of memory";
        return -1;
      }
      ctx->joins = j;
      ctx->capjoins = (uint32_t)nj;
    }
    for (uint64_t i = 0; i < nj; i++) {
      ctx->joins[i].actor = rd_u32(r);
      ctx->joins[i].counter = rd_varint(r);
      if (ctx->joins[i].actor == 0 || ctx->joins[i].actor >= ctx->nactors ||
          ctx->actors[ctx->joins[i].actor].name == 0) {
        if (!r->bad) {
          *why = "join names an undefined actor";
          return -1;
        }
      }
    }
    ev->njoins = (uint32_t)nj;
    ev->joins = ctx->joins;
  }
  if (r->bad) {
    *why = "event record truncated";
    return -1;
  }
  if (!actor_defined(ctx, ev->actor)) {
    *why = "event names an undefined actor";
    return -1;
  }
  uint32_t sids[5] = {ev->object, ev->file, ev->func,
                      ev->flags & CW_EVF_VAL_STR ? ev->val_str : 0,
                      ev->flags & CW_EVF_DETAIL ? ev->detail : 0};
  for (int i = 0; i < 5; i++) {
    if (sids[i] && !cw__ctx_string(ctx, sids[i], NULL)) {
      *why = "event names an undefined string";
      return -1;
    }
  }
  actor_def *a = &ctx->actors[ev->actor];
  a->seq = ev->seq;
  a->ctr = ev->counter;
  a->mono = ev->mono_ns;
  return 0;
}

int cw__decode_batch(const uint8_t *buf, size_t len, const cw_decode_cb *cb,
                     void *ud, cw_decode_error *err) {
  static const cw_decode_cb none;
  if (!cb)
    cb = &none;
  cw_batch_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.buf = buf;
  ctx.len = len;
  int rc = CW_DECODE_OK;
  const uint8_t *p = buf, *end = buf + len;
  uint32_t *retire = NULL;

  while (p < end) {
    uint64_t off = (uint64_t)(p - buf);
    uint8_t type = *p;
    reader hr = {p + 1, end, 0};
    uint64_t plen = rd_varint(&hr);
    if (hr.bad || plen > (uint64_t)(end - hr.p)) {
      set_err(err, TRUNCATED, off, "record truncated");
      rc = CW_DECODE_ERROR;
      break;
    }
    reader r = {hr.p, hr.p + plen, 0};
    p = hr.p + plen;

    if (!ctx.have_hdr && type != CW_REC_BATCH) {
      set_err(err, MALFORMED, off, "batch does not start with a BATCH record");
      rc = CW_DECODE_ERROR;
      break;
    }
    if (type == CW_REC_BATCH) {
      if (ctx.have_hdr || decode_header(&r, &ctx)) {
        set_err(err, MALFORMED, off,
                ctx.have_hdr ? "second BATCH record in a batch"
                             : "malformed BATCH header");
        rc = CW_DECODE_ERROR;
        break;
      }
      if (ctx.hdr.version > CW_FORMAT_VERSION) {
        set_err(err, MALFORMED, off, "unsupported format version %u",
                ctx.hdr.version);
        rc = CW_DECODE_ERROR;
        break;
      }
      if (cb->on_batch && cb->on_batch(ud, &ctx)) {
        rc = CW_DECODE_STOPPED;
        break;
      }
    } else if (type == CW_REC_STRING) {
      uint32_t id = rd_u32(&r);
      uint64_t slen = rd_varint(&r);
      const uint8_t *s = r.bad ? NULL : rd_bytes(&r, slen);
      if (r.bad || id == 0 || id != ctx.nstrings + (ctx.nstrings == 0)) {
        set_err(err, MALFORMED, off,
                "malformed STRING record (ids must be 1, 2, ...)");
        rc = CW_DECODE_ERROR;
        break;
      }
      if (grow_table((void **)&ctx.strings, &ctx.capstrings, id,
                     sizeof(span))) {
        set_err(err, TOO_BIG, off, "too many strings");
        rc = CW_DECODE_ERROR;
        break;
      }
      ctx.strings[id].off = (uint32_t)(s - buf);
      ctx.strings[id].len = (uint32_t)slen;
      ctx.nstrings = id + 1;
    } else if (type == CW_REC_ACTOR) {
      uint32_t id = rd_u32(&r);
      uint32_t name = rd_u32(&r);
      uint32_t kind = rd_u32(&r);
      if (r.bad || id == 0 || id != ctx.nactors + (ctx.nactors == 0) ||
          !cw__ctx_string(&ctx, name, NULL)) {
        set_err(err, MALFORMED, off, "malformed ACTOR record");
        rc = CW_DECODE_ERROR;
        break;
      }
      if (grow_table((void **)&ctx.actors, &ctx.capactors, id,
                     sizeof(actor_def))) {
        set_err(err, TOO_BIG, off, "too many actors");
        rc = CW_DECODE_ERROR;
        break;
      }
      ctx.actors[id] = (actor_def){name, kind, 0, 0, ctx.hdr.base_mono_ns};
      ctx.nactors = id + 1;
    } else if (type == CW_REC_TIMES) {
      if (times_left(&ctx)) {
        set_err(err, MALFORMED, off,
                "TIMES record while the previous one has unused values");
        rc = CW_DECODE_ERROR;
        break;
      }
      ctx.times = r;
    } else if (type == CW_REC_EVENT || type == CW_REC_EVENT_D ||
               type == CW_REC_EVENT_T) {
      cw_event_rec ev;
      const char *why = NULL;
      if (decode_event(&r, &ctx, &ev, type, &why)) {
        set_err(err, MALFORMED, off, "malformed EVENT record: %s", why);
        rc = CW_DECODE_ERROR;
        break;
      }
      if (cb->on_event && cb->on_event(ud, &ctx, &ev)) {
        rc = CW_DECODE_STOPPED;
        break;
      }
    } else if (type == CW_REC_GAP) {
      uint32_t actor = rd_u32(&r);
      uint64_t dropped = rd_varint(&r);
      uint64_t first = rd_varint(&r);
      uint64_t last = rd_varint(&r);
      if (r.bad || !cw__ctx_actor(&ctx, actor, NULL, NULL)) {
        set_err(err, MALFORMED, off, "malformed GAP record");
        rc = CW_DECODE_ERROR;
        break;
      }
      if (cb->on_gap && cb->on_gap(ud, &ctx, actor, dropped, first, last)) {
        rc = CW_DECODE_STOPPED;
        break;
      }
    } else if (type == CW_REC_RETIRE) {
      uint64_t seq = rd_varint(&r);
      uint64_t n = rd_varint(&r);
      if (r.bad || n > (uint64_t)(r.end - r.p)) {
        set_err(err, MALFORMED, off, "malformed RETIRE record");
        rc = CW_DECODE_ERROR;
        break;
      }
      fmt_free(retire);
      retire = fmt_malloc((size_t)(n ? n : 1) * sizeof *retire);
      if (!retire) {
        set_err(err, NOMEM, off, "out of memory");
        rc = CW_DECODE_ERROR;
        break;
      }
      int ok = 1;
      for (uint64_t i = 0; i < n; i++) {
        retire[i] = rd_u32(&r);
        if (!cw__ctx_actor(&ctx, retire[i], NULL, NULL))
          ok = 0;
      }
      if (r.bad || !ok) {
        set_err(err, MALFORMED, off, "malformed RETIRE record");
        rc = CW_DECODE_ERROR;
        break;
      }
      if (cb->on_retire && cb->on_retire(ud, &ctx, seq, retire, (uint32_t)n)) {
        rc = CW_DECODE_STOPPED;
        break;
      }
    }
    /* Unknown record types are skipped: the length prefix makes that safe. */
  }
  if (rc == CW_DECODE_OK && times_left(&ctx)) {
    set_err(err, MALFORMED, (uint64_t)len,
            "the last TIMES record has unused values");
    rc = CW_DECODE_ERROR;
  }
  fmt_free(retire);
  fmt_free(ctx.strings);
  fmt_free(ctx.actors);
  fmt_free(ctx.joins);
  return rc;
}

uint8_t *cw__lz4_frame_decompress(const uint8_t *buf, size_t len,
                                  size_t max_out, size_t *out_len,
                                  size_t *consumed, cw_decode_error *err) {
  LZ4F_dctx *dctx = NULL;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION))) {
    set_err(err, NOMEM, 0, "out of memory");
    return NULL;
  }
  size_t cap = 64 * 1024, n = 0, pos = 0;
  uint8_t *out = fmt_malloc(cap);
  size_t hint = 1;
  while (out && hint != 0) {
    if (n == cap) {
      if (cap >= max_out) {
        set_err(err, TOO_BIG, pos, "batch larger than %zu bytes", max_out);
        goto fail;
      }
      size_t ncap = cap * 2 > max_out ? max_out : cap * 2;
      uint8_t *o = fmt_realloc(out, ncap);
      if (!o) {
        set_err(err, NOMEM, pos, "out of memory");
        goto fail;
      }
      out = o;
      cap = ncap;
    }
    size_t src = len - pos, dst = cap - n;
    hint = LZ4F_decompress(dctx, out + n, &dst, buf + pos, &src, NULL);
    if (LZ4F_isError(hint)) {
      set_err(err, MALFORMED, pos, "bad LZ4 frame: %s",
              LZ4F_getErrorName(hint));
      goto fail;
    }
    pos += src;
    n += dst;
    if (hint != 0 && src == 0 && dst == 0) {
      /* No progress with input exhausted and room left: the frame is cut. */
      set_err(err, TRUNCATED, pos, "truncated LZ4 frame");
      goto fail;
    }
  }
  if (!out) {
    set_err(err, NOMEM, 0, "out of memory");
    LZ4F_freeDecompressionContext(dctx);
    return NULL;
  }
  LZ4F_freeDecompressionContext(dctx);
  *out_len = n;
  *consumed = pos;
  return out;
fail:
  fmt_free(out);
  LZ4F_freeDecompressionContext(dctx);
  return NULL;
}

int cw__decode_frames(const uint8_t *buf, size_t len, const cw_decode_cb *cb,
                      void *ud, int *truncated_tail, cw_decode_error *err) {
  size_t pos = 0;
  if (truncated_tail)
    *truncated_tail = 0;
  while (pos < len) {
    size_t out_len = 0, used = 0;
    cw_decode_error e;
    memset(&e, 0, sizeof e);
    uint8_t *batch = cw__lz4_frame_decompress(
        buf + pos, len - pos, CW_MAX_BATCH_BYTES, &out_len, &used, &e);
    if (!batch) {
      int trunc = e.code == CW_DERR_TRUNCATED;
      cw__decode_set_error(err, e.code, pos + e.offset, "%s", e.msg);
      if (trunc && truncated_tail) {
        *truncated_tail = 1;
        return CW_DECODE_OK;
      }
      return trunc ? CW_DECODE_TRUNCATED : CW_DECODE_ERROR;
    }
    int rc = cw__decode_batch(batch, out_len, cb, ud, &e);
    fmt_free(batch);
    if (rc != CW_DECODE_OK) {
      if (rc == CW_DECODE_ERROR)
        cw__decode_set_error(err, e.code, pos,
                             "in batch at byte %zu: %s (record offset %llu)",
                             pos, e.msg, (unsigned long long)e.offset);
      return rc;
    }
    pos += used;
  }
  return CW_DECODE_OK;
}

int cw__decode_file(const char *path, const cw_decode_cb *cb, void *ud,
                    int *truncated_tail, cw_decode_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    set_err(err, IO, 0, "cannot open %s: %s", path, strerror(errno));
    return CW_DECODE_ERROR;
  }
  size_t cap = 1 << 16, len = 0;
  uint8_t *buf = fmt_malloc(cap);
  while (buf) {
    if (len == cap) {
      uint8_t *nb = fmt_realloc(buf, cap * 2);
      if (!nb) {
        fmt_free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
    size_t r = fread(buf + len, 1, cap - len, f);
    len += r;
    if (r == 0)
      break;
  }
  int ferr = ferror(f);
  fclose(f);
  if (!buf || ferr) {
    fmt_free(buf);
    set_err(err, IO, 0, "cannot read %s", path);
    return CW_DECODE_ERROR;
  }
  int rc = cw__decode_frames(buf, len, cb, ud, truncated_tail, err);
  fmt_free(buf);
  return rc;
}

void cw__fmt_free(void *p) {
  fmt_free(p);
}

const char *cw__ev_kind_name(uint32_t kind) {
  static const char *const names[CW_EV_KIND_MAX_] = {
      [CW_EV_THREAD_START] = "thread_start",
      [CW_EV_THREAD_END] = "thread_end",
      [CW_EV_FORK] = "fork",
      [CW_EV_JOIN] = "join",
      [CW_EV_TASK_BEGIN] = "task_begin",
      [CW_EV_TASK_END] = "task_end",
      [CW_EV_LOCK_REQUEST] = "lock_request",
      [CW_EV_LOCK_ACQUIRED] = "lock_acquired",
      [CW_EV_LOCK_RELEASE] = "lock_release",
      [CW_EV_READ] = "read",
      [CW_EV_WRITE] = "write",
      [CW_EV_RMW] = "rmw",
      [CW_EV_ANN_RELEASE] = "annotate_release",
      [CW_EV_ANN_ACQUIRE] = "annotate_acquire",
      [CW_EV_SPAN_BEGIN] = "span_begin",
      [CW_EV_SPAN_END] = "span_end",
      [CW_EV_HTTP_SEND] = "http_send",
      [CW_EV_HTTP_RECV] = "http_recv",
      [CW_EV_HTTP_RESPOND] = "http_respond",
      [CW_EV_HTTP_RESPONSE] = "http_response",
      [CW_EV_DB_QUERY] = "db_query",
      [CW_EV_DB_RESULT] = "db_result",
      [CW_EV_MESSAGE] = "message",
      [CW_EV_LOCK_TIMEOUT] = "lock_timeout",
      [CW_EV_RETRY] = "retry",
      [CW_EV_TIMEOUT] = "timeout",
  };
  if (kind < CW_EV_KIND_MAX_ && names[kind])
    return names[kind];
  return "unknown";
}

const char *cw__actor_qualify(const cw_batch_hdr *h, const char *name,
                              size_t len, char *buf, size_t *out_len) {
  if (memchr(name, '#', len)) {
    *out_len = len;
    return name;
  }
  size_t sl = h->service_len > 256 ? 256 : h->service_len;
  size_t il = h->instance_len > 256 ? 256 : h->instance_len;
  size_t room = CW_ACTOR_NAME_MAX - sl - il - 2;
  size_t nl = len > room ? room : len;
  size_t o = 0;
  if (sl)
    memcpy(buf, h->service, sl);
  o += sl;
  buf[o++] = '#';
  if (il)
    memcpy(buf + o, h->instance, il);
  o += il;
  buf[o++] = '/';
  if (nl)
    memcpy(buf + o, name, nl);
  *out_len = o + nl;
  return buf;
}

int cw__actor_service(const char *name, size_t len, size_t *svc_len) {
  const char *hash = memchr(name, '#', len);
  if (!hash || hash == name)
    return -1;
  *svc_len = (size_t)(hash - name);
  return 0;
}
