/*
 * cw_locks.c: mutex, rwlock and condition-variable wrappers, the mutex
 * annotation hooks, lock naming, and release/acquire annotations.
 *
 * DESIGN. Each lock has a release clock (cw_lockst). A mutex release
 * copies the releaser's clock into it; the next acquire joins it, and the
 * acquire event carries the entries it raised. Clock updates happen while
 * the user's lock is held, so the user's lock guards them. An rwlock keeps
 * two clocks: `clock` (joined by every release, read by writers) and
 * `rclock` (set by write releases only, read by readers), so readers are
 * never ordered among themselves; concurrent read-releases merge into
 * `clock` under the state's spin lock. Two shortcuts keep the uncontended
 * case cheap: when the lock's clock is a copy of the acquirer's own clock
 * the join is skipped, and when the releaser's clock has not changed since
 * it last filled the lock's clock only its own entry is updated (at an
 * index kept in the state). A blocking lock tries the lock first: when it
 * is free only the acquire is recorded, which stands for "requested and
 * acquired at once"; only a lock that is busy records a request before
 * blocking (so a thread blocked for good is seen waiting); a timed lock
 * that gives up after waiting records a lock_timeout. Lock events
 * without joins go into the ring as compact LOCK records.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <string.h>

#include "cw_format.h"
#include "cw_internal.h"

/* The cache miss of lookup(): the session's table, then the cache. */
static cw_lockst *lookup_miss(cw_tstate *ts, cw_lcache *c, void *addr,
                              uint32_t kind) {
  cw_lockst *ls = cw__locktab_addr(&ts->sess->locks, addr, kind);
  if (!ls || !kind)
    return ls;
  if (cw_load_relaxed(&ls->kind) == 0) {
    uint32_t zero = 0; /* named (cw_lock_name) before its first use */
    atomic_compare_exchange_strong(&ls->kind, &zero, kind);
  }
  c->addr = addr;
  c->ls = ls;
  return ls;
}

/* @return the state of the lock at addr (created on first use), or NULL;
 * kind 0 (naming) looks it up without caching it. */
static inline cw_lockst *lookup(cw_tstate *ts, void *addr, uint32_t kind) {
  uint64_t ep = cw_load_acquire(&ts->sess->lc_epoch);
  if (ep != ts->lc_epoch) { /* a lock was forgotten */
    memset(ts->lc, 0, sizeof(ts->lc));
    ts->lc_epoch = ep;
  }
  uintptr_t h = (uintptr_t)addr;
  cw_lcache *c = &ts->lc[((h >> 4) ^ (h >> 12)) % CW_LOCK_CACHE];
  if (c->addr == addr)
    return c->ls; /* cached states have their kind */
  return lookup_miss(ts, c, addr, kind);
}

/* ---- Core lock events ---------------------------------------------------- */

/* Records a lock event without joins for the current actor: a compact
 * LOCK record when nothing else must go with it (the common case), else
 * a full record (first event, pending gap, lost events, trace context). */
static inline void lk_record(cw_tstate *ts, uint16_t kind, uint32_t flags,
                             cw_lockst *ls, const cw_loc *loc) {
  cw_actor *a = ts->cur;
  cw_rlk *r;
  if (!a->plain) {
    cw__record_lock(ts, kind, flags, ls, loc);
    return;
  }
  uint64_t stamp = cw__stamp(ts); /* before the record: it may anchor */
  if (!(r = cw__ring_alloc(&ts->ring, (uint32_t)sizeof(cw_rlk), 0))) {
    cw__record_lock(ts, kind, flags, ls, loc);
    return;
  }
  *r = (cw_rlk){.h = {(uint32_t)sizeof(cw_rlk), CW_R_LOCK, kind},
                .flags = flags,
                .line = loc->line,
                .slot = a->slot,
                .gen = a->gen,
                .seq = cw__seq_next(ts, stamp),
                .ctr = ++a->ctr,
                .mono = stamp,
                .lock = ls,
                .file = loc->file,
                .func = loc->func};
  cw__publish(ts);
}

