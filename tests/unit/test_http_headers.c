/* Unit tests for the HTTP glue's header codecs: W3C traceparent, and the
 * raceway-clock header of Raceway-instrumented callers (valid, malformed,
 * oversized and hostile values). */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cw_http_int.h"

static void test_traceparent_roundtrip(void **state) {
  (void)state;
  uint8_t t[16], s[8], t2[16], s2[8];
  for (int i = 0; i < 16; i++)
    t[i] = (uint8_t)(0xa0 + i);
  for (int i = 0; i < 8; i++)
    s[i] = (uint8_t)(i + 1);
  char buf[64];
  assert_int_equal(cw_http_format_traceparent(t, s, buf, sizeof buf), CW_OK);
  assert_string_equal(buf, "00-a0a1a2a3a4a5a6a7a8a9aaabacadaeaf-"
                           "0102030405060708-01");
  assert_int_equal(cw_http_parse_traceparent(buf, strlen(buf), t2, s2), CW_OK);
  assert_memory_equal(t, t2, 16);
  assert_memory_equal(s, s2, 8);
  /* Surrounding blanks are accepted; uppercase hex is not (the
   * specification's fields are lowercase: such a header is ignored). */
  const char *sp = "  00-a0a1a2a3a4a5a6a7a8a9aaabacadaeaf-0102030405060708-00 ";
  assert_int_equal(cw_http_parse_traceparent(sp, strlen(sp), t2, s2), CW_OK);
  assert_memory_equal(t, t2, 16);
  const char *up = "00-A0A1A2A3A4A5A6A7A8A9AAABACADAEAF-0102030405060708-00";
  assert_int_equal(cw_http_parse_traceparent(up, strlen(up), t2, s2),
                   CW_EMALFORMED);
  /* Flags: sampled and random-trace-id are kept, unknown bits dropped. */
  uint8_t fl = 0;
  const char *f3 = "00-a0a1a2a3a4a5a6a7a8a9aaabacadaeaf-0102030405060708-03";
  assert_int_equal(cw_http_parse_traceparent_flags(f3, strlen(f3), t2, s2, &fl),
                   CW_OK);
  assert_int_equal(fl, 0x03);
  const char *ff = "00-a0a1a2a3a4a5a6a7a8a9aaabacadaeaf-0102030405060708-ff";
  assert_int_equal(cw_http_parse_traceparent_flags(ff, strlen(ff), t2, s2, &fl),
                   CW_OK);
  assert_int_equal(fl, 0x03);
  assert_int_equal(cw_http_format_traceparent_flags(t, s, 0x02, buf, 64),
                   CW_OK);
  assert_string_equal(buf + 53, "02");
  /* A later version may append fields. */
  const char *v1 =
      "01-a0a1a2a3a4a5a6a7a8a9aaabacadaeaf-0102030405060708-01-xyz";
  assert_int_equal(cw_http_parse_traceparent(v1, strlen(v1), t2, s2), CW_OK);
  assert_int_equal(cw_http_format_traceparent(t, s, buf, 20), CW_ETOOBIG);
}

static void test_traceparent_malformed(void **state) {
  (void)state;
  static const char *const bad[] = {
      "",
      "00",
      "00-00000000000000000000000000000000-0102030405060708-01",
      "00-a0a1a2a3a4a5a6a7a8a9aaabacadaeaf-0000000000000000-01",
      "00-a0a1a2a3a4a5a6a7a8a9aaabacadaeaf-0102030405060708-0",
      "00-a0a1a2a3a4a5a6a7a8a9aaabacadaeag-0102030405060708-01",
      "ff-a0a1a2a3a4a5a6a7a8a9aaabacadaeaf-0102030405060708-01",
      "00-a0a1a2a3a4a5a6a7a8a9aaabacadaeaf-0102030405060708-01-extra",
      "00_a0a1a2a3a4a5a6a7a8a9aaabacadaeaf-0102030405060708-01",
      "zz-a0a1a2a3a4a5a6a7a8a9aaabacadaeaf-0102030405060708-01",
      "00-a0a1a2a3a4a5a6a7a8a9aaabacadaeaf-0102030405060708-zz",
  };
  uint8_t t[16], s[8];
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (cw_http_parse_traceparent(bad[i], strlen(bad[i]), t, s) !=
        CW_EMALFORMED)
      fail_msg("accepted: '%s'", bad[i]);
}

