/*
 * bench_analysis_scale: growth of the race checker's cost with the number
 * of distinct locations of ONE variable. For N = 17.5 K, 35 K, 70 K and
 * 140 K accesses (or the sizes given) it times three patterns on one
 * variable x written at N distinct locations:
 *   same    one actor writes x at loc0, loc1, ... loc(N-1);
 *   locked  two actors alternate acquire(L); write x at loc_i; release(L);
 *   mixed   four actors alternate under L, each also writing its own
 *           unprotected variable (no race on x, the lock orders them);
 * and, with -f, three patterns of N distinct actors (never retired, as in
 * an STD trace of short threads), whose cost is bound by vector clocks,
 * not by the race checker (quadratic in both columns; docs/detection.md,
 * section 9; use small N):
 *   tasks   each actor: acquire(L); write x at loc_i; release(L) (every
 *           acquire joins a release clock holding all earlier actors);
 *   readers one actor writes x under L, then each actor reads x at loc_i
 *           holding L in read mode (concurrent readers, no race);
 *   forkjoin the main actor forks task i, task i writes x at loc_i, the
 *           main actor joins it;
 * each next to its baseline measured in the same run: the same events with
 * a distinct variable per access (the cost per access cannot depend on N
 * there). Near-linear cost shows as a flat ratio and a flat ns/access as N
 * doubles. Symbols are interned before the clock starts.
 *
 * Usage: bench_analysis_scale [-f] [N...]  (default N: 17500 35000 70000
 * 140000; with -f: 2500 5000 10000)
 */
#define _POSIX_C_SOURCE 200809L
#include "cw_analysis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int feedf(cw_engine *e, cw_ae_kind k, uint32_t flags, cw_actor_id a,
                 cw_sym obj, cw_sym loc, uint64_t *seq) {
  cw_aevent x;
  memset(&x, 0, sizeof(x));
  x.kind = k;
  x.flags = flags;
  x.actor = a;
  x.object = obj;
  x.loc = loc;
  x.seq = ++*seq;
  return cw__engine_feed(e, &x);
}

static int feed(cw_engine *e, cw_ae_kind k, cw_actor_id a, cw_sym obj,
                cw_sym loc, uint64_t *seq) {
  return feedf(e, k, 0, a, obj, loc, seq);
}

/* Runs pattern `pat` (0 same, 1 locked, 2 mixed, 3 tasks, 4 readers,
 * 5 forkjoin) with N accesses of x, or
 * of N distinct variables when `distinct`. @return seconds, < 0 on error. */