/* Waiting for the lock starts (it was not free). */
static void ev_request(cw_tstate *ts, cw_lockst *ls, uint32_t flags,
                       const cw_loc *loc) {
  lk_record(ts, CW_EV_LOCK_REQUEST, flags, ls, loc);
}

/* ev_acquired() when the lock's clock is not the acquirer's own. */
static void acquired_join(cw_tstate *ts, cw_lockst *ls, uint32_t flags,
                          const cw_loc *loc) {
  cw_actor *a = ts->cur;
  const cw_vc *src = (flags & CW_EVF_SHARED) ? &ls->rclock : &ls->clock;
  uint32_t nj = cw__actor_join(ts, a, src->e, src->n);
  if (nj == 0) {
    lk_record(ts, CW_EV_LOCK_ACQUIRED, flags, ls, loc);
    return;
  }
  cw_evargs ev = {.kind = CW_EV_LOCK_ACQUIRED,
                  .flags = flags,
                  .lock = ls,
                  .joins = ts->delta,
                  .njoins = nj,
                  .loc = *loc};
  cw__record(ts, &ev);
}

/* The lock is now held: join its release clock and record the acquire.
 * Without a request before it, the acquire stands for "requested and
 * acquired at once" (the lock was free). */
static inline void ev_acquired(cw_tstate *ts, cw_lockst *ls, uint32_t flags,
                               const cw_loc *loc) {
  cw_actor *a = ts->cur;
  /* The acquire sorts after the release it follows (cw__seq_next). */
  cw__seq_join(ts, cw_load_relaxed(&ls->seq));
  /* A reader must not look at own_slot: other readers' releases write it
   * (under the state's spin) while the lock is held for reading. */
  uint32_t oslot, ogen;
  if (flags & CW_EVF_SHARED) {
    oslot = ls->rown_slot;
    ogen = ls->rown_gen;
  } else {
    oslot = ls->own_slot;
    ogen = ls->own_gen;
  }
  if (oslot == a->slot && ogen == a->gen) /* our own clock: no join */
    lk_record(ts, CW_EV_LOCK_ACQUIRED, flags, ls, loc);
  else
    acquired_join(ts, ls, flags, loc);
}

/* fill_from() when the lock's clock is not a current copy of a's. */
static void fill_full(cw_tstate *ts, cw_lockst *ls, cw_actor *a) {
  cw_vc *v = &ls->clock;
  uint32_t n = cw__actor_full(ts, a);
  ls->own_slot = UINT32_MAX;
  if (cw__vc_copy(v, ts->delta, n, UINT32_MAX, &ts->sess->actors.view) != 0)
    return; /* out of memory: the clock is incomplete */
  /* The clock is sorted by slot: find a's entry. */
  uint32_t lo = 0, hi = v->n;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (v->e[mid].slot < a->slot)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo < v->n && v->e[lo].slot == a->slot) {
    ls->own_slot = a->slot;
    ls->own_gen = a->gen;
    ls->own_ver = a->ver;
    ls->own_idx = lo;
  }
}

/* Makes the lock's clock a copy of actor a's whole clock. When it already
 * is one (same actor, and a's other entries unchanged since), only a's own
 * entry moves. */
static inline void fill_from(cw_tstate *ts, cw_lockst *ls, cw_actor *a) {
  if (ls->own_slot == a->slot && ls->own_gen == a->gen && ls->own_ver == a->ver)
    ls->clock.e[ls->own_idx].ctr = a->ctr;
  else
    fill_full(ts, ls, a);
}

/* Merges actor a's whole clock into v (callers hold the state's spin). */
static void merge_into(cw_tstate *ts, cw_vc *v, cw_actor *a) {
  uint32_t n = cw__actor_full(ts, a);
  if (cw__ts_reserve(ts, v->n + n) != 0 || cw__vc_reserve(v, v->n + n) != 0)
    return;
  uint32_t m = cw__vc_merge(v->e, v->n, ts->delta, n, UINT32_MAX,
                            &ts->sess->actors.view, ts->scratch, NULL, NULL);
  memcpy(v->e, ts->scratch, (size_t)m * sizeof(cw_ent));
  v->n = m;
}

