/*
 * test_sdk_encode.c: every field of every event survives the drain's
 * encoding, both its steady loop (LOCK and ACCESS records straight to
 * EVENT_D bytes) and the general path it hands the other records to.
 * Threads lock and unlock two shared mutexes and write their own keys with
 * values of every size, from two call sites, so that actors, locations,
 * keys, lock names and clock joins change under the drain; batches have
 * the smallest size (they end in the middle of rings and runs) and the
 * rings hold the whole run (nothing is dropped). The replayed trace must
 * hold every event, per actor with consecutive counters, increasing
 * sequence numbers and times that never go back and lie within the run
 * (from before the threads start to after the drain stopped),
 * each with the kind, lock name, key, value, file, line and function that
 * was recorded.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>
#include <pthread.h>

#include "sdk_test_util.h"

#define THREADS 4
#define ITERS 5000
#define KEYS 3

static pthread_mutex_t locks[2] = {PTHREAD_MUTEX_INITIALIZER,
                                   PTHREAD_MUTEX_INITIALIZER};
static const char *lock_names[2] = {"enc.lock.a", "enc.lock.b"};
static char keys[THREADS][KEYS][32];
/* The lines of the lock, write and unlock calls of each call site. */
static uint32_t lines_a[3], lines_b[3];

/* The value written at iteration i: small, negative, multi-byte and
 * extreme values, so that every varint length is met. */
static int64_t value_of(int i) {
  switch (i % 6) {
  case 0:
    return i;
  case 1:
    return -i;
  case 2:
    return (int64_t)i << 40;
  case 3:
    return i % 600 == 3 ? INT64_MIN : -((int64_t)i << 20);
  case 4:
    return i % 600 == 4 ? INT64_MAX : 0;
  default:
    return 127 + i;
  }
}

/* With `lines`, also stores the lines of its three calls (once, from the
 * main thread, before the workers start). */
static void site_a(int l, const char *key, int64_t v, uint32_t *lines) {
  if (lines)
    lines[0] = __LINE__ + 1;
  cw_mutex_lock(&locks[l]);
  if (lines)
    lines[1] = __LINE__ + 1;
  CW_WRITE_INT(key, v);
  if (lines)
    lines[2] = __LINE__ + 1;
  cw_mutex_unlock(&locks[l]);
}

/* With `lines`, also stores the lines of its three calls (once, from the
 * main thread, before the workers start). */
static void site_b(int l, const char *key, int64_t v, uint32_t *lines) {
  /* The same calls as site_a, through the explicit-location forms. */
  uint32_t at = __LINE__ + 1;
  cw_mutex_lock_src(&locks[l], CW_SRC_HERE);
  cw_access_int(CW_ACCESS_WRITE, key, v, CW_LOC_HERE);
  cw_mutex_unlock_src(&locks[l], CW_SRC_HERE);
  for (int k = 0; lines && k < 3; k++)
    lines[k] = at + (uint32_t)k;
}

/* Iteration i of thread t: which lock, key and site. */
static int lock_of(int t, int i) {
  return (i / 7 + t) % 2;
}
static int key_of(int i) {
  return (i / 3) % KEYS;
}
static int site_is_b(int i) {
  return i % 5 == 0;
}

static void *worker(void *arg) {
  int t = (int)(intptr_t)arg;
  for (int i = 0; i < ITERS; i++) {
    if (site_is_b(i))
      site_b(lock_of(t, i), keys[t][key_of(i)], value_of(i), NULL);
    else
      site_a(lock_of(t, i), keys[t][key_of(i)], value_of(i), NULL);
  }
  return NULL;
}

static uint64_t mono_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The thread whose keys an actor writes, or -1. */
static int thread_of(const cw_replay *rp, uint32_t actor) {
  for (size_t i = 0; i < rp->n; i++) {
    const cw_rp_event *e = &rp->ev[i];
    if (e->actor != actor || e->kind != CW_EV_WRITE || !e->object)
      continue;
    for (int t = 0; t < THREADS; t++)
      if (strcmp(e->object, keys[t][0]) == 0 ||
          strcmp(e->object, keys[t][1]) == 0 ||
          strcmp(e->object, keys[t][2]) == 0)
        return t;
    return -1;
  }
  return -1;
}

/* Checks one recorded event against iteration i, step k (0 lock, 1 write,
 * 2 unlock) of thread t. */
