/*
 * test_input_std: the STD line parser and decoder, against a recording
 * engine stand-in.
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
#include "test_input_fake_engine.h"

static int parse(const char *s, cw_std_line *l, char *msg) {
  return cw__std_parse_line(s, strlen(s), l, msg, 200);
}

static void test_parse_ops(void **state) {
  (void)state;
  cw_std_line l;
  char msg[200];
  assert_int_equal(parse("T1|r(x)|7", &l, msg), 0);
  assert_int_equal(l.kind, CW_AE_READ);
  assert_int_equal(parse("T1|w(x)|7", &l, msg), 0);
  assert_int_equal(l.kind, CW_AE_WRITE);
  assert_int_equal(parse("T1|acq(x)|7", &l, msg), 0);
  assert_int_equal(l.kind, CW_AE_LOCK_ACQUIRE);
  assert_int_equal(parse("T1|rel(x)|7", &l, msg), 0);
  assert_int_equal(l.kind, CW_AE_LOCK_RELEASE);
  assert_int_equal(parse("T1|req(x)|7", &l, msg), 0);
  assert_int_equal(l.kind, CW_AE_LOCK_REQUEST);
  assert_int_equal(parse("T1|fork(T2)|7", &l, msg), 0);
  assert_int_equal(l.kind, CW_AE_FORK);
  assert_int_equal(parse("T1|join(T2)|7", &l, msg), 0);
  assert_int_equal(l.kind, CW_AE_JOIN);
}

static void test_parse_strips_blanks(void **state) {
  (void)state;
  cw_std_line l;
  char msg[200];
  assert_int_equal(
      parse("  T 1 \t| w ( V234.23[0] ) |  bank.go:21 \r", &l, msg), 0);
  assert_int_equal(l.kind, CW_AE_WRITE);
  assert_int_equal(l.thread_len, 3);
  assert_memory_equal(l.thread, "T 1", 3);
  assert_int_equal(l.arg_len, 10);
  assert_memory_equal(l.arg, "V234.23[0]", 10);
  assert_int_equal(l.loc_len, 10);
  assert_memory_equal(l.loc, "bank.go:21", 10);
}

static void test_parse_comments_blank(void **state) {
  (void)state;
  cw_std_line l;
  char msg[200];
  assert_int_equal(parse("# T1|r(x)|1", &l, msg), 0);
  assert_int_equal(l.kind, 0);
  assert_int_equal(parse("   \t ", &l, msg), 0);
  assert_int_equal(l.kind, 0);
  assert_int_equal(parse("", &l, msg), 0);
  assert_int_equal(l.kind, 0);
}

static void test_parse_errors(void **state) {
  (void)state;
  static const char *bad[] = {
      "T1|r(x)",      "T1 r(x) 1", "T1|r(x)|1|2", "|r(x)|1",
      "T1|r(x)| ",    "T1|r()|1",  "T1|r(x|1",    "T1|rx)|1",
      "T1|read(x)|1", "T1|(x)|1",  "T(1|r(x)|1",  "T1|r(x))|1",
      "T1|r(x)|(1)",  "T1||1",     "T1|r(a(b)|1", "T1|r(x)y|1",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cw_std_line l;
    char msg[200] = "";
    if (parse(bad[i], &l, msg) != -1)
      fail_msg("accepted malformed line '%s'", bad[i]);
    assert_true(msg[0] != '\0');
  }
}

static void test_decode_maps_events(void **state) {
  (void)state;
  const char *trace = "# comment\n"
                      "T0|fork(T1)|1\n"
                      "\n"
                      "T1|acq(m)|10\n"
                      "T1|w(x)|07\n"
                      "T1|rel(m)|12\n"
                      "T0|join(T1)|3";
  cw_engine *e = cw__engine_new(NULL);
  cw_input_stats st;
  memset(&st, 0, sizeof st);
  cw_input_error err;
  cw_input_opts o = {.name = "t.std", .service = "t.std"};
  assert_int_equal(cw__std_decode_buf(trace, strlen(trace), e, &o, &st, &err),
                   0);
  const fake_event *ev;
  size_t n = fake_events(e, &ev);
  assert_int_equal(n, 5);
  assert_int_equal(st.events, 5);
  assert_int_equal(st.lines, 7);
  assert_int_equal(ev[0].ev.kind, CW_AE_FORK);
  assert_string_equal(ev[0].actor, "T0");
  assert_string_equal(ev[0].child, "T1");
  assert_string_equal(ev[0].service, "t.std");
  assert_int_equal(ev[0].ev.seq, 2); /* line number */
  assert_int_equal(ev[1].ev.kind, CW_AE_LOCK_ACQUIRE);
  assert_string_equal(ev[1].object, "m");
  assert_int_equal(ev[2].ev.kind, CW_AE_WRITE);
  assert_string_equal(ev[2].loc, "07");
  assert_string_equal(ev[2].object, "x");
  assert_int_equal(ev[2].ev.counter, 0);
  assert_int_equal(ev[2].ev.njoins, 0);
  assert_int_equal(ev[4].ev.kind, CW_AE_JOIN);
  assert_string_equal(ev[4].child, "T1");
  assert_int_equal(ev[4].ev.seq, 7);
  assert_int_equal(fake_actors(e), 2);
  cw__engine_free(e);
}

