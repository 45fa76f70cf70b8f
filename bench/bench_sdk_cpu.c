/*
 * bench_sdk_cpu.c: the whole process's CPU time per recorded event. N
 * threads each run a loop of (lock its own mutex, write a key, unlock):
 * three events per iteration (acquire, write, release), uncontended, so the
 * figure is the SDK's cost and not lock contention. The measured span runs
 * from when every thread is ready (started, and registered with the SDK by
 * one warm-up iteration) to after cw_flush() returned, so it holds every
 * thread's CPU: the producers, the drain (encoding and LZ4) and the sink,
 * for every event. The buffers are allocated and touched before the span
 * (registration), and freed after it: the recording threads stay (blocked)
 * until the span ends, then exit, and cw_shutdown() frees what is left;
 * the figure with their exit and cw_shutdown() inside the span (freeing a
 * ring sized for the whole run is mostly munmap time, proportional to the
 * ring and not to the events) is printed too (cpu_ns_per_event_shutdown). It
 * prints CPU and wall time per event, the user/system split, context
 * switches, and the events recorded and dropped.
 *
 * Built twice: linked with the SDK (bench_sdk_cpu, modes "cw" = recorded,
 * "off" = the wrappers with tracing off), and by bench_sdk.sh from this
 * same file with -DBENCH_RAW (mode "raw": plain pthread calls and a plain
 * store), plain and with -fsanitize=thread, so that raw, causeway and TSan
 * run the same loop in the same run.
 * The per-thread buffer is sized to hold the whole run (or RING_MB split
 * over the threads), so no event is dropped even where the
 * drain runs slower than a loop that does nothing but record: the figure is
 * then the cost of every event, whether the drain encodes it during the
 * run or at shutdown. The dropped count is printed to show it.
 * It prints the recording threads' own CPU (producer_ns_per_event) and the
 * rest (other_ns_per_event: the drain, the sink and the waiting main
 * thread) apart.
 * Usage: bench_sdk_cpu MODE THREADS ITERATIONS_PER_THREAD [RING_MB [trace]]
 *   BENCH_BATCH_KB (environment): the SDK's batch size (default 1024).
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <string.h>
#include <sys/resource.h>

#include "bench_sdk_common.h"

#ifdef BENCH_RAW
#define LOCK(m) pthread_mutex_lock(m)
#define UNLOCK(m) pthread_mutex_unlock(m)
#define WRITE(key, slot, v) ((void)(key), (slot) = (v))
#else
#include <causeway.h>
#define LOCK(m) cw_mutex_lock(m)
#define UNLOCK(m) cw_mutex_unlock(m)
#define WRITE(key, slot, v) (CW_WRITE_INT((key), (v)), (slot) = (v))
#endif

#define EVENTS_PER_ITER 3
#define MAX_THREADS 64

typedef struct worker {
  pthread_mutex_t mu;
  volatile long value;
  long iters;
  uint64_t cpu_ns; /* the thread's CPU time in the measured loop */
  char pad[64];
} worker;

static worker workers[MAX_THREADS];

static pthread_barrier_t ready, go, finished, leave;

static void *run(void *arg) {
  worker *w = arg;
  /* One iteration first, outside the measured span: it registers the
   * thread with the SDK (allocating and touching its buffer). */
  LOCK(&w->mu);
  WRITE("account:alice.balance", w->value, -1);
  UNLOCK(&w->mu);
  pthread_barrier_wait(&ready);
  pthread_barrier_wait(&go);
  uint64_t c0 = bench_thread_cpu();
  for (long i = 0; i < w->iters; i++) {
    LOCK(&w->mu);
    WRITE("account:alice.balance", w->value, i);
    UNLOCK(&w->mu);
  }
  w->cpu_ns = bench_thread_cpu() - c0;
  /* Stay until the span ends: a thread that exits has its state and ring
   * freed by the drain, and a ring sized for the whole run is mostly
   * munmap time (counted with cw_shutdown's, after the span). */
  pthread_barrier_wait(&finished);
  pthread_barrier_wait(&leave);
  return NULL;
}

static uint64_t process_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double tv_ms(struct timeval a, struct timeval b) {
  return (double)(b.tv_sec - a.tv_sec) * 1e3 +
         (double)(b.tv_usec - a.tv_usec) / 1e3;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr,
            "usage: %s raw|off|cw THREADS ITERATIONS [RING_MB [trace]]\n",
            argv[0]);
    return 2;
  }
  const char *mode = argv[1];
  int nt = (int)strtol(argv[2], NULL, 10);
  long iters = strtol(argv[3], NULL, 10);
  if (nt < 1 || nt > MAX_THREADS || iters < 1) {
    fprintf(stderr, "bad thread or iteration count\n");
    return 2;
  }
