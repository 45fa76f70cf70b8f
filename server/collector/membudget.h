/*
 * membudget: the collector's memory budget for ingest (docs/security.md,
 * "Memory"). Every ingest request takes from one shared budget what it will
 * hold at once: its body, its decompressed batches, the estimated size of a
 * Raceway body's parsed tree; it gives it back when done. One request may
 * not take more than a per-request limit (413); when concurrent requests
 * have taken the whole budget, the next one is refused with 503 and
 * Retry-After instead of raising the process's memory.
 *
 * Thread-safety: every function is thread-safe.
 */
#ifndef CW_MEMBUDGET_H
#define CW_MEMBUDGET_H

#include <stddef.h>
#include <stdint.h>

typedef struct cw_membudget cw_membudget;

/* @return a budget of cap bytes, or NULL (out of memory). */
cw_membudget *cw__membudget_new(uint64_t cap);
void cw__membudget_free(cw_membudget *b); /* NULL ok */

/* Takes `bytes`, waiting up to wait_ms for room. Wait only while holding
 * nothing else of the budget, or pass 0 (never wait).
 * @return 0 when taken, -1 when the budget stayed full. */
int cw__membudget_take(cw_membudget *b, uint64_t bytes, int wait_ms);

/* Takes as much of `want` as is free now, without waiting.
 * @return the bytes taken (0..want). */
uint64_t cw__membudget_take_upto(cw_membudget *b, uint64_t want);

/* Gives back bytes taken before. */
void cw__membudget_give(cw_membudget *b, uint64_t bytes);

typedef struct cw_membudget_stats {
  uint64_t cap, used, peak; /* bytes */
  uint64_t exhausted;       /* takes refused because the budget was full */
} cw_membudget_stats;
void cw__membudget_stats(cw_membudget *b, cw_membudget_stats *out);

/* An upper bound of the memory jansson takes to parse `json` (measured
 * costs per object, array, string and scalar on 64-bit glibc, plus the
 * text itself), found in one scan without allocating. */
uint64_t cw__json_tree_bytes(const char *json, size_t len);

/* Gives freed heap memory back to the system (glibc malloc_trim) after a
 * request or batch that used at least `used` bytes; cheap no-op below
 * CW_MEMBUDGET_TRIM_MIN. */
#define CW_MEMBUDGET_TRIM_MIN ((uint64_t)4 << 20)
void cw__membudget_trim(uint64_t used);

/* Process-wide allocator settings for a server: buffers of 256 KiB and more
 * are mapped on their own (glibc's M_MMAP_THRESHOLD, fixed so it does not
 * grow), so a freed decompression buffer goes back to the system at once. */
void cw__membudget_tune_malloc(void);

#endif /* CW_MEMBUDGET_H */
