/*
 * cw_record.c: the recording hot path: thread registration, the per-event
 * record writer, clock joins, actor ends, and the actor, task, trace and
 * span calls built on them.
 *
 * DESIGN. cw__enter() is the gate of every call: one acquire load of the
 * session, one thread-local load, and the reentrancy flag (the SDK never
 * records its own work). cw__record() then bumps the actor's counter,
 * reserves a record in the thread's ring, takes one timestamp (the TSC,
 * or CLOCK_MONOTONIC through the vDSO: cw_stamp.h) and the sequence number
 * (a per-thread hybrid logical clock built on that stamp: cw__seq_next in
 * cw_internal.h), and copies the strings inline: no allocation, lock,
 * system call, wake-up or write to a cache line another thread writes (the
 * drain polls; only a ring past its high-water mark wakes it, cw_ring.h).
 * Wall time is derived by the drain from the session's base times. When
 * the ring is full the event is dropped, counted in the actor's pending
 * gap, and the actor's next event carries its whole clock.
 */
#define _POSIX_C_SOURCE 200809L

#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cw_format.h"
#include "cw_internal.h"

_Thread_local cw_tstate *cw__tls;
static _Thread_local int tls_dead;
/* The session this thread could not register with (out of memory or of
 * actor slots): it then runs untraced instead of retrying on every call. */
static _Thread_local uint64_t tls_failed;

static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t tls_key;

/* ---- Thread registration --------------------------------------------------
 */

void cw__thread_untraced(void) {
  tls_dead = 1;
}

static void tls_dtor(void *p) {
  cw_tstate *ts = p;
  tls_dead = 1;
  cw_sess *s = atomic_load_explicit(&cw__cur, memory_order_acquire);
  if (!s || ts->sess != s || ts->busy)
    return;
  ts->busy = 1;
  if (ts->child)
    cw__child_finish(ts);
  while (ts->ntasks > 0) {
    cw__actor_end(ts, ts->cur, CW_EV_TASK_END);
    ts->ntasks--;
    ts->cur = ts->ntasks ? &ts->tasks[ts->ntasks - 1] : &ts->thr;
  }
  cw__actor_end(ts, &ts->thr, CW_EV_THREAD_END);
  cw__tls = NULL;
  ts->busy = 0;
  /* From here on the drain owns (and frees) ts. */
  cw_store_release(&ts->exited, 1);
}

static void make_key(void) {
  CW_CHECK(pthread_key_create(&tls_key, tls_dtor));
}

void cw__tls_clear(void) {
  cw__tls = NULL;
  CW_CHECK(pthread_once(&key_once, make_key));
  CW_CHECK(pthread_setspecific(tls_key, NULL));
}

void cw__tstate_free(cw_tstate *ts) {
  if (!ts)
    return;
  cw__ring_free(&ts->ring);
  cw__vc_free(&ts->thr.vc);
  for (int i = 0; i < CW_TASK_DEPTH; i++)
    cw__vc_free(&ts->tasks[i].vc);
  cw__free(ts->scratch);
  cw__free(ts->delta);
  cw__vc_free(&ts->tmp);
  cw__free(ts);
}

int cw__ts_reserve(cw_tstate *ts, uint32_t n) {
  if (n > ts->scratch_cap) {
    uint32_t cap = ts->scratch_cap ? ts->scratch_cap : 64;
    while (cap < n)
      cap *= 2;
    cw_ent *e = cw__realloc(ts->scratch, cap * sizeof(cw_ent));
    if (!e)
      return -1;
    ts->scratch = e;
    ts->scratch_cap = cap;
  }
  if (n > ts->delta_cap) {
    uint32_t cap = ts->delta_cap ? ts->delta_cap : 64;
    while (cap < n)
      cap *= 2;
    cw_ent *e = cw__realloc(ts->delta, cap * sizeof(cw_ent));
    if (!e)
      return -1;
    ts->delta = e;
    ts->delta_cap = cap;
  }
  return 0;
}

/* Registers the calling thread with session s. `spawn`, when non-NULL,
 * is the pre-allocated actor of a thread made by cw_thread_create: its
 * slot, parent and starting clock. */
