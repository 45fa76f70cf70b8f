/*
 * cw_raceway_int: internals shared by the Raceway container parser
 * (cw_raceway.c) and the per-event mapper (cw_raceway_event.c).
 */
#ifndef CW_RACEWAY_INT_H
#define CW_RACEWAY_INT_H

#include <jansson.h>

#include "cw_input.h"

/* Most events one decode call accepts; more are skipped as "limit". */
#define CW_RW_MAX_EVENTS ((size_t)1 << 24)
/* Event ids a context remembers for parent links; past this the map is
 * cleared (a later event naming a forgotten parent gets no link). */
#define CW_RW_MAX_IDS ((size_t)1 << 20)

/* One accepted event, in input order until sorted. */
typedef struct cw_rw_event {
  json_t *ev;    /* borrowed from the parsed roots */
  int64_t ts_ns; /* Unix time of `timestamp` */
  size_t idx;    /* input position (tie-break) */
} cw_rw_event;

/* Feed state for one decode call. */
typedef struct cw_rw_feeder {
  cw_engine *e;
  cw_input_stats *st;
  json_t *ids;        /* event id -> (actor << 32 | counter) */
  json_t *actors;     /* actor name -> engine actor id */
  uint32_t *counters; /* next counter - 1, by engine actor id */
  size_t ncounters;
  uint64_t seq;
  cw_raceway_observer obs; /* cw__raceway_ctx_observe */
  void *obs_ud;
  json_t *cur; /* the Raceway event being fed */
} cw_rw_feeder;

/* Checks an event's shape without feeding it.
 * @return -1 when it is fine, or the cw_skip_reason to skip it for. */
int cw__rw_validate(json_t *ev);

/* A decoding context that lives across calls (see cw_raceway_ctx). */
struct cw_raceway_ctx {
  cw_rw_feeder f;
  cw_engine *engine; /* the engine it is bound to, after the first feed */
};

int cw__rw_feeder_init(cw_rw_feeder *f, cw_engine *e, cw_input_stats *st);
void cw__rw_feeder_free(cw_rw_feeder *f);
/* Feeds one validated event. @return 0, or a cw_skip_reason when a field
 * needed by its kind turned out to be missing (then nothing was fed), or
 * -1 on allocation failure. */
int cw__rw_feed(cw_rw_feeder *f, const cw_rw_event *re);

#endif /* CW_RACEWAY_INT_H */