/* *at = max(*at, seq) (callers hold the state's spin). */
static inline void seq_raise(cw_au64 *at, uint64_t seq) {
  if (cw_load_relaxed(at) < seq)
    cw_store_relaxed(at, seq);
}

/* Records the release and publishes the releaser's clock in the lock. */
static inline void ev_release(cw_tstate *ts, cw_lockst *ls, int rw, int shared,
                              const cw_loc *loc) {
  cw_actor *a = ts->cur;
  lk_record(ts, CW_EV_LOCK_RELEASE, shared ? CW_EVF_SHARED : 0, ls, loc);
  if (shared) {
    cw_spin_lock(&ls->spin);
    merge_into(ts, &ls->clock, a);
    ls->own_slot = UINT32_MAX;
    seq_raise(&ls->seq, ts->seq);
    cw_spin_unlock(&ls->spin);
    return;
  }
  cw_store_relaxed(&ls->seq, ts->seq);
  fill_from(ts, ls, a);
  if (rw) {
    /* Readers after a write release see exactly the writer's clock. */
    if (cw__vc_copy(&ls->rclock, ls->clock.e, ls->clock.n, UINT32_MAX, NULL) ==
        0) {
      ls->rown_slot = ls->own_slot;
      ls->rown_gen = ls->own_gen;
    }
  }
}

/* ---- Mutexes --------------------------------------------------------------
 */

static inline int mutex_lock(pthread_mutex_t *m, const cw_loc *loc) {
  cw_tstate *ts = cw__enter();
  if (!ts)
    return pthread_mutex_lock(m);
  cw_lockst *ls = lookup(ts, m, CW_OBJ_MUTEX);
  if (!ls) {
    cw__leave(ts);
    return pthread_mutex_lock(m);
  }
  /* A free lock records only its acquire; a busy one the request first,
   * so that a thread blocked for good is seen waiting. */
  int rc = pthread_mutex_trylock(m);
  if (rc != 0) {
    ev_request(ts, ls, 0, loc);
    rc = pthread_mutex_lock(m);
  }
  if (rc == 0)
    ev_acquired(ts, ls, 0, loc);
  cw__leave(ts);
  return rc;
}

static inline int mutex_trylock(pthread_mutex_t *m, const cw_loc *loc) {
  cw_tstate *ts = cw__enter();
  int rc = pthread_mutex_trylock(m);
  if (!ts)
    return rc;
  cw_lockst *ls = rc == 0 ? lookup(ts, m, CW_OBJ_MUTEX) : NULL;
  if (ls)
    ev_acquired(ts, ls, CW_EVF_TRY, loc);
  cw__leave(ts);
  return rc;
}

static inline int mutex_timedlock(pthread_mutex_t *m,
                                  const struct timespec *abstime,
                                  const cw_loc *loc) {
  cw_tstate *ts = cw__enter();
  if (!ts)
    return pthread_mutex_timedlock(m, abstime);
  cw_lockst *ls = lookup(ts, m, CW_OBJ_MUTEX);
  if (!ls) {
    cw__leave(ts);
    return pthread_mutex_timedlock(m, abstime);
  }
  /* A timed lock waits like a lock (its request is seen, so a wait-for
   * cycle shows while it lasts), but it can give up: TRY keeps it out of
   * the lock-order graph, and a wait that ends without the lock records a
   * lock_timeout (the analysis marks a wait-for cycle it was part of as
   * ended by a timeout). */
  int rc = pthread_mutex_trylock(m);
  int waited = 0;
  if (rc != 0) {
    ev_request(ts, ls, CW_EVF_TRY, loc);
    waited = 1;
    rc = pthread_mutex_timedlock(m, abstime);
  }
  if (rc == 0)
    ev_acquired(ts, ls, CW_EVF_TRY, loc);
  else if (waited)
    lk_record(ts, CW_EV_LOCK_TIMEOUT, CW_EVF_TRY, ls, loc);
  cw__leave(ts);
  return rc;
}

