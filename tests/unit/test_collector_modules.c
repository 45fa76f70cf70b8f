/*
 * Unit tests of the collector's small modules: flags and environment
 * (cw_config), batch deduplication (dedup), API-key matching (auth), token
 * buckets (ratelimit), query-string parsing (query), CRC-32C, and the native
 * batch check used by ingest (native_feed).
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "crc32c.h"
#include "cw_config.h"
#include "cw_format.h"
#include "dedup.h"
#include "native_feed.h"
#include "query.h"
#include "ratelimit.h"
#include "raceway_traces.h"
#include "cw_input.h"

static int load(cw_config *c, int argc, const char **argv, char *err) {
  return cw__config_load(c, argc, (char **)argv, err, 256);
}

static void test_config_defaults_flags_env(void **state) {
  (void)state;
  static cw_config c;
  char err[256];
  unsetenv("CAUSEWAY_LISTEN");
  const char *a0[] = {"x"};
  assert_int_equal(load(&c, 1, a0, err), 0);
  assert_string_equal(c.listen_host, "127.0.0.1");
  assert_int_equal(c.listen_port, 7070);
  assert_int_equal(c.max_body, 16u << 20);
  setenv("CAUSEWAY_LISTEN", "0.0.0.0:9000", 1);
  setenv("CAUSEWAY_MAX_BODY", "2M", 1);
  setenv("CAUSEWAY_API_KEY", "a,b", 1);
  assert_int_equal(load(&c, 1, a0, err), 0);
  assert_string_equal(c.listen_host, "0.0.0.0");
  assert_int_equal(c.listen_port, 9000);
  assert_int_equal(c.max_body, 2u << 20);
  assert_int_equal(c.nkeys, 2);
  /* Flags win over the environment; --api-key replaces env keys. */
  const char *a1[] = {"x",         "--listen", "127.0.0.1:0", "--max-body=64K",
                      "--api-key", "k"};
  assert_int_equal(load(&c, 6, a1, err), 0);
  assert_int_equal(c.listen_port, 0);
  assert_int_equal(c.max_body, 64u << 10);
  assert_int_equal(c.nkeys, 1);
  assert_string_equal(c.keys[0], "k");
  unsetenv("CAUSEWAY_LISTEN");
  unsetenv("CAUSEWAY_MAX_BODY");
  unsetenv("CAUSEWAY_API_KEY");
  const char *bad[][3] = {
      {"x", "--listen", "nocolon"}, {"x", "--listen", "h:99999"},
      {"x", "--max-body", "12Q"},   {"x", "--rate-limit", "-1"},
      {"x", "--bogus", "1"},        {"x", "--threads", "abc"}};
  for (size_t i = 0; i < 6; i++) {
    err[0] = '\0';
    assert_int_equal(load(&c, 3, bad[i], err), -1);
    assert_true(strlen(err) > 0);
  }
  const char *a2[] = {"x", "--data-dir"};
  assert_int_equal(load(&c, 2, a2, err), -1);
  assert_non_null(strstr(cw__config_usage(), "--api-keys-file"));
}

/* Keys that were asked for but hold none refuse to start (issue 12, 3):
 * --api-key "", --api-key ",", an empty or comment-only keys file, and a
 * set but empty CAUSEWAY_API_KEY. Leaving them out still runs open. */
static void test_config_empty_keys_refused(void **state) {
  (void)state;
  static cw_config c;
  char err[256];
  char path[] = "/tmp/cw-keys-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "# none\n\n", 9), 9);
  close(fd);
  const char *cases[][3] = {{"x", "--api-key", ""},
                            {"x", "--api-key", ","},
                            {"x", "--api-key", " , "},
                            {"x", "--api-keys-file", path}};
  for (size_t i = 0; i < 4; i++) {
    err[0] = '\0';
    assert_int_equal(load(&c, 3, cases[i], err), -1);
    assert_non_null(strstr(err, "refusing to start"));
  }
  const char *a1[] = {"x", "--api-key="};
  assert_int_equal(load(&c, 2, a1, err), -1);
  const char *a0[] = {"x"};
  setenv("CAUSEWAY_API_KEY", "", 1);
  assert_int_equal(load(&c, 1, a0, err), -1);
  setenv("CAUSEWAY_API_KEY", ",", 1);
  assert_int_equal(load(&c, 1, a0, err), -1);
  /* A flag with a key replaces an empty variable. */
  const char *a2[] = {"x", "--api-key", "k"};
  assert_int_equal(load(&c, 3, a2, err), 0);
  assert_int_equal(c.nkeys, 1);
  unsetenv("CAUSEWAY_API_KEY");
  assert_int_equal(load(&c, 1, a0, err), 0);
  assert_int_equal(c.nkeys, 0);
  unlink(path);
  assert_true(cw__config_is_loopback("127.0.0.1"));
  assert_true(cw__config_is_loopback("localhost"));
  assert_false(cw__config_is_loopback("0.0.0.0"));
  assert_false(cw__config_is_loopback("10.1.2.3"));
}

