/*
 * cw_vclock.c: sparse vector clock operations (see cw_vclock.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "cw_vclock.h"

#include <stdlib.h>
#include <string.h>

#include "cw_internal.h"

int cw__vc_reserve(cw_vc *v, uint32_t n) {
  if (n <= v->cap)
    return 0;
  uint32_t cap = v->cap ? v->cap : 8;
  while (cap < n)
    cap *= 2;
  cw_ent *e = cw__realloc(v->e, (size_t)cap * sizeof(*e));
  if (!e)
    return -1;
  v->e = e;
  v->cap = cap;
  return 0;
}

void cw__vc_free(cw_vc *v) {
  cw__free(v->e);
  v->e = NULL;
  v->n = v->cap = 0;
}

static uint32_t lower_bound(const cw_ent *e, uint32_t n, uint32_t slot) {
  uint32_t lo = 0, hi = n;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (e[mid].slot < slot)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

uint64_t cw__vc_get(const cw_ent *e, uint32_t n, uint32_t slot, uint32_t gen) {
  for (uint32_t i = lower_bound(e, n, slot); i < n && e[i].slot == slot; i++)
    if (e[i].gen == gen)
      return e[i].ctr;
  return 0;
}

int cw__vc_set(cw_vc *v, uint32_t slot, uint32_t gen, uint64_t ctr) {
  uint32_t i = lower_bound(v->e, v->n, slot);
  if (i < v->n && v->e[i].slot == slot) {
    v->e[i].gen = gen;
    v->e[i].ctr = ctr;
    return 0;
  }
  if (cw__vc_reserve(v, v->n + 1) != 0)
    return -1;
  memmove(&v->e[i + 1], &v->e[i], (size_t)(v->n - i) * sizeof(cw_ent));
  v->e[i] = (cw_ent){slot, gen, ctr};
  v->n++;
  return 0;
}

static inline int live(const cw_gens *g, const cw_ent *x) {
  return cw__gen_live(g, x->slot, x->gen);
}

uint32_t cw__vc_merge(const cw_ent *a, uint32_t na, const cw_ent *b,
                      uint32_t nb, uint32_t skip, const cw_gens *g, cw_ent *out,
                      cw_ent *delta, uint32_t *ndelta) {
  uint32_t i = 0, j = 0, n = 0, d = 0;
  while (i < na || j < nb) {
    const cw_ent *x = NULL;
    int from_b = 0;
    if (j >= nb || (i < na && a[i].slot < b[j].slot)) {
      x = &a[i++];
    } else if (i >= na || b[j].slot < a[i].slot) {
      x = &b[j++];
      from_b = 1;
    } else {
      /* Same slot in both: equal generations merge; otherwise at most one
       * generation is live. */
      const cw_ent *p = &a[i++], *q = &b[j++];
      if (p->slot == skip)
        continue;
      if (p->gen == q->gen) {
        if (!live(g, p))
          continue;
        out[n] = *p;
        if (q->ctr > p->ctr) {
          out[n].ctr = q->ctr;
          if (delta)
            delta[d] = *q;
          d++;
        }
        n++;
        continue;
      }
      int lp = live(g, p), lq = live(g, q);
      if (!g) {
        lp = p->gen > q->gen;
        lq = !lp;
      }
      if (lp) {
        out[n++] = *p;
      } else if (lq) {
        out[n++] = *q;
        if (delta)
          delta[d] = *q;
        d++;
      }
      continue;
    }
    if (x->slot == skip || !live(g, x))
      continue;
    out[n++] = *x;
    if (from_b) {
      if (delta)
        delta[d] = *x;
      d++;
    }
  }
  if (ndelta)
    *ndelta = d;
  return n;
}

int cw__vc_copy(cw_vc *dst, const cw_ent *src, uint32_t n, uint32_t skip,
                const cw_gens *g) {
  if (cw__vc_reserve(dst, n) != 0)
    return -1;
  uint32_t m = 0;
  for (uint32_t i = 0; i < n; i++)
    if (src[i].slot != skip && live(g, &src[i]))
      dst->e[m++] = src[i];
  dst->n = m;
  return 0;
}

static int cmp_ent(const void *pa, const void *pb) {
  const cw_ent *a = pa, *b = pb;
  if (a->slot != b->slot)
    return a->slot < b->slot ? -1 : 1;
  if (a->gen != b->gen)
    return a->gen < b->gen ? -1 : 1;
  return 0;
}

void cw__vc_sort(cw_ent *e, uint32_t n) {
  if (n > 1)
    qsort(e, n, sizeof(*e), cmp_ent);
}

int cw__vc_leq(const cw_ent *a, uint32_t na, const cw_ent *b, uint32_t nb) {
  for (uint32_t i = 0; i < na; i++)
    if (a[i].ctr > cw__vc_get(b, nb, a[i].slot, a[i].gen))
      return 0;
  return 1;
}
