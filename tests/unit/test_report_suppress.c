/*
 * test_report_suppress: suppression file parsing and TSan-style matching,
 * and their effect on the findings view (with the real engine).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cw_report.h"

static void test_match_rules(void **state) {
  (void)state;
  /* Unanchored: matches anywhere. */
  assert_true(cw__supp_match("balance", "account:alice.balance"));
  assert_true(cw__supp_match("alice*", "account:alice.balance"));
  assert_true(cw__supp_match("a*e.b", "account:alice.balance"));
  assert_false(cw__supp_match("bob", "account:alice.balance"));
  /* Anchors. */
  assert_true(cw__supp_match("^account:", "account:alice.balance"));
  assert_false(cw__supp_match("^alice", "account:alice.balance"));
  assert_true(cw__supp_match(".balance$", "account:alice.balance"));
  assert_false(cw__supp_match("alice$", "account:alice.balance"));
  assert_true(cw__supp_match("^22$", "22"));
  assert_false(cw__supp_match("^22$", "122"));
  assert_true(cw__supp_match("^*$", ""));
  assert_true(cw__supp_match("^b*k.c:*$", "bank.c:42"));
  assert_false(cw__supp_match("^b*k.c:*$", "bank.h:42"));
  /* Backtracking over several stars. */
  assert_true(cw__supp_match("^*a*b*c$", "xxaybbzc"));
  assert_false(cw__supp_match("^*a*b*c$", "xxaybbzcd"));
}

static void test_parse_errors(void **state) {
  (void)state;
  cw_input_error err;
  const char *ok = "# comment\n\n  race:alice  \ndeadlock:^lock_*\n";
  cw_suppressions *s = cw__supp_parse(ok, strlen(ok), "ok.supp", &err);
  assert_non_null(s);
  cw__supp_free(s);
  static const struct {
    const char *text;
    const char *msg;
  } bad[] = {
      {"race:a\nrace\n", "x.supp:2: expected race:PATTERN"},
      {"\nmutex:m\n", "x.supp:2: unknown suppression type 'mutex'"},
      {"race:   \n", "x.supp:1: empty pattern"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    s = cw__supp_parse(bad[i].text, strlen(bad[i].text), "x.supp", &err);
    assert_null(s);
    assert_non_null(strstr(err.msg, bad[i].msg));
  }
  cw__supp_free(NULL);
}

/* Two variables race; a suppression of one leaves an exact recount. */
static void test_findings_recount(void **state) {
  (void)state;
  const char *trace = "T0|fork(T1)|0\nT0|fork(T2)|0\n"
                      "T1|w(x)|a.c:1\nT2|w(x)|a.c:2\n"
                      "T1|w(y)|a.c:1\nT2|w(y)|a.c:2\nT2|r(y)|a.c:3\n";
  cw_engine *e = cw__engine_new(NULL);
  assert_non_null(e);
  cw_input_stats st;
  memset(&st, 0, sizeof st);
  assert_int_equal(cw__std_decode_buf(trace, strlen(trace), e, NULL, &st, NULL),
                   0);
  cw__engine_flush(e);
  cw_findings f;
  assert_int_equal(cw__findings_collect(&f, e, NULL, &st), 0);
  /* x: {1,2}; y: {1,2} and {1,3}. */
  assert_int_equal(f.nraces, 3);
  assert_int_equal(f.sum.racy_variables, 2);
  assert_int_equal(f.sum.racy_location_pairs, 2);
  assert_int_equal(f.suppressed, 0);
  cw__findings_free(&f);

  const char *supp = "race:^x$\n";
  cw_suppressions *s = cw__supp_parse(supp, strlen(supp), "s", NULL);
  assert_non_null(s);
  assert_int_equal(cw__findings_collect(&f, e, s, &st), 0);
  assert_int_equal(f.nraces, 2);
  assert_int_equal(f.suppressed, 1);
  assert_int_equal(f.sum.racy_variables, 1);
  assert_int_equal(f.sum.racy_location_pairs, 2);
  assert_int_equal(f.sum.race_groups, 2);
  cw__findings_free(&f);
  cw__supp_free(s);

  /* By location: a.c:3 only appears in one group of y. */
  supp = "race:a.c:3\n";
  s = cw__supp_parse(supp, strlen(supp), "s", NULL);
  assert_int_equal(cw__findings_collect(&f, e, s, &st), 0);
  assert_int_equal(f.nraces, 2);
  assert_int_equal(f.sum.racy_variables, 2);
  assert_int_equal(f.sum.racy_location_pairs, 1);
  cw__findings_free(&f);
  cw__supp_free(s);
  cw__engine_free(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_match_rules),
      cmocka_unit_test(test_parse_errors),
      cmocka_unit_test(test_findings_recount),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
