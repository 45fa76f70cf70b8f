/*
 * test_sdk_snapshot.c: clock snapshots and their header encoding: round
 * trips, the 64-entry cap (most recent first, own actor first), and
 * rejection of malformed, oversized and random input without crashing.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sdk_test_util.h"

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Encodes raw payload bytes as a header value "1.<base64url>". */
static void make_header(const uint8_t *p, size_t n, char *out, size_t cap) {
  size_t o = 0;
  out[o++] = '1';
  out[o++] = '.';
  for (size_t i = 0; i < n && o + 5 < cap; i += 3) {
    uint32_t x = (uint32_t)p[i] << 16;
    if (i + 1 < n)
      x |= (uint32_t)p[i + 1] << 8;
    if (i + 2 < n)
      x |= p[i + 2];
    out[o++] = b64[(x >> 18) & 63];
    out[o++] = b64[(x >> 12) & 63];
    if (i + 1 < n)
      out[o++] = b64[(x >> 6) & 63];
    if (i + 2 < n)
      out[o++] = b64[x & 63];
  }
  out[o] = 0;
}

static cw_status decode_raw(const uint8_t *p, size_t n) {
  char hdr[8192];
  make_header(p, n, hdr, sizeof(hdr));
  cw_clock_snapshot *s = cw_clock_snapshot_new();
  cw_status st = cw_clock_decode(hdr, strlen(hdr), s);
  if (st != CW_OK)
    assert_int_equal(cw_clock_snapshot_len(s), 0);
  cw_clock_snapshot_free(s);
  return st;
}

static void test_set_encode_decode(void **state) {
  (void)state;
  const char *names[] = {"svc#host-1/task-9", "svc#host-1/t2",
                         "other#box-7/main"};
  const uint64_t ctr[] = {5, 1, 300000000000ull};
  cw_clock_snapshot *s = cw_clock_snapshot_new();
  assert_int_equal(cw_clock_snapshot_set(s, names, ctr, 3), CW_OK);
  assert_int_equal(cw_clock_snapshot_len(s), 3);
  char hdr[CW_CLOCK_HEADER_MAX + 1], hdr2[CW_CLOCK_HEADER_MAX + 1];
  size_t len;
  assert_int_equal(cw_clock_encode(s, hdr, sizeof(hdr), &len), CW_OK);
  assert_int_equal(strncmp(hdr, "1.", 2), 0);
  assert_int_equal(strlen(hdr), len);
  for (size_t i = 2; i < len; i++)
    assert_non_null(strchr(b64, hdr[i]));
  cw_clock_snapshot *d = cw_clock_snapshot_new();
  assert_int_equal(cw_clock_decode(hdr, len, d), CW_OK);
  assert_int_equal(cw_clock_snapshot_len(d), 3);
  /* Re-encoding the decoded clock gives the same header (order kept). */
  assert_int_equal(cw_clock_encode(d, hdr2, sizeof(hdr2), NULL), CW_OK);
  assert_string_equal(hdr, hdr2);
  /* Too small a buffer. */
  assert_int_equal(cw_clock_encode(d, hdr2, 8, NULL), CW_ETOOBIG);
  /* An empty clock round-trips too. */
  assert_int_equal(cw_clock_snapshot_set(s, NULL, NULL, 0), CW_OK);
  assert_int_equal(cw_clock_encode(s, hdr, sizeof(hdr), NULL), CW_OK);
  assert_int_equal(cw_clock_decode(hdr, strlen(hdr), d), CW_OK);
  assert_int_equal(cw_clock_snapshot_len(d), 0);
  cw_clock_snapshot_free(s);
  cw_clock_snapshot_free(d);
}

static void test_set_rejects(void **state) {
  (void)state;
  cw_clock_snapshot *s = cw_clock_snapshot_new();
  const char *bad_name[] = {"has space#x/y"};
  const char *ok_name[] = {"a#b/c"};
  const uint64_t one[] = {1}, zero[] = {0};
  assert_int_equal(cw_clock_snapshot_set(s, bad_name, one, 1), CW_EINVAL);
  assert_int_equal(cw_clock_snapshot_set(s, ok_name, zero, 1), CW_EINVAL);
  assert_int_equal(cw_clock_snapshot_len(s), 0);
  const char *many[65];
  uint64_t c[65];
  for (int i = 0; i < 65; i++) {
    many[i] = "a#b/c";
    c[i] = 1;
  }
  assert_int_equal(cw_clock_snapshot_set(s, many, c, 65), CW_ETOOBIG);
  assert_int_equal(cw_clock_snapshot_set(s, many, c, 64), CW_OK);
  assert_int_equal(cw_clock_snapshot_set(NULL, many, c, 1), CW_EINVAL);
  cw_clock_snapshot_free(s);
}

