/*
 * cw_sink_http: the HTTP transport sink (CAUSEWAY_ENDPOINT). Internal.
 *
 * Environment: CAUSEWAY_API_KEY (sent as a bearer token),
 * CAUSEWAY_QUEUE_BYTES (queue cap, default 16 MiB),
 * CAUSEWAY_FLUSH_TIMEOUT_MS (deadline for flush and exit, default 5000;
 * a close right after a flush that ran out of time does not wait again).
 *
 * Thread-safety: write/flush/close are called by the SDK's drain thread;
 * stats may be read from any thread.
 */
#ifndef CW_SINK_HTTP_H
#define CW_SINK_HTTP_H

#include <pthread.h>
#include <stdint.h>

#include "cw_sink.h"

typedef struct cw_http_sink_stats {
  uint64_t batches_sent;
  uint64_t batches_rejected; /* a 4xx other than 408/429: never retried */
  uint64_t batches_dropped;  /* queue full, or unsent at the exit deadline */
  uint64_t events_dropped;   /* events in batches replaced by gap reports */
  uint64_t gaps_queued, gaps_sent, gaps_lost;
  uint64_t retries;
  long last_status; /* last HTTP status, 0 for a network error */
  uint64_t queued_batches, queued_bytes;
} cw_http_sink_stats;

/* @return a new sink posting to <url>/v1/events, or NULL. Matches
 * cw_sink_factory. */
cw_sink *cw__sink_http_open(const char *url, const char *service,
                            const char *instance);

/* Copies the live counters of an open HTTP sink. */
void cw__http_sink_stats(cw_sink *s, cw_http_sink_stats *out);

/* The counters of the last closed HTTP sink (for tests). */
extern cw_http_sink_stats cw__http_sink_last_stats;

#endif /* CW_SINK_HTTP_H */
