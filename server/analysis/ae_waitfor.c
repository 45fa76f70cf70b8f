/*
 * ae_waitfor.c: actual deadlocks, as cycles of the wait-for graph, and
 * the part of lock contention that depends on arrival order.
 *
 * DESIGN. An actor waits for another while its lock request overlaps in
 * time a hold of that lock by the other in a conflicting mode (the
 * exclusive owner, and for a write request every reader). A wait-for cycle
 * is a set of such waits that overlap at one instant: each actor waits for
 * a lock the next one holds. It is searched for in two ways.
 *
 * Standing cycles (live). As events are analysed, an actor whose request
 * finds the lock held, or whose outstanding request is passed by another
 * actor's acquire, is waiting (req_waiting) until it does anything else.
 * Outstanding requests are listed (preq, cleaned lazily), so a request
 * analysed before the conflicting acquire of another process's batch waits
 * too. A cycle among waiting actors and current holders is searched from
 * each new waiter, depth first, up to AE_MAX_WAIT actors, and reported
 * active at once: this is how a deadlock is shown while it lasts.
 *
 * Cycles in time. The collector analyses each process's batch when it
 * arrives, so a cycle that formed and ended (a timed wait gave up) between
 * two flushes is never standing in the analysis: whichever batch comes
 * second finds the other side's wait already over. Ended requests and
 * holds are therefore kept, bounded, with their intervals in wall-clock
 * time (the engine's event index without it): the last AE_WHIST_LOCK of
 * each lock and the last AE_WHIST_ACTOR requests of each actor. An open
 * request or hold is known to last until its actor's latest analysed
 * event, no further. Each time a wait appears in this record (a request
 * starts or ends, a hold that overlaps an ended request starts or ends),
 * the record is searched from it for waits whose intervals, intersected
 * along the path, stay non-empty (at most AE_SEARCH_STEPS steps). A cycle
 * found this way with a wait already over is reported inactive; one whose
 * waits are all open is left to the live search. So the same cycle is
 * found whatever order the processes' batches arrive in, as long as no
 * more than the ring sizes of later holds and requests pass in between.
 *
 * Reports. `ended` is how the earliest-ending wait of the cycle ended
 * (TIMEOUT: LOCK_TIMEOUT, a timed lock or an external lock that gave up;
 * LEFT: anything else), updated when a wait that was open at the report
 * ends earlier than the ones seen. A cycle with the same waits (actor and
 * request start) is reported once.
 *
 * Contention. An acquisition is contended when its request overlapped a
 * conflicting hold of another actor: found held, passed by another's
 * acquire, or overlapped by a hold analysed later (cw__contention_upgrade).
 */
#include "ae_internal.h"

#include <string.h>

#define AE_MAX_WAIT 16
#define AE_SEARCH_STEPS 4096

/* ---- Standing cycles ---------------------------------------------------- */

typedef struct wpath {
  uint32_t n;
  uint32_t actor[AE_MAX_WAIT];
} wpath;

static int blocker_list(const cw_engine *e, uint32_t aid, uint32_t *out,
                        uint32_t cap) {
  const ae_actor *a = &e->actors[aid];
  const ae_lock *l = &e->locks[a->req_lock];
  uint32_t n = 0;
  if (l->owner && l->owner != aid && n < cap)
    out[n++] = l->owner;
  if (!a->req_shared)
    for (uint32_t i = 0; i < l->nsh && n < cap; i++)
      if (l->sh[i] != aid)
        out[n++] = l->sh[i];
  return (int)n;
}

static int search_live(const cw_engine *e, wpath *p) {
  uint32_t cur = p->actor[p->n - 1];
  uint32_t b[AE_MAX_WAIT] = {0};
  int nb = blocker_list(e, cur, b, AE_MAX_WAIT);
  for (int i = 0; i < nb; i++) {
    if (b[i] == p->actor[0])
      return 1;
    if (p->n >= AE_MAX_WAIT || !e->actors[b[i]].req_waiting)
      continue;
    int seen = 0;
    for (uint32_t k = 0; k < p->n; k++)
      seen |= p->actor[k] == b[i];
    if (seen)
      continue;
    p->actor[p->n++] = b[i];
    if (search_live(e, p))
      return 1;
    p->n--;
  }
  return 0;
}

/* ---- Cycles in time ----------------------------------------------------- */

/* One wait on a path: `actor` requested `lock` during [from, to). */
typedef struct wnode {
  uint32_t actor, lock;
  uint8_t shared, how, open;
  int64_t from, to;   /* in time */
  int64_t pfrom, pto; /* in analysis order (engine index) */
  cw_sym loc;
  uint64_t seq;
} wnode;

