/*
 * pgstore: the optional PostgreSQL store (--postgres). Every batch the
 * collector acknowledges is also inserted into one shared table, and a
 * poller feeds this collector's analysis with the batches other collectors
 * inserted, so collectors sharing a database all see every event.
 *
 * Thread-safety: cw__pg_insert may be called from any thread (one
 * connection, serialized); the poller runs on its own thread and
 * connection.
 */
#ifndef CW_PGSTORE_H
#define CW_PGSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

typedef struct cw_pgstore cw_pgstore;

/* Schema version this build creates or migrates to. */
#define CW_PG_SCHEMA_VERSION 1

/* Connects, creates or migrates the schema. @return 0 or -1 (err). */
int cw__pg_open(const char *conninfo, cw_pgstore **out, char *err,
                size_t errsz);

/* Inserts records in one multi-row statement, in one transaction.
 * Native batches already in the table (same stream_id, batch_no) are
 * skipped. @return 0 when committed, -1 otherwise. */
int cw__pg_insert(cw_pgstore *p, const cw_store_rec *recs, size_t n);

/* Starts the poller: every interval_ms it reads rows it has not seen yet
 * (all rows on the first pass, including this collector's earlier runs;
 * never rows this run inserted) and calls fn for each, in id order. */
int cw__pg_start_poller(cw_pgstore *p, cw_store_replay_fn fn, void *ud,
                        int interval_ms);

/* @return 1 once the first full pass of the poller is done. */
int cw__pg_caught_up(cw_pgstore *p);

/* Stops the poller and closes the connections. NULL ok. */
void cw__pg_close(cw_pgstore *p);

#endif /* CW_PGSTORE_H */
