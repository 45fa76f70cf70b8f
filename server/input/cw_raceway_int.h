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

/* Events a collector context holds for its reorder window at most; past
 * this the oldest are fed early (down to half). */
#define CW_RW_MAX_HELD ((size_t)1 << 20)
/* Longest "service#instance" process name kept (longer ones are cut). */
#define CW_RW_PROC_NAME_MAX 512

/* One accepted event. */
typedef struct cw_rw_event {
  json_t *ev;    /* a reference of its own (json_incref) until fed */
  int64_t ts_ns; /* Unix time of `timestamp` */
  uint64_t idx;  /* input position (tie-break) */
} cw_rw_event;

/* Accepted events waiting to be fed, in runs (one per process and JSON
 * value), merged as cw_raceway_order.c explains. */
typedef struct rw_proc rw_proc;
typedef struct cw_rw_pool {
  json_t *map; /* process name -> index in procs */
  rw_proc *procs;
  size_t nprocs, cap;
  uint32_t *staged; /* processes with a run of the current value */
  size_t nstaged, capstaged;
  uint32_t *heap; /* merge heap of process indices */
  size_t nheap, capheap;
  uint64_t arrivals, events_added;
  size_t held;       /* events added and not fed */
  int64_t watermark; /* latest timestamp fed */
  int fed_any;
} cw_rw_pool;

/* Feed state for one decode call. */
typedef struct cw_rw_feeder {
  cw_engine *e;
  cw_input_stats *st;
  json_t *ids;        /* event id -> (actor << 32 | counter) */
  json_t *vc;         /* "component|span|value" -> (actor << 32 | counter):
                         causality_vector entries (cw_raceway_event.c) */
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
  cw_rw_pool pool;   /* events held for the reorder window */
  uint64_t values;   /* JSON values added (run stamps) */
};

/* Writes the process an event belongs to, "service#instance" (instance_id,
 * else process_id, else "0"), as in its actor names. */
void cw__rw_process_name(json_t *ev, char *buf, size_t cap);

/* Adds one validated event of JSON value number `stamp` to the pool (takes
 * a reference). @return 0 or -1 (memory). */
int cw__rw_pool_add(cw_rw_pool *p, json_t *ev, int64_t ts_ns,
                    int64_t arrival_ns, uint64_t stamp);
/* Ends the current JSON value: its runs join their process chains; late
 * events are counted in st. @return 0 or -1 (memory). */
int cw__rw_pool_end_value(cw_rw_pool *p, cw_input_stats *st);
/* Feeds the merge until every event that arrived window_ns or more before
 * now_ns (with `all`: every event) is fed. @return 0 or -1 (memory). */
int cw__rw_pool_release(cw_rw_pool *p, cw_rw_feeder *f, int64_t now_ns,
                        int64_t window_ns, int all);
void cw__rw_pool_free(cw_rw_pool *p);

int cw__rw_feeder_init(cw_rw_feeder *f, cw_engine *e, cw_input_stats *st);
void cw__rw_feeder_free(cw_rw_feeder *f);
/* Feeds one validated event. @return 0, or a cw_skip_reason when a field
 * needed by its kind turned out to be missing (then nothing was fed), or
 * -1 on allocation failure. */
int cw__rw_feed(cw_rw_feeder *f, const cw_rw_event *re);

#endif /* CW_RACEWAY_INT_H */
