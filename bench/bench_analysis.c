/*
 * bench_analysis: analysis engine throughput and memory. For each size
 * (default 1 M and 10 M events) a child process generates the synthetic
 * trace of gen_trace_core in memory and feeds it straight to the engine;
 * the baseline, measured in the same child just before, runs the same
 * generator and only hashes each event. Prints events/s of both, the
 * engine's own cost per event, and the child's peak RSS (ru_maxrss).
 *
 * Usage: bench_analysis [EVENTS...]
 */
#define _POSIX_C_SOURCE 200809L
#include "cw_analysis.h"
#include "gen_trace_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static cw_sym *intern_all(cw_engine *e, const char *prefix, uint32_t n) {
  cw_sym *s = calloc(n ? n : 1, sizeof(*s));
  char buf[64];
  for (uint32_t i = 0; s && i < n; i++) {
    int len = snprintf(buf, sizeof(buf), "%s%u", prefix, i);
    s[i] = cw__engine_intern(e, buf, (size_t)len);
  }
  return s;
}

static int run(uint64_t events, uint64_t churn, int retire) {
  gt_config cfg = {events, 16, 10000, 64, 32, churn, 1};
  gt_gen g;
  gt_event ev;
  /* Baseline: generation plus a hash of every event. */
  if (gt_init(&g, &cfg) < 0)
    return 1;
  double t0 = now();
  uint64_t h = 1469598103934665603ull;
  while (gt_next(&g, &ev)) {
    h = (h ^ (uint64_t)ev.op) * 1099511628211ull;
    h = (h ^ ev.thread) * 1099511628211ull;
    h = (h ^ ev.obj) * 1099511628211ull;
    h = (h ^ ev.loc) * 1099511628211ull;
  }
  double base = now() - t0;
  gt_free(&g);

  cw_engine *e = cw__engine_new(NULL);
  uint32_t nt = gt_max_threads(&cfg);
  cw_sym *tsym = intern_all(e, "T", nt), *vsym = intern_all(e, "v", cfg.vars);
  cw_sym *rsym = intern_all(e, "r", cfg.racy_vars);
  cw_sym *csym = intern_all(e, "cfg", 16);
  cw_sym *lsym = intern_all(e, "L", cfg.locks);
  cw_sym *locsym = calloc(1000, sizeof(*locsym));
  for (uint32_t i = 0; locsym && i < 1000; i++) {
    char buf[32];
    int len = snprintf(buf, sizeof(buf), "f%u.c:%u", i / 100, i % 100);
    locsym[i] = cw__engine_intern(e, buf, (size_t)len);
  }
  cw_actor_id *act = calloc(nt, sizeof(*act));
  if (!tsym || !vsym || !rsym || !csym || !lsym || !locsym || !act)
    return 1;
  for (uint32_t i = 0; i < nt; i++)
    act[i] = cw__engine_actor(e, tsym[i], 0);
  if (gt_init(&g, &cfg) < 0)
    return 1;
  static const cw_ae_kind kinds[] = {
      CW_AE_READ,         CW_AE_WRITE, CW_AE_LOCK_ACQUIRE, CW_AE_LOCK_RELEASE,
      CW_AE_LOCK_REQUEST, CW_AE_FORK,  CW_AE_JOIN};
  t0 = now();
  uint64_t seq = 0;
  while (gt_next(&g, &ev)) {
    cw_aevent x;
    memset(&x, 0, sizeof(x));
    x.kind = kinds[ev.op];
    x.actor = act[ev.thread];
    x.loc = locsym[ev.loc];
    x.seq = ++seq;
    if (ev.op == GT_R || ev.op == GT_W)
      x.object = ev.racy_var ? rsym[ev.obj]
                 : ev.ro_var ? csym[ev.obj]
                             : vsym[ev.obj];
    else if (ev.op == GT_FORK || ev.op == GT_JOIN)
      x.child = act[ev.obj];
    else
      x.object = lsym[ev.obj];
    if (cw__engine_feed(e, &x) < 0) {
      fprintf(stderr, "event %llu (kind %d) rejected\n",
              (unsigned long long)seq, (int)x.kind);
      return 1;
    }
    if (retire && ev.op == GT_JOIN) {
      /* The joined worker is done: let the engine forget it. */
      memset(&x, 0, sizeof(x));
      x.kind = CW_AE_RETIRE;
      x.actor = act[ev.obj];
      x.seq = seq;
      if (cw__engine_feed(e, &x) < 0)
        return 1;
    }
  }
  cw__engine_flush(e);
  double eng = now() - t0;
  gt_free(&g);
  cw_summary s;
  cw__engine_summary(e, &s);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double per = (eng - base) / (double)events * 1e9;
  printf("%-7s %11llu %14.0f %14.0f %9.2f %9.1f %9.1f   %llu/%llu/%llu/%llu "
         "(hash %llx)\n",
         retire ? "retire" : "plain", (unsigned long long)events,
         (double)events / base, (double)events / eng, eng, per,
         (double)ru.ru_maxrss / 1024.0, (unsigned long long)s.racy_variables,
         (unsigned long long)s.racy_location_pairs,
         (unsigned long long)s.potential_deadlocks,
         (unsigned long long)s.contended_locks, (unsigned long long)(h & 0xff));
  fflush(stdout);
  cw__engine_free(e);
  free(tsym);
  free(vsym);
  free(rsym);
  free(csym);
  free(lsym);
  free(locsym);
  free(act);
  return 0;
}

int main(int argc, char **argv) {
  uint64_t sizes[16] = {1000000, 10000000};
  int n = 2;
  if (argc > 1) {
    n = 0;
    for (int i = 1; i < argc && n < 16; i++) {
      char *end;
      unsigned long long v = strtoull(argv[i], &end, 10);
      if (!*argv[i] || *end || !v) {
        fprintf(stderr, "usage: bench_analysis [EVENTS...]\n");
        return 2;
      }
      sizes[n++] = v;
    }
  }
  printf("analysis engine: synthetic trace, 16 workers, 10000 vars, "
         "64 locks\n"
         "plain:  a worker is joined and replaced every 500 k events\n"
         "retire: every 10 k events, and the joined worker is retired "
         "(CW_AE_RETIRE)\n");
  printf("%-7s %11s %14s %14s %9s %9s %9s   %s\n", "mode", "events",
         "baseline ev/s", "engine ev/s", "engine s", "ns/event", "peak MiB",
         "racy vars/loc pairs/pot. deadlocks/contended locks");
  for (int mode = 0; mode < 2; mode++) {
    for (int i = 0; i < n; i++) {
      fflush(stdout);
      pid_t pid = fork();
      if (pid < 0) {
        perror("fork");
        return 1;
      }
      if (pid == 0)
        _exit(run(sizes[i], mode ? 10000 : 500000, mode));
      int st = 0;
      if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
        fprintf(stderr, "bench_analysis: run of %llu events failed\n",
                (unsigned long long)sizes[i]);
        return 1;
      }
    }
  }
  printf("baseline = the same generator, hashing each event instead of "
         "analysing it;\nns/event = (engine - baseline) time per event.\n");
  return 0;
}
