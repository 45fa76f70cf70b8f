/*
 * store: the embedded store, an append-only log of LZ4-compressed batches in
 * segment files (DIR/seg-000001.cwlog, ...), with group commit.
 *
 * A batch is acknowledged only after cw__store_append returned 0, that is
 * after it was written and fdatasync'ed together with the batches of other
 * requests that arrived meanwhile. docs/storage.md specifies the layout.
 *
 * Thread-safety: cw__store_append and cw__store_stats may be called from any
 * number of threads; open and close from one.
 */
#ifndef CW_STORE_H
#define CW_STORE_H

#include <stddef.h>
#include <stdint.h>

/* Record types. Never renumber. */
enum {
  CW_STORE_NATIVE = 1, /* one native batch: one LZ4 frame as received */
  CW_STORE_RACEWAY = 2 /* one Raceway JSON body, as one LZ4 frame */
};

/* Largest record payload accepted on write and on replay. */
#define CW_STORE_MAX_RECORD ((size_t)128 << 20)

typedef struct cw_store cw_store;

typedef struct cw_store_opts {
  const char *dir;           /* created if missing; NULL/"" = memory only */
  uint64_t segment_bytes;    /* rotate after this size */
  uint64_t retention_bytes;  /* 0 = unlimited */
  uint64_t retention_events; /* 0 = unlimited */
  int fsync;                 /* fdatasync before acknowledging */
} cw_store_opts;

typedef struct cw_store_rec {
  uint8_t type;
  uint32_t nevents; /* events in the record (retention, statistics) */
  const void *data; /* borrowed */
  size_t len;
  /* Native batches: the batch label (PostgreSQL dedup); NULL otherwise.
   * Not written to segments (the payload carries it). */
  const uint8_t *stream_id;
  uint64_t batch_no;
} cw_store_rec;

/* Called for each stored record during open, oldest first. A non-zero return
 * stops the replay and fails the open. */
typedef int (*cw_store_replay_fn)(void *ud, const cw_store_rec *rec);

typedef struct cw_store_stats {
  uint64_t bytes; /* on disk, all segments */
  uint64_t segments;
  uint64_t records;
  uint64_t events;
  uint64_t commits;          /* fdatasync groups */
  uint64_t repaired_bytes;   /* torn tail cut from the last segment */
  uint64_t corrupt_records;  /* damaged regions skipped (resynchronised) */
  uint64_t deleted_segments; /* by retention */
} cw_store_stats;

/* Opens the store: scans every segment, replays each good record through
 * `fn` (may be NULL), skips damaged regions (resynchronising at the next
 * valid record; each is logged to stderr and copied to DIR/damaged/), cuts
 * a torn tail of the last segment and starts the writer thread.
 * @return 0, or -1 with a message in err. */
int cw__store_open(const cw_store_opts *o, cw_store_replay_fn fn, void *ud,
                   cw_store **out, char *err, size_t errsz);

/* Appends n records as one unit and waits until they are durable.
 * @return 0 once written (and synced), -1 on an I/O error (nothing of this
 * call is acknowledged then). */
int cw__store_append(cw_store *s, const cw_store_rec *recs, size_t n);

void cw__store_stats(cw_store *s, cw_store_stats *out);

/* Stops the writer after the queued appends and closes the files. NULL ok. */
void cw__store_close(cw_store *s);

#endif /* CW_STORE_H */
