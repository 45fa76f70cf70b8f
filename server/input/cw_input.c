/*
 * cw_input: format detection and the names shared by the input decoders.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw_input.h"

static const char *const skip_names[CW_SKIP_REASON_COUNT_] = {
    "not_object",    "bad_kind",  "unknown_kind", "bad_metadata",
    "bad_timestamp", "bad_field", "limit",
};

void cw__input_error_at(cw_input_error *err, const char *name, uint64_t line,
                        const char *msg) {
  if (!err)
    return;
  if (line)
    snprintf(err->msg, sizeof err->msg, "%s:%llu: %s", name,
             (unsigned long long)line, msg);
  else
    snprintf(err->msg, sizeof err->msg, "%s: %s", name, msg);
  err->line = line;
}

const char *cw__skip_reason_name(cw_skip_reason r) {
  if ((unsigned)r >= CW_SKIP_REASON_COUNT_)
    return "unknown";
  return skip_names[r];
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

cw_input_format cw__input_detect(const char *path, const uint8_t *head,
                                 size_t n) {
  static const uint8_t lz4_magic[4] = {0x04, 0x22, 0x4d, 0x18};
  if (n >= 4 && memcmp(head, lz4_magic, 4) == 0)
    return CW_FMT_NATIVE;
  if (path && ends_with(path, ".cwt"))
    return CW_FMT_NATIVE;
  size_t i = 0;
  /* Skip a UTF-8 byte order mark and leading blanks. */
  if (n >= 3 && head[0] == 0xef && head[1] == 0xbb && head[2] == 0xbf)
    i = 3;
  while (i < n && (head[i] == ' ' || head[i] == '\t' || head[i] == '\r' ||
                   head[i] == '\n'))
    i++;
  /* JSON lines with clocks may open with '#' comment lines. */
  size_t k = i;
  while (k < n && head[k] == '#') {
    const uint8_t *nl = memchr(head + k, '\n', n - k);
    if (!nl)
      break;
    k = (size_t)(nl - head) + 1;
  }
  if (k < n && k > i && head[k] == '{')
    i = k;
  if (i < n && head[i] == '{') {
    size_t j = i + 1;
    while (j < n && (head[j] == ' ' || head[j] == '\t'))
      j++;
    if ((n - j >= 7 && memcmp(head + j, "\"actor\"", 7) == 0) ||
        (n - j >= 7 && memcmp(head + j, "\"batch\"", 7) == 0))
      return CW_FMT_CLOCKS;
  }
  if (i < n && (head[i] == '{' || head[i] == '['))
    return CW_FMT_RACEWAY;
  if (path && (ends_with(path, ".json") || ends_with(path, ".jsonl")))
    return CW_FMT_RACEWAY;
  return CW_FMT_STD;
}

static const char *const fmt_names[] = {"auto",    "native", "std",
                                        "raceway", "clocks", "shiviz"};

const char *cw__input_format_name(cw_input_format f) {
  if ((unsigned)f >= sizeof fmt_names / sizeof fmt_names[0])
    return "unknown";
  return fmt_names[f];
}

int cw__input_format_parse(const char *s, cw_input_format *out) {
  for (size_t i = 0; i < sizeof fmt_names / sizeof fmt_names[0]; i++) {
    if (strcmp(s, fmt_names[i]) == 0) {
      *out = (cw_input_format)i;
      return 0;
    }
  }
  return -1;
}

char *cw__read_file(const char *path, size_t max, size_t *len, char *msg,
                    size_t msgsz) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(msg, msgsz, "%s", strerror(errno));
    return NULL;
  }
  size_t cap = (size_t)1 << 16, n = 0;
  char *buf = malloc(cap + 1);
  const char *why = NULL;
  while (buf && !why) {
    if (n == cap) {
      if (cap >= max) {
        why = "file too large";
        break;
      }
      size_t ncap = cap * 2 > max ? max : cap * 2;
      char *nb = realloc(buf, ncap + 1);
      if (!nb) {
        why = "out of memory";
        break;
      }
      buf = nb;
      cap = ncap;
    }
    size_t r = fread(buf + n, 1, cap - n, f);
    n += r;
    if (r == 0)
      break;
  }
  if (!buf)
    why = "out of memory";
  else if (!why && ferror(f))
    why = "read error";
  fclose(f);
  if (why) {
    free(buf);
    snprintf(msg, msgsz, "%s", why);
    return NULL;
  }
  buf[n] = '\0';
  *len = n;
  return buf;
}
