/*
 * ae_critpath.c: spans and the critical path of a trace.
 *
 * DESIGN. A span is SPAN_BEGIN .. SPAN_END of one actor (matched by name,
 * innermost first). The critical path is the chain of spans s1, s2, ...
 * in which the end of each span happens before the begin of the next, with
 * the largest sum of durations. It is computed online by dynamic
 * programming: each actor keeps its closed spans in end order with the
 * prefix maximum of their chain totals, so at a SPAN_BEGIN the best chain
 * that can precede it is found with one binary search per entry of the
 * beginning actor's clock (a span of actor b ending at counter k precedes
 * the begin iff k <= C[b]). Only kept with keep_events.
 */
#include "ae_internal.h"

#include <string.h>

static int spans_on(const cw_engine *e) {
  return e->cfg.keep_events || e->cfg.span_cap;
}

void cw__span_begin(cw_engine *e, uint32_t aid, const cw_aevent *ev,
                    int64_t ts) {
  if (!spans_on(e))
    return;
  ae_actor *a = &e->actors[aid];
  uint32_t pred = 0;
  uint64_t best = 0;
  for (uint32_t i = 0; i < a->c.n; i++) {
    const ae_actor *b = &e->actors[a->c.e[i].actor];
    uint64_t k = a->c.e[i].c;
    /* Last closed span of b with end counter <= k. */
    uint32_t lo = 0, hi = b->nsp;
    while (lo < hi) {
      uint32_t mid = lo + (hi - lo) / 2;
      if (b->sp_end[mid] <= k)
        lo = mid + 1;
      else
        hi = mid;
    }
    if (lo && b->sp_best[lo - 1] > best) {
      best = b->sp_best[lo - 1];
      pred = b->sp_bidx[lo - 1];
    } else if (lo && !pred) {
      pred = b->sp_bidx[lo - 1];
    }
  }
  AE_RESERVE(a->spans, a->capspans, a->nspans + 1u);
  ae_open_span *s = &a->spans[a->nspans++];
  s->name = ev->object;
  s->begin_seq = ev->seq;
  s->begin_ts = ts;
  s->pred = pred;
  s->pred_total = best;
}

void cw__span_end(cw_engine *e, uint32_t aid, const cw_aevent *ev, int64_t ts) {
  if (!spans_on(e))
    return;
  ae_actor *a = &e->actors[aid];
  uint32_t k = a->nspans;
  while (k > 0 && a->spans[k - 1].name != ev->object)
    k--;
  if (!k)
    return; /* unmatched end: ignored */
  ae_open_span os = a->spans[k - 1];
  memmove(&a->spans[k - 1], &a->spans[k], (a->nspans - k) * sizeof(*a->spans));
  a->nspans--;
  if (!e->cfg.keep_events && e->cfg.span_cap &&
      e->nspans_all >= e->cfg.span_cap) {
    e->spans_dropped++;
    return;
  }
  uint64_t dur = ev->duration_ns;
  if (!dur && ts > os.begin_ts)
    dur = (uint64_t)(ts - os.begin_ts);
  AE_RESERVE(e->spans, e->capspans_all, e->nspans_all + 1u);
  uint32_t idx = e->nspans_all++;
  ae_span *sp = &e->spans[idx];
  sp->info.actor = aid;
  sp->info.name = ev->object;
  sp->info.duration_ns = dur;
  sp->info.begin_seq = os.begin_seq;
  sp->info.end_seq = ev->seq;
  sp->prev = os.pred;
  sp->total = os.pred_total + dur;
  AE_RESERVE(a->sp_end, a->capsp, a->nsp + 1u);
  a->sp_best = cw__ae_realloc(a->sp_best, a->capsp * sizeof(*a->sp_best));
  a->sp_bidx = cw__ae_realloc(a->sp_bidx, a->capsp * sizeof(*a->sp_bidx));
  uint32_t j = a->nsp++;
  a->sp_end[j] = a->counter;
  if (j && a->sp_best[j - 1] >= sp->total) {
    a->sp_best[j] = a->sp_best[j - 1];
    a->sp_bidx[j] = a->sp_bidx[j - 1];
  } else {
    a->sp_best[j] = sp->total;
    a->sp_bidx[j] = idx + 1;
  }
  if (!e->best_span || e->spans[e->best_span - 1].total < sp->total)
    e->best_span = idx + 1;
}

size_t cw__engine_critical_path(const cw_engine *ce, const cw_span_info **out,
                                uint64_t *total_ns) {
  cw_engine *e = (cw_engine *)(uintptr_t)ce;
  *out = NULL;
  if (total_ns)
    *total_ns = 0;
  if (!e->best_span)
    return 0;
  uint32_t n = 0;
  for (uint32_t s = e->best_span; s; s = e->spans[s - 1].prev)
    n++;
  AE_RESERVE(e->cpath, e->capcpath, n);
  uint32_t k = n;
  for (uint32_t s = e->best_span; s; s = e->spans[s - 1].prev)
    e->cpath[--k] = e->spans[s - 1].info;
  if (total_ns)
    *total_ns = e->spans[e->best_span - 1].total;
  *out = e->cpath;
  return n;
}

uint64_t cw__engine_spans_dropped(const cw_engine *e) {
  return e->spans_dropped;
}

void cw__critpath_free(cw_engine *e) {
  for (uint32_t i = 1; i < e->nactors; i++) {
    ae_actor *a = &e->actors[i];
    cw__ae_free(a->spans);
    cw__ae_free(a->sp_end);
    cw__ae_free(a->sp_best);
    cw__ae_free(a->sp_bidx);
  }
  cw__ae_free(e->spans);
  cw__ae_free(e->cpath);
}
