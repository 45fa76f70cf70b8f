/*
 * raceway_traces: adds the events of a Raceway JSON batch to the trace
 * index (traces.h), so GET /v1/traces covers Raceway-instrumented services
 * too. Actors are named as the Raceway decoder names them
 * ("service#instance/thread_id").
 *
 * Thread-safety: called by the analysis thread with the engine locked.
 */
#ifndef CW_RACEWAY_TRACES_H
#define CW_RACEWAY_TRACES_H

#include <stddef.h>

#include "cw_analysis.h"
#include "timeline.h"
#include "traces.h"

/* What the Raceway decoder's observer (cw__raceway_ctx_observe) adds to. */
typedef struct cw_rw_observer {
  cw_traces *traces;     /* NULL ok */
  cw_timeline *timeline; /* NULL ok */
  cw_engine *engine;
  const void *last; /* the Raceway event last indexed by trace */
} cw_rw_observer;

/* The observer: keeps every engine event the decoder feeds in the timeline,
 * with the seq and counter the engine (and so every finding) reports, and
 * indexes each Raceway event that has a trace_id once, under its actor's
 * service. ud is a cw_rw_observer. */
void cw__raceway_observe(void *ud, const cw_aevent *ev, const void *raw);

/* Reads a UUID or 32-hex-digit id into 16 bytes. @return 0 or -1. */
int cw__uuid_to_id(const char *s, uint8_t id[16]);

#endif /* CW_RACEWAY_TRACES_H */