static void test_decode_malformed(void **state) {
  (void)state;
  cw_clock_snapshot *s = cw_clock_snapshot_new();
  const char *bad[] = {
      "",       "1",     "2.AA", "1.A",
      "1.!!!!", "1.AA=", "x.AA", "1.AB" /* non-canonical trailing bits */};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_int_equal(cw_clock_decode(bad[i], strlen(bad[i]), s), CW_EMALFORMED);
  char big[CW_CLOCK_HEADER_MAX + 2];
  memset(big, 'A', sizeof(big));
  big[0] = '1';
  big[1] = '.';
  assert_int_equal(cw_clock_decode(big, sizeof(big), s), CW_ETOOBIG);
  cw_clock_snapshot_free(s);

  /* Payload-level errors. */
  const uint8_t trailing[] = {0, 0};                    /* n=0, extra */
  const uint8_t toomany[] = {65};                       /* n=65 */
  const uint8_t trunc[] = {1, 0, 5, 'a', '#', 'b'};     /* short name */
  const uint8_t nohash[] = {1, 0, 3, 'a', '/', 'b', 1}; /* no '#' */
  const uint8_t zeroctr[] = {1, 0, 5, 'a', '#', 'b', '/', 'c', 0};
  const uint8_t ctrl[] = {1, 0, 5, 'a', '#', 1, '/', 'c', 1};
  const uint8_t shared[] = {1, 3, 2, 'a', 'b', 1}; /* shared > prev */
  const uint8_t varint[] = {1, 0, 5, 'a', '#', 'b', '/', 'c', 0x80};
  const uint8_t hugevar[] = {0xff, 0xff, 0xff, 0xff, 0xff,
                             0xff, 0xff, 0xff, 0xff, 0x7f};
  const uint8_t good[] = {2,   0, 5, 'a', '#', 'b', '/',
                          'c', 7, 4, 1,   'd', 9}; /* front coded */
  assert_int_equal(decode_raw(trailing, sizeof(trailing)), CW_EMALFORMED);
  assert_int_equal(decode_raw(toomany, sizeof(toomany)), CW_ETOOBIG);
  assert_int_equal(decode_raw(trunc, sizeof(trunc)), CW_EMALFORMED);
  assert_int_equal(decode_raw(nohash, sizeof(nohash)), CW_EMALFORMED);
  assert_int_equal(decode_raw(zeroctr, sizeof(zeroctr)), CW_EMALFORMED);
  assert_int_equal(decode_raw(ctrl, sizeof(ctrl)), CW_EMALFORMED);
  assert_int_equal(decode_raw(shared, sizeof(shared)), CW_EMALFORMED);
  assert_int_equal(decode_raw(varint, sizeof(varint)), CW_EMALFORMED);
  assert_int_equal(decode_raw(hugevar, sizeof(hugevar)), CW_EMALFORMED);
  assert_int_equal(decode_raw(good, sizeof(good)), CW_OK);
}

static void test_decode_random(void **state) {
  (void)state;
  uint64_t x = 0x9e3779b97f4a7c15ull;
  cw_clock_snapshot *s = cw_clock_snapshot_new();
  char hdr[600], again[CW_CLOCK_HEADER_MAX + 1];
  int ok = 0;
  for (int iter = 0; iter < 20000; iter++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    size_t n = (size_t)(x % 500);
    hdr[0] = '1';
    hdr[1] = '.';
    uint64_t y = x;
    for (size_t i = 0; i < n; i++) {
      y = y * 6364136223846793005ull + 1442695040888963407ull;
      /* Mostly valid base64 characters, sometimes anything. */
      hdr[2 + i] = (y >> 60) == 0 ? (char)(y >> 33) : b64[(y >> 40) & 63];
    }
    cw_status st = cw_clock_decode(hdr, n + 2, s);
    assert_true(st == CW_OK || st == CW_EMALFORMED || st == CW_ETOOBIG);
    if (st == CW_OK) {
      ok++;
      assert_int_equal(cw_clock_encode(s, again, sizeof(again), NULL), CW_OK);
    }
  }
  /* Random payloads built from a valid prefix. */
  uint8_t pl[64];
  for (int iter = 0; iter < 20000; iter++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    size_t n = 1 + (size_t)(x % 40);
    pl[0] = (uint8_t)(1 + (x >> 8) % 3);
    for (size_t i = 1; i < n; i++)
      pl[i] = (uint8_t)(x >> (i % 7 * 8)) ^ (uint8_t)(i * 37);
    cw_status st = decode_raw(pl, n);
    assert_true(st == CW_OK || st == CW_EMALFORMED || st == CW_ETOOBIG);
  }
  (void)ok;
  cw_clock_snapshot_free(s);
}

