/*
 * ae_engine.c: the engine core. Symbols, actors, locksets, the event
 * dispatcher with its happens-before bookkeeping, and the hold-back queue
 * for events that arrive before their clock sources.
 *
 * DESIGN. Each actor carries two vector clocks. `c` is full happens-before:
 * program order, lock release -> later acquire (rwlock modes), fork, join,
 * annotations and explicit joins. `n`, the sync clock, is the same except
 * that release -> acquire edges of *nested* locks (locks that were ever
 * held while another lock was requested) are left out; potential deadlocks
 * are checked for concurrency under `n` (see ae_lockgraph.c and
 * docs/detection.md). Events whose explicit joins name counters the engine
 * has not processed yet are queued per actor, in program order, and
 * released as soon as the named events have been processed; max_pending
 * bounds the queue (the oldest event is then released, counted as forced).
 */
#include "ae_internal.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_PENDING 65536u

/* ---- Symbols ------------------------------------------------------------ */

static void symtab_insert(cw_engine *e, uint32_t sym) {
  size_t mask = e->symcap - 1;
  size_t i = cw__hash_bytes(e->strs[sym], e->lens[sym]) & mask;
  while (e->symtab[i])
    i = (i + 1) & mask;
  e->symtab[i] = sym;
}

cw_sym cw__engine_intern(cw_engine *e, const char *s, size_t len) {
  if (!e || !s || len > UINT32_MAX)
    return 0;
  if ((size_t)(e->nsyms + 1) * 2 > e->symcap) {
    cw__ae_free(e->symtab);
    e->symcap = e->symcap ? e->symcap * 2 : 256;
    e->symtab = cw__ae_calloc(e->symcap, sizeof(*e->symtab));
    for (uint32_t k = 1; k < e->nsyms; k++)
      symtab_insert(e, k);
  }
  size_t mask = e->symcap - 1;
  size_t i = cw__hash_bytes(s, len) & mask;
  for (; e->symtab[i]; i = (i + 1) & mask) {
    uint32_t k = e->symtab[i];
    if (e->lens[k] == len && memcmp(e->strs[k], s, len) == 0)
      return k;
  }
  AE_RESERVE(e->strs, e->capsyms, e->nsyms + 1u);
  e->lens = cw__ae_realloc(e->lens, e->capsyms * sizeof(*e->lens));
  char *copy = cw__ae_alloc(len + 1);
  if (len)
    memcpy(copy, s, len);
  copy[len] = '\0';
  uint32_t sym = e->nsyms++;
  e->strs[sym] = copy;
  e->lens[sym] = (uint32_t)len;
  e->symtab[i] = sym;
  return sym;
}

const char *cw__engine_str(const cw_engine *e, cw_sym sym) {
  if (!e || sym == 0 || sym >= e->nsyms)
    return "";
  return e->strs[sym];
}

/* Makes the per-symbol maps cover every symbol. */
static void ensure_of(cw_engine *e) {
  if (e->capof >= e->nsyms)
    return;
  size_t old = e->capof, cap = old ? old : 256;
  while (cap < e->nsyms)
    cap *= 2;
  uint32_t **maps[] = {&e->var_of, &e->lock_of, &e->key_of, &e->actor_of};
  for (size_t m = 0; m < sizeof(maps) / sizeof(maps[0]); m++) {
    *maps[m] = cw__ae_realloc(*maps[m], cap * sizeof(uint32_t));
    memset(*maps[m] + old, 0, (cap - old) * sizeof(uint32_t));
  }
  e->capof = cap;
}

/* ---- Engine ------------------------------------------------------------- */

cw_engine *cw__engine_new(const cw_engine_config *cfg) {
  cw_engine *e = cw__ae_calloc(1, sizeof(*e));
  e->cfg.size = sizeof(e->cfg);
  if (cfg) {
    size_t n =
        cfg->size && cfg->size < sizeof(e->cfg) ? cfg->size : sizeof(e->cfg);
    memcpy(&e->cfg, cfg, n);
    e->cfg.size = sizeof(e->cfg);
  }
  if (!e->cfg.max_pending)
    e->cfg.max_pending = DEFAULT_MAX_PENDING;
  cw__anomaly_defaults(&e->cfg);
  e->two_pass = e->cfg.two_pass != 0;
  /* Symbol 0 is "". */
  e->capsyms = 256;
  e->strs = cw__ae_alloc(e->capsyms * sizeof(*e->strs));
  e->lens = cw__ae_alloc(e->capsyms * sizeof(*e->lens));
  e->strs[0] = cw__ae_calloc(1, 1);
  e->lens[0] = 0;
  e->nsyms = 1;
  e->symcap = 512;
  e->symtab = cw__ae_calloc(e->symcap, sizeof(*e->symtab));
  /* Entity 0 of each kind is unused; lockset 0 is the empty set. */
  AE_RESERVE(e->actors, e->capactors, 1u);
  memset(&e->actors[0], 0, sizeof(e->actors[0]));
  e->dead = cw__ae_calloc(e->capactors, 1);
  e->nactors = 1;
  AE_RESERVE(e->vars, e->capvars, 1u);
  e->nvars = 1;
  AE_RESERVE(e->locks, e->caplocks, 1u);
  memset(&e->locks[0], 0, sizeof(e->locks[0]));
  e->nlocks = 1;
  AE_RESERVE(e->keys, e->capkeys, 1u);
  e->nkeys = 1;
  AE_RESERVE(e->lsets, e->caplsets, 1u);
  memset(&e->lsets[0], 0, sizeof(e->lsets[0]));
  e->nlsets = 1;
  return e;
}