typedef struct tpath {
  uint32_t n, steps;
  wnode w[AE_MAX_WAIT];
  cw_engine *e; /* where found cycles are reported */
} tpath;

static int64_t max64(int64_t a, int64_t b) {
  return a > b ? a : b;
}

static int64_t min64(int64_t a, int64_t b) {
  return a < b ? a : b;
}

/* The outstanding request of actor y as a path node. @return 0: none. */
static int open_request(const cw_engine *e, uint32_t y, wnode *out) {
  const ae_actor *a = &e->actors[y];
  if (!a->req_lock || a->req_gone || e->dead[y])
    return 0;
  out->actor = y;
  out->lock = a->req_lock;
  out->shared = a->req_shared;
  out->how = AE_WEND_LEFT;
  out->open = 1;
  out->from = a->req_wall;
  out->to = INT64_MAX;
  out->pfrom = a->req_idx;
  out->pto = INT64_MAX;
  out->loc = a->req_loc;
  out->seq = a->req_seq;
  return 1;
}

static void node_of(const ae_wrec *r, wnode *out) {
  out->actor = r->actor;
  out->lock = r->lock;
  out->shared = r->shared;
  out->how = r->how;
  out->open = 0;
  out->from = r->from;
  out->to = r->to;
  out->pfrom = r->pfrom;
  out->pto = r->pto;
  out->loc = r->loc;
  out->seq = r->seq;
}

/* Where the intervals on a path meet: in time [lo, hi), in analysis order
 * [plo, phi). */
typedef struct meet {
  int64_t lo, hi, plo, phi;
} meet;

static void search_time(const cw_engine *e, tpath *p, meet m);
static void report(cw_engine *e, uint32_t n, const wnode *w, int64_t formed);

/* m narrowed to the interval [from, to) (analysis order [pfrom, pto)).
 * @return 0 when they do not meet in time. */
static int narrow(meet *m, int64_t from, int64_t to, int64_t pfrom,
                  int64_t pto) {
  m->lo = max64(m->lo, from);
  m->hi = min64(m->hi, to);
  m->plo = max64(m->plo, pfrom);
  m->phi = min64(m->phi, pto);
  return m->lo < m->hi;
}

/* Holder y held the lock of the path's last wait during `h`: follow it
 * when that meets the path. A closed cycle is reported unless its waits
 * and holds all stood at once in the analysis: that one is the live
 * search's. */
static void via_holder(const cw_engine *e, tpath *p, uint32_t y, meet h,
                       meet m) {
  if (!narrow(&m, h.lo, h.hi, h.plo, h.phi) || ++p->steps > AE_SEARCH_STEPS)
    return;
  if (y == p->w[0].actor) {
    if (m.plo >= m.phi)
      report(p->e, p->n, p->w, m.lo);
    return;
  }
  if (p->n >= AE_MAX_WAIT)
    return;
  for (uint32_t k = 0; k < p->n; k++)
    if (p->w[k].actor == y)
      return;
  const ae_actor *a = &e->actors[y];
  wnode *next = &p->w[p->n];
  for (uint32_t i = 0; i <= a->nwr; i++) {
    if (i < a->nwr)
      node_of(&a->wr[i], next);
    else if (!open_request(e, y, next))
      break;
    meet mm = m;
    if (!narrow(&mm, next->from, next->to, next->pfrom, next->pto))
      continue;
    p->n++;
    search_time(e, p, mm);
    p->n--;
  }
}

/* @return 1 if a hold in mode `hold_sh` conflicts with a request in mode
 * `req_sh`. */
static int conflicts(int hold_sh, int req_sh) {
  return !hold_sh || !req_sh;
}

/* The open hold of lock l by actor y (lo is INT64_MAX when none). */
static meet held_now(const cw_engine *e, uint32_t y, uint32_t l) {
  const ae_actor *a = &e->actors[y];
  meet h = {INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX};
  for (uint32_t i = 0; i < a->nheld; i++)
    if (a->held[i].lock == l) {
      h.lo = a->held[i].acq_wall;
      h.plo = a->held[i].acq_idx;
    }
  return h;
}

/* Extends the path from its last wait, which meets the rest in m,
 * reporting every cycle it closes. */
