/*
 * cw_native_map: THE mapping of native events (sdk/format records) to engine
 * events (server/analysis), used by the CLI's trace-file decoder
 * (cw_native.c) and by the collector's batch feed (native_feed.c), so both
 * hand the engine exactly the same events for the same records.
 *
 * What it decides, in one place:
 *   - which records are analysed (cw__nmap_verdict: a known kind, an actor
 *     and every clock entry's actor defined in the batch);
 *   - actor names: a batch-local name without '#' is qualified as
 *     "service#instance/name" with the batch header (cw__actor_qualify,
 *     shared with sdk/cw_replay.c); an actor's service is the part of its
 *     own global name before '#', never the batch that first mentions it;
 *   - kinds, flags, values, "FILE:LINE" locations (just FILE when the line
 *     is 0), "kind object detail" text for informational events;
 *   - happens-before: every event carries its counter, its joins and
 *     CW_AEF_CLOCK_ONLY, except lock events of resources shared by processes
 *     (cw__lock_is_shared_resource), whose release -> acquire edges the
 *     engine derives from the merged order.
 *
 * Strings are interned into the engine through caches keyed by batch-local
 * ids and stamped with a batch epoch, so mapping costs no allocation per
 * event. Not thread-safe: one map per decoding thread.
 */
#ifndef CW_NATIVE_MAP_H
#define CW_NATIVE_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "cw_analysis.h"
#include "cw_format.h"

/* Why an event of an otherwise valid batch is not analysed. */
typedef enum cw_reject_reason {
  CW_REJ_UNKNOWN_KIND = 0, /* a kind this build does not know */
  CW_REJ_UNKNOWN_ACTOR,    /* actor, or an actor in its clock, undefined */
  CW_REJ_COUNT_
} cw_reject_reason;

/* @return "unknown_kind" or "unknown_actor". */
const char *cw__reject_reason_name(cw_reject_reason r);

/* @return -1 when the record is analysed, else its cw_reject_reason. */
int cw__nmap_verdict(const cw_batch_ctx *ctx, const cw_event_rec *ev);

typedef struct cw_nmap cw_nmap;

/* @return a new map (free with cw__nmap_free), or NULL. */
cw_nmap *cw__nmap_new(void);
void cw__nmap_free(cw_nmap *m);

/* Starts a batch: binds the engine and the batch header; forgets the
 * previous batch's local ids. Call from the decoder's on_batch. */
void cw__nmap_batch(cw_nmap *m, cw_engine *e, const cw_batch_ctx *ctx);

/* The engine actor of a batch-local actor id (0 when undefined). */
cw_actor_id cw__nmap_actor(cw_nmap *m, const cw_batch_ctx *ctx, uint32_t id);
/* The engine symbol of a batch-local string id (0 when none). */
cw_sym cw__nmap_str(cw_nmap *m, const cw_batch_ctx *ctx, uint32_t id);
/* The batch header's service symbol. */
cw_sym cw__nmap_batch_service(const cw_nmap *m);

/* Maps one analysed record (cw__nmap_verdict < 0) into *out. out->joins
 * points into the map (valid until the next call). @return 0, or -1 out of
 * memory. */
int cw__nmap_event(cw_nmap *m, const cw_batch_ctx *ctx, const cw_event_rec *r,
                   cw_aevent *out);
/* A GAP record as a CW_AE_GAP event. */
void cw__nmap_gap(cw_nmap *m, const cw_batch_ctx *ctx, uint32_t actor,
                  uint64_t dropped, uint64_t first_seq, cw_aevent *out);
/* One actor of a RETIRE record as a CW_AE_RETIRE event; out->actor is 0
 * (nothing to feed) for a remote actor, which only its own process retires. */
void cw__nmap_retire(cw_nmap *m, const cw_batch_ctx *ctx, uint32_t actor,
                     uint64_t seq, cw_aevent *out);

#endif /* CW_NATIVE_MAP_H */
