/* Unit tests for cw_format: round trips, dictionaries, and strict decoding of
 * malformed, truncated and hostile input. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cw_b64url.h"
#include "cw_format.h"

typedef struct seen {
  int batches, events, gaps, retires;
  char last_object[64];
  char last_actor[64];
  uint64_t last_seq, last_counter;
  int64_t last_wall, last_val;
  uint64_t last_mono;
  uint32_t last_njoins;
  uint64_t join_counter;
  char join_actor[64];
  uint64_t gap_dropped;
  uint32_t retire_n;
  char service[32];
  uint64_t batch_no;
} seen;

static void copy_str(char *dst, size_t cap, const char *s, size_t n) {
  if (n >= cap)
    n = cap - 1;
  memcpy(dst, s, n);
  dst[n] = 0;
}

static int on_batch(void *ud, const cw_batch_ctx *ctx) {
  seen *s = ud;
  const cw_batch_hdr *h = cw__ctx_header(ctx);
  s->batches++;
  s->batch_no = h->batch_no;
  copy_str(s->service, sizeof s->service, h->service, h->service_len);
  return 0;
}

static int on_event(void *ud, const cw_batch_ctx *ctx, const cw_event_rec *ev) {
  seen *s = ud;
  size_t n;
  s->events++;
  const char *o = cw__ctx_string(ctx, ev->object, &n);
  copy_str(s->last_object, sizeof s->last_object, o ? o : "", o ? n : 0);
  const char *a = cw__ctx_actor(ctx, ev->actor, &n, NULL);
  copy_str(s->last_actor, sizeof s->last_actor, a ? a : "", a ? n : 0);
  s->last_seq = ev->seq;
  s->last_counter = ev->counter;
  s->last_wall = ev->wall_ns;
  s->last_mono = ev->mono_ns;
  s->last_val = ev->val_int;
  s->last_njoins = ev->njoins;
  if (ev->njoins) {
    s->join_counter = ev->joins[0].counter;
    const char *j = cw__ctx_actor(ctx, ev->joins[0].actor, &n, NULL);
    copy_str(s->join_actor, sizeof s->join_actor, j ? j : "", j ? n : 0);
  }
  return 0;
}

static int on_gap(void *ud, const cw_batch_ctx *ctx, uint32_t actor,
                  uint64_t dropped, uint64_t first, uint64_t last) {
  seen *s = ud;
  s->gaps++;
  s->gap_dropped = dropped;
  return 0;
}

static int on_retire(void *ud, const cw_batch_ctx *ctx, uint64_t seq,
                     const uint32_t *actors, uint32_t n) {
  seen *s = ud;
  s->retires++;
  s->retire_n = n;
  return 0;
}

static const cw_decode_cb CB = {on_batch, on_event, on_gap, on_retire};

static cw_batch_hdr make_hdr(uint64_t batch_no) {
  cw_batch_hdr h;
  memset(&h, 0, sizeof h);
  h.version = CW_FORMAT_VERSION;
  memset(h.stream_id, 0xab, 16);
  h.batch_no = batch_no;
  h.service = "bank";
  h.service_len = 4;
  h.instance = "host-1";
  h.instance_len = 6;
  h.pid = 4242;
  h.base_wall_ns = 1700000000000000000LL;
  h.base_mono_ns = 5000000000ULL;
  return h;
}

/* Builds a batch with two actors, one event with a join, a gap and a
 * retire record. */