cw_tstate *cw__register(cw_sess *s, const cw_actor *spawn) {
  CW_CHECK(pthread_once(&key_once, make_key));
  cw_tstate *ts = cw__calloc(1, sizeof(*ts));
  if (!ts)
    return NULL;
  ts->sess = s;
  if (cw__ring_init(&ts->ring, s->cfg.buffer_bytes) != 0 ||
      cw__ts_reserve(ts, 64) != 0)
    goto fail;
  cw_actor *a = &ts->thr;
  a->kind = CW_ACTOR_THREAD;
  a->need_full = 1;
  if (spawn) {
    a->slot = spawn->slot;
    a->gen = spawn->gen;
    a->has_parent = 1;
    a->pslot = spawn->pslot;
    a->pgen = spawn->pgen;
    if (cw__vc_copy(&a->vc, spawn->vc.e, spawn->vc.n, a->slot,
                    &s->actors.view) != 0)
      goto fail;
  } else {
    char name[32];
    if (pthread_equal(pthread_self(), s->init_thread))
      snprintf(name, sizeof(name), "main");
    else
      snprintf(name, sizeof(name), "t%u",
               (unsigned)cw_fetch_add_relaxed(&s->nthreads, 1) + 1);
    if (cw__actab_alloc(&s->actors, CW_ACTOR_THREAD, name, &a->slot, &a->gen) !=
        0)
      goto fail;
  }
  ts->cur = a;
  ts->rng = cw__mono_ns() ^ (uint64_t)(uintptr_t)ts;
  ts->lc_epoch = cw_load_relaxed(&s->lc_epoch);
  if (cw__registry_add(s, ts) != 0)
    goto fail;
  cw__tls = ts;
  CW_CHECK(pthread_setspecific(tls_key, ts));
  return ts;
fail:
  cw__tstate_free(ts);
  return NULL;
}

cw_tstate *cw__enter_slow(cw_sess *s) {
  if (cw__in_alloc)
    return NULL; /* called from the user's allocator hook, by the SDK */
  if (!s) {
    if (!cw_load_relaxed(&cw__fork_pending) || !(s = cw__fork_reinit()))
      return NULL;
  }
  cw_tstate *ts = cw__tls;
  if (!ts || ts->sess != s) {
    if (tls_dead || tls_failed == s->serial)
      return NULL;
    ts = cw__register(s, NULL);
    if (!ts) {
      tls_failed = s->serial;
      return NULL;
    }
  } else if (ts->busy) {
    return NULL;
  }
  ts->busy = 1;
  return ts;
}

/* ---- Clocks ----------------------------------------------------------------
 */

static void record_start(cw_tstate *ts, cw_actor *a);

uint32_t cw__actor_join(cw_tstate *ts, cw_actor *a, const cw_ent *src,
                        uint32_t n) {
  if (n == 0)
    return 0;
  /* A thread whose first event joins a clock starts before the join: its
   * start event carries the clock it had, the joining event the rest. */
  if (!a->started && !a->ended && a == ts->cur)
    record_start(ts, a);
  cw_sess *s = ts->sess;
  if (cw__ts_reserve(ts, a->vc.n + n) != 0)
    return 0;
  uint32_t nd = 0;
  uint32_t m = cw__vc_merge(a->vc.e, a->vc.n, src, n, a->slot, &s->actors.view,
                            ts->scratch, ts->delta, &nd);
  cw_ent *old = a->vc.e;
  uint32_t oldcap = a->vc.cap;
  a->vc.e = ts->scratch;
  a->vc.cap = ts->scratch_cap;
  a->vc.n = m;
  ts->scratch = old;
  ts->scratch_cap = oldcap;
  if (nd)
    a->ver++;
  if (m > cw_load_relaxed(&s->st_max_clock))
    cw_store_relaxed(&s->st_max_clock, m);
  return nd;
}

uint32_t cw__actor_full(cw_tstate *ts, cw_actor *a) {
  if (cw__ts_reserve(ts, a->vc.n + 1) != 0)
    return 0;
  uint32_t n = 0;
  int self = 0;
  for (uint32_t i = 0; i < a->vc.n; i++) {
    if (!self && a->vc.e[i].slot > a->slot) {
      ts->delta[n++] = (cw_ent){a->slot, a->gen, a->ctr};
      self = 1;
    }
    ts->delta[n++] = a->vc.e[i];
  }
  if (!self)
    ts->delta[n++] = (cw_ent){a->slot, a->gen, a->ctr};
  return n;
}

