/*
 * cli_files: lists the trace files of a directory (for `run`'s trace
 * directory and for directories given to `check`).
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define LIST_MAX_FILES 100000

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int has_suffix(const char *s, const char *const *suffixes) {
  size_t n = strlen(s);
  for (; *suffixes; suffixes++) {
    size_t m = strlen(*suffixes);
    if (n > m && strcmp(s + n - m, *suffixes) == 0)
      return 1;
  }
  return 0;
}

void cli_free_list(char **v, long n) {
  for (long i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

long cli_list_dir(const char *dir, const char *const *suffixes, char ***out) {
  *out = NULL;
  DIR *d = opendir(dir);
  if (!d)
    return -1;
  char **v = NULL;
  size_t n = 0, cap = 0;
  int oom = 0;
  struct dirent *de;
  while (!oom && (de = readdir(d)) != NULL) {
    if (!has_suffix(de->d_name, suffixes) || n >= LIST_MAX_FILES)
      continue;
    if (n == cap) {
      size_t ncap = cap ? cap * 2 : 16;
      char **nv = realloc(v, ncap * sizeof *nv);
      if (!nv) {
        oom = 1;
        break;
      }
      v = nv;
      cap = ncap;
    }
    size_t len = strlen(dir) + strlen(de->d_name) + 2;
    char *p = malloc(len);
    if (!p) {
      oom = 1;
      break;
    }
    snprintf(p, len, "%s/%s", dir, de->d_name);
    v[n++] = p;
  }
  closedir(d);
  if (oom) {
    cli_free_list(v, (long)n);
    return -1;
  }
  if (n > 1)
    qsort(v, n, sizeof *v, cmp_str);
  *out = v;
  return (long)n;
}