static void test_config_keys_file(void **state) {
  (void)state;
  char path[] = "/tmp/cw-keys-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  const char *text = "# comment\nkey-one\n\n  key-two  \r\n";
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  static cw_config c;
  char err[256];
  const char *a[] = {"x", "--api-keys-file", path};
  assert_int_equal(load(&c, 3, a, err), 0);
  assert_int_equal(c.nkeys, 2);
  assert_string_equal(c.keys[0], "key-one");
  assert_string_equal(c.keys[1], "key-two");
  unlink(path);
  const char *b[] = {"x", "--api-keys-file", "/nonexistent/keys"};
  assert_int_equal(load(&c, 3, b, err), -1);
}

static void test_dedup(void **state) {
  (void)state;
  cw_dedup *d = cw__dedup_new(4);
  uint8_t s1[16] = {1}, s2[16] = {2};
  assert_int_equal(cw__dedup_reserve(d, s1, 0), CW_DEDUP_NEW);
  assert_int_equal(cw__dedup_reserve(d, s1, 0), CW_DEDUP_IN_FLIGHT);
  cw__dedup_finish(d, s1, 0, 1);
  assert_int_equal(cw__dedup_reserve(d, s1, 0), CW_DEDUP_SEEN);
  /* A failed store forgets the reservation: the retry is new. */
  assert_int_equal(cw__dedup_reserve(d, s1, 1), CW_DEDUP_NEW);
  cw__dedup_finish(d, s1, 1, 0);
  assert_int_equal(cw__dedup_reserve(d, s1, 1), CW_DEDUP_NEW);
  cw__dedup_finish(d, s1, 1, 1);
  /* Out of order inside the window, and streams are independent. */
  assert_int_equal(cw__dedup_mark(d, s1, 10), 0);
  assert_int_equal(cw__dedup_reserve(d, s1, 5), CW_DEDUP_NEW);
  cw__dedup_finish(d, s1, 5, 1);
  assert_int_equal(cw__dedup_reserve(d, s1, 5), CW_DEDUP_SEEN);
  assert_int_equal(cw__dedup_reserve(d, s1, 7), CW_DEDUP_NEW);
  cw__dedup_finish(d, s1, 7, 0);
  assert_int_equal(cw__dedup_reserve(d, s2, 5), CW_DEDUP_NEW);
  cw__dedup_finish(d, s2, 5, 1);
  assert_int_equal(cw__dedup_mark(d, s1, 10), 1);
  /* Far behind the window counts as seen. */
  assert_int_equal(cw__dedup_mark(d, s1, 10 + CW_DEDUP_WINDOW + 5), 0);
  assert_int_equal(cw__dedup_reserve(d, s1, 6), CW_DEDUP_SEEN);
  /* The stream cap bounds memory. */
  for (uint8_t i = 10; i < 30; i++) {
    uint8_t s[16] = {i};
    cw__dedup_mark(d, s, 0);
  }
  assert_true(cw__dedup_streams(d) <= 4);
  cw__dedup_free(d);
}

