/*
 * test_sdk_core.c: the SDK's life cycle and configuration: status strings,
 * version, config defaults, environment overrides, pass-through without
 * init or when disabled, the allocator hook (every allocation goes through
 * it, nothing leaks, and allocation failures at any point are handled).
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <sys/stat.h>

#include "sdk_test_util.h"

static void test_status_and_version(void **state) {
  (void)state;
  static const cw_status all[] = {
#define X(name, value, msg) CW_##name,
      CW_STATUS_MAP(X)
#undef X
  };
  for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
    assert_string_not_equal(cw_strerror(all[i]), "unknown status");
    for (size_t j = 0; j < i; j++)
      assert_string_not_equal(cw_strerror(all[i]), cw_strerror(all[j]));
  }
  assert_int_equal(CW_OK, 0);
  assert_true(CW_EINVAL < 0 && CW_ESYS < 0);
  assert_string_equal(cw_strerror((cw_status)-999), "unknown status");
  assert_int_equal(cw_version(), CW_VERSION_HEX);
  assert_string_equal(cw_version_string(), CW_VERSION_STRING);
}

static void test_config_defaults(void **state) {
  (void)state;
  cw_config c;
  memset(&c, 0xab, sizeof(c));
  cw_config_init(&c);
  assert_int_equal(c.size, sizeof(c));
  assert_null(c.service);
  assert_null(c.trace_file);
  assert_int_equal(c.disabled, 0);
  assert_int_equal(c.buffer_bytes, 256u << 10);
  assert_int_equal(c.retire_window, 256);
  c.size = 3;
  assert_int_equal(cw_init(&c), CW_EINVAL);
  assert_int_equal(cw_is_enabled(), 0);
}

static void test_passthrough_without_init(void **state) {
  (void)state;
  tu_clear_env();
  assert_int_equal(cw_is_enabled(), 0);
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  assert_int_equal(cw_mutex_lock(&m), 0);
  assert_int_equal(cw_mutex_trylock(&m), EBUSY);
  assert_int_equal(cw_mutex_unlock(&m), 0);
  pthread_rwlock_t l = PTHREAD_RWLOCK_INITIALIZER;
  assert_int_equal(cw_rwlock_rdlock(&l), 0);
  assert_int_equal(cw_rwlock_unlock(&l), 0);
  CW_READ("x");
  CW_WRITE_INT("x", 1);
  cw_annotate_release("k");
  cw_span_begin("s");
  cw_span_end();
  assert_int_equal(cw_task_begin("t", NULL), CW_EDISABLED);
  assert_int_equal(cw_task_end(), CW_EDISABLED);
  assert_int_equal(cw_flush(), CW_EDISABLED);
  assert_int_equal(cw_lock_name(&m, "m"), CW_EDISABLED);
  cw_clock_snapshot *s = cw_clock_snapshot_new();
  assert_non_null(s);
  assert_int_equal(cw_clock_current(s), CW_EDISABLED);
  assert_int_equal(cw_clock_snapshot_len(s), 0);
  cw_clock_snapshot_free(s);
  cw_clock_snapshot_free(NULL);
  assert_int_equal(cw_shutdown(), CW_OK);
}

static void test_init_twice(void **state) {
  (void)state;
  char path[512];
  tu_path(path, sizeof(path), "core");
  assert_int_equal(tu_start(path, 0, 0), CW_OK);
  assert_int_equal(cw_is_enabled(), 1);
  assert_int_equal(tu_start(path, 0, 0), CW_ESTATE);
  char name[256];
  assert_int_equal(cw_actor_name(name, sizeof(name)), CW_OK);
  assert_string_equal(name, "sdktest#inst/main");
  assert_int_equal(cw_actor_name(name, 5), CW_ETOOBIG);
  assert_int_equal(cw_actor_set_name("bad/name"), CW_EINVAL);
  assert_int_equal(cw_actor_set_name(""), CW_EINVAL);
  CW_READ("x");
  assert_int_equal(cw_actor_set_name("late"), CW_ESTATE);
  assert_int_equal(cw_lock_name(NULL, "x"), CW_EINVAL);
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  assert_int_equal(cw_lock_name(&m, ""), CW_EINVAL);
  cw_stats st;
  assert_int_equal(cw_flush(), CW_OK);
  cw_stats_get(&st);
  assert_true(st.events >= 2); /* thread start + read */
  assert_int_equal(st.written, st.events);
  assert_true(st.memory > 0);
  assert_int_equal(cw_set_allocator(malloc, realloc, free), CW_ESTATE);
  assert_int_equal(cw_shutdown(), CW_OK);
  assert_int_equal(cw_shutdown(), CW_OK);
  assert_int_equal(cw_is_enabled(), 0);
  struct stat sb;
  assert_int_equal(stat(path, &sb), 0);
  assert_true(sb.st_size > 0);
  unlink(path);
}

