/*
 * test_sdk_file.c: recording and the file sink. Full buffers drop events,
 * count them and report them with gap markers; the next event carries the
 * whole clock. The trace is flushed at exit without cw_shutdown(); a crash
 * loses at most the unflushed tail and never corrupts what was written
 * (every truncation of the file still decodes); fork() children get their
 * own file with CAUSEWAY_TRACE_DIR, also across exec().
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "sdk_test_util.h"

void cw__drain_pause(int on);

static void test_drops_and_gaps(void **state) {
  (void)state;
  char path[512];
  tu_path(path, sizeof(path), "drops");
  assert_int_equal(tu_start(path, 0, 16u << 10), CW_OK);
  CW_WRITE("first");
  cw__drain_pause(1);
  cw_stats st;
  int n = 0;
  do {
    CW_WRITE_INT("burst", n);
    n++;
    cw_stats_get(&st);
  } while (st.dropped < 10 && n < 1000000);
  assert_true(st.dropped >= 10);
  cw__drain_pause(0);
  assert_int_equal(cw_flush(), CW_OK); /* the drain empties the ring */
  CW_WRITE("after");
  assert_int_equal(cw_flush(), CW_OK);
  cw_stats_get(&st);
  assert_int_equal(st.written, st.events);
  uint64_t dropped = st.dropped;
  cw_replay rp;
  assert_int_equal(tu_finish(path, &rp), 0);
  assert_int_equal(rp.gaps, 1); /* one marker for the whole run */
  assert_int_equal(rp.lost, dropped);
  assert_int_equal(cw__replay_count(&rp, CW_EV_WRITE, "burst", -1) + dropped,
                   (uint64_t)n);
  /* The first event after the drop carries the whole clock. */
  const cw_rp_event *after = cw__replay_find(&rp, CW_EV_WRITE, "after", -1, 0);
  assert_non_null(after);
  assert_true(after->flags & CW_EVF_FULL_CLOCK);
  /* Counters still count the lost events: the numbering has a hole. */
  const cw_rp_event *first = cw__replay_find(&rp, CW_EV_WRITE, "first", -1, 0);
  assert_true(after->counter - first->counter ==
              (uint64_t)n + 1 - 0 /* n bursts, then "after" */);
  cw__replay_free(&rp);
}

/* Runs fn in a child process; @return its exit status. */
static int in_child(void (*fn)(const char *), const char *arg) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    fn(arg);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

static void child_exit_without_shutdown(const char *path) {
  if (tu_start(path, 0, 0) != CW_OK)
    _exit(3);
  for (int i = 0; i < 100; i++)
    CW_WRITE_INT("v", i);
  exit(0); /* the atexit handler flushes */
}

static void test_flush_at_exit(void **state) {
  (void)state;
  char path[512];
  tu_path(path, sizeof(path), "exit");
  int st = in_child(child_exit_without_shutdown, path);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  cw_replay rp;
  cw_decode_error err;
  assert_int_equal(cw__replay_file(path, &rp, &err), CW_DECODE_OK);
  assert_int_equal(cw__replay_count(&rp, CW_EV_WRITE, "v", -1), 100);
  assert_int_equal(cw__replay_count(&rp, CW_EV_THREAD_END, NULL, -1), 1);
  cw__replay_free(&rp);
  unlink(path);
}

static void child_crash(const char *path) {
  if (tu_start(path, 0, 0) != CW_OK)
    _exit(3);
  for (int b = 0; b < 5; b++) {
    for (int i = 0; i < 50; i++)
      CW_WRITE_INT("flushed", b * 50 + i);
    cw_flush(); /* one batch per flush */
  }
  for (int i = 0; i < 50; i++)
    CW_WRITE("unflushed");
  _exit(0); /* a crash: no atexit, no shutdown */
}

static size_t count_kind(const char *path, const char *key, int *trunc) {
  cw_replay rp;
  cw_decode_error err;
  int rc = cw__replay_file(path, &rp, &err);
  assert_int_equal(rc, CW_DECODE_OK);
  *trunc = rp.truncated;
  size_t n = cw__replay_count(&rp, CW_EV_WRITE, key, -1);
  cw__replay_free(&rp);
  return n;
}