static void test_auth(void **state) {
  (void)state;
  static char keys[3][256];
  snprintf(keys[0], 256, "alpha");
  snprintf(keys[1], 256, "beta-key");
  snprintf(keys[2], 256, "gamma");
  size_t n;
  const char *k = cw__auth_presented("Bearer  beta-key ", NULL, &n);
  assert_int_equal(n, 8);
  assert_int_equal(cw__auth_match((const char(*)[256])keys, 3, k, n), 1);
  k = cw__auth_presented("bearer gamma", NULL, &n);
  assert_int_equal(cw__auth_match((const char(*)[256])keys, 3, k, n), 2);
  k = cw__auth_presented("Bearer x", "alpha", &n);
  assert_int_equal(cw__auth_match((const char(*)[256])keys, 3, k, n), 0);
  assert_null(cw__auth_presented("Basic alpha", NULL, &n));
  assert_null(cw__auth_presented("Bearer   ", NULL, &n));
  assert_null(cw__auth_presented(NULL, NULL, &n));
  const char *wrong[] = {"alph", "alphaa", "Alpha", "beta-ke", "", "gamm\x00"};
  for (size_t i = 0; i < 6; i++)
    assert_int_equal(
        cw__auth_match((const char(*)[256])keys, 3, wrong[i], strlen(wrong[i])),
        -1);
  static char big[400];
  memset(big, 'a', sizeof big - 1);
  assert_int_equal(
      cw__auth_match((const char(*)[256])keys, 3, big, strlen(big)), -1);
}

static void test_ratelimit(void **state) {
  (void)state;
  cw_ratelimit *r = cw__ratelimit_new(1.0, 3, 16);
  double t = 100.0;
  for (int i = 0; i < 3; i++)
    assert_int_equal(cw__ratelimit_take(r, "a", 1, t), 0);
  int wait = cw__ratelimit_take(r, "a", 1, t);
  assert_int_equal(wait, 1);
  assert_int_equal(cw__ratelimit_take(r, "b", 1, t), 0);
  assert_int_equal(cw__ratelimit_take(r, "a", 1, t + 1.01), 0);
  assert_true(cw__ratelimit_take(r, "a", 1, t + 1.02) >= 1);
  cw__ratelimit_free(r);
  /* A full table evicts the least recently seen client, never the one
   * being limited (issue 12: it used to reset every bucket). */
  r = cw__ratelimit_new(1.0, 2, 16);
  assert_int_equal(cw__ratelimit_take(r, "hot", 3, 100), 0);
  assert_int_equal(cw__ratelimit_take(r, "hot", 3, 100), 0);
  assert_true(cw__ratelimit_take(r, "hot", 3, 100) >= 1);
  for (int i = 0; i < 1000; i++) {
    char k[16];
    int n = snprintf(k, sizeof k, "c%d", i);
    cw__ratelimit_take(r, k, (size_t)n, 100 + i * 1e-4);
    /* "hot" is seen again and again: still limited, never forgiven. */
    if (i % 8 == 0)
      assert_true(cw__ratelimit_take(r, "hot", 3, 100 + i * 1e-4) >= 1);
  }
  /* The most recent clients are still there with their spent tokens. */
  assert_int_equal(cw__ratelimit_take(r, "c999", 4, 100.1), 0);
  assert_true(cw__ratelimit_take(r, "c999", 4, 100.1) >= 1);
  cw__ratelimit_free(r);
  cw_ratelimit *off = cw__ratelimit_new(0, 0, 16);
  for (int i = 0; i < 100; i++)
    assert_int_equal(cw__ratelimit_take(off, "a", 1, t), 0);
  cw__ratelimit_free(off);
}

static void test_query_parse(void **state) {
  (void)state;
  cw_query q;
  char msg[128];
  assert_int_equal(cw__query_parse(NULL, &q, msg, sizeof msg), 0);
  assert_int_equal(q.limit, 100);
  assert_int_equal(cw__query_parse("offset=5&limit=7&variable=a%2Eb+c&"
                                   "severity=error&contended=1&x=y",
                                   &q, msg, sizeof msg),
                   0);
  assert_int_equal(q.offset, 5);
  assert_int_equal(q.limit, 7);
  assert_string_equal(q.variable, "a.b c");
  assert_int_equal(q.severity, 2);
  assert_int_equal(q.contended_only, 1);
  const char *bad[] = {"limit=0",    "limit=1001",  "offset=-1",
                       "variable=%", "variable=%4", "variable=%00",
                       "=x",         "severity=x"};
  for (size_t i = 0; i < 8; i++)
    assert_int_equal(cw__query_parse(bad[i], &q, msg, sizeof msg), -1);
}

