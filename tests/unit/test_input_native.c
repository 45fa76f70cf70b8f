/*
 * test_input_native: the native trace decoder against a recording engine
 * stand-in: event mapping, sequence reordering, join mapping, gaps,
 * retirement, unknown kinds, truncated tails and damaged files. Traces are
 * built from readable specs (tests/cli/cwt_spec.h).
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cw_input.h"
#include "cwt_spec.h"
#include "test_input_fake_engine.h"

static uint8_t *build(const char *spec, size_t *len) {
  char err[256];
  uint8_t *img = cwt_from_spec(spec, strlen(spec), len, err, sizeof err);
  if (!img)
    fail_msg("%s", err);
  return img;
}

static cw_engine *decode(const char *spec, int expect_rc, cw_input_stats *st,
                         cw_input_error *err) {
  size_t len;
  uint8_t *img = build(spec, &len);
  cw_engine *e = cw__engine_new(NULL);
  memset(st, 0, sizeof *st);
  cw_input_opts o = {.name = "t.cwt"};
  assert_int_equal(cw__native_decode_buf(img, len, e, &o, st, err), expect_rc);
  free(img);
  return e;
}

static void test_mapping(void **state) {
  (void)state;
  const char *spec =
      "batch bank web1 42\n"
      "ev 1 bank#web1/main 1 fork bank#web1/t1 @m.c:5\n"
      "ev 2 bank#web1/t1 1 thread_start - j=bank#web1/main:1 f=full\n"
      "ev 3 bank#web1/t1 2 rmw hits @a.c:7 val=3\n"
      "ev 4 bank#web1/t1 3 lock_request m @a.c:8 f=shared,try\n"
      "ev 5 bank#web1/t1 4 lock_acquired m @a.c:8 f=shared\n"
      "ev 6 bank#web1/t1 5 http_send - detail=GET_/x\n"
      "ev 7 bank#web1/t1 6 read s @a.c:9 str=hello\n"
      "ev 8 bank#web1/t1 7 99 -\n";
  cw_input_stats st;
  cw_input_error err;
  cw_engine *e = decode(spec, 0, &st, &err);
  const fake_event *ev;
  size_t n = fake_events(e, &ev);
  assert_int_equal(n, 7);
  assert_int_equal(st.unknown_kinds, 1);
  assert_int_equal(st.batches, 1);
  for (size_t i = 0; i < n; i++) {
    assert_true(ev[i].ev.flags & CW_AEF_CLOCK_ONLY);
    assert_int_equal(ev[i].ev.seq, i + 1);
    assert_string_equal(ev[i].service, "bank");
  }
  assert_int_equal(ev[0].ev.kind, CW_AE_FORK);
  assert_string_equal(ev[0].child, "bank#web1/t1");
  assert_string_equal(ev[0].loc, "m.c:5");
  assert_int_equal(ev[1].ev.kind, CW_AE_BEGIN);
  assert_int_equal(ev[1].ev.njoins, 1);
  assert_int_equal(ev[1].joins[0].actor, ev[0].ev.actor);
  assert_int_equal(ev[1].joins[0].counter, 1);
  assert_int_equal(ev[2].ev.kind, CW_AE_WRITE);
  assert_true(ev[2].ev.flags & CW_AEF_ATOMIC);
  assert_true(ev[2].ev.flags & CW_AEF_VAL_INT);
  assert_int_equal(ev[2].ev.val_int, 3);
  assert_int_equal(ev[2].ev.counter, 2);
  assert_string_equal(ev[2].loc, "a.c:7");
  assert_int_equal(ev[3].ev.kind, CW_AE_LOCK_REQUEST);
  assert_true(ev[3].ev.flags & CW_AEF_SHARED);
  assert_true(ev[3].ev.flags & CW_AEF_TRY);
  assert_int_equal(ev[4].ev.kind, CW_AE_LOCK_ACQUIRE);
  assert_int_equal(ev[5].ev.kind, CW_AE_HTTP_SEND);
  assert_string_equal(ev[5].detail, "GET_/x");
  assert_int_equal(ev[6].ev.kind, CW_AE_READ);
  assert_string_equal(ev[6].val_str, "hello");
  assert_int_equal(ev[6].ev.ts_ns, 7000); /* mono time */
  cw__engine_free(e);
}

/* Names that are not global yet are qualified with the batch's service
 * and instance, as the collector qualifies them. */
static void test_local_actor_names_qualified(void **state) {
  (void)state;
  const char *spec = "batch bank web1 42\n"
                     "ev 1 t9 1 fork worker @m.c:1\n"
                     "ev 2 other#h/x 1 write v @m.c:2\n";
  cw_input_stats st;
  cw_engine *e = decode(spec, 0, &st, NULL);
  const fake_event *ev;
  assert_int_equal(fake_events(e, &ev), 2);
  assert_string_equal(ev[0].actor, "bank#web1/t9");
  assert_string_equal(ev[0].child, "bank#web1/worker");
  assert_string_equal(ev[0].service, "bank");
  assert_string_equal(ev[1].actor, "other#h/x");
  assert_string_equal(ev[1].service, "other");
  cw__engine_free(e);
}

