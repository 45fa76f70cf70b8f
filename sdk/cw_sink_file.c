/*
 * cw_sink_file.c: the file sink and the null sink.
 *
 * A trace file is a concatenation of LZ4 frames, one per batch. Each frame
 * goes out in one write() loop on an O_APPEND descriptor, so a crash can
 * leave at most one truncated frame at the end, which readers ignore; what
 * was written before is never touched again.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "cw_internal.h"
#include "cw_sink.h"

typedef struct file_sink {
  cw_sink base;
  int fd;
  int do_fsync;
} file_sink;

static int file_write(cw_sink *s, const uint8_t *frame, size_t len) {
  file_sink *f = (file_sink *)s;
  while (len > 0) {
    ssize_t n = write(f->fd, frame, len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    frame += n;
    len -= (size_t)n;
  }
  if (f->do_fsync)
    (void)fsync(f->fd);
  return 0;
}

static int file_flush(cw_sink *s) {
  file_sink *f = (file_sink *)s;
  return f->do_fsync ? fsync(f->fd) : 0;
}

static int file_close(cw_sink *s) {
  file_sink *f = (file_sink *)s;
  int rc = f->do_fsync && fsync(f->fd) != 0 ? -1 : 0;
  if (close(f->fd) != 0)
    rc = -1;
  cw__free(f);
  return rc;
}

cw_sink *cw__sink_file_open(const char *path, int do_fsync) {
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0)
    return NULL;
  file_sink *f = cw__calloc(1, sizeof(*f));
  if (!f) {
    close(fd);
    errno = ENOMEM;
    return NULL;
  }
  f->base.write = file_write;
  f->base.flush = file_flush;
  f->base.close = file_close;
  f->fd = fd;
  f->do_fsync = do_fsync;
  return &f->base;
}

static int null_write(cw_sink *s, const uint8_t *frame, size_t len) {
  (void)s;
  (void)frame;
  (void)len;
  return 0;
}

static int null_flush(cw_sink *s) {
  (void)s;
  return 0;
}

static int null_close(cw_sink *s) {
  cw__free(s);
  return 0;
}

cw_sink *cw__sink_null_open(void) {
  cw_sink *s = cw__calloc(1, sizeof(*s));
  if (!s)
    return NULL;
  s->write = null_write;
  s->flush = null_flush;
  s->close = null_close;
  return s;
}

/* Tee: CAUSEWAY_ENDPOINT together with a trace file or directory sends
 * every batch to the collector and appends it to the file. */
typedef struct tee_sink {
  cw_sink base;
  cw_sink *a, *b;
} tee_sink;

static int tee_write(cw_sink *s, const uint8_t *frame, size_t len) {
  tee_sink *t = (tee_sink *)s;
  int ra = t->a->write(t->a, frame, len);
  int rb = t->b->write(t->b, frame, len);
  return ra < 0 || rb < 0 ? -1 : ra > 0 || rb > 0 ? 1 : 0;
}

static int tee_flush(cw_sink *s) {
  tee_sink *t = (tee_sink *)s;
  int ra = t->a->flush(t->a);
  int rb = t->b->flush(t->b);
  return ra == 0 && rb == 0 ? 0 : -1;
}

static int tee_close(cw_sink *s) {
  tee_sink *t = (tee_sink *)s;
  int ra = t->a->close(t->a);
  int rb = t->b->close(t->b);
  cw__free(t);
  return ra == 0 && rb == 0 ? 0 : -1;
}

cw_sink *cw__sink_tee(cw_sink *a, cw_sink *b) {
  tee_sink *t = cw__calloc(1, sizeof(*t));
  if (!t)
    return NULL;
  t->base.write = tee_write;
  t->base.flush = tee_flush;
  t->base.close = tee_close;
  t->a = a;
  t->b = b;
  return &t->base;
}

static _Atomic(cw_sink_factory) endpoint_factory;

void cw__sink_set_endpoint_factory(cw_sink_factory f) {
  atomic_store(&endpoint_factory, f);
}

cw_sink_factory cw__sink_endpoint_factory(void) {
  return atomic_load(&endpoint_factory);
}
