/*
 * ae_contention.c: per-lock contention statistics.
 *
 * DESIGN. Each lock keeps acquisitions, contended acquisitions (the request
 * overlapped in time a conflicting hold by another actor; ae_waitfor.c
 * decides, and counts late ones with cw__contention_upgrade), and two
 * histograms:
 * wait (acquire ts - request ts, 0 without a request) and hold (release ts
 * - acquire ts of the outermost hold). A histogram stores its first
 * AE_HIST_EXACT samples, so small counts give exact percentiles; past that
 * it switches to a log-linear histogram with 8 sub-buckets per power of two
 * (values below 16 exact), so p50/p99 are within 12.5%. Contending request
 * locations are kept per lock, at most AE_TOP_SITES of them (later new
 * sites are dropped once full), and the query reports the top five.
 */
#include "ae_internal.h"

#include <stdlib.h>
#include <string.h>

#define NBUCKETS (16 + 60 * 8)
#define TOP_REPORTED 5

static uint32_t bucket_of(uint64_t v) {
  if (v < 16)
    return (uint32_t)v;
  uint32_t lg = 4;
  while (lg < 63 && (v >> (lg + 1)))
    lg++;
  uint32_t sub = (uint32_t)(v >> (lg - 3)) & 7;
  return 16 + (lg - 4) * 8 + sub;
}

static uint64_t bucket_high(uint32_t b) {
  if (b < 16)
    return b;
  uint32_t lg = (b - 16) / 8 + 4, sub = (b - 16) % 8;
  uint64_t base = (uint64_t)(8 + sub) << (lg - 3);
  return base + ((uint64_t)1 << (lg - 3)) - 1;
}

void cw__hist_add(ae_hist *h, uint64_t v) {
  h->n++;
  h->total += v;
  if (v > h->max)
    h->max = v;
  if (!h->buckets && h->nexact < AE_HIST_EXACT) {
    AE_RESERVE(h->exact, h->capexact, h->nexact + 1u);
    h->exact[h->nexact++] = v;
    return;
  }
  if (!h->buckets) {
    h->buckets = cw__ae_calloc(NBUCKETS, sizeof(*h->buckets));
    for (uint32_t i = 0; i < h->nexact; i++)
      h->buckets[bucket_of(h->exact[i])]++;
  }
  h->buckets[bucket_of(v)]++;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Nearest-rank percentile. */
uint64_t cw__hist_pct(const ae_hist *h, unsigned pct) {
  if (!h->n)
    return 0;
  uint64_t rank = (h->n * pct + 99) / 100;
  if (rank < 1)
    rank = 1;
  if (!h->buckets) {
    uint64_t tmp[AE_HIST_EXACT];
    memcpy(tmp, h->exact, h->nexact * sizeof(*tmp));
    qsort(tmp, h->nexact, sizeof(*tmp), cmp_u64);
    return tmp[rank - 1];
  }
  uint64_t seen = 0;
  for (uint32_t b = 0; b < NBUCKETS; b++) {
    seen += h->buckets[b];
    if (seen >= rank) {
      uint64_t hi = bucket_high(b);
      return hi < h->max ? hi : h->max;
    }
  }
  return h->max;
}

void cw__hist_free(ae_hist *h) {
  cw__ae_free(h->exact);
  cw__ae_free(h->buckets);
  memset(h, 0, sizeof(*h));
}

void cw__contention_acquire(cw_engine *e, ae_lock *l, cw_sym loc, int contended,
                            uint64_t wait) {
  l->acquisitions++;
  cw__hist_add(&l->wait, wait);
  if (contended)
    cw__contention_upgrade(e, l, loc, wait);
}

void cw__contention_upgrade(cw_engine *e, ae_lock *l, cw_sym loc,
                            uint64_t wait) {
  if (!l->contended++)
    e->sum.contended_locks++;
  for (uint32_t i = 0; i < l->nsites; i++) {
    if (l->sites[i].loc == loc) {
      l->sites[i].contended++;
      l->sites[i].wait_ns += wait;
      return;
    }
  }
  if (l->nsites >= AE_TOP_SITES)
    return;
  AE_RESERVE(l->sites, l->capsites, l->nsites + 1u);
  cw_contention_site *s = &l->sites[l->nsites++];
  s->loc = loc;
  s->contended = 1;
  s->wait_ns = wait;
}

static int cmp_site(const void *a, const void *b) {
  const cw_contention_site *x = a, *y = b;
  if (x->contended != y->contended)
    return x->contended > y->contended ? -1 : 1;
  if (x->wait_ns != y->wait_ns)
    return x->wait_ns > y->wait_ns ? -1 : 1;
  return x->loc < y->loc ? -1 : x->loc > y->loc;
}

size_t cw__engine_locks(const cw_engine *ce, const cw_lock_stats **out) {
  /* The engine was allocated non-const; queries refresh a cache in it. */
  cw_engine *e = (cw_engine *)(uintptr_t)ce;
  size_t n = e->nlocks ? e->nlocks - 1 : 0;
  AE_RESERVE(e->lstats, e->caplstats, n);
  for (uint32_t i = 1; i < e->nlocks; i++) {
    ae_lock *l = &e->locks[i];
    cw_lock_stats *s = &e->lstats[i - 1];
    memset(s, 0, sizeof(*s));
    s->lock = l->sym;
    s->acquisitions = l->acquisitions;
    s->contended = l->contended;
    s->wait_total_ns = l->wait.total;
    s->wait_p50_ns = cw__hist_pct(&l->wait, 50);
    s->wait_p99_ns = cw__hist_pct(&l->wait, 99);
    s->wait_max_ns = l->wait.max;
    s->hold_total_ns = l->hold.total;
    s->hold_p50_ns = cw__hist_pct(&l->hold, 50);
    s->hold_p99_ns = cw__hist_pct(&l->hold, 99);
    s->hold_max_ns = l->hold.max;
    if (l->nsites > 1)
      qsort(l->sites, l->nsites, sizeof(*l->sites), cmp_site);
    s->top = l->sites;
    s->ntop = l->nsites < TOP_REPORTED ? l->nsites : TOP_REPORTED;
  }
  *out = e->lstats;
  return n;
}

void cw__contention_free(cw_engine *e) {
  for (uint32_t i = 1; i < e->nlocks; i++) {
    cw__hist_free(&e->locks[i].wait);
    cw__hist_free(&e->locks[i].hold);
    cw__ae_free(e->locks[i].sites);
  }
  cw__ae_free(e->lstats);
}
