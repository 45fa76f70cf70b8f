/*
 * ae_dlx.c: exact potential deadlocks in two passes (docs/detection.md 4.3).
 *
 * DESIGN. Pass 1 is the ordinary engine run with cfg.two_pass set: a lock
 * request only records its lock-graph edges (held -> requested) and, per
 * edge, its *class* (actor, set of held locks, modes). At the end,
 * cw__engine_replay_new enumerates the simple cycles of 2..4 locks of the
 * graph and keeps those for which some choice of one class per edge has
 * distinct actors, pairwise compatible held sets (no gate lock) and
 * blocking modes. Pass 2 feeds the same events (pass 1's record of them,
 * ae_dxrec.c, or the inputs read again) to a second engine in replay mode,
 * which does nothing but this:
 *
 *  - one clock system per lock set S of a kept cycle: vector clocks of
 *    actors, lock releases and annotation keys computed exactly as
 *    happens-before *without the release -> acquire edges of the locks of
 *    S* (HB_S). The live systems share their clocks: one counter per
 *    system in each row (a column per system), so that an event costs
 *    one row-wise maximum, not one clock operation per system. A system
 *    is dropped as soon as every cycle over S is reported.
 *  - per kept cycle (edges 0..n-1) and per subset T of its edges, a table
 *    keyed by the class chosen on each edge of T, holding ONE tuple: the
 *    requests (own counters) of the latest pairwise HB_S-concurrent,
 *    compatible T-tuple of those classes. When a request x of class X
 *    lands on edge i, for every T not containing i and every entry y of
 *    T: if X is compatible with y's classes and x is concurrent with each
 *    y_j (x's HB_S clock at actor(y_j) below y_j's counter; y_j cannot be
 *    after x, which comes later in a linearization of HB_S), then (y, x)
 *    is the entry of T+{i} for those classes, replacing the previous one;
 *    when T+{i} is every edge, the cycle is reported.
 *
 * Why one tuple per (T, classes) is enough: for a request z that comes
 * later than a stored tuple, z is concurrent with its j-th request iff
 * z's clock at that actor is below its counter, so a tuple whose counters
 * are all >= another's (same classes, so same actors, held sets, modes)
 * is concurrent with every later request the other one is concurrent
 * with. By induction on the events, the entry of (T, classes) is
 * component-wise >= every concurrent compatible T-tuple seen so far: the
 * new tuple (y, x) has the newest request of X and the entry y that
 * dominates every tuple of y's classes; and if x is not concurrent with
 * y, it is not concurrent with any tuple y dominates. So a cycle has a
 * witness (design 4.2) iff it is reported, with no bound on the trace.
 * Memory: the tables (keys of classes, not events) and the clocks of the
 * live systems; time: per lock, fork/join or annotation event, a row-wise
 * maximum over (actors in the clocks) x (live systems) counters, per
 * request the table entries of its edges' unreported cycles.
 */
#include "ae_internal.h"

#include <string.h>

#define DX_MAXC 4
/* Steps of the cycle enumeration after pass 1; past it the search stops
 * and search_truncated counts it. */
#define DX_ENUM_BUDGET 50000000u
/* Steps of the static class filter per cycle; past it the cycle is kept
 * (pass 2 decides it exactly). */
#define DX_FILTER_BUDGET 100000u
/* Pass 1 keeps at most this many held sets per (edge, actor, modes); then
 * one class with their intersection stands for all of them (below). */
#define DX_GROUP_CLASSES 4u
#define DX_MERGED 0x80000000u

typedef struct dx_cls {
  uint32_t actor, heldset;
  uint8_t held_sh, req_sh;
  uint32_t next; /* pass 1: next class of the same lock-graph edge + 1 */
  uint64_t occ;  /* pass 1: its requests */
} dx_cls;

typedef struct dx_ent {
  uint32_t cls[DX_MAXC];
  uint64_t cnt[DX_MAXC], seq[DX_MAXC];
  cw_sym loc[DX_MAXC];
} dx_ent;

typedef struct dx_list {
  uint32_t *v;
  uint32_t n, cap;
} dx_list;

/* An actor that requests on an edge of a cycle, and how many of its
 * requests there (counted by pass 1) are still to come. */
typedef struct dx_pa {
  uint32_t actor;
  uint64_t left;
} dx_pa;

typedef struct dx_cyc {
  uint32_t n, sys;
  uint32_t locks[DX_MAXC];
  uint8_t done;
  dx_list lst[1u << DX_MAXC]; /* entries per subset of edges */
  dx_pa *pa[DX_MAXC];         /* per edge: its actors */
  uint32_t npa[DX_MAXC], cappa[DX_MAXC];
  uint64_t left[DX_MAXC]; /* per edge: requests still to come */
  uint32_t nent, sweep_at;
} dx_cyc;

typedef struct dx_occ {
  uint32_t cyc, pos, next; /* next: occurrence index + 1, 0: none */
} dx_occ;

typedef struct dx_sys {
  uint32_t n, locks[DX_MAXC];
  uint32_t open; /* cycles over this lock set not reported yet */
  uint8_t live;
  uint32_t col; /* its column in the clocks */
} dx_sys;

/* Pass-2 clocks: of actors, exclusive and shared lock releases, and
 * annotation keys. */
enum { DC_ACT, DC_RELX, DC_RELS, DC_KEY, DC_KINDS };

/* One clock of every live system: the actors it heard of (sorted), each
 * with a row of counters, one per column (system). */
typedef struct dx_clk {
  uint32_t n, acap;
  uint32_t *actor;
  uint32_t *c; /* counters: pass 2 needs 32 bits (see dx_cnt) */
  size_t ccap;
} dx_clk;

typedef struct ae_dx {
  dx_cls *cls; /* [0] unused */
  uint32_t ncls, capcls;
  ae_map clsmap;
  /* Pass 1: (edge, actor, modes) -> its classes so far (count + 1), or
   * DX_MERGED | its one merged class (+ 1). */
  ae_map grpmap;
  /* Pass 2. */
  dx_cyc *cyc;
  uint32_t ncyc, capcyc;
  dx_occ *occ;
  uint32_t nocc, capocc;
  ae_map occmap; /* (held, requested) -> first occurrence */
  dx_sys *sys;
  uint32_t nsys, capsys;
  uint32_t *live; /* indices of live systems */
  uint32_t nlive;
  dx_ent *ent;
  uint32_t nent, capent;
  uint32_t *freeent; /* recycled entry slots */
  uint32_t nfree, capfree;
  ae_map entmap;
  ae_map pamap;    /* (cycle * 4 + edge, actor) -> dx_pa index */
  uint64_t events; /* processed, for the periodic sweep */
  uint8_t *multi;  /* per lock: pass 1 saw two actors acquire it; bit 1:
                      pass 2 saw a shared release of it */
  uint32_t capmulti;
  /* Pass-2 clocks, with a column per live system. */
  dx_clk *clk[DC_KINDS];
  uint32_t capc[DC_KINDS];
  uint32_t ncol, ndead; /* columns, of closed systems */
  dx_list *lsys;        /* per lock: live systems whose lock set holds it */
  uint32_t caplsys;
  uint32_t *mcol; /* scratch: columns that leave an edge out */
  uint32_t *save; /* scratch: their counters */
  uint32_t capm, capsave;
  uint32_t *relv; /* per lock: exclusive releases joined into its clock */
  uint32_t caprelv;
} ae_dx;

