/*
 * test_sdk_remote_retire.c: a service that forgets a remote actor does not
 * end that actor's life everywhere.
 *
 * Service A's main thread sends its clock to service B (a second process,
 * this binary run again with "b"). B joins it, so A's thread becomes a
 * remote actor in B's table; with retire_window 1, the threads B starts and
 * joins afterwards push it out and B writes a RETIRE record for it. Only
 * then does A's main thread go on: it starts a thread and both write the
 * same key unsynchronised. `causeway check` on both trace files must see
 * every event as valid and the race between A's two threads: B retiring a
 * remote actor only says B's clocks no longer name it (its own process
 * retires it when it ends).
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "causeway.h"

extern char **environ;

static char dir[256];
static const char *self_path;

static void *b_worker(void *arg) {
  (void)arg;
  CW_WRITE_INT("b.local", 1);
  return NULL;
}

/* Service B: join A's clock, then end enough threads to retire it. */
static int run_b(const char *hdr, const char *trace_dir) {
  cw_config cfg;
  cw_config_init(&cfg);
  cfg.service = "svc-b";
  cfg.trace_dir = trace_dir;
  cfg.retire_window = 1;
  if (cw_init(&cfg) != CW_OK)
    return 2;
  cw_clock_snapshot *snap = cw_clock_snapshot_new();
  if (!snap || cw_clock_decode(hdr, strlen(hdr), snap) != CW_OK ||
      cw_clock_join(snap, "from a") != CW_OK)
    return 3;
  cw_clock_snapshot_free(snap);
  for (int i = 0; i < 4; i++) {
    pthread_t t;
    if (cw_thread_create(&t, NULL, b_worker, NULL) != 0 ||
        cw_thread_join(t, NULL) != 0)
      return 4;
  }
  cw_stats st;
  if (cw_flush() != CW_OK)
    return 7;
  cw_stats_get(&st);
  int rc = cw_shutdown() == CW_OK ? 0 : 5;
  /* The point of the test: B did retire something (A's thread among them). */
  return rc ? rc : (st.retired >= 2 ? 0 : 6);
}

static void *a_racer(void *arg) {
  (void)arg;
  CW_WRITE_INT("a.shared", 2);
  return NULL;
}

static json_t *check(void) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "'%s' check --report json --fail-on none --no-progress '%s'/*.cwt",
           CW_CLI, dir);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  json_error_t je;
  json_t *j = json_loadf(p, 0, &je);
  pclose(p);
  assert_non_null(j);
  return j;
}

static json_int_t summary(json_t *r, const char *k) {
  json_t *v = json_object_get(json_object_get(r, "summary"), k);
  assert_true(json_is_integer(v));
  return json_integer_value(v);
}

static void test_remote_retire_keeps_actor(void **state) {
  (void)state;
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/cw_remote_retire_XXXXXX",
           tmp && *tmp ? tmp : "/tmp");
  assert_non_null(mkdtemp(dir));
  cw_config cfg;
  cw_config_init(&cfg);
  cfg.service = "svc-a";
  cfg.trace_dir = dir;
  assert_int_equal(cw_init(&cfg), CW_OK);
  CW_WRITE_INT("a.before", 1);
  cw_clock_snapshot *snap = cw_clock_snapshot_new();
  assert_non_null(snap);
  assert_int_equal(cw_clock_current(snap), CW_OK);
  char hdr[CW_CLOCK_HEADER_MAX + 1];
  assert_int_equal(cw_clock_encode(snap, hdr, sizeof hdr, NULL), CW_OK);
  cw_clock_snapshot_free(snap);

  char *argv[] = {(char *)self_path, "b", hdr, dir, NULL};
  pid_t pid;
  assert_int_equal(posix_spawn(&pid, self_path, NULL, NULL, argv, environ), 0);
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);

  /* A's main thread lives on after B retired it. */
  pthread_t t;
  assert_int_equal(cw_thread_create(&t, NULL, a_racer, NULL), 0);
  CW_WRITE_INT("a.shared", 1);
  assert_int_equal(cw_thread_join(t, NULL), 0);
  assert_int_equal(cw_shutdown(), CW_OK);

  json_t *r = check();
  assert_int_equal(summary(r, "invalid_events"), 0);
  assert_int_equal(summary(r, "racy_variables"), 1);
  json_t *races = json_object_get(r, "races");
  assert_int_equal(json_array_size(races), 1);
  const char *var =
      json_string_value(json_object_get(json_array_get(races, 0), "variable"));
  assert_non_null(var);
  assert_non_null(strstr(var, "a.shared"));
  json_decref(r);
  char rm[600];
  snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
  assert_int_equal(system(rm), 0);
}

int main(int argc, char **argv) {
  self_path = argv[0];
  if (argc == 4 && strcmp(argv[1], "b") == 0)
    return run_b(argv[2], argv[3]);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_remote_retire_keeps_actor),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