static inline int mutex_unlock(pthread_mutex_t *m, const cw_loc *loc) {
  cw_tstate *ts = cw__enter();
  if (!ts)
    return pthread_mutex_unlock(m);
  cw_lockst *ls = lookup(ts, m, CW_OBJ_MUTEX);
  if (ls)
    ev_release(ts, ls, 0, 0, loc);
  cw__leave(ts);
  return pthread_mutex_unlock(m);
}

#define CW_LOC_ARGS const char *file, const char *func, uint32_t line
#define CW_LOC_OF ((cw_loc){file, func, line})

int cw_mutex_lock_src(pthread_mutex_t *m, CW_LOC_ARGS) {
  cw_loc loc = CW_LOC_OF;
  return mutex_lock(m, &loc);
}
int cw_mutex_trylock_src(pthread_mutex_t *m, CW_LOC_ARGS) {
  cw_loc loc = CW_LOC_OF;
  return mutex_trylock(m, &loc);
}
int cw_mutex_timedlock_src(pthread_mutex_t *m, const struct timespec *abstime,
                           CW_LOC_ARGS) {
  cw_loc loc = CW_LOC_OF;
  return mutex_timedlock(m, abstime, &loc);
}
int cw_mutex_unlock_src(pthread_mutex_t *m, CW_LOC_ARGS) {
  cw_loc loc = CW_LOC_OF;
  return mutex_unlock(m, &loc);
}
int cw_mutex_lock_at(pthread_mutex_t *m, cw_loc loc) {
  return mutex_lock(m, &loc);
}
int cw_mutex_trylock_at(pthread_mutex_t *m, cw_loc loc) {
  return mutex_trylock(m, &loc);
}
int cw_mutex_timedlock_at(pthread_mutex_t *m, const struct timespec *abstime,
                          cw_loc loc) {
  return mutex_timedlock(m, abstime, &loc);
}
int cw_mutex_unlock_at(pthread_mutex_t *m, cw_loc loc) {
  return mutex_unlock(m, &loc);
}

int(cw_mutex_lock)(pthread_mutex_t *m) {
  return cw_mutex_lock_at(m, CW_LOC_NONE);
}
int(cw_mutex_trylock)(pthread_mutex_t *m) {
  return cw_mutex_trylock_at(m, CW_LOC_NONE);
}
int(cw_mutex_timedlock)(pthread_mutex_t *m, const struct timespec *t) {
  return cw_mutex_timedlock_at(m, t, CW_LOC_NONE);
}
int(cw_mutex_unlock)(pthread_mutex_t *m) {
  return cw_mutex_unlock_at(m, CW_LOC_NONE);
}

/* ---- Read-write locks ---------------------------------------------------- */

static int rw_lock(pthread_rwlock_t *l, int shared, const cw_loc *loc) {
  cw_tstate *ts = cw__enter();
  int (*tryfn)(pthread_rwlock_t *) =
      shared ? pthread_rwlock_tryrdlock : pthread_rwlock_trywrlock;
  int (*fn)(pthread_rwlock_t *) =
      shared ? pthread_rwlock_rdlock : pthread_rwlock_wrlock;
  if (!ts)
    return fn(l);
  cw_lockst *ls = lookup(ts, l, CW_OBJ_RWLOCK);
  if (!ls) {
    cw__leave(ts);
    return fn(l);
  }
  uint32_t flags = shared ? CW_EVF_SHARED : 0;
  int rc = tryfn(l);
  if (rc != 0) {
    ev_request(ts, ls, flags, loc);
    rc = fn(l);
  }
  if (rc == 0)
    ev_acquired(ts, ls, flags, loc);
  cw__leave(ts);
  return rc;
}