/* The traceparent cases of the W3C trace-context test suite
 * (github.com/w3c/trace-context, test/test.py, W3C Software and Document
 * License), ported to the parser a service runs: `inherit` is 1 when the
 * suite expects the service to continue the trace id 1234...9012 (the
 * header is valid), 0 when it expects a new trace (the header is ignored). */
static void test_w3c_traceparent_cases(void **state) {
  (void)state;
  static const struct {
    const char *value;
    int inherit;
  } cases[] = {
      {"00-12345678901234567890123456789012-1234567890123456-01", 1},
      {"00-12345678901234567890123456789012-1234567890123456-01.", 0},
      {"00-12345678901234567890123456789012-1234567890123456-01-what-the-"
       "future-will-be-like",
       0},
      {"cc-12345678901234567890123456789012-1234567890123456-01", 1},
      {"cc-12345678901234567890123456789012-1234567890123456-01-what-the-"
       "future-will-be-like",
       1},
      {"cc-12345678901234567890123456789012-1234567890123456-01.what-the-"
       "future-will-be-like",
       0},
      {"ff-12345678901234567890123456789012-1234567890123456-01", 0},
      {".0-12345678901234567890123456789012-1234567890123456-01", 0},
      {"0.-12345678901234567890123456789012-1234567890123456-01", 0},
      {"000-12345678901234567890123456789012-1234567890123456-01", 0},
      {"0000-12345678901234567890123456789012-1234567890123456-01", 0},
      {"0-12345678901234567890123456789012-1234567890123456-01", 0},
      {"00-00000000000000000000000000000000-1234567890123456-01", 0},
      {"00-.2345678901234567890123456789012-1234567890123456-01", 0},
      {"00-1234567890123456789012345678901.-1234567890123456-01", 0},
      {"00-123456789012345678901234567890123-1234567890123456-01", 0},
      {"00-1234567890123456789012345678901-1234567890123456-01", 0},
      {"00-12345678901234567890123456789012-0000000000000000-01", 0},
      {"00-12345678901234567890123456789012-.234567890123456-01", 0},
      {"00-12345678901234567890123456789012-123456789012345.-01", 0},
      {"00-12345678901234567890123456789012-12345678901234567-01", 0},
      {"00-12345678901234567890123456789012-123456789012345-01", 0},
      {"00-12345678901234567890123456789012-1234567890123456-.0", 0},
      {"00-12345678901234567890123456789012-1234567890123456-0.", 0},
      {"00-12345678901234567890123456789012-1234567890123456-001", 0},
      {"00-12345678901234567890123456789012-1234567890123456-1", 0},
      {" 00-12345678901234567890123456789012-1234567890123456-01", 1},
      {"\t00-12345678901234567890123456789012-1234567890123456-01", 1},
      {"00-12345678901234567890123456789012-1234567890123456-01 ", 1},
      {"00-12345678901234567890123456789012-1234567890123456-01\t", 1},
      {"\t 00-12345678901234567890123456789012-1234567890123456-01 \t", 1},
  };
  static const uint8_t want[16] = {0x12, 0x34, 0x56, 0x78, 0x90, 0x12,
                                   0x34, 0x56, 0x78, 0x90, 0x12, 0x34,
                                   0x56, 0x78, 0x90, 0x12};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint8_t t[16], s[8];
    int ok = cw_http_parse_traceparent(cases[i].value, strlen(cases[i].value),
                                       t, s) == CW_OK &&
             memcmp(t, want, 16) == 0;
    if (ok != cases[i].inherit)
      fail_msg("'%s': %s", cases[i].value,
               ok ? "accepted, the suite ignores it" : "ignored");
  }
}

