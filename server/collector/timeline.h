/*
 * timeline: the newest analysed events of every actor, kept in memory under
 * a byte bound (--event-memory), for the viewer's timelines
 * (GET /v1/timeline, docs/http-api.md).
 *
 * DESIGN. A ring of fixed-size compact events (strings are engine symbols,
 * actors engine ids) in analysis order, kept in chunks of up to 64 Ki
 * events (at least 16 chunks under the bound); when full, the oldest chunk
 * is dropped. A full chunk never changes, and the newest only grows, so a
 * query copies the chunk pointers and their fill under the ring's own
 * mutex, takes a reference on each, and scans them with no lock held while
 * the analysis thread keeps adding events (bench/bench_timeline.c shows the
 * ingest stall). A query is one linear pass over the ring (about 80 bytes
 * per event, a few milliseconds per million events): it filters by time window,
 * actor and service, tracks each actor's held locks on the way (so every
 * returned event says exactly which locks its actor held, as far as the ring
 * reaches back), and answers either the matching events (paged) or, when a
 * window holds more than the page allows, per-lane counts in time buckets,
 * so a page never loads everything.
 *
 * Racy marks. Each chunk has a bitmap, one bit per event, set (with atomic
 * operations, so queries read it while it changes) for every access that
 * took part in a race: the engine reports each racing pair with the later
 * access, the earlier one, and the threshold above which the earlier one's
 * predecessors of the same key race too (cw_race_pair). To find those, each
 * kept access links to the previous access of its (actor, variable,
 * location, kind) (cw_tl_event.prev, filled when added) and a table holds
 * the newest kept access of every key; a key leaves it when that access is
 * evicted. Marking walks down such a chain and skips the run of accesses
 * it marked last time for the key, so repeated races cost O(1) amortized
 * per newly marked access. The table gets at most 1/8 of the bound (48-byte
 * slots, at most half full); when it is full the oldest chunk is evicted
 * early, and it always has room for a chunk's accesses.
 *
 * Thread-safety: every function may be called from any thread. Symbols are
 * the engine's: a query resolves them while holding the engine through
 * cw_tl_engine, twice and briefly (actor selection, then the answer's
 * strings).
 */
#ifndef CW_TIMELINE_H
#define CW_TIMELINE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "cw_analysis.h"

typedef struct cw_tl_event {
  int64_t wall_ns; /* 0 when the producer gave none */
  uint64_t duration_ns;
  uint64_t seq;
  uint64_t counter;      /* the actor's own clock component */
  uint64_t from_counter; /* from_actor's counter in the join */
  int64_t val;           /* value (accesses) or aux (status, rows) */
  cw_actor_id actor;
  /* The join that ordered this event after another actor's event: for
   * http_recv / http_response the other service's actor, else the first
   * join naming another actor (lock handoff, join, message); 0 if none. */
  cw_actor_id from_actor;
  cw_sym object, loc, detail, val_str;
  uint16_t flags; /* cw_format CW_EVF_* */
  uint8_t kind;   /* cw_format cw_ev_kind */
  uint8_t has_val;
  /* Set by cw__timeline_add (the caller's value is ignored): for an
   * access, how many events back the previous access of the same (actor,
   * variable, location, kind) is; 0 none. */
  uint32_t prev;
} cw_tl_event;

typedef struct cw_timeline cw_timeline;

/* @return a timeline holding at most max_bytes of events, or NULL when
 * max_bytes is too small for one event (timeline off). */
cw_timeline *cw__timeline_new(uint64_t max_bytes);
void cw__timeline_free(cw_timeline *t);

/* Appends one event (copied), evicting the oldest when full. NULL ok. */
void cw__timeline_add(cw_timeline *t, const cw_tl_event *ev);

/* Timeline query parameters (parsed from the query string). */
typedef struct cw_tl_query {
  int64_t from, to; /* window (time of an event: wall_ns, else position) */
  int has_from, has_to;
  char actors[16][256]; /* repeated actor=NAME ("" none = all) */
  int nactors;
  char service[128];
  uint64_t offset, limit; /* events mode paging; limit default 2000 */
  uint32_t buckets;       /* aggregation buckets (default 200) */
  int mode;               /* 0 auto, 1 events, 2 buckets */
  uint64_t highlight[16]; /* seqs to report with their times */
  int nhighlight;
} cw_tl_query;

/* Parses the timeline parameters. @return 0 or -1 with a message. */
int cw__tl_query_parse(const char *qs, cw_tl_query *q, char *msg, size_t msgsz);

/* How a query borrows the engine (for names): lock returns the locked
 * engine, unlock releases it. A query holds it twice, briefly: to select
 * actors, and to turn the answer's symbols into strings. */
typedef struct cw_tl_engine {
  cw_engine *(*lock)(void *ud);
  void (*unlock)(void *ud);
  void *ud;
} cw_tl_engine;

/* The timeline JSON (see docs/http-api.md, GET /v1/timeline). t may be NULL
 * (timeline off: an empty answer with "enabled": false). The ring is read
 * from a snapshot taken under the timeline's own lock (a copy of a few
 * chunk pointers), so ingest goes on while the query scans it. @return
 * NULL out of memory. */
json_t *cw__timeline_query(cw_timeline *t, const cw_tl_engine *eng,
                           const cw_tl_query *q);

/* The audit trail of `variable` from the kept events (GET /v1/audit
 * without --keep-events): every read and write of it still in the ring, in
 * analysis order, with the locks its actor held (as far back as the ring
 * reaches); "racy" marks every kept access that took part in a race
 * (cw__timeline_race). "truncated" says events were evicted ("evicted": how
 * many), so the oldest accesses may be missing. @return NULL with *unknown
 * set when the engine never saw the variable, or NULL out of memory. */
json_t *cw__timeline_audit(cw_timeline *t, const cw_tl_engine *eng,
                           const char *variable, uint64_t offset,
                           uint64_t limit, int *unknown);

/* Marks the kept accesses of a racing pair the engine found (the engine's
 * race callback, cw__engine_on_race): the later access and the earlier one
 * with every earlier access of the same (actor, variable, location, kind)
 * whose counter is above p->known. Call it from the thread that adds
 * events. An access not kept yet (fed to the engine before it is added) is
 * marked when it is added. NULL t ok. */
void cw__timeline_race(void *t, const cw_race_pair *p);

/* Events kept and evicted so far. */
void cw__timeline_counts(cw_timeline *t, uint64_t *kept, uint64_t *evicted);

#endif /* CW_TIMELINE_H */
