/*
 * ingest: body -> validated batches -> store (group commit) -> analysis.
 *
 * DESIGN. A request is all-or-nothing. Every frame is decompressed and
 * checked first (a malformed one fails the request with 400 and nothing is
 * stored). New batches are then reserved in the dedup table, room is
 * reserved in the analysis queue, and all records go to the store in one
 * append, which returns only after the group commit synced them. Only then
 * are the batches marked seen, queued for analysis and acknowledged. A
 * retried batch that is already stored is acknowledged as a duplicate and
 * not stored again; one that is being stored by a concurrent request gets
 * 503 with Retry-After, so an acknowledgement always means "durable".
 *
 * MEMORY. What a request decodes is taken from the shared budget g->mem
 * before it is allocated: the size an LZ4 frame declares (or, when it
 * declares none, as much of the per-request room as is free), an identity
 * body's copies, a Raceway body's estimated parse tree. More than
 * --max-decoded for one request is 413; a budget taken by concurrent
 * requests is 503 with Retry-After. Everything is given back before the
 * answer; batches handed to the analysis are the analysis queue's then.
 */
#define _POSIX_C_SOURCE 200809L
#include "ingest.h"
#include "cw_json_depth.h"

#include <jansson.h>
#include <lz4frame.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FRAMES 4096

typedef struct pending {
  uint8_t *raw; /* decompressed batch */
  size_t raw_len;
  const uint8_t *frame; /* compressed frame to store (borrowed or own) */
  size_t frame_len;
  uint8_t *own_frame; /* identity bodies: compressed here */
  cw_native_info info;
  int is_new; /* reserved in dedup */
} pending;

static void set_err(cw_ingest_result *r, int status, const char *msg) {
  r->status = status;
  snprintf(r->msg, sizeof r->msg, "%s", msg);
}

static void refuse(cw_ingest *g, cw_refusal why) {
  atomic_fetch_add(&g->m->refusals[why], 1);
}

static uint8_t *compress_frame(const void *src, size_t len, size_t *out_len) {
  LZ4F_preferences_t prefs;
  memset(&prefs, 0, sizeof prefs);
  prefs.frameInfo.contentSize = len;
  size_t cap = LZ4F_compressFrameBound(len, &prefs);
  uint8_t *dst = malloc(cap);
  if (!dst)
    return NULL;
  size_t n = LZ4F_compressFrame(dst, cap, src, len, &prefs);
  if (LZ4F_isError(n)) {
    free(dst);
    return NULL;
  }
  *out_len = n;
  return dst;
}

static void free_pending(pending *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(p[i].raw);
    free(p[i].own_frame);
  }
  free(p);
}

/* The decompressed size an LZ4 frame's header declares, or 0. */
static uint64_t frame_content_size(const uint8_t *buf, size_t len) {
  LZ4F_dctx *d = NULL;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION)))
    return 0;
  LZ4F_frameInfo_t fi;
  memset(&fi, 0, sizeof fi);
  size_t n = len;
  size_t rc = LZ4F_getFrameInfo(d, &fi, buf, &n);
  LZ4F_freeDecompressionContext(d);
  return LZ4F_isError(rc) ? 0 : fi.contentSize;
}

static void budget_full(cw_ingest_result *r) {
  set_err(r, 503,
          "ingest memory budget in use by other requests (see "
          "--ingest-memory), retry later");
  r->retry_after = 1;
}

/* Decompresses the frame at body+off into q, taking its memory from the
 * budget first (*held grows by what stays taken). room: what the request
 * may still decode. @return 0 or an HTTP status (r filled). */
