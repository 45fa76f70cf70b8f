/*
 * gen_trace: writes a deterministic synthetic STD trace (see
 * gen_trace_core.h) to a file or stdout.
 *
 * Usage: gen_trace [-n EVENTS] [-t THREADS] [-v VARS] [-l LOCKS]
 *                  [-r RACY_VARS] [-c CHURN] [-s SEED] [-o FILE]
 */
#define _POSIX_C_SOURCE 200809L
#include "gen_trace_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int num(const char *s, uint64_t *out) {
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (!*s || *end)
    return -1;
  *out = v;
  return 0;
}

static void usage(void) {
  fprintf(stderr, "usage: gen_trace [-n EVENTS] [-t THREADS] [-v VARS] "
                  "[-l LOCKS] [-r RACY_VARS] [-c CHURN] [-s SEED] "
                  "[-o FILE]\n");
}

int main(int argc, char **argv) {
  gt_config cfg = {1000000, 16, 10000, 64, 32, 500000, 1};
  const char *out = NULL;
  for (int i = 1; i < argc; i++) {
    uint64_t v = 0;
    if (i + 1 >= argc || argv[i][0] != '-' || strlen(argv[i]) != 2) {
      usage();
      return 2;
    }
    char o = argv[i][1];
    const char *arg = argv[++i];
    if (o == 'o') {
      out = arg;
      continue;
    }
    if (num(arg, &v) < 0 || v > UINT32_MAX * 1000ull) {
      usage();
      return 2;
    }
    switch (o) {
    case 'n':
      cfg.events = v;
      break;
    case 't':
      cfg.threads = (uint32_t)v;
      break;
    case 'v':
      cfg.vars = (uint32_t)v;
      break;
    case 'l':
      cfg.locks = (uint32_t)v;
      break;
    case 'r':
      cfg.racy_vars = (uint32_t)v;
      break;
    case 'c':
      cfg.churn = v;
      break;
    case 's':
      cfg.seed = v;
      break;
    default:
      usage();
      return 2;
    }
  }
  gt_gen g;
  if (gt_init(&g, &cfg) < 0) {
    fprintf(stderr, "gen_trace: bad configuration\n");
    return 2;
  }
  FILE *f = out ? fopen(out, "w") : stdout;
  if (!f) {
    perror(out);
    gt_free(&g);
    return 1;
  }
  static const char *const ops[] = {"r",   "w",    "acq", "rel",
                                    "req", "fork", "join"};
  gt_event ev;
  fprintf(f, "# gen_trace -n %llu -t %u -v %u -l %u -r %u -c %llu -s %llu\n",
          (unsigned long long)cfg.events, cfg.threads, cfg.vars, cfg.locks,
          cfg.racy_vars, (unsigned long long)cfg.churn,
          (unsigned long long)cfg.seed);
  while (gt_next(&g, &ev)) {
    const char *prefix = ev.racy_var ? "r" : ev.ro_var ? "cfg" : "v";
    if (ev.op == GT_ACQ || ev.op == GT_REL || ev.op == GT_REQ)
      prefix = "L";
    else if (ev.op == GT_FORK || ev.op == GT_JOIN)
      prefix = "T";
    fprintf(f, "T%u|%s(%s%u)|f%u.c:%u\n", ev.thread, ops[ev.op], prefix, ev.obj,
            ev.loc / 100, ev.loc % 100);
  }
  gt_free(&g);
  int rc = ferror(f) ? 1 : 0;
  if (out && fclose(f) != 0)
    rc = 1;
  return rc;
}
