/*
 * ae_waitfor.c: actual deadlocks, as cycles of the wait-for graph.
 *
 * DESIGN. An actor waits when its LOCK_REQUEST finds the lock held by
 * another actor in a conflicting mode; it waits for every such holder (the
 * exclusive owner, and for a write request every reader). A wait-for cycle
 * can only close when an actor starts waiting (an actor that acquires is
 * not waiting), so the graph is searched from the new waiter only, depth
 * first, up to AE_MAX_WAIT actors. A found cycle is reported at once with
 * active = 1 and stays in the list; it turns inactive when any of its
 * actors stops waiting, with `ended` saying how: a timeout (LOCK_TIMEOUT:
 * a timed lock or an external lock that gave up) or any other way out.
 * Timed requests (TRY) wait like any other request.
 *
 * Arrival order. Batches of several processes reach the collector in any
 * order, so an acquire can be analysed after a request it blocks (a
 * database row lock taken by service a before service b asked for it,
 * with b's batch first). Outstanding requests are therefore listed (preq,
 * cleaned lazily: an entry whose request ended is dropped at the next
 * scan), and an acquire makes every listed request for the same lock that
 * it blocks wait for the new holder (contention still counts what the
 * request found), searching for a cycle from it. A still-outstanding request
 * blocked by a holder is waiting whichever arrived first, so the wait-for graph
 * after a batch set does not depend on the order the batches came in. A cycle
 * already standing with the same actors is not reported twice.
 */
#include "ae_internal.h"

#include <string.h>

#define AE_MAX_WAIT 16

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

static int search(const cw_engine *e, wpath *p) {
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
    if (search(e, p))
      return 1;
    p->n--;
  }
  return 0;
}

/* @return 1 when an active deadlock has exactly the actors of p. */
static int standing(const cw_engine *e, const wpath *p) {
  for (uint32_t i = 0; i < e->nadl; i++) {
    const cw_deadlock *d = &e->adl[i];
    if (!d->active || d->n != p->n)
      continue;
    uint32_t same = 0;
    for (uint32_t k = 0; k < d->n; k++)
      for (uint32_t j = 0; j < p->n; j++)
        same += d->edges[k].actor == p->actor[j];
    if (same == p->n)
      return 1;
  }
  return 0;
}

void cw__waitfor_request(cw_engine *e, uint32_t aid) {
  e->actors[aid].req_waiting = 1;
  wpath p;
  p.n = 1;
  p.actor[0] = aid;
  if (!search(e, &p) || standing(e, &p))
    return;
  AE_RESERVE(e->adl, e->capadl, e->nadl + 1u);
  cw_deadlock *d = &e->adl[e->nadl++];
  cw_cycle_edge *ed = cw__ae_calloc(p.n, sizeof(*ed));
  for (uint32_t i = 0; i < p.n; i++) {
    const ae_actor *a = &e->actors[p.actor[i]];
    const ae_actor *prev = &e->actors[p.actor[(i + p.n - 1) % p.n]];
    ed[i].actor = p.actor[i];
    ed[i].held = e->locks[prev->req_lock].sym;
    ed[i].requested = e->locks[a->req_lock].sym;
    ed[i].loc = a->req_loc;
    ed[i].seq = a->req_seq;
  }
  d->n = p.n;
  d->edges = ed;
  d->actual = 1;
  d->active = 1;
  d->ended = CW_DL_STANDING;
  e->nactive++;
}

void cw__waitfor_note(cw_engine *e, uint32_t aid) {
  ae_actor *a = &e->actors[aid];
  if (a->req_listed || !a->req_lock)
    return;
  AE_RESERVE(e->preq, e->cappreq, e->npreq + 1u);
  e->preq[e->npreq++] = aid;
  a->req_listed = 1;
}

void cw__waitfor_acquired(cw_engine *e, uint32_t aid, uint32_t l) {
  for (uint32_t i = 0; i < e->npreq;) {
    uint32_t w = e->preq[i];
    ae_actor *a = &e->actors[w];
    if (!a->req_lock) { /* the request ended: drop it */
      a->req_listed = 0;
      e->preq[i] = e->preq[--e->npreq];
      continue;
    }
    i++;
    if (w == aid || a->req_lock != l || a->req_waiting || a->req_gone ||
        !cw__lock_blocks(e, l, w, a->req_shared))
      continue;
    cw__waitfor_request(e, w);
  }
}

void cw__waitfor_end(cw_engine *e, uint32_t aid, int how) {
  e->actors[aid].req_waiting = 0;
  if (!e->nactive)
    return;
  for (uint32_t i = 0; i < e->nadl; i++) {
    cw_deadlock *d = &e->adl[i];
    if (!d->active)
      continue;
    for (uint32_t k = 0; k < d->n; k++) {
      if (d->edges[k].actor == aid) {
        d->active = 0;
        d->ended = how;
        e->nactive--;
        break;
      }
    }
  }
}

void cw__waitfor_free(cw_engine *e) {
  for (uint32_t i = 0; i < e->nadl; i++)
    cw__ae_free((void *)e->adl[i].edges);
  cw__ae_free(e->adl);
  cw__ae_free(e->preq);
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
