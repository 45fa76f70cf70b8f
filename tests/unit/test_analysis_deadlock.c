/*
 * test_analysis_deadlock.c: potential deadlocks (lock-order cycles with the
 * gate-lock and ordering filters) and actual deadlocks (wait-for cycles).
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "test_analysis_util.h"

static cw_engine *run(const char *text, cw_summary *s) {
  cw_engine *e = cw__engine_new(NULL);
  assert_int_equal(tstd_feed(e, text), 0);
  cw__engine_flush(e);
  cw__engine_summary(e, s);
  return e;
}

static uint64_t potential(const char *text) {
  cw_summary s;
  cw_engine *e = run(text, &s);
  cw__engine_free(e);
  return s.potential_deadlocks;
}

#define FORK2 "T0|fork(T1)|1\nT0|fork(T2)|2\n"
#define T1_AB                                                                  \
  "T1|acq(A)|10\nT1|req(B)|11\nT1|acq(B)|11\nT1|rel(B)|12\n"                   \
  "T1|rel(A)|13\n"
#define T2_BA                                                                  \
  "T2|acq(B)|20\nT2|req(A)|21\nT2|acq(A)|21\nT2|rel(A)|22\n"                   \
  "T2|rel(B)|23\n"

static void test_abba_report(void **st) {
  (void)st;
  cw_summary s;
  cw_engine *e = run(FORK2 T1_AB T2_BA, &s);
  assert_int_equal(s.potential_deadlocks, 1);
  assert_int_equal(s.deadlocks, 0);
  const cw_deadlock *d;
  assert_int_equal(cw__engine_potential_deadlocks(e, &d), 1);
  assert_int_equal(d[0].n, 2);
  assert_int_equal(d[0].actual, 0);
  /* Every edge: actor, held, requested, location; edges chain. */
  for (uint32_t i = 0; i < 2; i++) {
    const cw_cycle_edge *x = &d[0].edges[i], *y = &d[0].edges[(i + 1) % 2];
    assert_int_equal(x->requested, y->held);
    const char *actor = cw__engine_str(e, cw__engine_actor_name(e, x->actor));
    if (!strcmp(actor, "T1")) {
      assert_string_equal(cw__engine_str(e, x->held), "A");
      assert_string_equal(cw__engine_str(e, x->requested), "B");
      assert_string_equal(cw__engine_str(e, x->loc), "11");
    } else {
      assert_string_equal(actor, "T2");
      assert_string_equal(cw__engine_str(e, x->held), "B");
      assert_string_equal(cw__engine_str(e, x->requested), "A");
      assert_string_equal(cw__engine_str(e, x->loc), "21");
    }
  }
  cw__engine_free(e);
}

/* Acquire without a preceding request also records the order. */
static void test_abba_without_req(void **st) {
  (void)st;
  assert_int_equal(potential(FORK2 "T1|acq(A)|1\nT1|acq(B)|2\nT1|rel(B)|3\n"
                                   "T1|rel(A)|4\nT2|acq(B)|5\nT2|acq(A)|6\n"
                                   "T2|rel(A)|7\nT2|rel(B)|8\n"),
                   1);
}

static void test_gate_lock(void **st) {
  (void)st;
  assert_int_equal(potential(FORK2 "T1|acq(G)|1\n" T1_AB "T1|rel(G)|2\n"
                                   "T2|acq(G)|3\n" T2_BA "T2|rel(G)|4\n"),
                   0);
  /* A gate taken in read mode by both is no gate. */
  assert_int_equal(potential(FORK2 "T1|racq(G)|1\n" T1_AB "T1|rel(G)|2\n"
                                   "T2|racq(G)|3\n" T2_BA "T2|rel(G)|4\n"),
                   1);
}

static void test_joined_before_started(void **st) {
  (void)st;
  assert_int_equal(
      potential("T0|fork(T1)|1\n" T1_AB "T0|join(T1)|2\nT0|fork(T2)|3\n" T2_BA),
      0);
  /* Without the join the two are concurrent. */
  assert_int_equal(potential("T0|fork(T1)|1\n" T1_AB "T0|fork(T2)|3\n" T2_BA),
                   1);
}

static void test_handed_off(void **st) {
  (void)st;
  /* Through an annotation. */
  assert_int_equal(potential(FORK2 T1_AB "T1|arel(k)|5\nT2|aacq(k)|6\n" T2_BA),
                   0);
  /* Through a third lock that is not part of the cycle. */
  assert_int_equal(potential(FORK2 T1_AB "T1|acq(C)|5\nT1|rel(C)|6\n"
                                         "T2|acq(C)|7\nT2|rel(C)|8\n" T2_BA),
                   0);
  /* The cycle's own lock edges do not count as ordering: abba.std itself
   * has T1's release of B before T2's acquire of B. */
  assert_int_equal(potential(FORK2 T1_AB T2_BA), 1);
}