static int inflate_frame(cw_ingest *g, const uint8_t *body, size_t len,
                         size_t off, size_t idx, uint64_t room, pending *q,
                         uint64_t *held, cw_ingest_result *r) {
  if (room > CW_MAX_BATCH_BYTES)
    room = CW_MAX_BATCH_BYTES;
  uint64_t declared = frame_content_size(body + off, len - off);
  if (declared > room) {
    snprintf(r->msg, sizeof r->msg,
             "batch %zu declares %llu decompressed bytes, more than this "
             "request may decode (--max-decoded, 64 MiB per batch)",
             idx, (unsigned long long)declared);
    return r->status = 413;
  }
  uint64_t want = declared ? (declared < 65536 ? 65536 : declared) : room;
  if (want > room)
    want = room;
  uint64_t got = cw__membudget_take_upto(g->mem, want);
  if (got < want && (declared || got < 65536)) {
    cw__membudget_give(g->mem, got);
    budget_full(r);
    return 503;
  }
  size_t consumed = 0;
  cw_decode_error err;
  memset(&err, 0, sizeof err);
  q->raw = cw__lz4_frame_decompress(body + off, len - off, got, &q->raw_len,
                                    &consumed, &err);
  if (!q->raw) {
    cw__membudget_give(g->mem, got);
    if (err.code == CW_DERR_TOO_BIG && got < want) {
      budget_full(r);
      return 503;
    }
    snprintf(r->msg, sizeof r->msg, "batch %zu (body offset %zu): %s", idx, off,
             err.msg);
    return r->status = err.code == CW_DERR_TOO_BIG ? 413
                       : err.code == CW_DERR_NOMEM ? 503
                                                   : 400;
  }
  cw__membudget_give(g->mem, got - q->raw_len);
  *held += q->raw_len;
  q->frame = body + off;
  q->frame_len = consumed;
  return 0;
}

/* Splits and checks the body; what it decoded stays taken from the budget
 * in *held. @return 0 or an HTTP status (r filled). */
static int split_native(cw_ingest *g, const uint8_t *body, size_t len, int lz4,
                        pending **out, size_t *nout, uint64_t *held,
                        cw_ingest_result *r) {
  size_t cap = 8, n = 0, total_raw = 0;
  pending *p = calloc(cap, sizeof *p);
  if (!p) {
    set_err(r, 503, "out of memory");
    return 503;
  }
  size_t off = 0;
  int status = 0;
  while (off < len || (n == 0 && !lz4)) {
    if (n == cap) {
      if (cap >= MAX_FRAMES) {
        set_err(r, 413, "more than 4096 batches in one body");
        status = 413;
        break;
      }
      pending *np = realloc(p, cap * 2 * sizeof *p);
      if (!np) {
        set_err(r, 503, "out of memory");
        status = 503;
        break;
      }
      memset(np + cap, 0, cap * sizeof *np);
      p = np;
      cap *= 2;
    }
    pending *q = &p[n];
    cw_decode_error err;
    memset(&err, 0, sizeof err);
    if (lz4) {
      uint64_t room =
          g->max_decoded > total_raw ? g->max_decoded - total_raw : 0;
      status = inflate_frame(g, body, len, off, n, room, q, held, r);
      if (status)
        break;
      off += q->frame_len;
    } else {
      uint64_t need = (uint64_t)len + LZ4F_compressFrameBound(len, NULL);
      if (need > g->max_decoded) {
        set_err(r, 413, "uncompressed batch too large (--max-decoded)");
        status = 413;
        break;
      }
      if (cw__membudget_take(g->mem, need, 0)) {
        budget_full(r);
        status = 503;
        break;
      }
      *held += need;
      q->raw = malloc(len ? len : 1);
      if (!q->raw) {
        set_err(r, 503, "out of memory");
        status = 503;
        break;
      }
      memcpy(q->raw, body, len);
      q->raw_len = len;
      q->own_frame = compress_frame(body, len, &q->frame_len);
      q->frame = q->own_frame;
      off = len;
      if (!q->own_frame) {
        set_err(r, 503, "out of memory");
        n++;
        status = 503;
        break;
      }
    }
    n++;
    total_raw += q->raw_len;
    if (cw__native_check(q->raw, q->raw_len, g->max_batch_events, &q->info,
                         &err)) {
      int big = err.code == CW_DERR_TOO_BIG;
      snprintf(r->msg, sizeof r->msg, "batch %zu: offset %llu: %s", n - 1,
               (unsigned long long)err.offset, err.msg);
      status = r->status = big ? 413 : 400;
      break;
    }
    if (!lz4)
      break;
  }
  if (status == 0 && n == 0) {
    set_err(r, 400, "empty body");
    status = 400;
  }
  if (status) {
    free_pending(p, n);
    return status;
  }
  *out = p;
  *nout = n;
  return 0;
}

