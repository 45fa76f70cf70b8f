/*
 * ae_lockgraph.c: the lock-order graph and potential deadlocks.
 *
 * DESIGN. Like lockdep, every request of lock R by an actor holding H adds
 * an edge H -> R. An edge keeps instances, one per (actor, set of held
 * locks), each with the requesting event's counter and sync clock; of each
 * such key the first and the latest instance are kept (at most
 * AE_PAIR_KEYS keys per edge). When an instance is added or refreshed on
 * an edge that is new or already known to lie on a cycle, the graph is
 * searched for simple cycles through its edge of length 2 to
 * AE_MAX_CYCLE, and for a cycle whose locks were not reported yet, the
 * instances are searched for one choice per edge with:
 *   - distinct, live actors;
 *   - pairwise disjoint held sets (a lock held by two of them, unless both
 *     hold it in read mode, is a gate lock: the cycle cannot close);
 *   - blocking modes (a read request of a lock held in read mode does not
 *     block);
 *   - pairwise concurrent requests: neither is before the other under the
 *     sync clock (happens-before without the release->acquire edges of
 *     nested locks) closed over the recorded hand-offs of nested locks
 *     that are not in the cycle (u before a release of L, the acquire of
 *     L that joined it before v, chained any number of times).
 * Every lock of a cycle is nested, so the sync clock never contains the
 * cycle's own lock edges from the moment a lock becomes nested; it keeps
 * fork/join, annotation, explicit and leaf-lock edges, and the hand-off
 * ring (the last AE_HANDOFFS acquires of nested locks, each with what it
 * added to the acquirer's sync clock) puts back the edges of other
 * nested locks. That removes the joined-before-started and handed-off
 * false positives. What this approximates is documented in
 * docs/detection.md.
 */
#include "ae_internal.h"

#include <string.h>

#define AE_MAX_CYCLE 4
#define AE_PAIR_KEYS 64
/* Steps (graph edges, instance checks, hand-off scans) one search may take,
 * so that adversarial lock graphs cannot stall the engine; a truncated
 * search is counted. */
#define AE_SEARCH_BUDGET 1000000u

static uint32_t get_pair(cw_engine *e, uint32_t h, uint32_t r) {
  uint32_t idx;
  if (cw__map_put(&e->pairmap, h, r, e->npairs, &idx)) {
    AE_RESERVE(e->pairs, e->cappairs, e->npairs + 1u);
    ae_pair *p = &e->pairs[e->npairs++];
    memset(p, 0, sizeof(*p));
    p->held = h;
    p->req = r;
    ae_lock *l = &e->locks[h];
    AE_RESERVE(l->out, l->capout, l->nout + 1u);
    l->out[l->nout++] = idx;
  }
  return idx;
}

typedef struct cyc {
  uint32_t n;
  uint32_t locks[AE_MAX_CYCLE];
  uint32_t pairs[AE_MAX_CYCLE];
  const ae_inst *pick[AE_MAX_CYCLE];
  uint64_t budget; /* steps left for this search */
} cyc;

/* Adds to `d` the entries of `src` above what `known` has. */
static void add_delta(cw_engine *e, ae_vc *d, const ae_vc *src,
                      const ae_vc *known, uint32_t self) {
  uint32_t k = 0;
  for (uint32_t i = 0; i < src->n; i++) {
    const ae_vce *x = &src->e[i];
    while (k < known->n && known->e[k].actor < x->actor)
      k++;
    uint64_t have =
        (k < known->n && known->e[k].actor == x->actor) ? known->e[k].c : 0;
    if (x->c <= have || x->actor == self || e->dead[x->actor])
      continue;
    if (!d->n || d->e[d->n - 1].actor < x->actor) { /* sorted: append */
      AE_RESERVE(d->e, d->cap, d->n + 1u);
      d->e[d->n].actor = x->actor;
      d->e[d->n].pad = 0;
      d->e[d->n++].c = x->c;
    } else {
      cw__vc_raise(d, x->actor, x->c);
    }
  }
}

