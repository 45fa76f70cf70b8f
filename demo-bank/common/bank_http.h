/*
 * bank_http: the HTTP side shared by every demo-bank service: a civetweb
 * server whose requests run through causeway's HTTP glue, a small router
 * ("/accounts/:id/balance"), JSON request bodies and replies, JSON errors,
 * /health, /metrics and /admin/flush, and an instrumented libcurl client.
 *
 * Thread-safety: every function may be called from any request handler
 * thread; a bank_req belongs to the thread that runs its handler.
 */
#ifndef BANK_HTTP_H
#define BANK_HTTP_H

#include <jansson.h>
#include <stdint.h>

struct mg_connection;
struct mg_context;

#define BANK_MAX_PARAMS 4

/* One request, as a handler sees it. */
typedef struct bank_req {
  struct mg_connection *conn;
  const char *method;
  const char *path;
  const char *query;                   /* may be NULL */
  const char *params[BANK_MAX_PARAMS]; /* ":x" segments, in order */
  char param_buf[256];
  json_t *body; /* parsed JSON body (object) for POST/PATCH/PUT, or NULL */
  int status;   /* status sent, for logs and metrics */
} bank_req;

/* A handler answers through bank_reply_* and returns the status sent. */
typedef int (*bank_handler)(bank_req *r);

typedef struct bank_route {
  const char *method;  /* "GET", "POST", ... */
  const char *pattern; /* "/accounts/:id" */
  bank_handler fn;
} bank_route;

/* Starts civetweb on 127.0.0.1:port (0 picks a free port) with `threads`
 * workers; every request goes through cw_http_handle() and the router.
 * /health, /metrics and POST /admin/flush are added to `routes` (which must
 * end with a {NULL} entry and stay valid). Static files are served from
 * static_dir (may be NULL) for paths no route claims.
 * @param port_out  receives the port listened on.
 * @return the context, or NULL (logged). */
struct mg_context *bank_http_start(const char *service, int port, int threads,
                                   const bank_route *routes,
                                   const char *static_dir, int *port_out);

/* Sends `body` (stolen) as JSON with `status`. @return status. */
int bank_reply_json(bank_req *r, int status, json_t *body);
/* Sends {"error": msg} with `status` plus one extra header (e.g.
 * Retry-After). @return status. */
int bank_reply_error_hdr(bank_req *r, int status, const char *msg,
                         const char *hname, const char *hvalue);
/* Sends {"error": msg} with `status` (4xx/5xx). @return status. */
int bank_reply_error(bank_req *r, int status, const char *msg);
/* Sends a body of the given content type. @return status. */
int bank_reply_raw(bank_req *r, int status, const char *type, const char *body,
                   size_t len);

/* Parses r->params[i] as a positive id. @return 0, or -1 (after replying
 * 400 itself: the caller returns r->status). */
int bank_param_id(bank_req *r, int i, int64_t *out);

/* Looks up a query-string variable into buf. @return 0 or -1 if absent. */
int bank_query_var(const bank_req *r, const char *name, char *buf, size_t cap);

/* ---- Client ------------------------------------------------------------ */

/* Transport failures, returned instead of an HTTP status. */
#define BANK_CALL_ERROR (-1)
#define BANK_CALL_TIMEOUT (-2)

/* Performs METHOD url with an optional JSON body (borrowed), through
 * cw_curl_perform() so the callee's clock comes back.
 * @param out  may be NULL; else receives the parsed JSON reply (new
 *             reference) or NULL.
 * @param timeout_ms  0 for 30 s.
 * @param extra_header  one "Name: value" header, or NULL.
 * @return the HTTP status, BANK_CALL_TIMEOUT or BANK_CALL_ERROR. */
int bank_call(const char *method, const char *url, json_t *body, json_t **out,
              long timeout_ms, const char *extra_header);

/* bank_call without causeway: a plain libcurl request that records no
 * HTTP events and carries no clock. For calls that are not the service's
 * own traffic, such as the protocol of an external lock service whose
 * locks the caller records itself with cw_extlock_* (the events of the
 * call would otherwise sit between the lock request and its grant). */
int bank_call_untraced(const char *method, const char *url, json_t *body,
                       json_t **out, long timeout_ms);

/* Formats base + path into buf. @return buf. */
const char *bank_url(char *buf, size_t cap, const char *base, const char *fmt,
                     ...) __attribute__((format(printf, 4, 5)));

#endif /* BANK_HTTP_H */
