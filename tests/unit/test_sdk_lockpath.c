/*
 * test_sdk_lockpath.c: the lock events of the uncontended fast path and of
 * the contended path, and what the analysis makes of them. A lock that is
 * free records only its acquire (no TRY flag) and release; a lock that is
 * busy records a request first (mutex and rwlock, both modes). The trace
 * of an ABBA lock order (two threads, sequenced by a raw flag so that
 * nothing orders them) and of one contended lock is then checked with
 * `causeway check --report json`: one potential deadlock through the two
 * locks, no actual deadlock, and the contended lock counted with one
 * contended acquisition out of two.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <jansson.h>
#include <time.h>
#include <pthread.h>
#include <sys/wait.h>

#include "sdk_test_util.h"

static char path[512];
static cw_replay rp;
static tu_flag f0, f1, f2;

static int setup(void **state) {
  (void)state;
  memset(&f0, 0, sizeof(f0));
  memset(&f1, 0, sizeof(f1));
  memset(&f2, 0, sizeof(f2));
  tu_path(path, sizeof(path), "lockpath");
  return tu_start(path, 0, 0) == CW_OK ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  cw__replay_free(&rp);
  return 0;
}

static size_t count(uint32_t kind, const char *lock, const char *who) {
  int a = cw__replay_actor(&rp, who);
  assert_true(a >= 0);
  return cw__replay_count(&rp, kind, lock, a);
}

static const cw_rp_event *find(uint32_t kind, const char *lock, const char *who,
                               size_t nth) {
  const cw_rp_event *e =
      cw__replay_find(&rp, kind, lock, cw__replay_actor(&rp, who), nth);
  assert_non_null(e);
  return e;
}

/* ---- Uncontended: acquire and release only ----------------------------- */

static void test_uncontended(void **state) {
  (void)state;
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  pthread_rwlock_t l = PTHREAD_RWLOCK_INITIALIZER;
  assert_int_equal(cw_actor_set_name("solo"), CW_OK);
  assert_int_equal(cw_lock_name(&m, "free:m"), CW_OK);
  assert_int_equal(cw_lock_name(&l, "free:rw"), CW_OK);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(cw_mutex_lock(&m), 0);
    assert_int_equal(cw_mutex_unlock(&m), 0);
  }
  assert_int_equal(cw_rwlock_rdlock(&l), 0);
  assert_int_equal(cw_rwlock_unlock(&l), 0);
  assert_int_equal(cw_rwlock_wrlock(&l), 0);
  assert_int_equal(cw_rwlock_unlock(&l), 0);
  assert_int_equal(tu_finish(path, &rp), 0);
  assert_int_equal(count(CW_EV_LOCK_REQUEST, NULL, "/solo"), 0);
  assert_int_equal(count(CW_EV_LOCK_ACQUIRED, "free:m", "/solo"), 3);
  assert_int_equal(count(CW_EV_LOCK_RELEASE, "free:m", "/solo"), 3);
  for (size_t i = 0; i < 3; i++) {
    const cw_rp_event *a = find(CW_EV_LOCK_ACQUIRED, "free:m", "/solo", i);
    const cw_rp_event *r = find(CW_EV_LOCK_RELEASE, "free:m", "/solo", i);
    assert_false(a->flags & (CW_EVF_TRY | CW_EVF_SHARED));
    assert_int_equal(a->counter + 1, r->counter);
    assert_true(a->seq < r->seq && a->mono_ns <= r->mono_ns);
  }
  const cw_rp_event *rd = find(CW_EV_LOCK_ACQUIRED, "free:rw", "/solo", 0);
  const cw_rp_event *wr = find(CW_EV_LOCK_ACQUIRED, "free:rw", "/solo", 1);
  assert_int_equal(rd->flags & (CW_EVF_TRY | CW_EVF_SHARED), CW_EVF_SHARED);
  assert_false(wr->flags & (CW_EVF_TRY | CW_EVF_SHARED));
  assert_true(find(CW_EV_LOCK_RELEASE, "free:rw", "/solo", 0)->flags &
              CW_EVF_SHARED);
  assert_false(find(CW_EV_LOCK_RELEASE, "free:rw", "/solo", 1)->flags &
               CW_EVF_SHARED);
}

/* ---- Contended: request, acquire, release ------------------------------- */

static pthread_mutex_t cm = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t crw = PTHREAD_RWLOCK_INITIALIZER;

