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
  /* Neither "7" nor "bad:0" is FILE:LINE: the logical location keeps the
   * string, and the physical location (which GitHub requires) is the trace
   * (no input named here: "trace") at line 1. */
  assert_non_null(json_object_get(l, "logicalLocations"));
  assert_non_null(json_object_get(rl, "logicalLocations"));
  json_t *pl = json_object_get(l, "physicalLocation");
  assert_non_null(pl);
  assert_string_equal(json_string_value(json_object_get(
                          json_object_get(pl, "artifactLocation"), "uri")),
                      "trace");
  assert_non_null(
      json_object_get(json_object_get(rl, "physicalLocation"), "region"));
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

static json_t *sarif_of(ctx *c, const cw_report_ctx *rc, json_t **results) {
  c->f.ctx = rc;
  char *out = capture(cw__report_write_sarif, &c->f);
  json_t *j = json_loads(out, 0, NULL);
  free(out);
  assert_non_null(j);
  json_t *run = json_array_get(json_object_get(j, "runs"), 0);
  *results = json_object_get(run, "results");
  return j;
}

static const char *art_uri(json_t *loc, const char **base, json_int_t *line) {
  json_t *pl = json_object_get(loc, "physicalLocation");
  json_t *a = json_object_get(pl, "artifactLocation");
  *base = json_string_value(json_object_get(a, "uriBaseId"));
  *line = json_integer_value(
      json_object_get(json_object_get(pl, "region"), "startLine"));
  return json_string_value(json_object_get(a, "uri"));
}

/* A location that is not FILE:LINE points at the STD trace file and the
 * event's line, relative to the source root (%SRCROOT%). */
static void test_sarif_trace_fallback(void **state) {
  (void)state;
  ctx c;
  load(&c, "A|w(v)|first\nB|acq(m)|x\nB|w(v)|second\n");
  cw_report_input in = {"/repo/root/traces/t.std", 1};
  cw_report_ctx rc = {.source_root = "/repo/root", .inputs = &in, .ninputs = 1};
  json_t *results, *j = sarif_of(&c, &rc, &results);
  json_t *r = json_array_get(results, 0);
  const char *base;
  json_int_t l1, l2;
  const char *u1 =
      art_uri(json_array_get(json_object_get(r, "locations"), 0), &base, &l1);
  assert_string_equal(u1, "traces/t.std");
  assert_string_equal(base, "%SRCROOT%");
  const char *u2 = art_uri(
      json_array_get(json_object_get(r, "relatedLocations"), 0), &base, &l2);
  assert_string_equal(u2, "traces/t.std");
  /* Lines 1 and 3 of the trace, one on each side. */
  assert_true((l1 == 1 && l2 == 3) || (l1 == 3 && l2 == 1));
  json_t *ob = json_object_get(json_array_get(json_object_get(j, "runs"), 0),
                               "originalUriBaseIds");
  assert_string_equal(json_string_value(json_object_get(
                          json_object_get(ob, "%SRCROOT%"), "uri")),
                      "file:///repo/root/");
  json_decref(j);
  unload(&c);
}

/* The same findings from two checkouts (different absolute paths, same
 * repository-relative ones) give the same URIs and fingerprints, and no
 * fingerprint holds an absolute path; deadlocks have fingerprints too. */