static void test_crash_and_truncation(void **state) {
  (void)state;
  char path[512], cut[600];
  tu_path(path, sizeof(path), "crash");
  int st = in_child(child_crash, path);
  assert_true(WIFEXITED(st));
  int trunc;
  /* Everything flushed survived; nothing is corrupt. */
  assert_int_equal(count_kind(path, "flushed", &trunc), 250);
  assert_int_equal(trunc, 0);
  /* Cut the file at every offset: what decodes is always a prefix of
   * whole batches, and a cut inside a frame is reported as a tail. */
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  static uint8_t buf[1 << 20];
  size_t len = fread(buf, 1, sizeof(buf), f);
  fclose(f);
  assert_true(len > 0 && len < sizeof(buf));
  snprintf(cut, sizeof(cut), "%s.cut", path);
  size_t prev = 0;
  for (size_t at = 0; at <= len; at += (len / 97) + 1) {
    int fd = open(cut, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, buf, at), (ssize_t)at);
    close(fd);
    size_t n = count_kind(cut, "flushed", &trunc);
    assert_true(n >= prev);
    assert_true(n % 50 == 0);
    prev = n;
  }
  unlink(cut);
  unlink(path);
}

static void child_loop(const char *path) {
  if (tu_start(path, 0, 0) != CW_OK)
    _exit(3);
  for (int i = 0;; i++) {
    CW_WRITE_INT("loop", i);
    if (i % 64 == 0)
      cw_flush();
  }
}

static void test_kill9(void **state) {
  (void)state;
  char path[512];
  tu_path(path, sizeof(path), "kill");
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    child_loop(path);
    _exit(0);
  }
  /* Wait until some batches are on disk, then kill. */
  struct stat sb;
  for (int i = 0; i < 5000; i++) {
    if (stat(path, &sb) == 0 && sb.st_size > 4096)
      break;
    struct timespec nap = {0, 1000000};
    nanosleep(&nap, NULL);
  }
  kill(pid, SIGKILL);
  int status;
  waitpid(pid, &status, 0);
  int trunc;
  assert_true(count_kind(path, "loop", &trunc) > 0);
  unlink(path);
}

static void test_trace_dir_fork(void **state) {
  (void)state;
  char dir[512];
  tu_path(dir, sizeof(dir), "tdir");
  assert_int_equal(mkdir(dir, 0700), 0);
  tu_clear_env();
  cw_config cfg;
  cw_config_init(&cfg);
  cfg.service = "forker";
  cfg.trace_dir = dir;
  assert_int_equal(cw_init(&cfg), CW_OK);
  CW_WRITE("parent-before");
  fflush(NULL);
  int status;
  pid_t pid;
#ifndef __SANITIZE_THREAD__
  /* (ThreadSanitizer cannot start threads in a child forked from a
   * multi-threaded process, which this case needs; exec below is fine.) */
  pid = fork();
  if (pid == 0) {
    CW_WRITE("child");
    cw_shutdown();
    _exit(0);
  }
  waitpid(pid, &status, 0);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CW_WRITE("parent-after");
  cw_shutdown();
  char p1[700], p2[700];
  snprintf(p1, sizeof(p1), "%s/forker-%ld.cwt", dir, (long)getpid());
  snprintf(p2, sizeof(p2), "%s/forker-%ld.cwt", dir, (long)pid);
  int trunc;
  assert_int_equal(count_kind(p1, "parent-before", &trunc), 1);
  assert_int_equal(count_kind(p1, "parent-after", &trunc), 1);
  assert_int_equal(count_kind(p1, "child", &trunc), 0);
  assert_int_equal(count_kind(p2, "child", &trunc), 1);
  assert_int_equal(count_kind(p2, "parent-before", &trunc), 0);
  unlink(p1);
  unlink(p2);
#else
  cw_shutdown();
  char p2[700];
  int trunc;
  snprintf(p2, sizeof(p2), "%s/forker-%ld.cwt", dir, (long)getpid());
  assert_int_equal(count_kind(p2, "parent-before", &trunc), 1);
  unlink(p2);
#endif

#ifdef CW_EXAMPLE_BALANCE
  /* fork + exec of an instrumented program: its own file. */
  setenv("CAUSEWAY_TRACE_DIR", dir, 1);
  fflush(NULL);
  pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    execl(CW_EXAMPLE_BALANCE, "balance", (char *)NULL);
    _exit(127);
  }
  waitpid(pid, &status, 0);
  tu_clear_env();
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  snprintf(p2, sizeof(p2), "%s/balance-%ld.cwt", dir, (long)pid);
  assert_int_equal(count_kind(p2, "account:alice.balance", &trunc), 200);
  assert_int_equal(count_kind(p2, "account:bob.balance", &trunc), 200);
  unlink(p2);
#endif
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_drops_and_gaps),
      cmocka_unit_test(test_flush_at_exit),
      cmocka_unit_test(test_crash_and_truncation),
      cmocka_unit_test(test_kill9),
      cmocka_unit_test(test_trace_dir_fork),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
