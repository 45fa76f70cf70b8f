/*
 * causeway/http.h: HTTP clock propagation for civetweb servers and libcurl
 * clients (library causeway_http; link it next to libcauseway).
 *
 * Happens-before travels with each request and each response:
 *
 *   client                                server (civetweb)
 *   cw_curl_perform():
 *     http_send event
 *     headers: causeway-clock  --------->  cw_http_handle():
 *              traceparent                   new task actor whose clock
 *              tracestate                    starts from the caller's clock
 *                                            (never the worker thread's)
 *                                            http_recv event
 *                                            ... handler runs ...
 *                                          cw_http_respond():
 *                                            http_respond event
 *     http_response event  <-------------    causeway-clock: callee's clock
 *     joins the callee's clock
 *
 * See docs/distributed.md for the header contents and a worked example.
 *
 * General rules: every function is thread-safe. Without cw_init() (or with
 * tracing disabled) the wrappers still serve and perform requests; they
 * only skip recording and clock headers. Bad input (a malformed, oversized
 * or truncated header) is ignored and counted in cw_http_stats, never a
 * crash and never an error for the request.
 */
#ifndef CAUSEWAY_HTTP_H
#define CAUSEWAY_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "causeway.h"

#ifdef __cplusplus
extern "C" {
#endif

struct mg_connection;
struct mg_context;

/* Header names (lowercase; HTTP header names are case-insensitive). */
#define CW_HTTP_CLOCK_HEADER "causeway-clock"
#define CW_HTTP_RACEWAY_HEADER "raceway-clock"
#define CW_HTTP_TRACEPARENT_HEADER "traceparent"
#define CW_HTTP_TRACESTATE_HEADER "tracestate"

/* Longest header value accepted: a causeway-clock (CW_CLOCK_HEADER_MAX) or
 * raceway-clock value beyond it is ignored and counted as oversized; a
 * tracestate is trimmed to 512 bytes entry by entry (W3C). */
#define CW_HTTP_HEADER_MAX CW_CLOCK_HEADER_MAX
#define CW_HTTP_TRACESTATE_MAX 512

/* ---- Server side (civetweb) ------------------------------------------------
 */

/* A civetweb request handler (same shape as mg_request_handler): returns 0
 * when it did not handle the request, else the HTTP status it sent. */
typedef int (*cw_http_handler_fn)(struct mg_connection *conn, void *cbdata);

/* Runs `handler` as one instrumented request. Call it from inside a
 * civetweb request handler (or use cw_http_set_request_handler()):
 *  1. reads causeway-clock (or a Raceway caller's raceway-clock),
 *     traceparent and tracestate;
 *  2. begins a task actor named "METHOD path" whose clock starts from the
 *     caller's clock (an empty clock when none came), never from the worker
 *     thread's history, and sets its trace context (continuing the caller's
 *     trace, or starting a new one);
 *  3. records http_recv ("METHOD path"), then calls handler(conn, cbdata);
 *  4. if the handler did not answer through cw_http_respond() or
 *     cw_http_send_headers(), records http_respond with the handler's
 *     return value as the status (no clock goes back then);
 *  5. ends the task.
 * Calls made with cw_curl_perform() from inside the handler continue the
 * request's trace and pass its tracestate on.
 * @return the handler's return value. */
CW_API int cw_http_handle(struct mg_connection *conn,
                          cw_http_handler_fn handler, void *cbdata);

/* Registers `handler` for `uri` exactly as mg_set_request_handler() does,
 * wrapped by cw_http_handle(). Call it before requests arrive for `uri`;
 * the registration lives until the process ends.
 * @param ctx, uri  borrowed; uri is copied by civetweb.
 * @param handler  non-NULL.
 * @return CW_OK, CW_EINVAL, CW_ENOMEM. */
CW_API cw_status cw_http_set_request_handler(struct mg_context *ctx,
                                             const char *uri,
                                             cw_http_handler_fn handler,
                                             void *cbdata);

/* Sends a complete response from inside an instrumented handler: status
 * line, Content-Type, Content-Length, causeway-clock (the request task's
 * clock after the http_respond event) and the body. Records http_respond
 * with the status and the time since the request arrived.
 * @param content_type  may be NULL ("text/plain").
 * @param body  len bytes, may be NULL when len is 0; borrowed.
 * @return the number of body bytes written, or -1 when writing failed.
 * Outside cw_http_handle() it still sends the response, without recording
 * or clock header. */
CW_API int cw_http_respond(struct mg_connection *conn, int status,
                           const char *content_type, const void *body,
                           size_t len);

/* For handlers that build their own response with civetweb's
 * mg_response_header_* calls: call mg_response_header_start(), add your
 * headers, then this function instead of mg_response_header_send(). It
 * records http_respond, adds causeway-clock and sends the headers; write
 * the body with mg_write() afterwards.
 * @return civetweb's mg_response_header_send() result (0 on success). */
CW_API int cw_http_send_headers(struct mg_connection *conn, int status);

/* ---- Client side (libcurl) ------------------------------------------------
 */

/* Options for cw_curl_perform(). Zero it, set `size`, then what applies. */
typedef struct cw_curl_opts {
  uint32_t size; /* sizeof(cw_curl_opts) */
  /* The header list the caller set with CURLOPT_HTTPHEADER (libcurl cannot
   * report it), or NULL. Borrowed; the call sets CURLOPT_HTTPHEADER to a
   * copy plus the propagation headers and restores this list before it
   * returns. */
  struct curl_slist *headers;
  /* The request method for the http_send event ("POST"...). NULL: what
   * libcurl reports before the transfer ("GET" unless CURLOPT_CUSTOMREQUEST
   * or CURLOPT_NOBODY say otherwise). The http_response event always uses
   * the method libcurl actually sent. */
  const char *method;
  /* The caller's CURLOPT_XFERINFOFUNCTION and data, if it set one: the
   * wrapper installs its own progress callback while wait edges are on
   * (cw_http_set_wait_threshold) and calls this one from it. */
  curl_xferinfo_callback xferinfo;
  void *xferinfo_data;
} cw_curl_opts;

/* Performs a request as curl_easy_perform() does, propagating clocks:
 *  - records http_send ("METHOD url");
 *  - adds causeway-clock (the caller's clock after that event),
 *    traceparent (the caller's trace, or a new one, with a fresh span id),
 *    tracestate (the current inbound request's, passed through), and an
 *    empty "Expect:" (civetweb never answers 100-continue) unless the
 *    caller's list has an Expect header;
 *  - after the transfer, records http_response with the status and the
 *    duration, joining the callee's causeway-clock from the response, so
 *    that the caller's later events happen after everything the callee did
 *    before answering. A missing or bad response clock is counted.
 * Response headers are read with curl_easy_header(); the caller's
 * CURLOPT_HEADERFUNCTION is left alone.
 * @param opts  may be NULL.
 * @return curl_easy_perform()'s result, or CURLE_OUT_OF_MEMORY when the
 *         header list cannot be built. */
CW_API CURLcode cw_curl_perform(CURL *easy, const cw_curl_opts *opts);
/* cw_curl_perform() with the caller's location: a slow call's wait on the
 * callee ("http-call:<span>", see cw_http_set_wait_threshold) is requested
 * there, so deadlock reports name the call site. The cw_curl_perform macro
 * passes CW_LOC_HERE; the function of that name passes no location. */
CW_API CURLcode cw_curl_perform_at(CURL *easy, const cw_curl_opts *opts,
                                   cw_loc loc);
#define cw_curl_perform(easy, opts)                                            \
  cw_curl_perform_at((easy), (opts), CW_LOC_HERE)

/* ---- Waits across services (distributed deadlocks) ------------------------
 */

/* Makes HTTP calls visible to wait-for (actual deadlock) detection. When
 * on, each request task holds the lock resource "http-call:<span>" (the
 * caller's call span from traceparent) while it runs, and a caller whose
 * call has lasted threshold_ms records a request for that resource (from
 * libcurl's progress callback, on the calling thread), acquiring and
 * releasing it when the answer comes. A service that holds a lock and
 * calls another service that waits for a lock held by a caller of the
 * first then forms a wait-for cycle the collector reports while it lasts,
 * in whatever order the two services' batches arrive (any threshold works;
 * pick one above your calls' normal p99, docs/distributed.md).
 * Off by default (threshold 0): it costs two lock events per request and
 * one lock entry per slow call in the analysis. CAUSEWAY_HTTP_WAITS=<ms>
 * in the environment sets the threshold at the first request or call.
 * Both sides need it on. Thread-safe. */
CW_API void cw_http_set_wait_threshold(uint32_t threshold_ms);

/* ---- Traces and statistics ----------------------------------------------- */

/* Starts a new trace (one user action) on the calling actor: a fresh
 * trace id and span id that later cw_curl_perform() calls carry, so the
 * collector groups every service the action reaches.
 * @param trace_id  optional: receives the 16-byte id.
 * @return CW_OK, CW_EDISABLED. */
CW_API cw_status cw_http_trace_begin(uint8_t trace_id[16]);

/* Propagation counters since the process started. */
typedef struct cw_http_stats {
  uint64_t requests;           /* requests run by cw_http_handle() */
  uint64_t responses;          /* responses sent with a causeway-clock */
  uint64_t calls;              /* cw_curl_perform() calls */
  uint64_t clocks_joined;      /* response clocks joined by clients */
  uint64_t clock_missing;      /* inbound requests with no clock header */
  uint64_t clock_malformed;    /* clock headers ignored as malformed */
  uint64_t clock_oversized;    /* clock headers ignored as too long */
  uint64_t raceway_clocks;     /* inbound raceway-clock headers used */
  uint64_t traceparent_bad;    /* malformed traceparent headers ignored */
  uint64_t tracestate_dropped; /* tracestate not passed on: no valid
                                  traceparent, or an invalid list */
} cw_http_stats;

/* Copies the counters into *out. */
CW_API void cw_http_stats_get(cw_http_stats *out);

/* ---- Header helpers (also used by tests and other transports) ------------ */

/* Parses a W3C traceparent value "00-<32 hex>-<16 hex>-<2 hex>".
 * All-zero ids, a wrong length, version ff, uppercase or non-hex characters
 * are malformed (the header is then ignored, as the specification asks).
 * @return CW_OK or CW_EMALFORMED. */
CW_API cw_status cw_http_parse_traceparent(const char *value, size_t len,
                                           uint8_t trace_id[16],
                                           uint8_t span_id[8]);

/* Trace flags of version 00 that are passed on: sampled (0x01) and
 * random-trace-id (0x02, Trace Context Level 2). */
#define CW_HTTP_TRACE_FLAGS_KNOWN 0x03u

/* As cw_http_parse_traceparent, also returning the trace flags (the known
 * bits, CW_HTTP_TRACE_FLAGS_KNOWN) in *flags (may be NULL). Hex must be
 * lowercase, as the specification's fields are. */
CW_API cw_status cw_http_parse_traceparent_flags(const char *value, size_t len,
                                                 uint8_t trace_id[16],
                                                 uint8_t span_id[8],
                                                 uint8_t *flags);
/* Formats a traceparent value with the given flags (known bits only). */
CW_API cw_status cw_http_format_traceparent_flags(const uint8_t trace_id[16],
                                                  const uint8_t span_id[8],
                                                  uint8_t flags, char *buf,
                                                  size_t cap);

/* Formats a traceparent value (sampled flag set) into buf (>= 56 bytes).
 * @return CW_OK or CW_ETOOBIG. */
CW_API cw_status cw_http_format_traceparent(const uint8_t trace_id[16],
                                            const uint8_t span_id[8], char *buf,
                                            size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* CAUSEWAY_HTTP_H */