/* Only the part of the release clock the acquirer's sync clock lacks is
 * kept: a path through the rest is already a sync-clock path. */
void cw__lockgraph_handoff(cw_engine *e, uint32_t aid, uint32_t lock,
                           const ae_vc *rel, const ae_vc *rel2,
                           const cw_ae_join *j, uint32_t nj) {
  const ae_actor *a = &e->actors[aid];
  ae_handoff *h = &e->ho[e->hohead];
  h->nrel.n = 0;
  if (rel)
    add_delta(e, &h->nrel, rel, &a->n, aid);
  if (rel2)
    add_delta(e, &h->nrel, rel2, &a->n, aid);
  for (uint32_t i = 0; i < nj; i++)
    if (j[i].actor && j[i].actor < e->nactors && !e->dead[j[i].actor] &&
        j[i].actor != aid && j[i].counter > cw__vc_get(&a->n, j[i].actor))
      cw__vc_raise(&h->nrel, j[i].actor, j[i].counter);
  if (!h->nrel.n)
    return; /* nothing new: the edge adds no ordering */
  h->lock = lock;
  h->acq_actor = aid;
  h->acq_counter = a->counter;
  e->hohead = (e->hohead + 1) % AE_HANDOFFS;
  if (e->nho < AE_HANDOFFS)
    e->nho++;
  else
    e->ho_dropped++; /* the slot held an older hand-off */
}

static int in_cycle(const struct cyc *c, uint32_t lock) {
  for (uint32_t i = 0; i < c->n; i++)
    if (c->locks[i] == lock)
      return 1;
  return 0;
}

/* The events before v without the cycle's lock edges, as a clock: v's sync
 * clock closed over the recorded hand-offs of nested locks outside the
 * cycle (a hand-off whose acquire is known adds what its releases knew).
 * Cached per instance for the current cycle. */
static const ae_vc *closure(cw_engine *e, cyc *c, const ae_inst *v) {
  for (uint32_t i = 0; i < e->nclo; i++)
    if (e->clo_inst[i] == v)
      return &e->clo[i];
  uint32_t slot = e->nclo < 8 ? e->nclo++ : (e->cloNext++ % 8);
  ae_vc *k = &e->clo[slot];
  e->clo_inst[slot] = v;
  cw__vc_copy(k, &v->n);
  int changed = 1;
  while (changed && c->budget) {
    changed = 0;
    c->budget = c->budget > e->nho ? c->budget - e->nho : 0;
    for (uint32_t i = 0; i < e->nho; i++) {
      const ae_handoff *h = &e->ho[i];
      if (e->dead[h->acq_actor] || in_cycle(c, h->lock) ||
          h->acq_counter > cw__vc_get(k, h->acq_actor))
        continue;
      int adds = 0;
      for (uint32_t q = 0; q < h->nrel.n && !adds; q++)
        adds = h->nrel.e[q].c > cw__vc_get(k, h->nrel.e[q].actor);
      if (adds) {
        cw__vc_join(k, &h->nrel, e->dead);
        changed = 1;
      }
    }
  }
  return k;
}

/* u happens before v without the cycle's lock edges: through the sync
 * clocks and any chain of recorded hand-offs of nested locks outside the
 * cycle. */
static int before(cw_engine *e, cyc *c, const ae_inst *u, const ae_inst *v) {
  int ord = u->counter <= cw__vc_get(&v->n, u->actor);
  if (!ord && e->nho) {
    ord = u->counter <= cw__vc_get(closure(e, c, v), u->actor);
    if (!ord && e->ho_dropped)
      e->sum.handoffs_cut++; /* an older hand-off might have ordered them */
  }
  if (ord) {
    /* Sync clocks keep the edges a lock had before it nested: if u is
     * older than a cycle lock's nesting and that lock had such edges, the
     * order found may go through one. */
    for (uint32_t i = 0; i < c->n; i++) {
      const ae_lock *l = &e->locks[c->locks[i]];
      if (l->early_ho && u->index < l->nest_index) {
        e->sum.early_orders++;
        break;
      }
    }
  }
  return ord;
}