static void search_time(const cw_engine *e, tpath *p, meet m) {
  const wnode *cur = &p->w[p->n - 1];
  uint32_t me = cur->actor, l = cur->lock;
  int shared = cur->shared;
  const ae_lock *lk = &e->locks[l];
  uint32_t nh = 1 + (shared ? 0 : lk->nsh);
  for (uint32_t i = 0; i < nh; i++) {
    uint32_t y = i ? lk->sh[i - 1] : lk->owner;
    if (y && y != me)
      via_holder(e, p, y, held_now(e, y, l), m);
  }
  for (uint32_t i = 0; lk->wh_hold_to > m.lo && i < lk->nwh; i++) {
    const ae_wrec *r = &lk->wh[i];
    meet h = {r->from, r->to, r->pfrom, r->pto};
    if (r->hold && r->actor != me && conflicts(r->shared, shared))
      via_holder(e, p, r->actor, h, m);
  }
}

/* ---- Reports ------------------------------------------------------------ */

static int dl_end(int how) {
  return how == AE_WEND_TIMEOUT ? CW_DL_TIMEOUT : CW_DL_LEFT;
}

/* @return 1 when a reported cycle, not withdrawn, has exactly these waits
 * (a request is its actor and when it began). */
static int known(const cw_engine *e, uint32_t n, const wnode *w) {
  for (uint32_t i = 0; i < e->nadl; i++) {
    const cw_deadlock *d = &e->adl[i];
    if (d->n != n || d->withdrawn)
      continue;
    uint32_t same = 0;
    for (uint32_t k = 0; k < d->n; k++)
      for (uint32_t j = 0; j < n; j++)
        same +=
            d->edges[k].actor == w[j].actor && e->adls[i].from[k] == w[j].from;
    if (same == n)
      return 1;
  }
  return 0;
}

/* Adds a cycle of n waits: w[i].actor requests w[i].lock, held by the next
 * actor (open: the wait has not ended). `formed`: when the last of its
 * waits and holds began, for a standing cycle (else INT64_MIN). */
static void report(cw_engine *e, uint32_t n, const wnode *w, int64_t formed) {
  if (known(e, n, w))
    return;
  AE_RESERVE(e->adl, e->capadl, e->nadl + 1u);
  AE_RESERVE(e->adls, e->capadls, e->nadl + 1u);
  uint32_t di = e->nadl++;
  cw_deadlock *d = &e->adl[di];
  ae_adl_state *st = &e->adls[di];
  cw_cycle_edge *ed = cw__ae_calloc(n, sizeof(*ed));
  st->from = cw__ae_calloc(n, sizeof(*st->from));
  st->open = 0;
  st->end = INT64_MAX;
  st->formed = formed;
  int how = CW_DL_STANDING;
  for (uint32_t i = 0; i < n; i++) {
    const wnode *prev = &w[(i + n - 1) % n];
    ed[i].actor = w[i].actor;
    ed[i].held = e->locks[prev->lock].sym;
    ed[i].requested = e->locks[w[i].lock].sym;
    ed[i].loc = w[i].loc;
    ed[i].seq = w[i].seq;
    st->from[i] = w[i].from;
    if (w[i].open) {
      st->open |= 1u << i;
    } else if (w[i].to < st->end) {
      st->end = w[i].to;
      how = dl_end(w[i].how);
    }
  }
  d->n = n;
  d->edges = ed;
  d->actual = 1;
  d->active = how == CW_DL_STANDING;
  d->ended = how;
  d->withdrawn = 0;
  if (st->open)
    e->nopen_dl++;
  if (d->active)
    e->nactive++;
}

/* A standing cycle from the new waiter aid. */
static void find_live(cw_engine *e, uint32_t aid) {
  wpath p;
  p.n = 1;
  p.actor[0] = aid;
  if (!search_live(e, &p))
    return;
  wnode w[AE_MAX_WAIT];
  int64_t formed = INT64_MIN;
  for (uint32_t i = 0; i < p.n; i++)
    if (!open_request(e, p.actor[i], &w[i]))
      return;
  for (uint32_t i = 0; i < p.n; i++) {
    formed = max64(formed, w[i].from);
    meet h = held_now(e, w[(i + 1) % p.n].actor, w[i].lock);
    if (h.lo != INT64_MAX)
      formed = max64(formed, h.lo);
  }
  report(e, p.n, w, formed);
}

/* The cycles in time through wait w that never stood in the analysis. */
static void find_time(cw_engine *e, const wnode *w) {
  tpath p;
  p.n = 1;
  p.steps = 0;
  p.w[0] = *w;
  p.e = e;
  meet m = {w->from, w->to, w->pfrom, w->pto};
  search_time(e, &p, m);
}

/* ---- Hooks -------------------------------------------------------------- */

/* A slot for a new record in a ring of at most `max`, grown on demand:
 * the oldest record's once full. */
