/*
 * dedup: remembers which (stream_id, batch_no) native batches were stored,
 * so a retried batch is acknowledged again without storing its events twice.
 *
 * Thread-safety: all functions are thread-safe.
 */
#ifndef CW_DEDUP_H
#define CW_DEDUP_H

#include <stddef.h>
#include <stdint.h>

typedef struct cw_dedup cw_dedup;

/* Batches remembered per stream below its highest batch number. */
#define CW_DEDUP_WINDOW 4096u

enum {
  CW_DEDUP_NEW = 0,      /* reserved: store it, then commit or abort */
  CW_DEDUP_SEEN = 1,     /* already stored: acknowledge, do not store */
  CW_DEDUP_IN_FLIGHT = 2 /* being stored by another request right now */
};

/* new: max_streams caps memory (the least recently created streams are
 * forgotten beyond it). @return NULL on allocation failure. */
cw_dedup *cw__dedup_new(size_t max_streams);
void cw__dedup_free(cw_dedup *d);

/* Checks a batch and, when new, reserves it as in flight. */
int cw__dedup_reserve(cw_dedup *d, const uint8_t stream[16], uint64_t batch_no);
/* Ends a reservation: stored != 0 marks the batch seen; 0 forgets it. */
void cw__dedup_finish(cw_dedup *d, const uint8_t stream[16], uint64_t batch_no,
                      int stored);
/* Marks a batch seen (replay). @return 1 when it already was. */
int cw__dedup_mark(cw_dedup *d, const uint8_t stream[16], uint64_t batch_no);

size_t cw__dedup_streams(cw_dedup *d);

#endif /* CW_DEDUP_H */
