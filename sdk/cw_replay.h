/*
 * cw_replay: reads a trace file and rebuilds every event's full vector
 * clock, as docs/event-format.md defines it. Internal; the SDK's tests use
 * it to assert happens-before between recorded events.
 *
 * Not thread-safe: one replay is used by one thread.
 */
#ifndef CW_REPLAY_H
#define CW_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "cw_format.h"

/* One clock entry: a replay-wide actor index and its counter. */
typedef struct cw_rp_ent {
  uint32_t actor;
  uint64_t counter;
} cw_rp_ent;

typedef struct cw_rp_event {
  uint32_t kind, flags;
  uint64_t seq, counter;
  uint32_t actor; /* index into cw_replay.actors */
  int64_t wall_ns;
  uint64_t mono_ns;
  char *object, *file, *func, *val_str, *detail; /* NULL when absent */
  uint32_t line;
  int64_t val_int, aux;
  uint64_t duration_ns;
  uint8_t trace_id[16], span_id[8];
  uint32_t njoins;  /* as recorded */
  cw_rp_ent *clock; /* full clock without the own entry, sorted */
  uint32_t nclock;
  uint64_t batch_no;
} cw_rp_event;

typedef struct cw_replay {
  cw_rp_event *ev; /* sorted by seq */
  size_t n, cap;
  char **actors; /* global names */
  uint32_t *actor_kind;
  uint64_t *retired_at; /* per actor: RETIRE seq, 0 = never */
  uint32_t nactors, capactors;
  uint64_t gaps, lost; /* GAP records and the events they count */
  uint64_t retired;    /* actors named by RETIRE records */
  uint64_t retire_records;
  uint64_t batches;
  int truncated; /* the file ended inside a frame */
} cw_replay;

/* Reads `path`. @return CW_DECODE_OK, or an error (err filled). */
int cw__replay_file(const char *path, cw_replay *out, cw_decode_error *err);
void cw__replay_free(cw_replay *r);

/* @return the clock component of actor `actor` in event e (its own
 * counter for its own actor). */
uint64_t cw__replay_component(const cw_rp_event *e, uint32_t actor);
/* @return 1 when a happens before b (a != b). */
int cw__replay_hb(const cw_rp_event *a, const cw_rp_event *b);
/* @return the index of the actor whose name ends with `suffix`, or -1. */
int cw__replay_actor(const cw_replay *r, const char *suffix);
/* @return the n-th (from 0) event in seq order matching kind (0 = any),
 * object (NULL = any) and actor (-1 = any), or NULL. */
const cw_rp_event *cw__replay_find(const cw_replay *r, uint32_t kind,
                                   const char *object, int actor, size_t nth);
/* @return the number of events matching as cw__replay_find. */
size_t cw__replay_count(const cw_replay *r, uint32_t kind, const char *object,
                        int actor);

#endif /* CW_REPLAY_H */
