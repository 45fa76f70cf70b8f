/*
 * test_sdk_stress.c: many threads mix every SDK call at once, with small
 * buffers so that events are dropped. Run under ThreadSanitizer it checks
 * that the SDK is race-free; in every build it checks that the trace
 * decodes, that every drop is reported by a gap marker, that actors are
 * retired (race window 64), and that writes guarded by each lock are
 * totally ordered by the recorded clocks.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>

#include "sdk_test_util.h"

#define THREADS 6
#define ITERS 1000
#define LOCKS 4

static pthread_mutex_t locks[LOCKS];
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static const char *lock_keys[LOCKS] = {"guarded0", "guarded1", "guarded2",
                                       "guarded3"};

static atomic_int failures;

static void *leaf(void *arg) {
  (void)arg;
  CW_WRITE("leaf");
  return NULL;
}

static void *worker(void *arg) {
  uint64_t x = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;
  char hdr[CW_CLOCK_HEADER_MAX + 1];
  cw_clock_snapshot *snap = cw_clock_snapshot_new();
  for (int i = 0; i < ITERS; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    int l = (int)(x % LOCKS);
    switch ((x >> 8) % 10) {
    case 0:
    case 1:
    case 2:
      cw_mutex_lock(&locks[l]);
      CW_WRITE_INT(lock_keys[l], i);
      cw_mutex_unlock(&locks[l]);
      break;
    case 3:
      if ((x >> 16) & 1) {
        cw_rwlock_rdlock(&rw);
        CW_READ("rwdata");
      } else {
        cw_rwlock_wrlock(&rw);
        CW_WRITE("rwdata");
      }
      cw_rwlock_unlock(&rw);
      break;
    case 4:
      cw_annotate_release(lock_keys[l]);
      cw_annotate_acquire(lock_keys[(l + 1) % LOCKS]);
      break;
    case 5:
      CW_ATOMIC_RMW("hits");
      CW_READ_STR("free", "text value");
      break;
    case 6:
      if (cw_task_begin("job", (x >> 20) & 1 ? snap : NULL) == CW_OK) {
        cw_span_begin("work");
        cw_mutex_lock(&locks[l]);
        CW_WRITE_INT(lock_keys[l], -i);
        cw_mutex_unlock(&locks[l]);
        cw_span_end();
        cw_task_end();
      }
      break;
    case 7:
      if (cw_clock_current(snap) == CW_OK &&
          cw_clock_encode(snap, hdr, sizeof(hdr), NULL) == CW_OK &&
          cw_clock_decode(hdr, strlen(hdr), snap) != CW_OK) {
        fprintf(stderr, "decode failed: %s\n", hdr);
        atomic_fetch_add(&failures, 1);
      }
      break;
    case 8:
      if (i % 50 == 0) {
        pthread_t t;
        if (cw_thread_create(&t, NULL, leaf, NULL) == 0)
          cw_thread_join(t, NULL);
      }
      break;
    default:
      if (i % 500 == 0)
        cw_flush();
      break;
    }
  }
  cw_clock_snapshot_free(snap);
  return NULL;
}

static void test_stress(void **state) {
  (void)state;
  char path[512];
  tu_path(path, sizeof(path), "stress");
  tu_clear_env();
  cw_config cfg;
  cw_config_init(&cfg);
  cfg.service = "stress";
  cfg.trace_file = path;
  cfg.buffer_bytes = 16u << 10; /* small (raised to fit W): force drops */
  cfg.batch_bytes = 64u << 10;
  cfg.retire_window = 64; /* retirement happens during the run */
  assert_int_equal(cw_init(&cfg), CW_OK);
  for (int i = 0; i < LOCKS; i++)
    pthread_mutex_init(&locks[i], NULL);
  pthread_t t[THREADS];
  for (uintptr_t i = 0; i < THREADS; i++)
    assert_int_equal(cw_thread_create(&t[i], NULL, worker, (void *)(i + 1)), 0);
  for (int i = 0; i < THREADS; i++)
    cw_thread_join(t[i], NULL);
  assert_int_equal(atomic_load(&failures), 0);
  assert_int_equal(cw_flush(), CW_OK);
  cw_stats st;
  cw_stats_get(&st);
  assert_int_equal(st.events, st.written);
  cw_replay rp;
  assert_int_equal(tu_finish(path, &rp), 0);
  assert_int_equal(rp.truncated, 0);
  /* Every dropped event is accounted for by a gap marker. */
  assert_int_equal(rp.lost, st.dropped);
  assert_true(rp.n >= st.written);
  /* Writes under each lock are totally ordered by the clocks. */
  size_t checked = 0;
  for (int l = 0; l < LOCKS; l++) {
    const cw_rp_event *prev = NULL;
    for (size_t i = 0; i < rp.n; i++) {
      const cw_rp_event *e = &rp.ev[i];
      if (e->kind != CW_EV_WRITE || !e->object ||
          strcmp(e->object, lock_keys[l]) != 0)
        continue;
      /* Unless the earlier writer left the race window in between. */
      uint64_t gone = prev ? rp.retired_at[prev->actor] : 0;
      if (prev && (gone == 0 || gone > e->seq)) {
        assert_true(cw__replay_hb(prev, e));
        checked++;
      }
      prev = e;
    }
  }
  assert_true(checked > 100);
  assert_true(rp.retired > 0);
  for (int i = 0; i < LOCKS; i++)
    pthread_mutex_destroy(&locks[i]);
  cw__replay_free(&rp);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stress),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
