/*
 * cw_sink: where compressed batches go. The drain thread is the only
 * caller of a sink, so implementations need no locking of their own.
 *
 * DESIGN. A sink is a struct of function pointers. The core SDK ships a
 * file sink (append one LZ4 frame per write() call) and a null sink; the
 * HTTP transport registers a factory with cw__sink_set_endpoint_factory()
 * and is picked when CAUSEWAY_ENDPOINT is set, without the recorder
 * knowing about it.
 */
#ifndef CW_SINK_H
#define CW_SINK_H

#include <stddef.h>
#include <stdint.h>

typedef struct cw_sink cw_sink;

struct cw_sink {
  /* Writes one compressed batch (one LZ4 frame). The frame is borrowed.
   * @return 0 written (or queued for delivery); 1 not written, but a gap
   * report that names its events stands in for it (the loss is accounted:
   * close() says whether the report arrived); -1 lost (the batch is lost
   * and counted; the sink stays usable). */
  int (*write)(cw_sink *s, const uint8_t *frame, size_t len);
  /* Pushes buffered data out (e.g. fsync). @return 0 or -1. */
  int (*flush)(cw_sink *s);
  /* Flushes and frees the sink. A close() right after a flush() that ran
   * out of time does not wait again (the HTTP sink's deadline is spent).
   * @return 0 when every batch written was delivered, or reported as a
   * gap that was delivered; -1 when some batch or gap report was lost. */
  int (*close)(cw_sink *s);
};

/* @return a new file sink appending to path, or NULL (errno set). */
cw_sink *cw__sink_file_open(const char *path, int do_fsync);
/* @return a new sink that discards everything. */
cw_sink *cw__sink_null_open(void);

/* @return a sink writing every batch to a, then to b (taking both; a
 * write fails, and the batch counts as lost, when either fails), or NULL
 * out of memory (a and b are then still the caller's). */
cw_sink *cw__sink_tee(cw_sink *a, cw_sink *b);

/* A transport factory: @return a new sink sending to url, or NULL. */
typedef cw_sink *(*cw_sink_factory)(const char *url, const char *service,
                                    const char *instance);
/* Registers the endpoint transport (call before cw_init). */
void cw__sink_set_endpoint_factory(cw_sink_factory f);
cw_sink_factory cw__sink_endpoint_factory(void);

#endif /* CW_SINK_H */