static ae_dx *dx_of(cw_engine *e) {
  if (!e->dx)
    e->dx = cw__ae_calloc(1, sizeof(*e->dx));
  return e->dx;
}

static uint32_t class_of(ae_dx *x, uint32_t tag, uint32_t actor,
                         uint32_t heldset, int hs, int rs, int *fresh) {
  if (!x->ncls)
    x->ncls = 1; /* class 0 is "none" */
  uint32_t id;
  int f = cw__map_put(&x->clsmap, ((uint64_t)tag << 32) | actor,
                      ((uint64_t)heldset << 2) | (uint64_t)(hs << 1 | rs),
                      x->ncls, &id);
  if (f) {
    AE_RESERVE(x->cls, x->capcls, x->ncls + 1u);
    dx_cls *c = &x->cls[x->ncls++];
    c->actor = actor;
    c->heldset = heldset;
    c->held_sh = (uint8_t)hs;
    c->req_sh = (uint8_t)rs;
    c->next = 0;
    c->occ = 0;
  }
  if (fresh)
    *fresh = f;
  return id;
}

/* ---- Pass 1 ------------------------------------------------------------- */

/* The intersection of locksets a and b: a lock of both, in read mode when
 * either holds it so (a gate-lock conflict with it is then one with each). */
static uint32_t ls_meet(cw_engine *e, uint32_t a, uint32_t b) {
  if (a == b)
    return a;
  const ae_lockset *x = &e->lsets[a], *y = &e->lsets[b];
  cw__engine_lockset_room(e, x->n < y->n ? x->n + 1 : y->n + 1);
  uint32_t n = 0;
  for (uint32_t i = 0, j = 0; i < x->n && j < y->n;) {
    if (x->syms[i] < y->syms[j])
      i++;
    else if (y->syms[j] < x->syms[i])
      j++;
    else {
      e->lstmp[n] = x->syms[i];
      e->lstmp_sh[n++] = x->shared[i++] | y->shared[j++];
    }
  }
  return cw__engine_lockset_intern(e, n);
}

/* Group (edge, actor, modes) has DX_GROUP_CLASSES classes and a new held
 * set `ls`: one class, new class `id`, now stands for all of them, with
 * the intersection of their held sets and the sum of their requests. The
 * static filter stays sound (two classes without a common gate lock have
 * intersections without one) and pass 2 decides exactly; the classes of
 * pass 1 stay bounded by edges x actors whatever the held sets. */
static uint32_t merge(cw_engine *e, uint32_t pair, uint32_t id) {
  ae_dx *x = e->dx;
  dx_cls *m = &x->cls[id];
  uint32_t *link = &e->pairs[pair].cls;
  while (*link) {
    dx_cls *c = &x->cls[*link - 1];
    if (c->actor != m->actor || c->held_sh != m->held_sh ||
        c->req_sh != m->req_sh) {
      link = &c->next;
      continue;
    }
    m->heldset = ls_meet(e, m->heldset, c->heldset);
    m->occ += c->occ;
    cw__map_del(&x->clsmap, ((uint64_t)(pair + 1) << 32) | c->actor,
                ((uint64_t)c->heldset << 2) |
                    (uint64_t)(c->held_sh << 1 | c->req_sh));
    *link = c->next;
  }
  m->next = e->pairs[pair].cls;
  e->pairs[pair].cls = id + 1;
  return id;
}

void cw__dx_record(cw_engine *e, uint32_t pair, uint32_t aid, int held_sh,
                   int req_sh) {
  ae_dx *x = dx_of(e);
  ae_pair *pp = &e->pairs[pair];
  uint32_t ls = e->actors[aid].lockset;
  if (pp->last_cls) { /* the same class as the edge's latest request? */
    dx_cls *c = &x->cls[pp->last_cls - 1];
    if (c->actor == aid && c->heldset == ls && c->held_sh == held_sh &&
        c->req_sh == req_sh) {
      c->occ++;
      return;
    }
  }
  uint64_t ga = ((uint64_t)(pair + 1) << 32) | aid;
  uint64_t gb = (uint64_t)(held_sh << 1 | req_sh);
  uint32_t *g = cw__map_get(&x->grpmap, ga, gb);
  uint32_t id;
  if (g && ((*g - 1) & DX_MERGED)) {
    id = (*g - 1) & ~DX_MERGED;
    x->cls[id].heldset = ls_meet(e, x->cls[id].heldset, ls);
  } else {
    int fresh;
    id = class_of(x, pair + 1, aid, ls, held_sh, req_sh, &fresh);
    uint32_t n = g ? *g - 1 : 0;
    if (fresh && n >= DX_GROUP_CLASSES) {
      *g = (DX_MERGED | merge(e, pair, id)) + 1;
    } else if (fresh) {
      x->cls[id].next = pp->cls;
      pp->cls = id + 1;
      if (g)
        *g = n + 2;
      else
        cw__map_put(&x->grpmap, ga, gb, 1, NULL);
    }
  }
  pp->last_cls = id + 1;
  x->cls[id].occ++;
}

/* Two classes can be on two edges of one witness: distinct actors, no
 * gate lock. */
static int cls_compat(const cw_engine *e, const dx_cls *a, const dx_cls *b) {
  return a->actor != b->actor &&
         !cw__lockset_conflict(e, a->heldset, b->heldset);
}

typedef struct plan {
  cw_engine *e;
  uint32_t n, locks[DX_MAXC], pairs[DX_MAXC];
  const dx_cls *pick[DX_MAXC];
  uint64_t budget, filter;
  cw_engine *r; /* the replay engine, created at the first kept cycle */
  uint64_t kept;
  uint32_t *scc; /* per lock: its strongly connected component + 1 */
} plan;

/* Some choice of one class per edge can be a witness (ignoring order). */
static int feasible(plan *p, uint32_t k) {
  if (k >= p->n || k >= DX_MAXC)
    return k > 0 && !(p->pick[k - 1]->req_sh && p->pick[0]->held_sh);
  const ae_dx *x = p->e->dx;
  for (uint32_t c = p->e->pairs[p->pairs[k]].cls; c; c = x->cls[c - 1].next) {
    const dx_cls *u = &x->cls[c - 1];
    if (!p->filter)
      return 1; /* out of budget: keep the cycle, pass 2 decides */
    p->filter--;
    int ok = !(k && p->pick[k - 1]->req_sh && u->held_sh);
    for (uint32_t i = 0; i < k && ok; i++)
      ok = cls_compat(p->e, p->pick[i], u);
    if (!ok)
      continue;
    p->pick[k] = u;
    if (feasible(p, k + 1))
      return 1;
  }
  return 0;
}