static int native_commit(cw_ingest *g, pending *p, size_t n,
                         cw_ingest_result *r);

int cw__ingest_native(cw_ingest *g, const uint8_t *body, size_t len, int lz4,
                      cw_ingest_result *r) {
  memset(r, 0, sizeof *r);
  pending *p = NULL;
  size_t n = 0;
  uint64_t held = 0;
  int st = split_native(g, body, len, lz4, &p, &n, &held, r);
  if (st) {
    cw__membudget_give(g->mem, held);
    cw__membudget_trim(held);
    refuse(g, st == 413   ? CW_REFUSE_TOO_LARGE
              : st == 400 ? CW_REFUSE_MALFORMED
                          : CW_REFUSE_OVERLOADED);
    return st;
  }
  st = native_commit(g, p, n, r);
  cw__membudget_give(g->mem, held);
  cw__membudget_trim(held);
  return st;
}

/* Dedup, store, queue for analysis. Frees p. @return r->status. */
static int native_commit(cw_ingest *g, pending *p, size_t n,
                         cw_ingest_result *r) {
  int st = 0;
  /* Dedup: reserve new batches; duplicates inside the body count once. */
  uint64_t bytes = 0;
  size_t nnew = 0;
  for (size_t i = 0; i < n && !st; i++) {
    int dup_in_body = 0;
    for (size_t j = 0; j < i; j++)
      if (p[j].info.batch_no == p[i].info.batch_no &&
          !memcmp(p[j].info.stream_id, p[i].info.stream_id, 16))
        dup_in_body = 1;
    int d = dup_in_body ? CW_DEDUP_SEEN
                        : cw__dedup_reserve(g->dedup, p[i].info.stream_id,
                                            p[i].info.batch_no);
    if (d == CW_DEDUP_IN_FLIGHT) {
      set_err(r, 503, "this batch is being stored by another request");
      r->retry_after = 1;
      st = 503;
    } else if (d == CW_DEDUP_NEW) {
      p[i].is_new = 1;
      bytes += p[i].raw_len;
      nnew++;
    }
  }
  if (!st && nnew && cw__analyzer_reserve(g->an, bytes, g->queue_timeout_ms)) {
    set_err(r, 503, "analysis queue full, retry later");
    r->retry_after = 2;
    st = 503;
  }
  cw_store_rec *recs = NULL;
  if (!st && nnew) {
    recs = calloc(nnew, sizeof *recs);
    size_t k = 0;
    for (size_t i = 0; recs && i < n; i++)
      if (p[i].is_new)
        recs[k++] = (cw_store_rec){
            CW_STORE_NATIVE, (uint32_t)p[i].info.events, p[i].frame,
            p[i].frame_len,  p[i].info.stream_id,        p[i].info.batch_no};
    if (!recs || cw__store_append(g->store, recs, nnew) ||
        (g->pg && cw__pg_insert(g->pg, recs, nnew))) {
      cw__analyzer_unreserve(g->an, bytes);
      set_err(r, recs ? 500 : 503,
              recs ? "store write failed" : "out of memory");
      st = r->status;
    }
  }
  free(recs);
  for (size_t i = 0; i < n; i++) {
    if (!p[i].is_new)
      continue;
    cw__dedup_finish(g->dedup, p[i].info.stream_id, p[i].info.batch_no,
                     st == 0);
  }
  if (st) {
    refuse(g, st == 500 ? CW_REFUSE_STORE_ERROR : CW_REFUSE_OVERLOADED);
    free_pending(p, n);
    return st;
  }
  /* Durable: account, queue for analysis, acknowledge. */
  for (size_t i = 0; i < n; i++) {
    r->batches++;
    r->events += p[i].info.events;
    if (!p[i].is_new) {
      r->duplicate_batches++;
      r->duplicate_events += p[i].info.events;
      atomic_fetch_add(&g->m->batches_duplicate, 1);
      continue;
    }
    r->accepted += p[i].info.accepted;
    for (int k = 0; k < CW_REJ_COUNT_; k++) {
      r->rejected[k] += p[i].info.rejected[k];
      atomic_fetch_add(&g->m->rejected_events[k], p[i].info.rejected[k]);
    }
    r->sdk_dropped += p[i].info.gaps;
    atomic_fetch_add(&g->m->events_native, p[i].info.accepted);
    atomic_fetch_add(&g->m->sdk_dropped, p[i].info.gaps);
    atomic_fetch_add(&g->m->batches_stored, 1);
    cw_batch_item it;
    memset(&it, 0, sizeof it);
    it.type = CW_STORE_NATIVE;
    it.data = p[i].raw;
    it.len = p[i].raw_len;
    memcpy(it.stream_id, p[i].info.stream_id, 16);
    it.batch_no = p[i].info.batch_no;
    it.events = p[i].info.events;
    p[i].raw = NULL;
    cw__analyzer_push(g->an, &it);
  }
  free_pending(p, n);
  r->status = 200;
  return 200;
}

