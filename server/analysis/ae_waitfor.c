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

void cw__waitfor_request(cw_engine *e, uint32_t aid) {
  e->actors[aid].req_waiting = 1;
  wpath p;
  p.n = 1;
  p.actor[0] = aid;
  if (!search(e, &p))
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