static cw_batch_writer *build_batch(uint64_t batch_no) {
  cw_batch_writer *bw = cw__bw_new(1 << 16);
  assert_non_null(bw);
  cw_batch_hdr h = make_hdr(batch_no);
  assert_int_equal(cw__bw_begin(bw, &h), 0);
  uint32_t a1 = cw__bw_actor(bw, "bank#h/t1", 9, CW_ACTOR_THREAD);
  uint32_t a2 = cw__bw_actor(bw, "bank#h/t2", 9, CW_ACTOR_THREAD);
  assert_int_equal(a1, 1);
  assert_int_equal(a2, 2);
  /* Interning again returns the same ids and writes nothing. */
  size_t before, after;
  cw__bw_data(bw, &before);
  assert_int_equal(cw__bw_actor(bw, "bank#h/t1", 9, CW_ACTOR_THREAD), 1);
  cw__bw_data(bw, &after);
  assert_int_equal(before, after);

  cw_clock_entry j = {a2, 17};
  cw_event_rec ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = CW_EV_WRITE;
  ev.flags = CW_EVF_VAL_INT;
  ev.seq = 99;
  ev.actor = a1;
  ev.counter = 5;
  ev.wall_ns = h.base_wall_ns - 3; /* before the base: negative delta */
  ev.mono_ns = h.base_mono_ns + 1234;
  ev.object = cw__bw_string(bw, "account:alice.balance", 21);
  ev.file = cw__bw_string(bw, "bank.c", 6);
  ev.line = 42;
  ev.val_int = -900;
  ev.joins = &j;
  ev.njoins = 1;
  assert_int_equal(cw__bw_event(bw, &ev), 0);
  assert_int_equal(cw__bw_gap(bw, a2, 7, 100, 106), 0);
  uint32_t r[2] = {a1, a2};
  assert_int_equal(cw__bw_retire(bw, 107, r, 2), 0);
  assert_int_equal(cw__bw_events(bw), 1);
  return bw;
}

static void test_roundtrip_raw(void **state) {
  cw_batch_writer *bw = build_batch(3);
  size_t len;
  const uint8_t *data = cw__bw_data(bw, &len);
  seen s;
  memset(&s, 0, sizeof s);
  cw_decode_error err;
  assert_int_equal(cw__decode_batch(data, len, &CB, &s, &err), CW_DECODE_OK);
  assert_int_equal(s.batches, 1);
  assert_int_equal(s.batch_no, 3);
  assert_string_equal(s.service, "bank");
  assert_int_equal(s.events, 1);
  assert_string_equal(s.last_object, "account:alice.balance");
  assert_string_equal(s.last_actor, "bank#h/t1");
  assert_int_equal(s.last_seq, 99);
  assert_int_equal(s.last_counter, 5);
  assert_true(s.last_wall == 1700000000000000000LL - 3);
  assert_int_equal(s.last_mono, 5000000000ULL + 1234);
  assert_true(s.last_val == -900);
  assert_int_equal(s.last_njoins, 1);
  assert_int_equal(s.join_counter, 17);
  assert_string_equal(s.join_actor, "bank#h/t2");
  assert_int_equal(s.gaps, 1);
  assert_int_equal(s.gap_dropped, 7);
  assert_int_equal(s.retires, 1);
  assert_int_equal(s.retire_n, 2);
  cw__bw_free(bw);
}

static void test_frames_and_truncated_tail(void **state) {
  /* Two complete frames and a third cut short, like a crashed writer. */
  uint8_t *file = NULL;
  size_t flen = 0;
  size_t cut = 0;
  for (int i = 0; i < 3; i++) {
    cw_batch_writer *bw = build_batch((uint64_t)i);
    size_t clen;
    uint8_t *c = cw__bw_compress(bw, &clen);
    assert_non_null(c);
    file = realloc(file, flen + clen);
    memcpy(file + flen, c, clen);
    if (i == 2)
      cut = clen / 2;
    flen += clen;
    free(c);
    cw__bw_free(bw);
  }
  seen s;
  memset(&s, 0, sizeof s);
  int trunc = 0;
  cw_decode_error err;
  assert_int_equal(cw__decode_frames(file, flen, &CB, &s, &trunc, &err),
                   CW_DECODE_OK);
  assert_int_equal(s.batches, 3);
  assert_int_equal(trunc, 0);

  memset(&s, 0, sizeof s);
  assert_int_equal(cw__decode_frames(file, flen - cut, &CB, &s, &trunc, &err),
                   CW_DECODE_OK);
  assert_int_equal(s.batches, 2);
  assert_int_equal(trunc, 1);

  /* Without a truncated_tail out-parameter a cut frame is an error. */
  memset(&s, 0, sizeof s);
  assert_int_equal(cw__decode_frames(file, flen - cut, &CB, &s, NULL, &err),
                   CW_DECODE_TRUNCATED);
  assert_non_null(strstr(err.msg, "truncated"));
  assert_int_equal(err.code, CW_DERR_TRUNCATED);
  free(file);
}