void cw__engine_free(cw_engine *e) {
  if (!e)
    return;
  cw__race_free(e);
  cw__lockgraph_free(e);
  cw__dx_free(e);
  cw__rec_free(e);
  cw__waitfor_free(e);
  cw__contention_free(e);
  cw__critpath_free(e);
  cw__anomaly_free(e);
  for (uint32_t i = 1; i < e->nactors; i++) {
    ae_actor *a = &e->actors[i];
    cw__race_actor_free(a);
    cw__vc_free(&a->c);
    cw__vc_free(&a->n);
    cw__ae_free(a->held);
    for (uint32_t k = 0; k < a->pq_n; k++)
      cw__ae_free(a->pq[(a->pq_head + k) % a->pq_cap].joins);
    cw__ae_free(a->pq);
  }
  cw__ae_free(e->actors);
  cw__ae_free(e->dead);
  for (uint32_t i = 1; i < e->nlocks; i++) {
    ae_lock *l = &e->locks[i];
    cw__vc_free(&l->rel_x);
    cw__vc_free(&l->rel_s);
    cw__vc_free(&l->nrel_x);
    cw__vc_free(&l->nrel_s);
    cw__ae_free(l->sh);
    cw__ae_free(l->out);
  }
  cw__ae_free(e->locks);
  for (uint32_t i = 1; i < e->nkeys; i++) {
    cw__vc_free(&e->keys[i].rel);
    cw__vc_free(&e->keys[i].nrel);
  }
  cw__ae_free(e->keys);
  for (uint32_t i = 1; i < e->nlsets; i++) {
    cw__ae_free(e->lsets[i].syms);
    cw__ae_free(e->lsets[i].shared);
  }
  cw__ae_free(e->lsets);
  cw__map_free(&e->lsmap);
  cw__ae_free(e->lstmp);
  cw__ae_free(e->lstmp_sh);
  cw__ae_free(e->blocked);
  for (uint32_t i = 0; i < e->nsyms; i++)
    cw__ae_free(e->strs[i]);
  cw__ae_free(e->strs);
  cw__ae_free(e->lens);
  cw__ae_free(e->symtab);
  cw__ae_free(e->var_of);
  cw__ae_free(e->lock_of);
  cw__ae_free(e->key_of);
  cw__ae_free(e->actor_of);
  cw__ae_free(e);
}

/* ---- Actors ------------------------------------------------------------- */

cw_actor_id cw__engine_actor(cw_engine *e, cw_sym name, cw_sym service) {
  if (name == 0 || name >= e->nsyms)
    return 0;
  ensure_of(e);
  if (e->actor_of[name]) {
    ae_actor *a = &e->actors[e->actor_of[name]];
    if (!a->service)
      a->service = service;
    return e->actor_of[name];
  }
  size_t oldcap = e->capactors;
  AE_RESERVE(e->actors, e->capactors, e->nactors + 1u);
  if (e->capactors != oldcap) {
    e->dead = cw__ae_realloc(e->dead, e->capactors);
    memset(e->dead + oldcap, 0, e->capactors - oldcap);
  }
  uint32_t id = e->nactors++;
  memset(&e->actors[id], 0, sizeof(e->actors[id]));
  e->actors[id].name = name;
  e->actors[id].service = service;
  e->actor_of[name] = id;
  return id;
}

cw_sym cw__engine_actor_name(const cw_engine *e, cw_actor_id a) {
  return (a && a < e->nactors) ? e->actors[a].name : 0;
}

cw_sym cw__engine_actor_service(const cw_engine *e, cw_actor_id a) {
  return (a && a < e->nactors) ? e->actors[a].service : 0;
}

/* ---- Locksets ----------------------------------------------------------- */

