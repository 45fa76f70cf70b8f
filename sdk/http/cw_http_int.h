/*
 * cw_http_int.h: internals shared by the HTTP glue's server and client
 * halves (not API): counters, the per-thread inbound request context,
 * random ids, and the Raceway clock decoder.
 */
#ifndef CW_HTTP_INT_H
#define CW_HTTP_INT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "causeway.h"
#include "causeway/http.h"

/* Counters behind cw_http_stats_get(). */
typedef struct cw__http_counters {
  _Atomic uint64_t requests, responses, calls, clocks_joined;
  _Atomic uint64_t clock_missing, clock_malformed, clock_oversized;
  _Atomic uint64_t raceway_clocks, traceparent_bad, tracestate_dropped;
} cw__http_counters;

extern cw__http_counters cw__http_ctr;

#define CW__HTTP_COUNT(field)                                                  \
  atomic_fetch_add_explicit(&cw__http_ctr.field, 1, memory_order_relaxed)

/* One inbound request being handled on this thread. Lives on the stack of
 * cw_http_handle(); requests nest only if a handler calls it again. */
typedef struct cw__http_req {
  struct cw__http_req *prev;
  struct mg_connection *conn;
  uint64_t start_ns;
  int responded; /* http_respond recorded */
  int traced;    /* a task was begun (recording is on) */
  int call_held; /* holds the "http-call:<span>" wait resource */
  char call_name[32];
  uint8_t trace_flags; /* the incoming traceparent's flags, passed on */
  char tracestate[CW_HTTP_TRACESTATE_MAX + 1];
} cw__http_req;

/* Builds the tracestate to pass on from the values of every tracestate
 * header of a request (combined in order, as one list): members are
 * validated (W3C Trace Context 3.3), OWS and empty members dropped, the first
 * of duplicated keys kept; over CW_HTTP_TRACESTATE_MAX, members longer than
 * 128 characters go first, then members from the end. out: cap bytes.
 * @return 0 (out may be empty), or -1 when the list is invalid (an invalid
 * member, more than 32 members): then nothing is passed on. */
int cw__http_tracestate_build(const char *const *values, size_t nvalues,
                              char *out, size_t cap);

/* @return the innermost request of the calling thread, or NULL. */
cw__http_req *cw__http_current(void);
void cw__http_push(cw__http_req *r);
void cw__http_pop(cw__http_req *r);

/* The wait-edge threshold in ns (0: off); reads CAUSEWAY_HTTP_WAITS once. */
uint64_t cw__http_wait_ns(void);

/* Formats the wait resource name of a call span. */
void cw__http_call_name(const uint8_t span[8], char *buf, size_t cap);

/* Fills buf with n random bytes, never all zero (a per-thread generator
 * seeded from /dev/urandom and the clock; ids, not secrets). */
void cw__http_random(uint8_t *buf, size_t n);
/* @return the value of a hex digit, or -1. */
int cw__http_hexval(int c);

/* Lowercase hex of n bytes into out (2n+1 bytes). */
void cw__http_hex(const uint8_t *in, size_t n, char *out);

/* What a raceway-clock header carries (formats.md). Actor strings are
 * copied into `names`; entries point into it. */
#define CW__RW_MAX_ENTRIES CW_CLOCK_MAX_ENTRIES
typedef struct cw__rw_clock {
  int has_trace;
  uint8_t trace_id[16];
  int has_span;
  uint8_t span_id[8];
  size_t n;
  const char *actor[CW__RW_MAX_ENTRIES];
  uint64_t counter[CW__RW_MAX_ENTRIES];
  char names[CW_HTTP_HEADER_MAX];
} cw__rw_clock;

/* Decodes "v1;<base64url JSON>". @return CW_OK, CW_EMALFORMED or
 * CW_ETOOBIG. */
cw_status cw__rw_clock_decode(const char *value, size_t len, cw__rw_clock *out);

/* Encodes a raceway-clock value (used by tests to play a Raceway caller).
 * @return CW_OK or CW_ETOOBIG. */
cw_status cw__rw_clock_encode(const cw__rw_clock *in, const char *service,
                              char *buf, size_t cap);

#endif /* CW_HTTP_INT_H */