static void test_every_truncation_is_clean(void **state) {
  /* Every prefix of a batch decodes to an error or a clean stop; never a
   * crash (ASan checks the reads). */
  cw_batch_writer *bw = build_batch(0);
  size_t len;
  const uint8_t *data = cw__bw_data(bw, &len);
  int errors = 0;
  for (size_t i = 0; i < len; i++) {
    uint8_t *copy = malloc(i ? i : 1);
    memcpy(copy, data, i);
    seen s;
    memset(&s, 0, sizeof s);
    cw_decode_error err;
    int rc = cw__decode_batch(copy, i, &CB, &s, &err);
    if (rc == CW_DECODE_ERROR)
      errors++;
    free(copy);
  }
  /* Most prefixes cut a record in half and must be reported. */
  assert_true(errors > (int)len / 2);
  cw__bw_free(bw);
}

static void test_bit_flips_never_crash(void **state) {
  cw_batch_writer *bw = build_batch(0);
  size_t len;
  const uint8_t *data = cw__bw_data(bw, &len);
  uint8_t *copy = malloc(len);
  unsigned seed = 12345;
  for (int round = 0; round < 4000; round++) {
    memcpy(copy, data, len);
    for (int k = 0; k < 3; k++) {
      seed = seed * 1103515245u + 12345u;
      copy[(seed >> 8) % len] ^= (uint8_t)(1u << ((seed >> 4) & 7));
    }
    seen s;
    memset(&s, 0, sizeof s);
    cw_decode_error err;
    int rc = cw__decode_batch(copy, len, &CB, &s, &err);
    assert_true(rc == CW_DECODE_OK || rc == CW_DECODE_ERROR);
  }
  free(copy);
  cw__bw_free(bw);
}

static void test_garbage_frames_rejected(void **state) {
  const uint8_t junk[] = "this is not an lz4 frame at all";
  cw_decode_error err;
  int trunc;
  assert_int_equal(
      cw__decode_frames(junk, sizeof junk, NULL, NULL, &trunc, &err),
      CW_DECODE_ERROR);
  assert_non_null(strstr(err.msg, "LZ4"));
}

static void test_batch_must_start_with_header(void **state) {
  const uint8_t rec[] = {CW_REC_STRING, 3, 1, 1, 'x'};
  cw_decode_error err;
  assert_int_equal(cw__decode_batch(rec, sizeof rec, NULL, NULL, &err),
                   CW_DECODE_ERROR);
  assert_non_null(strstr(err.msg, "BATCH"));
}

static void test_full_batch_refuses_records(void **state) {
  cw_batch_writer *bw = cw__bw_new(256);
  cw_batch_hdr h = make_hdr(0);
  assert_int_equal(cw__bw_begin(bw, &h), 0);
  char name[64];
  uint32_t last = 1;
  int i;
  for (i = 0; i < 100 && last; i++) {
    int n = snprintf(name, sizeof name, "string-number-%d", i);
    last = cw__bw_string(bw, name, (size_t)n);
  }
  assert_int_equal(last, 0);
  size_t len;
  const uint8_t *data = cw__bw_data(bw, &len);
  assert_true(len <= 256);
  /* What was written before the cap is still a valid batch. */
  assert_int_equal(cw__decode_batch(data, len, NULL, NULL, NULL), CW_DECODE_OK);
  cw__bw_free(bw);
}

static void test_many_strings_grow_dictionary(void **state) {
  cw_batch_writer *bw = cw__bw_new(1 << 20);
  cw_batch_hdr h = make_hdr(0);
  assert_int_equal(cw__bw_begin(bw, &h), 0);
  char name[64];
  for (int i = 0; i < 5000; i++) {
    int n = snprintf(name, sizeof name, "var-%d", i);
    assert_int_equal(cw__bw_string(bw, name, (size_t)n), (uint32_t)i + 1);
  }
  for (int i = 0; i < 5000; i += 97) {
    int n = snprintf(name, sizeof name, "var-%d", i);
    assert_int_equal(cw__bw_string(bw, name, (size_t)n), (uint32_t)i + 1);
  }
  cw__bw_free(bw);
}