static ae_wrec *ring_push(ae_wrec **ring, uint8_t *n, uint8_t *next,
                          uint8_t *cap, uint32_t max) {
  if (*n < max) {
    if (*n == *cap) {
      uint32_t nc = *cap ? *cap * 2u : 2u;
      nc = nc < max ? nc : max;
      *ring = cw__ae_realloc(*ring, nc * sizeof(**ring));
      *cap = (uint8_t)nc;
    }
    ae_wrec *r = &(*ring)[(*n)++];
    *next = (uint8_t)(*n % max);
    return r;
  }
  ae_wrec *r = &(*ring)[*next];
  *next = (uint8_t)((*next + 1u) % max);
  return r;
}

void cw__waitfor_request(cw_engine *e, uint32_t aid) {
  ae_actor *a = &e->actors[aid];
  if (!a->req_listed) {
    AE_RESERVE(e->preq, e->cappreq, e->npreq + 1u);
    e->preq[e->npreq++] = aid;
    a->req_listed = 1;
  }
  if (cw__lock_blocks(e, a->req_lock, aid, a->req_shared)) {
    a->req_waiting = 1;
    find_live(e, aid);
  }
  wnode w;
  if (open_request(e, aid, &w))
    find_time(e, &w);
}

/* An ended request r overlapped a hold of its lock by another actor: it
 * waited, so its acquisition is contended, and a cycle may pass there. */
static void overlapped(cw_engine *e, ae_wrec *r) {
  if (r->how == AE_WEND_ACQUIRED && !r->contended) {
    r->contended = 1;
    cw__contention_upgrade(e, &e->locks[r->lock], r->site, r->wait);
  }
  wnode w;
  node_of(r, &w);
  find_time(e, &w);
}

int cw__waitfor_contended(const cw_engine *e, uint32_t aid, int64_t at) {
  const ae_actor *a = &e->actors[aid];
  int64_t r0 = a->req_wall, r1 = at > r0 ? at : r0 + 1;
  const ae_lock *lk = &e->locks[a->req_lock];
  uint32_t nh = 1 + (a->req_shared ? 0 : lk->nsh);
  for (uint32_t i = 0; i < nh; i++) {
    /* A current hold began inside the request, or is known to have lasted
     * into it (its holder did something since); otherwise its release
     * decides (cw__waitfor_hold_end). */
    uint32_t y = i ? lk->sh[i - 1] : lk->owner;
    int64_t h0 = y && y != aid ? held_now(e, y, a->req_lock).lo : INT64_MAX;
    if (h0 < r1 && (h0 >= r0 || e->actors[y].last_wall >= r0))
      return 1;
  }
  for (uint32_t i = 0; lk->wh_hold_to > r0 && i < lk->nwh; i++) {
    const ae_wrec *r = &lk->wh[i];
    if (r->hold && r->actor != aid && r->from < r1 && r->to > r0 &&
        conflicts(r->shared, a->req_shared))
      return 1;
  }
  return 0;
}

void cw__waitfor_acquired(cw_engine *e, uint32_t aid, const ae_held *held,
                          int64_t at) {
  const uint32_t l = held->lock;
  const int sh = held->shared;
  for (uint32_t i = 0; i < e->npreq;) {
    uint32_t w = e->preq[i];
    ae_actor *a = &e->actors[w];
    if (!a->req_lock || a->req_gone) { /* the request ended: drop it */
      a->req_listed = 0;
      e->preq[i] = e->preq[--e->npreq];
      continue;
    }
    i++;
    if (w == aid || a->req_lock != l || a->req_waiting ||
        !cw__lock_blocks(e, l, w, a->req_shared))
      continue;
    /* Passed by this acquire: it waits for the new holder. */
    a->req_waiting = 1;
    find_live(e, w);
  }
  /* Ended requests that were waiting when this hold began. */
  ae_lock *lk = &e->locks[l];
  for (uint32_t i = 0; lk->wh_req_to > at && i < lk->nwh; i++) {
    ae_wrec *r = &lk->wh[i];
    if (!r->hold && r->actor != aid && r->from <= at && r->to > at &&
        conflicts(sh, r->shared))
      overlapped(e, r);
  }
}

