/*
 * bench_sdk_raw.c: the uninstrumented baseline of bench_sdk_hotpath: the
 * same loops with plain pthread calls and plain memory accesses, in a
 * process that has had a second thread (glibc drops the atomic `lock`
 * prefix while a process never had one; see bench_sdk_hotpath.c). The
 * bench_sdk.sh script also builds it with -fsanitize=thread, to compare
 * against ThreadSanitizer on the same program.
 * Usage: bench_sdk_raw [reps] ; prints "raw_access_ns X" and
 * "raw_lock_ns Y" (medians per operation).
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>

#include "bench_sdk_common.h"

#define BATCH 1000

static long shared_value;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

/* Keeps the other thread alive so that TSan runs in multi-threaded mode. */
static void *idle(void *arg) {
  (void)arg;
  return NULL;
}

int main(int argc, char **argv) {
  int reps = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 300;
  if (reps < 3)
    reps = 3;
  pthread_t t;
  pthread_create(&t, NULL, idle, NULL);
  pthread_join(t, NULL);
  double *acc = malloc(sizeof(double) * (size_t)reps);
  double *lk = malloc(sizeof(double) * (size_t)reps);
  volatile long *p = &shared_value;
  for (int r = 0; r < reps; r++) {
    uint64_t t0 = bench_now();
    for (int i = 0; i < BATCH; i++)
      *p = *p + 1;
    uint64_t t1 = bench_now();
    for (int i = 0; i < BATCH; i++) {
      pthread_mutex_lock(&mu);
      pthread_mutex_unlock(&mu);
    }
    uint64_t t2 = bench_now();
    acc[r] = (double)(t1 - t0) / BATCH;
    lk[r] = (double)(t2 - t1) / BATCH;
  }
  printf("raw_access_ns %.2f\n", bench_median(acc, reps));
  printf("raw_lock_ns %.2f\n", bench_median(lk, reps));
  free(acc);
  free(lk);
  return 0;
}
