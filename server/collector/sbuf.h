/*
 * sbuf: a growable text buffer with a hard cap, for HTTP bodies built with
 * printf-style appends (metrics, SSE frames).
 */
#ifndef CW_SBUF_H
#define CW_SBUF_H

#include <stddef.h>

typedef struct cw_sbuf {
  char *data; /* NUL-terminated; NULL until the first append */
  size_t len, cap, max;
  int overflow; /* set when an append hit `max` (the text is cut there) */
} cw_sbuf;

/* Starts an empty buffer that never grows beyond max bytes. */
void cw__sbuf_init(cw_sbuf *b, size_t max);
/* Appends formatted text. @return 0, or -1 on overflow / out of memory. */
int cw__sbuf_printf(cw_sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void cw__sbuf_free(cw_sbuf *b);

#endif /* CW_SBUF_H */
