/*
 * gen_dl_trace: seeded random STD traces of nested locking for the
 * potential-deadlock benchmark (bench/bench_deadlock.sh); the same model
 * as tests/deadlock/gen_std.py, in C so that 10 M events take seconds:
 * worker threads forked by T0 (some joined and replaced: churn), nested
 * critical sections of 2..DEPTH distinct locks taken in lock order except
 * a fraction INV in random order (lock-order inversions), a gate lock
 * around a fraction GATE of them, req() before half the nested acquires,
 * hand-offs (one lock alone, with a write under it) and plain accesses.
 * With -H, each lock of a section is one of the first HOT locks with
 * probability 1/2 (row locks of a few hot rows among many). With -I K,
 * inversions are not random: K fixed code paths take two locks a < b
 * (b - a <= 4) as b then a, as a program's few inverted paths do, so the
 * number of lock cycles does not grow with the trace.
 *
 * usage: gen_dl_trace -n EVENTS [-t THREADS] [-l LOCKS] [-d DEPTH]
 *                     [-c CHURN] [-g GATE%] [-i INV_PER_MILLE] [-H HOT]
 *                     [-p PREFIX] [-s SEED] -o FILE
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng;
static uint32_t rnd(uint32_t n) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)((rng >> 11) % n);
}

static int num(const char *s, unsigned long long *out) {
  char *end;
  *out = strtoull(s, &end, 10);
  return *s && !*end ? 0 : -1;
}

static void usage(void) {
  fprintf(stderr, "usage: gen_dl_trace -n EVENTS [-t THREADS] [-l LOCKS] "
                  "[-d DEPTH] [-c CHURN] [-g GATE%%] [-i INV_PER_MILLE] "
                  "[-H HOT] [-I K] [-p PREFIX] [-s SEED] -o FILE\n");
}

int main(int argc, char **argv) {
  unsigned long long events = 0, threads = 12, locks = 10, depth = 3, churn = 0,
                     gate = 10, inv = 5, hot = 0, seed = 1, paths = 0;
  const char *prefix = "L", *out = NULL;
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 >= argc || argv[i][0] != '-' || strlen(argv[i]) != 2) {
      usage();
      return 2;
    }
    char o = argv[i][1];
    const char *a = argv[i + 1];
    unsigned long long *dst = o == 'n'   ? &events
                              : o == 't' ? &threads
                              : o == 'l' ? &locks
                              : o == 'd' ? &depth
                              : o == 'c' ? &churn
                              : o == 'g' ? &gate
                              : o == 'i' ? &inv
                              : o == 'H' ? &hot
                              : o == 'I' ? &paths
                              : o == 's' ? &seed
                                         : NULL;
    if (o == 'p')
      prefix = a;
    else if (o == 'o')
      out = a;
    else if (!dst || num(a, dst) != 0) {
      usage();
      return 2;
    }
  }
  if (!events || !out || !threads || locks < 2 || depth < 2 || depth > 8 ||
      hot > locks || paths > 64 || (paths && locks < 6)) {
    usage();
    return 2;
  }
  FILE *f = fopen(out, "w");
  if (!f) {
    perror(out);
    return 1;
  }
  static char buf[1 << 20];
  setvbuf(f, buf, _IOFBF, sizeof buf);
  rng = seed * 0x9E3779B97F4A7C15ull + 1;
  uint32_t *live = calloc(threads, sizeof *live);
  if (!live)
    return 1;
  uint64_t n = 0, next = 1, since = 0;
  for (uint32_t k = 0; k < threads; k++) {
    fprintf(f, "T0|fork(T%llu)|m.c:1\n", (unsigned long long)next);
    live[k] = (uint32_t)next++;
    n++;
  }
  uint64_t ngates = locks / 8 ? locks / 8 : 1;
  uint32_t seq[8], pa[64], pb[64];
  for (uint32_t k = 0; k < paths; k++) {
    uint32_t span = hot ? (uint32_t)hot : (uint32_t)locks;
    pa[k] = rnd(span > 5 ? span - 5 : 1);
    pb[k] = pa[k] + 1 + rnd(4);
  }
  while (n < events) {
    if (churn && since >= churn && threads > 1) {
      since = 0;
      uint32_t k = rnd((uint32_t)threads);
      fprintf(f, "T0|join(T%u)|m.c:2\nT0|fork(T%llu)|m.c:3\n", live[k],
              (unsigned long long)next);
      live[k] = (uint32_t)next++;
      n += 2;
      continue;
    }
    uint32_t t = live[rnd((uint32_t)threads)], loc = 10, r = rnd(100);
    uint64_t before = n;
    if (r < 15) { /* hand-off */
      uint32_t q = locks / 4 > 2 ? (uint32_t)(locks / 4) : 2;
      if (rnd(2)) {
        uint32_t l = rnd(q);
        fprintf(f,
                "T%u|acq(%s%u)|f.c:%u\nT%u|w(q%u)|f.c:%u\n"
                "T%u|rel(%s%u)|f.c:%u\n",
                t, prefix, l, loc, t, l, loc + 1, t, prefix, l, loc + 2);
      } else {
        uint32_t l = rnd(2);
        fprintf(f,
                "T%u|acq(Q%u)|f.c:%u\nT%u|w(qQ%u)|f.c:%u\n"
                "T%u|rel(Q%u)|f.c:%u\n",
                t, l, loc, t, l, loc + 1, t, l, loc + 2);
      }
      n += 3;
    } else if (r < 25) {
      fprintf(f, "T%u|%c(x%u)|f.c:%u\n", t, rnd(2) ? 'r' : 'w', rnd(8), loc);
      n++;
    } else {
      uint32_t d = 2 + rnd((uint32_t)depth - 1);
      for (uint32_t k = 0; k < d; k++) { /* distinct locks */
        uint32_t l;
        int dup;
        do {
          l = hot && rnd(2) ? rnd((uint32_t)hot) : rnd((uint32_t)locks);
          dup = 0;
          for (uint32_t j = 0; j < k; j++)
            dup |= seq[j] == l;
        } while (dup);
        seq[k] = l;
      }
      if (paths && rnd(1000) < inv) { /* one of the inverted paths */
        uint32_t k = rnd((uint32_t)paths);
        d = 2;
        seq[0] = pb[k];
        seq[1] = pa[k];
      } else if (paths || rnd(1000) >= inv) /* lock order */
        for (uint32_t k = 1; k < d; k++)
          for (uint32_t j = k; j > 0 && seq[j - 1] > seq[j]; j--) {
            uint32_t x = seq[j];
            seq[j] = seq[j - 1];
            seq[j - 1] = x;
          }
      int g = rnd(100) < gate;
      uint32_t gl = rnd((uint32_t)ngates);
      if (g) {
        fprintf(f, "T%u|acq(G%u)|f.c:%u\n", t, gl, loc++);
        n++;
      }
      for (uint32_t k = 0; k < d; k++) {
        if ((k || g) && rnd(2)) {
          fprintf(f, "T%u|req(%s%u)|f.c:%u\n", t, prefix, seq[k], loc++);
          n++;
        }
        fprintf(f, "T%u|acq(%s%u)|f.c:%u\n", t, prefix, seq[k], loc++);
        n++;
        if (rnd(10) < 3) {
          fprintf(f, "T%u|w(v%u)|f.c:%u\n", t, seq[k], loc++);
          n++;
        }
      }
      for (uint32_t k = d; k-- > 0;) {
        fprintf(f, "T%u|rel(%s%u)|f.c:%u\n", t, prefix, seq[k], loc++);
        n++;
      }
      if (g) {
        fprintf(f, "T%u|rel(G%u)|f.c:%u\n", t, gl, loc++);
        n++;
      }
    }
    since += n - before;
  }
  free(live);
  if (fclose(f) != 0) {
    perror(out);
    return 1;
  }
  return 0;
}