/* With 100 actors in the clock, the header keeps 64, the caller first and
 * then the most recently created. */
static void test_cap_most_recent_first(void **state) {
  (void)state;
  char path[512];
  tu_path(path, sizeof(path), "snap");
  assert_int_equal(tu_start(path, 0, 0), CW_OK);
  for (int i = 0; i < 100; i++) {
    assert_int_equal(cw_task_begin("t", NULL), CW_OK);
    cw_annotate_release("fan-in");
    assert_int_equal(cw_task_end(), CW_OK);
  }
  cw_annotate_acquire("fan-in");
  cw_clock_snapshot *s = cw_clock_snapshot_new();
  assert_int_equal(cw_clock_current(s), CW_OK);
  assert_int_equal(cw_clock_snapshot_len(s), 101);
  char hdr[CW_CLOCK_HEADER_MAX + 1];
  assert_int_equal(cw_clock_encode(s, hdr, sizeof(hdr), NULL), CW_OK);
  assert_true(strlen(hdr) <= CW_CLOCK_HEADER_MAX);
  cw_clock_snapshot *d = cw_clock_snapshot_new();
  assert_int_equal(cw_clock_decode(hdr, strlen(hdr), d), CW_OK);
  assert_int_equal(cw_clock_snapshot_len(d), CW_CLOCK_MAX_ENTRIES);
  /* Re-encode the decoded snapshot with a name list we can inspect: join
   * it into a task and look at the trace. */
  assert_int_equal(cw_task_begin("check", d), CW_OK);
  CW_READ("probe");
  assert_int_equal(cw_task_end(), CW_OK);
  cw_clock_snapshot_free(s);
  cw_clock_snapshot_free(d);
  cw_replay rp;
  assert_int_equal(tu_finish(path, &rp), 0);
  const cw_rp_event *probe = cw__replay_find(&rp, CW_EV_READ, "probe", -1, 0);
  assert_non_null(probe);
  int main_actor = cw__replay_actor(&rp, "/main");
  assert_true(main_actor >= 0);
  assert_true(cw__replay_component(probe, (uint32_t)main_actor) > 0);
  /* The newest tasks are in, the oldest are not. */
  assert_true(cw__replay_component(
                  probe, (uint32_t)cw__replay_actor(&rp, "/task-100")) > 0);
  assert_int_equal(
      cw__replay_component(probe, (uint32_t)cw__replay_actor(&rp, "/task-1")),
      0);
  cw__replay_free(&rp);
}

static uint64_t live_actors(void) {
  cw_stats st;
  cw_stats_get(&st);
  return st.live_actors;
}

/* The kept entries are the 64 newest that have a usable name. With a
 * 120-byte "service#instance/" prefix, "task-100" and later make names
 * over 127 bytes, which a header cannot carry: of 136 tasks, the header
 * keeps main and task-99 ... task-37 (the selection goes on past the
 * unusable newest ones). */