/* @return the interned id of the actor's current set of held locks. */
uint32_t cw__engine_lockset_of(cw_engine *e, const ae_actor *a) {
  uint32_t n = a->nheld;
  if (!n)
    return 0;
  cw__engine_lockset_room(e, n);
  /* Insertion sort by symbol: held sets are tiny. */
  for (uint32_t i = 0; i < n; i++) {
    cw_sym s = e->locks[a->held[i].lock].sym;
    uint8_t sh = a->held[i].shared;
    uint32_t j = i;
    while (j > 0 && e->lstmp[j - 1] > s) {
      e->lstmp[j] = e->lstmp[j - 1];
      e->lstmp_sh[j] = e->lstmp_sh[j - 1];
      j--;
    }
    e->lstmp[j] = s;
    e->lstmp_sh[j] = sh;
  }
  return cw__engine_lockset_intern(e, n);
}

void cw__engine_lockset_room(cw_engine *e, uint32_t n) {
  AE_RESERVE(e->lstmp, e->caplstmp, n);
  e->lstmp_sh = cw__ae_realloc(e->lstmp_sh, e->caplstmp);
}

uint32_t cw__engine_lockset_intern(cw_engine *e, uint32_t n) {
  if (!n)
    return 0;
  uint64_t h = cw__hash_bytes(e->lstmp, n * sizeof(cw_sym)) ^
               (cw__hash_bytes(e->lstmp_sh, n) * 31u);
  uint32_t *first = cw__map_get(&e->lsmap, h, 0);
  for (uint32_t id = first ? *first - 1 : 0; id; id = e->lsets[id].next) {
    ae_lockset *ls = &e->lsets[id];
    if (ls->n == n && !memcmp(ls->syms, e->lstmp, n * sizeof(cw_sym)) &&
        !memcmp(ls->shared, e->lstmp_sh, n))
      return id;
  }
  AE_RESERVE(e->lsets, e->caplsets, e->nlsets + 1u);
  uint32_t id = e->nlsets++;
  ae_lockset *ls = &e->lsets[id];
  ls->n = n;
  ls->syms = cw__ae_alloc(n * sizeof(cw_sym));
  ls->shared = cw__ae_alloc(n);
  memcpy(ls->syms, e->lstmp, n * sizeof(cw_sym));
  memcpy(ls->shared, e->lstmp_sh, n);
  ls->hash = h;
  ls->next = first ? *first - 1 : 0;
  if (first)
    *first = id + 1;
  else
    cw__map_put(&e->lsmap, h, 0, id, NULL);
  return id;
}

/* ---- Locks and keys ----------------------------------------------------- */

uint32_t cw__engine_lock(cw_engine *e, cw_sym sym) {
  ensure_of(e);
  if (!e->lock_of[sym]) {
    AE_RESERVE(e->locks, e->caplocks, e->nlocks + 1u);
    memset(&e->locks[e->nlocks], 0, sizeof(e->locks[0]));
    e->locks[e->nlocks].sym = sym;
    e->lock_of[sym] = e->nlocks++;
  }
  return e->lock_of[sym];
}

uint32_t cw__engine_key(cw_engine *e, cw_sym sym) {
  ensure_of(e);
  if (!e->key_of[sym]) {
    AE_RESERVE(e->keys, e->capkeys, e->nkeys + 1u);
    memset(&e->keys[e->nkeys], 0, sizeof(e->keys[0]));
    e->key_of[sym] = e->nkeys++;
  }
  return e->key_of[sym];
}

uint32_t cw__engine_var(cw_engine *e, cw_sym sym) {
  ensure_of(e);
  if (!e->var_of[sym]) {
    AE_RESERVE(e->vars, e->capvars, e->nvars + 1u);
    memset(&e->vars[e->nvars], 0, sizeof(e->vars[0]));
    e->vars[e->nvars].sym = sym;
    AE_RESERVE(e->var_syms, e->capvarsyms, e->nvars);
    e->var_syms[e->nvars - 1] = sym;
    e->var_of[sym] = e->nvars++;
  }
  return e->var_of[sym];
}

int cw__lock_blocks(const cw_engine *e, uint32_t l, uint32_t aid, int shared) {
  const ae_lock *lk = &e->locks[l];
  if (lk->owner && lk->owner != aid)
    return 1;
  if (!shared)
    for (uint32_t i = 0; i < lk->nsh; i++)
      if (lk->sh[i] != aid)
        return 1;
  return 0;
}

static ae_held *find_held(ae_actor *a, uint32_t l) {
  for (uint32_t i = 0; i < a->nheld; i++)
    if (a->held[i].lock == l)
      return &a->held[i];
  return NULL;
}