static uint32_t sys_of(ae_dx *x, const uint32_t *locks, uint32_t n) {
  uint32_t s[DX_MAXC] = {0, 0, 0, 0};
  memcpy(s, locks, n * sizeof(*s));
  for (uint32_t i = 1; i < n; i++) /* insertion sort */
    for (uint32_t j = i; j > 0 && s[j - 1] > s[j]; j--) {
      uint32_t t = s[j];
      s[j] = s[j - 1];
      s[j - 1] = t;
    }
  for (uint32_t i = 0; i < x->nsys; i++)
    if (x->sys[i].n == n && !memcmp(x->sys[i].locks, s, sizeof(s)))
      return i;
  AE_RESERVE(x->sys, x->capsys, x->nsys + 1u);
  dx_sys *y = &x->sys[x->nsys];
  memset(y, 0, sizeof(*y));
  y->n = n;
  memcpy(y->locks, s, sizeof(s));
  y->live = 1;
  return x->nsys++;
}

/* The pass-2 engine, with e's symbols, actors, locks and keys under the
 * same ids (pass 1's record names them by id; reading the inputs again
 * interns them to the same ids). */
static cw_engine *replay_engine(cw_engine *e) {
  cw_engine_config cfg = e->cfg;
  cfg.two_pass = 0;
  cw_engine *r = cw__engine_new(&cfg);
  r->replay = 1;
  dx_of(r);
  for (uint32_t s = 1; s < e->nsyms; s++)
    cw__engine_intern(r, e->strs[s], e->lens[s]);
  for (uint32_t a = 1; a < e->nactors; a++)
    cw__engine_actor(r, e->actors[a].name, e->actors[a].service);
  for (uint32_t l = 1; l < e->nlocks; l++)
    cw__engine_lock(r, e->locks[l].sym);
  cw_sym *ks = cw__ae_calloc(e->nkeys ? e->nkeys : 1, sizeof(*ks));
  for (size_t s = 1; s < e->capof && s < e->nsyms; s++)
    if (e->key_of[s])
      ks[e->key_of[s]] = (cw_sym)s;
  for (uint32_t k = 1; k < e->nkeys; k++)
    cw__engine_key(r, ks[k]);
  cw__ae_free(ks);
  return r;
}

static void keep_cycle(plan *p) {
  cw_engine *e = p->e;
  if (!p->r)
    p->r = replay_engine(e);
  cw_engine *r = p->r;
  ae_dx *x = r->dx;
  uint32_t l2[DX_MAXC];
  for (uint32_t i = 0; i < p->n; i++) {
    cw_sym s = e->locks[p->locks[i]].sym;
    l2[i] = cw__engine_lock(r, cw__engine_intern(r, e->strs[s], e->lens[s]));
  }
  AE_RESERVE(x->cyc, x->capcyc, x->ncyc + 1u);
  uint32_t ci = x->ncyc++;
  dx_cyc *c = &x->cyc[ci];
  memset(c, 0, sizeof(*c));
  c->n = p->n;
  memcpy(c->locks, l2, p->n * sizeof(*l2));
  c->sys = sys_of(x, l2, p->n);
  x->sys[c->sys].open++;
  const ae_dx *px = e->dx;
  for (uint32_t i = 0; i < p->n; i++) {
    for (uint32_t k = e->pairs[p->pairs[i]].cls; k; k = px->cls[k - 1].next) {
      const dx_cls *u = &px->cls[k - 1];
      cw_sym an = e->actors[u->actor].name, sv = e->actors[u->actor].service;
      uint32_t aid = cw__engine_actor(
          r, cw__engine_intern(r, e->strs[an], e->lens[an]),
          sv ? cw__engine_intern(r, e->strs[sv], e->lens[sv]) : 0);
      uint32_t slot;
      if (cw__map_put(&x->pamap, (uint64_t)ci * DX_MAXC + i, aid, c->npa[i],
                      &slot)) {
        AE_RESERVE(c->pa[i], c->cappa[i], c->npa[i] + 1u);
        c->pa[i][c->npa[i]].actor = aid;
        c->pa[i][c->npa[i]++].left = 0;
      }
      c->pa[i][slot].left += u->occ;
      c->left[i] += u->occ;
    }
  }
  c->sweep_at = 64;
  for (uint32_t i = 0; i < p->n; i++) {
    AE_RESERVE(x->occ, x->capocc, x->nocc + 1u);
    dx_occ *o = &x->occ[x->nocc];
    o->cyc = ci;
    o->pos = i;
    o->next = 0;
    uint32_t *head = cw__map_get(&x->occmap, l2[i], l2[(i + 1) % p->n]);
    if (head) {
      o->next = *head; /* stored value + 1 == index + 1 */
      *head = x->nocc + 1;
    } else {
      cw__map_put(&x->occmap, l2[i], l2[(i + 1) % p->n], x->nocc, NULL);
    }
    x->nocc++;
  }
  p->kept++;
}

/* Simple cycles through locks[0], whose other locks are greater (each
 * cycle once up to rotation). */
static void enumerate(plan *p, uint32_t d) {
  const ae_lock *cur = &p->e->locks[p->locks[d - 1]];
  for (uint32_t i = 0; i < cur->nout && p->budget; i++) {
    p->budget--;
    uint32_t q = cur->out[i];
    uint32_t t = p->e->pairs[q].req;
    p->pairs[d - 1] = q;
    if (t == p->locks[0]) {
      p->n = d;
      p->filter = DX_FILTER_BUDGET;
      if (feasible(p, 0))
        keep_cycle(p);
      continue;
    }
    if (t < p->locks[0] || d >= DX_MAXC || p->scc[t] != p->scc[p->locks[0]])
      continue;
    int seen = 0;
    for (uint32_t k = 1; k < d; k++)
      seen |= p->locks[k] == t;
    if (seen)
      continue;
    p->locks[d] = t;
    enumerate(p, d + 1);
  }
}

/* Strongly connected components of the lock graph (iterative Tarjan):
 * a cycle lies in one, so the search never leaves it. scc[l] = 0 for a
 * lock on no cycle. */