static void test_cap_skips_unusable_names(void **state) {
  (void)state;
  char path[512], svc[64], inst[64];
  tu_path(path, sizeof(path), "snapname");
  tu_clear_env();
  memset(svc, 's', 60);
  svc[60] = 0;
  memset(inst, 'i', 58);
  inst[58] = 0;
  cw_config cfg;
  cw_config_init(&cfg);
  cfg.service = svc;
  cfg.instance = inst;
  cfg.trace_file = path;
  assert_int_equal(cw_init(&cfg), CW_OK);
  for (int i = 0; i < 136; i++) {
    assert_int_equal(cw_task_begin("t", NULL), CW_OK);
    cw_annotate_release("fan-in");
    assert_int_equal(cw_task_end(), CW_OK);
  }
  cw_annotate_acquire("fan-in");
  cw_clock_snapshot *s = cw_clock_snapshot_new();
  assert_int_equal(cw_clock_current(s), CW_OK);
  assert_int_equal(cw_clock_snapshot_len(s), 137);
  char hdr[CW_CLOCK_HEADER_MAX + 1];
  assert_int_equal(cw_clock_encode(s, hdr, sizeof(hdr), NULL), CW_OK);
  cw_clock_snapshot *d = cw_clock_snapshot_new();
  assert_int_equal(cw_clock_decode(hdr, strlen(hdr), d), CW_OK);
  assert_int_equal(cw_clock_snapshot_len(d), CW_CLOCK_MAX_ENTRIES);
  assert_int_equal(cw_task_begin("check", d), CW_OK);
  CW_READ("probe");
  assert_int_equal(cw_task_end(), CW_OK);
  cw_clock_snapshot_free(s);
  cw_clock_snapshot_free(d);
  cw_replay rp;
  assert_int_equal(tu_finish(path, &rp), 0);
  const cw_rp_event *probe = cw__replay_find(&rp, CW_EV_READ, "probe", -1, 0);
  assert_non_null(probe);
  const char *in[] = {"/main", "/task-99", "/task-60", "/task-37"};
  const char *out[] = {"/task-36", "/task-1", "/task-100", "/task-136"};
  for (int i = 0; i < 4; i++) {
    int a = cw__replay_actor(&rp, in[i]);
    int b = cw__replay_actor(&rp, out[i]);
    assert_true(a >= 0 && b >= 0);
    assert_true(cw__replay_component(probe, (uint32_t)a) > 0);
    assert_int_equal(cw__replay_component(probe, (uint32_t)b), 0);
  }
  cw__replay_free(&rp);
}

/* A received clock that names this process's own actors (a round trip
 * through another service) maps them to those actors: no remote twin is
 * made, the ordering holds, and names of actors it no longer has are
 * dropped. Other services' names still become remote actors. */
static void test_decode_maps_local_actors(void **state) {
  (void)state;
  char path[512];
  tu_path(path, sizeof(path), "snaplocal");
  assert_int_equal(tu_start(path, 0, 0), CW_OK);
  CW_WRITE("before");
  cw_clock_snapshot *s = cw_clock_snapshot_new();
  assert_int_equal(cw_clock_current(s), CW_OK);
  char hdr[CW_CLOCK_HEADER_MAX + 1];
  assert_int_equal(cw_clock_encode(s, hdr, sizeof(hdr), NULL), CW_OK);
  cw_clock_snapshot *d = cw_clock_snapshot_new();
  assert_int_equal(cw_clock_decode(hdr, strlen(hdr), d), CW_OK);
  assert_int_equal(cw_clock_snapshot_len(d), 1);
  uint64_t live = live_actors();
  assert_int_equal(cw_task_begin("back", d), CW_OK);
  CW_READ("after");
  assert_int_equal(live_actors(), live + 1); /* the task, no twin */
  assert_int_equal(cw_task_end(), CW_OK);
  /* Our prefix with an unknown actor is dropped; another service's actor
   * becomes a remote one. */
  const char *names[] = {"sdktest#inst/nobody", "other#x/t1"};
  const uint64_t ctrs[] = {5, 7};
  assert_int_equal(cw_clock_snapshot_set(d, names, ctrs, 2), CW_OK);
  live = live_actors();
  assert_int_equal(cw_clock_join(d, "mixed"), CW_OK);
  assert_int_equal(live_actors(), live + 1);
  cw_clock_snapshot_free(s);
  cw_clock_snapshot_free(d);
  cw_replay rp;
  assert_int_equal(tu_finish(path, &rp), 0);
  const cw_rp_event *w = cw__replay_find(&rp, CW_EV_WRITE, "before", -1, 0);
  const cw_rp_event *r = cw__replay_find(&rp, CW_EV_READ, "after", -1, 0);
  assert_non_null(w);
  assert_non_null(r);
  assert_true(cw__replay_hb(w, r));
  assert_true(cw__replay_actor(&rp, "/nobody") < 0);
  assert_true(cw__replay_actor(&rp, "other#x/t1") >= 0);
  cw__replay_free(&rp);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cap_skips_unusable_names),
      cmocka_unit_test(test_decode_maps_local_actors),
      cmocka_unit_test(test_set_encode_decode),
      cmocka_unit_test(test_set_rejects),
      cmocka_unit_test(test_decode_malformed),
      cmocka_unit_test(test_decode_random),
      cmocka_unit_test(test_cap_most_recent_first),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
