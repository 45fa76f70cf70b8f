/*
 * test_sdk_seq.c: sequence numbers are a per-thread hybrid logical clock
 * (cw__seq_next in sdk/cw_internal.h). Sequence order must follow
 * happens-before even where two CPUs' counters disagree. Each case makes
 * one thread's counter run far ahead (skew(): its next numbers jump by
 * 2^40, what a CPU whose TSC is ahead by minutes would give), then hands
 * over through one synchronisation primitive to a thread that is not
 * ahead: the receiving event must still number after the sending one. A
 * control hands over through a raw (untraced) flag only, and there the
 * receiver's numbers stay behind: without the primitive's edge nothing
 * would carry the number across, so the cases can fail.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>

#include "cw_internal.h"
#include "sdk_test_util.h"

#define AHEAD ((uint64_t)1 << 40)

static char path[512];
static cw_replay rp;
static tu_flag f1;

static int setup(void **state) {
  (void)state;
  memset(&f1, 0, sizeof(f1));
  tu_path(path, sizeof(path), "seq");
  return tu_start(path, 0, 0) == CW_OK ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  cw__replay_free(&rp);
  return 0;
}

static void finish(void) {
  assert_int_equal(tu_finish(path, &rp), 0);
}

static const cw_rp_event *ev(uint32_t kind, const char *key, const char *who) {
  int a = cw__replay_actor(&rp, who);
  assert_true(a >= 0);
  const cw_rp_event *e = cw__replay_find(&rp, kind, key, a, 0);
  assert_non_null(e);
  return e;
}

/* The calling thread's counter runs ahead from here on. */
static void skew(void) {
  CW_WRITE("registered"); /* the thread has its state */
  assert_non_null(cw__tls);
  cw__tls->seq += AHEAD;
}

static void named(const char *name) {
  assert_int_equal(cw_actor_set_name(name), CW_OK);
}

static void run2(void *(*a)(void *), void *(*b)(void *)) {
  pthread_t ta, tb;
  assert_int_equal(pthread_create(&ta, NULL, a, NULL), 0);
  assert_int_equal(pthread_create(&tb, NULL, b, NULL), 0);
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
}

/* ---- Control: a raw flag carries no number ------------------------------ */

static void *raw_ahead(void *arg) {
  (void)arg;
  named("ahead");
  skew();
  CW_WRITE("sent");
  tu_set(&f1);
  return NULL;
}

static void *raw_behind(void *arg) {
  (void)arg;
  named("behind");
  tu_wait(&f1);
  CW_READ("sent");
  return NULL;
}

static void test_raw_flag_carries_nothing(void **state) {
  (void)state;
  run2(raw_ahead, raw_behind);
  finish();
  const cw_rp_event *w = ev(CW_EV_WRITE, "sent", "/ahead");
  const cw_rp_event *r = ev(CW_EV_READ, "sent", "/behind");
  assert_false(cw__replay_hb(w, r));
  assert_true(r->seq < w->seq); /* the skew is real */
}

/* ---- Mutex ---------------------------------------------------------------- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void *mutex_ahead(void *arg) {
  (void)arg;
  named("ahead");
  skew();
  cw_mutex_lock(&mu);
  CW_WRITE("x");
  cw_mutex_unlock(&mu);
  tu_set(&f1);
  return NULL;
}

static void *mutex_behind(void *arg) {
  (void)arg;
  named("behind");
  tu_wait(&f1);
  cw_mutex_lock(&mu);
  CW_READ("x");
  cw_mutex_unlock(&mu);
  return NULL;
}

static void test_mutex(void **state) {
  (void)state;
  run2(mutex_ahead, mutex_behind);
  finish();
  char name[64];
  snprintf(name, sizeof(name), "mutex@%p", (void *)&mu);
  const cw_rp_event *rel = ev(CW_EV_LOCK_RELEASE, name, "/ahead");
  const cw_rp_event *acq = ev(CW_EV_LOCK_ACQUIRED, name, "/behind");
  const cw_rp_event *w = ev(CW_EV_WRITE, "x", "/ahead");
  const cw_rp_event *r = ev(CW_EV_READ, "x", "/behind");
  assert_true(cw__replay_hb(w, r));
  assert_true(rel->seq < acq->seq);
  assert_true(w->seq < r->seq);
}

/* ---- Rwlock: a reader's release before a writer's acquire --------------- */

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;

static void *rw_reader_ahead(void *arg) {
  (void)arg;
  named("ahead");
  skew();
  cw_rwlock_rdlock(&rw);
  CW_READ("r");
  cw_rwlock_unlock(&rw);
  tu_set(&f1);
  return NULL;
}