static void *holder(void *arg) {
  (void)arg;
  assert_int_equal(cw_actor_set_name("holder"), CW_OK);
  /* Mutex, then the rwlock held for writing while the other thread asks
   * to read it. Each time the other thread's only event is its request,
   * recorded once it found the lock busy (its start event is out before
   * f0). */
  tu_wait(&f0);
  cw_mutex_lock(&cm);
  uint64_t base = tu_events();
  tu_set(&f1);
  tu_wait_events(base);
  cw_mutex_unlock(&cm);
  tu_wait(&f2);
  cw_rwlock_wrlock(&crw);
  base = tu_events();
  tu_set(&f1);
  tu_wait_events(base);
  cw_rwlock_unlock(&crw);
  return NULL;
}

static void *waiter(void *arg) {
  (void)arg;
  assert_int_equal(cw_actor_set_name("waiter"), CW_OK);
  CW_READ("ready");
  tu_set(&f0);
  tu_wait(&f1);
  cw_mutex_lock(&cm);
  cw_mutex_unlock(&cm);
  f1.v = 0;
  tu_set(&f2);
  tu_wait(&f1);
  cw_rwlock_rdlock(&crw);
  cw_rwlock_unlock(&crw);
  return NULL;
}

static void test_contended(void **state) {
  (void)state;
  assert_int_equal(cw_lock_name(&cm, "busy:m"), CW_OK);
  assert_int_equal(cw_lock_name(&crw, "busy:rw"), CW_OK);
  pthread_t a, b;
  assert_int_equal(pthread_create(&a, NULL, holder, NULL), 0);
  assert_int_equal(pthread_create(&b, NULL, waiter, NULL), 0);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  assert_int_equal(tu_finish(path, &rp), 0);
  assert_int_equal(count(CW_EV_LOCK_REQUEST, NULL, "/holder"), 0);
  assert_int_equal(count(CW_EV_LOCK_REQUEST, "busy:m", "/waiter"), 1);
  assert_int_equal(count(CW_EV_LOCK_REQUEST, "busy:rw", "/waiter"), 1);
  const char *locks[] = {"busy:m", "busy:rw"};
  for (int i = 0; i < 2; i++) {
    const cw_rp_event *hrel = find(CW_EV_LOCK_RELEASE, locks[i], "/holder", 0);
    const cw_rp_event *req = find(CW_EV_LOCK_REQUEST, locks[i], "/waiter", 0);
    const cw_rp_event *acq = find(CW_EV_LOCK_ACQUIRED, locks[i], "/waiter", 0);
    const cw_rp_event *rel = find(CW_EV_LOCK_RELEASE, locks[i], "/waiter", 0);
    assert_true(req->seq < hrel->seq && hrel->seq < acq->seq &&
                acq->seq < rel->seq);
    assert_int_equal(req->counter + 1, acq->counter);
    assert_int_equal(acq->counter + 1, rel->counter);
    assert_false(acq->flags & CW_EVF_TRY);
    assert_int_equal(req->flags & CW_EVF_SHARED, acq->flags & CW_EVF_SHARED);
    assert_int_equal(!!(acq->flags & CW_EVF_SHARED), i == 1);
    assert_false(cw__replay_hb(hrel, req));
    assert_true(cw__replay_hb(hrel, acq));
  }
}

/* ---- Timed lock: its wait is visible, a timeout acquires nothing -------- */

static pthread_mutex_t tm = PTHREAD_MUTEX_INITIALIZER;

static void *timed_holder(void *arg) {
  (void)arg;
  assert_int_equal(cw_actor_set_name("tholder"), CW_OK);
  cw_mutex_lock(&tm);
  tu_set(&f0);
  tu_wait(&f1); /* the other thread has timed out */
  cw_mutex_unlock(&tm);
  return NULL;
}

static void test_timedlock(void **state) {
  (void)state;
  assert_int_equal(cw_lock_name(&tm, "timed:m"), CW_OK);
  assert_int_equal(cw_actor_set_name("timer"), CW_OK);
  pthread_t h;
  assert_int_equal(pthread_create(&h, NULL, timed_holder, NULL), 0);
  tu_wait(&f0);
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_nsec += 50 * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  assert_int_equal(cw_mutex_timedlock(&tm, &until), ETIMEDOUT);
  tu_set(&f1);
  pthread_join(h, NULL);
  /* Free now: acquired at once. */
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 5;
  assert_int_equal(cw_mutex_timedlock(&tm, &until), 0);
  assert_int_equal(cw_mutex_unlock(&tm), 0);
  assert_int_equal(tu_finish(path, &rp), 0);
  /* One request (the wait that timed out) and one acquire (the free lock),
   * both marked TRY so they never feed the lock-order graph. */
  assert_int_equal(count(CW_EV_LOCK_REQUEST, "timed:m", "/timer"), 1);
  assert_int_equal(count(CW_EV_LOCK_ACQUIRED, "timed:m", "/timer"), 1);
  const cw_rp_event *req = find(CW_EV_LOCK_REQUEST, "timed:m", "/timer", 0);
  const cw_rp_event *acq = find(CW_EV_LOCK_ACQUIRED, "timed:m", "/timer", 0);
  assert_true(req->flags & CW_EVF_TRY);
  assert_true(acq->flags & CW_EVF_TRY);
  const cw_rp_event *hrel = find(CW_EV_LOCK_RELEASE, "timed:m", "/tholder", 0);
  assert_true(req->seq < hrel->seq && hrel->seq < acq->seq);
}