/* Counts the events of a Raceway body and checks its shape.
 * @return the number of events or -1 (r filled). */
static long long raceway_count(const char *body, size_t len,
                               cw_ingest_result *r) {
  if (!cw__json_depth_ok(body, len, CW_JSON_MAX_DEPTH)) {
    snprintf(r->msg, sizeof r->msg,
             "invalid JSON: nested deeper than %d "
             "levels",
             CW_JSON_MAX_DEPTH);
    r->status = 400;
    return -1;
  }
  json_error_t je;
  json_t *root = json_loadb(body, len, 0, &je);
  if (!root) {
    snprintf(r->msg, sizeof r->msg, "invalid JSON at line %d column %d: %s",
             je.line, je.column, je.text);
    r->status = 400;
    return -1;
  }
  json_t *events = json_is_array(root) ? root : json_object_get(root, "events");
  long long n = -1;
  if (!json_is_object(root) && !json_is_array(root))
    set_err(r, 400, "expected {\"events\":[...]}");
  else if (!json_is_array(events))
    set_err(r, 400, "expected {\"events\":[...]}: no \"events\" array");
  else
    n = (long long)json_array_size(events);
  json_decref(root);
  return n;
}

static int raceway_store(cw_ingest *g, const char *body, size_t len,
                         long long n, cw_ingest_result *r);

int cw__ingest_raceway(cw_ingest *g, const char *body, size_t len,
                       cw_ingest_result *r) {
  memset(r, 0, sizeof *r);
  /* The parse tree (estimated before parsing), the analysis copy and the
   * stored frame, taken from the budget before any of them exists. */
  uint64_t tree = cw__json_tree_bytes(body, len);
  uint64_t need = tree + len + LZ4F_compressFrameBound(len, NULL);
  if (need > g->max_decoded) {
    snprintf(r->msg, sizeof r->msg,
             "body would take about %llu MiB to decode, more than "
             "--max-decoded %llu MiB",
             (unsigned long long)(need >> 20),
             (unsigned long long)(g->max_decoded >> 20));
    r->status = 413;
    refuse(g, CW_REFUSE_TOO_LARGE);
    return 413;
  }
  if (cw__membudget_take(g->mem, need, 0)) {
    budget_full(r);
    refuse(g, CW_REFUSE_OVERLOADED);
    return 503;
  }
  long long n = raceway_count(body, len, r);
  /* The tree is freed: give its pages back before storing. */
  cw__membudget_trim(tree);
  if (n < 0)
    refuse(g, CW_REFUSE_MALFORMED);
  int st = n < 0 ? r->status : raceway_store(g, body, len, n, r);
  cw__membudget_give(g->mem, need);
  return st;
}

