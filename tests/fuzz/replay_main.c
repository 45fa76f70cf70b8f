/*
 * replay_main: the one plain driver for every fuzz target, so their corpora
 * run as regression tests without libFuzzer (as lz4's standaloneengine.c
 * does). Each argument is a file or a directory of files. Every file is run
 * whole, cut at 64 points (truncated inputs), and then through a fixed,
 * seeded set of mutations (bit flips, truncations, overwritten runs,
 * appended junk), so the normal suite feeds the decoders malformed input on
 * every run. The first byte is never mutated: some targets use it to pick a
 * route. `--mutations N` sets the mutations per file (default 50).
 * Targets that hold global state (a server, an analyzer) free it with
 * atexit().
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_FILE ((size_t)16 << 20)
#define REPLAY_JUNK 16

static uint64_t rng = 0x2545F4914F6CDD1Dull;

static uint32_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 11);
}

/* Runs exactly `n` bytes from a fresh allocation, so ASan sees overreads. */
static void run_copy(const uint8_t *d, size_t n, size_t *runs) {
  uint8_t *p = malloc(n ? n : 1);
  if (!p)
    return;
  memcpy(p, d, n);
  LLVMFuzzerTestOneInput(p, n);
  free(p);
  (*runs)++;
}

static void mutate_and_run(const uint8_t *d, size_t n, int rounds,
                           size_t *runs) {
  uint8_t *b = malloc(n + REPLAY_JUNK);
  if (!b)
    return;
  for (int r = 0; r < rounds; r++) {
    memcpy(b, d, n);
    size_t len = n;
    int kind = (int)(next() % 4);
    if (kind == 0 && len > 1) { /* flip a few bits */
      for (int k = 0; k < 1 + (int)(next() % 4); k++) {
        size_t at = 1 + next() % (len - 1);
        b[at] ^= (uint8_t)(1u << (next() % 8));
      }
    } else if (kind == 1 && len > 1) { /* truncate */
      len = 1 + next() % (len - 1);
    } else if (kind == 2 && len > 2) { /* overwrite a run of bytes */
      size_t at = 1 + next() % (len - 1);
      size_t k = 1 + next() % 8;
      for (size_t i = 0; i < k && at + i < len; i++)
        b[at + i] = (uint8_t)next();
    } else { /* append junk */
      for (int i = 0; i < REPLAY_JUNK; i++)
        b[len + (size_t)i] = (uint8_t)next();
      len += REPLAY_JUNK;
    }
    run_copy(b, len, runs);
  }
  free(b);
}

static int run_file(const char *path, int rounds, size_t *runs) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    return -1;
  }
  uint8_t *buf = malloc(REPLAY_MAX_FILE);
  size_t n = buf ? fread(buf, 1, REPLAY_MAX_FILE, f) : 0;
  fclose(f);
  if (!buf)
    return -1;
  size_t step = n / 64 ? n / 64 : 1;
  for (size_t cut = 0; cut < n; cut += step)
    run_copy(buf, cut, runs);
  run_copy(buf, n, runs);
  if (n > 0)
    mutate_and_run(buf, n, rounds, runs);
  free(buf);
  return 0;
}

int main(int argc, char **argv) {
  size_t files = 0, runs = 0;
  int rc = 0, rounds = 50;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--mutations") && i + 1 < argc) {
      rounds = (int)strtol(argv[++i], NULL, 10);
      continue;
    }
    struct stat sb;
    if (stat(argv[i], &sb) != 0) {
      perror(argv[i]);
      return 1;
    }
    if (!S_ISDIR(sb.st_mode)) {
      rc |= run_file(argv[i], rounds, &runs);
      files++;
      continue;
    }
    DIR *d = opendir(argv[i]);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
      if (de->d_name[0] == '.')
        continue;
      char path[4096];
      snprintf(path, sizeof path, "%s/%s", argv[i], de->d_name);
      rc |= run_file(path, rounds, &runs);
      files++;
    }
    if (d)
      closedir(d);
  }
  printf("replayed %zu files (%zu runs, %d mutations each)\n", files, runs,
         rounds);
  return rc ? 1 : (files ? 0 : 1);
}