/* The tracestate cases of the same suite (and the specification's limits):
 * the values of every tracestate header in order, and what is passed on
 * (NULL: the whole tracestate is dropped). */
static void test_w3c_tracestate_cases(void **state) {
  (void)state;
  static const struct {
    const char *v[3];
    const char *out;
  } cases[] = {
      {{"foo=1,bar=2"}, "foo=1,bar=2"},
      {{""}, ""},
      {{"foo=1", ""}, "foo=1"},
      {{"", "foo=1"}, "foo=1"},
      {{"foo=1,bar=2", "rojo=1,congo=2", "baz=3"},
       "foo=1,bar=2,rojo=1,congo=2,baz=3"},
      {{"foo=1,foo=1"}, "foo=1"},
      {{"foo=1,foo=2"}, "foo=1"},
      {{"foo=1", "foo=2"}, "foo=1"},
      {{"foo=1 \t , \t bar=2, \t baz=3"}, "foo=1,bar=2,baz=3"},
      {{"foo=1,,bar=2"}, "foo=1,bar=2"},
      {{"foo@=1,bar=2"}, NULL},
      {{"@foo=1,bar=2"}, NULL},
      {{"foo@@bar=1,bar=2"}, NULL},
      {{"foo@bar@baz=1,bar=2"}, NULL},
      {{"FOO=1"}, NULL},
      {{"foo.bar=1"}, NULL},
      {{"foo=bar=baz"}, NULL},
      {{"foo="}, NULL},
      {{"foo"}, NULL},
      {{"foo=1 2"}, "foo=1 2"},
      {{"abcdefghijklmnopqrstuvwxyz0123456789_-*/="
        " !\"#$%&'()*+-./0123456789:;<>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`"
        "abcdefghijklmnopqrstuvwxyz{|}~"},
       "abcdefghijklmnopqrstuvwxyz0123456789_-*/="
       " !\"#$%&'()*+-./0123456789:;<>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`"
       "abcdefghijklmnopqrstuvwxyz{|}~"},
      {{"0abc@vendor=1"}, "0abc@vendor=1"},
      {{"abc@0vendor=1"}, NULL},
  };
  char out[CW_HTTP_TRACESTATE_MAX + 1];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    size_t n = 0;
    while (n < 3 && cases[i].v[n])
      n++;
    int rc = cw__http_tracestate_build(cases[i].v, n, out, sizeof out);
    if (!cases[i].out) {
      if (rc == 0)
        fail_msg("case %zu ('%s') kept as '%s'", i, cases[i].v[0], out);
    } else if (rc != 0 || strcmp(out, cases[i].out) != 0) {
      fail_msg("case %zu ('%s'): got %s '%s'", i, cases[i].v[0],
               rc ? "dropped" : "kept", out);
    }
  }
  /* 32 members pass, 33 drop the header. */
  char list[1024];
  size_t o = 0;
  for (int i = 0; i < 33; i++)
    o += (size_t)snprintf(list + o, sizeof list - o, "%sk%d=%d", i ? "," : "",
                          i, i);
  const char *one[1] = {list};
  assert_int_equal(cw__http_tracestate_build(one, 1, out, sizeof out), -1);
  *strrchr(list, ',') = '\0';
  assert_int_equal(cw__http_tracestate_build(one, 1, out, sizeof out), 0);
  assert_string_equal(out, list);
  /* Over 512 characters: members longer than 128 go first, then members
   * from the end, entry by entry. */
  char big[200], mid[120];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  memset(mid, 'y', sizeof mid - 1);
  mid[sizeof mid - 1] = '\0';
  char a[1400];
  snprintf(a, sizeof a, "a=%s,b=%s,c=%s,d=%s,e=%s,g=%s,f=1", mid, big, mid, mid,
           mid, mid);
  const char *vals[1] = {a};
  assert_int_equal(cw__http_tracestate_build(vals, 1, out, sizeof out), 0);
  assert_true(strlen(out) <= CW_HTTP_TRACESTATE_MAX);
  assert_null(strstr(out, "b=")); /* the long member went first */
  assert_non_null(strstr(out, "a="));
  assert_non_null(strstr(out, "c="));
  assert_non_null(strstr(out, "d="));
  assert_non_null(strstr(out, "e="));
  assert_null(strstr(out, "g=")); /* then from the end, entry by entry */
  assert_null(strstr(out, "f="));
}