static void on_request(cw_engine *e, uint32_t aid, const cw_aevent *ev,
                       int64_t ts, int64_t wt) {
  ae_actor *a = &e->actors[aid];
  uint32_t l = cw__engine_lock(e, ev->object);
  int shared = (ev->flags & CW_AEF_SHARED) != 0;
  a->req_lock = l;
  a->req_shared = (uint8_t)shared;
  a->req_loc = ev->loc;
  a->req_seq = ev->seq;
  a->req_ts = ts;
  a->req_wall = wt;
  a->req_idx = (int64_t)e->index;
  a->req_open = ev->ts_ns != 0; /* its wait is measured (anomalies) */
  a->req_edges = 0;
  a->req_waiting = 0;
  a->req_gone = 0;
  if (!(ev->flags & CW_AEF_TRY)) {
    cw__lockgraph_request(e, aid, l, shared, ev->loc, ev->seq);
    a->req_edges = 1;
  }
  /* A timed request (TRY) waits too: it is in the wait-for graph until it
   * gets the lock or gives up (LOCK_TIMEOUT). */
  cw__waitfor_request(e, aid);
}

/* @return 1 when acquiring lk brings another actor's events into aid's
 * sync clock (a lock edge that can order requests). */
static int orders_from_other(const cw_engine *e, uint32_t aid,
                             const ae_lock *lk, int shared, int clock_only,
                             const cw_ae_join *j, uint32_t nj) {
  const ae_actor *a = &e->actors[aid];
  if (clock_only) {
    for (uint32_t i = 0; i < nj; i++)
      if (j[i].actor != aid && j[i].counter > cw__vc_get(&a->n, j[i].actor))
        return 1;
    return 0;
  }
  const ae_vc *src[2] = {&lk->nrel_x, shared ? NULL : &lk->nrel_s};
  for (int s = 0; s < 2; s++)
    for (uint32_t i = 0; src[s] && i < src[s]->n; i++)
      if (src[s]->e[i].actor != aid &&
          src[s]->e[i].c > cw__vc_get(&a->n, src[s]->e[i].actor))
        return 1;
  return 0;
}

static void on_acquire(cw_engine *e, uint32_t aid, const cw_aevent *ev,
                       int64_t ts, int64_t wt, int clock_only) {
  ae_actor *a = &e->actors[aid];
  uint32_t l = cw__engine_lock(e, ev->object);
  ae_lock *lk = &e->locks[l];
  int shared = (ev->flags & CW_AEF_SHARED) != 0;
  int requested = a->req_lock == l;
  if (!requested && !(ev->flags & CW_AEF_TRY))
    cw__lockgraph_request(e, aid, l, shared, ev->loc, ev->seq);
  else if (requested && !a->req_edges && !(ev->flags & CW_AEF_TRY))
    cw__lockgraph_request(e, aid, l, shared, ev->loc, ev->seq);
  uint64_t wait = 0;
  int contended = 0;
  cw_sym site = ev->loc;
  if (requested) {
    wait = ts > a->req_ts ? (uint64_t)(ts - a->req_ts) : 0;
    contended = cw__waitfor_contended(e, aid, wt);
    if (a->req_loc)
      site = a->req_loc;
    if (a->req_open) {
      a->req_open = 0;
      cw__anomaly_lock_wait(e, aid, lk->sym, wait);
    }
    if (!a->req_gone)
      cw__waitfor_req_end(e, aid, AE_WEND_ACQUIRED, wt, contended, site, wait);
  }
  a->req_lock = 0;
  if (!lk->first_owner)
    lk->first_owner = aid;
  else if (lk->first_owner != aid)
    lk->multi = 1;
  cw__contention_acquire(e, lk, site, contended, wait);
  /* Two-pass engines keep no sync clocks: nothing ever nests there. */
  if (!e->two_pass && !lk->nested && !lk->early_ho)
    lk->early_ho = (uint8_t)orders_from_other(e, aid, lk, shared, clock_only,
                                              ev->joins, ev->njoins);
  if (lk->nested) /* the edge is left out of sync clocks: remember it */
    cw__lockgraph_handoff(e, aid, l, clock_only ? NULL : &lk->nrel_x,
                          clock_only || shared ? NULL : &lk->nrel_s,
                          clock_only ? ev->joins : NULL,
                          clock_only ? ev->njoins : 0);
  if (clock_only && !lk->nested && !e->two_pass) {
    for (uint32_t i = 0; i < ev->njoins; i++) {
      const cw_ae_join *j = &ev->joins[i];
      if (j->actor && j->actor < e->nactors && !e->dead[j->actor] &&
          j->actor != aid)
        cw__vc_raise(&a->n, j->actor, j->counter);
    }
  }
  if (!clock_only) {
    cw__vc_join(&a->c, &lk->rel_x, e->dead);
    if (!shared)
      cw__vc_join(&a->c, &lk->rel_s, e->dead);
    if (!lk->nested && !e->two_pass) {
      cw__vc_join(&a->n, &lk->nrel_x, e->dead);
      if (!shared)
        cw__vc_join(&a->n, &lk->nrel_s, e->dead);
    }
  }
  ae_held *h = find_held(a, l);
  if (h) {
    h->count++;
    return;
  }
  AE_RESERVE(a->held, a->capheld, a->nheld + 1u);
  h = &a->held[a->nheld++];
  h->lock = l;
  h->shared = (uint8_t)shared;
  h->count = 1;
  h->acq_ts = ts;
  h->acq_wall = wt;
  h->acq_idx = (int64_t)e->index;
  if (shared) {
    AE_RESERVE(lk->sh, lk->capsh, lk->nsh + 1u);
    lk->sh[lk->nsh++] = aid;
  } else {
    lk->owner = aid;
  }
  a->lockset = AE_LS_STALE; /* interned when something needs it */
  cw__waitfor_acquired(e, aid, h, wt);
}