int cw__lockset_conflict(const cw_engine *e, uint32_t x, uint32_t y) {
  const ae_lockset *a = &e->lsets[x], *b = &e->lsets[y];
  uint32_t i = 0, j = 0;
  while (i < a->n && j < b->n) {
    if (a->syms[i] < b->syms[j])
      i++;
    else if (a->syms[i] > b->syms[j])
      j++;
    else {
      if (!(a->shared[i] && b->shared[j]))
        return 1;
      i++;
      j++;
    }
  }
  return 0;
}

static int compatible(cw_engine *e, cyc *c, uint32_t k, const ae_inst *u) {
  if (!c->budget)
    return 0;
  c->budget--;
  if (e->dead[u->actor]) {
    e->sum.retired_skips++;
    return 0;
  }
  for (uint32_t i = 0; i < k; i++) {
    const ae_inst *v = c->pick[i];
    if (v->actor == u->actor ||
        cw__lockset_conflict(e, v->heldset, u->heldset) || before(e, c, v, u) ||
        before(e, c, u, v))
      return 0;
  }
  /* Edge k-1 requests the lock edge k holds. */
  if (k > 0 && c->pick[k - 1]->req_shared && u->held_shared)
    return 0;
  if (k == c->n - 1 && u->req_shared && c->pick[0]->held_shared)
    return 0;
  return 1;
}

static int choose(cw_engine *e, cyc *c, uint32_t k) {
  if (k >= c->n)
    return 1;
  if (k >= AE_MAX_CYCLE)
    return 0;
  const ae_pair *p = &e->pairs[c->pairs[k]];
  for (uint32_t i = 0; i < p->ninst; i++) {
    if (!compatible(e, c, k, &p->inst[i]))
      continue;
    c->pick[k] = &p->inst[i];
    if (choose(e, c, k + 1))
      return 1;
  }
  return 0;
}

static void cycle_key(const cyc *c, uint32_t *rot, uint64_t *k1, uint64_t *k2) {
  uint32_t m = 0;
  for (uint32_t i = 1; i < c->n; i++)
    if (c->locks[i] < c->locks[m])
      m = i;
  uint32_t l[AE_MAX_CYCLE] = {0};
  for (uint32_t i = 0; i < c->n; i++)
    l[i] = c->locks[(m + i) % c->n];
  *rot = m;
  *k1 = ((uint64_t)l[0] << 32) | l[1];
  *k2 = ((uint64_t)l[2] << 32) | l[3];
}

static void check_cycle(cw_engine *e, cyc *c) {
  uint32_t rot;
  uint64_t k1, k2;
  cycle_key(c, &rot, &k1, &k2);
  if (cw__map_get(&e->cyclemap, k1, k2))
    return;
  e->nclo = 0; /* closures depend on the cycle's locks */
  if (!compatible(e, c, 0, c->pick[0]) || !choose(e, c, 1))
    return;
  cw__map_put(&e->cyclemap, k1, k2, e->npdl, NULL);
  AE_RESERVE(e->pdl, e->cappdl, e->npdl + 1u);
  cw_deadlock *d = &e->pdl[e->npdl++];
  memset(d, 0, sizeof(*d));
  cw_cycle_edge *ed = cw__ae_calloc(c->n, sizeof(*ed));
  for (uint32_t i = 0; i < c->n; i++) {
    uint32_t k = (rot + i) % c->n;
    const ae_inst *u = c->pick[k];
    ed[i].actor = u->actor;
    ed[i].held = e->locks[c->locks[k]].sym;
    ed[i].requested = e->locks[c->locks[(k + 1) % c->n]].sym;
    ed[i].loc = u->loc;
    ed[i].seq = u->seq;
  }
  d->n = c->n;
  d->edges = ed;
}

