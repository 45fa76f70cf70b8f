/*
 * sbuf: bounded growable text buffer (see sbuf.h).
 */
#include "sbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void cw__sbuf_init(cw_sbuf *b, size_t max) {
  b->data = NULL;
  b->len = b->cap = 0;
  b->max = max;
  b->overflow = 0;
}

int cw__sbuf_printf(cw_sbuf *b, const char *fmt, ...) {
  if (b->overflow)
    return -1;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = b->data ? vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap)
                    : vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
      return -1;
    if (b->data && (size_t)n < b->cap - b->len) {
      b->len += (size_t)n;
      return 0;
    }
    size_t need = b->len + (size_t)n + 1;
    if (need > b->max) {
      b->overflow = 1;
      return -1;
    }
    size_t nc = b->cap ? b->cap : 1024;
    while (nc < need)
      nc *= 2;
    if (nc > b->max)
      nc = b->max;
    char *nd = realloc(b->data, nc);
    if (!nd) {
      b->overflow = 1;
      return -1;
    }
    if (!b->data)
      nd[0] = '\0';
    b->data = nd;
    b->cap = nc;
  }
}

void cw__sbuf_free(cw_sbuf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}
