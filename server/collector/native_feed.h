/*
 * native_feed: feeds one decoded native batch (sdk/format) to the engine
 * through the mapping the CLI uses too (server/input/cw_native_map.h), and
 * validates batches on the ingest path with exactly the same per-event
 * rules, so what ingest counts as accepted is what the analysis receives.
 *
 * Thread-safety: a cw_feed is used by one thread (the analysis thread);
 * cw__native_check is reentrant.
 */
#ifndef CW_NATIVE_FEED_H
#define CW_NATIVE_FEED_H

#include <stddef.h>
#include <stdint.h>

#include "cw_analysis.h"
#include "cw_format.h"
#include "cw_native_map.h"
#include "timeline.h"
#include "traces.h"

/* What cw__native_check found in one uncompressed batch. */
typedef struct cw_native_info {
  uint8_t stream_id[16];
  uint64_t batch_no;
  uint64_t events;   /* EVENT records */
  uint64_t accepted; /* events the analysis will receive */
  uint64_t rejected[CW_REJ_COUNT_];
  uint64_t gaps; /* events the SDK reported lost (GAP records) */
} cw_native_info;

/* Validates one uncompressed batch. Stops with an error past max_events.
 * @return 0, or -1 with a message in err (err->msg names the offset). */
int cw__native_check(const uint8_t *buf, size_t len, uint64_t max_events,
                     cw_native_info *info, cw_decode_error *err);

/* Per-thread decoding state kept between batches (reusable caches). */
typedef struct cw_feed cw_feed;

cw_feed *cw__feed_new(void);
/* Records traced events and service calls into t (borrowed; may be NULL). */
void cw__feed_set_traces(cw_feed *f, cw_traces *t);
/* Keeps every analysed event in t (borrowed; may be NULL). */
void cw__feed_set_timeline(cw_feed *f, cw_timeline *t);
void cw__feed_free(cw_feed *f);

/* Feeds one uncompressed, already checked batch into the engine.
 * *fed receives the number of events handed to the engine.
 * @return 0 or -1 when the batch does not decode (then nothing more is fed
 * from it). */
int cw__feed_native(cw_feed *f, cw_engine *e, const uint8_t *buf, size_t len,
                    uint64_t *fed);

#endif /* CW_NATIVE_FEED_H */
