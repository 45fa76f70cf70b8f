/*
 * traces: a bounded index of distributed traces (W3C trace ids carried by
 * native events) for the query API: per trace its services, actors and a
 * compact copy of its events; plus the calls between services seen in
 * clocks carried by HTTP requests.
 *
 * Thread-safety: none; the analysis thread updates it and query handlers
 * read it, both under the analyzer's engine lock.
 */
#ifndef CW_TRACES_H
#define CW_TRACES_H

#include <stddef.h>
#include <stdint.h>

#include "cw_analysis.h"

/* Hard caps (memory stays bounded: the oldest traces are evicted). */
#define CW_TRACES_MAX 4096              /* traces kept */
#define CW_TRACE_MAX_EVENTS 20000       /* events kept per trace */
#define CW_TRACES_MAX_EVENTS (1u << 20) /* events kept over all traces */
#define CW_TRACE_MAX_SERVICES 16
#define CW_TRACE_MAX_ACTORS 64
#define CW_CALLS_MAX 1024

typedef struct cw_trace_event {
  uint8_t kind; /* cw_ev_kind (native) */
  uint8_t status_known;
  uint16_t flags;
  cw_actor_id actor;
  cw_sym service; /* the actor's own service */
  cw_sym object, loc, detail;
  int64_t wall_ns;
  uint64_t duration_ns;
  int64_t aux;
  uint64_t seq;
  uint8_t span_id[8], parent_span_id[8];
} cw_trace_event;

typedef struct cw_trace {
  uint8_t id[16];
  uint64_t created;          /* creation order */
  int64_t first_ns, last_ns; /* wall clock */
  uint64_t nevents;          /* seen (kept: n) */
  cw_trace_event *ev;
  uint32_t n, cap;
  cw_sym services[CW_TRACE_MAX_SERVICES];
  uint32_t nservices;
  cw_actor_id actors[CW_TRACE_MAX_ACTORS];
  uint32_t nactors;
  int32_t next; /* hash chain */
  int used;
} cw_trace;

typedef struct cw_call_edge {
  cw_sym from, to; /* services */
  uint64_t count;
} cw_call_edge;

typedef struct cw_traces cw_traces;

cw_traces *cw__traces_new(void);
void cw__traces_free(cw_traces *t);

/* Records one event of a trace. */
void cw__traces_add(cw_traces *t, const uint8_t trace_id[16], cw_sym service,
                    const cw_trace_event *ev);
/* Counts a call from service `from` into service `to` (from != to).
 * cw__traces_add counts one per http_recv event whose parent span is an
 * http_send span of another service in the same trace, whichever of the
 * two arrives first. */
void cw__traces_call(cw_traces *t, cw_sym from, cw_sym to);

/* Traces, newest first: *out gets up to cap pointers (borrowed), skipping
 * `offset`. @return the total number of traces. */
size_t cw__traces_list(const cw_traces *t, size_t offset, size_t cap,
                       const cw_trace **out, size_t *nout);
/* @return the trace with that id or NULL. */
const cw_trace *cw__traces_get(const cw_traces *t, const uint8_t id[16]);
/* @return the call edges (borrowed). */
size_t cw__traces_calls(const cw_traces *t, const cw_call_edge **out);

/* Hex helpers for 16-byte ids. @return 0 or -1. */
int cw__hex_to_id(const char *hex, uint8_t id[16]);
void cw__id_to_hex(const uint8_t id[16], char hex[33]);

#endif /* CW_TRACES_H */