static void test_sarif_stable_fingerprints(void **state) {
  (void)state;
  const char *roots[2] = {"/home/a/src/proj", "/tmp/ci/w/proj"};
  char *fps[2] = {NULL, NULL};
  for (int k = 0; k < 2; k++) {
    char trace[2048];
    snprintf(trace, sizeof trace,
             "T1|acq(a)|%s/x.c:1\nT1|acq(b)|%s/x.c:2\nT1|rel(b)|%s/x.c:3\n"
             "T1|rel(a)|%s/x.c:4\nT2|acq(b)|%s/y.c:1\nT2|acq(a)|%s/y.c:2\n"
             "T2|rel(a)|%s/y.c:3\nT2|rel(b)|%s/y.c:4\n"
             "T1|w(v)|%s/x.c:9\nT2|w(v)|%s/y.c:9\n",
             roots[k], roots[k], roots[k], roots[k], roots[k], roots[k],
             roots[k], roots[k], roots[k], roots[k]);
    ctx c;
    load(&c, trace);
    cw_report_ctx rc = {.source_root = roots[k]};
    json_t *results, *j = sarif_of(&c, &rc, &results);
    assert_true(json_array_size(results) >= 2);
    size_t i;
    json_t *r;
    int deadlocks = 0;
    json_array_foreach(results, i, r) {
      json_t *fp = json_object_get(r, "partialFingerprints");
      assert_true(json_object_size(fp) >= 1);
      const char *key;
      json_t *v;
      json_object_foreach(fp, key, v) {
        assert_null(strstr(json_string_value(v), roots[k]));
        assert_null(strchr(json_string_value(v), '/'));
      }
      if (!strcmp(json_string_value(json_object_get(r, "ruleId")),
                  "potential-deadlock")) {
        deadlocks++;
        assert_int_equal(
            json_array_size(json_object_get(r, "relatedLocations")), 1);
        assert_non_null(strstr(json_string_value(json_object_get(
                                   json_object_get(r, "message"), "text")),
                               "](1)"));
      }
    }
    assert_int_equal(deadlocks, 1);
    json_t *run = json_array_get(json_object_get(j, "runs"), 0);
    fps[k] = json_dumps(results, JSON_SORT_KEYS);
    /* Apart from the root, the two documents are the same. */
    (void)run;
    json_decref(j);
    unload(&c);
  }
  assert_string_equal(fps[0], fps[1]);
  free(fps[0]);
  free(fps[1]);
}

/* What does not fail the gate is <skipped>, so the report agrees with the
 * exit code; an empty input is one failing test. */
static void test_junit_gate(void **state) {
  (void)state;
  ctx c;
  load(&c, lost);
  cw_report_ctx none = {.fail_on = 0, .fail_on_set = 1};
  c.f.ctx = &none;
  assert_int_equal(cw__gate_exit(&c.f), 0);
  char *out = capture(cw__report_write_junit, &c.f);
  assert_int_equal(count(out, "<failure"), 0);
  assert_int_equal(count(out, "<skipped "), 3);
  assert_non_null(strstr(out, "failures=\"0\" errors=\"0\" skipped=\"3\""));
  assert_non_null(strstr(out, "timestamp=\""));
  assert_non_null(strstr(out, "hostname=\""));
  free(out);
  cw_report_ctx errors_only = {.fail_on = CW_FAIL_RACE_ERROR, .fail_on_set = 1};
  c.f.ctx = &errors_only;
  out = capture(cw__report_write_junit, &c.f);
  /* One write/write group fails; the two read/write ones are skipped. */
  assert_int_equal(count(out, "<failure"), 1);
  assert_int_equal(count(out, "<skipped "), 2);
  assert_int_equal(cw__gate_exit(&c.f), 1);
  free(out);
  unload(&c);

  load(&c, "");
  assert_int_equal(cw__gate_exit(&c.f), 2);
  out = capture(cw__report_write_junit, &c.f);
  assert_int_equal(count(out, "<testcase "), 1);
  assert_non_null(strstr(out, "<failure type=\"incomplete-input\" "
                              "message=\"no events were read"));
  free(out);
  out = capture(cw__report_write_text, &c.f);
  assert_non_null(strstr(out, "ERROR: causeway: no events were read"));
  free(out);
  unload(&c);
}

/* Terminal escape sequences and other control bytes from trace data are
 * shown escaped, never written raw. */
static void test_text_escapes_controls(void **state) {
  (void)state;
  ctx c;
  load(&c, "A\x1b]0;pwned\x07|w(x\x1b[2Jy\\z)|f.c:1\n"
           "B|w(x\x1b[2Jy\\z)|f.c:\xc2\x9b"
           "2\n");
  char *out = capture(cw__report_write_text, &c.f);
  assert_null(strchr(out, '\x1b'));
  assert_null(strchr(out, '\x07'));
  assert_null(strstr(out, "\xc2\x9b"));
  assert_non_null(strstr(out, "'x\\x1B[2Jy\\\\z'"));
  assert_non_null(strstr(out, "A\\x1B]0;pwned\\x07"));
  assert_non_null(strstr(out, "f.c:\\x9B2"));
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
      cmocka_unit_test(test_sarif_trace_fallback),
      cmocka_unit_test(test_sarif_stable_fingerprints),
      cmocka_unit_test(test_junit_gate),
      cmocka_unit_test(test_text_escapes_controls),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
