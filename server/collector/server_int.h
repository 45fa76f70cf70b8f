/*
 * server_int: state shared by the collector's HTTP modules (server.c,
 * sse.c, static_files.c). Not used outside server/collector.
 */
#ifndef CW_SERVER_INT_H
#define CW_SERVER_INT_H

#include <civetweb.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "analyzer.h"
#include "cw_config.h"
#include "dedup.h"
#include "ingest.h"
#include "membudget.h"
#include "metrics.h"
#include "ratelimit.h"
#include "reqlimits.h"
#include "store.h"

typedef struct cw_server cw_server;

/* Requests with a missing or wrong API key, per client address: a burst of
 * 20, then 5 per second; beyond, 429 instead of 401. */
#define CW_AUTH_FAIL_RATE 5.0
#define CW_AUTH_FAIL_BURST 20.0

struct cw_server {
  cw_config cfg;
  struct mg_context *ctx;
  int port;
  cw_store *store;
  cw_analyzer *an;
  cw_dedup *dedup;
  cw_ratelimit *rl;
  cw_ratelimit *auth_rl; /* requests with a wrong key, per address */
  cw_reqlimits *lim;
  cw_membudget *mem; /* ingest memory (--ingest-memory) */
  cw_ingest ingest;
  cw_pgstore *pg;
  cw_metrics m;
  uint64_t replayed_batches;
  atomic_int stopping;
  atomic_int sse_clients;
  struct cw_viewer_state *viewer; /* viewer_api.c: marks, stream tokens */
};

/* Sends a complete response with a body and Content-Length. extra holds
 * whole header lines ("Name: value\r\n") or is NULL. */
void cw__http_send(struct mg_connection *c, int status, const char *ctype,
                   const char *extra, const void *body, size_t len);
/* Sends a JSON value (stolen) with the given status. */
void cw__http_json(struct mg_connection *c, int status, json_t *v,
                   const char *extra);
/* Sends {"error": msg}. */
void cw__http_error(struct mg_connection *c, int status, const char *msg,
                    const char *extra);

/* Ends the connection after this response: the rest of an unread request
 * body is never read (a refused request must not hold a worker). */
void cw__http_close_after(struct mg_connection *c);

/* GET /v1/stream (server-sent events). @return the HTTP status. */
int cw__sse_handle(cw_server *s, struct mg_connection *c);

/* GET of a static viewer file. @return the HTTP status. */
int cw__static_handle(cw_server *s, struct mg_connection *c,
                      const char *raw_path);

#endif /* CW_SERVER_INT_H */