static cw__rw_clock rw, back;

static void test_raceway_roundtrip(void **state) {
  (void)state;
  char buf[CW_HTTP_HEADER_MAX + 1];
  memset(&rw, 0, sizeof rw);
  for (int i = 0; i < 16; i++)
    rw.trace_id[i] = (uint8_t)(i + 1);
  rw.span_id[7] = 9;
  rw.n = 2;
  rw.actor[0] = "banking-api#web1-4242";
  rw.counter[0] = 7;
  rw.actor[1] = "ledger#2/thread-3";
  rw.counter[1] = 12;
  assert_int_equal(cw__rw_clock_encode(&rw, "banking-api", buf, sizeof buf),
                   CW_OK);
  assert_memory_equal(buf, "v1;", 3);
  assert_null(strchr(buf, '='));
  assert_int_equal(cw__rw_clock_decode(buf, strlen(buf), &back), CW_OK);
  assert_int_equal(back.has_trace, 1);
  assert_memory_equal(back.trace_id, rw.trace_id, 16);
  assert_int_equal(back.has_span, 1);
  assert_int_equal(back.n, 2);
  assert_string_equal(back.actor[0], "banking-api#web1-4242");
  assert_int_equal(back.counter[0], 7);
  assert_string_equal(back.actor[1], "ledger#2/thread-3");
  assert_int_equal(back.counter[1], 12);
}