static void test_reorders_by_seq(void **state) {
  (void)state;
  /* Two per-thread buffers drained one after the other, over two frames. */
  const char *spec = "batch s h 1\n"
                     "ev 2 s#h/a 1 write x @f.c:1\n"
                     "ev 4 s#h/a 2 write x @f.c:2\n"
                     "ev 6 s#h/a 3 write x @f.c:3\n"
                     "batch s h 1\n"
                     "ev 1 s#h/b 1 write y @f.c:4\n"
                     "ev 3 s#h/b 2 write y @f.c:5\n"
                     "ev 5 s#h/b 3 write y @f.c:6 j=s#h/a:2\n";
  cw_input_stats st;
  cw_engine *e = decode(spec, 0, &st, NULL);
  const fake_event *ev;
  size_t n = fake_events(e, &ev);
  assert_int_equal(n, 6);
  for (size_t i = 0; i < n; i++)
    assert_int_equal(ev[i].ev.seq, i + 1);
  /* Batch-local actor ids differ between frames; engine ids do not. */
  assert_int_equal(ev[4].ev.njoins, 1);
  assert_int_equal(ev[4].joins[0].actor, ev[1].ev.actor);
  assert_int_equal(fake_actors(e), 2);
  cw__engine_free(e);
}

static void test_gap_and_retire(void **state) {
  (void)state;
  const char *spec = "batch s h 1\n"
                     "ev 1 s#h/a 1 write x @f.c:1\n"
                     "gap s#h/a 5 2 6\n"
                     "ev 7 s#h/a 7 write x @f.c:2 f=full\n"
                     "retire 8 s#h/a s#h/b\n";
  cw_input_stats st;
  cw_engine *e = decode(spec, 0, &st, NULL);
  const fake_event *ev;
  size_t n = fake_events(e, &ev);
  assert_int_equal(n, 5);
  assert_int_equal(ev[1].ev.kind, CW_AE_GAP);
  assert_int_equal(ev[1].ev.aux, 5);
  assert_string_equal(ev[1].actor, "s#h/a");
  assert_int_equal(ev[3].ev.kind, CW_AE_RETIRE);
  assert_int_equal(ev[4].ev.kind, CW_AE_RETIRE);
  assert_string_equal(ev[4].actor, "s#h/b");
  cw__engine_free(e);
}

static void test_truncated_tail_kept(void **state) {
  (void)state;
  const char *spec = "batch s h 1\n"
                     "ev 1 s#h/a 1 write x @f.c:1\n"
                     "batch s h 1\n"
                     "ev 2 s#h/a 2 write x @f.c:2\n"
                     "truncate 5\n";
  cw_input_stats st;
  cw_input_error err;
  cw_engine *e = decode(spec, 0, &st, &err);
  const fake_event *ev;
  assert_int_equal(fake_events(e, &ev), 1);
  assert_int_equal(st.truncated_files, 1);
  cw__engine_free(e);
}

static void test_damage_is_an_error(void **state) {
  (void)state;
  size_t len;
  uint8_t *img = build("batch s h 1\nev 1 s#h/a 1 write x @f.c:1\n"
                       "batch s h 1\nev 2 s#h/a 2 write x @f.c:2\n",
                       &len);
  /* Corrupt a byte inside the second frame's compressed data. */
  img[len - 10] ^= 0x5a;
  cw_engine *e = cw__engine_new(NULL);
  cw_input_stats st;
  memset(&st, 0, sizeof st);
  cw_input_error err;
  cw_input_opts o = {.name = "bad.cwt"};
  assert_int_equal(cw__native_decode_buf(img, len, e, &o, &st, &err), -1);
  assert_non_null(strstr(err.msg, "bad.cwt: "));
  free(img);
  cw__engine_free(e);

  static const uint8_t garbage[] = "definitely not a trace";
  e = cw__engine_new(NULL);
  assert_int_equal(
      cw__native_decode_buf(garbage, sizeof garbage, e, &o, &st, &err), -1);
  assert_non_null(strstr(err.msg, "bad.cwt: byte 0: "));
  cw__engine_free(e);
}

static void test_files_merged_by_wall_time(void **state) {
  (void)state;
  const char *a = "batch a h 1\n"
                  "ev 1 a#h/t 1 write x @a.c:1 wall=100\n"
                  "ev 2 a#h/t 2 write x @a.c:2 wall=300\n";
  const char *b = "batch b h 2\n"
                  "ev 1 b#h/t 1 write x @b.c:1 wall=200\n"
                  "ev 2 b#h/t 2 write x @b.c:2 wall=400\n";
  char pa[] = "/tmp/cw-native-a-XXXXXX", pb[] = "/tmp/cw-native-b-XXXXXX";
  const char *specs[2] = {a, b};
  char *paths[2] = {pa, pb};
  for (int i = 0; i < 2; i++) {
    size_t len;
    uint8_t *img = build(specs[i], &len);
    int fd = mkstemp(paths[i]);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(img, 1, len, f), len);
    fclose(f);
    free(img);
  }
  cw_engine *e = cw__engine_new(NULL);
  cw_input_stats st;
  memset(&st, 0, sizeof st);
  cw_input_error err;
  const char *const files[2] = {pa, pb};
  assert_int_equal(cw__native_decode_files(files, 2, e, NULL, &st, &err), 0);
  const fake_event *ev;
  assert_int_equal(fake_events(e, &ev), 4);
  assert_string_equal(ev[0].loc, "a.c:1");
  assert_string_equal(ev[1].loc, "b.c:1");
  assert_string_equal(ev[2].loc, "a.c:2");
  assert_string_equal(ev[3].loc, "b.c:2");
  assert_string_equal(ev[1].service, "b");
  cw__engine_free(e);
  remove(pa);
  remove(pb);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mapping),
      cmocka_unit_test(test_local_actor_names_qualified),
      cmocka_unit_test(test_reorders_by_seq),
      cmocka_unit_test(test_gap_and_retire),
      cmocka_unit_test(test_truncated_tail_kept),
      cmocka_unit_test(test_damage_is_an_error),
      cmocka_unit_test(test_files_merged_by_wall_time),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
