/*
 * sse: live push for the viewer as server-sent events (GET /v1/stream).
 *
 * DESIGN. Each subscriber holds one civetweb worker thread for the life of
 * its connection, so their number is capped (--max-subscribers, 503 beyond,
 * and the worker pool is sized with room for them). The handler polls the
 * analysis generation every 250 ms; when it moved, it sends an "events"
 * frame (totals and what is new) and, when the summary changed, a
 * "findings" frame with the new summary. A comment line every 5 s detects
 * closed connections. The loop ends when the client goes away or the
 * server stops.
 */
#define _POSIX_C_SOURCE 200809L
#include "query.h"
#include "sbuf.h"
#include "server_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static int send_frame(struct mg_connection *c, const char *event,
                      json_t *data) {
  char *txt = json_dumps(data, JSON_COMPACT);
  json_decref(data);
  if (!txt)
    return -1;
  cw_sbuf b;
  cw__sbuf_init(&b, 4u << 20);
  cw__sbuf_printf(&b, "event: %s\ndata: %s\n\n", event, txt);
  free(txt);
  int rc = b.data && mg_write(c, b.data, b.len) == (int)b.len ? 0 : -1;
  cw__sbuf_free(&b);
  return rc;
}

int cw__sse_handle(cw_server *s, struct mg_connection *c) {
  if (atomic_fetch_add(&s->sse_clients, 1) >= s->cfg.max_subscribers) {
    atomic_fetch_sub(&s->sse_clients, 1);
    cw__http_error(c, 503, "too many live subscribers", "Retry-After: 5\r\n");
    return 503;
  }
  mg_printf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
               "Cache-Control: no-store\r\nConnection: close\r\n"
               "X-Accel-Buffering: no\r\n\r\n");
  uint64_t last_gen = UINT64_MAX, last_events = 0;
  json_t *last_summary = NULL;
  int idle_ticks = 0, ok = 1;
  while (ok && !atomic_load(&s->stopping)) {
    cw_analyzer_stats st;
    cw__analyzer_stats(s->an, &st);
    if (st.generation != last_gen) {
      cw_engine *e = cw__analyzer_lock(s->an);
      json_t *sum = cw__query_summary(e, cw__analyzer_input_stats(s->an));
      cw__analyzer_unlock(s->an);
      ok = send_frame(c, "events",
                      json_pack("{s:I,s:I,s:I}", "analysed",
                                (json_int_t)st.fed_events, "new",
                                (json_int_t)(st.fed_events - last_events),
                                "batches", (json_int_t)st.fed_batches)) == 0;
      if (ok && (!last_summary || !json_equal(sum, last_summary))) {
        ok = send_frame(c, "findings", json_pack("{s:O}", "summary", sum)) == 0;
        json_decref(last_summary);
        last_summary = sum;
      } else {
        json_decref(sum);
      }
      last_gen = st.generation;
      last_events = st.fed_events;
      idle_ticks = 0;
    } else if (++idle_ticks >= 20) {
      ok = mg_printf(c, ": ping\n\n") > 0;
      idle_ticks = 0;
    }
    struct timespec ts = {0, 250 * 1000000L};
    nanosleep(&ts, NULL);
  }
  json_decref(last_summary);
  atomic_fetch_sub(&s->sse_clients, 1);
  return 200;
}