static int on_release(cw_engine *e, uint32_t aid, const cw_aevent *ev,
                      int64_t ts, int64_t wt, int clock_only) {
  ae_actor *a = &e->actors[aid];
  if (!ev->object || ev->object >= e->nsyms)
    return -1;
  ensure_of(e);
  uint32_t l = e->lock_of[ev->object];
  ae_held *h = l ? find_held(a, l) : NULL;
  if (!h)
    return -1;
  ae_lock *lk = &e->locks[l];
  int shared = h->shared;
  if (!clock_only) {
    cw__vc_join(shared ? &lk->rel_s : &lk->rel_x, &a->c, e->dead);
    if (!e->two_pass)
      cw__vc_join(shared ? &lk->nrel_s : &lk->nrel_x, &a->n, e->dead);
  }
  if (--h->count)
    return 0;
  cw__hist_add(&lk->hold, ts > h->acq_ts ? (uint64_t)(ts - h->acq_ts) : 0);
  ae_held gone = *h;
  *h = a->held[--a->nheld];
  if (shared) {
    for (uint32_t i = 0; i < lk->nsh; i++)
      if (lk->sh[i] == aid) {
        lk->sh[i] = lk->sh[--lk->nsh];
        break;
      }
  } else if (lk->owner == aid) {
    lk->owner = 0;
  }
  a->lockset = AE_LS_STALE;
  cw__waitfor_hold_end(e, aid, &gone, wt);
  return 0;
}

static void retire(cw_engine *e, uint32_t aid, int64_t wt) {
  ae_actor *a = &e->actors[aid]; /* its request ended in process() */
  while (a->nheld) {
    ae_held *h = &a->held[a->nheld - 1];
    ae_lock *lk = &e->locks[h->lock];
    if (lk->owner == aid)
      lk->owner = 0;
    for (uint32_t i = 0; i < lk->nsh; i++)
      if (lk->sh[i] == aid)
        lk->sh[i] = lk->sh[--lk->nsh];
    a->nheld--;
    cw__waitfor_hold_end(e, aid, h, wt);
  }
  a->lockset = 0;
  a->req_lock = 0;
  e->dead[aid] = 1;
  cw__race_actor_free(a);
  cw__vc_free(&a->c);
  cw__vc_free(&a->n);
  e->sum.retired_actors++;
}

/* ---- Dispatch ----------------------------------------------------------- */

static int valid_actor(const cw_engine *e, cw_actor_id a) {
  return a > 0 && a < e->nactors;
}

static int valid_sym(const cw_engine *e, cw_sym s) {
  return s > 0 && s < e->nsyms;
}

