/*
 * test_sdk_retire.c: bounded clocks. Many short tasks pass through one hot
 * lock; with a race window of W, ended actors are retired: RETIRE records
 * are written, the largest clock and the actor table stay bounded by the
 * window, ordering inside the window is kept, and history older than the
 * window is dropped (races with it may be missed, never invented).
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>

#include "sdk_test_util.h"

#define W 8
#define TASKS 500

static void test_window(void **state) {
  (void)state;
  char path[512];
  tu_path(path, sizeof(path), "retire");
  assert_int_equal(tu_start(path, W, 0), CW_OK);
  pthread_mutex_t hot = PTHREAD_MUTEX_INITIALIZER;
  cw_lock_name(&hot, "hot");
  cw_clock_snapshot *from = cw_clock_snapshot_new();
  CW_WRITE("origin");
  assert_int_equal(cw_clock_current(from), CW_OK);
  cw_stats st;
  uint64_t max_live = 0;
  for (int i = 0; i < TASKS; i++) {
    assert_int_equal(cw_task_begin("req", from), CW_OK);
    cw_mutex_lock(&hot);
    CW_WRITE_INT("counter", i);
    cw_mutex_unlock(&hot);
    assert_int_equal(cw_task_end(), CW_OK);
    if (i % 50 == 49) {
      /* Let the drain catch up so the bound is deterministic. */
      assert_int_equal(cw_flush(), CW_OK);
      cw_stats_get(&st);
      if (st.live_actors > max_live)
        max_live = st.live_actors;
    }
  }
  assert_int_equal(cw_flush(), CW_OK);
  cw_stats_get(&st);
  cw_clock_snapshot_free(from);
  /* Ended tasks beyond the window are retired... */
  assert_true(st.retired >= TASKS - W - 50);
  /* ...so clocks and the actor table stay bounded by the window plus the
   * ends not yet seen by the drain (at most 50 between flushes). */
  assert_true(st.max_clock <= W + 50 + 4);
  assert_true(max_live <= W + 50 + 4);
  assert_int_equal(st.dropped, 0);

  cw_replay rp;
  assert_int_equal(tu_finish(path, &rp), 0);
  assert_true(rp.retire_records > 0);
  /* The main thread's end at shutdown may retire one more. */
  assert_true(rp.retired >= st.retired && rp.retired <= st.retired + 1);
  assert_int_equal(cw__replay_count(&rp, CW_EV_WRITE, "counter", -1), TASKS);
  /* Inside the window, the lock orders consecutive tasks. */
  const cw_rp_event *prev = NULL;
  size_t checked = 0;
  for (size_t i = 0; i < rp.n; i++) {
    const cw_rp_event *e = &rp.ev[i];
    if (e->kind != CW_EV_WRITE || strcmp(e->object, "counter") != 0)
      continue;
    if (prev) {
      assert_true(cw__replay_hb(prev, e));
      checked++;
    }
    prev = e;
  }
  assert_int_equal(checked, TASKS - 1);
  /* The origin write, which every task's clock starts from, stays ordered;
   * the first task's write is outside the last task's window. */
  const cw_rp_event *origin =
      cw__replay_find(&rp, CW_EV_WRITE, "origin", -1, 0);
  const cw_rp_event *first =
      cw__replay_find(&rp, CW_EV_WRITE, "counter", -1, 0);
  const cw_rp_event *last =
      cw__replay_find(&rp, CW_EV_WRITE, "counter", -1, TASKS - 1);
  assert_true(cw__replay_hb(origin, last));
  assert_false(cw__replay_hb(first, last));
  cw__replay_free(&rp);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_window),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