static void check_event(const cw_rp_event *e, int t, int i, int k) {
  static const uint32_t kinds[3] = {CW_EV_LOCK_ACQUIRED, CW_EV_WRITE,
                                    CW_EV_LOCK_RELEASE};
  int b = site_is_b(i);
  assert_int_equal(e->kind, kinds[k]);
  assert_non_null(e->object);
  assert_string_equal(e->object,
                      k == 1 ? keys[t][key_of(i)] : lock_names[lock_of(t, i)]);
  assert_non_null(e->file);
  assert_string_equal(e->file, __FILE__);
  assert_non_null(e->func);
  assert_string_equal(e->func, b ? "site_b" : "site_a");
  assert_int_equal(e->line, b ? lines_b[k] : lines_a[k]);
  if (k == 1) {
    assert_true(e->flags & CW_EVF_VAL_INT);
    assert_true(e->val_int == value_of(i));
  } else {
    assert_false(e->flags & CW_EVF_VAL_INT);
  }
}

static void test_every_field_survives(void **state) {
  (void)state;
  char path[256];
  tu_path(path, sizeof path, "encode");
  cw_config cfg;
  tu_config(&cfg, path);
  cfg.buffer_bytes = 4u << 20; /* the whole run: nothing dropped */
  cfg.batch_bytes = 64u << 10; /* the smallest: many batch ends (the */
  cfg.retire_window = 16;      /* actor table's size sets the least) */
  cfg.max_actors = 80;
  assert_int_equal(cw_init(&cfg), CW_OK);
  for (int l = 0; l < 2; l++)
    assert_int_equal(cw_lock_name(&locks[l], lock_names[l]), CW_OK);
  for (int t = 0; t < THREADS; t++)
    for (int k = 0; k < KEYS; k++)
      snprintf(keys[t][k], sizeof keys[t][k], "enc.t%d.key%d", t, k);
  site_a(0, "enc.main", 0, lines_a); /* main's events: not checked */
  site_b(1, "enc.main", 0, lines_b);
  uint64_t t0 = mono_now();
  pthread_t th[THREADS];
  for (int t = 0; t < THREADS; t++)
    assert_int_equal(pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t),
                     0);
  for (int t = 0; t < THREADS; t++)
    assert_int_equal(pthread_join(th[t], NULL), 0);
  cw_stats st;
  cw_stats_get(&st);
  assert_int_equal(st.dropped, 0);
  cw_replay rp;
  assert_int_equal(tu_finish(path, &rp), CW_DECODE_OK);
  /* A converted time never lies after the drain saw the record. */
  uint64_t t1 = mono_now();
  assert_true(rp.batches > 3); /* the batches did end mid-run */
  assert_int_equal(rp.lost, 0);

  int seen[THREADS] = {0};
  for (uint32_t a = 0; a < rp.nactors; a++) {
    int t = thread_of(&rp, a);
    if (t < 0)
      continue;
    assert_int_equal(seen[t], 0); /* one actor per thread */
    seen[t] = 1;
    int i = 0, k = 0;
    const cw_rp_event *prev = NULL;
    for (size_t x = 0; x < rp.n; x++) { /* sorted by seq */
      const cw_rp_event *e = &rp.ev[x];
      if (e->actor != a)
        continue;
      if (prev) {
        assert_int_equal(e->counter, prev->counter + 1);
        assert_true(e->seq > prev->seq);
        assert_true(e->mono_ns >= prev->mono_ns);
      }
      assert_true(e->mono_ns >= t0 && e->mono_ns <= t1);
      assert_true(e->wall_ns != 0);
      prev = e;
      /* A busy lock records its request first; the thread's own start
       * and end are not iterations. */
      if (e->kind == CW_EV_LOCK_REQUEST) {
        assert_int_equal(k, 0);
        assert_string_equal(e->object, lock_names[lock_of(t, i)]);
        continue;
      }
      if (e->kind == CW_EV_THREAD_START || e->kind == CW_EV_THREAD_END)
        continue;
      assert_true(i < ITERS);
      check_event(e, t, i, k);
      if (++k == 3) {
        k = 0;
        i++;
      }
    }
    assert_int_equal(i, ITERS);
    assert_int_equal(k, 0);
  }
  for (int t = 0; t < THREADS; t++)
    assert_int_equal(seen[t], 1);
  cw__replay_free(&rp);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_field_survives),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