static int process(cw_engine *e, const cw_aevent *ev) {
  e->sum.events++;
  e->index++;
  if (!valid_actor(e, ev->actor) || e->dead[ev->actor])
    return -1;
  uint32_t aid = ev->actor;
  ae_actor *a = &e->actors[aid];
  int64_t ts = ev->ts_ns ? ev->ts_ns : (int64_t)e->index;
  /* Lock waits and holds of different processes are compared in wall
   * time (ae_waitfor.c). */
  int64_t wt = ev->wall_ns ? ev->wall_ns : (int64_t)e->index;
  if (wt > a->last_wall)
    a->last_wall = wt;
  int clock_only = (ev->flags & CW_AEF_CLOCK_ONLY) != 0;
  switch (ev->kind) {
  case CW_AE_READ:
  case CW_AE_WRITE:
  case CW_AE_LOCK_REQUEST:
  case CW_AE_LOCK_ACQUIRE:
  case CW_AE_LOCK_RELEASE:
  case CW_AE_ANN_RELEASE:
  case CW_AE_ANN_ACQUIRE:
  case CW_AE_SPAN_BEGIN:
  case CW_AE_SPAN_END:
  case CW_AE_LOCK_TIMEOUT:
    if (!valid_sym(e, ev->object))
      return -1;
    break;
  case CW_AE_FORK:
  case CW_AE_JOIN:
    if (!valid_actor(e, ev->child) || ev->child == aid)
      return -1;
    break;
  case CW_AE_BEGIN:
  case CW_AE_END:
  case CW_AE_RETIRE:
  case CW_AE_GAP:
  case CW_AE_OTHER:
  case CW_AE_DB_QUERY:
  case CW_AE_DB_RESULT:
  case CW_AE_HTTP_SEND:
  case CW_AE_HTTP_RESPONSE:
  case CW_AE_HTTP_RECV:
  case CW_AE_HTTP_RESPOND:
    break;
  case CW_AE_RETRY:
  case CW_AE_TIMEOUT:
    if (!valid_sym(e, ev->object))
      return -1;
    break;
  default:
    return -1;
  }
  /* A waiting actor that does anything but take its lock stopped waiting
   * (timed lock, cancellation, or a lost event). */
  int takes = ev->kind == CW_AE_LOCK_ACQUIRE && ev->object < e->capof &&
              e->lock_of[ev->object] == a->req_lock;
  if (a->req_lock && !a->req_gone && !takes && !e->replay)
    cw__waitfor_req_end(
        e, aid, ev->kind == CW_AE_LOCK_TIMEOUT ? AE_WEND_TIMEOUT : AE_WEND_LEFT,
        wt, 0, 0, 0);
  /* Nor is its request outstanding any more (ae_waitfor.c). */
  if (a->req_lock && !takes)
    a->req_gone = 1;
  /* A measured lock wait that ends with anything but the lock (a timed
   * lock that gave up, a cancelled wait) lasted until this event. */
  if (a->req_open && ev->kind != CW_AE_LOCK_ACQUIRE &&
      ev->kind != CW_AE_LOCK_REQUEST && ev->ts_ns) {
    a->req_open = 0;
    cw__anomaly_lock_wait(e, aid, e->locks[a->req_lock].sym,
                          ts > a->req_ts ? (uint64_t)(ts - a->req_ts) : 0);
  }
  /* Program order and explicit joins. */
  uint64_t cnt = a->counter + 1;
  if (ev->counter)
    cnt = ev->counter > a->counter ? ev->counter : a->counter;
  a->counter = cnt;
  if (e->replay)
    return cw__dx_event(e, aid, ev, NULL);
  if (e->rec)
    cw__rec_event(e, aid, ev);
  /* The sync clock `n` serves the one-pass lock graph only: a two-pass
   * engine finds potential deadlocks in its second pass (ae_dlx.c). */
  int sync = !e->two_pass;
  cw__vc_raise(&a->c, aid, cnt);
  if (sync)
    cw__vc_raise(&a->n, aid, cnt);
  for (uint32_t i = 0; i < ev->njoins; i++) {
    const cw_ae_join *j = &ev->joins[i];
    if (!valid_actor(e, j->actor) || e->dead[j->actor] || j->actor == aid)
      continue;
    const ae_actor *b = &e->actors[j->actor];
    if (!clock_only && b->counter == j->counter) {
      /* The source is at that very event: inherit all it knew. */
      cw__vc_join(&a->c, &b->c, e->dead);
      if (sync)
        cw__vc_join(&a->n, &b->n, e->dead);
      continue;
    }
    cw__vc_raise(&a->c, j->actor, j->counter);
    /* The joins of a producer's lock acquire are the lock's release clock
     * (docs/event-format.md): on_acquire applies them to the sync clock
     * under the same rule as a derived lock edge. */
    if (sync && !(clock_only && ev->kind == CW_AE_LOCK_ACQUIRE))
      cw__vc_raise(&a->n, j->actor, j->counter);
  }
  /* Joins change the clock: the next access takes a new snapshot. */
  if (ev->njoins || (ev->kind != CW_AE_READ && ev->kind != CW_AE_WRITE))
    cw__race_clock_changed(a);
  if (ev->kind == CW_AE_FORK)
    cw__race_clock_changed(&e->actors[ev->child]);
  switch (ev->kind) {
  case CW_AE_READ:
  case CW_AE_WRITE:
    cw__race_access(e, aid, ev);
    return 0;
  case CW_AE_LOCK_REQUEST:
    on_request(e, aid, ev, ts, wt);
    return 0;
  case CW_AE_LOCK_ACQUIRE:
    on_acquire(e, aid, ev, ts, wt, clock_only);
    return 0;
  case CW_AE_LOCK_RELEASE:
    return on_release(e, aid, ev, ts, wt, clock_only);
  case CW_AE_FORK:
    if (!clock_only && !e->dead[ev->child]) {
      cw__vc_join(&e->actors[ev->child].c, &a->c, e->dead);
      if (sync)
        cw__vc_join(&e->actors[ev->child].n, &a->n, e->dead);
    }
    return 0;
  case CW_AE_JOIN:
    if (!clock_only && !e->dead[ev->child]) {
      cw__vc_join(&a->c, &e->actors[ev->child].c, e->dead);
      if (sync)
        cw__vc_join(&a->n, &e->actors[ev->child].n, e->dead);
    }
    return 0;
  case CW_AE_ANN_RELEASE: {
    uint32_t ki = cw__engine_key(e, ev->object);
    ae_key *k = &e->keys[ki];
    if (!clock_only) {
      cw__vc_join(&k->rel, &a->c, e->dead);
      if (sync)
        cw__vc_join(&k->nrel, &a->n, e->dead);
    }
    return 0;
  }
  case CW_AE_ANN_ACQUIRE: {
    uint32_t ki = cw__engine_key(e, ev->object);
    ae_key *k = &e->keys[ki];
    if (!clock_only) {
      cw__vc_join(&a->c, &k->rel, e->dead);
      if (sync)
        cw__vc_join(&a->n, &k->nrel, e->dead);
    }
    return 0;
  }
  case CW_AE_SPAN_BEGIN:
    cw__span_begin(e, aid, ev, ts);
    return 0;
  case CW_AE_SPAN_END:
    cw__span_end(e, aid, ev, ts);
    if (ev->duration_ns)
      cw__anomaly_event(e, aid, ev);
    return 0;
  case CW_AE_DB_QUERY:
  case CW_AE_DB_RESULT:
  case CW_AE_HTTP_SEND:
  case CW_AE_HTTP_RESPONSE:
  case CW_AE_HTTP_RECV:
  case CW_AE_HTTP_RESPOND:
  case CW_AE_RETRY:
  case CW_AE_TIMEOUT:
    cw__anomaly_event(e, aid, ev);
    return 0;
  case CW_AE_RETIRE:
    retire(e, aid, wt);
    return 0;
  case CW_AE_LOCK_TIMEOUT:
    /* The wait ended without the lock: the request is over. */
    if (ev->object < e->capof && e->lock_of[ev->object] == a->req_lock)
      a->req_lock = 0;
    return 0;
  case CW_AE_GAP:
    if (ev->aux > 0)
      e->sum.lost_events += (uint64_t)ev->aux;
    return 0;
  default:
    return 0;
  }
}

