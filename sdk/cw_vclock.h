/*
 * cw_vclock: sparse vector clocks, the SDK's core data structure.
 *
 * DESIGN. A clock is an array of (slot, gen, counter) entries sorted by
 * slot. `slot` indexes the actor table and `gen` is the slot's generation:
 * when an actor is retired its slot's generation moves on, so an entry
 * whose gen no longer matches is stale and is dropped the next time the
 * clock is merged or copied (clocks are pruned when touched). Merging two
 * clocks is one linear pass that also lists the entries it raised, which is
 * exactly the delta an event carries in the native format. The actor
 * table's generation array decides staleness; NULL treats every entry as
 * live.
 */
#ifndef CW_VCLOCK_H
#define CW_VCLOCK_H

#include <stdint.h>

#include "cw_atomic.h"

typedef struct cw_ent {
  uint32_t slot;
  uint32_t gen;
  uint64_t ctr;
} cw_ent;

typedef struct cw_vc {
  cw_ent *e;
  uint32_t n, cap;
} cw_vc;

/* The current generation of every slot (the actor table's view). An
 * entry is live when its gen matches; a NULL view treats all as live. */
typedef struct cw_gens {
  const cw_au32 *gen;
  uint32_t n;
} cw_gens;

static inline int cw__gen_live(const cw_gens *g, uint32_t slot, uint32_t gen) {
  return !g || (slot < g->n && cw_load_acquire(&g->gen[slot]) == gen);
}

/* Grows v to hold n entries (with the SDK allocator). @return 0 or -1. */
int cw__vc_reserve(cw_vc *v, uint32_t n);
void cw__vc_free(cw_vc *v);

/* @return the counter of (slot, gen) in v, 0 when absent. */
uint64_t cw__vc_get(const cw_ent *e, uint32_t n, uint32_t slot, uint32_t gen);

/* Sets (slot, gen) to ctr (a sorted insert when absent, replacing a stale
 * generation of the slot). @return 0 or -1 on OOM. */
int cw__vc_set(cw_vc *v, uint32_t slot, uint32_t gen, uint64_t ctr);

/* out = a joined with b, without slot `skip` and without stale entries.
 * Entries of b that raised a are appended to delta (when non-NULL) and
 * counted in *ndelta. out needs room for na + nb entries and must not
 * alias a or b. @return the number of entries in out. */
uint32_t cw__vc_merge(const cw_ent *a, uint32_t na, const cw_ent *b,
                      uint32_t nb, uint32_t skip, const cw_gens *g, cw_ent *out,
                      cw_ent *delta, uint32_t *ndelta);

/* Copies src into dst, dropping stale entries and slot `skip`.
 * @return 0 or -1 on OOM. */
int cw__vc_copy(cw_vc *dst, const cw_ent *src, uint32_t n, uint32_t skip,
                const cw_gens *g);

/* Sorts entries by slot (then gen). */
void cw__vc_sort(cw_ent *e, uint32_t n);

/* @return 1 when every entry of a is <= the same actor's entry in b. */
int cw__vc_leq(const cw_ent *a, uint32_t na, const cw_ent *b, uint32_t nb);

#endif /* CW_VCLOCK_H */