static void test_longer_cycles(void **st) {
  (void)st;
  const char *three = "T0|fork(T1)|1\nT0|fork(T2)|2\nT0|fork(T3)|3\n"
                      "T1|acq(A)|a\nT1|acq(B)|b\nT1|rel(B)|c\nT1|rel(A)|d\n"
                      "T2|acq(B)|a\nT2|acq(C)|b\nT2|rel(C)|c\nT2|rel(B)|d\n"
                      "T3|acq(C)|a\nT3|acq(A)|b\nT3|rel(A)|c\nT3|rel(C)|d\n";
  cw_summary s;
  cw_engine *e = run(three, &s);
  assert_int_equal(s.potential_deadlocks, 1);
  const cw_deadlock *d;
  assert_int_equal(cw__engine_potential_deadlocks(e, &d), 1);
  assert_int_equal(d[0].n, 3);
  for (uint32_t i = 0; i < 3; i++)
    assert_int_equal(d[0].edges[i].requested, d[0].edges[(i + 1) % 3].held);
  cw__engine_free(e);
  const char *four =
      "T0|fork(T1)|1\nT0|fork(T2)|2\nT0|fork(T3)|3\nT0|fork(T4)|4\n"
      "T1|acq(A)|a\nT1|acq(B)|b\nT1|rel(B)|c\nT1|rel(A)|d\n"
      "T2|acq(B)|a\nT2|acq(C)|b\nT2|rel(C)|c\nT2|rel(B)|d\n"
      "T3|acq(C)|a\nT3|acq(D)|b\nT3|rel(D)|c\nT3|rel(C)|d\n"
      "T4|acq(D)|a\nT4|acq(A)|b\nT4|rel(A)|c\nT4|rel(D)|d\n";
  e = run(four, &s);
  assert_int_equal(s.potential_deadlocks, 1);
  assert_int_equal(cw__engine_potential_deadlocks(e, &d), 1);
  assert_int_equal(d[0].n, 4);
  cw__engine_free(e);
  /* A cycle needs distinct actors: one thread doing all of it is fine. */
  assert_int_equal(potential("T1|acq(A)|1\nT1|acq(B)|2\nT1|rel(B)|3\n"
                             "T1|rel(A)|4\nT1|acq(B)|5\nT1|acq(A)|6\n"
                             "T1|rel(A)|7\nT1|rel(B)|8\n"),
                   0);
}

static void test_distinct_up_to_rotation(void **st) {
  (void)st;
  /* The same A/B cycle by two more pairs of threads is still one cycle;
   * a second inversion (C/D) is another. */
  const char *t =
      "T0|fork(T1)|1\nT0|fork(T2)|2\nT0|fork(T3)|3\nT0|fork(T4)|4\n" T1_AB T2_BA
      "T3|acq(B)|30\nT3|acq(A)|31\nT3|rel(A)|32\nT3|rel(B)|33\n"
      "T4|acq(A)|40\nT4|acq(B)|41\nT4|rel(B)|42\nT4|rel(A)|43\n"
      "T3|acq(C)|34\nT3|acq(D)|35\nT3|rel(D)|36\nT3|rel(C)|37\n"
      "T4|acq(D)|44\nT4|acq(C)|45\nT4|rel(C)|46\nT4|rel(D)|47\n";
  assert_int_equal(potential(t), 2);
}

static void test_modes_and_trylock(void **st) {
  (void)st;
  /* Read requests of read-held locks do not block. */
  assert_int_equal(potential(FORK2 "T1|racq(A)|1\nT1|racq(B)|2\nT1|rel(B)|3\n"
                                   "T1|rel(A)|4\nT2|racq(B)|5\nT2|racq(A)|6\n"
                                   "T2|rel(A)|7\nT2|rel(B)|8\n"),
                   0);
  /* A write request of a read-held lock does. */
  assert_int_equal(potential(FORK2 "T1|racq(A)|1\nT1|acq(B)|2\nT1|rel(B)|3\n"
                                   "T1|rel(A)|4\nT2|racq(B)|5\nT2|acq(A)|6\n"
                                   "T2|rel(A)|7\nT2|rel(B)|8\n"),
                   1);
  /* A trylock never waits, so it adds no lock order. */
  assert_int_equal(potential(FORK2 T1_AB
                             "T2|acq(B)|5\nT2|tacq(A)|6\nT2|rel(A)|7\n"
                             "T2|rel(B)|8\n"),
                   0);
}

