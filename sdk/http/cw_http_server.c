/*
 * cw_http_server: civetweb glue. Each inbound request runs as a new task
 * actor whose clock starts from the caller's (causeway-clock, or a Raceway
 * caller's raceway-clock), and the response carries the task's clock back.
 *
 * DESIGN. cw_http_handle() keeps the request's context on its own stack
 * and pushes it on a per-thread list, so cw_http_respond() and outbound
 * cw_curl_perform() calls made by the handler find it without any lookup
 * or lock. Header problems never fail a request: the clock is ignored,
 * counted, and the task starts from an empty clock.
 */
#define _POSIX_C_SOURCE 200809L
#include "cw_http_int.h"

#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longest "METHOD path" kept for task names and events. */
#define DETAIL_MAX 256

/* Reads the caller's clock into snap. @return 1 when snap holds a clock. */
static int read_clock(struct mg_connection *conn, cw_clock_snapshot *snap,
                      uint8_t trace_id[16], int *has_trace) {
  const char *v = mg_get_header(conn, CW_HTTP_CLOCK_HEADER);
  if (v) {
    size_t len = strlen(v);
    cw_status st =
        len > CW_HTTP_HEADER_MAX ? CW_ETOOBIG : cw_clock_decode(v, len, snap);
    if (st == CW_OK)
      return 1;
    if (st == CW_ETOOBIG)
      CW__HTTP_COUNT(clock_oversized);
    else
      CW__HTTP_COUNT(clock_malformed);
    return 0;
  }
  v = mg_get_header(conn, CW_HTTP_RACEWAY_HEADER);
  if (!v) {
    CW__HTTP_COUNT(clock_missing);
    return 0;
  }
  cw__rw_clock *rw = malloc(sizeof *rw);
  if (!rw)
    return 0;
  int ok = 0;
  cw_status st = cw__rw_clock_decode(v, strlen(v), rw);
  if (st == CW_OK) {
    CW__HTTP_COUNT(raceway_clocks);
    if (rw->has_trace && !*has_trace) {
      memcpy(trace_id, rw->trace_id, 16);
      *has_trace = 1;
    }
    /* Counters of 0 carry nothing (and the SDK refuses them). */
    size_t k = 0;
    for (size_t i = 0; i < rw->n; i++)
      if (rw->counter[i] > 0) {
        rw->actor[k] = rw->actor[i];
        rw->counter[k++] = rw->counter[i];
      }
    ok = k > 0 &&
         cw_clock_snapshot_set(snap, rw->actor, rw->counter, k) == CW_OK;
  } else if (st == CW_ETOOBIG) {
    CW__HTTP_COUNT(clock_oversized);
  } else {
    CW__HTTP_COUNT(clock_malformed);
  }
  free(rw);
  return ok;
}

static void begin_request(struct mg_connection *conn, cw__http_req *req,
                          const char *detail) {
  uint8_t trace_id[16], parent[8], span[8];
  int has_trace = 0, has_parent = 0;
  /* W3C Trace Context: one valid traceparent continues the trace (a
   * repeated header is invalid); tracestate is kept only with it, every
   * tracestate header combined as one list. */
  const struct mg_request_info *ri = mg_get_request_info(conn);
  const char *tp = NULL, *ts[16];
  size_t ntp = 0, nts = 0;
  for (int i = 0; ri && i < ri->num_headers; i++) {
    const char *name = ri->http_headers[i].name;
    if (!name || !ri->http_headers[i].value)
      continue;
    if (strcasecmp(name, CW_HTTP_TRACEPARENT_HEADER) == 0) {
      tp = ri->http_headers[i].value;
      ntp++;
    } else if (strcasecmp(name, CW_HTTP_TRACESTATE_HEADER) == 0 &&
               nts < sizeof ts / sizeof ts[0]) {
      ts[nts++] = ri->http_headers[i].value;
    }
  }
  req->trace_flags = 0x01; /* a new trace: sampled */
  if (tp) {
    if (ntp == 1 &&
        cw_http_parse_traceparent_flags(tp, strlen(tp), trace_id, parent,
                                        &req->trace_flags) == CW_OK)
      has_trace = has_parent = 1;
    else
      CW__HTTP_COUNT(traceparent_bad);
  }
  req->tracestate[0] = '\0';
  if (nts && (!has_trace || cw__http_tracestate_build(ts, nts, req->tracestate,
                                                      sizeof req->tracestate)))
    CW__HTTP_COUNT(tracestate_dropped);
  cw_clock_snapshot *snap = cw_clock_snapshot_new();
  int have_clock = snap && read_clock(conn, snap, trace_id, &has_trace);
  if (cw_task_begin(detail, have_clock ? snap : NULL) == CW_OK) {
    req->traced = 1;
    if (!has_trace)
      cw__http_random(trace_id, sizeof trace_id);
    cw__http_random(span, sizeof span);
    (void)cw_trace_set(trace_id, span);
    if (has_parent) /* the caller's span: this request's parent */
      (void)cw_trace_set_parent(parent);
    cw_emit_info ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = CW_EMIT_HTTP_RECV;
    ev.detail = detail;
    (void)cw_emit(&ev);
    if (has_parent && cw__http_wait_ns() > 0) {
      /* Held while the task runs: a caller waiting on this call waits on
       * it (see cw_http_set_wait_threshold). */
      cw__http_call_name(parent, req->call_name, sizeof req->call_name);
      cw_annotate_mutex_after_lock_at(req, req->call_name, CW_LOC_NONE);
      req->call_held = 1;
    }
  }
  cw_clock_snapshot_free(snap);
}