static void *rw_writer_behind(void *arg) {
  (void)arg;
  named("behind");
  tu_wait(&f1);
  cw_rwlock_wrlock(&rw);
  CW_WRITE("r");
  cw_rwlock_unlock(&rw);
  return NULL;
}

static void test_rwlock(void **state) {
  (void)state;
  run2(rw_reader_ahead, rw_writer_behind);
  finish();
  const cw_rp_event *rd = ev(CW_EV_READ, "r", "/ahead");
  const cw_rp_event *wr = ev(CW_EV_WRITE, "r", "/behind");
  assert_true(cw__replay_hb(rd, wr));
  assert_true(rd->seq < wr->seq);
}

/* ---- Fork and join ---------------------------------------------------------- */

static void *child_plain(void *arg) {
  (void)arg;
  CW_READ("before-fork");
  return NULL;
}

static void *child_ahead(void *arg) {
  (void)arg;
  skew();
  CW_WRITE("in-child");
  return NULL;
}

static void test_fork_and_join(void **state) {
  (void)state;
  named("parent");
  /* Fork: the parent is ahead, its child starts behind. */
  skew();
  CW_WRITE("before-fork");
  pthread_t t;
  assert_int_equal(cw_thread_create(&t, NULL, child_plain, NULL), 0);
  assert_int_equal(cw_thread_join(t, NULL), 0);
  /* Join: the child runs ahead of its parent by AHEAD more. */
  assert_int_equal(cw_thread_create(&t, NULL, child_ahead, NULL), 0);
  assert_int_equal(cw_thread_join(t, NULL), 0);
  CW_READ("in-child");
  finish();
  const cw_rp_event *w = ev(CW_EV_WRITE, "before-fork", "/parent");
  int c1 = -1, c2 = -1;
  for (size_t i = 0; i < rp.n; i++) {
    const cw_rp_event *e = &rp.ev[i];
    if (e->kind == CW_EV_READ && e->object &&
        strcmp(e->object, "before-fork") == 0)
      c1 = (int)e->actor;
    if (e->kind == CW_EV_WRITE && e->object &&
        strcmp(e->object, "in-child") == 0)
      c2 = (int)e->actor;
  }
  assert_true(c1 >= 0 && c2 >= 0);
  const cw_rp_event *r1 = cw__replay_find(&rp, CW_EV_READ, "before-fork", c1, 0);
  const cw_rp_event *w2 = cw__replay_find(&rp, CW_EV_WRITE, "in-child", c2, 0);
  const cw_rp_event *r2 = ev(CW_EV_READ, "in-child", "/parent");
  assert_true(cw__replay_hb(w, r1));
  assert_true(w->seq < r1->seq);
  assert_true(cw__replay_hb(w2, r2));
  assert_true(w2->seq < r2->seq);
}

/* ---- Annotation keys and snapshots ---------------------------------------- */

static cw_clock_snapshot *snap;

static void *ann_ahead(void *arg) {
  (void)arg;
  named("ahead");
  skew();
  CW_WRITE("m");
  cw_annotate_release("chan");
  CW_WRITE("n");
  assert_int_equal(cw_clock_current(snap), CW_OK);
  tu_set(&f1);
  return NULL;
}

static void *ann_behind(void *arg) {
  (void)arg;
  named("behind");
  tu_wait(&f1);
  cw_annotate_acquire("chan");
  CW_READ("m");
  assert_int_equal(cw_clock_join(snap, "handoff"), CW_OK);
  CW_READ("n");
  return NULL;
}

static void test_annotation_and_snapshot(void **state) {
  (void)state;
  snap = cw_clock_snapshot_new();
  assert_non_null(snap);
  run2(ann_ahead, ann_behind);
  cw_clock_snapshot_free(snap);
  finish();
  const cw_rp_event *wm = ev(CW_EV_WRITE, "m", "/ahead");
  const cw_rp_event *rm = ev(CW_EV_READ, "m", "/behind");
  const cw_rp_event *wn = ev(CW_EV_WRITE, "n", "/ahead");
  const cw_rp_event *rn = ev(CW_EV_READ, "n", "/behind");
  assert_true(cw__replay_hb(wm, rm));
  assert_true(wm->seq < rm->seq);
  assert_true(cw__replay_hb(wn, rn));
  assert_true(wn->seq < rn->seq);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_raw_flag_carries_nothing, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_mutex, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rwlock, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fork_and_join, setup, teardown),
      cmocka_unit_test_setup_teardown(test_annotation_and_snapshot, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