/* ---- The record writer -----------------------------------------------------
 */

static void record_start(cw_tstate *ts, cw_actor *a) {
  cw_evargs ev = {.kind = CW_EV_THREAD_START};
  if (a->has_parent) {
    ev.has_oactor = 1;
    ev.oslot = a->pslot;
    ev.ogen = a->pgen;
  }
  a->started = 1;
  cw__record(ts, &ev);
}

/* Writes the actor's pending gap marker. @return 0, or -1 when the ring
 * has no room for it. */
static int flush_gap(cw_tstate *ts, cw_actor *a) {
  cw_rgap *g = cw__ring_alloc(&ts->ring, sizeof(*g), 1);
  if (!g)
    return -1;
  g->h.size = sizeof(*g);
  g->h.type = CW_R_GAP;
  g->slot = a->slot;
  g->gen = a->gen;
  g->n = a->gap_n;
  g->first = a->gap_first;
  g->last = a->gap_last;
  a->gap_n = 0;
  return 0;
}

void cw__stamp_anchor(cw_tstate *ts, uint64_t t) {
  cw_ranchor *r = cw__ring_alloc(&ts->ring, sizeof(*r), 0);
  if (!r)
    return; /* full: the next stamp tries again */
  r->h.size = sizeof(*r);
  r->h.type = CW_R_ANCHOR;
  r->tsc = t;
  r->mono = cw__mono_ns();
  ts->anchor_tsc = t;
}

static inline size_t round8(size_t n) {
  return (n + 7) & ~(size_t)7;
}

void cw__record(cw_tstate *ts, const cw_evargs *ev) {
  cw_actor *a = ts->cur;
  if (a->ended)
    return;
  if (!a->started && ev->kind != CW_EV_THREAD_START)
    record_start(ts, a);
  cw_sess *s = ts->sess;
  uint32_t flags = ev->flags;
  const cw_ent *joins = ev->joins;
  uint32_t nj = ev->njoins;
  a->ctr++;
  if (a->need_full) {
    joins = a->vc.e;
    nj = a->vc.n;
    flags |= CW_EVF_FULL_CLOCK | CW_EVF_JOINS;
  } else if (nj) {
    flags |= CW_EVF_JOINS;
  }
  size_t olen = ev->obj ? ev->obj_len : 0;
  size_t size = sizeof(cw_rev) + (a->has_trace ? 32 : 0) +
                (size_t)nj * sizeof(cw_ent) + olen + ev->vlen + ev->dlen;
  size = round8(size);
  cw_rev *r = NULL;
  uint64_t stamp = cw__stamp(ts); /* before the record: it may anchor */
  /* A pending gap marker goes first, but only with room for the event too
   * (twice its size: a worst-case wrap), so drops are reported in runs. */
  if (size <= UINT32_MAX &&
      (a->gap_n == 0 ||
       (cw__ring_fits(&ts->ring, sizeof(cw_rgap) + 2 * size, ev->critical) &&
        flush_gap(ts, a) == 0)))
    r = cw__ring_alloc(&ts->ring, (uint32_t)size, ev->critical);
  if (!r && ev->critical) {
    /* An actor's end must not be lost: wait for the drain, yielding,
     * then (a slow or loaded machine) sleeping, up to about a second. */
    for (int i = 0; i < 30000 && !r; i++) {
      if (i < 20000) {
        sched_yield();
      } else {
        struct timespec nap = {0, 100000};
        nanosleep(&nap, NULL);
      }
      if (a->gap_n == 0 || flush_gap(ts, a) == 0)
        r = cw__ring_alloc(&ts->ring, (uint32_t)size, 1);
    }
  }
  uint64_t seq = cw__seq_next(ts, stamp);
  if (!r) {
    if (a->gap_n == 0)
      a->gap_first = seq;
    a->gap_n++;
    a->gap_last = seq;
    a->need_full = 1;
    a->plain = 0;
    cw_fetch_add_relaxed(&s->st_dropped, 1);
    cw__publish(ts);
    return;
  }
  a->need_full = 0;
  r->h.size = (uint32_t)size;
  r->h.type = CW_R_EVENT;
  r->kind = ev->kind;
  r->flags = flags;
  r->slot = a->slot;
  r->gen = a->gen;
  r->seq = seq;
  r->ctr = a->ctr;
  r->mono = stamp;
  r->file = ev->loc.file;
  r->func = ev->loc.func;
  r->line = ev->loc.line;
  r->njoins = nj;
  r->lock = ev->lock;
  r->oslot = ev->oslot;
  r->ogen = ev->ogen;
  r->obj_kind = ev->obj          ? CW_OBJ_STR
                : ev->lock       ? CW_OBJ_LOCK
                : ev->has_oactor ? CW_OBJ_ACTOR
                                 : CW_OBJ_NONE;
  r->vint = ev->vint;
  r->aux = ev->aux;
  r->dur = ev->dur;
  r->obj_len = (uint16_t)olen;
  r->vlen = (uint16_t)ev->vlen;
  r->dlen = (uint16_t)ev->dlen;
  uint8_t *p = (uint8_t *)(r + 1);
  if (a->has_trace) {
    r->flags |= CW_EVF_TRACE;
    memcpy(p, a->trace_id, 16);
    if (a->nspans > 0) {
      memcpy(p + 16, a->spans[a->nspans - 1].span_id, 8);
      memcpy(p + 24, a->spans[a->nspans - 1].parent, 8);
    } else {
      memcpy(p + 16, a->span_id, 8);
      memcpy(p + 24, a->parent_span, 8);
    }
    p += 32;
  }
  if (nj) {
    memcpy(p, joins, (size_t)nj * sizeof(cw_ent));
    p += (size_t)nj * sizeof(cw_ent);
  }
  if (olen) {
    memcpy(p, ev->obj, olen);
    p += olen;
  }
  if (ev->vlen) {
    memcpy(p, ev->vstr, ev->vlen);
    p += ev->vlen;
  }
  if (ev->dlen)
    memcpy(p, ev->detail, ev->dlen);
  cw__publish(ts);
  a->plain = a->started && !a->gap_n && !a->has_trace;
}

