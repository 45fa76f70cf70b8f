/*
 * bench_sdk_hotpath.c: the SDK's hot-path cost, next to raw pthread in the
 * same run: the median cost of a recorded state access and of an
 * uncontended instrumented lock+unlock, plus the pass-through cost when
 * tracing is off. Each figure is the median over `reps` batches of 1000
 * operations; the rings are drained between batches (outside the timed
 * region) so that no event is dropped. Targets (design 5): an access
 * <= 50 ns, lock+unlock <= 5x raw.
 * Usage: bench_sdk_hotpath [reps]
 */
#define _POSIX_C_SOURCE 200809L

#include <causeway.h>

#include "bench_sdk_common.h"

#define BATCH 1000

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static volatile long shared_value;

typedef struct fig {
  double raw_lock, raw_access;
  double lock, access, read;
  double off_lock, off_access;
} fig;

static double time_raw_lock(void) {
  uint64_t t0 = bench_now();
  for (int i = 0; i < BATCH; i++) {
    pthread_mutex_lock(&mu);
    pthread_mutex_unlock(&mu);
  }
  return (double)(bench_now() - t0) / BATCH;
}

static double time_raw_access(void) {
  uint64_t t0 = bench_now();
  for (int i = 0; i < BATCH; i++)
    shared_value = shared_value + 1;
  return (double)(bench_now() - t0) / BATCH;
}

static double time_lock(void) {
  uint64_t t0 = bench_now();
  for (int i = 0; i < BATCH; i++) {
    cw_mutex_lock(&mu);
    cw_mutex_unlock(&mu);
  }
  return (double)(bench_now() - t0) / BATCH;
}

static double time_access(void) {
  uint64_t t0 = bench_now();
  for (int i = 0; i < BATCH; i++)
    CW_WRITE_INT("account:alice.balance", i);
  return (double)(bench_now() - t0) / BATCH;
}

static double time_read(void) {
  uint64_t t0 = bench_now();
  for (int i = 0; i < BATCH; i++)
    CW_READ("account:alice.balance");
  return (double)(bench_now() - t0) / BATCH;
}

int main(int argc, char **argv) {
  int reps = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 300;
  if (reps < 3)
    reps = 3;
  double *s[7];
  for (int k = 0; k < 7; k++)
    s[k] = malloc(sizeof(double) * (size_t)reps);

  /* Tracing off: wrappers pass straight through. */
  for (int r = 0; r < reps; r++) {
    s[0][r] = time_raw_lock();
    s[1][r] = time_raw_access();
    s[2][r] = time_lock();
    s[3][r] = time_access();
  }
  fig f;
  f.raw_lock = bench_median(s[0], reps);
  f.raw_access = bench_median(s[1], reps);
  f.off_lock = bench_median(s[2], reps);
  f.off_access = bench_median(s[3], reps);

  /* Tracing on, events discarded by the null sink after full encoding and
   * compression by the drain thread. */
  unsetenv("CAUSEWAY_TRACE_FILE");
  unsetenv("CAUSEWAY_TRACE_DIR");
  unsetenv("CAUSEWAY_ENDPOINT");
  unsetenv("CAUSEWAY_DISABLED");
  cw_config cfg;
  cw_config_init(&cfg);
  cfg.service = "bench";
  cfg.buffer_bytes = 8u << 20;
  if (argc > 2)
    cfg.trace_file = argv[2];
  if (cw_init(&cfg) != CW_OK) {
    fprintf(stderr, "cw_init failed\n");
    return 1;
  }
  cw_lock_name(&mu, "bench:hot");
  for (int r = 0; r < reps; r++) {
    s[4][r] = time_lock();
    cw_flush();
    s[5][r] = time_access();
    cw_flush();
    s[6][r] = time_read();
    cw_flush();
  }
  f.lock = bench_median(s[4], reps);
  f.access = bench_median(s[5], reps);
  f.read = bench_median(s[6], reps);
  cw_stats st;
  cw_stats_get(&st);
  cw_shutdown();

  printf("causeway SDK hot path (median of %d batches of %d, ns/op)\n", reps,
         BATCH);
  printf("  %-44s %8.1f\n", "raw pthread lock+unlock", f.raw_lock);
  printf("  %-44s %8.1f   %.2fx raw (target <= 5x)\n",
         "instrumented lock+unlock (recorded)", f.lock, f.lock / f.raw_lock);
  printf("  %-44s %8.1f   %.2fx raw\n",
         "instrumented lock+unlock (tracing off)", f.off_lock,
         f.off_lock / f.raw_lock);
  printf("  %-44s %8.1f\n", "raw memory read-modify-write", f.raw_access);
  printf("  %-44s %8.1f   (target <= 50 ns)\n",
         "recorded state access CW_WRITE_INT", f.access);
  printf("  %-44s %8.1f\n", "recorded state access CW_READ", f.read);
  printf("  %-44s %8.1f\n", "state access (tracing off)", f.off_access);
  printf("  events recorded %llu, dropped %llu\n",
         (unsigned long long)st.events, (unsigned long long)st.dropped);
  printf("RESULT access_ns=%.1f lock_ns=%.1f raw_lock_ns=%.1f ratio=%.2f\n",
         f.access, f.lock, f.raw_lock, f.lock / f.raw_lock);
  for (int k = 0; k < 7; k++)
    free(s[k]);
  return 0;
}
