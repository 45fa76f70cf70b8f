/*
 * glue_util: helpers shared by the HTTP/DB integration programs in
 * tests/glue: a civetweb server on 127.0.0.1 port 0, a port file for the
 * driving script, a blocking wait for SIGTERM, and one-shot HTTP calls
 * through cw_curl_perform().
 */
#ifndef GLUE_UTIL_H
#define GLUE_UTIL_H

#include <stddef.h>

struct mg_context;

/* Starts civetweb on 127.0.0.1:0 with `threads` workers and reads back
 * the port. @return the context or NULL. */
struct mg_context *glue_start_server(int threads, int *port);

/* Writes the port to path atomically (via rename), for the driving
 * script. @return 0 or -1. */
int glue_write_port(const char *path, int port);

/* Blocks SIGTERM/SIGINT in the calling thread and every thread created
 * later. Call first thing in main(). */
void glue_block_signals(void);

/* Waits until SIGTERM or SIGINT arrives. */
void glue_wait_signal(void);

/* Performs METHOD url through cw_curl_perform() with a fresh handle and a
 * timeout of timeout_ms. The body (up to cap-1 bytes) goes to body.
 * @return the HTTP status, or -1 on a transport error or timeout. */
int glue_http(const char *method, const char *url, char *body, size_t cap,
              long timeout_ms);

/* Gets query variable `name` of a civetweb request into out.
 * @return 0 or -1. */
int glue_query_var(const void *conn, const char *name, char *out, size_t cap);

/* Reads a "name=value" integer from the environment, or dflt. */
long glue_env_long(const char *name, long dflt);

#endif /* GLUE_UTIL_H */
