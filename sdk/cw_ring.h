/*
 * cw_ring: a single-producer single-consumer ring of variable-size records,
 * one per thread. The owning thread writes events; the drain thread reads.
 *
 * DESIGN. Records are contiguous, 8-byte aligned, and start with their
 * size. A record that would straddle the end of the buffer is preceded by
 * a padding record that fills the tail, and starts again at offset 0.
 * head and tail are free-running byte counters: the producer publishes
 * head with a release store after writing, the consumer publishes tail
 * after reading. The producer caches tail and reloads it only when the
 * ring looks full or passes its high-water mark, so the hot path does no
 * shared-cache-line read. The fields sit on four cache lines by who writes
 * them: read-only (buf, cap...), the producer's own, head (producer,
 * read by the drain) and tail (drain): the producer never writes a line the
 * drain writes, nor reads one in the common case. The last `reserve` bytes
 * are kept for critical records (actor ends, gap markers), so that losing
 * events never loses an end.
 *
 * WAKE-UPS. The drain polls; nothing on the recording path wakes it, except
 * when a ring fills past half (the high-water mark): then the slow path of
 * cw__ring_alloc returns with r->wake set, and the caller wakes the drain
 * (cw__drain_kick), at most once per eighth of the ring.
 */
#ifndef CW_RING_H
#define CW_RING_H

#include <stddef.h>
#include <stdint.h>

#include "cw_atomic.h"

/* Padding that keeps the fields before and after it off a common cache line
 * (the ring lives in a malloc'd block, so alignment is not relied upon). */
#define CW_CACHE_LINE 64

typedef struct cw_ring {
  /* Read-only after init. */
  uint8_t *buf;
  uint64_t cap;     /* bytes, multiple of 8 */
  uint64_t reserve; /* bytes only critical records may use */
  char pad0_[CW_CACHE_LINE];
  /* The producer's own. */
  uint64_t ptail; /* producer's cached tail */
  uint64_t phead; /* producer's unpublished head */
  uint8_t *pcur;  /* buf + phead % cap (or buf + cap when full to the end) */
  uint8_t *plim;  /* fast-path limit: no wrap, reserve kept, high water */
  uint64_t hwm;   /* phead at which the slow path checks the fill level */
  int wake;       /* set by the slow path: the ring passed its high water */
  char pad1_[CW_CACHE_LINE];
  cw_au64 head; /* written by the producer */
  char pad2_[CW_CACHE_LINE];
  cw_au64 tail; /* written by the consumer */
  char pad3_[CW_CACHE_LINE];
} cw_ring;

/* Record header shared by every record kind. */
typedef struct cw_rhdr {
  uint32_t size; /* total, multiple of 8 */
  uint16_t type; /* CW_R_* */
  uint16_t pad_;
} cw_rhdr;

enum {
  CW_R_PAD = 1,
  CW_R_EVENT = 2,
  CW_R_GAP = 3,
  CW_R_LOCK = 4,
  CW_R_ANCHOR = 5, /* cw_stamp.h: the thread's (ticks, monotonic) pair */
  CW_R_ACCESS = 6  /* cw_internal.h: a state access naming its key by id */
};

int cw__ring_init(cw_ring *r, uint64_t cap);
void cw__ring_free(cw_ring *r);

/* Producer: room for `size` bytes (a multiple of 8), or NULL when the ring
 * is full. `critical` may use the reserve. Fill it, then cw__ring_commit.
 * Sets r->wake when the ring passed its high-water mark. */
void *cw__ring_alloc_slow(cw_ring *r, uint32_t size, int critical);
static inline void *cw__ring_alloc(cw_ring *r, uint32_t size, int critical) {
  uint8_t *p = r->pcur;
  /* Fast path: no wrap, and room known from the cached tail. */
  if (size <= r->cap / 2 && (size_t)(r->plim - p) >= size) {
    r->phead += size;
    r->pcur = p + size;
    return p;
  }
  return cw__ring_alloc_slow(r, size, critical);
}
/* Producer: 1 when `bytes` more bytes (padding included) would fit. */
int cw__ring_fits(cw_ring *r, uint64_t bytes, int critical);
/* Producer: publishes every record allocated so far. */
static inline void cw__ring_commit(cw_ring *r) {
  cw_store_release(&r->head, r->phead);
}

/* Consumer: the next record, or NULL when empty. */
static inline const cw_rhdr *cw__ring_peek(const cw_ring *r,
                                           const uint64_t *pos, uint64_t head) {
  if (*pos >= head)
    return NULL;
  return (const cw_rhdr *)(r->buf + (*pos % r->cap));
}
/* Consumer: frees everything before pos. */
static inline void cw__ring_release(cw_ring *r, uint64_t pos) {
  cw_store_release(&r->tail, pos);
}

#endif /* CW_RING_H */
