/*
 * server: civetweb setup, routing, authentication, limits and the ingest and
 * query handlers of the collector (docs/http-api.md).
 *
 * DESIGN. One catch-all civetweb handler routes by exact method and path, so
 * no URI reaches a handler it was not meant for. Ingest and query routes
 * pass the API-key check and the per-key token bucket first; /healthz,
 * /readyz, /metrics and the viewer files are open. A body is read only
 * after its declared length passed the --max-body check (413 otherwise), and
 * an unknown length is read up to the cap and refused beyond it, so no
 * request can make the collector hold more than --max-body bytes of body.
 * Civetweb speaks plain HTTP only here (its TLS does not work with OpenSSL 3
 * on Debian 12): deploy behind a TLS-terminating proxy.
 */
#define _POSIX_C_SOURCE 200809L
#include "server.h"

#include "auth.h"
#include "query.h"
#include "server_int.h"
#include "viewer_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *reason(int status) {
  switch (status) {
  case 200:
    return "OK";
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 408:
    return "Request Timeout";
  case 413:
    return "Payload Too Large";
  case 415:
    return "Unsupported Media Type";
  case 429:
    return "Too Many Requests";
  case 500:
    return "Internal Server Error";
  case 503:
    return "Service Unavailable";
  case 505:
    return "HTTP Version Not Supported";
  default:
    return "Status";
  }
}

void cw__http_send(struct mg_connection *c, int status, const char *ctype,
                   const char *extra, const void *body, size_t len) {
  /* Headers and body leave in one write: two small writes would meet
   * Nagle's algorithm and the peer's delayed ACK (a 40 ms stall). */
  char head[1024];
  int hn = snprintf(head, sizeof head,
                    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
                    "Content-Length: %zu\r\nCache-Control: no-store\r\n"
                    "X-Content-Type-Options: nosniff\r\n%s\r\n",
                    status, reason(status), ctype, len, extra ? extra : "");
  if (hn < 0 || (size_t)hn >= sizeof head)
    hn = 0;
  /* HEAD gets the headers of the GET answer, never its body: a body would
   * put the connection out of step. */
  const struct mg_request_info *ri = mg_get_request_info(c);
  if (ri && ri->request_method && !strcmp(ri->request_method, "HEAD"))
    len = 0;
  char *one = len <= (1u << 20) ? malloc((size_t)hn + len + 1) : NULL;
  if (one) {
    memcpy(one, head, (size_t)hn);
    if (len)
      memcpy(one + hn, body, len);
    mg_write(c, one, (size_t)hn + len);
    free(one);
    return;
  }
  mg_write(c, head, (size_t)hn);
  if (len)
    mg_write(c, body, len);
}

void cw__http_close_after(struct mg_connection *c) {
  mg_disable_connection_keep_alive(c);
}

void cw__http_json(struct mg_connection *c, int status, json_t *v,
                   const char *extra) {
  char *txt = v ? json_dumps(v, JSON_COMPACT) : NULL;
  json_decref(v);
  if (!txt) {
    const char *oom = "{\"error\":\"out of memory\"}";
    cw__http_send(c, 503, "application/json", NULL, oom, strlen(oom));
    return;
  }
  size_t n = strlen(txt);
  txt[n] = '\0';
  cw__http_send(c, status, "application/json", extra, txt, n);
  free(txt);
}

