/*
 * test_sdk_hb.c: the recorded clocks give exactly the happens-before
 * relation of design 4.1, primitive by primitive. Each case runs threads
 * that are sequenced by raw (untraced) flags, so the only traced edges are
 * the ones the case is about; it then replays the trace and checks which
 * events are ordered and which are not, and that sequence numbers follow
 * that order (the last section).
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <pthread.h>

#include "cw_internal.h"
#include "sdk_test_util.h"

static char path[512];
static cw_replay rp;

static int setup(void **state) {
  (void)state;
  tu_path(path, sizeof(path), "hb");
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

/* The n-th access of `kind` to `key` by actor `who` (name suffix). */
static const cw_rp_event *ev(uint32_t kind, const char *key, const char *who,
                             size_t nth) {
  int a = who ? cw__replay_actor(&rp, who) : -1;
  assert_true(!who || a >= 0);
  const cw_rp_event *e = cw__replay_find(&rp, kind, key, a, nth);
  assert_non_null(e);
  return e;
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

/* ---- Mutex ------------------------------------------------------------------
 */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static tu_flag f1, f2, f3;

static void *mutex_a(void *arg) {
  (void)arg;
  named("alpha");
  CW_WRITE("x");
  cw_mutex_lock(&mu);
  CW_WRITE("y");
  cw_mutex_unlock(&mu);
  CW_READ("z");
  tu_set(&f1);
  return NULL;
}

static void *mutex_b(void *arg) {
  (void)arg;
  named("beta");
  tu_wait(&f1);
  CW_READ("w");
  cw_mutex_lock(&mu);
  CW_READ("y");
  cw_mutex_unlock(&mu);
  return NULL;
}

static void test_mutex(void **state) {
  (void)state;
  memset(&f1, 0, sizeof(f1));
  run2(mutex_a, mutex_b);
  finish();
  const cw_rp_event *a1 = ev(CW_EV_WRITE, "x", "/alpha", 0);
  const cw_rp_event *a2 = ev(CW_EV_WRITE, "y", "/alpha", 0);
  const cw_rp_event *a3 = ev(CW_EV_READ, "z", "/alpha", 0);
  const cw_rp_event *b0 = ev(CW_EV_READ, "w", "/beta", 0);
  const cw_rp_event *b1 = ev(CW_EV_READ, "y", "/beta", 0);
  /* Reads before a release are ordered before reads after the next
   * acquire; nothing else is. */
  assert_true(cw__replay_hb(a2, b1));
  assert_true(cw__replay_hb(a1, b1));
  assert_false(cw__replay_hb(a3, b1));
  assert_false(cw__replay_hb(b1, a3));
  assert_false(cw__replay_hb(a1, b0));
  assert_false(cw__replay_hb(a2, b0));
  assert_false(cw__replay_hb(b0, a3));
  /* Program order. */
  assert_true(cw__replay_hb(a1, a3));
  assert_false(cw__replay_hb(a3, a1));
}

/* ---- Lock events ------------------------------------------------------------
 */

static void test_lock_events(void **state) {
  (void)state;
  pthread_mutex_t m1 = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_t m2 = PTHREAD_MUTEX_INITIALIZER;
  named("solo");
  assert_int_equal(cw_lock_name(&m2, "account:alice"), CW_OK);
  cw_mutex_lock(&m1);
  cw_mutex_unlock(&m1);
  cw_mutex_lock(&m2);
  cw_mutex_unlock(&m2);
  finish();
  char dflt[64];
  snprintf(dflt, sizeof(dflt), "mutex@%p", (void *)&m1);
  int me = cw__replay_actor(&rp, "/solo");
  /* The locks were free: an acquire (not flagged TRY: it was a blocking
   * call) and a release, no request. */
  assert_int_equal(cw__replay_count(&rp, CW_EV_LOCK_REQUEST, NULL, me), 0);
  const cw_rp_event *ac =
      cw__replay_find(&rp, CW_EV_LOCK_ACQUIRED, dflt, me, 0);
  const cw_rp_event *rl = cw__replay_find(&rp, CW_EV_LOCK_RELEASE, dflt, me, 0);
  assert_non_null(ac);
  assert_non_null(rl);
  assert_false(ac->flags & CW_EVF_TRY);
  assert_int_equal(cw__replay_count(&rp, CW_EV_LOCK_ACQUIRED, dflt, me), 1);
  assert_int_equal(cw__replay_count(&rp, CW_EV_LOCK_RELEASE, dflt, me), 1);
  assert_true(ac->seq < rl->seq);
  assert_true(ac->counter + 1 == rl->counter);
  assert_true(ac->mono_ns <= rl->mono_ns);
  assert_true(ac->wall_ns > 0);
  assert_string_equal(strrchr(ac->file, '/') + 1, "test_sdk_hb.c");
  assert_string_equal(ac->func, "test_lock_events");
  assert_int_equal(
      cw__replay_count(&rp, CW_EV_LOCK_ACQUIRED, "account:alice", me), 1);
  assert_int_equal(
      cw__replay_count(&rp, CW_EV_LOCK_RELEASE, "account:alice", me), 1);
  /* (seq, actor) is unique: two threads may read the same stamp. */
  for (size_t i = 1; i < rp.n; i++)
    assert_true(rp.ev[i - 1].seq < rp.ev[i].seq ||
                rp.ev[i - 1].actor != rp.ev[i].actor);
}

static void *contend_a(void *arg) {
  (void)arg;
  named("holder");
  tu_wait(&f2); /* the waiter's start event is out */
  cw_mutex_lock(&mu);
  uint64_t base = tu_events();
  tu_set(&f1);
  /* The waiter records nothing else before its request, which it records
   * only once it found the lock busy: wait for it, then release. */
  tu_wait_events(base);
  cw_mutex_unlock(&mu);
  return NULL;
}

static void *contend_b(void *arg) {
  (void)arg;
  named("waiter");
  CW_READ("ready");
  tu_set(&f2);
  tu_wait(&f1);
  cw_mutex_lock(&mu);
  cw_mutex_unlock(&mu);
  return NULL;
}

static void test_contended_lock(void **state) {
  (void)state;
  memset(&f1, 0, sizeof(f1));
  memset(&f2, 0, sizeof(f2));
  run2(contend_a, contend_b);
  finish();
  char name[64];
  snprintf(name, sizeof(name), "mutex@%p", (void *)&mu);
  int h = cw__replay_actor(&rp, "/holder");
  int w = cw__replay_actor(&rp, "/waiter");
  const cw_rp_event *rel = ev(CW_EV_LOCK_RELEASE, name, "/holder", 0);
  const cw_rp_event *req = ev(CW_EV_LOCK_REQUEST, name, "/waiter", 0);
  const cw_rp_event *acq = ev(CW_EV_LOCK_ACQUIRED, name, "/waiter", 0);
  const cw_rp_event *wrel = ev(CW_EV_LOCK_RELEASE, name, "/waiter", 0);
  /* The holder found the lock free (acquire, release); the waiter found
   * it busy (request, then acquire, then release). */
  assert_int_equal(cw__replay_count(&rp, CW_EV_LOCK_REQUEST, name, h), 0);
  assert_int_equal(cw__replay_count(&rp, CW_EV_LOCK_ACQUIRED, name, h), 1);
  assert_int_equal(cw__replay_count(&rp, CW_EV_LOCK_REQUEST, name, w), 1);
  assert_int_equal(cw__replay_count(&rp, CW_EV_LOCK_ACQUIRED, name, w), 1);
  assert_true(req->seq < rel->seq && rel->seq < acq->seq);
  assert_true(acq->seq < wrel->seq);
  assert_true(req->counter + 1 == acq->counter);
  assert_false(cw__replay_hb(rel, req));
  assert_true(cw__replay_hb(rel, acq));
  assert_true(cw__replay_hb(req, acq));
  assert_true(acq->mono_ns >= rel->mono_ns);
  assert_true(req->mono_ns <= acq->mono_ns);
}

/* ---- Trylock and timedlock
 * ---------------------------------------------------- */

static void *try_a(void *arg) {
  (void)arg;
  named("owner");
  cw_mutex_lock(&mu);
  CW_WRITE("t");
  tu_set(&f1);
  tu_wait(&f2);
  cw_mutex_unlock(&mu);
  tu_set(&f3);
  return NULL;
}

static void *try_b(void *arg) {
  (void)arg;
  named("trier");
  tu_wait(&f1);
  assert_int_equal(cw_mutex_trylock(&mu), EBUSY);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  assert_int_equal(cw_mutex_timedlock(&mu, &ts), ETIMEDOUT);
  CW_READ("before");
  tu_set(&f2);
  tu_wait(&f3);
  assert_int_equal(cw_mutex_trylock(&mu), 0);
  CW_READ("t");
  cw_mutex_unlock(&mu);
  ts.tv_sec += 5;
  assert_int_equal(cw_mutex_timedlock(&mu, &ts), 0);
  cw_mutex_unlock(&mu);
  return NULL;
}

static void test_trylock(void **state) {
  (void)state;
  memset(&f1, 0, sizeof(f1));
  memset(&f2, 0, sizeof(f2));
  memset(&f3, 0, sizeof(f3));
  run2(try_a, try_b);
  finish();
  char name[64];
  snprintf(name, sizeof(name), "mutex@%p", (void *)&mu);
  int b = cw__replay_actor(&rp, "/trier");
  /* One acquire per success. A failed trylock records nothing; the timed
   * lock that found the lock busy records its (TRY) request, then gives up
   * without an acquire. */
  assert_int_equal(cw__replay_count(&rp, CW_EV_LOCK_ACQUIRED, name, b), 2);
  assert_int_equal(cw__replay_count(&rp, CW_EV_LOCK_REQUEST, name, b), 1);
  assert_true(cw__replay_find(&rp, CW_EV_LOCK_REQUEST, name, b, 0)->flags &
              CW_EVF_TRY);
  /* The timed lock that waited and gave up records a lock_timeout. */
  assert_int_equal(cw__replay_count(&rp, CW_EV_LOCK_TIMEOUT, name, b), 1);
  assert_true(cw__replay_find(&rp, CW_EV_LOCK_TIMEOUT, name, b, 0)->seq >
              cw__replay_find(&rp, CW_EV_LOCK_REQUEST, name, b, 0)->seq);
  const cw_rp_event *acq =
      cw__replay_find(&rp, CW_EV_LOCK_ACQUIRED, name, b, 0);
  assert_true(acq->flags & CW_EVF_TRY);
  const cw_rp_event *w = ev(CW_EV_WRITE, "t", "/owner", 0);
  assert_false(cw__replay_hb(w, ev(CW_EV_READ, "before", "/trier", 0)));
  assert_true(cw__replay_hb(w, ev(CW_EV_READ, "t", "/trier", 0)));
}

/* Two threads each hold one mutex and wait for the other's with a timed
 * lock: both requests are recorded (TRY), and the side that gives up
 * records a lock_timeout, so the analysis sees the wait-for cycle and how
 * it ended. */
static pthread_mutex_t tm1 = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t tm2 = PTHREAD_MUTEX_INITIALIZER;

static void *timed_side(pthread_mutex_t *own, pthread_mutex_t *other,
                        const char *who, tu_flag *mine, tu_flag *theirs,
                        long wait_ms) {
  named(who);
  cw_mutex_lock(own);
  tu_set(mine);
  tu_wait(theirs);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_nsec += (wait_ms % 1000) * 1000000L;
  ts.tv_sec += wait_ms / 1000 + ts.tv_nsec / 1000000000L;
  ts.tv_nsec %= 1000000000L;
  int rc = cw_mutex_timedlock(other, &ts);
  if (rc == 0)
    cw_mutex_unlock(other);
  cw_mutex_unlock(own);
  return (void *)(intptr_t)rc;
}

static void *timed_a(void *arg) {
  (void)arg;
  return timed_side(&tm1, &tm2, "timed-a", &f1, &f2, 300);
}

static void *timed_b(void *arg) {
  (void)arg;
  return timed_side(&tm2, &tm1, "timed-b", &f2, &f1, 10000);
}

static void test_timedlock_cycle(void **state) {
  (void)state;
  memset(&f1, 0, sizeof(f1));
  memset(&f2, 0, sizeof(f2));
  assert_int_equal(cw_lock_name(&tm1, "tm1"), CW_OK);
  assert_int_equal(cw_lock_name(&tm2, "tm2"), CW_OK);
  pthread_t ta, tb;
  void *ra, *rb;
  assert_int_equal(pthread_create(&ta, NULL, timed_a, NULL), 0);
  assert_int_equal(pthread_create(&tb, NULL, timed_b, NULL), 0);
  pthread_join(ta, &ra);
  pthread_join(tb, &rb);
  assert_int_equal((int)(intptr_t)ra, ETIMEDOUT);
  assert_int_equal((int)(intptr_t)rb, 0);
  finish();
  int a = cw__replay_actor(&rp, "/timed-a");
  int b = cw__replay_actor(&rp, "/timed-b");
  assert_int_equal(cw__replay_count(&rp, CW_EV_LOCK_REQUEST, "tm2", a), 1);
  assert_int_equal(cw__replay_count(&rp, CW_EV_LOCK_TIMEOUT, "tm2", a), 1);
  assert_int_equal(cw__replay_count(&rp, CW_EV_LOCK_ACQUIRED, "tm2", a), 0);
  assert_int_equal(cw__replay_count(&rp, CW_EV_LOCK_REQUEST, "tm1", b), 1);
  assert_int_equal(cw__replay_count(&rp, CW_EV_LOCK_TIMEOUT, "tm1", b), 0);
  const cw_rp_event *to = ev(CW_EV_LOCK_TIMEOUT, "tm2", "/timed-a", 0);
  assert_true(to->flags & CW_EVF_TRY);
  /* b's request was recorded before a gave up: the cycle stood. */
  assert_true(ev(CW_EV_LOCK_REQUEST, "tm1", "/timed-b", 0)->seq < to->seq);
}

/* External locks record lock events named "ext:<name>" for the calling
 * actor, with the caller's location; bad names are refused. */
static void test_extlock(void **state) {
  (void)state;
  named("ext-user");
  assert_int_equal(cw_extlock_request("account:1"), CW_OK);
  assert_int_equal(cw_extlock_acquired("account:1"), CW_OK);
  assert_int_equal(cw_extlock_request("account:2"), CW_OK);
  assert_int_equal(cw_extlock_timeout("account:2"), CW_OK);
  assert_int_equal(cw_extlock_released("account:1"), CW_OK);
  assert_int_equal((cw_extlock_request)("account:3"), CW_OK);
  assert_int_equal(cw_extlock_request(NULL), CW_EINVAL);
  assert_int_equal(cw_extlock_acquired(""), CW_EINVAL);
  char longname[200];
  memset(longname, 'x', sizeof longname - 1);
  longname[sizeof longname - 1] = 0;
  assert_int_equal(cw_extlock_released(longname), CW_EINVAL);
  finish();
  int a = cw__replay_actor(&rp, "/ext-user");
  assert_int_equal(
      cw__replay_count(&rp, CW_EV_LOCK_REQUEST, "ext:account:1", a), 1);
  assert_int_equal(
      cw__replay_count(&rp, CW_EV_LOCK_ACQUIRED, "ext:account:1", a), 1);
  assert_int_equal(
      cw__replay_count(&rp, CW_EV_LOCK_RELEASE, "ext:account:1", a), 1);
  assert_int_equal(
      cw__replay_count(&rp, CW_EV_LOCK_TIMEOUT, "ext:account:2", a), 1);
  assert_int_equal(
      cw__replay_count(&rp, CW_EV_LOCK_REQUEST, "ext:account:3", a), 1);
  assert_int_equal(cw__replay_count(&rp, 0, "account:1", -1), 0);
  const cw_rp_event *r = ev(CW_EV_LOCK_REQUEST, "ext:account:1", NULL, 0);
  assert_false(r->flags & CW_EVF_TRY);
  assert_true(r->line > 0);
}

/* ---- Rwlock
 * --------------------------------------------------------------------- */

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static tu_flag r1done, r2done;

static void *rw_writer(void *arg) {
  (void)arg;
  named("writer");
  cw_rwlock_wrlock(&rw);
  CW_WRITE("d");
  cw_rwlock_unlock(&rw);
  tu_set(&f1);
  tu_wait(&r1done);
  tu_wait(&r2done);
  cw_rwlock_wrlock(&rw);
  CW_WRITE("d");
  cw_rwlock_unlock(&rw);
  return NULL;
}

static void *rw_reader1(void *arg) {
  (void)arg;
  named("reader1");
  tu_wait(&f1);
  cw_rwlock_rdlock(&rw);
  CW_READ("d");
  cw_rwlock_unlock(&rw);
  tu_set(&r1done);
  return NULL;
}

static void *rw_reader2(void *arg) {
  (void)arg;
  named("reader2");
  tu_wait(&r1done); /* strictly after reader1's read-release */
  assert_int_equal(cw_rwlock_tryrdlock(&rw), 0);
  CW_READ("d");
  cw_rwlock_unlock(&rw);
  tu_set(&r2done);
  return NULL;
}

static void test_rwlock(void **state) {
  (void)state;
  memset(&f1, 0, sizeof(f1));
  memset(&r1done, 0, sizeof(r1done));
  memset(&r2done, 0, sizeof(r2done));
  pthread_t t[3];
  pthread_create(&t[0], NULL, rw_writer, NULL);
  pthread_create(&t[1], NULL, rw_reader1, NULL);
  pthread_create(&t[2], NULL, rw_reader2, NULL);
  for (int i = 0; i < 3; i++)
    pthread_join(t[i], NULL);
  finish();
  const cw_rp_event *w1 = ev(CW_EV_WRITE, "d", "/writer", 0);
  const cw_rp_event *w2 = ev(CW_EV_WRITE, "d", "/writer", 1);
  const cw_rp_event *r1 = ev(CW_EV_READ, "d", "/reader1", 0);
  const cw_rp_event *r2 = ev(CW_EV_READ, "d", "/reader2", 0);
  /* A write-release orders later reads and writes. */
  assert_true(cw__replay_hb(w1, r1));
  assert_true(cw__replay_hb(w1, r2));
  /* Readers are never ordered among themselves. */
  assert_false(cw__replay_hb(r1, r2));
  assert_false(cw__replay_hb(r2, r1));
  /* A read-release orders later write-acquires. */
  assert_true(cw__replay_hb(r1, w2));
  assert_true(cw__replay_hb(r2, w2));
  char name[64];
  snprintf(name, sizeof(name), "rwlock@%p", (void *)&rw);
  const cw_rp_event *sh = cw__replay_find(&rp, CW_EV_LOCK_ACQUIRED, name,
                                          cw__replay_actor(&rp, "/reader1"), 0);
  assert_non_null(sh);
  assert_true(sh->flags & CW_EVF_SHARED);
}

/* ---- Condition variable
 * ----------------------------------------------------------- */

static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int ready;

static void *cv_consumer(void *arg) {
  (void)arg;
  named("consumer");
  cw_mutex_lock(&mu);
  tu_set(&f1); /* the producer locks only after the wait released mu */
  while (!ready)
    cw_cond_wait(&cv, &mu);
  CW_READ("q");
  cw_mutex_unlock(&mu);
  return NULL;
}

static void *cv_producer(void *arg) {
  (void)arg;
  named("producer");
  tu_wait(&f1);
  cw_mutex_lock(&mu);
  CW_WRITE("q");
  ready = 1;
  pthread_cond_signal(&cv);
  cw_mutex_unlock(&mu);
  return NULL;
}

static void test_condvar(void **state) {
  (void)state;
  memset(&f1, 0, sizeof(f1));
  ready = 0;
  run2(cv_consumer, cv_producer);
  finish();
  assert_true(cw__replay_hb(ev(CW_EV_WRITE, "q", "/producer", 0),
                            ev(CW_EV_READ, "q", "/consumer", 0)));
  char name[64];
  snprintf(name, sizeof(name), "mutex@%p", (void *)&mu);
  int c = cw__replay_actor(&rp, "/consumer");
  /* The wait released and re-acquired the mutex. */
  assert_true(cw__replay_count(&rp, CW_EV_LOCK_ACQUIRED, name, c) >= 2);
  assert_int_equal(cw__replay_count(&rp, CW_EV_LOCK_ACQUIRED, name, c),
                   cw__replay_count(&rp, CW_EV_LOCK_RELEASE, name, c));
}

/* ---- Threads
 * ---------------------------------------------------------------------- */

static void *child(void *arg) {
  (void)arg;
  CW_READ("a");
  CW_WRITE("b");
  tu_wait(&f1);
  return NULL;
}

static void test_thread_create_join(void **state) {
  (void)state;
  memset(&f1, 0, sizeof(f1));
  named("parent");
  CW_WRITE("a");
  pthread_t t;
  assert_int_equal(cw_thread_create(&t, NULL, child, NULL), 0);
  CW_WRITE("mid");
  tu_set(&f1);
  assert_int_equal(cw_thread_join(t, NULL), 0);
  CW_READ("b");
  finish();
  const cw_rp_event *fork = ev(CW_EV_FORK, NULL, "/parent", 0);
  assert_non_null(fork->object);
  int c = cw__replay_actor(&rp, fork->object);
  assert_true(c >= 0);
  const cw_rp_event *t1 = cw__replay_find(&rp, CW_EV_READ, "a", c, 0);
  const cw_rp_event *t2 = cw__replay_find(&rp, CW_EV_WRITE, "b", c, 0);
  const cw_rp_event *st = cw__replay_find(&rp, CW_EV_THREAD_START, NULL, c, 0);
  assert_non_null(t1);
  assert_non_null(t2);
  assert_non_null(st);
  assert_true(st->flags & CW_EVF_FULL_CLOCK);
  assert_non_null(st->object);
  assert_true(strstr(st->object, "/parent") != NULL);
  const cw_rp_event *m1 = ev(CW_EV_WRITE, "a", "/parent", 0);
  const cw_rp_event *mid = ev(CW_EV_WRITE, "mid", "/parent", 0);
  const cw_rp_event *m2 = ev(CW_EV_READ, "b", "/parent", 0);
  const cw_rp_event *join = ev(CW_EV_JOIN, fork->object, "/parent", 0);
  assert_true(cw__replay_hb(m1, t1)); /* create -> child's first event */
  assert_true(cw__replay_hb(t2, m2)); /* child's last -> after join */
  assert_true(cw__replay_hb(t2, join));
  assert_false(cw__replay_hb(mid, t1)); /* concurrent in between */
  assert_false(cw__replay_hb(t1, mid));
  const cw_rp_event *end = cw__replay_find(&rp, CW_EV_THREAD_END, NULL, c, 0);
  assert_non_null(end);
  assert_true(cw__replay_hb(end, join));
}

/* ---- Annotations and atomics
 * -------------------------------------------------------- */

static void *ann_a(void *arg) {
  (void)arg;
  named("sender");
  CW_WRITE("m");
  CW_ATOMIC_WRITE("flag");
  cw_annotate_release("chan");
  tu_set(&f1);
  return NULL;
}

static void *ann_b(void *arg) {
  (void)arg;
  named("receiver");
  tu_wait(&f1);
  CW_ATOMIC_READ("flag");
  CW_READ("unsynced");
  cw_annotate_acquire("chan");
  CW_READ("m");
  CW_ATOMIC_RMW("counter");
  return NULL;
}

static void test_annotations_and_atomics(void **state) {
  (void)state;
  memset(&f1, 0, sizeof(f1));
  run2(ann_a, ann_b);
  finish();
  const cw_rp_event *w = ev(CW_EV_WRITE, "m", "/sender", 0);
  assert_true(cw__replay_hb(w, ev(CW_EV_READ, "m", "/receiver", 0)));
  /* Atomics are marked and create no edge. */
  const cw_rp_event *aw = ev(CW_EV_WRITE, "flag", "/sender", 0);
  const cw_rp_event *ar = ev(CW_EV_READ, "flag", "/receiver", 0);
  assert_true(aw->flags & CW_EVF_ATOMIC);
  assert_true(ar->flags & CW_EVF_ATOMIC);
  assert_false(cw__replay_hb(aw, ar));
  assert_false(cw__replay_hb(w, ev(CW_EV_READ, "unsynced", "/receiver", 0)));
  const cw_rp_event *rmw = ev(CW_EV_RMW, "counter", "/receiver", 0);
  assert_true(rmw->flags & CW_EVF_ATOMIC);
  assert_non_null(ev(CW_EV_ANN_RELEASE, "chan", "/sender", 0));
  assert_non_null(ev(CW_EV_ANN_ACQUIRE, "chan", "/receiver", 0));
}

/* ---- Mutex annotation hooks
 * -------------------------------------------------------- */

static atomic_int spin;

static void my_lock(void) {
  cw_annotate_mutex_before_lock(&spin, "custom");
  int z = 0;
  while (!atomic_compare_exchange_weak(&spin, &z, 1))
    z = 0;
  cw_annotate_mutex_after_lock(&spin, "custom");
}

static void my_unlock(void) {
  cw_annotate_mutex_before_unlock(&spin, "custom");
  atomic_store(&spin, 0);
}

static void *hook_a(void *arg) {
  (void)arg;
  named("hook1");
  my_lock();
  CW_WRITE("h");
  my_unlock();
  tu_set(&f1);
  return NULL;
}

static void *hook_b(void *arg) {
  (void)arg;
  named("hook2");
  tu_wait(&f1);
  CW_READ("pre");
  my_lock();
  CW_READ("h");
  my_unlock();
  return NULL;
}

static void test_mutex_hooks(void **state) {
  (void)state;
  memset(&f1, 0, sizeof(f1));
  run2(hook_a, hook_b);
  finish();
  const cw_rp_event *w = ev(CW_EV_WRITE, "h", "/hook1", 0);
  assert_true(cw__replay_hb(w, ev(CW_EV_READ, "h", "/hook2", 0)));
  assert_false(cw__replay_hb(w, ev(CW_EV_READ, "pre", "/hook2", 0)));
  int a = cw__replay_actor(&rp, "/hook2");
  assert_int_equal(cw__replay_count(&rp, CW_EV_LOCK_REQUEST, "custom", a), 1);
  assert_int_equal(cw__replay_count(&rp, CW_EV_LOCK_ACQUIRED, "custom", a), 1);
  assert_int_equal(cw__replay_count(&rp, CW_EV_LOCK_RELEASE, "custom", a), 1);
}

/* ---- Tasks and clock propagation
 * ------------------------------------------------- */

static cw_clock_snapshot *snap;
static char header[CW_CLOCK_HEADER_MAX + 1];

static void *worker(void *arg) {
  (void)arg;
  named("worker");
  CW_WRITE("junk");
  tu_wait(&f1);
  /* Request 1 starts from the caller's clock, not the worker's history. */
  assert_int_equal(cw_task_begin("req1", snap), CW_OK);
  CW_READ("k");
  CW_WRITE("shared");
  assert_int_equal(cw_task_end(), CW_OK);
  /* Request 2 on the same worker, from a decoded header. */
  cw_clock_snapshot *s2 = cw_clock_snapshot_new();
  assert_int_equal(cw_clock_decode(header, strlen(header), s2), CW_OK);
  assert_int_equal(cw_task_begin("req2", s2), CW_OK);
  CW_READ("k");
  CW_WRITE("shared");
  assert_int_equal(cw_task_end(), CW_OK);
  assert_int_equal(cw_task_end(), CW_ESTATE);
  cw_clock_snapshot_free(s2);
  CW_READ("after");
  return NULL;
}

static void test_tasks_and_propagation(void **state) {
  (void)state;
  memset(&f1, 0, sizeof(f1));
  pthread_t t;
  pthread_create(&t, NULL, worker, NULL);
  named("caller");
  CW_WRITE("k");
  snap = cw_clock_snapshot_new();
  assert_int_equal(cw_clock_current(snap), CW_OK);
  size_t len = 0;
  assert_int_equal(cw_clock_encode(snap, header, sizeof(header), &len), CW_OK);
  assert_int_equal(len, strlen(header));
  CW_WRITE("late");
  tu_set(&f1);
  pthread_join(t, NULL);
  cw_clock_snapshot_free(snap);
  finish();
  const cw_rp_event *k = ev(CW_EV_WRITE, "k", "/caller", 0);
  const cw_rp_event *late = ev(CW_EV_WRITE, "late", "/caller", 0);
  const cw_rp_event *b1 = ev(CW_EV_TASK_BEGIN, "req1", NULL, 0);
  const cw_rp_event *b2 = ev(CW_EV_TASK_BEGIN, "req2", NULL, 0);
  assert_true(b1->flags & CW_EVF_FULL_CLOCK);
  assert_int_not_equal(b1->actor, b2->actor);
  assert_true(strstr(rp.actors[b1->actor], "/task-") != NULL);
  const cw_rp_event *k1 =
      cw__replay_find(&rp, CW_EV_READ, "k", (int)b1->actor, 0);
  const cw_rp_event *k2 =
      cw__replay_find(&rp, CW_EV_READ, "k", (int)b2->actor, 0);
  const cw_rp_event *s1 =
      cw__replay_find(&rp, CW_EV_WRITE, "shared", (int)b1->actor, 0);
  const cw_rp_event *s2 =
      cw__replay_find(&rp, CW_EV_WRITE, "shared", (int)b2->actor, 0);
  assert_non_null(k1);
  assert_non_null(k2);
  assert_true(cw__replay_hb(k, k1));
  assert_true(cw__replay_hb(k, k2)); /* through the encoded header */
  assert_false(cw__replay_hb(late, k1));
  /* Not ordered after the worker's own history, nor after each other. */
  const cw_rp_event *junk = ev(CW_EV_WRITE, "junk", "/worker", 0);
  assert_false(cw__replay_hb(junk, k1));
  assert_false(cw__replay_hb(s1, s2));
  assert_false(cw__replay_hb(s2, s1));
  /* The worker thread resumes its own clock after the tasks. */
  const cw_rp_event *after = ev(CW_EV_READ, "after", "/worker", 0);
  assert_true(cw__replay_hb(junk, after));
  assert_false(cw__replay_hb(s1, after));
  assert_non_null(
      cw__replay_find(&rp, CW_EV_TASK_END, "req1", (int)b1->actor, 0));
}

static void *joiner(void *arg) {
  (void)arg;
  named("joiner");
  tu_wait(&f1);
  CW_READ("v");
  cw_clock_snapshot *s = cw_clock_snapshot_new();
  assert_int_equal(cw_clock_decode(header, strlen(header), s), CW_OK);
  assert_int_equal(cw_clock_join(s, "response"), CW_OK);
  cw_clock_snapshot_free(s);
  CW_READ("v");
  return NULL;
}

static void test_clock_join(void **state) {
  (void)state;
  memset(&f1, 0, sizeof(f1));
  pthread_t t;
  pthread_create(&t, NULL, joiner, NULL);
  named("callee");
  CW_WRITE("v");
  cw_clock_snapshot *s = cw_clock_snapshot_new();
  assert_int_equal(cw_clock_current(s), CW_OK);
  assert_int_equal(cw_clock_encode(s, header, sizeof(header), NULL), CW_OK);
  cw_clock_snapshot_free(s);
  tu_set(&f1);
  pthread_join(t, NULL);
  finish();
  const cw_rp_event *w = ev(CW_EV_WRITE, "v", "/callee", 0);
  assert_false(cw__replay_hb(w, ev(CW_EV_READ, "v", "/joiner", 0)));
  assert_true(cw__replay_hb(w, ev(CW_EV_READ, "v", "/joiner", 1)));
  const cw_rp_event *m = ev(CW_EV_MESSAGE, NULL, "/joiner", 0);
  assert_string_equal(m->detail, "response");
  assert_true(m->njoins >= 1);
}

/* ---- State values, trace context, spans, custom events
 * ------------------------- */

static void test_values_trace_spans(void **state) {
  (void)state;
  named("vals");
  CW_WRITE_INT("n", -42);
  CW_WRITE_STR("s", "hello");
  CW_READ_INT("n", 7);
  uint8_t tid[16], sid[8];
  for (int i = 0; i < 16; i++)
    tid[i] = (uint8_t)(i + 1);
  for (int i = 0; i < 8; i++)
    sid[i] = (uint8_t)(0xa0 + i);
  assert_int_equal(cw_trace_set(tid, sid), CW_OK);
  CW_READ("traced");
  cw_span_begin("outer");
  CW_READ("in-span");
  cw_span_end();
  cw_emit_info in;
  memset(&in, 0, sizeof(in));
  in.kind = CW_EMIT_HTTP_RESPOND;
  in.has_aux = 1;
  in.aux = 201;
  in.has_duration = 1;
  in.duration_ns = 1234;
  in.detail = "POST /x";
  in.loc = CW_LOC_HERE;
  assert_int_equal(cw_emit(&in), CW_OK);
  in.kind = (cw_emit_kind)5;
  assert_int_equal(cw_emit(&in), CW_EINVAL);
  /* Timeouts and retries: the site is the object, attempt and wait kept. */
  assert_int_equal(cw_note_timeout("accounts:lock", 1500000000u), CW_OK);
  assert_int_equal(cw_note_retry("accounts:lock", 3), CW_OK);
  assert_int_equal((cw_note_retry)("plain-fn", 1), CW_OK);
  assert_int_equal(cw_note_retry(NULL, 1), CW_EINVAL);
  assert_int_equal(cw_note_timeout("", 1), CW_EINVAL);
  finish();
  const cw_rp_event *to = ev(CW_EV_TIMEOUT, "accounts:lock", "/vals", 0);
  assert_true(to->flags & CW_EVF_DURATION);
  assert_int_equal(to->duration_ns, 1500000000u);
  assert_non_null(to->file);
  assert_true(to->line > 0);
  const cw_rp_event *re = ev(CW_EV_RETRY, "accounts:lock", "/vals", 0);
  assert_true(re->flags & CW_EVF_AUX);
  assert_int_equal(re->aux, 3);
  assert_int_equal(re->line, to->line + 1);
  assert_true(re->seq > to->seq);
  const cw_rp_event *pf = ev(CW_EV_RETRY, "plain-fn", "/vals", 0);
  assert_null(pf->file);
  assert_null(cw__replay_find(&rp, CW_EV_RETRY, NULL, -1, 2));
  const cw_rp_event *n = ev(CW_EV_WRITE, "n", "/vals", 0);
  assert_true(n->flags & CW_EVF_VAL_INT);
  assert_int_equal(n->val_int, -42);
  const cw_rp_event *s = ev(CW_EV_WRITE, "s", "/vals", 0);
  assert_true(s->flags & CW_EVF_VAL_STR);
  assert_string_equal(s->val_str, "hello");
  assert_true(s->line > n->line);
  const cw_rp_event *t = ev(CW_EV_READ, "traced", "/vals", 0);
  assert_true(t->flags & CW_EVF_TRACE);
  assert_memory_equal(t->trace_id, tid, 16);
  assert_memory_equal(t->span_id, sid, 8);
  assert_false(n->flags & CW_EVF_TRACE);
  const cw_rp_event *in_span = ev(CW_EV_READ, "in-span", "/vals", 0);
  assert_memory_equal(in_span->trace_id, tid, 16);
  assert_memory_not_equal(in_span->span_id, sid, 8);
  const cw_rp_event *se = ev(CW_EV_SPAN_END, "outer", "/vals", 0);
  assert_true(se->flags & CW_EVF_DURATION);
  assert_non_null(ev(CW_EV_SPAN_BEGIN, "outer", "/vals", 0));
  const cw_rp_event *h = ev(CW_EV_HTTP_RESPOND, NULL, "/vals", 0);
  assert_int_equal(h->aux, 201);
  assert_int_equal(h->duration_ns, 1234);
  assert_string_equal(h->detail, "POST /x");
}

/* ---- Less common paths -----------------------------------------------------
 */

static cw_clock_snapshot *resp;

static void *detached(void *arg) {
  (void)arg;
  CW_READ("before-create");
  cw_clock_snapshot *s = cw_clock_snapshot_new();
  CW_WRITE("callee-state");
  cw_clock_current(s);
  resp = s;
  tu_set(&f1);
  tu_wait(&f2);
  return NULL;
}

/* Number of threads of this process (the kernel's view). */
static int nthreads(void) {
  int n = 0;
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  while (f && fgets(line, sizeof(line), f))
    if (strncmp(line, "Threads:", 8) == 0)
      n = (int)strtol(line + 8, NULL, 10);
  if (f)
    fclose(f);
  return n;
}

static void test_misc_paths(void **state) {
  (void)state;
  memset(&f1, 0, sizeof(f1));
  memset(&f2, 0, sizeof(f2));
  named("misc");
  /* A detached thread still starts from its creator's clock. */
  CW_WRITE("before-create");
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t t;
  assert_int_equal(cw_thread_create(&t, &attr, detached, NULL), 0);
  pthread_attr_destroy(&attr);
  tu_wait(&f1);
  /* It cannot be joined: let it go and wait until it has fully exited
   * (its end is recorded on the way out) before the session shuts down. */
  int with = nthreads();
  tu_set(&f2);
  while (nthreads() >= with)
    sched_yield();
  CW_READ("callee-state");
  /* A custom event that joins a clock (an HTTP response). */
  cw_emit_info in;
  memset(&in, 0, sizeof(in));
  in.kind = CW_EMIT_HTTP_RESPONSE;
  in.has_aux = 1;
  in.aux = 200;
  in.join = resp;
  assert_int_equal(cw_emit(&in), CW_OK);
  CW_READ("callee-state");
  cw_clock_snapshot_free(resp);
  /* A timed wait that times out still re-acquires the mutex. */
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t c = PTHREAD_COND_INITIALIZER;
  assert_int_equal(cw_lock_name(&m, "waited"), CW_OK);
  cw_mutex_lock(&m);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  assert_int_equal(cw_cond_timedwait(&c, &m, &ts), ETIMEDOUT);
  cw_mutex_unlock(&m);
  /* Forgetting a lock drops its name and state. */
  assert_int_equal(cw_lock_forget(&m), CW_OK);
  cw_mutex_lock(&m);
  cw_mutex_unlock(&m);
  /* Nested read holds of one rwlock are told from a write hold. */
  pthread_rwlock_t l = PTHREAD_RWLOCK_INITIALIZER;
  cw_rwlock_rdlock(&l);
  cw_rwlock_rdlock(&l);
  cw_rwlock_unlock(&l);
  cw_rwlock_unlock(&l);
  cw_rwlock_wrlock(&l);
  cw_rwlock_unlock(&l);
  finish();
  int me = cw__replay_actor(&rp, "/misc");
  const cw_rp_event *w = ev(CW_EV_WRITE, "before-create", "/misc", 0);
  const cw_rp_event *r = ev(CW_EV_READ, "before-create", NULL, 0);
  assert_int_not_equal(r->actor, (uint32_t)me);
  assert_true(cw__replay_hb(w, r));
  const cw_rp_event *cs = ev(CW_EV_WRITE, "callee-state", NULL, 0);
  assert_false(cw__replay_hb(cs, ev(CW_EV_READ, "callee-state", "/misc", 0)));
  assert_true(cw__replay_hb(cs, ev(CW_EV_READ, "callee-state", "/misc", 1)));
  const cw_rp_event *hr = ev(CW_EV_HTTP_RESPONSE, NULL, "/misc", 0);
  assert_int_equal(hr->aux, 200);
  assert_true(hr->njoins >= 1);
  assert_int_equal(cw__replay_count(&rp, CW_EV_LOCK_RELEASE, "waited", me), 2);
  assert_int_equal(cw__replay_count(&rp, CW_EV_LOCK_ACQUIRED, "waited", me), 2);
  char dflt[64];
  snprintf(dflt, sizeof(dflt), "mutex@%p", (void *)&m);
  assert_int_equal(cw__replay_count(&rp, CW_EV_LOCK_ACQUIRED, dflt, me), 1);
  snprintf(dflt, sizeof(dflt), "rwlock@%p", (void *)&l);
  size_t shared = 0, excl = 0;
  for (size_t i = 0; i < rp.n; i++) {
    const cw_rp_event *e = &rp.ev[i];
    if (e->kind != CW_EV_LOCK_RELEASE || strcmp(e->object, dflt) != 0)
      continue;
    if (e->flags & CW_EVF_SHARED)
      shared++;
    else
      excl++;
  }
  assert_int_equal(shared, 2);
  assert_int_equal(excl, 1);
}

/* ---- Sequence numbers
 * --------------------------------------------------------
 *
 * Sequence numbers are a per-thread hybrid logical clock (cw__seq_next in
 * sdk/cw_internal.h): sequence order must follow happens-before even where
 * two CPUs' counters disagree. Each case makes one thread's counter run far
 * ahead (skew(): its next numbers jump by 2^40, what a CPU whose TSC is
 * ahead by minutes would give), then hands over through one primitive to a
 * thread that is not ahead: the receiving event must still number after
 * the sending one. The control hands over through a raw (untraced) flag
 * only, and there the receiver's numbers stay behind: without the
 * primitive's edge nothing would carry the number across. */

#define AHEAD ((uint64_t)1 << 40)

/* The calling thread's counter runs ahead from here on. */
static void skew(void) {
  CW_WRITE("registered"); /* the thread has its state */
  assert_non_null(cw__tls);
  cw__tls->seq += AHEAD;
}

/* Control: a raw flag carries no number. */

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

static void test_seq_raw_flag_carries_nothing(void **state) {
  (void)state;
  memset(&f1, 0, sizeof(f1));
  run2(raw_ahead, raw_behind);
  finish();
  const cw_rp_event *w = ev(CW_EV_WRITE, "sent", "/ahead", 0);
  const cw_rp_event *r = ev(CW_EV_READ, "sent", "/behind", 0);
  assert_false(cw__replay_hb(w, r));
  assert_true(r->seq < w->seq); /* the skew is real */
}

/* A mutex. */

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

static void test_seq_mutex(void **state) {
  (void)state;
  memset(&f1, 0, sizeof(f1));
  run2(mutex_ahead, mutex_behind);
  finish();
  char name[64];
  snprintf(name, sizeof(name), "mutex@%p", (void *)&mu);
  const cw_rp_event *rel = ev(CW_EV_LOCK_RELEASE, name, "/ahead", 0);
  const cw_rp_event *acq = ev(CW_EV_LOCK_ACQUIRED, name, "/behind", 0);
  const cw_rp_event *w = ev(CW_EV_WRITE, "x", "/ahead", 0);
  const cw_rp_event *r = ev(CW_EV_READ, "x", "/behind", 0);
  assert_true(cw__replay_hb(w, r));
  assert_true(rel->seq < acq->seq);
  assert_true(w->seq < r->seq);
}

/* A rwlock: a reader's release before a writer's acquire. */

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

static void test_seq_rwlock(void **state) {
  (void)state;
  memset(&f1, 0, sizeof(f1));
  run2(rw_reader_ahead, rw_writer_behind);
  finish();
  const cw_rp_event *rd = ev(CW_EV_READ, "r", "/ahead", 0);
  const cw_rp_event *wr = ev(CW_EV_WRITE, "r", "/behind", 0);
  assert_true(cw__replay_hb(rd, wr));
  assert_true(rd->seq < wr->seq);
}

/* Fork and join. */

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

static void test_seq_fork_and_join(void **state) {
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
  const cw_rp_event *w = ev(CW_EV_WRITE, "before-fork", "/parent", 0);
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
  const cw_rp_event *r1 =
      cw__replay_find(&rp, CW_EV_READ, "before-fork", c1, 0);
  const cw_rp_event *w2 = cw__replay_find(&rp, CW_EV_WRITE, "in-child", c2, 0);
  const cw_rp_event *r2 = ev(CW_EV_READ, "in-child", "/parent", 0);
  assert_true(cw__replay_hb(w, r1));
  assert_true(w->seq < r1->seq);
  assert_true(cw__replay_hb(w2, r2));
  assert_true(w2->seq < r2->seq);
}

/* An annotation key and a snapshot. */

static cw_clock_snapshot *seq_snap;

static void *ann_ahead(void *arg) {
  (void)arg;
  named("ahead");
  skew();
  CW_WRITE("m");
  cw_annotate_release("chan");
  CW_WRITE("n");
  assert_int_equal(cw_clock_current(seq_snap), CW_OK);
  tu_set(&f1);
  return NULL;
}

static void *ann_behind(void *arg) {
  (void)arg;
  named("behind");
  tu_wait(&f1);
  cw_annotate_acquire("chan");
  CW_READ("m");
  assert_int_equal(cw_clock_join(seq_snap, "handoff"), CW_OK);
  CW_READ("n");
  return NULL;
}

static void test_seq_annotation_and_snapshot(void **state) {
  (void)state;
  memset(&f1, 0, sizeof(f1));
  seq_snap = cw_clock_snapshot_new();
  assert_non_null(seq_snap);
  run2(ann_ahead, ann_behind);
  cw_clock_snapshot_free(seq_snap);
  finish();
  const cw_rp_event *wm = ev(CW_EV_WRITE, "m", "/ahead", 0);
  const cw_rp_event *rm = ev(CW_EV_READ, "m", "/behind", 0);
  const cw_rp_event *wn = ev(CW_EV_WRITE, "n", "/ahead", 0);
  const cw_rp_event *rn = ev(CW_EV_READ, "n", "/behind", 0);
  assert_true(cw__replay_hb(wm, rm));
  assert_true(wm->seq < rm->seq);
  assert_true(cw__replay_hb(wn, rn));
  assert_true(wn->seq < rn->seq);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_mutex, setup, teardown),
      cmocka_unit_test_setup_teardown(test_lock_events, setup, teardown),
      cmocka_unit_test_setup_teardown(test_contended_lock, setup, teardown),
      cmocka_unit_test_setup_teardown(test_trylock, setup, teardown),
      cmocka_unit_test_setup_teardown(test_timedlock_cycle, setup, teardown),
      cmocka_unit_test_setup_teardown(test_extlock, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rwlock, setup, teardown),
      cmocka_unit_test_setup_teardown(test_condvar, setup, teardown),
      cmocka_unit_test_setup_teardown(test_thread_create_join, setup, teardown),
      cmocka_unit_test_setup_teardown(test_annotations_and_atomics, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_mutex_hooks, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tasks_and_propagation, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_clock_join, setup, teardown),
      cmocka_unit_test_setup_teardown(test_values_trace_spans, setup, teardown),
      cmocka_unit_test_setup_teardown(test_misc_paths, setup, teardown),
      cmocka_unit_test_setup_teardown(test_seq_raw_flag_carries_nothing, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_seq_mutex, setup, teardown),
      cmocka_unit_test_setup_teardown(test_seq_rwlock, setup, teardown),
      cmocka_unit_test_setup_teardown(test_seq_fork_and_join, setup, teardown),
      cmocka_unit_test_setup_teardown(test_seq_annotation_and_snapshot, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