static double run(int pat, uint32_t n, int distinct, unsigned *racy) {
  cw_engine *e = cw__engine_new(NULL);
  cw_sym *loc = calloc(n, sizeof(*loc)), *var = calloc(n, sizeof(*var));
  if (!e || !loc || !var)
    return -1;
  char buf[48];
  for (uint32_t i = 0; i < n; i++) {
    int len = snprintf(buf, sizeof(buf), "file%u.c:%u", i / 1000, i % 1000);
    loc[i] = cw__engine_intern(e, buf, (size_t)len);
    len = snprintf(buf, sizeof(buf), "x%u", distinct ? i : 0);
    var[i] = cw__engine_intern(e, buf, (size_t)len);
  }
  cw_actor_id act[4], *task = calloc(n, sizeof(*task));
  cw_sym own[4];
  if (!task)
    return -1;
  for (uint32_t i = 0; pat >= 3 && i < n; i++) {
    int len = snprintf(buf, sizeof(buf), "task%u", i);
    task[i] = cw__engine_actor(e, cw__engine_intern(e, buf, (size_t)len), 0);
  }
  for (int t = 0; t < 4; t++) {
    int len = snprintf(buf, sizeof(buf), "T%d", t);
    act[t] = cw__engine_actor(e, cw__engine_intern(e, buf, (size_t)len), 0);
    len = snprintf(buf, sizeof(buf), "own%d", t);
    own[t] = cw__engine_intern(e, buf, (size_t)len);
  }
  cw_sym lk = cw__engine_intern(e, "L", 1);
  int nt = pat == 0 ? 1 : pat == 1 ? 2 : 4;
  uint64_t seq = 0;
  int bad = 0;
  double t0 = now();
  for (uint32_t i = 0; pat == 3 && i < n && !bad; i++) {
    bad |= feed(e, CW_AE_LOCK_ACQUIRE, task[i], lk, loc[i], &seq) < 0;
    bad |= feed(e, CW_AE_WRITE, task[i], var[i], loc[i], &seq) < 0;
    bad |= feed(e, CW_AE_LOCK_RELEASE, task[i], lk, loc[i], &seq) < 0;
  }
  if (pat == 4) {
    bad |= feed(e, CW_AE_LOCK_ACQUIRE, act[0], lk, loc[0], &seq) < 0;
    bad |= feed(e, CW_AE_WRITE, act[0], var[0], loc[0], &seq) < 0;
    bad |= feed(e, CW_AE_LOCK_RELEASE, act[0], lk, loc[0], &seq) < 0;
  }
  for (uint32_t i = 0; pat == 4 && i < n && !bad; i++) {
    bad |= feedf(e, CW_AE_LOCK_ACQUIRE, CW_AEF_SHARED, task[i], lk, loc[i],
                 &seq) < 0;
    bad |= feed(e, CW_AE_READ, task[i], var[i], loc[i], &seq) < 0;
    bad |= feed(e, CW_AE_LOCK_RELEASE, task[i], lk, loc[i], &seq) < 0;
  }
  for (uint32_t i = 0; pat == 5 && i < n && !bad; i++) {
    cw_aevent x;
    memset(&x, 0, sizeof(x));
    x.kind = CW_AE_FORK;
    x.actor = act[0];
    x.child = task[i];
    x.seq = ++seq;
    bad |= cw__engine_feed(e, &x) < 0;
    bad |= feed(e, CW_AE_WRITE, task[i], var[i], loc[i], &seq) < 0;
    x.kind = CW_AE_JOIN;
    x.seq = ++seq;
    bad |= cw__engine_feed(e, &x) < 0;
  }
  for (uint32_t i = 0; pat < 3 && i < n && !bad; i++) {
    cw_actor_id a = act[i % (uint32_t)nt];
    if (pat == 2)
      bad |= feed(e, CW_AE_WRITE, a, own[i % 4], loc[i % 4], &seq) < 0;
    if (pat)
      bad |= feed(e, CW_AE_LOCK_ACQUIRE, a, lk, loc[i], &seq) < 0;
    bad |= feed(e, CW_AE_WRITE, a, var[i], loc[i], &seq) < 0;
    if (pat)
      bad |= feed(e, CW_AE_LOCK_RELEASE, a, lk, loc[i], &seq) < 0;
  }
  cw__engine_flush(e);
  double t = now() - t0;
  cw_summary s;
  cw__engine_summary(e, &s);
  *racy = (unsigned)s.racy_variables;
  cw__engine_free(e);
  free(loc);
  free(var);
  free(task);
  return bad ? -1 : t;
}

int main(int argc, char **argv) {
  uint32_t sizes[16] = {17500, 35000, 70000, 140000};
  int ns = 4, p0 = 0, npat = 3, first = 1;
  if (argc > 1 && strcmp(argv[1], "-f") == 0) {
    p0 = 3;
    npat = 6;
    first = 2;
    sizes[0] = 2500;
    sizes[1] = 5000;
    sizes[2] = 10000;
    ns = 3;
  }
  if (argc > first) {
    ns = 0;
    for (int i = first; i < argc && ns < 16; i++) {
      char *end;
      unsigned long v = strtoul(argv[i], &end, 10);
      if (!*argv[i] || *end || !v || v > 100000000ul) {
        fprintf(stderr, "usage: bench_analysis_scale [-f] [N...]\n");
        return 2;
      }
      sizes[ns++] = (uint32_t)v;
    }
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  static const char *names[] = {"same",  "locked",  "mixed",
                                "tasks", "readers", "forkjoin"};
  printf("one variable written at N distinct locations vs N distinct "
         "variables (baseline)\n");
  printf("%-8s %9s %12s %12s %8s %14s %6s\n", "pattern", "N", "one var s",
         "baseline s", "ratio", "ns/access(1v)", "racy");
  for (int p = p0; p < npat; p++) {
    for (int i = 0; i < ns; i++) {
      unsigned r1 = 0, r2 = 0;
      double base = run(p, sizes[i], 1, &r2);
      double one = run(p, sizes[i], 0, &r1);
      if (one < 0 || base < 0) {
        fprintf(stderr, "bench_analysis_scale: run failed\n");
        return 1;
      }
      printf("%-8s %9u %12.4f %12.4f %8.2f %14.1f %6u\n", names[p], sizes[i],
             one, base, one / (base > 0 ? base : 1e-9),
             one / (double)sizes[i] * 1e9, r1 + r2);
    }
  }
  printf("ratio = one variable / distinct variables; near-linear cost keeps "
         "it\nand ns/access flat as N doubles. racy must be 0 (no races).\n");
  return 0;
}