static int rw_trylock(pthread_rwlock_t *l, int shared, const cw_loc *loc) {
  cw_tstate *ts = cw__enter();
  int rc = shared ? pthread_rwlock_tryrdlock(l) : pthread_rwlock_trywrlock(l);
  if (!ts)
    return rc;
  cw_lockst *ls = rc == 0 ? lookup(ts, l, CW_OBJ_RWLOCK) : NULL;
  if (ls)
    ev_acquired(ts, ls, CW_EVF_TRY | (shared ? CW_EVF_SHARED : 0), loc);
  cw__leave(ts);
  return rc;
}

/* The thread's read holds of rwlocks, to tell a read unlock from a write
 * unlock (pthread_rwlock_unlock does not say). Bounded; a deeper nesting
 * falls back to "write". */
typedef struct rdheld {
  void *lock[16];
  uint32_t n;
} rdheld;
static _Thread_local rdheld rd_held;

static int rd_pop(void *l) {
  for (uint32_t i = rd_held.n; i > 0; i--) {
    if (rd_held.lock[i - 1] == l) {
      rd_held.lock[i - 1] = rd_held.lock[--rd_held.n];
      return 1;
    }
  }
  return 0;
}

static void rd_push(void *l) {
  if (rd_held.n < 16)
    rd_held.lock[rd_held.n++] = l;
}

static int rw_acquire(pthread_rwlock_t *l, int shared, int try_only,
                      const cw_loc *loc) {
  int rc = try_only ? rw_trylock(l, shared, loc) : rw_lock(l, shared, loc);
  if (rc == 0 && shared)
    rd_push(l);
  return rc;
}

static inline int rwlock_unlock(pthread_rwlock_t *l, const cw_loc *loc) {
  int shared = rd_pop(l);
  cw_tstate *ts = cw__enter();
  if (!ts)
    return pthread_rwlock_unlock(l);
  cw_lockst *ls = lookup(ts, l, CW_OBJ_RWLOCK);
  if (ls)
    ev_release(ts, ls, 1, shared, loc);
  cw__leave(ts);
  return pthread_rwlock_unlock(l);
}

int cw_rwlock_rdlock_src(pthread_rwlock_t *l, CW_LOC_ARGS) {
  cw_loc loc = CW_LOC_OF;
  return rw_acquire(l, 1, 0, &loc);
}
int cw_rwlock_wrlock_src(pthread_rwlock_t *l, CW_LOC_ARGS) {
  cw_loc loc = CW_LOC_OF;
  return rw_acquire(l, 0, 0, &loc);
}
int cw_rwlock_tryrdlock_src(pthread_rwlock_t *l, CW_LOC_ARGS) {
  cw_loc loc = CW_LOC_OF;
  return rw_acquire(l, 1, 1, &loc);
}
int cw_rwlock_trywrlock_src(pthread_rwlock_t *l, CW_LOC_ARGS) {
  cw_loc loc = CW_LOC_OF;
  return rw_acquire(l, 0, 1, &loc);
}
int cw_rwlock_unlock_src(pthread_rwlock_t *l, CW_LOC_ARGS) {
  cw_loc loc = CW_LOC_OF;
  return rwlock_unlock(l, &loc);
}
int cw_rwlock_rdlock_at(pthread_rwlock_t *l, cw_loc loc) {
  return rw_acquire(l, 1, 0, &loc);
}
int cw_rwlock_wrlock_at(pthread_rwlock_t *l, cw_loc loc) {
  return rw_acquire(l, 0, 0, &loc);
}
int cw_rwlock_tryrdlock_at(pthread_rwlock_t *l, cw_loc loc) {
  return rw_acquire(l, 1, 1, &loc);
}
int cw_rwlock_trywrlock_at(pthread_rwlock_t *l, cw_loc loc) {
  return rw_acquire(l, 0, 1, &loc);
}
int cw_rwlock_unlock_at(pthread_rwlock_t *l, cw_loc loc) {
  return rwlock_unlock(l, &loc);
}

