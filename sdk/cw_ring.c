/*
 * cw_ring.c: the per-thread SPSC record ring (see cw_ring.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "cw_ring.h"

#include <string.h>

#include "cw_internal.h"

/* Recomputes the fast path's limit: the end of the buffer, the free
 * space (from the cached tail) less the reserve, or the high-water check
 * point, whichever comes first. */
static void set_limit(cw_ring *r) {
  uint64_t pos = (uint64_t)(r->pcur - r->buf);
  uint64_t room = r->cap - (r->phead - r->ptail);
  room = room > r->reserve ? room - r->reserve : 0;
  uint64_t to_end = r->cap - pos;
  uint64_t lim = room < to_end ? room : to_end;
  uint64_t to_hwm = r->hwm > r->phead ? r->hwm - r->phead : 0;
  if (to_hwm < lim)
    lim = to_hwm;
  r->plim = r->pcur + lim;
}

/* At the high-water check point: reloads tail; past half full, asks for
 * a wake-up and checks again an eighth of the ring later, else at the
 * point where it would be half full. */
static void check_hwm(cw_ring *r) {
  if (r->phead < r->hwm)
    return;
  r->ptail = cw_load_acquire(&r->tail);
  if (r->phead - r->ptail >= r->cap / 2) {
    r->wake = 1;
    r->hwm = r->phead + r->cap / 8;
  } else {
    r->hwm = r->ptail + r->cap / 2;
  }
}

int cw__ring_init(cw_ring *r, uint64_t cap) {
  memset(r, 0, sizeof(*r));
  cap &= ~(uint64_t)7;
  r->buf = cw__malloc(cap);
  if (!r->buf)
    return -1;
  r->cap = cap;
  r->reserve = cap / 16 < 4096 ? cap / 16 : 4096;
  atomic_init(&r->head, 0);
  atomic_init(&r->tail, 0);
  r->pcur = r->buf;
  r->hwm = cap / 2;
  set_limit(r);
  return 0;
}

void cw__ring_free(cw_ring *r) {
  cw__free(r->buf);
  r->buf = NULL;
}

void *cw__ring_alloc_slow(cw_ring *r, uint32_t size, int critical) {
  uint64_t pos = (uint64_t)(r->pcur - r->buf);
  if (pos == r->cap)
    pos = 0; /* full to the end: the next record starts over */
  uint64_t pad = r->cap - pos < size ? r->cap - pos : 0;
  uint64_t need = pad + size + (critical ? 0 : r->reserve);
  if (size > r->cap / 2)
    return NULL;
  check_hwm(r);
  if (r->cap - (r->phead - r->ptail) < need) {
    r->ptail = cw_load_acquire(&r->tail);
    set_limit(r);
    if (r->cap - (r->phead - r->ptail) < need)
      return NULL;
  }
  if (pad) {
    cw_rhdr *h = (cw_rhdr *)(r->buf + pos);
    h->size = (uint32_t)pad;
    h->type = CW_R_PAD;
    r->phead += pad;
    pos = 0;
  }
  r->phead += size;
  r->pcur = r->buf + pos + size;
  set_limit(r);
  return r->buf + pos;
}

int cw__ring_fits(cw_ring *r, uint64_t bytes, int critical) {
  uint64_t need = bytes + (critical ? 0 : r->reserve);
  if (r->cap - (r->phead - r->ptail) >= need)
    return 1;
  r->ptail = cw_load_acquire(&r->tail);
  set_limit(r);
  return r->cap - (r->phead - r->ptail) >= need;
}