#ifdef BENCH_RAW
  if (strcmp(mode, "raw") != 0) {
    fprintf(stderr, "this build runs mode raw only\n");
    return 2;
  }
#else
  int traced = strcmp(mode, "cw") == 0;
  if (!traced && strcmp(mode, "off") != 0) {
    fprintf(stderr, "mode must be cw or off\n");
    return 2;
  }
  if (traced) {
    cw_set_allocator(bench_touch_malloc, realloc, free);
    unsetenv("CAUSEWAY_DISABLED");
    cw_config cfg;
    cw_config_init(&cfg);
    cfg.service = "bench";
    /* Room for the whole run: at most 112 bytes per event. */
    long mb = argc > 4 ? strtol(argv[4], NULL, 10) : 0;
    long per =
        mb > 0 ? (mb << 20) / nt : iters * EVENTS_PER_ITER * 112 + (1l << 20);
    cfg.buffer_bytes = per > (1l << 30) ? 1u << 30 : (uint32_t)per;
    const char *bk = getenv("BENCH_BATCH_KB"); /* batch size experiments */
    if (bk && strtol(bk, NULL, 10) > 0)
      cfg.batch_bytes = (uint32_t)strtol(bk, NULL, 10) << 10;
    if (argc > 5) {
      cfg.trace_file = argv[5];
    } else {
      unsetenv("CAUSEWAY_TRACE_FILE");
      unsetenv("CAUSEWAY_TRACE_DIR");
      unsetenv("CAUSEWAY_ENDPOINT");
    }
    if (cw_init(&cfg) != CW_OK || !cw_is_enabled()) {
      fprintf(stderr, "cw_init failed\n");
      return 1;
    }
  }
#endif
  for (int t = 0; t < nt; t++) {
    pthread_mutex_init(&workers[t].mu, NULL);
    workers[t].iters = iters;
  }
  pthread_t th[MAX_THREADS];
  pthread_barrier_init(&ready, NULL, (unsigned)nt + 1);
  pthread_barrier_init(&go, NULL, (unsigned)nt + 1);
  pthread_barrier_init(&finished, NULL, (unsigned)nt + 1);
  pthread_barrier_init(&leave, NULL, (unsigned)nt + 1);
  for (int t = 0; t < nt; t++)
    pthread_create(&th[t], NULL, run, &workers[t]);
  pthread_barrier_wait(&ready);
  struct rusage r0, r1;
  getrusage(RUSAGE_SELF, &r0);
  uint64_t c0 = process_cpu_ns(), w0 = bench_now();
  pthread_barrier_wait(&go);
  pthread_barrier_wait(&finished);
  unsigned long long events = 0, dropped = 0;
#ifndef BENCH_RAW
  if (traced) {
    cw_stats st;
    cw_stats_get(&st);
    /* Inside the span: the drain encodes, compresses and writes every
     * event recorded so far. */
    if (cw_flush() != CW_OK) {
      fprintf(stderr, "cw_flush failed\n");
      return 1;
    }
    events = st.events;
    dropped = st.dropped;
  }
#endif
  uint64_t c1 = process_cpu_ns(), w1 = bench_now();
  getrusage(RUSAGE_SELF, &r1);
  pthread_barrier_wait(&leave);
  for (int t = 0; t < nt; t++)
    pthread_join(th[t], NULL);
#ifndef BENCH_RAW
  if (traced)
    cw_shutdown();
#endif
  uint64_t c2 = process_cpu_ns();
  double ops = (double)nt * (double)iters * EVENTS_PER_ITER;
  uint64_t prod = 0; /* the recording threads' CPU; the rest is the drain's,
                        the sink's and the (mostly waiting) main thread's */
  for (int t = 0; t < nt; t++)
    prod += workers[t].cpu_ns;
  if (events == 0)
    events = (unsigned long long)ops; /* raw, off: operations */
  printf("RESULT mode=%s threads=%d events=%llu dropped=%llu "
         "cpu_ns_per_event=%.1f cpu_ns_per_event_shutdown=%.1f "
         "producer_ns_per_event=%.1f other_ns_per_event=%.1f "
         "wall_ns_per_event=%.1f user_ms=%.1f "
         "sys_ms=%.1f vcsw=%ld ivcsw=%ld minflt=%ld\n",
         mode, nt, events, dropped, (double)(c1 - c0) / ops,
         (double)(c2 - c0) / ops, (double)prod / ops,
         (double)(c1 - c0 - prod) / ops, (double)(w1 - w0) / ops,
         tv_ms(r0.ru_utime, r1.ru_utime), tv_ms(r0.ru_stime, r1.ru_stime),
         r1.ru_nvcsw - r0.ru_nvcsw, r1.ru_nivcsw - r0.ru_nivcsw,
         r1.ru_minflt - r0.ru_minflt);
  return 0;
}
