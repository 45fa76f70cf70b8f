/*
 * bench_sdk_common.h: timing helpers shared by the SDK benchmarks: a
 * monotonic clock, medians of repeated timed batches, and resident memory.
 */
#ifndef BENCH_SDK_COMMON_H
#define BENCH_SDK_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline uint64_t bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int bench_cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* CPU time of the calling thread, in ns (a system call: time batches). */
static inline uint64_t bench_thread_cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* An allocator for cw_set_allocator() that touches every page of big
 * blocks (event buffers) at once, so that their first-touch page faults,
 * paid once per thread and run, stay out of the timed spans. */
static inline void *bench_touch_malloc(size_t n) {
  char *p = malloc(n);
  if (p && n >= (1u << 20)) /* (a zero memset would become calloc) */
    for (size_t i = 0; i < n; i += 4096)
      ((volatile char *)p)[i] = 1;
  return p;
}

/* Median of n samples (sorts them). */
static inline double bench_median(double *v, int n) {
  qsort(v, (size_t)n, sizeof(*v), bench_cmp_d);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Resident set size in KiB (from /proc/self/statm). */
static inline long bench_rss_kib(void) {
  long pages = 0, rss = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f) {
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
      rss = 0;
    fclose(f);
  }
  return rss * 4;
}

#endif /* BENCH_SDK_COMMON_H */
