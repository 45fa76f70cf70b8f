/*
 * cli_progress: a single updating "\r" line on stderr while large inputs
 * are read, only when stderr is a terminal; silent otherwise.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* Inputs smaller than this finish too fast to need a progress line. */
#define PROGRESS_MIN_BYTES (8ull << 20)

struct cli_progress {
  const char *name;
  unsigned long long total, before;
  double last;
  int shown;
};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

cli_progress *cli_progress_new(int mode, unsigned long long total_bytes) {
  if (mode == 0 || (mode < 0 && (!isatty(STDERR_FILENO) ||
                                 total_bytes < PROGRESS_MIN_BYTES)))
    return NULL;
  cli_progress *p = calloc(1, sizeof *p);
  if (p)
    p->total = total_bytes;
  return p;
}

void cli_progress_file(cli_progress *p, const char *name,
                       unsigned long long before_bytes) {
  if (!p)
    return;
  p->name = name;
  p->before = before_bytes;
}

void cli_progress_cb(void *ud, uint64_t done, uint64_t total) {
  cli_progress *p = ud;
  (void)total;
  if (!p)
    return;
  double t = now_s();
  if (p->shown && t - p->last < 0.1)
    return;
  p->last = t;
  p->shown = 1;
  unsigned long long d = p->before + done;
  if (d > p->total)
    d = p->total;
  fprintf(stderr, "\rcauseway: reading %s: %3llu%% (%llu of %llu MiB)\033[K",
          p->name ? p->name : "", p->total ? d * 100 / p->total : 0, d >> 20,
          p->total >> 20);
  fflush(stderr);
}

void cli_progress_end(cli_progress *p) {
  if (!p)
    return;
  if (p->shown)
    fputs("\r\033[K", stderr);
  free(p);
}