static void test_b64url(void **state) {
  uint8_t in[16], back[16];
  char txt[32];
  for (size_t len = 1; len <= sizeof in; len++) {
    for (size_t i = 0; i < len; i++)
      in[i] = (uint8_t)(i * 37 + len * 11 + 0xf0);
    size_t n = cw__b64url_encode(in, len, txt, sizeof txt);
    assert_int_equal(n, (len * 4 + 2) / 3);
    assert_int_equal(strlen(txt), n);
    assert_int_equal(cw__b64url_decode(txt, n, back, sizeof back, 0),
                     (long)len);
    assert_memory_equal(in, back, len);
  }
  /* "+/8" is "-_8" in the standard alphabet; padding only when lenient. */
  assert_int_equal(cw__b64url_decode("-_8", 3, back, sizeof back, 0), 2);
  assert_int_equal(cw__b64url_decode("+/8", 3, back, sizeof back, 0), -1);
  assert_int_equal(cw__b64url_decode("+/8=", 4, back, sizeof back, 1), 2);
  assert_int_equal(cw__b64url_decode("-_8=", 4, back, sizeof back, 0), -1);
  /* Non-canonical trailing bits ("-_9" sets a bit past the last byte). */
  assert_int_equal(cw__b64url_decode("-_9", 3, back, sizeof back, 0), -1);
  assert_int_equal(cw__b64url_decode("-_9", 3, back, sizeof back, 1), 2);
  assert_int_equal(cw__b64url_decode("AAAAA", 5, back, sizeof back, 1), -1);
  assert_int_equal(cw__b64url_decode("AAAA", 4, back, 2, 0), -1); /* cap */
  assert_int_equal(cw__b64url_encode(in, 3, txt, 4), 0);          /* cap */
}

/* Collects every decoded event's fields, to compare with what was encoded. */
typedef struct evlist {
  cw_event_rec ev[64];
  int n;
} evlist;

static int collect_event(void *ud, const cw_batch_ctx *ctx,
                         const cw_event_rec *ev) {
  (void)ctx;
  evlist *l = ud;
  if (l->n < 64)
    l->ev[l->n++] = *ev;
  return 0;
}

/* A decoded event equals the one encoded, field by field. */
static void assert_same_event(const cw_event_rec *got,
                              const cw_event_rec *want) {
  assert_int_equal(got->kind, want->kind);
  assert_int_equal(got->flags, want->flags);
  assert_int_equal(got->actor, want->actor);
  assert_int_equal(got->seq, want->seq);
  assert_int_equal(got->counter, want->counter);
  assert_int_equal(got->mono_ns, want->mono_ns);
  assert_true(got->wall_ns == want->wall_ns);
  assert_int_equal(got->object, want->object);
  assert_int_equal(got->line, want->line);
  assert_true(got->val_int == want->val_int);
}

/* The record at data[off]: its payload starts at the returned offset and
 * is *plen bytes long (the length is a varint after the type byte). */
static size_t record_at(const uint8_t *data, size_t off, size_t *plen) {
  size_t k = off + 1, n = 0, shift = 0;
  while (data[k] & 0x80) {
    n |= (size_t)(data[k++] & 0x7f) << shift;
    shift += 7;
  }
  *plen = n | (size_t)data[k++] << shift;
  return k;
}

/* Events whose wall time the header implies become delta-encoded EVENT_D
 * records; the others stay EVENT. Interleaved actors, out-of-order seqs,
 * decreasing times and both layouts mixed decode to exactly what went in. */
