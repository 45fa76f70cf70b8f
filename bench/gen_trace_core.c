/*
 * gen_trace_core.c: the deterministic synthetic trace generator (see the
 * header). Critical sections are emitted whole, so the trace is a valid
 * interleaving: a lock is never taken while another thread holds it.
 */
#include "gen_trace_core.h"

#include <stdlib.h>
#include <string.h>

static uint64_t rnd(gt_gen *g) {
  uint64_t x = g->rng;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  g->rng = x;
  return x;
}

static uint32_t below(gt_gen *g, uint32_t n) {
  return (uint32_t)(rnd(g) % n);
}

uint32_t gt_max_threads(const gt_config *cfg) {
  uint64_t churns = cfg->churn ? cfg->events / cfg->churn + 1 : 0;
  return (uint32_t)(1 + cfg->threads + churns);
}

int gt_init(gt_gen *g, const gt_config *cfg) {
  memset(g, 0, sizeof(*g));
  if (!cfg->threads || !cfg->vars || cfg->locks < 2 || !cfg->racy_vars)
    return -1;
  g->cfg = *cfg;
  g->rng = cfg->seed ? cfg->seed : 88172645463325252ull;
  g->live = calloc(cfg->threads, sizeof(*g->live));
  if (!g->live)
    return -1;
  g->next_thread = 1;
  g->next_churn = cfg->churn ? cfg->churn : UINT64_MAX;
  for (uint32_t i = 0; i < cfg->threads; i++)
    g->live[i] = g->next_thread++;
  return 0;
}

void gt_free(gt_gen *g) {
  free(g->live);
  g->live = NULL;
}

static gt_event *push(gt_gen *g, int op, uint32_t t, uint32_t obj,
                      uint32_t loc) {
  gt_event *e = &g->q[(g->qh + g->qn++) % GT_QUEUE];
  memset(e, 0, sizeof(*e));
  e->op = op;
  e->thread = t;
  e->obj = obj;
  e->loc = loc;
  return e;
}

static void section(gt_gen *g, uint32_t t) {
  const gt_config *c = &g->cfg;
  uint32_t r = below(g, 100);
  if (r < 2) { /* unprotected access: races */
    int op = below(g, 3) ? GT_R : GT_W;
    push(g, op, t, below(g, c->racy_vars), 900 + (uint32_t)op)->racy_var = 1;
    return;
  }
  if (r < 7) { /* read-only shared state */
    push(g, GT_R, t, below(g, 16), 800)->ro_var = 1;
    return;
  }
  if (r < 10) { /* nested locks, in increasing order */
    uint32_t a = below(g, c->locks - 1);
    uint32_t b = a + 1 + below(g, c->locks - a - 1);
    int invert = !g->inverted && g->produced > c->events / 2;
    if (invert) { /* adjacent locks: exactly one (2-)cycle */
      b = a + 1;
      uint32_t x = a;
      a = b;
      b = x;
      g->inverted = 1;
    }
    uint32_t v = b + c->locks * below(g, c->vars / c->locks + 1);
    if (v >= c->vars)
      v = b;
    push(g, GT_ACQ, t, a, 700);
    push(g, GT_REQ, t, b, 701);
    push(g, GT_ACQ, t, b, 701);
    push(g, GT_R, t, v, 702);
    push(g, GT_W, t, v, 703);
    push(g, GT_REL, t, b, 704);
    push(g, GT_REL, t, a, 705);
    return;
  }
  /* A critical section on one variable, under its lock. */
  uint32_t v = below(g, c->vars), l = v % c->locks, site = (v % 50) * 4;
  if (below(g, 10) == 0)
    push(g, GT_REQ, t, l, site);
  push(g, GT_ACQ, t, l, site);
  uint32_t n = 1 + below(g, 3);
  for (uint32_t i = 0; i < n; i++)
    push(g, below(g, 2) ? GT_R : GT_W, t, v, site + 1 + i);
  push(g, GT_REL, t, l, site + 3);
}

int gt_next(gt_gen *g, gt_event *ev) {
  const gt_config *c = &g->cfg;
  if (g->produced >= c->events)
    return 0;
  if (!g->qn) {
    if (g->forked < c->threads) {
      push(g, GT_FORK, 0, g->live[g->forked++], 1);
    } else if (g->produced >= g->next_churn) {
      g->next_churn += c->churn;
      uint32_t k = below(g, c->threads);
      push(g, GT_JOIN, 0, g->live[k], 2);
      g->live[k] = g->next_thread++;
      push(g, GT_FORK, 0, g->live[k], 1);
    } else {
      section(g, g->live[below(g, c->threads)]);
    }
  }
  *ev = g->q[g->qh];
  g->qh = (g->qh + 1) % GT_QUEUE;
  g->qn--;
  g->produced++;
  return 1;
}