/* ---- Hold-back queue ---------------------------------------------------- */

/* A serialised lock (CW_AEF_SERIAL) that another live actor holds in a
 * conflicting mode: its release has not been processed yet. */
static int serial_lock_busy(const cw_engine *e, const cw_aevent *ev) {
  if (!(ev->flags & CW_AEF_SERIAL) || ev->kind != CW_AE_LOCK_ACQUIRE ||
      ev->object == 0 || ev->object >= e->capof)
    return 0;
  uint32_t li = e->lock_of[ev->object];
  if (!li)
    return 0;
  const ae_lock *lk = &e->locks[li];
  if (lk->owner && lk->owner != ev->actor && !e->dead[lk->owner])
    return 1;
  if (ev->flags & CW_AEF_SHARED)
    return 0;
  for (uint32_t i = 0; i < lk->nsh; i++)
    if (lk->sh[i] != ev->actor && !e->dead[lk->sh[i]])
      return 1;
  return 0;
}

static int deps_ready(const cw_engine *e, const cw_aevent *ev) {
  if (serial_lock_busy(e, ev))
    return 0;
  for (uint32_t i = 0; i < ev->njoins; i++) {
    const cw_ae_join *j = &ev->joins[i];
    if (!valid_actor(e, j->actor) || j->actor == ev->actor || e->dead[j->actor])
      continue;
    if (e->actors[j->actor].counter < j->counter)
      return 0;
  }
  return 1;
}

