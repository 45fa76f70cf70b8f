/*
 * reqlimits: the collector's defences against slow and greedy clients
 * (docs/security.md): a cap on the connections one client address holds,
 * enforced when a worker takes the connection, before any header is read;
 * and a deadline on the whole time a request body may take to arrive (not
 * a per-read timeout). The header deadline is civetweb's own
 * request_timeout_ms, which bounds the total time of the request head.
 *
 * civetweb 1.15 exposes no socket of a connection, so the module finds it
 * by its address pair when the connection starts (the socket is open and
 * owned by that worker until the connection closes).
 *
 * Thread-safety: every function may be called from any civetweb worker.
 */
#ifndef CW_REQLIMITS_H
#define CW_REQLIMITS_H

#include <civetweb.h>

typedef struct cw_reqlimits cw_reqlimits;

typedef struct cw_reqlimits_opts {
  int max_client_conns; /* per client address; 0 = no cap */
  int body_timeout_ms;  /* whole body; 0 = none */
} cw_reqlimits_opts;

/* @return a new instance (starts the deadline thread), or NULL. */
cw_reqlimits *cw__reqlimits_new(const cw_reqlimits_opts *o);
/* Stops the deadline thread and frees. NULL ok. Call after mg_stop. */
void cw__reqlimits_free(cw_reqlimits *r);

/* Learns, from a connection with a parsed request, where civetweb keeps
 * the client address of a connection not yet parsed. Call it from the
 * request handler; until it was called once, connections are not capped. */
void cw__reqlimits_learn(const struct mg_connection *c);

/* civetweb init_connection: counts the connection for its client address.
 * Over the cap, answers 503 (Retry-After) and closes the socket at once, so
 * civetweb reads nothing and frees the worker. Sets *conn_data (the
 * per-connection state, released by cw__reqlimits_conn_close). */
void cw__reqlimits_conn_open(cw_reqlimits *r, const struct mg_connection *c,
                             void **conn_data);
/* civetweb connection_close: uncounts and frees the connection's state. */
void cw__reqlimits_conn_close(cw_reqlimits *r, const struct mg_connection *c);

/* Arms the body deadline of the current request of c. */
void cw__reqlimits_body_begin(cw_reqlimits *r, struct mg_connection *c);
/* Disarms it. @return 1 when the deadline passed (the read side of the
 * socket was shut, so the body read ended early), else 0. */
int cw__reqlimits_body_end(cw_reqlimits *r, struct mg_connection *c);

/* After a refusal was answered on a connection that closes: reads and
 * drops what is left of the body, at most max_bytes within ms (a deadline
 * of its own), so that a client still sending gets the answer instead of a
 * reset. Not for unauthenticated requests: their bodies are never read. */
void cw__reqlimits_linger(cw_reqlimits *r, struct mg_connection *c,
                          size_t max_bytes, int ms);

/* Connections refused by the per-client cap and bodies cut by the deadline
 * since start. */
void cw__reqlimits_counts(cw_reqlimits *r, unsigned long long *refused_conns,
                          unsigned long long *body_timeouts);

#endif /* CW_REQLIMITS_H */