static void test_env_overrides(void **state) {
  (void)state;
  char path[512], other[512];
  tu_path(path, sizeof(path), "env");
  tu_path(other, sizeof(other), "cfg");
  tu_clear_env();
  setenv("CAUSEWAY_TRACE_FILE", path, 1);
  setenv("CAUSEWAY_SERVICE", "from-env", 1);
  cw_config c;
  cw_config_init(&c);
  c.service = "from-config";
  c.trace_file = other;
  assert_int_equal(cw_init(&c), CW_OK);
  CW_WRITE("v");
  cw_shutdown();
  tu_clear_env();
  struct stat sb;
  assert_int_not_equal(stat(other, &sb), 0);
  cw_replay rp;
  cw_decode_error err;
  assert_int_equal(cw__replay_file(path, &rp, &err), CW_DECODE_OK);
  assert_true(rp.nactors >= 1);
  assert_true(strncmp(rp.actors[0], "from-env#", 9) == 0);
  cw__replay_free(&rp);
  unlink(path);

  /* CAUSEWAY_DISABLED=1 wins over everything. */
  setenv("CAUSEWAY_DISABLED", "1", 1);
  assert_int_equal(cw_init(&c), CW_OK);
  assert_int_equal(cw_is_enabled(), 0);
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  assert_int_equal(cw_mutex_lock(&m), 0);
  assert_int_equal(cw_mutex_unlock(&m), 0);
  assert_int_equal(cw_shutdown(), CW_OK);
  assert_int_not_equal(stat(other, &sb), 0);
  tu_clear_env();

  /* CAUSEWAY_TRACE_DIR: <dir>/<service>-<pid>.cwt */
  char dir[512];
  tu_path(dir, sizeof(dir), "dir");
  assert_int_equal(mkdir(dir, 0700), 0);
  setenv("CAUSEWAY_TRACE_DIR", dir, 1);
  c.trace_file = NULL;
  assert_int_equal(cw_init(&c), CW_OK);
  CW_READ("x");
  cw_shutdown();
  tu_clear_env();
  char expect[700];
  snprintf(expect, sizeof(expect), "%s/from-config-%ld.cwt", dir,
           (long)getpid());
  assert_int_equal(stat(expect, &sb), 0);
  unlink(expect);
  rmdir(dir);

  /* A file that cannot be opened is an error. */
  c.trace_file = "/nonexistent-dir/x.cwt";
  assert_int_equal(cw_init(&c), CW_EIO);
  assert_int_equal(cw_is_enabled(), 0);
}

/* ---- Allocator hook
 * ---------------------------------------------------------- */

static atomic_long live_allocs, total_allocs, budget;

static void *t_malloc(size_t n) {
  if (atomic_fetch_sub(&budget, 1) <= 0)
    return NULL;
  void *p = malloc(n);
  if (p) {
    atomic_fetch_add(&live_allocs, 1);
    atomic_fetch_add(&total_allocs, 1);
  }
  return p;
}

static void *t_realloc(void *p, size_t n) {
  if (atomic_fetch_sub(&budget, 1) <= 0)
    return NULL;
  void *q = realloc(p, n);
  if (q && !p) {
    atomic_fetch_add(&live_allocs, 1);
    atomic_fetch_add(&total_allocs, 1);
  }
  return q;
}

static void t_free(void *p) {
  if (p)
    atomic_fetch_sub(&live_allocs, 1);
  free(p);
}

static void *busy_thread(void *arg) {
  pthread_mutex_t *m = arg;
  for (int i = 0; i < 20; i++) {
    cw_mutex_lock(m);
    CW_WRITE_INT("shared", i);
    cw_mutex_unlock(m);
  }
  return NULL;
}

/* Runs a small traced workload; every call either works or fails cleanly. */
static void workload(void) {
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  cw_lock_name(&m, "m");
  pthread_t t;
  if (cw_thread_create(&t, NULL, busy_thread, &m) == 0)
    cw_thread_join(t, NULL);
  if (cw_task_begin("task", NULL) == CW_OK) {
    cw_annotate_release("k");
    cw_task_end();
  }
  cw_annotate_acquire("k");
  cw_clock_snapshot *s = cw_clock_snapshot_new();
  char hdr[CW_CLOCK_HEADER_MAX + 1];
  if (s && cw_clock_current(s) == CW_OK &&
      cw_clock_encode(s, hdr, sizeof(hdr), NULL) == CW_OK &&
      cw_clock_decode(hdr, strlen(hdr), s) == CW_OK)
    cw_clock_join(s, NULL);
  cw_clock_snapshot_free(s);
  busy_thread(&m);
}

static void test_allocator_hook(void **state) {
  (void)state;
  char path[512];
  tu_path(path, sizeof(path), "alloc");
  atomic_store(&budget, 1L << 40);
  assert_int_equal(cw_set_allocator(t_malloc, t_realloc, t_free), CW_OK);
  assert_int_equal(cw_set_allocator(NULL, t_realloc, t_free), CW_EINVAL);
  assert_int_equal(tu_start(path, 0, 0), CW_OK);
  workload();
  assert_int_equal(cw_shutdown(), CW_OK);
  assert_true(atomic_load(&total_allocs) > 0);
  assert_int_equal(atomic_load(&live_allocs), 0);
  unlink(path);

  /* Allocation failure at every point of init and of the workload. */
  int succeeded = 0;
  for (long n = 0; n < 400 && succeeded < 3; n++) {
    atomic_store(&budget, n);
    cw_status st = tu_start(path, 0, 16u << 10);
    if (st == CW_OK) {
      workload();
      cw_shutdown();
      succeeded++;
    } else {
      assert_int_equal(st, CW_ENOMEM);
      assert_int_equal(cw_is_enabled(), 0);
    }
    unlink(path);
    assert_int_equal(atomic_load(&live_allocs), 0);
  }
  assert_true(succeeded > 0);
  atomic_store(&budget, 1L << 40);
  assert_int_equal(cw_set_allocator(malloc, realloc, free), CW_OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_status_and_version),
      cmocka_unit_test(test_config_defaults),
      cmocka_unit_test(test_passthrough_without_init),
      cmocka_unit_test(test_init_twice),
      cmocka_unit_test(test_env_overrides),
      cmocka_unit_test(test_allocator_hook),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