static void test_delta_events_roundtrip(void **state) {
  (void)state;
  cw_batch_writer *bw = cw__bw_new(1 << 16);
  assert_non_null(bw);
  cw_batch_hdr h = make_hdr(0);
  assert_int_equal(cw__bw_begin(bw, &h), 0);
  uint32_t a[3];
  a[0] = cw__bw_actor(bw, "bank#h/t1", 9, CW_ACTOR_THREAD);
  a[1] = cw__bw_actor(bw, "bank#h/t2", 9, CW_ACTOR_THREAD);
  a[2] = cw__bw_actor(bw, "bank#h/t3", 9, CW_ACTOR_TASK);
  uint32_t key = cw__bw_string(bw, "account:alice.balance", 21);
  cw_event_rec in[40];
  memset(in, 0, sizeof in);
  uint64_t seq = 1ull << 40, mono = h.base_mono_ns + 5;
  for (int i = 0; i < 40; i++) {
    cw_event_rec *e = &in[i];
    e->kind = CW_EV_WRITE;
    e->flags = CW_EVF_VAL_INT;
    e->actor = a[(i * 7) % 3];
    e->counter = (uint64_t)i / 3 + 1 + (i == 30 ? 1000000 : 0);
    seq += (i % 5 == 0) ? 3 : 1;
    e->seq = i == 17 ? seq - 10 : seq;                /* out of order */
    mono = i == 11 ? mono - 400 : mono + (uint64_t)i; /* goes back once */
    e->mono_ns = mono;
    e->wall_ns = h.base_wall_ns + (int64_t)(mono - h.base_mono_ns);
    if (i % 9 == 4)
      e->wall_ns += 77; /* not the implied wall time: a plain EVENT */
    e->object = key;
    e->line = (uint32_t)i;
    e->val_int = -(int64_t)i;
    assert_int_equal(cw__bw_event(bw, e), 0);
  }
  size_t len;
  const uint8_t *data = cw__bw_data(bw, &len);
  int nd = 0, np = 0;
  cw_decode_error err;
  /* Count the two layouts by walking the records. */
  for (size_t off = 0; off < len;) {
    uint8_t type = data[off];
    size_t plen, k = record_at(data, off, &plen);
    nd += type == CW_REC_EVENT_D;
    np += type == CW_REC_EVENT;
    off = k + plen;
  }
  assert_int_equal(nd + np, 40);
  assert_int_equal(np, 4); /* i = 4, 13, 22, 31 */
  static evlist out;
  memset(&out, 0, sizeof out);
  cw_decode_cb cb = {NULL, collect_event, NULL, NULL};
  assert_int_equal(cw__decode_batch(data, len, &cb, &out, &err), CW_DECODE_OK);
  assert_int_equal(out.n, 40);
  for (int i = 0; i < 40; i++)
    assert_same_event(&out.ev[i], &in[i]);
  cw__bw_free(bw);
}

/* The steady writer (cw__bw_event_d, the SDK drain's loop) writes the
 * same bytes as the general one (cw__bw_event) for every event it takes,
 * and takes every steady event whatever the size of its sequence and time
 * deltas (they follow the clock: one to ten varint bytes); an event it
 * refuses leaves the batch as it was. */
static void test_steady_writer_matches_general(void **state) {
  (void)state;
  cw_batch_writer *g = cw__bw_new(1 << 16), *q = cw__bw_new(1 << 16);
  assert_non_null(g);
  assert_non_null(q);
  cw_batch_hdr h = make_hdr(0);
  cw_batch_writer *w[2] = {g, q};
  uint32_t a = 0, key = 0, file = 0;
  for (int k = 0; k < 2; k++) {
    assert_int_equal(cw__bw_begin(w[k], &h), 0);
    a = cw__bw_actor(w[k], "bank#h/t1", 9, CW_ACTOR_THREAD);
    key = cw__bw_string(w[k], "account:alice.balance", 21);
    file = cw__bw_string(w[k], "bank.c", 6);
  }
  static const uint64_t steps[] = {
      1, 63, 64, 8191, 8192, 1u << 20, (uint64_t)1 << 35, (uint64_t)1 << 62};
  uint64_t seq = 1000, mono = h.base_mono_ns, ctr = 0;
  int taken = 0;
  for (int i = 0; i < 64; i++) {
    uint64_t ds = steps[i % 8], dm = steps[(i * 3) % 8] % (1u << 30);
    seq = i == 40 ? seq - 5 : seq + ds; /* once backwards */
    mono += dm;
    ctr += i == 50 ? 200 : 1; /* a counter delta past one byte */
    cw_event_rec e;
    memset(&e, 0, sizeof e);
    e.kind = i % 2 ? CW_EV_WRITE : CW_EV_READ;
    e.flags = CW_EVF_VAL_INT;
    e.actor = a;
    e.seq = seq;
    e.counter = ctr;
    e.mono_ns = mono;
    e.wall_ns = h.base_wall_ns + (int64_t)(mono - h.base_mono_ns);
    e.object = key;
    e.file = file;
    e.line = (uint32_t)i * 1000;
    e.val_int = i % 3 ? -(int64_t)i : INT64_MIN / (i + 1);
    assert_int_equal(cw__bw_event(g, &e), 0);
    size_t before;
    (void)cw__bw_data(q, &before);
    int rc =
        cw__bw_event_d(q, e.kind, e.flags, e.actor, e.object, e.file, e.line,
                       e.func, e.seq, e.counter, e.mono_ns, e.val_int);
    if (rc != 0) {
      size_t after;
      (void)cw__bw_data(q, &after);
      assert_int_equal(after, before); /* nothing written */
      assert_int_equal(cw__bw_event(q, &e), 0);
      assert_int_equal(i, 50); /* only the two-byte counter delta */
    } else {
      taken++;
    }
    size_t gl, ql;
    const uint8_t *gd = cw__bw_data(g, &gl), *qd = cw__bw_data(q, &ql);
    assert_int_equal(gl, ql);
    assert_memory_equal(gd, qd, gl);
  }
  assert_int_equal(taken, 63);
  cw__bw_free(g);
  cw__bw_free(q);
}