/* Gives up the call's wait resource. */
static void drop_call(cw__http_req *req) {
  if (!req->call_held)
    return;
  req->call_held = 0;
  cw_annotate_mutex_before_unlock_at(req, req->call_name, CW_LOC_NONE);
  (void)cw_lock_forget(req);
}

/* Records http_respond once per request. */
static void record_respond(cw__http_req *req, int status) {
  if (!req || !req->traced || req->responded)
    return;
  req->responded = 1;
  drop_call(req);
  cw_emit_info ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = CW_EMIT_HTTP_RESPOND;
  ev.has_aux = 1;
  ev.aux = status;
  ev.has_duration = 1;
  ev.duration_ns = cw_now_ns() - req->start_ns;
  ev.error = status >= 500;
  (void)cw_emit(&ev);
}

int cw_http_handle(struct mg_connection *conn, cw_http_handler_fn handler,
                   void *cbdata) {
  const struct mg_request_info *ri = mg_get_request_info(conn);
  char detail[DETAIL_MAX];
  cw__http_req req;
  memset(&req, 0, sizeof req);
  req.conn = conn;
  req.start_ns = cw_now_ns();
  snprintf(detail, sizeof detail, "%s %s",
           ri && ri->request_method ? ri->request_method : "?",
           ri && ri->local_uri ? ri->local_uri : "?");
  CW__HTTP_COUNT(requests);
  if (cw_is_enabled())
    begin_request(conn, &req, detail);
  cw__http_push(&req);
  int rc = handler(conn, cbdata);
  cw__http_pop(&req);
  if (req.traced) {
    if (rc > 0)
      record_respond(&req, rc);
    drop_call(&req);
    (void)cw_task_end();
  }
  return rc;
}

/* A registration made by cw_http_set_request_handler(). They live until
 * the process ends; the list keeps them reachable. */
typedef struct reg {
  struct reg *next;
  cw_http_handler_fn handler;
  void *cbdata;
} reg;

static reg *_Atomic regs;

static int registered_handler(struct mg_connection *conn, void *cbdata) {
  const reg *r = cbdata;
  return cw_http_handle(conn, r->handler, r->cbdata);
}

cw_status cw_http_set_request_handler(struct mg_context *ctx, const char *uri,
                                      cw_http_handler_fn handler,
                                      void *cbdata) {
  if (!ctx || !uri || !handler)
    return CW_EINVAL;
  reg *r = calloc(1, sizeof *r);
  if (!r)
    return CW_ENOMEM;
  r->handler = handler;
  r->cbdata = cbdata;
  r->next = atomic_load(&regs);
  while (!atomic_compare_exchange_weak(&regs, &r->next, r))
    ;
  mg_set_request_handler(ctx, uri, registered_handler, r);
  return CW_OK;
}

/* Adds causeway-clock to a response being built. */
static void add_clock_header(struct mg_connection *conn, cw__http_req *req) {
  if (!req || !req->traced)
    return;
  cw_clock_snapshot *snap = cw_clock_snapshot_new();
  char buf[CW_CLOCK_HEADER_MAX + 1];
  size_t len = 0;
  if (snap && cw_clock_current(snap) == CW_OK &&
      cw_clock_encode(snap, buf, sizeof buf, &len) == CW_OK &&
      mg_response_header_add(conn, CW_HTTP_CLOCK_HEADER, buf, (int)len) == 0)
    CW__HTTP_COUNT(responses);
  cw_clock_snapshot_free(snap);
}

static cw__http_req *request_of(struct mg_connection *conn) {
  cw__http_req *r = cw__http_current();
  return r && r->conn == conn ? r : NULL;
}

int cw_http_send_headers(struct mg_connection *conn, int status) {
  cw__http_req *req = request_of(conn);
  record_respond(req, status);
  add_clock_header(conn, req);
  return mg_response_header_send(conn);
}

int cw_http_respond(struct mg_connection *conn, int status,
                    const char *content_type, const void *body, size_t len) {
  char clen[32];
  if (mg_response_header_start(conn, status) != 0)
    return -1;
  mg_response_header_add(conn, "Content-Type",
                         content_type ? content_type : "text/plain", -1);
  snprintf(clen, sizeof clen, "%zu", len);
  mg_response_header_add(conn, "Content-Length", clen, -1);
  if (cw_http_send_headers(conn, status) != 0)
    return -1;
  if (len == 0)
    return 0;
  return mg_write(conn, body, len) == (int)len ? (int)len : -1;
}