/* Checks the count, stores the body and queues it for analysis.
 * @return r->status. */
static int raceway_store(cw_ingest *g, const char *body, size_t len,
                         long long n, cw_ingest_result *r) {
  if ((uint64_t)n > g->max_batch_events) {
    snprintf(r->msg, sizeof r->msg,
             "batch has %lld events, more than --max-batch-events %llu", n,
             (unsigned long long)g->max_batch_events);
    r->status = 413;
    refuse(g, CW_REFUSE_TOO_LARGE);
    return 413;
  }
  size_t flen = 0;
  uint8_t *frame = compress_frame(body, len, &flen);
  uint8_t *copy = malloc(len ? len : 1);
  if (!frame || !copy) {
    free(frame);
    free(copy);
    set_err(r, 503, "out of memory");
    refuse(g, CW_REFUSE_OVERLOADED);
    return 503;
  }
  memcpy(copy, body, len);
  if (cw__analyzer_reserve(g->an, len, g->queue_timeout_ms)) {
    free(frame);
    free(copy);
    set_err(r, 503, "analysis queue full, retry later");
    r->retry_after = 2;
    refuse(g, CW_REFUSE_OVERLOADED);
    return 503;
  }
  cw_store_rec rec = {CW_STORE_RACEWAY, (uint32_t)n, frame, flen, NULL, 0};
  int rc = cw__store_append(g->store, &rec, 1);
  if (rc == 0 && g->pg)
    rc = cw__pg_insert(g->pg, &rec, 1);
  free(frame);
  if (rc) {
    cw__analyzer_unreserve(g->an, len);
    free(copy);
    set_err(r, 500, "store write failed");
    refuse(g, CW_REFUSE_STORE_ERROR);
    return 500;
  }
  cw_batch_item it;
  memset(&it, 0, sizeof it);
  it.type = CW_STORE_RACEWAY;
  it.data = copy;
  it.len = len;
  it.events = (uint64_t)n;
  cw__analyzer_push(g->an, &it);
  r->batches = 1;
  r->events = r->accepted = (uint64_t)n;
  atomic_fetch_add(&g->m->events_raceway, (uint64_t)n);
  atomic_fetch_add(&g->m->batches_stored, 1);
  r->status = 200;
  return 200;
}

int cw__ingest_replay(void *ud, const cw_store_rec *rec) {
  cw_ingest *g = ud;
  /* With PostgreSQL, the database is the source of what is analysed (and of
   * the dedup table); the local log is only scanned and repaired. */
  return g->pg ? 0 : cw__ingest_feed_record(ud, rec);
}

int cw__ingest_feed_record(void *ud, const cw_store_rec *rec) {
  cw_ingest *g = ud;
  cw_decode_error err;
  size_t raw_len = 0, consumed = 0;
  uint8_t *raw = cw__lz4_frame_decompress(
      rec->data, rec->len, CW_STORE_MAX_RECORD, &raw_len, &consumed, &err);
  if (!raw)
    return 0; /* CRC-valid but undecodable: skip, never fatal */
  cw_batch_item it;
  memset(&it, 0, sizeof it);
  it.type = rec->type;
  it.data = raw;
  it.len = raw_len;
  it.events = rec->nevents;
  if (rec->type == CW_STORE_NATIVE) {
    cw_native_info info;
    if (cw__native_check(raw, raw_len, UINT64_MAX, &info, &err) ||
        cw__dedup_mark(g->dedup, info.stream_id, info.batch_no)) {
      free(raw);
      return 0;
    }
    memcpy(it.stream_id, info.stream_id, 16);
    it.batch_no = info.batch_no;
  } else if (rec->type == CW_STORE_RACEWAY) {
    /* Raceway: nothing to check here, the decoder runs in the analysis. */
  } else {
    free(raw);
    return 0;
  }
  while (cw__analyzer_reserve(g->an, raw_len, 1000))
    ;
  cw__analyzer_push(g->an, &it);
  return 0;
}