void cw__waitfor_hold_end(cw_engine *e, uint32_t aid, const ae_held *h,
                          int64_t at) {
  ae_lock *lk = &e->locks[h->lock];
  int shared = h->shared;
  int64_t from = h->acq_wall, to = at > from ? at : from + 1;
  ae_wrec *r =
      ring_push(&lk->wh, &lk->nwh, &lk->whnext, &lk->capwh, AE_WHIST_LOCK);
  memset(r, 0, sizeof(*r));
  r->actor = aid;
  r->lock = h->lock;
  r->hold = 1;
  r->shared = (uint8_t)shared;
  r->from = from;
  r->to = to;
  r->pfrom = h->acq_idx;
  r->pto = (int64_t)e->index;
  lk->wh_hold_to = max64(lk->wh_hold_to, to);
  /* Ended requests that began inside this hold (those it began inside
   * were seen at the acquire). */
  for (uint32_t i = 0; lk->wh_req_to > from && i < lk->nwh; i++) {
    ae_wrec *q = &lk->wh[i];
    if (!q->hold && q->actor != aid && q->from > from && q->from < to &&
        conflicts(shared, q->shared))
      overlapped(e, q);
  }
}

/* Withdraws deadlock i: a standing cycle whose wait ended before it
 * formed. It keeps its slot, so the indices of later deadlocks (links,
 * marks) stay what they were; every list and count leaves it out. */
static void withdraw(cw_engine *e, uint32_t i) {
  e->adl[i].withdrawn = 1;
  e->adl[i].active = 0;
  e->adls[i].open = 0;
  e->nwithdrawn++;
}

/* The actor's outstanding request ended at `at`: the cycles it was in end. */
static void wait_end(cw_engine *e, uint32_t aid, int how, int64_t at) {
  e->actors[aid].req_waiting = 0;
  if (!e->nopen_dl)
    return;
  for (uint32_t i = 0; i < e->nadl; i++) {
    ae_adl_state *st = &e->adls[i];
    if (!st->open)
      continue;
    cw_deadlock *d = &e->adl[i];
    for (uint32_t k = 0; k < d->n; k++) {
      if (d->edges[k].actor != aid || !(st->open & (1u << k)))
        continue;
      st->open &= ~(1u << k);
      if (!st->open)
        e->nopen_dl--;
      if (at <= st->formed) {
        /* It stood in the analysis only: this wait was over before the
         * cycle's last wait began (batches analysed out of time order). */
        if (st->open)
          e->nopen_dl--;
        e->nactive -= (uint32_t)d->active;
        withdraw(e, i);
      } else if (d->active) {
        d->active = 0;
        e->nactive--;
        d->ended = how;
        st->end = at;
      } else if (at < st->end) {
        d->ended = how;
        st->end = at;
      }
      break;
    }
  }
}

void cw__waitfor_req_end(cw_engine *e, uint32_t aid, int how, int64_t at,
                         int contended, cw_sym site, uint64_t wait) {
  ae_actor *a = &e->actors[aid];
  ae_lock *lk = &e->locks[a->req_lock];
  ae_wrec rec;
  memset(&rec, 0, sizeof(rec));
  rec.actor = aid;
  rec.lock = a->req_lock;
  rec.shared = a->req_shared;
  rec.how = (uint8_t)how;
  rec.from = a->req_wall;
  rec.to = at > a->req_wall ? at : a->req_wall + 1;
  rec.pfrom = a->req_idx;
  rec.pto = (int64_t)e->index;
  rec.loc = a->req_loc;
  rec.site = site;
  rec.seq = a->req_seq;
  rec.wait = wait;
  rec.contended = (uint8_t)(contended != 0);
  *ring_push(&lk->wh, &lk->nwh, &lk->whnext, &lk->capwh, AE_WHIST_LOCK) = rec;
  lk->wh_req_to = max64(lk->wh_req_to, rec.to);
  *ring_push(&a->wr, &a->nwr, &a->wrnext, &a->capwr, AE_WHIST_ACTOR) = rec;
  wait_end(e, aid, dl_end(how), at);
  wnode w;
  node_of(&rec, &w);
  find_time(e, &w);
}

void cw__waitfor_free(cw_engine *e) {
  for (uint32_t i = 0; i < e->nadl; i++) {
    cw__ae_free((void *)e->adl[i].edges);
    cw__ae_free(e->adls[i].from);
  }
  cw__ae_free(e->adl);
  cw__ae_free(e->adls);
  cw__ae_free(e->preq);
  for (uint32_t i = 1; i < e->nlocks; i++)
    cw__ae_free(e->locks[i].wh);
  for (uint32_t i = 1; i < e->nactors; i++)
    cw__ae_free(e->actors[i].wr);
}

const char *cw__deadlock_end_name(int ended) {
  switch (ended) {
  case CW_DL_TIMEOUT:
    return "timeout";
  case CW_DL_LEFT:
    return "left";
  default:
    return NULL;
  }
}
