/*
 * fuzz_ingest: fuzz target for the collector's ingest decoders. The first
 * input byte picks the route: 0 native LZ4 body (POST /v1/events with
 * Content-Encoding: lz4), 1 native identity body, 2 Raceway JSON (POST
 * /events; its events are then decoded by the analysis thread), 3 a query
 * string. Build with -fsanitize=fuzzer for libFuzzer, or link
 * tests/fuzz/replay_main.c to replay the corpus in the normal test suite.
 */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static cw_ingest g;
static cw_metrics m;
static int ready;

/* Frees the analyzer and the store at exit, so LeakSanitizer stays quiet. */
static void cleanup(void) {
  if (!ready)
    return;
  cw__analyzer_drain(g.an);
  cw__analyzer_free(g.an);
  cw__store_close(g.store);
  cw__dedup_free(g.dedup);
  cw__membudget_free(g.mem);
  ready = 0;
}

static void init(void) {
  cw_analyzer_opts ao = {
      .queue_bytes = 64u << 20, .hold_ms = 50, .event_memory = 16u << 20};
  cw_store_opts so = {NULL, 0, 0, 0, 0};
  char err[128];
  g.an = cw__analyzer_new(&ao);
  g.dedup = cw__dedup_new(1024);
  cw__store_open(&so, NULL, NULL, &g.store, err, sizeof err);
  g.m = &m;
  g.max_batch_events = 100000;
  g.max_decoded = 16u << 20;
  g.mem = cw__membudget_new(64u << 20);
  g.queue_timeout_ms = 5000;
  ready = 1;
  atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!ready)
    init();
  if (size == 0)
    return 0;
  cw_ingest_result r;
  int mode = data[0] % 4;
  const uint8_t *body = data + 1;
  size_t len = size - 1;
  if (mode == 0 || mode == 1) {
    cw__ingest_native(&g, body, len, mode == 0, &r);
  } else if (mode == 2) {
    cw__ingest_raceway(&g, (const char *)body, len, &r);
  } else {
    char qs[512];
    size_t n = len < sizeof qs - 1 ? len : sizeof qs - 1;
    memcpy(qs, body, n);
    qs[n] = '\0';
    cw_query q;
    char msg[128];
    cw__query_parse(qs, &q, msg, sizeof msg);
  }
  return 0;
}