/* ---- Actual deadlocks --------------------------------------------------- */

static void test_actual_deadlock(void **st) {
  (void)st;
  cw_summary s;
  cw_engine *e = run(FORK2 "T1|acq(A)|10\nT2|acq(B)|20\n"
                           "T1|req(B)|11\nT2|req(A)|21\n",
                     &s);
  assert_int_equal(s.deadlocks, 1);
  assert_int_equal(s.active_deadlocks, 1);
  assert_int_equal(s.potential_deadlocks, 1);
  const cw_deadlock *d;
  assert_int_equal(cw__engine_deadlocks(e, &d), 1);
  assert_int_equal(d[0].actual, 1);
  assert_int_equal(d[0].active, 1);
  assert_int_equal(d[0].n, 2);
  for (uint32_t i = 0; i < 2; i++) {
    const cw_cycle_edge *x = &d[0].edges[i];
    assert_int_equal(x->requested, d[0].edges[(i + 1) % 2].held);
    const char *actor = cw__engine_str(e, cw__engine_actor_name(e, x->actor));
    const char *want = !strcmp(actor, "T1") ? "B" : "A";
    assert_string_equal(cw__engine_str(e, x->requested), want);
    assert_string_equal(cw__engine_str(e, x->loc),
                        !strcmp(actor, "T1") ? "11" : "21");
  }
  cw__engine_free(e);
}

static void test_actual_deadlock_resolves(void **st) {
  (void)st;
  cw_summary s;
  /* T2 gives up (timed lock) and releases B: the cycle is broken. */
  cw_engine *e = run(FORK2 "T1|acq(A)|10\nT2|acq(B)|20\n"
                           "T1|req(B)|11\nT2|req(A)|21\nT2|rel(B)|22\n"
                           "T1|acq(B)|11\n",
                     &s);
  assert_int_equal(s.deadlocks, 1);
  assert_int_equal(s.active_deadlocks, 0);
  const cw_deadlock *d;
  assert_int_equal(cw__engine_deadlocks(e, &d), 1);
  assert_int_equal(d[0].active, 0);
  cw__engine_free(e);
}

static void test_no_actual_deadlock(void **st) {
  (void)st;
  cw_summary s;
  /* abba.std's requests find their locks free: nobody waits. */
  cw_engine *e = run(FORK2 T1_AB T2_BA, &s);
  assert_int_equal(s.deadlocks, 0);
  cw__engine_free(e);
  /* Readers do not wait for readers. */
  e = run(FORK2 "T1|racq(A)|10\nT2|racq(B)|20\n"
                "T1|rreq(B)|11\nT2|rreq(A)|21\n",
          &s);
  assert_int_equal(s.deadlocks, 0);
  cw__engine_free(e);
  /* A writer waits for readers. */
  e = run(FORK2 "T1|racq(A)|10\nT2|racq(B)|20\n"
                "T1|req(B)|11\nT2|req(A)|21\n",
          &s);
  assert_int_equal(s.deadlocks, 1);
  cw__engine_free(e);
}

static void test_actual_three_way(void **st) {
  (void)st;
  cw_summary s;
  cw_engine *e = run("T0|fork(T1)|1\nT0|fork(T2)|2\nT0|fork(T3)|3\n"
                     "T1|acq(A)|1\nT2|acq(B)|2\nT3|acq(C)|3\n"
                     "T1|req(B)|4\nT2|req(C)|5\n",
                     &s);
  assert_int_equal(s.deadlocks, 0);
  cw__engine_free(e);
  e = run("T0|fork(T1)|1\nT0|fork(T2)|2\nT0|fork(T3)|3\n"
          "T1|acq(A)|1\nT2|acq(B)|2\nT3|acq(C)|3\n"
          "T1|req(B)|4\nT2|req(C)|5\nT3|req(A)|6\n",
          &s);
  assert_int_equal(s.deadlocks, 1);
  const cw_deadlock *d;
  assert_int_equal(cw__engine_deadlocks(e, &d), 1);
  assert_int_equal(d[0].n, 3);
  cw__engine_free(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_abba_report),
      cmocka_unit_test(test_abba_without_req),
      cmocka_unit_test(test_gate_lock),
      cmocka_unit_test(test_joined_before_started),
      cmocka_unit_test(test_handed_off),
      cmocka_unit_test(test_longer_cycles),
      cmocka_unit_test(test_distinct_up_to_rotation),
      cmocka_unit_test(test_modes_and_trylock),
      cmocka_unit_test(test_actual_deadlock),
      cmocka_unit_test(test_actual_deadlock_resolves),
      cmocka_unit_test(test_no_actual_deadlock),
      cmocka_unit_test(test_actual_three_way),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