/* base64url without padding of a JSON text, prefixed "v1;". */
static void rw_header(const char *json, char *out, size_t cap) {
  static const char a[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  size_t n = 0, len = strlen(json);
  uint32_t acc = 0;
  int bits = 0;
  n += (size_t)snprintf(out, cap, "v1;");
  for (size_t i = 0; i < len && n + 2 < cap; i++) {
    acc = (acc << 8) | (unsigned char)json[i];
    bits += 8;
    while (bits >= 6 && n + 2 < cap) {
      bits -= 6;
      out[n++] = a[(acc >> bits) & 63];
    }
  }
  if (bits > 0 && n + 2 < cap)
    out[n++] = a[(acc << (6 - bits)) & 63];
  out[n] = 0;
}

static void test_raceway_uuid_trace(void **state) {
  (void)state;
  char buf[1024];
  rw_header("{\"trace_id\":\"0af76519-16cd-43dd-8448-eb211c80319c\","
            "\"span_id\":\"b7ad6b7169203331\",\"parent_span_id\":null,"
            "\"service\":\"py\",\"instance\":\"i\",\"clock\":[]}",
            buf, sizeof buf);
  assert_int_equal(cw__rw_clock_decode(buf, strlen(buf), &back), CW_OK);
  assert_int_equal(back.has_trace, 1);
  assert_int_equal(back.trace_id[0], 0x0a);
  assert_int_equal(back.trace_id[15], 0x9c);
  assert_int_equal(back.n, 0);
}

static void test_raceway_malformed(void **state) {
  (void)state;
  char buf[2048];
  static const char *const bad_json[] = {
      "[]",
      "{\"clock\":5}",
      "{\"clock\":[[\"a\"]]}",
      "{\"clock\":[[\"a\",-1]]}",
      "{\"clock\":[[1,2]]}",
      "{\"clock\":[[\"\",2]]}",
      "{\"clock\":[[\"a\",1.5]]}",
      "{\"trace_id\":\"xyz\"}",
      "{\"trace_id\":\"00000000000000000000000000000000\"}",
      "{\"clock\":[[\"a\",1]],\"clock\":[]}",
      "{not json",
  };
  for (size_t i = 0; i < sizeof bad_json / sizeof bad_json[0]; i++) {
    rw_header(bad_json[i], buf, sizeof buf);
    if (cw__rw_clock_decode(buf, strlen(buf), &back) == CW_OK)
      fail_msg("accepted: %s", bad_json[i]);
  }
  static const char *const bad_raw[] = {"",        "v1",   "v2;e30",
                                        "v1;@@@@", "v1;e", "v1;"};
  for (size_t i = 0; i < sizeof bad_raw / sizeof bad_raw[0]; i++)
    assert_int_not_equal(
        cw__rw_clock_decode(bad_raw[i], strlen(bad_raw[i]), &back), CW_OK);
  /* Oversized values are refused before decoding. */
  static char big[CW_HTTP_HEADER_MAX + 64];
  memset(big, 'A', sizeof big - 1);
  memcpy(big, "v1;", 3);
  big[sizeof big - 1] = 0;
  assert_int_equal(cw__rw_clock_decode(big, strlen(big), &back), CW_ETOOBIG);
  /* Too many entries is "too big", not a crash. */
  char json[CW_HTTP_HEADER_MAX];
  size_t n = (size_t)snprintf(json, sizeof json, "{\"clock\":[");
  for (int i = 0; i < CW__RW_MAX_ENTRIES + 5 && n + 16 < sizeof json; i++)
    n += (size_t)snprintf(json + n, sizeof json - n, "%s[\"a%d\",1]",
                          i ? "," : "", i);
  snprintf(json + n, sizeof json - n, "]}");
  rw_header(json, buf, sizeof buf);
  assert_true(strlen(buf) < CW_HTTP_HEADER_MAX);
  assert_int_equal(cw__rw_clock_decode(buf, strlen(buf), &back), CW_ETOOBIG);
}

/* Random bytes and random mutations of valid values never crash the
 * decoders, and what they accept is well-formed. */
static void test_hostile_values(void **state) {
  (void)state;
  static char buf[CW_HTTP_HEADER_MAX + 16], valid[1024];
  uint64_t x = 0x9e3779b97f4a7c15ull;
  uint8_t t[16], sp[8];
  memset(&rw, 0, sizeof rw);
  rw.trace_id[3] = 1;
  rw.n = 1;
  rw.actor[0] = "svc#1/task-1";
  rw.counter[0] = 3;
  assert_int_equal(cw__rw_clock_encode(&rw, "svc", valid, sizeof valid), CW_OK);
  size_t vlen = strlen(valid);
  for (int round = 0; round < 4000; round++) {
    size_t len;
    if (round % 2) { /* mutate a valid raceway-clock */
      memcpy(buf, valid, vlen + 1);
      len = vlen;
      for (int k = 0; k < 3; k++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[x % len] = (char)(x >> 40);
      }
    } else { /* random bytes */
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      len = x % sizeof buf;
      for (size_t i = 0; i < len; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[i] = (char)x;
      }
    }
    if (cw__rw_clock_decode(buf, len, &back) == CW_OK) {
      assert_true(back.has_trace || back.n > 0);
      for (size_t i = 0; i < back.n; i++)
        assert_true(strlen(back.actor[i]) > 0);
    }
    if (cw_http_parse_traceparent(buf, len, t, sp) == CW_OK)
      assert_true(len >= 55);
  }
}

static void test_random_ids(void **state) {
  (void)state;
  uint8_t a[16], b[16];
  cw__http_random(a, sizeof a);
  cw__http_random(b, sizeof b);
  assert_memory_not_equal(a, b, 16);
  char hex[33];
  cw__http_hex(a, 16, hex);
  assert_int_equal(strlen(hex), 32);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_traceparent_roundtrip),
      cmocka_unit_test(test_traceparent_malformed),
      cmocka_unit_test(test_w3c_traceparent_cases),
      cmocka_unit_test(test_w3c_tracestate_cases),
      cmocka_unit_test(test_raceway_roundtrip),
      cmocka_unit_test(test_raceway_uuid_trace),
      cmocka_unit_test(test_raceway_malformed),
      cmocka_unit_test(test_hostile_values),
      cmocka_unit_test(test_random_ids),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
