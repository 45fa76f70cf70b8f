/*
 * server: the collector as a library: opens the store (replaying it into
 * the analysis), starts the HTTP server and stops everything. main.c and
 * the tests use it.
 */
#ifndef CW_SERVER_H
#define CW_SERVER_H

#include <stddef.h>

#include "cw_config.h"

typedef struct cw_server cw_server;

/* Starts a collector with the given settings (the struct is copied).
 * @return 0, or -1 with a message in err. */
int cw__server_start(const cw_config *c, cw_server **out, char *err,
                     size_t errsz);

/* The TCP port actually listened on. */
int cw__server_port(const cw_server *s);

/* Waits until every stored batch was analysed (tests). */
void cw__server_drain(cw_server *s);

/* Stops HTTP, feeds what is queued, closes the store, frees. NULL ok. */
void cw__server_stop(cw_server *s);

#endif /* CW_SERVER_H */
