/*
 * test_report_formats: the JSON, SARIF, JUnit and text writers on findings
 * of the real engine (fed from small STD traces).
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cw_report.h"

/* Lost update on alice.balance, with FILE:LINE locations; T2 holds m. */
static const char *lost =
    "T0|fork(T1)|main.c:1\nT0|fork(T2)|main.c:2\n"
    "T1|r(alice.balance)|bank.c:11\nT2|acq(m)|bank.c:20\n"
    "T2|r(alice.balance)|bank.c:21\nT1|w(alice.balance)|bank.c:12\n"
    "T2|w(alice.balance)|bank.c:22\nT2|rel(m)|bank.c:23\n";

typedef struct ctx {
  cw_engine *e;
  cw_input_stats st;
  cw_findings f;
} ctx;

static void load(ctx *c, const char *trace) {
  c->e = cw__engine_new(NULL);
  assert_non_null(c->e);
  memset(&c->st, 0, sizeof c->st);
  cw_input_opts o = {.name = "t.std", .service = "t.std"};
  assert_int_equal(
      cw__std_decode_buf(trace, strlen(trace), c->e, &o, &c->st, NULL), 0);
  cw__engine_flush(c->e);
  assert_int_equal(cw__findings_collect(&c->f, c->e, NULL, &c->st), 0);
}

static void unload(ctx *c) {
  cw__findings_free(&c->f);
  cw__engine_free(c->e);
}

/* Runs a writer into memory. @return a new NUL-terminated string. */
static char *capture(int (*w)(FILE *, const cw_findings *),
                     const cw_findings *f) {
  char *buf = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&buf, &len);
  assert_non_null(m);
  assert_int_equal(w(m, f), 0);
  fclose(m);
  return buf;
}

static void test_json_summary_keys(void **state) {
  (void)state;
  ctx c;
  load(&c, lost);
  json_t *j = cw__report_json(c.e, &c.st);
  assert_non_null(j);
  json_t *s = json_object_get(j, "summary");
  static const char *keys[] = {
      "events",         "racy_variables",      "racy_location_pairs",
      "race_groups",    "potential_deadlocks", "deadlocks",
      "contended_locks"};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    assert_true(json_is_integer(json_object_get(s, keys[i])));
  assert_int_equal(json_integer_value(json_object_get(s, "events")), 8);
  assert_int_equal(json_integer_value(json_object_get(s, "racy_variables")), 1);
  assert_int_equal(
      json_integer_value(json_object_get(s, "racy_location_pairs")), 3);
  json_t *races = json_object_get(j, "races");
  assert_int_equal(json_array_size(races), 3);
  /* The w/w group: both sides, T2 holding m. */
  int seen = 0;
  size_t i;
  json_t *r;
  json_array_foreach(races, i, r) {
    if (strcmp(json_string_value(json_object_get(r, "kind")), "write/write"))
      continue;
    seen = 1;
    assert_string_equal(json_string_value(json_object_get(r, "severity")),
                        "error");
    json_t *locs = json_object_get(r, "locations");
    assert_string_equal(json_string_value(json_array_get(locs, 0)),
                        "bank.c:12");
    assert_string_equal(json_string_value(json_array_get(locs, 1)),
                        "bank.c:22");
    json_t *a = json_object_get(r, "first"), *b = json_object_get(r, "second");
    json_t *t2 =
        !strcmp(json_string_value(json_object_get(a, "actor")), "T2") ? a : b;
    assert_string_equal(json_string_value(json_object_get(t2, "service")),
                        "t.std");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(t2, "locks"), 0)),
        "m");
  }
  assert_true(seen);
  json_decref(j);
  unload(&c);
}

static void test_sarif(void **state) {
  (void)state;
  ctx c;
  load(&c, lost);
  char *out = capture(cw__report_write_sarif, &c.f);
  json_error_t je;
  json_t *j = json_loads(out, 0, &je);
  assert_non_null(j);
  assert_string_equal(json_string_value(json_object_get(j, "version")),
                      "2.1.0");
  json_t *run = json_array_get(json_object_get(j, "runs"), 0);
  json_t *results = json_object_get(run, "results");
  assert_int_equal(json_array_size(results), 3);
  size_t i;
  json_t *r;
  json_array_foreach(results, i, r) {
    assert_string_equal(json_string_value(json_object_get(r, "ruleId")),
                        "race");
    json_t *pl = json_object_get(
        json_array_get(json_object_get(r, "locations"), 0), "physicalLocation");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(pl, "artifactLocation"), "uri")),
                        "bank.c");
    json_int_t line = json_integer_value(
        json_object_get(json_object_get(pl, "region"), "startLine"));
    assert_true(line == 11 || line == 12 || line == 21 || line == 22);
    assert_int_equal(json_array_size(json_object_get(r, "relatedLocations")),
                     1);
  }
  json_decref(j);
  free(out);
  unload(&c);
}

static void test_sarif_logical_locations(void **state) {
  (void)state;
  ctx c;
  load(&c, "A|w(v)|7\nB|w(v)|bad:0\n");
  char *out = capture(cw__report_write_sarif, &c.f);
  json_t *j = json_loads(out, 0, NULL);
  assert_non_null(j);
  json_t *r = json_array_get(
      json_object_get(json_array_get(json_object_get(j, "runs"), 0), "results"),
      0);
  json_t *l = json_array_get(json_object_get(r, "locations"), 0);
  json_t *rl = json_array_get(json_object_get(r, "relatedLocations"), 0);
  /* Neither "7" nor "bad:0" is FILE:LINE: logical locations. */
  assert_null(json_object_get(l, "physicalLocation"));
  assert_non_null(json_object_get(l, "logicalLocations"));
  assert_non_null(json_object_get(rl, "logicalLocations"));
  json_decref(j);
  free(out);
  unload(&c);
}