void cw__record_lock(cw_tstate *ts, uint16_t kind, uint32_t flags,
                     cw_lockst *lock, const cw_loc *loc) {
  cw_evargs ev = {.kind = kind, .flags = flags, .lock = lock, .loc = *loc};
  cw__record(ts, &ev);
}

/* @return the key's id (its slot in ts->kc, plus one) and its length in
 * *len; *def = 1 when the slot must be (re)defined: the key's address or
 * bytes differ from the slot's. One pass over the key when it is the
 * slot's: strncmp stops at the key's end (the slot's bytes hold no NUL), so
 * it never reads past a shorter key, and then the key must end where the
 * slot's does (keys are cut at CW_KEY_MAX bytes). */
static inline uint32_t key_id(cw_tstate *ts, const char *key, uint32_t *len,
                              int *def) {
  uintptr_t h = (uintptr_t)key;
  uint32_t k = (uint32_t)((h >> 3) ^ (h >> 9)) % CW_KEY_CACHE;
  const cw_kcache *c = &ts->kc[k];
  if (c->p == key && strncmp(key, c->bytes, c->len) == 0 &&
      (c->len == CW_KEY_MAX || key[c->len] == '\0')) {
    *len = c->len;
    *def = 0;
  } else {
    *len = (uint32_t)strnlen(key, CW_KEY_MAX);
    *def = 1;
  }
  return k + 1;
}