static void test_decode_prefix_actors(void **state) {
  (void)state;
  const char *trace = "T1|w(x)|1\nT1|fork(T2)|2\n";
  cw_engine *e = cw__engine_new(NULL);
  cw_input_stats st;
  memset(&st, 0, sizeof st);
  cw_input_opts o = {.name = "a.std", .service = "a.std", .prefix_actors = 1};
  assert_int_equal(cw__std_decode_buf(trace, strlen(trace), e, &o, &st, NULL),
                   0);
  const fake_event *ev;
  assert_int_equal(fake_events(e, &ev), 2);
  assert_string_equal(ev[0].actor, "a.std/T1");
  assert_string_equal(ev[1].child, "a.std/T2");
  cw__engine_free(e);
}

static void test_decode_error_names_line(void **state) {
  (void)state;
  const char *trace = "T1|w(x)|1\n# c\n\nT1|bogus(x)|4\nT1|w(x)|5\n";
  cw_engine *e = cw__engine_new(NULL);
  cw_input_stats st;
  memset(&st, 0, sizeof st);
  cw_input_error err;
  cw_input_opts o = {.name = "bad.std"};
  assert_int_equal(cw__std_decode_buf(trace, strlen(trace), e, &o, &st, &err),
                   -1);
  assert_int_equal(err.line, 4);
  assert_non_null(strstr(err.msg, "bad.std:4: "));
  assert_non_null(strstr(err.msg, "bogus"));
  cw__engine_free(e);
}

static void test_stream_matches_buf(void **state) {
  (void)state;
  /* Enough lines to cross the stream's 1 MiB window several times. */
  size_t cap = (size_t)3 << 20, len = 0;
  char *buf = malloc(cap);
  assert_non_null(buf);
  unsigned i = 0;
  while (len + 64 < cap) {
    int n = snprintf(buf + len, cap - len, "T%u|w(v%u)|L%u\n", i % 3, i % 7,
                     i % 50);
    len += (size_t)n;
    i++;
  }
  FILE *f = fmemopen(buf, len, "r");
  assert_non_null(f);
  cw_engine *e = cw__engine_new(NULL);
  cw_input_stats st;
  memset(&st, 0, sizeof st);
  cw_input_error err;
  assert_int_equal(cw__std_decode_stream(f, e, NULL, &st, &err), 0);
  assert_int_equal(st.lines, i);
  assert_int_equal(st.events, i);
  fclose(f);
  cw__engine_free(e);
  free(buf);
}

static void test_stream_error_line_after_window(void **state) {
  (void)state;
  size_t cap = (size_t)2 << 20, len = 0;
  char *buf = malloc(cap);
  assert_non_null(buf);
  unsigned i = 0;
  while (len < ((size_t)3 << 19)) {
    len += (size_t)snprintf(buf + len, cap - len, "T|r(x)|%u\n", i++ % 10);
  }
  len += (size_t)snprintf(buf + len, cap - len, "T|r(x)\n");
  FILE *f = fmemopen(buf, len, "r");
  assert_non_null(f);
  cw_engine *e = cw__engine_new(NULL);
  cw_input_stats st;
  memset(&st, 0, sizeof st);
  cw_input_error err;
  cw_input_opts o = {.name = "big.std"};
  assert_int_equal(cw__std_decode_stream(f, e, &o, &st, &err), -1);
  assert_int_equal(err.line, i + 1);
  fclose(f);
  cw__engine_free(e);
  free(buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_ops),
      cmocka_unit_test(test_parse_strips_blanks),
      cmocka_unit_test(test_parse_comments_blank),
      cmocka_unit_test(test_parse_errors),
      cmocka_unit_test(test_decode_maps_events),
      cmocka_unit_test(test_decode_prefix_actors),
      cmocka_unit_test(test_decode_error_names_line),
      cmocka_unit_test(test_stream_matches_buf),
      cmocka_unit_test(test_stream_error_line_after_window),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