/* Appends a TIMES group of `n` steady events of actor `a` to the open
 * batch, as the SDK drain does, after an ordinary EVENT_D from the general
 * writer, so both layouts share the actor's "previous event". */
static void put_group(cw_batch_writer *bw, const cw_batch_hdr *h, uint32_t a,
                      uint32_t key, int n, uint64_t *seq, uint64_t *mono,
                      uint64_t *ctr, cw_event_rec *in) {
  uint8_t body[64 * CW_EVT_MAX], col[64 * CW_EVT_COL_MAX];
  uint8_t *bp = body, *cp = col;
  cw_bw_head *b = (cw_bw_head *)bw;
  for (int i = 0; i < n; i++) {
    cw_event_rec *e = &in[i];
    memset(e, 0, sizeof *e);
    *seq += 1 + (uint64_t)i * (uint64_t)i * 977; /* 1 to 4 varint bytes */
    *mono += (uint64_t)i * 13;
    e->kind = CW_EV_WRITE;
    e->flags = i % 2 ? CW_EVF_VAL_INT : 0;
    e->actor = a;
    e->seq = *seq;
    e->counter = ++*ctr;
    e->mono_ns = *mono;
    e->wall_ns = h->base_wall_ns + (int64_t)(*mono - h->base_mono_ns);
    e->object = key;
    e->line = (uint32_t)i * 300;
    e->val_int = i % 2 ? (int64_t)i * -123456789 : 0;
    assert_int_equal(cw__evt_put(&bp, &cp, &b->last[a], e->kind, e->flags, a,
                                 key, 0, e->line, 0, e->seq, e->counter,
                                 e->mono_ns, e->val_int),
                     1);
  }
  assert_true(b->cap - b->len >= CW_TIMES_GROUP_MAX(n));
  uint8_t *end = cw__times_group_put(b->buf + b->len, col, (size_t)(cp - col),
                                     body, (size_t)(bp - body));
  b->len = (size_t)(end - b->buf);
  b->events += (uint64_t)n;
}

/* TIMES groups (version 3) decode to exactly what went in, between
 * ordinary records of the same actor; a group whose column is short, an
 * EVENT_T with no TIMES before it, and unused column values are errors. */