static uint32_t *components(const cw_engine *e) {
  uint32_t n = e->nlocks;
  uint32_t *idx = cw__ae_calloc(n, sizeof(*idx)), *low = cw__ae_alloc(n * 4);
  uint32_t *scc = cw__ae_calloc(n, sizeof(*scc)), *st = cw__ae_alloc(n * 4);
  uint32_t *cs = cw__ae_alloc(n * 4), *ci = cw__ae_alloc(n * 4);
  uint8_t *on = cw__ae_calloc(n, 1);
  uint32_t next = 1, nst = 0, ncs = 0, ncomp = 0;
  for (uint32_t r = 1; r < n; r++) {
    if (idx[r] || !e->locks[r].nout)
      continue;
    cs[ncs] = r;
    ci[ncs++] = 0;
    idx[r] = low[r] = next++;
    st[nst++] = r;
    on[r] = 1;
    while (ncs) {
      uint32_t v = cs[ncs - 1];
      const ae_lock *lv = &e->locks[v];
      if (ci[ncs - 1] < lv->nout) {
        uint32_t w = e->pairs[lv->out[ci[ncs - 1]++]].req;
        if (!idx[w]) {
          idx[w] = low[w] = next++;
          st[nst++] = w;
          on[w] = 1;
          cs[ncs] = w;
          ci[ncs++] = 0;
        } else if (on[w] && idx[w] < low[v]) {
          low[v] = idx[w];
        }
        continue;
      }
      ncs--;
      if (ncs && low[v] < low[cs[ncs - 1]])
        low[cs[ncs - 1]] = low[v];
      if (low[v] != idx[v])
        continue;
      uint32_t w, size = 0, id = ++ncomp;
      do {
        w = st[--nst];
        on[w] = 0;
        scc[w] = id;
        size++;
      } while (w != v);
      if (size == 1)
        scc[v] = 0; /* alone: on no cycle (no self edges) */
    }
  }
  cw__ae_free(idx);
  cw__ae_free(low);
  cw__ae_free(st);
  cw__ae_free(cs);
  cw__ae_free(ci);
  cw__ae_free(on);
  return scc;
}

cw_engine *cw__engine_replay_new(cw_engine *e) {
  if (!e || !e->two_pass || !e->dx)
    return NULL;
  plan p;
  memset(&p, 0, sizeof(p));
  p.e = e;
  p.budget = DX_ENUM_BUDGET;
  p.scc = components(e);
  for (uint32_t l = 1; l < e->nlocks && p.budget; l++) {
    if (!e->locks[l].nout || !p.scc[l])
      continue;
    p.locks[0] = l;
    enumerate(&p, 1);
  }
  cw__ae_free(p.scc);
  if (!p.budget)
    e->sum.search_truncated++;
  if (p.r) {
    ae_dx *x = p.r->dx;
    /* A lock only one actor ever takes orders nothing beyond program
     * order: pass 2 skips its edges. */
    for (uint32_t l = 1; l < e->nlocks; l++) {
      if (!e->locks[l].multi)
        continue;
      cw_sym s = e->locks[l].sym;
      uint32_t l2 =
          cw__engine_lock(p.r, cw__engine_intern(p.r, e->strs[s], e->lens[s]));
      cw__ae_index(&x->multi, &x->capmulti, l2, 1);
      x->multi[l2] = 1;
    }
    x->live = cw__ae_alloc(x->nsys * sizeof(*x->live));
    x->nlive = 0;
    x->ncol = x->nsys;
    for (uint32_t i = 0; i < x->nsys; i++) {
      x->sys[i].col = i;
      x->live[x->nlive++] = i;
      for (uint32_t k = 0; k < x->sys[i].n; k++) {
        uint32_t l = x->sys[i].locks[k];
        cw__ae_index(&x->lsys, &x->caplsys, l, sizeof(*x->lsys));
        AE_RESERVE(x->lsys[l].v, x->lsys[l].cap, x->lsys[l].n + 1u);
        x->lsys[l].v[x->lsys[l].n++] = i;
      }
    }
  }
  return p.r;
}

static cw_sym copy_sym(cw_engine *to, const cw_engine *from, cw_sym s) {
  return s ? cw__engine_intern(to, from->strs[s], from->lens[s]) : 0;
}

void cw__engine_replay_adopt(cw_engine *e, const cw_engine *r) {
  if (!e || !r)
    return;
  for (uint32_t i = 0; i < r->npdl; i++) {
    const cw_deadlock *d = &r->pdl[i];
    /* Rotate to start at the lock first seen by e, as pass 1 would. */
    uint32_t m = 0, best = UINT32_MAX;
    cw_cycle_edge *ed = cw__ae_calloc(d->n, sizeof(*ed));
    for (uint32_t k = 0; k < d->n; k++) {
      uint32_t l = cw__engine_lock(e, copy_sym(e, r, d->edges[k].held));
      if (l < best) {
        best = l;
        m = k;
      }
    }
    for (uint32_t k = 0; k < d->n; k++) {
      const cw_cycle_edge *s = &d->edges[(m + k) % d->n];
      cw_sym an = copy_sym(e, r, cw__engine_actor_name(r, s->actor));
      ed[k].actor = cw__engine_actor(
          e, an, copy_sym(e, r, cw__engine_actor_service(r, s->actor)));
      ed[k].held = copy_sym(e, r, s->held);
      ed[k].requested = copy_sym(e, r, s->requested);
      ed[k].loc = copy_sym(e, r, s->loc);
      ed[k].seq = s->seq;
    }
    AE_RESERVE(e->pdl, e->cappdl, e->npdl + 1u);
    cw_deadlock *o = &e->pdl[e->npdl++];
    memset(o, 0, sizeof(*o));
    o->n = d->n;
    o->edges = ed;
  }
  e->sum.early_orders += r->sum.early_orders;
  e->sum.search_truncated += r->sum.search_truncated;
}

/* ---- Pass 2 ------------------------------------------------------------- */

/*
 * Clocks of pass 2. Every system S computes happens-before without the
 * release -> acquire edges of its own locks (HB_S); the live systems share
 * one set of clocks: a clock is a sorted list of the actors it has heard
 * of, each with one counter per system (a column per live system). A join
 * is then one pass over the rows, taking the maximum of whole rows (no
 * per-system overhead), and the systems that leave the edge out (their
 * lock set holds the lock) get their columns back afterwards. Closed
 * systems' columns are dropped once they are a quarter of them. Counters
 * are 32 bits (dx_cnt): the row maximum then vectorises.
 */

/* A counter as pass 2 stores it: 32 bits, which holds 4 billion events
 * of one actor; a larger counter is cut to that, and the answer may then
 * be wrong (counted in search_truncated: `exact` is false). */
static uint32_t dx_cnt(cw_engine *e, uint64_t c) {
  if (c <= UINT32_MAX)
    return (uint32_t)c;
  e->sum.search_truncated++;
  return UINT32_MAX;
}

/* Makes clock i of kind k exist (empty). */
static void dc_need(ae_dx *x, int k, uint32_t i) {
  cw__ae_index(&x->clk[k], &x->capc[k], i, sizeof(*x->clk[k]));
}

