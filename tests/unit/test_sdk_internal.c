/* The SDK never traces its own work: an allocator hook that itself uses an
 * instrumented lock (as a user's pool allocator might) runs inside the SDK's
 * drain thread, its thread registration and its lock bookkeeping, and none
 * of those lock calls may appear in the trace (nor recurse forever, which
 * thread registration did before this test existed), while the
 * application's own lock is traced. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sdk_test_util.h"

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t app_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_long hook_calls;

/* A "pool" allocator guarded by an instrumented, named mutex. */
static void *pool_malloc(size_t n) {
  atomic_fetch_add(&hook_calls, 1);
  cw_mutex_lock(&pool_lock);
  void *p = malloc(n);
  cw_mutex_unlock(&pool_lock);
  return p;
}

static void *pool_realloc(void *p, size_t n) {
  atomic_fetch_add(&hook_calls, 1);
  cw_mutex_lock(&pool_lock);
  void *q = realloc(p, n);
  cw_mutex_unlock(&pool_lock);
  return q;
}

static void pool_free(void *p) {
  cw_mutex_lock(&pool_lock);
  free(p);
  cw_mutex_unlock(&pool_lock);
}

static void *worker(void *arg) {
  for (int i = 0; i < 200; i++) {
    cw_mutex_lock(&app_lock);
    CW_WRITE_INT("internal.counter", i);
    cw_mutex_unlock(&app_lock);
  }
  return arg;
}

static size_t count_object(const cw_replay *rp, const char *name) {
  size_t n = 0;
  for (size_t i = 0; i < rp->n; i++)
    if (rp->ev[i].object && !strcmp(rp->ev[i].object, name))
      n++;
  return n;
}

static void test_hook_locks_inside_the_sdk_are_not_traced(void **state) {
  (void)state;
  char path[512];
  tu_path(path, sizeof path, "internal");
  assert_int_equal(cw_set_allocator(pool_malloc, pool_realloc, pool_free),
                   CW_OK);
  assert_int_equal(tu_start(path, 0, 0), CW_OK);
  assert_int_equal(cw_lock_name(&pool_lock, "pool"), CW_OK);
  assert_int_equal(cw_lock_name(&app_lock, "app"), CW_OK);
  pthread_t t;
  assert_int_equal(cw_thread_create(&t, NULL, worker, NULL), 0);
  assert_int_equal(cw_thread_join(t, NULL), 0);
  cw_replay rp;
  memset(&rp, 0, sizeof rp);
  assert_int_equal(tu_finish(path, &rp), CW_DECODE_OK);
  assert_int_equal(cw_set_allocator(malloc, realloc, free), CW_OK);

  /* The hook really ran inside the SDK, many times... */
  assert_true(atomic_load(&hook_calls) > 3);
  /* ...yet none of its lock calls is in the trace, while every one of the
   * application's is (an acquire and a release per iteration). */
  assert_int_equal(count_object(&rp, "pool"), 0);
  assert_int_equal(count_object(&rp, "app"), 400);
  assert_int_equal(count_object(&rp, "internal.counter"), 200);
  /* Only the application's two threads are actors: the drain thread never
   * registered. */
  assert_int_equal(rp.nactors, 2);
  cw__replay_free(&rp);
}

/* State accesses name their key by a per-thread key id (ACCESS records):
 * the bytes travel once per (re)definition of an id. A key buffer reused
 * with new contents, more distinct keys than the thread's key cache holds,
 * a key id defined in one batch and used in the next, and the longest key
 * all come back as the keys that were written, in order. */
static void test_access_key_ids(void **state) {
  (void)state;
  char path[512];
  tu_path(path, sizeof path, "keyids");
  assert_int_equal(tu_start(path, 0, 0), CW_OK);
  enum { NKEYS = 40, N = 200 };
  static char keys[NKEYS][24];
  static char expect[N][160];
  char buf[32], longkey[200];
  memset(longkey, 'k', sizeof longkey - 1);
  longkey[sizeof longkey - 1] = 0;
  for (int i = 0; i < NKEYS; i++)
    snprintf(keys[i], sizeof keys[i], "acct:%d.balance", i);
  for (int i = 0; i < N; i++) {
    const char *k;
    if (i % 10 == 3) {
      snprintf(buf, sizeof buf, "buf:%d", i % 7 ? i : 1); /* same address */
      k = buf;
    } else if (i % 10 == 7) {
      k = longkey; /* cut to the key length limit */
    } else {
      k = keys[(i * 7) % NKEYS];
    }
    snprintf(expect[i], sizeof expect[i], "%.127s", k);
    CW_WRITE_INT(k, i);
    if (i == N / 2)
      assert_int_equal(cw_flush(), CW_OK); /* ids cross a batch */
  }
  cw_replay rp;
  memset(&rp, 0, sizeof rp);
  assert_int_equal(tu_finish(path, &rp), CW_DECODE_OK);
  int n = 0;
  for (size_t i = 0; i < rp.n; i++) {
    if (rp.ev[i].kind != CW_EV_WRITE)
      continue;
    assert_true(n < N);
    assert_non_null(rp.ev[i].object);
    assert_string_equal(rp.ev[i].object, expect[n]);
    assert_int_equal(rp.ev[i].val_int, n);
    n++;
  }
  assert_int_equal(n, N);
  assert_true(rp.batches >= 2);
  cw__replay_free(&rp);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hook_locks_inside_the_sdk_are_not_traced),
      cmocka_unit_test(test_access_key_ids),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
