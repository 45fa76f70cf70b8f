/*
 * bench_sdk_tasks.c: bounded clocks over an unbounded run. 1,000,000 short
 * tasks (as an HTTP server makes one per request) each start from one
 * fixed clock, lock one hot mutex, write a key and unlock. Without
 * retirement every task would inherit every earlier task through the
 * lock's clock; with the race window (default 256 ended actors) the
 * per-event cost, the process RSS, the SDK's own memory and the largest
 * clock stay flat. It prints them at 10k, 100k and 1M tasks, next to the
 * same loop with raw pthread calls. The drain is waited for every 250
 * tasks, so the cost includes encoding and compressing every event (and
 * nothing is dropped unless the machine starves the drain thread).
 * Usage: bench_sdk_tasks [tasks] [trace-file or -] [window]
 */
#define _POSIX_C_SOURCE 200809L

#include <causeway.h>
#include <string.h>

#include "bench_sdk_common.h"

#define EVENTS_PER_TASK 6 /* begin, request, acquired, write, release, end */

static pthread_mutex_t hot = PTHREAD_MUTEX_INITIALIZER;
static volatile long balance;

static double raw_ns_per_task(long n) {
  uint64_t t0 = bench_now();
  for (long i = 0; i < n; i++) {
    pthread_mutex_lock(&hot);
    balance = i;
    pthread_mutex_unlock(&hot);
  }
  return (double)(bench_now() - t0) / (double)n;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
  const char *file = argc > 2 && strcmp(argv[2], "-") != 0 ? argv[2] : NULL;
  long window = argc > 3 ? strtol(argv[3], NULL, 10) : 0;
  if (n < 1)
    n = 1;
  double raw = raw_ns_per_task(n < 1000000 ? n : 1000000);

  unsetenv("CAUSEWAY_TRACE_FILE");
  unsetenv("CAUSEWAY_TRACE_DIR");
  unsetenv("CAUSEWAY_ENDPOINT");
  unsetenv("CAUSEWAY_DISABLED");
  cw_config cfg;
  cw_config_init(&cfg);
  cfg.service = "bench";
  cfg.trace_file = file;
  cfg.buffer_bytes = 4u << 20;
  if (window > 0)
    cfg.retire_window = (uint32_t)window;
  if (cw_init(&cfg) != CW_OK) {
    fprintf(stderr, "cw_init failed\n");
    return 1;
  }
  cw_lock_name(&hot, "account:hot");
  CW_WRITE("origin");
  cw_clock_snapshot *from = cw_clock_snapshot_new();
  cw_clock_current(from);

  printf("causeway bounded clocks: %ld tasks through one hot lock, race "
         "window %u\n",
         n, window > 0 ? (unsigned)window : 256u);
  printf("raw pthread loop: %.1f ns/task (%.1f ns per equivalent event)\n", raw,
         raw / EVENTS_PER_TASK);
  printf("%9s %10s %9s %9s %10s %10s %7s %7s %9s %8s\n", "tasks", "events",
         "ns/event", "interval", "rss_kib", "sdk_kib", "actors", "clock",
         "retired", "dropped");
  long marks[] = {10000, 100000, 1000000, 10000000, 100000000};
  int m = 0;
  uint64_t t0 = bench_now(), tl = t0, el = 0;
  for (long i = 1; i <= n; i++) {
    cw_task_begin("req", from);
    cw_mutex_lock(&hot);
    balance = i;
    CW_WRITE_INT("account:hot.balance", i);
    cw_mutex_unlock(&hot);
    cw_task_end();
    if (i % 250 == 0)
      cw_flush();
    if (i == n || (m < 5 && i == marks[m])) {
      cw_flush();
      uint64_t now = bench_now();
      cw_stats st;
      cw_stats_get(&st);
      printf(
          "%9ld %10llu %9.1f %9.1f %10ld %10llu %7llu %7llu %9llu %8llu\n", i,
          (unsigned long long)st.events, (double)(now - t0) / (double)st.events,
          (double)(now - tl) / (double)(st.events - el), bench_rss_kib(),
          (unsigned long long)(st.memory >> 10),
          (unsigned long long)st.live_actors, (unsigned long long)st.max_clock,
          (unsigned long long)st.retired, (unsigned long long)st.dropped);
      fflush(stdout);
      tl = now;
      el = st.events;
      if (m < 5 && i == marks[m])
        m++;
    }
  }
  cw_clock_snapshot_free(from);
  cw_shutdown();
  return 0;
}