void cw__record_access(cw_tstate *ts, uint16_t kind, uint32_t flags,
                       const char *key, int64_t vint, cw_loc loc) {
  cw_actor *a = ts->cur;
  cw_racc *r = NULL;
  uint32_t klen = 0, kid = 0;
  int def = 0;
  uint64_t stamp = 0;
  /* The common case: nothing pending, nothing optional. */
  if (a->plain) {
    kid = key_id(ts, key, &klen, &def);
    stamp = cw__stamp(ts); /* before the record: it may anchor */
    r = cw__ring_alloc(&ts->ring,
                       (uint32_t)round8(sizeof(cw_racc) + (def ? klen : 0)), 0);
  }
  if (!r) {
    cw_evargs ev = {.kind = kind,
                    .flags = flags,
                    .obj = key,
                    .obj_len = strnlen(key, CW_KEY_MAX),
                    .vint = vint,
                    .loc = loc};
    cw__record(ts, &ev);
    return;
  }
  *r = (cw_racc){.h = {(uint32_t)round8(sizeof(cw_racc) + (def ? klen : 0)),
                       CW_R_ACCESS, kind},
                 .flags = flags,
                 .line = loc.line,
                 .slot = a->slot,
                 .gen = a->gen,
                 .seq = cw__seq_next(ts, stamp),
                 .ctr = ++a->ctr,
                 .mono = stamp,
                 .file = loc.file,
                 .func = loc.func,
                 .vint = vint,
                 .kid = (uint16_t)kid,
                 .klen = (uint16_t)klen,
                 .def = (uint32_t)def};
  if (def) {
    /* The slot changes only with a record that reaches the ring, so the
     * drain always meets the definition before the uses. */
    cw_kcache *c = &ts->kc[kid - 1];
    c->p = key;
    c->len = klen;
    memcpy(c->bytes, key, klen);
    memcpy(r + 1, key, klen);
  }
  cw__publish(ts);
}

void cw__actor_end(cw_tstate *ts, cw_actor *a, uint16_t kind) {
  if (a->ended)
    return;
  cw_actor *saved = ts->cur;
  ts->cur = a;
  cw_evargs ev = {.kind = kind, .critical = 1};
  if (kind == CW_EV_TASK_END && a->nlen) {
    ev.obj = a->name;
    ev.obj_len = a->nlen;
  }
  cw__record(ts, &ev);
  a->ended = 1;
  a->plain = 0;
  ts->cur = saved;
}

/* ---- Actors
 * ------------------------------------------------------------------ */

static int valid_part(const char *name, size_t max) {
  size_t n = 0;
  if (!name)
    return 0;
  for (; name[n]; n++) {
    unsigned char c = (unsigned char)name[n];
    if (n >= max || c == '#' || c == '/' || c <= 0x20 || c >= 0x7f)
      return 0;
  }
  return n > 0;
}

cw_status cw_actor_set_name(const char *name) {
  if (!valid_part(name, 47))
    return CW_EINVAL;
  cw_tstate *ts = cw__enter();
  if (!ts)
    return CW_EDISABLED;
  cw_status st = CW_OK;
  cw_actor *a = ts->cur;
  if (a->started || a->ctr > 0) {
    st = CW_ESTATE;
  } else {
    cw__actab_rename(&ts->sess->actors, a->slot, name);
  }
  cw__leave(ts);
  return st;
}

cw_status cw_actor_name(char *buf, size_t cap) {
  if (!buf || cap == 0)
    return CW_EINVAL;
  cw_tstate *ts = cw__enter();
  if (!ts)
    return CW_EDISABLED;
  char tmp[CW_NAME_MAX + 160];
  cw_actab *t = &ts->sess->actors;
  CW_CHECK(pthread_mutex_lock(&t->mu));
  size_t n = cw__actor_fullname(ts->sess, ts->cur->slot, ts->cur->gen, tmp,
                                sizeof(tmp));
  CW_CHECK(pthread_mutex_unlock(&t->mu));
  cw__leave(ts);
  if (n + 1 > cap)
    return CW_ETOOBIG;
  memcpy(buf, tmp, n);
  buf[n] = 0;
  return CW_OK;
}

/* ---- Tasks
 * ---------------------------------------------------------------------- */

/* Resolves a snapshot into sorted entries in ts->delta (cw_snapshot.c).
 * @return the count, or -1 when the actor table is full. */
int cw__snap_resolve(cw_tstate *ts, const cw_clock_snapshot *snap);

static void reset_actor(cw_actor *a) {
  cw_vc vc = a->vc;
  memset(a, 0, sizeof(*a));
  a->vc = vc;
  a->vc.n = 0;
}