/* Index of the first row of k with actor >= a. */
static uint32_t ck_lower(const dx_clk *k, uint32_t a) {
  uint32_t lo = 0, hi = k->n;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (k->actor[mid] < a)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* Room for n rows of w counters. */
static void ck_room(dx_clk *k, uint32_t n, uint32_t w) {
  AE_RESERVE(k->actor, k->acap, n);
  AE_RESERVE(k->c, k->ccap, (size_t)n * w);
}

/* Inserts a zero row for actor a at position p. */
static void ck_insert(ae_dx *x, dx_clk *k, uint32_t p, uint32_t a) {
  uint32_t w = x->ncol;
  ck_room(k, k->n + 1, w);
  memmove(&k->actor[p + 1], &k->actor[p], (k->n - p) * sizeof(*k->actor));
  memmove(&k->c[(size_t)(p + 1) * w], &k->c[(size_t)p * w],
          (size_t)(k->n - p) * w * sizeof(*k->c));
  k->actor[p] = a;
  memset(&k->c[(size_t)p * w], 0, w * sizeof(*k->c));
  k->n++;
}

/* System sys's clock i of kind k at actor a. */
static uint32_t dc_get(const ae_dx *x, int k, uint32_t i, uint32_t sys,
                       uint32_t a) {
  if (i >= x->capc[k])
    return 0;
  const dx_clk *c = &x->clk[k][i];
  uint32_t p = ck_lower(c, a);
  return p < c->n && c->actor[p] == a
             ? c->c[(size_t)p * x->ncol + x->sys[sys].col]
             : 0;
}

/* The columns of the live systems whose lock set holds l (0: none), in
 * x->mcol. @return how many. */
static uint32_t masked(ae_dx *x, uint32_t l) {
  if (!l || l >= x->caplsys)
    return 0;
  const dx_list *ls = &x->lsys[l];
  AE_RESERVE(x->mcol, x->capm, ls->n);
  AE_RESERVE(x->save, x->capsave, ls->n);
  for (uint32_t q = 0; q < ls->n; q++)
    x->mcol[q] = x->sys[ls->v[q]].col;
  return ls->n;
}

/* xr := max(xr, yr), w counters (vectorised: no aliasing). */
static void row_max(uint32_t *restrict xr, const uint32_t *restrict yr,
                    uint32_t w) {
  for (uint32_t s = 0; s < w; s++)
    xr[s] = xr[s] > yr[s] ? xr[s] : yr[s];
}

/* Clock (kx, ix) := itself join clock (ky, iy) in every live system,
 * except that the systems whose lock set holds `drop` keep their clock
 * when `keep` (else, for a release clock of their own lock, which they
 * never read, it does not matter). */
static void dc_join(ae_dx *x, int kx, uint32_t ix, int ky, uint32_t iy,
                    uint32_t drop, int keep) {
  dc_need(x, kx, ix);
  dc_need(x, ky, iy);
  dx_clk *X = &x->clk[kx][ix];
  const dx_clk *Y = &x->clk[ky][iy];
  if (!Y->n)
    return;
  uint32_t w = x->ncol, nm = keep ? masked(x, drop) : 0;
  /* Rows for Y's actors (usually there already). */
  int same =
      X->n == Y->n && !memcmp(X->actor, Y->actor, X->n * sizeof(*X->actor));
  for (uint32_t j = 0, p = 0; j < Y->n && !same; j++, p++) {
    while (p < X->n && X->actor[p] < Y->actor[j])
      p++;
    if (p >= X->n || X->actor[p] != Y->actor[j])
      ck_insert(x, X, p, Y->actor[j]);
  }
  if (!nm && (same || X->n == Y->n)) { /* the same actors: one row */
    row_max(X->c, Y->c, X->n * w);
    return;
  }
  for (uint32_t j = 0, p = 0; j < Y->n; j++, p++) {
    while (X->actor[p] < Y->actor[j])
      p++;
    uint32_t *xr = &X->c[(size_t)p * w];
    for (uint32_t m = 0; m < nm; m++)
      x->save[m] = xr[x->mcol[m]];
    row_max(xr, &Y->c[(size_t)j * w], w);
    for (uint32_t m = 0; m < nm; m++)
      xr[x->mcol[m]] = x->save[m];
  }
}

/* Clock (kx, ix) := clock (ky, iy), in every column. */
static void dc_copy(ae_dx *x, int kx, uint32_t ix, int ky, uint32_t iy) {
  dc_need(x, kx, ix);
  dc_need(x, ky, iy);
  dx_clk *X = &x->clk[kx][ix];
  const dx_clk *Y = &x->clk[ky][iy];
  ck_room(X, Y->n, x->ncol);
  if (Y->n) {
    memcpy(X->actor, Y->actor, Y->n * sizeof(*X->actor));
    memcpy(X->c, Y->c, (size_t)Y->n * x->ncol * sizeof(*X->c));
  }
  X->n = Y->n;
}

/* Clock (k, i) at actor a := max(itself, c) in every live system except
 * those whose lock set holds `drop`. */
static void dc_raise(ae_dx *x, int k, uint32_t i, uint32_t a, uint32_t c,
                     uint32_t drop) {
  if (!c)
    return;
  dc_need(x, k, i);
  dx_clk *X = &x->clk[k][i];
  uint32_t w = x->ncol, nm = masked(x, drop);
  uint32_t p = ck_lower(X, a);
  if (p >= X->n || X->actor[p] != a)
    ck_insert(x, X, p, a);
  uint32_t *xr = &X->c[(size_t)p * w];
  for (uint32_t m = 0; m < nm; m++)
    x->save[m] = xr[x->mcol[m]];
  for (uint32_t s = 0; s < w; s++)
    xr[s] = xr[s] > c ? xr[s] : c;
  for (uint32_t m = 0; m < nm; m++)
    xr[x->mcol[m]] = x->save[m];
}

/* The actor's clock gets its own component up to date. */
static void dc_now(cw_engine *e, uint32_t aid) {
  dc_raise(e->dx, DC_ACT, aid, aid, dx_cnt(e, e->actors[aid].counter), 0);
}

/* Whether some live system's clock (k, i) is below c at actor a. */
static int dc_below(const ae_dx *x, int k, uint32_t i, uint32_t a, uint32_t c) {
  for (uint32_t q = 0; q < x->nlive; q++)
    if (dc_get(x, k, i, x->live[q], a) < c)
      return 1;
  return 0;
}

/* A release clock holds one row per actor it heard of: keep it tight. */
static void dc_tight(ae_dx *x, int k, uint32_t i) {
  dx_clk *c = &x->clk[k][i];
  size_t need = (size_t)c->n * x->ncol;
  if (c->ccap > need + need / 4 + 1) {
    c->c = cw__ae_realloc(c->c, need * sizeof(*c->c));
    c->ccap = need;
  }
}

/* Forgets a closed system: its lock-set entries, and its column once the
 * closed columns are a quarter of them. */
static void sys_free(ae_dx *x, uint32_t sys) {
  dx_sys *s = &x->sys[sys];
  for (uint32_t i = 0; i < s->n; i++) {
    dx_list *ls = &x->lsys[s->locks[i]];
    for (uint32_t q = 0; q < ls->n; q++)
      if (ls->v[q] == sys) {
        ls->v[q] = ls->v[--ls->n];
        break;
      }
  }
  s->live = 0;
  if (++x->ndead * 4 < x->ncol)
    return;
  /* Compact: column of every live system, in place (a row only moves
   * towards the start). */
  uint32_t w = x->ncol, nw = 0;
  uint32_t *from = cw__ae_alloc((w ? w : 1) * sizeof(*from));
  for (uint32_t q = 0; q < x->nsys; q++)
    if (x->sys[q].live) {
      from[nw] = x->sys[q].col;
      x->sys[q].col = nw++;
    }
  for (int k = 0; k < DC_KINDS; k++)
    for (uint32_t i = 0; i < x->capc[k]; i++) {
      dx_clk *c = &x->clk[k][i];
      for (uint32_t r = 0; r < c->n; r++)
        for (uint32_t q = 0; q < nw; q++)
          c->c[(size_t)r * nw + q] = c->c[(size_t)r * w + from[q]];
    }
  cw__ae_free(from);
  x->ncol = nw;
  x->ndead = 0;
}

/* The key of an entry in entmap: the classes of its (at most 3) edges,
 * its cycle and its subset of edges. */
static void ent_key(const dx_ent *t, uint32_t ci, uint32_t m, uint64_t *a,
                    uint64_t *b) {
  uint64_t c3[3] = {0, 0, 0};
  for (uint32_t k = 0, j = 0; k < DX_MAXC; k++)
    if ((m >> k) & 1 && j < 3)
      c3[j++] = t->cls[k];
  *a = c3[0] | c3[1] << 32;
  *b = c3[2] | ((uint64_t)ci * 16u + m) << 32;
}

static void ent_drop(ae_dx *x, uint32_t ci, uint32_t m, uint32_t idx) {
  uint64_t a, b;
  ent_key(&x->ent[idx], ci, m, &a, &b);
  cw__map_del(&x->entmap, a, b);
  AE_RESERVE(x->freeent, x->capfree, x->nfree + 1u);
  x->freeent[x->nfree++] = idx;
  x->cyc[ci].nent--;
}

/* The cycle is decided (reported, or it can no longer be): its tables and,
 * with its last open cycle, its clock system go. */
static void cyc_close(cw_engine *e, uint32_t ci) {
  ae_dx *x = e->dx;
  dx_cyc *c = &x->cyc[ci];
  c->done = 1;
  for (uint32_t t = 0; t < (1u << DX_MAXC); t++) {
    for (uint32_t k = 0; k < c->lst[t].n; k++)
      ent_drop(x, ci, t, c->lst[t].v[k]);
    cw__ae_free(c->lst[t].v);
    memset(&c->lst[t], 0, sizeof(c->lst[t]));
  }
  dx_sys *s = &x->sys[c->sys];
  if (--s->open == 0) {
    sys_free(x, c->sys);
    for (uint32_t i = 0; i < x->nlive; i++)
      if (x->live[i] == c->sys) {
        x->live[i] = x->live[--x->nlive];
        break;
      }
  }
}

static void report(cw_engine *e, uint32_t ci, const dx_ent *y) {
  ae_dx *x = e->dx;
  dx_cyc *c = &x->cyc[ci];
  cw_cycle_edge *ed = cw__ae_calloc(c->n, sizeof(*ed));
  for (uint32_t k = 0; k < c->n; k++) {
    ed[k].actor = x->cls[y->cls[k]].actor;
    ed[k].held = e->locks[c->locks[k]].sym;
    ed[k].requested = e->locks[c->locks[(k + 1) % c->n]].sym;
    ed[k].loc = y->loc[k];
    ed[k].seq = y->seq[k];
  }
  AE_RESERVE(e->pdl, e->cappdl, e->npdl + 1u);
  cw_deadlock *d = &e->pdl[e->npdl++];
  memset(d, 0, sizeof(*d));
  d->n = c->n;
  d->edges = ed;
  cyc_close(e, ci);
}

/* Whether tuple y (edges in mask t) can still be part of a witness: every
 * edge it lacks has a request to come by an actor that is not in y and
 * whose clock does not yet cover one of y's requests (a later request of
 * that actor would be ordered after it). A tuple that completes with
 * requests already seen is in a larger entry already. */
static int alive(const cw_engine *e, const dx_cyc *c, const dx_ent *y,
                 uint32_t t) {
  const ae_dx *x = e->dx;
  for (uint32_t i = 0; i < c->n; i++) {
    if ((t >> i) & 1)
      continue;
    int viable = 0;
    for (uint32_t k = 0; k < c->npa[i] && !viable; k++) {
      const dx_pa *pa = &c->pa[i][k];
      if (!pa->left)
        continue;
      viable = 1;
      for (uint32_t j = 0; j < c->n && viable; j++) {
        if (!((t >> j) & 1))
          continue;
        uint32_t ya = x->cls[y->cls[j]].actor;
        viable = ya != pa->actor &&
                 dc_get(x, DC_ACT, pa->actor, c->sys, ya) < y->cnt[j];
      }
    }
    if (!viable)
      return 0;
  }
  return 1;
}

/* Drops the cycle's entries that can no longer be part of a witness; the
 * cycle itself when none is left and an edge has no request to come. */
static void sweep(cw_engine *e, uint32_t ci) {
  ae_dx *x = e->dx;
  dx_cyc *c = &x->cyc[ci];
  for (uint32_t t = 1; t < (1u << c->n) - 1; t++) {
    dx_list *l = &c->lst[t];
    for (uint32_t k = 0; k < l->n;) {
      if (alive(e, c, &x->ent[l->v[k]], t)) {
        k++;
        continue;
      }
      ent_drop(x, ci, t, l->v[k]);
      l->v[k] = l->v[--l->n];
    }
  }
  c->sweep_at = c->nent * 2 > 64 ? c->nent * 2 : 64;
  int ended = 0;
  for (uint32_t i = 0; i < c->n; i++)
    ended |= !c->left[i];
  if (!c->nent && ended)
    cyc_close(e, ci);
}

/* Stores tuple y (its edges in mask `have`) extended by the request on
 * edge i as the entry of (have | 1 << i, classes), unless it is dead. */
static void upsert(cw_engine *e, uint32_t ci, uint32_t have, const dx_ent *y,
                   uint32_t i, const dx_ent *xr) {
  ae_dx *x = e->dx;
  dx_ent t;
  memset(&t, 0, sizeof(t));
  uint32_t m = have | 1u << i;
  for (uint32_t k = 0; k < DX_MAXC; k++) {
    const dx_ent *src = k == i ? xr : ((have >> k) & 1) ? y : NULL;
    if (!src)
      continue;
    t.cls[k] = src->cls[k];
    t.cnt[k] = src->cnt[k];
    t.seq[k] = src->seq[k];
    t.loc[k] = src->loc[k];
  }
  if (!alive(e, &x->cyc[ci], &t, m))
    return; /* an entry it would replace is dead too: the sweep drops it */
  uint64_t a, b;
  ent_key(&t, ci, m, &a, &b);
  uint32_t slot = x->nfree ? x->freeent[x->nfree - 1] : x->nent, idx;
  if (cw__map_put(&x->entmap, a, b, slot, &idx)) {
    if (x->nfree)
      x->nfree--;
    else {
      AE_RESERVE(x->ent, x->capent, x->nent + 1u);
      x->nent++;
    }
    dx_cyc *c = &x->cyc[ci];
    dx_list *l = &c->lst[m];
    AE_RESERVE(l->v, l->cap, l->n + 1u);
    l->v[l->n++] = idx;
    c->nent++;
  }
  x->ent[idx] = t;
}

/* Request xr (class on edge i, counter, location) lands on cycle ci. */
static void extend(cw_engine *e, uint32_t ci, uint32_t i, const dx_ent *xr,
                   uint32_t aid) {
  ae_dx *x = e->dx;
  dx_cyc *c = &x->cyc[ci];
  uint32_t n = c->n, full = (1u << n) - 1, me = 1u << i;
  uint32_t prev = (i + n - 1) % n, next = (i + 1) % n;
  const dx_cls *X = &x->cls[xr->cls[i]];
  for (uint32_t t = 1; t < full; t++) {
    if (t & me)
      continue;
    for (uint32_t k = 0; k < c->lst[t].n; k++) {
      const dx_ent *y = &x->ent[c->lst[t].v[k]];
      int ok = 1;
      for (uint32_t j = 0; j < n && ok; j++) {
        if (!((t >> j) & 1))
          continue;
        const dx_cls *Y = &x->cls[y->cls[j]];
        ok = Y->actor != X->actor &&
             dc_get(x, DC_ACT, aid, c->sys, Y->actor) < y->cnt[j] &&
             !(j == prev && Y->req_sh && X->held_sh) &&
             !(j == next && X->req_sh && Y->held_sh) &&
             !cw__lockset_conflict(e, X->heldset, Y->heldset);
      }
      if (!ok)
        continue;
      if ((t | me) == full) {
        dx_ent w = *y;
        w.cls[i] = xr->cls[i];
        w.cnt[i] = xr->cnt[i];
        w.seq[i] = xr->seq[i];
        w.loc[i] = xr->loc[i];
        report(e, ci, &w);
        return;
      }
      dx_ent copy = *y; /* upsert may move the pool */
      upsert(e, ci, t, &copy, i, xr);
    }
  }
  upsert(e, ci, 0, NULL, i, xr);
  if (c->nent >= c->sweep_at)
    sweep(e, ci);
}

static void instance(cw_engine *e, uint32_t aid, uint32_t lock, int shared,
                     const cw_aevent *ev) {
  ae_dx *x = e->dx;
  ae_actor *a = &e->actors[aid];
  for (uint32_t h = 0; h < a->nheld; h++) {
    const ae_held *hd = &a->held[h];
    if (hd->lock == lock)
      continue;
    uint32_t *head = cw__map_get(&x->occmap, hd->lock, lock);
    if (!head)
      continue;
    dx_ent xr;
    memset(&xr, 0, sizeof(xr));
    uint32_t cls =
        class_of(x, 0, aid, cw__actor_lockset(e, a), hd->shared, shared, NULL);
    for (uint32_t o = *head; o; o = x->occ[o - 1].next) {
      const dx_occ *oc = &x->occ[o - 1];
      uint32_t ci = oc->cyc, pos = oc->pos;
      dx_cyc *c = &x->cyc[ci];
      if (c->done)
        continue;
      /* This request is no longer to come. */
      uint32_t *slot =
          cw__map_get(&x->pamap, (uint64_t)ci * DX_MAXC + pos, aid);
      if (!slot || !c->pa[pos][*slot - 1].left) {
        e->sum.search_truncated++; /* pass 1 saw other requests */

      } else {
        c->pa[pos][*slot - 1].left--;
        c->left[pos]--;
      }
      xr.cls[pos] = cls;
      xr.cnt[pos] = dx_cnt(e, a->counter);
      xr.seq[pos] = ev->seq;
      xr.loc[pos] = ev->loc;
      extend(e, ci, pos, &xr, aid);
      if (!c->done && !c->left[pos])
        sweep(e, ci); /* the edge's last request: entries without it die */
    }
  }
}

static ae_held *held_of(ae_actor *a, uint32_t l) {
  for (uint32_t i = 0; i < a->nheld; i++)
    if (a->held[i].lock == l)
      return &a->held[i];
  return NULL;
}

/* Explicit joins. Clock-only joins of a lock acquire are the lock's
 * release clock: left out of the systems whose set holds the lock. Other
 * clock-only joins carry the producer's clock, which may fold in edges of
 * a cycle's own locks: counted in early_orders when they add anything.
 * whole[i] (from pass 1's record; NULL: decided here) says that join i
 * names the source's latest event, so it inherits its whole clock. */
static void joins(cw_engine *e, uint32_t aid, const cw_aevent *ev, int co,
                  const uint8_t *whole) {
  ae_dx *x = e->dx;
  uint32_t l = 0;
  if (co && ev->kind == CW_AE_LOCK_ACQUIRE)
    l = cw__engine_lock(e, ev->object);
  int added = 0;
  for (uint32_t i = 0; i < ev->njoins; i++) {
    const cw_ae_join *j = &ev->joins[i];
    if (!j->actor || j->actor >= e->nactors || j->actor == aid)
      continue;
    if (!x->nlive)
      break;
    if (whole ? whole[i] : !co && e->actors[j->actor].counter == j->counter) {
      dc_now(e, j->actor);
      dc_join(x, DC_ACT, aid, DC_ACT, j->actor, l, 1);
      continue;
    }
    if (co && !l && !added)
      added = dc_below(x, DC_ACT, aid, j->actor, dx_cnt(e, j->counter));
    dc_raise(x, DC_ACT, aid, j->actor, dx_cnt(e, j->counter), l);
  }
  if (added)
    e->sum.early_orders++;
}

static void on_acquire(cw_engine *e, uint32_t aid, const cw_aevent *ev,
                       int co) {
  ae_dx *x = e->dx;
  ae_actor *a = &e->actors[aid];
  uint32_t l = cw__engine_lock(e, ev->object);
  int shared = (ev->flags & CW_AEF_SHARED) != 0;
  int requested = a->req_lock == l;
  if (!(ev->flags & CW_AEF_TRY) && (!requested || !a->req_edges))
    instance(e, aid, l, shared, ev);
  a->req_lock = 0;
  int joined = !co && x->nlive && l < x->capmulti && x->multi[l];
  if (joined) {
    dc_join(x, DC_ACT, aid, DC_RELX, l, l, 1);
    if (!shared && (x->multi[l] & 2))
      dc_join(x, DC_ACT, aid, DC_RELS, l, l, 1);
  }
  ae_held *h = held_of(a, l);
  if (!h) {
    AE_RESERVE(a->held, a->capheld, a->nheld + 1u);
    h = &a->held[a->nheld++];
    memset(h, 0, sizeof(*h));
    h->lock = l;
    h->shared = (uint8_t)shared;
  }
  if (joined) { /* the actor now covers the lock's release clock */
    h->covered = 1;
    h->relv = l < x->caprelv ? x->relv[l] : 0;
  }
  if (h->count++)
    return;
  a->lockset = AE_LS_STALE; /* interned when a request needs it */
}

static int on_release(cw_engine *e, uint32_t aid, const cw_aevent *ev, int co) {
  ae_dx *x = e->dx;
  ae_actor *a = &e->actors[aid];
  uint32_t l = ev->object < e->capof ? e->lock_of[ev->object] : 0;
  ae_held *h = l ? held_of(a, l) : NULL;
  if (!h)
    return -1;
  if (h->shared && l < x->capmulti)
    x->multi[l] |= 2;
  if (!co && x->nlive && l < x->capmulti && x->multi[l]) {
    int k = h->shared ? DC_RELS : DC_RELX;
    dc_now(e, aid);
    if (!h->shared) {
      cw__ae_index(&x->relv, &x->caprelv, l, sizeof(*x->relv));
      /* Nobody released it since the actor joined its clock: the clock
       * is below the actor's (in every column that reads it). */
      if (h->covered && h->relv == x->relv[l])
        dc_copy(x, k, l, DC_ACT, aid);
      else
        dc_join(x, k, l, DC_ACT, aid, l, 0);
      x->relv[l]++;
    } else {
      dc_join(x, k, l, DC_ACT, aid, l, 0);
    }
    dc_tight(x, k, l);
  }
  if (--h->count)
    return 0;
  *h = a->held[--a->nheld];
  a->lockset = AE_LS_STALE;
  return 0;
}

int cw__dx_event(cw_engine *e, uint32_t aid, const cw_aevent *ev,
                 const uint8_t *whole) {
  ae_dx *x = e->dx;
  ae_actor *a = &e->actors[aid];
  int co = (ev->flags & CW_AEF_CLOCK_ONLY) != 0;
  if (ev->njoins)
    joins(e, aid, ev, co, whole);
  if (!(++x->events & 0xffff)) /* cycles nobody requests on may be over */
    for (uint32_t ci = 0; ci < x->ncyc; ci++)
      if (!x->cyc[ci].done)
        sweep(e, ci);
  switch (ev->kind) {
  case CW_AE_LOCK_REQUEST: {
    uint32_t l = cw__engine_lock(e, ev->object);
    a->req_lock = l;
    a->req_edges = 0;
    if (!(ev->flags & CW_AEF_TRY)) {
      instance(e, aid, l, (ev->flags & CW_AEF_SHARED) != 0, ev);
      a->req_edges = 1;
    }
    return 0;
  }
  case CW_AE_LOCK_ACQUIRE:
    on_acquire(e, aid, ev, co);
    return 0;
  case CW_AE_LOCK_RELEASE:
    return on_release(e, aid, ev, co);
  case CW_AE_LOCK_TIMEOUT:
    if (ev->object < e->capof && e->lock_of[ev->object] == a->req_lock)
      a->req_lock = 0;
    return 0;
  case CW_AE_FORK:
  case CW_AE_JOIN:
    if (!co && x->nlive) {
      if (ev->kind == CW_AE_FORK) {
        dc_now(e, aid);
        dc_join(x, DC_ACT, ev->child, DC_ACT, aid, 0, 1);
      } else {
        dc_now(e, ev->child);
        dc_join(x, DC_ACT, aid, DC_ACT, ev->child, 0, 1);
      }
    }
    return 0;
  case CW_AE_ANN_RELEASE:
  case CW_AE_ANN_ACQUIRE:
    if (!co && x->nlive) {
      uint32_t ki = cw__engine_key(e, ev->object);
      if (ev->kind == CW_AE_ANN_RELEASE) {
        dc_now(e, aid);
        dc_join(x, DC_KEY, ki, DC_ACT, aid, 0, 1);
      } else {
        dc_join(x, DC_ACT, aid, DC_KEY, ki, 0, 1);
      }
    }
    return 0;
  case CW_AE_RETIRE:
    a->nheld = 0;
    a->lockset = 0;
    a->req_lock = 0;
    e->dead[aid] = 1;
    return 0;
  default:
    return 0;
  }
}

void cw__dx_free(cw_engine *e) {
  ae_dx *x = e->dx;
  if (!x)
    return;
  for (int k = 0; k < DC_KINDS; k++) {
    for (uint32_t i = 0; i < x->capc[k]; i++) {
      cw__ae_free(x->clk[k][i].actor);
      cw__ae_free(x->clk[k][i].c);
    }
    cw__ae_free(x->clk[k]);
  }
  for (uint32_t i = 0; i < x->caplsys; i++)
    cw__ae_free(x->lsys[i].v);
  cw__ae_free(x->lsys);
  cw__ae_free(x->mcol);
  cw__ae_free(x->save);
  cw__ae_free(x->relv);
  for (uint32_t i = 0; i < x->ncyc; i++) {
    for (uint32_t t = 0; t < (1u << DX_MAXC); t++)
      cw__ae_free(x->cyc[i].lst[t].v);
    for (uint32_t k = 0; k < DX_MAXC; k++)
      cw__ae_free(x->cyc[i].pa[k]);
  }
  cw__ae_free(x->freeent);
  cw__map_free(&x->pamap);
  cw__ae_free(x->cls);
  cw__map_free(&x->clsmap);
  cw__map_free(&x->grpmap);
  cw__ae_free(x->cyc);
  cw__ae_free(x->occ);
  cw__map_free(&x->occmap);
  cw__ae_free(x->sys);
  cw__ae_free(x->live);
  cw__ae_free(x->ent);
  cw__map_free(&x->entmap);
  cw__ae_free(x->multi);
  cw__ae_free(x);
  e->dx = NULL;
}