static void test_crc32c(void **state) {
  (void)state;
  /* The standard check value of CRC-32C. */
  assert_int_equal(cw__crc32c(0, "123456789", 9), 0xE3069283u);
  uint32_t part = cw__crc32c(0, "12345", 5);
  assert_int_equal(cw__crc32c(part, "6789", 4), 0xE3069283u);
  assert_int_equal(cw__crc32c(0, "", 0), 0);
}

static void test_native_check(void **state) {
  (void)state;
  cw_batch_writer *w = cw__bw_new(1 << 16);
  cw_batch_hdr h;
  memset(&h, 0, sizeof h);
  h.version = CW_FORMAT_VERSION;
  h.stream_id[0] = 9;
  h.batch_no = 42;
  h.service = "s";
  h.service_len = 1;
  h.instance = "i";
  h.instance_len = 1;
  assert_int_equal(cw__bw_begin(w, &h), 0);
  uint32_t a = cw__bw_actor(w, "t", 1, CW_ACTOR_THREAD);
  uint32_t v = cw__bw_string(w, "v", 1);
  for (int i = 0; i < 5; i++) {
    cw_event_rec ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = i == 4 ? 200 : CW_EV_WRITE; /* one unknown kind */
    ev.actor = a;
    ev.counter = (uint64_t)i + 1;
    ev.object = v;
    assert_int_equal(cw__bw_event(w, &ev), 0);
  }
  assert_int_equal(cw__bw_gap(w, a, 7, 10, 16), 0);
  size_t len;
  const uint8_t *d = cw__bw_data(w, &len);
  cw_native_info info;
  cw_decode_error err;
  assert_int_equal(cw__native_check(d, len, 100, &info, &err), 0);
  assert_int_equal(info.batch_no, 42);
  assert_int_equal(info.stream_id[0], 9);
  assert_int_equal(info.events, 5);
  assert_int_equal(info.accepted, 4);
  assert_int_equal(info.rejected[CW_REJ_UNKNOWN_KIND], 1);
  assert_int_equal(info.gaps, 7);
  assert_int_equal(cw__native_check(d, len, 4, &info, &err), -1);
  assert_non_null(strstr(err.msg, "--max-batch-events"));
  assert_int_equal(err.code, CW_DERR_TOO_BIG);
  assert_int_equal(cw__native_check(d, len - 1, 100, &info, &err), -1);
  cw__bw_free(w);
}

static void test_rfc3339_and_uuid(void **state) {
  (void)state;
  int64_t ns;
  assert_int_equal(cw__rfc3339_parse("1970-01-01T00:00:00Z", &ns), 0);
  assert_int_equal(ns, 0);
  assert_int_equal(cw__rfc3339_parse("2025-11-04T10:15:30.101234+00:00", &ns),
                   0);
  assert_int_equal(ns, 1762251330101234000ll);
  assert_int_equal(cw__rfc3339_parse("2025-11-04T12:15:30.5+02:00", &ns), 0);
  assert_int_equal(ns, 1762251330500000000ll);
  const char *bad[] = {"2025-11-04",           "2025-13-04T10:15:30Z",
                       "2025-11-04T10:15:30",  "2025-11-04T10:15:30.Z",
                       "x025-11-04T10:15:30Z", "2025-11-04T10:15:30Zjunk",
                       "9999-12-31T23:59:59Z"};
  for (size_t i = 0; i < 7; i++)
    assert_int_equal(cw__rfc3339_parse(bad[i], &ns), -1);
  uint8_t id[16];
  assert_int_equal(cw__uuid_to_id("7c9e6679-7425-40de-944b-e07fc1f90ae7", id),
                   0);
  assert_int_equal(id[0], 0x7c);
  assert_int_equal(id[15], 0xe7);
  assert_int_equal(cw__uuid_to_id("7c9e6679-7425-40de-944b", id), -1);
  assert_int_equal(cw__uuid_to_id("zz9e6679742540de944be07fc1f90ae7", id), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_config_defaults_flags_env),
      cmocka_unit_test(test_config_keys_file),
      cmocka_unit_test(test_config_empty_keys_refused),
      cmocka_unit_test(test_dedup),
      cmocka_unit_test(test_auth),
      cmocka_unit_test(test_ratelimit),
      cmocka_unit_test(test_query_parse),
      cmocka_unit_test(test_crc32c),
      cmocka_unit_test(test_native_check),
      cmocka_unit_test(test_rfc3339_and_uuid),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