static void dfs(cw_engine *e, cyc *c, uint32_t depth) {
  /* c->locks[0..depth] are on the path; extend from locks[depth]. */
  const ae_lock *cur = &e->locks[c->locks[depth]];
  for (uint32_t i = 0; i < cur->nout && c->budget; i++) {
    c->budget--;
    uint32_t q = cur->out[i];
    uint32_t tgt = e->pairs[q].req;
    if (tgt == c->locks[0]) {
      c->pairs[depth] = q;
      c->n = depth + 1;
      for (uint32_t k = 0; k < c->n; k++)
        e->pairs[c->pairs[k]].cyclic = 1;
      check_cycle(e, c);
      continue;
    }
    if (depth + 1 >= AE_MAX_CYCLE)
      continue;
    int seen = 0;
    for (uint32_t k = 0; k <= depth; k++)
      seen |= c->locks[k] == tgt;
    if (seen)
      continue;
    c->locks[depth + 1] = tgt;
    c->pairs[depth] = q;
    dfs(e, c, depth + 1);
  }
}

/* @return 1 when clocks x and y are equal except for actor self's entry. */
static int same_sync(const ae_vc *x, const ae_vc *y, uint32_t self) {
  uint32_t i = 0, j = 0;
  for (;;) {
    while (i < x->n && x->e[i].actor == self)
      i++;
    while (j < y->n && y->e[j].actor == self)
      j++;
    if (i == x->n || j == y->n)
      return i == x->n && j == y->n;
    if (x->e[i].actor != y->e[j].actor || x->e[i].c != y->e[j].c)
      return 0;
    i++;
    j++;
  }
}

void cw__lockgraph_request(cw_engine *e, uint32_t aid, uint32_t lock,
                           int shared, cw_sym loc, uint64_t seq) {
  ae_actor *a = &e->actors[aid];
  if (!a->nheld)
    return;
  int any = 0;
  for (uint32_t h = 0; h < a->nheld; h++)
    any |= a->held[h].lock != lock;
  if (!any)
    return;
  cw__actor_lockset(e, a);
  if (e->two_pass) { /* pass 1: the graph and the request classes */
    for (uint32_t h = 0; h < a->nheld; h++)
      if (a->held[h].lock != lock)
        cw__dx_record(e, get_pair(e, a->held[h].lock, lock), aid,
                      a->held[h].shared, shared);
    return;
  }
  for (uint32_t h = 0; h < a->nheld; h++) {
    ae_lock *l = &e->locks[a->held[h].lock];
    if (a->held[h].lock != lock && !l->nested) {
      l->nested = 1;
      l->nest_index = e->index;
    }
  }
  if (!e->locks[lock].nested) {
    e->locks[lock].nested = 1;
    e->locks[lock].nest_index = e->index;
  }
  for (uint32_t h = 0; h < a->nheld; h++) {
    const ae_held *hd = &a->held[h];
    if (hd->lock == lock)
      continue;
    uint32_t npairs = e->npairs;
    uint32_t pi = get_pair(e, hd->lock, lock);
    int fresh = e->npairs != npairs;
    ae_pair *p = &e->pairs[pi];
    uint32_t nkey = 0, slot = UINT32_MAX;
    for (uint32_t i = 0; i < p->ninst; i++) {
      if (p->inst[i].actor == aid && p->inst[i].heldset == a->lockset &&
          p->inst[i].held_shared == hd->shared &&
          p->inst[i].req_shared == (uint8_t)shared) {
        nkey++;
        slot = i; /* the latest of the (at most two) instances */
      }
    }
    if (nkey == 1 || (nkey == 0 && p->ninst < 2 * AE_PAIR_KEYS)) {
      AE_RESERVE(p->inst, p->capinst, p->ninst + 1u);
      slot = p->ninst++;
      memset(&p->inst[slot], 0, sizeof(p->inst[slot]));
    } else if (nkey == 0) {
      p->cut++; /* edge saturated: this request is lost */
      continue;
    } else if (!same_sync(&p->inst[slot].n, &a->n, aid)) {
      /* The overwritten request learnt less than the new one: it may be
       * concurrent with a request the new one is ordered after. (When the
       * actor synchronised with nobody in between, the new request
       * dominates it and nothing is lost.) */
      p->cut++;
    }
    ae_inst *u = &p->inst[slot];
    u->actor = aid;
    u->heldset = a->lockset;
    u->held_shared = hd->shared;
    u->req_shared = (uint8_t)shared;
    u->loc = loc;
    u->seq = seq;
    u->counter = a->counter;
    u->index = e->index;
    cw__vc_copy(&u->n, &a->n);
    /* A new edge can close cycles; an old one only matters when it is
     * already on one (cycles through it were found when it was added). */
    if (!fresh && !p->cyclic)
      continue;
    cyc c;
    memset(&c, 0, sizeof(c));
    c.locks[0] = hd->lock;
    c.locks[1] = lock;
    c.pairs[0] = pi;
    c.pick[0] = u;
    c.budget = AE_SEARCH_BUDGET;
    dfs(e, &c, 1);
    if (!c.budget)
      e->sum.search_truncated++;
  }
}

