/*
 * ae_vc.c: sparse vector clocks, sorted (actor, counter) arrays.
 *
 * DESIGN. A clock holds only the actors it has heard of, so its size is the
 * number of actors causally before its owner, not the number of actors ever
 * seen. Lookups are binary searches; joins are linear merges done in place
 * (compact dead entries forward, then merge from the back), so a join
 * allocates only when the clock grows. Retired actors are dropped at joins,
 * which keeps long-lived clocks bounded when task actors come and go. A
 * small clock joined into a much larger one (a reader's clock into a
 * rwlock's shared-release clock that holds every earlier reader) is
 * merged by binary searches instead, so that N readers cost O(N log N)
 * rather than O(N^2); the full merge, which drops dead entries, still runs
 * whenever the large clock has doubled since its last one.
 */
#include "ae_internal.h"

#include <string.h>

static uint32_t lower(const ae_vc *v, uint32_t actor) {
  uint32_t lo = 0, hi = v->n;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (v->e[mid].actor < actor)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

uint64_t cw__vc_get(const ae_vc *v, uint32_t actor) {
  uint32_t i = lower(v, actor);
  return (i < v->n && v->e[i].actor == actor) ? v->e[i].c : 0;
}

void cw__vc_raise(ae_vc *v, uint32_t actor, uint64_t c) {
  /* Fast path: the owner's own component is often the last one. */
  if (v->n && v->e[v->n - 1].actor == actor) {
    if (c > v->e[v->n - 1].c)
      v->e[v->n - 1].c = c;
    return;
  }
  uint32_t i = lower(v, actor);
  if (i < v->n && v->e[i].actor == actor) {
    if (c > v->e[i].c)
      v->e[i].c = c;
    return;
  }
  if (!c)
    return;
  AE_RESERVE(v->e, v->cap, v->n + 1u);
  memmove(&v->e[i + 1], &v->e[i], (v->n - i) * sizeof(*v->e));
  v->e[i].actor = actor;
  v->e[i].pad = 0;
  v->e[i].c = c;
  v->n++;
}

void cw__vc_join(ae_vc *d, const ae_vc *s, const uint8_t *dead) {
  if (!s->n)
    return;
  if (s->n * 8u < d->n && d->n < 2u * d->full + 16u) {
    /* Small into large (a reader's clock into a release clock holding
     * every earlier reader): binary searches, new actors mostly land at
     * the end. */
    for (uint32_t j = 0; j < s->n; j++) {
      const ae_vce *se = &s->e[j];
      if (!dead[se->actor])
        cw__vc_raise(d, se->actor, se->c);
    }
    return;
  }
  /* Count entries of s that d lacks, and dead entries of d. */
  uint32_t i = 0, j = 0, add = 0, ndead = 0;
  while (i < d->n || j < s->n) {
    if (j >= s->n || (i < d->n && d->e[i].actor < s->e[j].actor)) {
      ndead += dead[d->e[i].actor] != 0;
      i++;
    } else if (i >= d->n || s->e[j].actor < d->e[i].actor) {
      add += !dead[s->e[j].actor];
      j++;
    } else {
      ndead += dead[d->e[i].actor] != 0;
      i++;
      j++;
    }
  }
  if (!add && !ndead) {
    /* Same key set (modulo dead src entries): raise in place. */
    for (i = 0, j = 0; j < s->n; j++) {
      while (i < d->n && d->e[i].actor < s->e[j].actor)
        i++;
      if (i < d->n && d->e[i].actor == s->e[j].actor && s->e[j].c > d->e[i].c)
        d->e[i].c = s->e[j].c;
    }
    d->full = d->n;
    return;
  }
  if (ndead) {
    uint32_t k = 0;
    for (i = 0; i < d->n; i++)
      if (!dead[d->e[i].actor])
        d->e[k++] = d->e[i];
    d->n = k;
  }
  uint32_t total = d->n + add;
  AE_RESERVE(d->e, d->cap, total);
  /* Merge from the back. */
  int64_t ii = (int64_t)d->n - 1, jj = (int64_t)s->n - 1, k = total - 1;
  while (jj >= 0) {
    const ae_vce *se = &s->e[jj];
    if (dead[se->actor]) {
      jj--;
      continue;
    }
    if (ii >= 0 && d->e[ii].actor > se->actor) {
      d->e[k--] = d->e[ii--];
    } else if (ii >= 0 && d->e[ii].actor == se->actor) {
      ae_vce x = d->e[ii--];
      if (se->c > x.c)
        x.c = se->c;
      d->e[k--] = x;
      jj--;
    } else {
      d->e[k--] = *se;
      jj--;
    }
  }
  d->n = total;
  d->full = total;
}

void cw__vc_copy(ae_vc *d, const ae_vc *s) {
  AE_RESERVE(d->e, d->cap, s->n);
  if (s->n)
    memcpy(d->e, s->e, s->n * sizeof(*s->e));
  d->n = s->n;
  d->full = s->full;
}

ae_snap *cw__snap_of(const ae_vc *v) {
  ae_snap *s = cw__ae_alloc(sizeof(*s) + (size_t)v->n * sizeof(ae_vce));
  s->refs = 1;
  s->n = v->n;
  if (v->n)
    memcpy(s->e, v->e, v->n * sizeof(*v->e));
  return s;
}

void cw__snap_unref(ae_snap *s) {
  if (s && --s->refs == 0)
    cw__ae_free(s);
}

void cw__vc_free(ae_vc *v) {
  cw__ae_free(v->e);
  memset(v, 0, sizeof(*v));
}