cw_status cw_task_begin(const char *name, const cw_clock_snapshot *from) {
  cw_tstate *ts = cw__enter();
  if (!ts)
    return CW_EDISABLED;
  cw_sess *s = ts->sess;
  cw_status st = CW_OK;
  int n = 0;
  if (ts->ntasks >= CW_TASK_DEPTH) {
    st = CW_EFULL;
    goto out;
  }
  if (from && (n = cw__snap_resolve(ts, from)) < 0) {
    st = CW_EFULL;
    goto out;
  }
  char aname[32];
  snprintf(aname, sizeof(aname), "task-%u",
           (unsigned)cw_fetch_add_relaxed(&s->ntasks, 1) + 1);
  cw_actor *a = &ts->tasks[ts->ntasks];
  reset_actor(a);
  if (cw__actab_alloc(&s->actors, CW_ACTOR_TASK, aname, &a->slot, &a->gen)) {
    st = CW_EFULL;
    goto out;
  }
  if (cw__vc_copy(&a->vc, ts->delta, (uint32_t)n, a->slot, &s->actors.view) !=
      0) {
    a->vc.n = 0; /* start empty rather than fail the request */
  }
  a->kind = CW_ACTOR_TASK;
  a->started = 1;
  a->need_full = 1;
  if (name) {
    size_t len = strnlen(name, sizeof(a->name) - 1);
    memcpy(a->name, name, len);
    a->nlen = (uint16_t)len;
  }
  ts->ntasks++;
  ts->cur = a;
  cw_evargs ev = {.kind = CW_EV_TASK_BEGIN, .obj = a->name, .obj_len = a->nlen};
  if (!a->nlen)
    ev.obj = NULL;
  cw__record(ts, &ev);
out:
  cw__leave(ts);
  return st;
}

cw_status cw_task_end(void) {
  cw_tstate *ts = cw__enter();
  if (!ts)
    return CW_EDISABLED;
  cw_status st = CW_OK;
  if (ts->ntasks == 0) {
    st = CW_ESTATE;
  } else {
    cw__actor_end(ts, ts->cur, CW_EV_TASK_END);
    ts->ntasks--;
    ts->cur = ts->ntasks ? &ts->tasks[ts->ntasks - 1] : &ts->thr;
  }
  cw__leave(ts);
  return st;
}

/* ---- Trace context and spans
 * ----------------------------------------------------- */

cw_status cw_trace_set(const uint8_t trace_id[16], const uint8_t span_id[8]) {
  if (!trace_id || !span_id)
    return CW_EINVAL;
  cw_tstate *ts = cw__enter();
  if (!ts)
    return CW_EDISABLED;
  cw_actor *a = ts->cur;
  memcpy(a->trace_id, trace_id, 16);
  memcpy(a->span_id, span_id, 8);
  memset(a->parent_span, 0, 8);
  a->has_trace = 1;
  a->plain = 0;
  cw__leave(ts);
  return CW_OK;
}

cw_status cw_trace_set_parent(const uint8_t parent_span_id[8]) {
  if (!parent_span_id)
    return CW_EINVAL;
  cw_tstate *ts = cw__enter();
  if (!ts)
    return CW_EDISABLED;
  cw_actor *a = ts->cur;
  cw_status st = a->has_trace ? CW_OK : CW_ESTATE;
  if (a->has_trace)
    memcpy(a->parent_span, parent_span_id, 8);
  cw__leave(ts);
  return st;
}

cw_status cw_trace_get(uint8_t trace_id[16], uint8_t span_id[8]) {
  cw_tstate *ts = cw__enter();
  if (!ts)
    return CW_EDISABLED;
  cw_actor *a = ts->cur;
  cw_status st = a->has_trace ? CW_OK : CW_ESTATE;
  if (a->has_trace) {
    if (trace_id)
      memcpy(trace_id, a->trace_id, 16);
    if (span_id)
      memcpy(span_id, a->nspans ? a->spans[a->nspans - 1].span_id : a->span_id,
             8);
  }
  cw__leave(ts);
  return st;
}

static uint64_t next_rand(cw_tstate *ts) {
  uint64_t x = ts->rng;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  ts->rng = x;
  return x;
}