static void test_times_groups(void **state) {
  (void)state;
  cw_batch_writer *bw = cw__bw_new(1 << 16);
  assert_non_null(bw);
  cw_batch_hdr h = make_hdr(0);
  assert_int_equal(cw__bw_begin(bw, &h), 0);
  uint32_t a = cw__bw_actor(bw, "bank#h/t1", 9, CW_ACTOR_THREAD);
  uint32_t key = cw__bw_string(bw, "account:alice.balance", 21);
  cw_event_rec in[50];
  uint64_t seq = 1u << 20, mono = h.base_mono_ns + 100, ctr = 0;
  cw_event_rec *e = &in[0];
  memset(e, 0, sizeof *e);
  e->kind = CW_EV_READ;
  e->actor = a;
  e->seq = ++seq;
  e->counter = ++ctr;
  e->mono_ns = mono;
  e->wall_ns = h.base_wall_ns + (int64_t)(mono - h.base_mono_ns);
  e->object = key;
  assert_int_equal(cw__bw_event(bw, e), 0);
  put_group(bw, &h, a, key, 20, &seq, &mono, &ctr, &in[1]);
  e = &in[21];
  memset(e, 0, sizeof *e);
  e->kind = CW_EV_READ;
  e->actor = a;
  e->seq = seq + 5;
  e->counter = ctr + 1;
  e->mono_ns = mono + 7;
  e->wall_ns = h.base_wall_ns + (int64_t)(e->mono_ns - h.base_mono_ns);
  e->object = key;
  seq = e->seq;
  ctr = e->counter;
  mono = e->mono_ns;
  assert_int_equal(cw__bw_event(bw, e), 0);
  put_group(bw, &h, a, key, 28, &seq, &mono, &ctr, &in[22]);
  size_t len;
  const uint8_t *data = cw__bw_data(bw, &len);
  static evlist out;
  memset(&out, 0, sizeof out);
  cw_decode_cb cb = {NULL, collect_event, NULL, NULL};
  cw_decode_error err;
  assert_int_equal(cw__decode_batch(data, len, &cb, &out, &err), CW_DECODE_OK);
  assert_int_equal(out.n, 50);
  for (int i = 0; i < 50; i++)
    assert_same_event(&out.ev[i], &in[i]);
  /* The same bytes, damaged. Find the first TIMES record and its first
   * EVENT_T. */
  size_t t0 = 0, tl = 0, e0 = 0;
  for (size_t off = 0; off < len;) {
    size_t plen, k = record_at(data, off, &plen);
    if (data[off] == CW_REC_TIMES && !t0) {
      t0 = off;
      tl = k - off + plen;
    } else if (data[off] == CW_REC_EVENT_T && !e0) {
      e0 = off;
    }
    off = k + plen;
  }
  assert_true(t0 > 0 && e0 > t0);
  static uint8_t bad[1 << 16];
  /* No TIMES record: its EVENT_Ts have no column. */
  memcpy(bad, data, t0);
  memcpy(bad + t0, data + t0 + tl, len - t0 - tl);
  memset(&out, 0, sizeof out);
  assert_int_equal(cw__decode_batch(bad, len - tl, &cb, &out, &err),
                   CW_DECODE_ERROR);
  assert_non_null(strstr(err.msg, "without a TIMES record"));
  /* The first group's last EVENT_T removed: its values are left over when
   * the next TIMES record comes. */
  size_t last_t = 0;
  for (size_t off = e0; off < len;) {
    size_t plen, k = record_at(data, off, &plen);
    if (data[off] != CW_REC_EVENT_T)
      break;
    last_t = off;
    off = k + plen;
  }
  size_t ll = 2 + data[last_t + 1];
  memcpy(bad, data, last_t);
  memcpy(bad + last_t, data + last_t + ll, len - last_t - ll);
  assert_int_equal(cw__decode_batch(bad, len - ll, &cb, &out, &err),
                   CW_DECODE_ERROR);
  assert_non_null(strstr(err.msg, "unused values"));
  /* A column one value short: the group's last EVENT_T runs past it. The
   * TIMES record's length is one less (the last value fits a byte). */
  memcpy(bad, data, len);
  size_t clen, k = record_at(data, t0, &clen);
  size_t cend = k + clen;
  assert_true(data[cend - 1] < 0x80); /* a one-byte value */
  uint8_t lb[10];
  assert_int_equal(cw__put_varint(lb, clen - 1), k - t0 - 1);
  memcpy(bad + t0 + 1, lb, k - t0 - 1);
  memmove(bad + cend - 1, bad + cend, len - cend);
  assert_int_equal(cw__decode_batch(bad, len - 1, &cb, &out, &err),
                   CW_DECODE_ERROR);
  assert_non_null(strstr(err.msg, "past the end of its TIMES column"));
  cw__bw_free(bw);
}

static void test_kind_names(void **state) {
  assert_string_equal(cw__ev_kind_name(CW_EV_LOCK_ACQUIRED), "lock_acquired");
  assert_string_equal(cw__ev_kind_name(9999), "unknown");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip_raw),
      cmocka_unit_test(test_frames_and_truncated_tail),
      cmocka_unit_test(test_every_truncation_is_clean),
      cmocka_unit_test(test_bit_flips_never_crash),
      cmocka_unit_test(test_garbage_frames_rejected),
      cmocka_unit_test(test_batch_must_start_with_header),
      cmocka_unit_test(test_full_batch_refuses_records),
      cmocka_unit_test(test_many_strings_grow_dictionary),
      cmocka_unit_test(test_b64url),
      cmocka_unit_test(test_kind_names),
      cmocka_unit_test(test_delta_events_roundtrip),
      cmocka_unit_test(test_steady_writer_matches_general),
      cmocka_unit_test(test_times_groups),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
