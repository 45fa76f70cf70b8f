/*
 * bench_std_input: throughput of the STD input path behind
 * `causeway check`, next to baselines measured in the same run:
 *   1. baseline: finding the line ends of the trace (memchr), the floor of
 *      any line reader;
 *   2. parse: splitting and validating every line (cw__std_parse_line);
 *   3. check: streaming decode into the engine plus findings (what
 *      `causeway check trace.std` does), against the 10 s bar for 10 M
 *      events.
 * usage: bench_std_input [EVENTS]   (default 10000000)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cw_input.h"
#include "cw_report.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A bank-like trace: 8 threads, 64 accounts each guarded by its lock,
 * reads and writes of balances inside the critical sections. */
static char *make_trace(size_t events, size_t *len) {
  size_t cap = events * 32 + 4096, n = 0;
  char *buf = malloc(cap);
  if (!buf)
    return NULL;
  for (int t = 1; t <= 8; t++)
    n += (size_t)snprintf(buf + n, cap - n, "T0|fork(T%d)|main.c:%d\n", t, t);
  uint64_t x = 88172645463325252ull;
  size_t ev = 8;
  while (ev + 4 <= events) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    unsigned t = 1 + (unsigned)(x % 8), a = (unsigned)((x >> 8) % 64);
    n += (size_t)snprintf(buf + n, cap - n,
                          "T%u|acq(acct%u)|bank.c:10\n"
                          "T%u|r(acct%u.balance)|bank.c:11\n"
                          "T%u|w(acct%u.balance)|bank.c:12\n"
                          "T%u|rel(acct%u)|bank.c:13\n",
                          t, a, t, a, t, a, t, a);
    ev += 4;
  }
  *len = n;
  return buf;
}

int main(int argc, char **argv) {
  size_t events = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000;
  size_t len;
  char *trace = make_trace(events, &len);
  if (!trace)
    return 1;
  printf("trace: %zu events, %.1f MiB\n", events, (double)len / 1048576.0);

  double t0 = now();
  size_t lines = 0;
  for (const char *p = trace, *end = trace + len;
       (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
    lines++;
  double base = now() - t0;

  t0 = now();
  size_t ok = 0, pos = 0;
  char msg[200];
  while (pos < len) {
    const char *nl = memchr(trace + pos, '\n', len - pos);
    size_t n = (size_t)(nl - (trace + pos));
    cw_std_line l;
    ok += cw__std_parse_line(trace + pos, n, &l, msg, sizeof msg) == 0;
    pos += n + 1;
  }
  double parse = now() - t0;

  t0 = now();
  FILE *f = fmemopen(trace, len, "r");
  cw_engine *e = cw__engine_new(NULL);
  cw_input_stats st;
  memset(&st, 0, sizeof st);
  cw_input_error err;
  int rc = f && e ? cw__std_decode_stream(f, e, NULL, &st, &err) : -1;
  cw__engine_flush(e);
  cw_findings fi;
  uint64_t races = 0;
  if (rc == 0 && cw__findings_collect(&fi, e, NULL, &st) == 0)
    races = fi.sum.race_groups;
  cw__findings_free(&fi);
  double check = now() - t0;
  if (f)
    fclose(f);
  cw__engine_free(e);
  free(trace);
  if (rc != 0 || ok != lines) {
    fprintf(stderr, "bench_std_input: decode failed\n");
    return 1;
  }
  printf("%-34s %8.3f s  %7.1f M lines/s\n", "baseline: find line ends", base,
         (double)lines / base / 1e6);
  printf("%-34s %8.3f s  %7.1f M lines/s\n", "parse STD lines", parse,
         (double)lines / parse / 1e6);
  printf("%-34s %8.3f s  %7.1f M events/s  (bar: 10 M events <= 10 s; "
         "%llu race groups)\n",
         "check: decode + engine + findings", check,
         (double)events / check / 1e6, (unsigned long long)races);
  return 0;
}
