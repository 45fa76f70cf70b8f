/*
 * replay_main: a plain driver for the fuzz targets, so their corpora run as
 * regression tests without libFuzzer (as lz4's standaloneengine.c does).
 * Each argument is a file or a directory of files; every file is run whole
 * and cut at 64 points, which replays truncated inputs too.
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

static int run_file(const char *path, size_t *runs) {
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
  for (size_t cut = 0; cut < n; cut += step) {
    /* A fresh copy of exactly `cut` bytes, so ASan sees overreads. */
    uint8_t *p = malloc(cut ? cut : 1);
    if (!p)
      break;
    memcpy(p, buf, cut);
    LLVMFuzzerTestOneInput(p, cut);
    free(p);
    (*runs)++;
  }
  uint8_t *p = malloc(n ? n : 1);
  if (p) {
    memcpy(p, buf, n);
    LLVMFuzzerTestOneInput(p, n);
    free(p);
    (*runs)++;
  }
  free(buf);
  return 0;
}

int main(int argc, char **argv) {
  size_t files = 0, runs = 0;
  int rc = 0;
  for (int i = 1; i < argc; i++) {
    struct stat sb;
    if (stat(argv[i], &sb) != 0) {
      perror(argv[i]);
      return 1;
    }
    if (!S_ISDIR(sb.st_mode)) {
      rc |= run_file(argv[i], &runs);
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
      rc |= run_file(path, &runs);
      files++;
    }
    if (d)
      closedir(d);
  }
  printf("replayed %zu files (%zu runs)\n", files, runs);
  return rc ? 1 : (files ? 0 : 1);
}