static void enqueue(cw_engine *e, const cw_aevent *ev) {
  ae_actor *a = &e->actors[ev->actor];
  if (a->pq_n == a->pq_cap) {
    uint32_t nc = a->pq_cap ? a->pq_cap * 2 : 8;
    ae_pend *q = cw__ae_alloc(nc * sizeof(*q));
    for (uint32_t k = 0; k < a->pq_n; k++)
      q[k] = a->pq[(a->pq_head + k) % a->pq_cap];
    cw__ae_free(a->pq);
    a->pq = q;
    a->pq_cap = nc;
    a->pq_head = 0;
  }
  ae_pend *p = &a->pq[(a->pq_head + a->pq_n) % a->pq_cap];
  p->ev = *ev;
  p->joins = NULL;
  if (ev->njoins) {
    p->joins = cw__ae_alloc(ev->njoins * sizeof(*p->joins));
    memcpy(p->joins, ev->joins, ev->njoins * sizeof(*p->joins));
  }
  p->ev.joins = p->joins;
  p->arrival = e->arrivals++;
  a->pq_n++;
  e->npending++;
  if (!a->blocked) {
    a->blocked = 1;
    AE_RESERVE(e->blocked, e->capblocked, e->nblocked + 1u);
    e->blocked[e->nblocked++] = ev->actor;
  }
}

/* Pops and processes the head of actor `aid`'s queue. */
static void run_head(cw_engine *e, uint32_t aid) {
  ae_actor *a = &e->actors[aid];
  ae_pend p = a->pq[a->pq_head];
  a->pq_head = (a->pq_head + 1) % a->pq_cap;
  a->pq_n--;
  e->npending--;
  if (process(e, &p.ev) < 0)
    e->sum.invalid_events++;
  cw__ae_free(p.joins);
}

static void release_ready(cw_engine *e) {
  int progress = 1;
  while (e->nblocked && progress) {
    progress = 0;
    for (uint32_t i = 0; i < e->nblocked;) {
      uint32_t aid = e->blocked[i];
      ae_actor *a = &e->actors[aid];
      while (a->pq_n && deps_ready(e, &a->pq[a->pq_head].ev)) {
        run_head(e, aid);
        a = &e->actors[aid];
        progress = 1;
      }
      if (!a->pq_n) {
        a->blocked = 0;
        e->blocked[i] = e->blocked[--e->nblocked];
      } else {
        i++;
      }
    }
  }
}

/* Releases the oldest held-back event regardless of its dependencies. */
static void force_oldest(cw_engine *e) {
  uint32_t best = 0;
  uint64_t when = UINT64_MAX;
  for (uint32_t i = 0; i < e->nblocked; i++) {
    ae_actor *a = &e->actors[e->blocked[i]];
    if (a->pq_n && a->pq[a->pq_head].arrival < when) {
      when = a->pq[a->pq_head].arrival;
      best = e->blocked[i];
    }
  }
  if (!best)
    return;
  e->sum.forced_events++;
  run_head(e, best);
}

int cw__engine_feed(cw_engine *e, const cw_aevent *ev) {
  if (!e || !ev)
    return -1;
  if (!valid_actor(e, ev->actor) || (ev->njoins && !ev->joins)) {
    e->sum.events++;
    e->sum.invalid_events++;
    return -1;
  }
  ae_actor *a = &e->actors[ev->actor];
  if (a->pq_n || !deps_ready(e, ev)) {
    enqueue(e, ev);
    while (e->npending > e->cfg.max_pending) {
      force_oldest(e);
      release_ready(e);
    }
    return 0;
  }
  int rc = process(e, ev);
  if (rc < 0)
    e->sum.invalid_events++;
  if (e->npending)
    release_ready(e);
  return rc;
}

void cw__engine_flush(cw_engine *e) {
  if (!e)
    return;
  while (e->npending) {
    force_oldest(e);
    release_ready(e);
  }
}

/* ---- Queries ------------------------------------------------------------ */

void cw__engine_summary(const cw_engine *e, cw_summary *out) {
  *out = e->sum;
  out->pending_events = e->npending;
  out->race_groups = e->ngroups;
  out->potential_deadlocks = e->npdl;
  out->deadlocks = e->nadl - e->nwithdrawn;
  out->active_deadlocks = e->nactive;
  out->instances_cut = cw__lockgraph_cuts_pending(e);
  out->exact = !(out->search_truncated || out->instances_cut ||
                 out->handoffs_cut || out->early_orders || out->retired_skips ||
                 out->lost_events || out->forced_events || out->pending_events);
}

size_t cw__engine_races(const cw_engine *e, const cw_race_group **out) {
  *out = e->groups;
  return e->ngroups;
}

size_t cw__engine_potential_deadlocks(const cw_engine *e,
                                      const cw_deadlock **out) {
  *out = e->pdl;
  return e->npdl;
}

size_t cw__engine_deadlocks(const cw_engine *e, const cw_deadlock **out) {
  *out = e->adl;
  return e->nadl;
}

size_t cw__engine_variables(const cw_engine *e, const cw_sym **out) {
  *out = e->var_syms;
  return e->nvars ? e->nvars - 1 : 0;
}
