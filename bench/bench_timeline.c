/*
 * bench_timeline: cost of GET /v1/timeline's query over a million kept
 * events (the viewer must stay responsive at that size). Prints each
 * query's time next to a baseline from the same run: one plain pass over
 * the same events that only sums a field (the floor for any one-pass
 * query). usage: bench_timeline [EVENTS] [ACTORS]
 */
#define _POSIX_C_SOURCE 200809L
#include "cw_format.h"
#include "timeline.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double run(cw_timeline *t, cw_engine *e, const char *qs, int reps,
                  size_t *bytes) {
  cw_tl_query q;
  char msg[128];
  if (cw__tl_query_parse(qs, &q, msg, sizeof msg)) {
    fprintf(stderr, "%s: %s\n", qs, msg);
    exit(1);
  }
  double best = 1e30;
  for (int r = 0; r < reps; r++) {
    double t0 = now_ms();
    json_t *v = cw__timeline_query(t, e, &q);
    char *txt = json_dumps(v, JSON_COMPACT);
    double dt = now_ms() - t0;
    *bytes = strlen(txt);
    free(txt);
    json_decref(v);
    if (dt < best)
      best = dt;
  }
  return best;
}

int main(int argc, char **argv) {
  uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
  uint32_t nactors = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 64;
  cw_engine *e = cw__engine_new(NULL);
  cw_timeline *t = cw__timeline_new((n + 16) * sizeof(cw_tl_event));
  cw_sym svc = cw__engine_intern(e, "bank", 4);
  cw_actor_id *act = calloc(nactors, sizeof *act);
  cw_sym vars[32], locks[4];
  char name[64];
  for (uint32_t a = 0; a < nactors; a++) {
    int l = snprintf(name, sizeof name, "bank#b1/worker-%u", a);
    act[a] = cw__engine_actor(e, cw__engine_intern(e, name, (size_t)l), svc);
  }
  for (int i = 0; i < 32; i++) {
    int l = snprintf(name, sizeof name, "account:%d.balance", i);
    vars[i] = cw__engine_intern(e, name, (size_t)l);
  }
  for (int i = 0; i < 4; i++) {
    int l = snprintf(name, sizeof name, "mutex-%d", i);
    locks[i] = cw__engine_intern(e, name, (size_t)l);
  }
  cw_sym loc = cw__engine_intern(e, "bank.c:40", 9);
  /* Each actor: acquire, read, write, release, repeated; 1 us apart. */
  static const uint8_t kinds[4] = {CW_EV_LOCK_ACQUIRED, CW_EV_READ, CW_EV_WRITE,
                                   CW_EV_LOCK_RELEASE};
  for (uint64_t i = 0; i < n; i++) {
    cw_tl_event ev;
    memset(&ev, 0, sizeof ev);
    uint32_t a = (uint32_t)(i % nactors);
    uint64_t k = i / nactors;
    ev.actor = act[a];
    ev.kind = kinds[k % 4];
    ev.object = ev.kind == CW_EV_READ || ev.kind == CW_EV_WRITE
                    ? vars[(k / 4 + a) % 32]
                    : locks[a % 4];
    ev.loc = loc;
    ev.wall_ns = 1700000000000000000ll + (int64_t)i * 1000;
    ev.seq = i;
    ev.counter = k + 1;
    cw__timeline_add(t, &ev);
  }
  /* Baseline: one pass that touches every kept event. */
  cw_tl_event *copy = malloc(n * sizeof *copy);
  cw_tl_query all;
  memset(&all, 0, sizeof all);
  (void)all;
  for (uint64_t i = 0; i < n; i++) {
    memset(&copy[i], 0, sizeof copy[i]);
    copy[i].wall_ns = (int64_t)i;
  }
  double base = 1e30;
  for (int r = 0; r < 3; r++) {
    double t0 = now_ms();
    volatile int64_t sum = 0;
    for (uint64_t i = 0; i < n; i++)
      sum += copy[i].wall_ns;
    double dt = now_ms() - t0;
    (void)sum;
    if (dt < base)
      base = dt;
  }
  free(copy);
  printf("%llu events, %u actors; baseline one pass over them: %.2f ms\n",
         (unsigned long long)n, nactors, base);
  printf("%-48s %10s %8s %10s\n", "query", "ms (best)", "x base", "bytes");
  char w[256];
  snprintf(
      w, sizeof w, "from=%lld&to=%lld",
      (long long)(1700000000000000000ll + (int64_t)(n / 2) * 1000),
      (long long)(1700000000000000000ll + (int64_t)(n / 2) * 1000 + 1999000));
  const char *qs[] = {"", "buckets=2000", w, "actor=bank%23b1%2Fworker-7",
                      "actor=bank%23b1%2Fworker-7&mode=events&limit=10000"};
  const char *label[] = {
      "whole range (buckets, 200)", "whole range (2000 buckets)",
      "2 ms window (2000 events, with locks)",
      "one actor, whole range (buckets)", "one actor, first 10000 events"};
  for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
    size_t bytes = 0;
    double ms = run(t, e, qs[i], 3, &bytes);
    printf("%-48s %10.2f %8.1f %10zu\n", label[i], ms, ms / base, bytes);
  }
  cw__timeline_free(t);
  cw__engine_free(e);
  free(act);
  return 0;
}