void cw__http_error(struct mg_connection *c, int status, const char *msg,
                    const char *extra) {
  cw__http_json(c, status, json_pack("{s:s}", "error", msg), extra);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int read_body_inner(struct mg_connection *c, uint64_t max, uint8_t **out,
                           size_t *len);

/* Reads the whole body into a new buffer (free it), at most max bytes,
 * within --body-timeout-ms in all. @return 0, 413 when too large, 408 when
 * late, 400 when the client stopped early. */
static int read_body(cw_server *s, struct mg_connection *c, uint64_t max,
                     uint8_t **out, size_t *len) {
  cw__reqlimits_body_begin(s->lim, c);
  int st = read_body_inner(c, max, out, len);
  if (cw__reqlimits_body_end(s->lim, c) && st) {
    free(*out);
    *out = NULL;
    st = 408;
  }
  return st;
}

static int read_body_inner(struct mg_connection *c, uint64_t max, uint8_t **out,
                           size_t *len) {
  const struct mg_request_info *ri = mg_get_request_info(c);
  *out = NULL;
  *len = 0;
  if (ri->content_length > 0 && (uint64_t)ri->content_length > max)
    return 413;
  const char *expect = mg_get_header(c, "Expect");
  if (expect && !strcasecmp(expect, "100-continue"))
    mg_printf(c, "HTTP/1.1 100 Continue\r\n\r\n");
  size_t cap = ri->content_length >= 0 ? (size_t)ri->content_length + 1 : 65536;
  uint8_t *buf = malloc(cap);
  if (!buf)
    return 503;
  size_t n = 0;
  for (;;) {
    if (n == cap) {
      if (cap > max) {
        free(buf);
        return 413;
      }
      size_t nc = cap * 2 > max + 1 ? (size_t)max + 1 : cap * 2;
      uint8_t *nb = realloc(buf, nc);
      if (!nb) {
        free(buf);
        return 503;
      }
      buf = nb;
      cap = nc;
    }
    int r = mg_read(c, buf + n, cap - n);
    if (r < 0) {
      free(buf);
      return 400;
    }
    if (r == 0)
      break;
    n += (size_t)r;
    if (n > max) {
      free(buf);
      return 413;
    }
  }
  if (ri->content_length >= 0 && n != (size_t)ri->content_length) {
    free(buf);
    return 400;
  }
  *out = buf;
  *len = n;
  return 0;
}

/* Checks the API key and the rate limit. @return 0 to proceed, or the
 * status already answered. */
static int gate(cw_server *s, struct mg_connection *c, int raceway) {
  const struct mg_request_info *ri = mg_get_request_info(c);
  size_t klen = 0;
  const char *key =
      cw__auth_presented(mg_get_header(c, "Authorization"),
                         mg_get_header(c, "X-Causeway-Key"), &klen);
  const char *client = ri->remote_addr;
  size_t clen = strlen(ri->remote_addr);
  if (s->cfg.nkeys) {
    if (!key || cw__auth_match((const char(*)[256])s->cfg.keys, s->cfg.nkeys,
                               key, klen) < 0) {
      /* Answer at once and close: the body is never read. */
      cw__http_close_after(c);
      /* Wrong keys are limited per address, keys or no --rate-limit. */
      int wait = cw__ratelimit_take(s->auth_rl, ri->remote_addr,
                                    strlen(ri->remote_addr), now_s());
      if (wait) {
        atomic_fetch_add(&s->m.refusals[CW_REFUSE_RATE_LIMITED], 1);
        char h[80];
        snprintf(h, sizeof h, "Retry-After: %d\r\nConnection: close\r\n", wait);
        cw__http_error(c, 429, "too many requests with a wrong API key", h);
        return 429;
      }
      atomic_fetch_add(&s->m.refusals[CW_REFUSE_UNAUTHORIZED], 1);
      const char *h = "WWW-Authenticate: Bearer realm=\"causeway\"\r\n"
                      "Connection: close\r\n";
      if (raceway)
        cw__http_json(c, 401,
                      json_pack("{s:b,s:n,s:s}", "success", 0, "data", "error",
                                "missing or invalid API key"),
                      h);
      else
        cw__http_error(c, 401, "missing or invalid API key", h);
      return 401;
    }
    client = key;
    clen = klen;
  }
  int wait = cw__ratelimit_take(s->rl, client, clen, now_s());
  if (wait) {
    atomic_fetch_add(&s->m.refusals[CW_REFUSE_RATE_LIMITED], 1);
    char h[64];
    snprintf(h, sizeof h, "Retry-After: %d\r\nConnection: close\r\n", wait);
    cw__http_close_after(c);
    cw__http_error(c, 429, "rate limit exceeded", h);
    return 429;
  }
  return 0;
}

/* Reads an ingest body under --max-body, counting what it refuses. The
 * body's bytes are taken from the ingest memory budget first (*charge:
 * give them back after the body is freed); an unknown length takes
 * --max-body. @return 0, or the status to answer with, its message and
 * extra header. */
static int ingest_body(cw_server *s, struct mg_connection *c, uint8_t **body,
                       size_t *len, uint64_t *charge, const char **msg,
                       const char **extra) {
  const struct mg_request_info *ri = mg_get_request_info(c);
  *body = NULL;
  *charge = 0;
  int st = 0;
  if (ri->content_length < 0 ||
      (uint64_t)ri->content_length <= s->cfg.max_body) {
    uint64_t want = ri->content_length >= 0 ? (uint64_t)ri->content_length
                                            : s->cfg.max_body;
    /* Holding nothing yet, a request may wait a moment for room. */
    if (cw__membudget_take(s->mem, want, 1000))
      st = 503;
    else
      *charge = want;
  }
  if (!st)
    st = read_body(s, c, s->cfg.max_body, body, len);
  if (!st) {
    atomic_fetch_add(&s->m.ingest_bytes, *len);
    return 0;
  }
  cw__membudget_give(s->mem, *charge);
  *charge = 0;
  atomic_fetch_add(&s->m.refusals[st == 413   ? CW_REFUSE_TOO_LARGE
                                  : st == 408 ? CW_REFUSE_TIMEOUT
                                  : st == 400 ? CW_REFUSE_MALFORMED
                                              : CW_REFUSE_OVERLOADED],
                   1);
  *msg = st == 413   ? "body larger than --max-body"
         : st == 408 ? "body not received within --body-timeout-ms"
         : st == 400 ? "body shorter than Content-Length"
         : st == 503 ? "ingest memory budget in use by other requests (see "
                       "--ingest-memory), retry later"
                     : "out of memory";
  *extra = st == 503 ? "Retry-After: 1\r\nConnection: close\r\n"
                     : "Connection: close\r\n";
  cw__http_close_after(c); /* what is left of the body is never read */
  return st;
}

/* The Retry-After header of a refused ingest, or "" (in buf). */
static const char *retry_header(const cw_ingest_result *r, char *buf,
                                size_t cap) {
  buf[0] = '\0';
  if (r->retry_after)
    snprintf(buf, cap, "Retry-After: %d\r\n", r->retry_after);
  return buf;
}

static int h_events(cw_server *s, struct mg_connection *c) {
  const char *enc = mg_get_header(c, "Content-Encoding");
  int lz4 = 0;
  if (enc && !strcasecmp(enc, "lz4"))
    lz4 = 1;
  else if (enc && *enc && strcasecmp(enc, "identity")) {
    atomic_fetch_add(&s->m.refusals[CW_REFUSE_ENCODING], 1);
    cw__http_close_after(c);
    cw__http_error(c, 415, "Content-Encoding must be lz4 or identity",
                   "Connection: close\r\n");
    return 415;
  }
  uint8_t *body;
  size_t len;
  uint64_t charge;
  const char *msg, *extra;
  int st = ingest_body(s, c, &body, &len, &charge, &msg, &extra);
  if (st) {
    cw__http_error(c, st, msg, extra);
    return st;
  }
  cw_ingest_result r;
  cw__ingest_native(&s->ingest, body, len, lz4, &r);
  free(body);
  cw__membudget_give(s->mem, charge);
  if (r.status != 200) {
    char h[64];
    cw__http_error(c, r.status, r.msg, retry_header(&r, h, sizeof h));
    return r.status;
  }
  json_t *reasons = json_object();
  uint64_t rej = 0;
  for (int k = 0; k < CW_REJ_COUNT_; k++) {
    rej += r.rejected[k];
    if (r.rejected[k])
      json_object_set_new(reasons, cw__reject_reason_name((cw_reject_reason)k),
                          json_integer((json_int_t)r.rejected[k]));
  }
  cw__http_json(c, 200,
                json_pack("{s:I,s:I,s:o,s:I,s:I,s:I,s:I}", "accepted",
                          (json_int_t)r.accepted, "rejected", (json_int_t)rej,
                          "rejected_by_reason", reasons, "batches",
                          (json_int_t)r.batches, "duplicate_batches",
                          (json_int_t)r.duplicate_batches, "duplicate_events",
                          (json_int_t)r.duplicate_events, "sdk_dropped",
                          (json_int_t)r.sdk_dropped),
                NULL);
  return 200;
}

static void raceway_answer(struct mg_connection *c, int status, const char *msg,
                           const char *extra) {
  cw__http_json(c, status,
                json_pack("{s:b,s:n,s:s}", "success", 0, "data", "error", msg),
                extra);
}

static int h_raceway(cw_server *s, struct mg_connection *c) {
  const char *enc = mg_get_header(c, "Content-Encoding");
  if (enc && *enc && strcasecmp(enc, "identity")) {
    atomic_fetch_add(&s->m.refusals[CW_REFUSE_ENCODING], 1);
    cw__http_close_after(c);
    raceway_answer(c, 415, "unsupported Content-Encoding",
                   "Connection: close\r\n");
    return 415;
  }
  uint8_t *body;
  size_t len;
  uint64_t charge;
  const char *msg, *extra;
  int st = ingest_body(s, c, &body, &len, &charge, &msg, &extra);
  if (st) {
    raceway_answer(c, st, msg, extra);
    return st;
  }
  cw_ingest_result r;
  cw__ingest_raceway(&s->ingest, (const char *)body, len, &r);
  free(body);
  cw__membudget_give(s->mem, charge);
  if (r.status != 200) {
    char h[64];
    raceway_answer(c, r.status, r.msg, retry_header(&r, h, sizeof h));
    return r.status;
  }
  char data[64];
  snprintf(data, sizeof data, "Ingested %llu events",
           (unsigned long long)r.accepted);
  cw__http_json(c, 200,
                json_pack("{s:b,s:s,s:n}", "success", 1, "data", data, "error"),
                NULL);
  return 200;
}

static int is_ready(cw_server *s) {
  cw_analyzer_stats st;
  cw__analyzer_stats(s->an, &st);
  if (s->pg && !cw__pg_caught_up(s->pg))
    return 0;
  return st.fed_batches >= s->replayed_batches &&
         (!s->pg || (st.queued_batches == 0 && st.held_batches == 0));
}

static int h_metrics(cw_server *s, struct mg_connection *c) {
  cw_metrics_gauges g;
  memset(&g, 0, sizeof g);
  cw_analyzer_stats as;
  cw__analyzer_stats(s->an, &as);
  g.queue_batches = as.queued_batches;
  g.queue_bytes = as.queued_bytes;
  g.held_batches = as.held_batches;
  g.lag_seconds = as.lag_seconds;
  g.fed_events = as.fed_events;
  g.failed_batches = as.failed_batches;
  cw_store_stats ss;
  cw__store_stats(s->store, &ss);
  g.store_bytes = ss.bytes;
  g.store_segments = ss.segments;
  g.store_records = ss.records;
  g.store_events = ss.events;
  g.store_commits = ss.commits;
  g.store_repaired_bytes = ss.repaired_bytes;
  cw_summary sum;
  cw_engine *e = cw__analyzer_lock(s->an);
  cw__engine_summary(e, &sum);
  cw__analyzer_unlock(s->an);
  g.races = sum.race_groups;
  g.racy_variables = sum.racy_variables;
  g.racy_location_pairs = sum.racy_location_pairs;
  g.potential_deadlocks = sum.potential_deadlocks;
  g.exact = sum.exact;
  g.analysis_cut = sum.search_truncated + sum.instances_cut + sum.handoffs_cut +
                   sum.early_orders + sum.retired_skips;
  g.deadlocks = sum.deadlocks;
  g.contended_locks = sum.contended_locks;
  g.anomalies = sum.anomalies;
  g.invalid_events = sum.invalid_events;
  g.pending_events = sum.pending_events;
  g.lost_events = sum.lost_events;
  uint64_t skips[16];
  const char *names[16];
  size_t ns = cw__analyzer_raceway_skips(s->an, skips, 16);
  for (size_t i = 0; i < ns; i++)
    names[i] = cw__raceway_skip_name((int)i);
  g.raceway_skips = skips;
  g.raceway_skip_names = names;
  g.nraceway_skips = ns;
  g.sse_clients = (uint64_t)atomic_load(&s->sse_clients);
  g.ready = is_ready(s);
  cw_sbuf b;
  cw__sbuf_init(&b, 1 << 20);
  cw__metrics_render(&s->m, &g, &b);
  cw__http_send(c, 200, "text/plain; version=0.0.4; charset=utf-8", NULL,
                b.data ? b.data : "", b.len);
  cw__sbuf_free(&b);
  return 200;
}

/* Query routes: GET /v1/... @return the status, or 0 when no route. */
static int h_query(cw_server *s, struct mg_connection *c, const char *path) {
  const struct mg_request_info *ri = mg_get_request_info(c);
  cw_query q;
  char msg[128];
  if (cw__query_parse(ri->query_string, &q, msg, sizeof msg)) {
    cw__http_error(c, 400, msg, NULL);
    return 400;
  }
  json_t *v = NULL;
  if (q.sync) /* a CI gate wants every acknowledged batch analysed */
    cw__analyzer_drain(s->an);
  if (!strcmp(path, "/v1/audit") && !s->cfg.keep_events && q.variable[0] &&
      cw__analyzer_timeline(s->an)) {
    /* Without --keep-events the audit trail comes from the kept events,
     * read without holding up ingest. */
    int unknown = 0;
    v = cw__timeline_audit(cw__analyzer_timeline(s->an),
                           cw__analyzer_tl_engine(s->an), q.variable, q.offset,
                           q.limit, &unknown);
    if (!v) {
      cw__http_error(c, unknown ? 404 : 503,
                     unknown ? "unknown variable" : "out of memory", NULL);
      return unknown ? 404 : 503;
    }
    json_object_set_new(v, "keep_events", json_false());
    cw__http_json(c, 200, v, NULL);
    return 200;
  }
  cw_engine *e = cw__analyzer_lock(s->an);
  if (!strcmp(path, "/v1/findings"))
    v = cw__query_findings(e, cw__analyzer_input_stats(s->an));
  else if (!strcmp(path, "/v1/summary"))
    v = json_pack("{s:o}", "summary",
                  cw__query_summary(e, cw__analyzer_input_stats(s->an)));
  else if (!strcmp(path, "/v1/races"))
    v = cw__query_races(e, &q);
  else if (!strcmp(path, "/v1/deadlocks"))
    v = cw__query_deadlocks(e, &q, 1);
  else if (!strcmp(path, "/v1/potential-deadlocks"))
    v = cw__query_deadlocks(e, &q, 0);
  else if (!strcmp(path, "/v1/locks"))
    v = cw__query_locks(e, &q);
  else if (!strcmp(path, "/v1/anomalies"))
    v = cw__query_anomalies(e, &q);
  else if (!strcmp(path, "/v1/services"))
    v = cw__query_services(e, cw__analyzer_traces(s->an));
  else if (!strcmp(path, "/v1/traces"))
    v = cw__query_traces(e, cw__analyzer_traces(s->an), &q);
  else if (!strncmp(path, "/v1/traces/", 11)) {
    char hex[40];
    const char *rest = path + 11;
    size_t hl = strcspn(rest, "/");
    int chrome = !strcmp(rest + hl, "/chrome");
    if (hl < sizeof hex && (rest[hl] == '\0' || chrome)) {
      memcpy(hex, rest, hl);
      hex[hl] = '\0';
      v = chrome ? cw__query_trace_chrome(e, cw__analyzer_traces(s->an), hex)
                 : cw__query_trace(e, cw__analyzer_traces(s->an), hex, &q);
    }
    if (!v) {
      cw__analyzer_unlock(s->an);
      cw__http_error(c, 404, "unknown trace", NULL);
      return 404;
    }
  } else if (!strcmp(path, "/v1/variables"))
    v = cw__query_variables(e, &q);
  else if (!strcmp(path, "/v1/audit")) {
    v = q.variable[0] ? cw__query_audit(e, &q) : NULL;
    if (!v) {
      cw__analyzer_unlock(s->an);
      cw__http_error(c, 404,
                     q.variable[0] ? "unknown variable"
                                   : "the 'variable' parameter is required",
                     NULL);
      return 404;
    }
  } else if (!strcmp(path, "/v1/critical-path"))
    v = cw__query_critical_path(e);
  cw__analyzer_unlock(s->an);
  if (!v)
    return 0;
  /* Say where audit trails, racy_accesses and spans come from: the engine
   * keeps every access and span only with --keep-events 1. */
  if (json_is_object(v) &&
      (!strcmp(path, "/v1/variables") || !strcmp(path, "/v1/audit") ||
       !strcmp(path, "/v1/critical-path")))
    json_object_set_new(v, "keep_events", json_boolean(s->cfg.keep_events));
  cw__http_json(c, 200, v, NULL);
  return 200;
}

/* A request whose body length is ambiguous (two Content-Length headers,
 * or Content-Length with Transfer-Encoding) could be read differently by a
 * proxy in front: refuse it and close. @return 1 when refused. */
static int ambiguous_length(struct mg_connection *c) {
  const struct mg_request_info *ri = mg_get_request_info(c);
  int cl = 0, te = 0;
  for (int i = 0; i < ri->num_headers; i++) {
    cl += !strcasecmp(ri->http_headers[i].name, "Content-Length");
    te += !strcasecmp(ri->http_headers[i].name, "Transfer-Encoding");
  }
  if (cl <= 1 && !(cl && te))
    return 0;
  cw__http_close_after(c);
  cw__http_error(c, 400,
                 cl > 1 ? "more than one Content-Length"
                        : "both Content-Length and Transfer-Encoding",
                 "Connection: close\r\n");
  return 1;
}

static int route(cw_server *s, struct mg_connection *c) {
  const struct mg_request_info *ri = mg_get_request_info(c);
  if (ambiguous_length(c)) {
    atomic_fetch_add(&s->m.refusals[CW_REFUSE_MALFORMED], 1);
    return 400;
  }
  const char *m = ri->request_method;
  const char *path = ri->local_uri_raw ? ri->local_uri_raw : "";
  int get = !strcmp(m, "GET") || !strcmp(m, "HEAD");
  int post = !strcmp(m, "POST");
  if (!strcmp(path, "/healthz")) {
    if (!get)
      goto method;
    cw__http_json(c, 200, json_pack("{s:s}", "status", "ok"), NULL);
    return 200;
  }
  if (!strcmp(path, "/readyz")) {
    if (!get)
      goto method;
    int ready = is_ready(s) && !atomic_load(&s->stopping);
    cw__http_json(c, ready ? 200 : 503,
                  json_pack("{s:s}", "status", ready ? "ready" : "replaying"),
                  NULL);
    return ready ? 200 : 503;
  }
  if (!strcmp(path, "/metrics")) {
    if (!get)
      goto method;
    return h_metrics(s, c);
  }
  if (!strcmp(path, "/v1/events")) {
    if (!post)
      goto method;
    int g = gate(s, c, 0);
    return g ? g : h_events(s, c);
  }
  if (!strcmp(path, "/events")) {
    if (!post)
      goto method;
    int g = gate(s, c, 1);
    return g ? g : h_raceway(s, c);
  }
  if (!strncmp(path, "/v1/", 4)) {
    /* EventSource cannot send a key: a stream token stands for it. */
    if (get && !strcmp(path, "/v1/stream") &&
        cw__viewer_stream_token_ok(s, ri->query_string))
      return cw__sse_handle(s, c);
    if (!get && !(post && cw__viewer_post_route(path)))
      goto method;
    int g = gate(s, c, 0);
    if (g)
      return g;
    if (!strcmp(path, "/v1/stream"))
      return cw__sse_handle(s, c);
    int st = cw__viewer_handle(s, c, path);
    if (!st)
      st = h_query(s, c, path);
    if (st)
      return st;
    cw__http_error(c, 404, "no such route", NULL);
    return 404;
  }
  if (get)
    return cw__static_handle(s, c, path);
  cw__http_error(c, 404, "no such route", NULL);
  return 404;
method:
  cw__http_error(c, 405, "method not allowed", "Allow: GET, POST\r\n");
  return 405;
}

static int handler(struct mg_connection *c, void *ud) {
  cw_server *s = ud;
  atomic_fetch_add(&s->m.requests, 1);
  cw__reqlimits_learn(c);
  int st = route(s, c);
  /* A refused body that is still coming: drain a bounded amount so the
   * client reads the answer, not a reset (never after 401 or 408). */
  if (st == 400 || st == 413 || st == 415 || st == 429)
    cw__reqlimits_linger(s->lim, c, 32u << 20, 2000);
  return st;
}

static int on_init_connection(const struct mg_connection *c, void **data) {
  cw_server *s = mg_get_user_data(mg_get_context(c));
  cw__reqlimits_conn_open(s->lim, c, data);
  return 0;
}

static void on_connection_close(const struct mg_connection *c) {
  cw_server *s = mg_get_user_data(mg_get_context(c));
  cw__reqlimits_conn_close(s->lim, c);
}

/* civetweb's own error answers (malformed request line, head too large,
 * unknown HTTP version) quote the request; ours never do. */
static int on_http_error(struct mg_connection *c, int status, const char *msg) {
  (void)msg;
  cw__http_close_after(c);
  cw__http_error(c, status,
                 status == 505   ? "HTTP version not supported"
                 : status == 413 ? "request head too large"
                                 : "malformed request",
                 "Connection: close\r\n");
  return 0;
}

static int log_message(const struct mg_connection *c, const char *msg) {
  (void)c;
  (void)msg;
  return 1; /* quiet: errors are answered, not logged per request */
}

/* One GET /healthz to ourselves over loopback, so that reqlimits learns
 * how to read a new connection's client address. */
static void self_request(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return;
  struct timeval tv = {2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  static const char req[] = "GET /healthz HTTP/1.0\r\n\r\n";
  char buf[512];
  if (!connect(fd, (struct sockaddr *)&a, sizeof a) &&
      send(fd, req, sizeof req - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof req - 1))
    while (recv(fd, buf, sizeof buf, 0) > 0)
      ;
  close(fd);
}

int cw__server_start(const cw_config *c, cw_server **out, char *err,
                     size_t errsz) {
  *out = NULL;
  cw_server *s = calloc(1, sizeof *s);
  if (!s) {
    snprintf(err, errsz, "out of memory");
    return -1;
  }
  s->cfg = *c;
  cw_analyzer_opts ao = {.queue_bytes = c->queue_bytes,
                         .keep_events = c->keep_events,
                         .slow_db_ns = c->slow_db_ns,
                         .slow_http_ns = c->slow_http_ns,
                         .slow_span_ns = c->slow_span_ns,
                         .lock_wait_ns = c->lock_wait_ns,
                         .retry_storm = c->retry_storm,
                         .retry_window_ns = c->retry_window_ns,
                         .event_memory = c->event_memory};
  s->an = cw__analyzer_new(&ao);
  s->dedup = cw__dedup_new(65536);
  s->rl = cw__ratelimit_new(c->rate_limit, c->rate_burst, 4096);
  s->auth_rl = cw__ratelimit_new(CW_AUTH_FAIL_RATE, CW_AUTH_FAIL_BURST, 4096);
  cw_reqlimits_opts lo = {c->max_client_conns, c->body_timeout_ms};
  s->lim = cw__reqlimits_new(&lo);
  s->viewer = cw__viewer_new();
  s->mem = cw__membudget_new(c->ingest_memory);
  if (!s->an || !s->dedup || !s->rl || !s->auth_rl || !s->lim || !s->viewer ||
      !s->mem) {
    snprintf(err, errsz, "out of memory");
    goto fail;
  }
  s->ingest.an = s->an;
  s->ingest.dedup = s->dedup;
  s->ingest.m = &s->m;
  s->ingest.max_batch_events = c->max_batch_events;
  s->ingest.max_decoded = c->max_decoded;
  s->ingest.mem = s->mem;
  s->ingest.queue_timeout_ms = 5000;
  if (c->postgres[0]) {
    if (cw__pg_open(c->postgres, &s->pg, err, errsz))
      goto fail;
    s->ingest.pg = s->pg;
  }
  cw_store_opts so = {c->data_dir, c->segment_bytes, c->retention_bytes,
                      c->retention_events, c->fsync};
  if (cw__store_open(&so, cw__ingest_replay, &s->ingest, &s->store, err, errsz))
    goto fail;
  s->ingest.store = s->store;
  cw_store_stats ss;
  cw__store_stats(s->store, &ss);
  s->replayed_batches = s->pg ? 0 : ss.records;
  if (s->pg &&
      cw__pg_start_poller(s->pg, cw__ingest_feed_record, &s->ingest, 200)) {
    snprintf(err, errsz, "cannot start the PostgreSQL poller");
    goto fail;
  }
  mg_init_library(0);
  char ports[96], threads[16], head_ms[16];
  snprintf(ports, sizeof ports, "%s:%d", c->listen_host, c->listen_port);
  snprintf(threads, sizeof threads, "%d", c->threads + c->max_subscribers);
  /* civetweb bounds the whole request head by request_timeout_ms (and by
   * keep_alive_timeout_ms for later requests on a connection, idle time
   * included); the body deadline is reqlimits'. */
  snprintf(head_ms, sizeof head_ms, "%d", c->header_timeout_ms);
  const char *opts[] = {"listening_ports",
                        ports,
                        "num_threads",
                        threads,
                        "enable_keep_alive",
                        "yes",
                        "keep_alive_timeout_ms",
                        head_ms,
                        "request_timeout_ms",
                        head_ms,
                        "enable_directory_listing",
                        "no",
                        "tcp_nodelay",
                        "1",
                        NULL};
  struct mg_callbacks cb;
  memset(&cb, 0, sizeof cb);
  cb.log_message = log_message;
  cb.http_error = on_http_error;
  cb.init_connection = on_init_connection;
  cb.connection_close = on_connection_close;
  s->ctx = mg_start(&cb, s, opts);
  if (!s->ctx) {
    snprintf(err, errsz, "cannot listen on %s", ports);
    goto fail;
  }
  mg_set_request_handler(s->ctx, "/", handler, s);
  struct mg_server_port sp[4];
  int np = mg_get_server_ports(s->ctx, 4, sp);
  s->port = np > 0 ? sp[0].port : c->listen_port;
  self_request(s->port); /* arms the per-client cap (reqlimits) */
  *out = s;
  return 0;
fail:
  cw__server_stop(s);
  return -1;
}

int cw__server_port(const cw_server *s) {
  return s->port;
}

void cw__server_drain(cw_server *s) {
  cw__analyzer_drain(s->an);
}

void cw__server_stop(cw_server *s) {
  if (!s)
    return;
  atomic_store(&s->stopping, 1);
  if (s->ctx)
    mg_stop(s->ctx);
  cw__pg_close(s->pg);      /* stops the poller before the analyzer goes */
  cw__analyzer_free(s->an); /* feeds what is queued */
  cw__store_close(s->store);
  cw__dedup_free(s->dedup);
  cw__ratelimit_free(s->rl);
  cw__ratelimit_free(s->auth_rl);
  cw__viewer_free(s->viewer);
  cw__reqlimits_free(s->lim);
  cw__membudget_free(s->mem);
  if (s->ctx)
    mg_exit_library();
  free(s);
}