void cw__lockgraph_free(cw_engine *e) {
  for (uint32_t i = 0; i < e->npairs; i++) {
    for (uint32_t k = 0; k < e->pairs[i].ninst; k++)
      cw__vc_free(&e->pairs[i].inst[k].n);
    cw__ae_free(e->pairs[i].inst);
  }
  cw__ae_free(e->pairs);
  cw__map_free(&e->pairmap);
  cw__map_free(&e->cyclemap);
  for (uint32_t i = 0; i < AE_HANDOFFS; i++)
    cw__vc_free(&e->ho[i].nrel);
  for (uint32_t i = 0; i < 8; i++)
    cw__vc_free(&e->clo[i]);
  for (uint32_t i = 0; i < e->npdl; i++)
    cw__ae_free((void *)e->pdl[i].edges);
  cw__ae_free(e->pdl);
}

/* Whether a path from `from` back to `to` of at most `left` more edges
 * closes a lock cycle (with the edges in `path`) that was not reported. */
static int unreported_from(const cw_engine *e, uint32_t *path, uint32_t n,
                           uint64_t *budget) {
  const ae_lock *cur = &e->locks[path[n - 1]];
  for (uint32_t i = 0; i < cur->nout && *budget; i++) {
    (*budget)--;
    uint32_t tgt = e->pairs[cur->out[i]].req;
    if (tgt == path[0]) {
      cyc c;
      memset(&c, 0, sizeof(c));
      c.n = n;
      memcpy(c.locks, path, n * sizeof(*path));
      uint32_t rot;
      uint64_t k1, k2;
      cycle_key(&c, &rot, &k1, &k2);
      if (!cw__map_get(&e->cyclemap, k1, k2))
        return 1;
      continue;
    }
    if (n >= AE_MAX_CYCLE)
      continue;
    int seen = 0;
    for (uint32_t k = 0; k < n; k++)
      seen |= path[k] == tgt;
    if (seen)
      continue;
    path[n] = tgt;
    if (unreported_from(e, path, n + 1, budget))
      return 1;
  }
  return 0;
}

uint64_t cw__lockgraph_cuts_pending(const cw_engine *e) {
  uint64_t total = 0, budget = AE_SEARCH_BUDGET;
  for (uint32_t i = 0; i < e->npairs; i++) {
    const ae_pair *p = &e->pairs[i];
    if (!p->cut)
      continue;
    uint32_t path[AE_MAX_CYCLE] = {p->held, p->req};
    if (unreported_from(e, path, 2, &budget) || !budget)
      total += p->cut;
  }
  return total;
}