void(cw_span_begin)(const char *name) {
  cw_span_begin_at(name, CW_LOC_NONE);
}
void(cw_span_end)(void) {
  cw_span_end_at(CW_LOC_NONE);
}

void cw_span_begin_at(const char *name, cw_loc loc) {
  cw_tstate *ts = cw__enter();
  if (!ts)
    return;
  cw_actor *a = ts->cur;
  size_t len = name ? strnlen(name, 63) : 0;
  if (a->nspans < CW_SPAN_DEPTH) {
    cw_span *sp = &a->spans[a->nspans];
    const uint8_t *parent =
        a->nspans ? a->spans[a->nspans - 1].span_id : a->span_id;
    memcpy(sp->parent, parent, 8);
    uint64_t id = next_rand(ts) | 1;
    memcpy(sp->span_id, &id, 8);
    if (!a->has_trace)
      memset(sp->span_id, 0, 8);
    memcpy(sp->name, name ? name : "", len);
    sp->nlen = (uint16_t)len;
    sp->start = cw__mono_ns();
    a->nspans++;
  } else {
    a->span_overflow++;
  }
  cw_evargs ev = {.kind = CW_EV_SPAN_BEGIN,
                  .obj = len ? name : NULL,
                  .obj_len = len,
                  .loc = loc};
  cw__record(ts, &ev);
  cw__leave(ts);
}

void cw_span_end_at(cw_loc loc) {
  cw_tstate *ts = cw__enter();
  if (!ts)
    return;
  cw_actor *a = ts->cur;
  cw_evargs ev = {.kind = CW_EV_SPAN_END, .loc = loc};
  if (a->span_overflow > 0) {
    a->span_overflow--;
    cw__record(ts, &ev);
  } else if (a->nspans > 0) {
    cw_span *sp = &a->spans[a->nspans - 1];
    ev.flags = CW_EVF_DURATION;
    ev.dur = cw__mono_ns() - sp->start;
    ev.obj = sp->nlen ? sp->name : NULL;
    ev.obj_len = sp->nlen;
    cw__record(ts, &ev); /* still inside the span: carries its id */
    a->nspans--;
  }
  cw__leave(ts);
}

/* ---- State accesses
 * ---------------------------------------------------------- */

static const uint16_t access_kind[] = {0,          CW_EV_READ,  CW_EV_WRITE,
                                       CW_EV_READ, CW_EV_WRITE, CW_EV_RMW};

static void access_common(int kind_in, const char *key, cw_loc loc,
                          uint32_t flags, int64_t vint, const char *vstr) {
  /* On access events the format's SHARED flag marks a key shared by
   * processes (on lock events it means read mode). */
  if (kind_in & CW_ACCESS_SHARED)
    flags |= CW_EVF_SHARED;
  cw_access_kind kind = (cw_access_kind)(kind_in & ~CW_ACCESS_SHARED);
  if ((unsigned)kind < CW_ACCESS_READ ||
      (unsigned)kind > CW_ACCESS_ATOMIC_RMW || !key)
    return;
  cw_tstate *ts = cw__enter();
  if (!ts)
    return;
  if (kind >= CW_ACCESS_ATOMIC_READ)
    flags |= CW_EVF_ATOMIC;
  if (!vstr) {
    cw__record_access(ts, access_kind[kind], flags, key, vint, loc);
    cw__leave(ts);
    return;
  }
  cw_evargs ev = {.kind = access_kind[kind],
                  .flags = flags,
                  .obj = key,
                  .obj_len = strnlen(key, CW_KEY_MAX),
                  .vint = vint,
                  .vstr = vstr,
                  .vlen = strnlen(vstr, CW_VAL_MAX),
                  .loc = loc};
  cw__record(ts, &ev);
  cw__leave(ts);
}

void cw_access(int kind, const char *key, cw_loc loc) {
  access_common(kind, key, loc, 0, 0, NULL);
}

void cw_access_int(int kind, const char *key, int64_t v, cw_loc loc) {
  access_common(kind, key, loc, CW_EVF_VAL_INT, v, NULL);
}

void cw_access_str(int kind, const char *key, const char *v, cw_loc loc) {
  access_common(kind, key, loc, v ? CW_EVF_VAL_STR : 0, 0, v);
}