int(cw_rwlock_rdlock)(pthread_rwlock_t *l) {
  return cw_rwlock_rdlock_at(l, CW_LOC_NONE);
}
int(cw_rwlock_wrlock)(pthread_rwlock_t *l) {
  return cw_rwlock_wrlock_at(l, CW_LOC_NONE);
}
int(cw_rwlock_tryrdlock)(pthread_rwlock_t *l) {
  return cw_rwlock_tryrdlock_at(l, CW_LOC_NONE);
}
int(cw_rwlock_trywrlock)(pthread_rwlock_t *l) {
  return cw_rwlock_trywrlock_at(l, CW_LOC_NONE);
}
int(cw_rwlock_unlock)(pthread_rwlock_t *l) {
  return cw_rwlock_unlock_at(l, CW_LOC_NONE);
}

/* ---- Condition variables ------------------------------------------------- */

static int cond_wait(pthread_cond_t *c, pthread_mutex_t *m,
                     const struct timespec *abstime, cw_loc loc) {
  cw_tstate *ts = cw__enter();
  if (!ts)
    return abstime ? pthread_cond_timedwait(c, m, abstime)
                   : pthread_cond_wait(c, m);
  cw_lockst *ls = lookup(ts, m, CW_OBJ_MUTEX);
  if (ls)
    ev_release(ts, ls, 0, 0, &loc);
  /* Other threads may use the SDK while this one sleeps; it stays busy so
   * a signal handler cannot re-enter, which is harmless. */
  int rc =
      abstime ? pthread_cond_timedwait(c, m, abstime) : pthread_cond_wait(c, m);
  /* The mutex is held again, also after a timeout: an acquire without a
   * request (the wait for the mutex itself is not observed). */
  if (ls && (rc == 0 || rc == ETIMEDOUT))
    ev_acquired(ts, ls, 0, &loc);
  cw__leave(ts);
  return rc;
}

int cw_cond_wait_at(pthread_cond_t *c, pthread_mutex_t *m, cw_loc loc) {
  return cond_wait(c, m, NULL, loc);
}

int cw_cond_timedwait_at(pthread_cond_t *c, pthread_mutex_t *m,
                         const struct timespec *abstime, cw_loc loc) {
  return cond_wait(c, m, abstime, loc);
}

int(cw_cond_wait)(pthread_cond_t *c, pthread_mutex_t *m) {
  return cond_wait(c, m, NULL, CW_LOC_NONE);
}

int(cw_cond_timedwait)(pthread_cond_t *c, pthread_mutex_t *m,
                       const struct timespec *t) {
  return cond_wait(c, m, t, CW_LOC_NONE);
}

/* ---- Naming -------------------------------------------------------------- */

cw_status cw_lock_name(void *lock, const char *name) {
  if (!lock || (name && (!name[0] || strlen(name) > CW_KEY_MAX)))
    return CW_EINVAL;
  cw_tstate *ts = cw__enter();
  if (!ts)
    return CW_EDISABLED;
  cw_lockst *ls = lookup(ts, lock, 0);
  cw_status st = CW_ENOMEM;
  if (ls && cw__locktab_rename(&ts->sess->locks, ls, name) == 0)
    st = CW_OK;
  cw__leave(ts);
  return st;
}

cw_status cw_lock_forget(void *lock) {
  cw_tstate *ts = cw__enter();
  if (!ts)
    return CW_EDISABLED;
  if (cw__locktab_forget(&ts->sess->locks, lock))
    cw_fetch_add_acqrel(&ts->sess->lc_epoch, 1);
  cw__leave(ts);
  return CW_OK;
}

/* ---- Mutex annotation hooks -----------------------------------------------
 */

static cw_lockst *hook_state(cw_tstate *ts, void *mutex, const char *name) {
  cw_lockst *ls = lookup(ts, mutex, CW_OBJ_MUTEX);
  if (ls && name && !atomic_load_explicit(&ls->name, memory_order_acquire))
    (void)cw__locktab_rename(&ts->sess->locks, ls, name);
  return ls;
}