/* ---- causeway check on an SDK trace -------------------------------------- */

static pthread_mutex_t la = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lb = PTHREAD_MUTEX_INITIALIZER;

static void *order_ab(void *arg) {
  (void)arg;
  cw_mutex_lock(&la);
  cw_mutex_lock(&lb);
  cw_mutex_unlock(&lb);
  cw_mutex_unlock(&la);
  tu_set(&f2);
  return NULL;
}

static void *order_ba(void *arg) {
  (void)arg;
  tu_wait(&f2); /* a raw flag: nothing orders the two threads */
  cw_mutex_lock(&lb);
  cw_mutex_lock(&la);
  cw_mutex_unlock(&la);
  cw_mutex_unlock(&lb);
  return NULL;
}

/* Runs `causeway check --report json` on path. @return the report. */
static json_t *check(void) {
  char cmd[1200];
  snprintf(cmd, sizeof(cmd),
           "'%s' check --report json --fail-on none --no-progress '%s'", CW_CLI,
           path);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  json_error_t je;
  json_t *j = json_loadf(p, 0, &je);
  int st = pclose(p);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  if (!j)
    fprintf(stderr, "report: %s\n", je.text);
  assert_non_null(j);
  return j;
}

static json_int_t summary(json_t *r, const char *k) {
  json_t *v = json_object_get(json_object_get(r, "summary"), k);
  assert_true(json_is_integer(v));
  return json_integer_value(v);
}

static void test_check_report(void **state) {
  (void)state;
  assert_int_equal(cw_lock_name(&la, "acct:a"), CW_OK);
  assert_int_equal(cw_lock_name(&lb, "acct:b"), CW_OK);
  assert_int_equal(cw_lock_name(&cm, "hot"), CW_OK);
  pthread_t a, b;
  assert_int_equal(pthread_create(&a, NULL, order_ab, NULL), 0);
  assert_int_equal(pthread_create(&b, NULL, order_ba, NULL), 0);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  memset(&f0, 0, sizeof(f0));
  memset(&f1, 0, sizeof(f1));
  memset(&f2, 0, sizeof(f2));
  assert_int_equal(pthread_create(&a, NULL, holder, NULL), 0);
  assert_int_equal(pthread_create(&b, NULL, waiter, NULL), 0);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  cw_shutdown();
  json_t *r = check();
  unlink(path);
  assert_int_equal(summary(r, "potential_deadlocks"), 1);
  assert_int_equal(summary(r, "deadlocks"), 0);
  json_t *cyc = json_object_get(
      json_array_get(json_object_get(r, "potential_deadlocks"), 0), "cycle");
  assert_int_equal(json_array_size(cyc), 2);
  int ab = 0, ba = 0;
  for (size_t i = 0; i < 2; i++) {
    json_t *e = json_array_get(cyc, i);
    const char *h = json_string_value(json_object_get(e, "held"));
    const char *q = json_string_value(json_object_get(e, "requested"));
    assert_non_null(h);
    assert_non_null(q);
    ab |= strcmp(h, "acct:a") == 0 && strcmp(q, "acct:b") == 0;
    ba |= strcmp(h, "acct:b") == 0 && strcmp(q, "acct:a") == 0;
  }
  assert_true(ab && ba);
  /* Contention: "hot" once contended out of two acquisitions; the
   * free locks were acquired uncontended. */
  int seen = 0;
  json_t *locks = json_object_get(r, "locks");
  for (size_t i = 0; i < json_array_size(locks); i++) {
    json_t *l = json_array_get(locks, i);
    const char *name = json_string_value(json_object_get(l, "lock"));
    json_int_t acq = json_integer_value(json_object_get(l, "acquisitions"));
    json_int_t con = json_integer_value(json_object_get(l, "contended"));
    if (name && strcmp(name, "hot") == 0) {
      assert_int_equal(acq, 2);
      assert_int_equal(con, 1);
      seen = 1;
    } else if (name && strncmp(name, "acct:", 5) == 0) {
      assert_int_equal(acq, 2);
      assert_int_equal(con, 0);
    }
  }
  assert_true(seen);
  json_decref(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_uncontended, setup, teardown),
      cmocka_unit_test_setup_teardown(test_contended, setup, teardown),
      cmocka_unit_test_setup_teardown(test_timedlock, setup, teardown),
      cmocka_unit_test_setup_teardown(test_check_report, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