/* ---- Custom events and clock joins ------------------------------------------
 */

static cw_status emit_common(cw_tstate *ts, const cw_emit_info *in,
                             uint16_t kind) {
  cw_actor *a = ts->cur;
  cw_evargs ev = {.kind = kind, .loc = in->loc};
  if (in->join) {
    int n = cw__snap_resolve(ts, in->join);
    if (n < 0)
      return CW_EFULL;
    /* Resolved entries sit in ts->delta; join from a private copy. */
    if (cw__ts_reserve(ts, a->vc.n + (uint32_t)n) != 0)
      return CW_ENOMEM;
    memcpy(ts->scratch, ts->delta, (size_t)n * sizeof(cw_ent));
    cw_vc tmp = {0};
    if (cw__vc_copy(&tmp, ts->scratch, (uint32_t)n, UINT32_MAX, NULL))
      return CW_ENOMEM;
    ev.njoins = cw__actor_join(ts, a, tmp.e, tmp.n);
    ev.joins = ts->delta;
    cw__vc_free(&tmp);
  }
  if (in->object) {
    ev.obj = in->object;
    ev.obj_len = strnlen(in->object, CW_KEY_MAX);
  }
  if (in->detail) {
    ev.detail = in->detail;
    ev.dlen = strnlen(in->detail, CW_DETAIL_MAX);
    ev.flags |= CW_EVF_DETAIL;
  }
  if (in->has_aux) {
    ev.aux = in->aux;
    ev.flags |= CW_EVF_AUX;
  }
  if (in->has_duration) {
    ev.dur = in->duration_ns;
    ev.flags |= CW_EVF_DURATION;
  }
  if (in->error)
    ev.flags |= CW_EVF_ERROR;
  cw__record(ts, &ev);
  return CW_OK;
}

cw_status cw_emit(const cw_emit_info *info) {
  if (!info || info->kind < CW_EMIT_HTTP_SEND || info->kind > CW_EMIT_MESSAGE)
    return CW_EINVAL;
  cw_tstate *ts = cw__enter();
  if (!ts)
    return CW_EDISABLED;
  cw_status st = emit_common(ts, info, (uint16_t)info->kind);
  cw__leave(ts);
  return st;
}

/* ---- Timeouts and retries ---------------------------------------------------
 */

static int note_common(uint16_t kind, const char *site, uint32_t flags,
                       int64_t aux, uint64_t dur, cw_loc loc) {
  if (!site || !site[0])
    return CW_EINVAL;
  cw_tstate *ts = cw__enter();
  if (!ts)
    return CW_EDISABLED;
  cw_evargs ev = {.kind = kind,
                  .flags = flags,
                  .obj = site,
                  .obj_len = strnlen(site, CW_KEY_MAX),
                  .aux = aux,
                  .dur = dur,
                  .loc = loc};
  cw__record(ts, &ev);
  cw__leave(ts);
  return CW_OK;
}

int cw_note_retry_at(const char *site, unsigned attempt, cw_loc loc) {
  return note_common(CW_EV_RETRY, site, CW_EVF_AUX, (int64_t)attempt, 0, loc);
}

int cw_note_timeout_at(const char *site, uint64_t waited_ns, cw_loc loc) {
  return note_common(CW_EV_TIMEOUT, site, CW_EVF_DURATION, 0, waited_ns, loc);
}

int(cw_note_retry)(const char *site, unsigned attempt) {
  return cw_note_retry_at(site, attempt, CW_LOC_NONE);
}

int(cw_note_timeout)(const char *site, uint64_t waited_ns) {
  return cw_note_timeout_at(site, waited_ns, CW_LOC_NONE);
}

cw_status cw_clock_join(const cw_clock_snapshot *snap, const char *why) {
  if (!snap)
    return CW_EINVAL;
  cw_tstate *ts = cw__enter();
  if (!ts)
    return CW_EDISABLED;
  cw_emit_info in = {.kind = CW_EMIT_MESSAGE,
                     .join = snap,
                     .detail = why ? why : "clock_join"};
  cw_status st = emit_common(ts, &in, CW_EV_MESSAGE);
  cw__leave(ts);
  return st;
}
