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

/* Parses the body again, indexes every event that has a trace_id and keeps
 * every event in the timeline tl (may be NULL). Malformed events are
 * skipped. @return the number of events indexed by trace. */
size_t cw__raceway_index(cw_traces *t, cw_timeline *tl, cw_engine *e,
                         const char *json, size_t len);

/* Reads a UUID or 32-hex-digit id into 16 bytes. @return 0 or -1. */
int cw__uuid_to_id(const char *s, uint8_t id[16]);

#endif /* CW_RACEWAY_TRACES_H */