/* Paths below the working directory become relative URIs, other absolute
 * paths file:// URIs, and unsafe characters are percent-encoded. */
static void test_sarif_uris(void **state) {
  (void)state;
  char cwd[2048], trace[4096];
  assert_non_null(getcwd(cwd, sizeof cwd));
  snprintf(trace, sizeof trace,
           "A|w(v)|%s/src/a b.c:5\nB|w(v)|/nonexistent-root/b.c:6\n", cwd);
  ctx c;
  load(&c, trace);
  char *out = capture(cw__report_write_sarif, &c.f);
  json_t *j = json_loads(out, 0, NULL);
  assert_non_null(j);
  json_t *r = json_array_get(
      json_object_get(json_array_get(json_object_get(j, "runs"), 0), "results"),
      0);
  const char *uris[2];
  json_t *ls[2] = {json_array_get(json_object_get(r, "locations"), 0),
                   json_array_get(json_object_get(r, "relatedLocations"), 0)};
  for (int i = 0; i < 2; i++)
    uris[i] = json_string_value(json_object_get(
        json_object_get(json_object_get(ls[i], "physicalLocation"),
                        "artifactLocation"),
        "uri"));
  assert_non_null(uris[0]);
  assert_non_null(uris[1]);
  int rel = !strcmp(uris[0], "src/a%20b.c") ? 0 : 1;
  assert_string_equal(uris[rel], "src/a%20b.c");
  assert_string_equal(uris[1 - rel], "file:///nonexistent-root/b.c");
  json_decref(j);
  free(out);
  unload(&c);
}

static size_t count(const char *s, const char *needle) {
  size_t n = 0;
  for (const char *p = s; (p = strstr(p, needle)) != NULL; p++)
    n++;
  return n;
}

static void test_junit_escaping(void **state) {
  (void)state;
  ctx c;
  load(&c, "A|w(a<b>&\"c')|x.c:1\nB|w(a<b>&\"c')|x.c:2\n");
  char *out = capture(cw__report_write_junit, &c.f);
  assert_int_equal(count(out, "<testcase "), 1);
  assert_int_equal(count(out, "<failure "), 1);
  assert_non_null(strstr(out, "a&lt;b&gt;&amp;&quot;c&apos;"));
  assert_null(strstr(out, "a<b>"));
  assert_non_null(strstr(out, "failures=\"1\""));
  free(out);
  unload(&c);

  load(&c, "A|w(x)|1\nA|w(x)|2\n");
  out = capture(cw__report_write_junit, &c.f);
  assert_int_equal(count(out, "<testcase "), 1);
  assert_int_equal(count(out, "<failure"), 0);
  assert_non_null(strstr(out, "failures=\"0\""));
  free(out);
  unload(&c);
}

/* Trace names are bytes; reports must stay valid UTF-8 (JSON, SARIF, XML).
 * Latin-1 "caf\xe9" becomes "caf" U+FFFD. */
static void test_non_utf8_names(void **state) {
  (void)state;
  ctx c;
  load(&c, "A|w(caf\xe9)|x.c:1\nB|w(caf\xe9)|x.c:2\n");
  json_t *j = cw__report_json(c.e, &c.st);
  assert_non_null(j);
  json_t *r = json_array_get(json_object_get(j, "races"), 0);
  assert_string_equal(json_string_value(json_object_get(r, "variable")),
                      "caf\xef\xbf\xbd");
  json_decref(j);
  char *out = capture(cw__report_write_sarif, &c.f);
  json_t *sarif = json_loads(out, 0, NULL);
  assert_non_null(sarif);
  json_decref(sarif);
  free(out);
  out = capture(cw__report_write_junit, &c.f);
  assert_non_null(strstr(out, "caf\xef\xbf\xbd"));
  assert_null(strstr(out, "caf\xe9"));
  free(out);
  unload(&c);
}

static void test_text(void **state) {
  (void)state;
  ctx c;
  load(&c, lost);
  char *out = capture(cw__report_write_text, &c.f);
  assert_non_null(strstr(out, "WARNING: causeway: data race on "
                              "'alice.balance' (write/write, error)"));
  assert_non_null(strstr(out, "locks held: 'm'"));
  assert_non_null(strstr(out, "by actor T1 (service t.std)"));
  assert_non_null(strstr(out, "SUMMARY: causeway: 1 racy variable, 3 racy "
                              "location pairs, 3 race groups, 0 potential "
                              "deadlocks, 0 deadlocks"));
  /* The summary is the last line. */
  const char *last = strstr(out, "SUMMARY:");
  assert_int_equal(count(last, "\n"), 1);
  assert_int_equal(last[strlen(last) - 1], '\n');
  free(out);
  unload(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_json_summary_keys),
      cmocka_unit_test(test_sarif),
      cmocka_unit_test(test_sarif_logical_locations),
      cmocka_unit_test(test_sarif_uris),
      cmocka_unit_test(test_junit_escaping),
      cmocka_unit_test(test_non_utf8_names),
      cmocka_unit_test(test_text),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
