/*
 * bench_sdk_hotpath.c: the SDK's cost per operation on the recording
 * thread, next to raw pthread in the same process: the median over `reps`
 * batches of 1000 operations of a recorded state access and of an
 * uncontended instrumented lock+unlock, in wall time and in the thread's
 * CPU time, plus the pass-through cost when tracing is off.
 *
 * THE BASELINE. glibc skips the `lock` prefix of its mutex's atomic
 * instructions while a process has never had a second thread
 * (__libc_single_threaded): a raw lock+unlock measured there is several
 * times cheaper than the same code in any program that has threads, and
 * every traced program has one (the drain). So the raw figures are taken
 * after a thread was created and joined, as in the separately built
 * bench_sdk_raw.c (which does the same for ThreadSanitizer's sake); the
 * single-threaded figure is printed too, to show the difference.
 *
 * The drain runs concurrently, polling as in production (nothing here
 * wakes it; every 50 batches a cw_flush() outside the timed spans keeps
 * the buffer from filling). The buffer's pages are touched at allocation
 * (bench_touch_malloc), so first-touch faults are not timed.
 * Usage: bench_sdk_hotpath [reps] [trace-file]
 */
#define _POSIX_C_SOURCE 200809L

#include <causeway.h>

#include "bench_sdk_common.h"

#define BATCH 1000

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static volatile long shared_value;

/* One timed batch: wall ns and thread-CPU ns per operation. */
typedef struct sample {
  double wall, cpu;
} sample;

typedef enum op { RAW_LOCK, RAW_ACCESS, LOCK, WRITE, READ } op;

static sample time_batch(op o) {
  uint64_t c0 = bench_thread_cpu(), t0 = bench_now();
  switch (o) {
  case RAW_LOCK:
    for (int i = 0; i < BATCH; i++) {
      pthread_mutex_lock(&mu);
      pthread_mutex_unlock(&mu);
    }
    break;
  case RAW_ACCESS:
    for (int i = 0; i < BATCH; i++)
      shared_value = shared_value + 1;
    break;
  case LOCK:
    for (int i = 0; i < BATCH; i++) {
      cw_mutex_lock(&mu);
      cw_mutex_unlock(&mu);
    }
    break;
  case WRITE:
    for (int i = 0; i < BATCH; i++)
      CW_WRITE_INT("account:alice.balance", i);
    break;
  case READ:
    for (int i = 0; i < BATCH; i++)
      CW_READ("account:alice.balance");
    break;
  }
  uint64_t t1 = bench_now(), c1 = bench_thread_cpu();
  return (sample){(double)(t1 - t0) / BATCH, (double)(c1 - c0) / BATCH};
}

/* Medians of reps batches of each op in ops[] (interleaved). */
static void measure(const op *ops, int nops, int reps, int flush_every,
                    double *wall, double *cpu) {
  double *w = malloc(sizeof(double) * (size_t)reps * (size_t)nops);
  double *c = malloc(sizeof(double) * (size_t)reps * (size_t)nops);
  for (int r = 0; r < reps; r++) {
    for (int k = 0; k < nops; k++) {
      sample s = time_batch(ops[k]);
      w[k * reps + r] = s.wall;
      c[k * reps + r] = s.cpu;
    }
    if (flush_every && r % flush_every == flush_every - 1)
      cw_flush(); /* outside the timed spans */
  }
  for (int k = 0; k < nops; k++) {
    wall[k] = bench_median(w + k * reps, reps);
    cpu[k] = bench_median(c + k * reps, reps);
  }
  free(w);
  free(c);
}

static void *idle(void *arg) {
  return arg;
}

int main(int argc, char **argv) {
  int reps = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 300;
  if (reps < 3)
    reps = 3;
  double w[3], c[3];

  /* A process that never had a second thread: glibc's fast path. */
  const op st_ops[] = {RAW_LOCK};
  measure(st_ops, 1, reps, 0, w, c);
  double st_lock = w[0], st_lock_cpu = c[0];

  /* From here on the process has had a thread, as every traced one has. */
  pthread_t t;
  pthread_create(&t, NULL, idle, NULL);
  pthread_join(t, NULL);
  const op off_ops[] = {RAW_LOCK, RAW_ACCESS, LOCK};
  measure(off_ops, 3, reps, 0, w, c);
  double raw_lock = w[0], raw_lock_cpu = c[0], raw_access = w[1];
  double off_lock = w[2];
  const op off_acc[] = {WRITE};
  measure(off_acc, 1, reps, 0, w, c);
  double off_access = w[0];

  /* Tracing on, events discarded by the null sink after full encoding and
   * compression by the drain thread. */
  unsetenv("CAUSEWAY_TRACE_FILE");
  unsetenv("CAUSEWAY_TRACE_DIR");
  unsetenv("CAUSEWAY_ENDPOINT");
  unsetenv("CAUSEWAY_DISABLED");
  cw_set_allocator(bench_touch_malloc, realloc, free);
  cw_config cfg;
  cw_config_init(&cfg);
  cfg.service = "bench";
  cfg.buffer_bytes = 32u << 20; /* 50 batches of each op fit */
  if (argc > 2)
    cfg.trace_file = argv[2];
  if (cw_init(&cfg) != CW_OK) {
    fprintf(stderr, "cw_init failed\n");
    return 1;
  }
  cw_lock_name(&mu, "bench:hot");
  const op on_ops[] = {LOCK, WRITE, READ};
  measure(on_ops, 3, reps, 50, w, c);
  cw_stats st;
  cw_stats_get(&st);
  cw_shutdown();

  printf("causeway SDK hot path (median of %d batches of %d; ns per "
         "operation, wall and thread CPU)\n",
         reps, BATCH);
  printf("  %-46s %8s %8s\n", "", "wall", "cpu");
  printf("  %-46s %8.1f %8.1f\n", "raw lock+unlock, single-threaded process",
         st_lock, st_lock_cpu);
  printf("  %-46s %8.1f %8.1f\n", "raw lock+unlock (the baseline)", raw_lock,
         raw_lock_cpu);
  printf("  %-46s %8.1f %8.1f   %.2fx raw\n", "instrumented lock+unlock", w[0],
         c[0], w[0] / raw_lock);
  printf("  %-46s %8.1f\n", "instrumented lock+unlock (tracing off)", off_lock);
  printf("  %-46s %8.1f\n", "raw memory read-modify-write", raw_access);
  printf("  %-46s %8.1f %8.1f\n", "recorded state access CW_WRITE_INT", w[1],
         c[1]);
  printf("  %-46s %8.1f %8.1f\n", "recorded state access CW_READ", w[2], c[2]);
  printf("  %-46s %8.1f\n", "state access (tracing off)", off_access);
  printf("  events recorded %llu, dropped %llu\n",
         (unsigned long long)st.events, (unsigned long long)st.dropped);
  printf("RESULT access_ns=%.1f access_cpu_ns=%.1f lock_ns=%.1f "
         "lock_cpu_ns=%.1f raw_lock_ns=%.1f raw_lock_st_ns=%.1f "
         "dropped=%llu\n",
         w[1], c[1], w[0], c[0], raw_lock, st_lock,
         (unsigned long long)st.dropped);
  return 0;
}