void cw_annotate_mutex_before_lock_at(void *mutex, const char *name,
                                      cw_loc loc) {
  cw_tstate *ts = cw__enter();
  if (!ts)
    return;
  cw_lockst *ls = hook_state(ts, mutex, name);
  if (ls)
    ev_request(ts, ls, 0, &loc);
  cw__leave(ts);
}

void cw_annotate_mutex_after_lock_at(void *mutex, const char *name,
                                     cw_loc loc) {
  cw_tstate *ts = cw__enter();
  if (!ts)
    return;
  cw_lockst *ls = hook_state(ts, mutex, name);
  if (ls)
    ev_acquired(ts, ls, 0, &loc);
  cw__leave(ts);
}

void cw_annotate_mutex_before_unlock_at(void *mutex, const char *name,
                                        cw_loc loc) {
  cw_tstate *ts = cw__enter();
  if (!ts)
    return;
  cw_lockst *ls = hook_state(ts, mutex, name);
  if (ls)
    ev_release(ts, ls, 0, 0, &loc);
  cw__leave(ts);
}

void(cw_annotate_mutex_before_lock)(void *mutex, const char *name) {
  cw_annotate_mutex_before_lock_at(mutex, name, CW_LOC_NONE);
}
void(cw_annotate_mutex_after_lock)(void *mutex, const char *name) {
  cw_annotate_mutex_after_lock_at(mutex, name, CW_LOC_NONE);
}
void(cw_annotate_mutex_before_unlock)(void *mutex, const char *name) {
  cw_annotate_mutex_before_unlock_at(mutex, name, CW_LOC_NONE);
}

/* ---- Release/acquire annotations ------------------------------------------
 */

void cw_annotate_release_at(const char *key, cw_loc loc) {
  if (!key || !key[0])
    return;
  cw_tstate *ts = cw__enter();
  if (!ts)
    return;
  size_t len = strnlen(key, CW_KEY_MAX);
  cw_lockst *ls = cw__locktab_key(&ts->sess->keys, key, len);
  cw_evargs ev = {
      .kind = CW_EV_ANN_RELEASE, .obj = key, .obj_len = len, .loc = loc};
  cw__record(ts, &ev);
  if (ls) {
    cw_spin_lock(&ls->spin);
    merge_into(ts, &ls->clock, ts->cur);
    seq_raise(&ls->seq, ts->seq);
    cw_spin_unlock(&ls->spin);
  }
  cw__leave(ts);
}

void cw_annotate_acquire_at(const char *key, cw_loc loc) {
  if (!key || !key[0])
    return;
  cw_tstate *ts = cw__enter();
  if (!ts)
    return;
  size_t len = strnlen(key, CW_KEY_MAX);
  cw_lockst *ls = cw__locktab_key(&ts->sess->keys, key, len);
  uint32_t nj = 0;
  if (ls) {
    cw_spin_lock(&ls->spin);
    int rc = cw__vc_copy(&ts->tmp, ls->clock.e, ls->clock.n, UINT32_MAX, NULL);
    cw__seq_join(ts, cw_load_relaxed(&ls->seq));
    cw_spin_unlock(&ls->spin);
    if (rc == 0)
      nj = cw__actor_join(ts, ts->cur, ts->tmp.e, ts->tmp.n);
  }
  cw_evargs ev = {.kind = CW_EV_ANN_ACQUIRE,
                  .obj = key,
                  .obj_len = len,
                  .joins = ts->delta,
                  .njoins = nj,
                  .loc = loc};
  cw__record(ts, &ev);
  cw__leave(ts);
}

void(cw_annotate_release)(const char *key) {
  cw_annotate_release_at(key, CW_LOC_NONE);
}
void(cw_annotate_acquire)(const char *key) {
  cw_annotate_acquire_at(key, CW_LOC_NONE);
}
