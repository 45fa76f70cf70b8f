/*
 * cw_internal.h: the SDK's shared internal types (not API).
 *
 * DESIGN. One heap object, the session (cw_sess), holds everything a
 * cw_init()..cw_shutdown() run owns; the global pointer cw__cur publishes
 * it (NULL = not tracing, so every wrapper passes straight through after a
 * single atomic load). Each OS thread owns a cw_tstate, found through a
 * C11 thread-local pointer: its event ring (cw_ring.h), its thread actor,
 * a small stack of task actors, scratch space for clock merges, and a
 * lock-state cache. Recording an event touches only that thread-local
 * state, the lock's own state (guarded by the user's lock, or a per-object
 * spin lock for rwlock read-releases and annotation keys), and one
 * read-mostly word (the sequence floor, below). No line is written by every
 * thread: the sequence number is a per-thread hybrid logical clock
 * (cw__seq_next). The drain thread (cw_drain.c) is the only consumer of
 * rings and the only code that retires actors.
 */
#ifndef CW_INTERNAL_H
#define CW_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "causeway.h"
#include "cw_atomic.h"
#include "cw_ring.h"
#include "cw_stamp.h"
#include "cw_vclock.h"

struct cw_sink;

#define CW_NAME_MAX 128 /* actor names (full remote names fit) */
#define CW_KEY_MAX 127  /* variable / lock / annotation keys */
#define CW_VAL_MAX 127  /* string values */
#define CW_DETAIL_MAX 255
#define CW_TASK_DEPTH 4
#define CW_SPAN_DEPTH 16
#define CW_LOCK_CACHE 64
#define CW_KEY_CACHE 16 /* variable keys interned per thread (ACCESS) */

/* ---- Allocation (cw_core.c) ------------------------------------------------
 */

void *cw__malloc(size_t n);
void *cw__calloc(size_t n, size_t size);
void *cw__realloc(void *p, size_t n);
void cw__free(void *p);
char *cw__strndup(const char *s, size_t max);
/* Aborts with a message: internal invariants and pthread errors only. */
void cw__fatal(const char *what, int err);
#define CW_CHECK(call)                                                         \
  do {                                                                         \
    int cw_rc_ = (call);                                                       \
    if (cw_rc_ != 0)                                                           \
      cw__fatal(#call, cw_rc_);                                                \
  } while (0)

/* FNV-1a of n bytes, for the SDK's internal hash tables. */
static inline uint64_t cw__hash_bytes(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 1099511628211ull;
  }
  return h;
}

/* ---- Actor table (cw_actors.c) ---------------------------------------------
 */

enum { CW_SLOT_FREE = 0 };

typedef struct cw_aslot {
  uint32_t kind;          /* CW_ACTOR_THREAD/TASK/REMOTE, 0 when free */
  uint64_t birth;         /* creation order, for "most recent first" */
  uint32_t hnext;         /* remote-name hash chain (slot + 1, 0 = end) */
  uint32_t lnext;         /* local-name hash chain (slot + 1, 0 = end) */
  char name[CW_NAME_MAX]; /* local part, or the full name when REMOTE */
} cw_aslot;

typedef struct cw_actab {
  pthread_mutex_t mu; /* guards allocation, names of free slots,
                         the free queue and the remote-name hash */
  cw_aslot *slots;
  cw_au32 *gens; /* per slot, bumped when its actor is retired */
  cw_gens view;  /* {gens, cap}, for clock pruning */
  uint32_t cap;
  uint32_t *freeq; /* FIFO of free slots: reuse is as late as can be */
  uint32_t fhead, fcount;
  uint32_t *buckets;  /* remote-name hash: slot + 1 */
  uint32_t *lbuckets; /* local-name hash (threads, tasks): slot + 1 */
  uint32_t nbuckets;
  uint64_t births;
  uint32_t live;
} cw_actab;

/* @return 1 when (slot, gen) names a live (not retired) actor. */
static inline int cw__slot_valid(const cw_actab *t, uint32_t slot,
                                 uint32_t gen) {
  return slot < t->cap && cw_load_acquire(&t->gens[slot]) == gen;
}

int cw__actab_init(cw_actab *t, uint32_t cap);
void cw__actab_free(cw_actab *t);
/* Allocates a slot named `name` (local part, or full for REMOTE).
 * @return 0 and the slot/gen, or -1 when the table is full. */
int cw__actab_alloc(cw_actab *t, uint32_t kind, const char *name,
                    uint32_t *slot, uint32_t *gen);
/* Finds or creates the REMOTE slot of a full actor name. Locked. */
int cw__actab_remote(cw_actab *t, const char *name, size_t len, uint32_t *slot,
                     uint32_t *gen);
/* Finds the live local (thread or task) actor whose local name is `name`
 * (the most recently created one if several share it). Locked.
 * @return 0 and its slot/gen, or -1 when there is none. */
int cw__actab_local(cw_actab *t, const char *name, size_t len, uint32_t *slot,
                    uint32_t *gen);
/* Renames a local actor's slot (before its first event). Locked. */
void cw__actab_rename(cw_actab *t, uint32_t slot, const char *name);
/* Retires a slot (drain thread only): bumps gen, frees the slot. */
void cw__actab_retire(cw_actab *t, uint32_t slot, uint32_t gen);

/* ---- Lock and annotation-key state (cw_locktab.c) ------------------------ */

enum { CW_OBJ_MUTEX = 1, CW_OBJ_RWLOCK = 2, CW_OBJ_KEY = 3 };

typedef struct cw_lockst {
  void *addr;                   /* lock address (NULL for keys) */
  cw_au32 kind;                 /* CW_OBJ_*; 0 until first use (mutex/rwlock) */
  _Atomic(char *) name;         /* set by cw_lock_name, or the key */
  cw_spin spin;                 /* rwlock read-release, keys */
  cw_vc clock;                  /* release clock (rwlock: all releases) */
  cw_vc rclock;                 /* rwlock only: write releases */
  uint32_t own_slot, own_gen;   /* clock is a copy of this actor's clock */
  uint64_t own_ver;             /* ...at this version of its vc */
  uint32_t own_idx;             /* ...whose own entry is clock.e[own_idx] */
  uint32_t rown_slot, rown_gen; /* rwlock: the same for rclock */
  cw_au64 seq;                  /* largest sequence number of a release */
  struct cw_lockst *next;       /* hash chain */
  uint64_t hash;
} cw_lockst;

typedef struct cw_locktab {
  pthread_mutex_t mu;
  cw_lockst **buckets;
  uint32_t nbuckets, count;
  cw_lockst *graveyard; /* forgotten states, freed at shutdown */
  char **oldnames;      /* replaced names, freed at shutdown */
  uint32_t noldnames, capoldnames;
} cw_locktab;

int cw__locktab_init(cw_locktab *t);
void cw__locktab_free(cw_locktab *t);
/* @return the state of lock `addr`, created on first use, or NULL (OOM). */
cw_lockst *cw__locktab_addr(cw_locktab *t, void *addr, uint32_t kind);
/* @return the state of annotation key `key`, or NULL. */
cw_lockst *cw__locktab_key(cw_locktab *t, const char *key, size_t len);
int cw__locktab_forget(cw_locktab *t, void *addr);
int cw__locktab_rename(cw_locktab *t, cw_lockst *ls, const char *name);

/* ---- Actors and thread state -----------------------------------------------
 */

typedef struct cw_span {
  uint64_t start;
  uint8_t span_id[8], parent[8];
  uint16_t nlen;
  char name[64];
} cw_span;

typedef struct cw_actor {
  uint32_t slot, gen;
  uint32_t kind;
  int started; /* its first (start/begin) event was recorded */
  int ended;
  int has_parent;       /* thread made by cw_thread_create */
  uint32_t pslot, pgen; /* ...its parent actor */
  int span_overflow;    /* spans begun beyond CW_SPAN_DEPTH */
  uint64_t ctr;         /* own component; +1 per event */
  cw_vc vc;             /* every other component, sorted by slot */
  uint64_t ver;         /* bumped when vc changes */
  int need_full;        /* next event carries the whole clock */
  int plain; /* started, not ended, no whole clock, gap or trace context
                due: the next event may take a direct ring record. Set by
                cw__record after a write, cleared by what changes these */
  uint64_t gap_n, gap_first, gap_last; /* dropped, not yet reported */
  int has_trace;
  uint8_t trace_id[16], span_id[8], parent_span[8];
  cw_span spans[CW_SPAN_DEPTH];
  int nspans;
  uint16_t nlen;
  char name[64]; /* task label */
} cw_actor;

struct cw_sess;

typedef struct cw_lcache {
  void *addr;
  cw_lockst *ls;
} cw_lcache;

/* The producer's key cache: slot k of it holds the key last sent as key id
 * k + 1 (its address and bytes), so that an access to the same key sends
 * the id alone. */
typedef struct cw_kcache {
  const char *p;
  uint32_t len;
  char bytes[CW_KEY_MAX];
} cw_kcache;

/* The drain's copy of a thread's key ids: the bytes of key id k + 1 and,
 * for the batch `stamp`, its string id. */
typedef struct cw_dkey {
  uint64_t stamp;
  uint32_t sid, len;
  char bytes[CW_KEY_MAX];
} cw_dkey;

typedef struct cw_tstate {
  struct cw_sess *sess;
  cw_ring ring;
  cw_aint exited;              /* set after the last record: drain frees it */
  cw_stampconv conv;           /* the drain's: converts this thread's stamps */
  cw_dkey dkeys[CW_KEY_CACHE]; /* the drain's: this thread's key ids */
  char pad_[CW_CACHE_LINE];    /* the above is the drain's side */
  int busy;                    /* reentrancy guard */
  uint64_t seq;                /* the last sequence number taken */
  cw_au64 nrec;                /* events recorded (cw_stats_get reads it) */
  uint64_t anchor_tsc;         /* ticks of the last ANCHOR (cw_stamp.h) */
  cw_actor thr;
  cw_actor tasks[CW_TASK_DEPTH];
  int ntasks;
  cw_actor *cur;
  cw_ent *scratch; /* merge output, swapped with actor clocks */
  uint32_t scratch_cap;
  cw_ent *delta; /* entries raised by the current event */
  uint32_t delta_cap;
  cw_vc tmp;              /* copy of a shared clock being joined */
  struct cw_child *child; /* made by cw_thread_create: report the end */
  uint64_t lc_epoch;
  cw_lcache lc[CW_LOCK_CACHE];
  cw_kcache kc[CW_KEY_CACHE];
  uint64_t rng;
} cw_tstate;

/* ---- The session ------------------------------------------------------------
 */

typedef struct cw_sess {
  uint64_t serial; /* 1, 2, ... per cw_init in this process */
  cw_config cfg;   /* copy; string fields point into the session */
  char service[64];
  char instance[64];
  char prefix[136]; /* "service#instance/" */
  size_t prefix_len;
  char *trace_path;
  uint8_t stream_id[16];
  int64_t base_wall;
  uint64_t base_mono;
  int use_tsc;        /* events carry TSC ticks (cw_stamp.h) */
  uint64_t seq_base;  /* the raw stamp sequence numbers count from */
  cw_stampmap stamps; /* rate: drain thread only after init */
  pthread_t init_thread;

  /* Every event reads the sequence floor; only the drain writes it, when
   * it retires actors (cw__seq_next). Its own cache line keeps that write
   * from touching the fields every event reads. */
  char pad_seq0_[CW_CACHE_LINE];
  cw_au64 seq_floor;
  char pad_seq1_[CW_CACHE_LINE];
  cw_au64 st_events_gone; /* events recorded by threads already freed */
  cw_au32 nthreads;       /* for "t<N>" names */
  cw_au32 ntasks;         /* for "task-<N>" names */
  cw_au64 lc_epoch;       /* bumped by cw_lock_forget */

  cw_actab actors;
  cw_locktab locks;
  cw_locktab keys;

  pthread_mutex_t reg_mu; /* thread registry and child-thread records */
  cw_tstate **threads;
  uint32_t nthreads_reg, capthreads;
  struct cw_child *children;

  struct cw_sink *sink;
  pthread_t drain;
  int drain_started;
  int drain_running;       /* under dmu: the drain thread has started */
  pthread_mutex_t work_mu; /* held by the drain during a pass */
  pthread_mutex_t dmu;     /* flush and stop hand-shake */
  pthread_cond_t fcv;
  int stop;
  cw_au32 dwake;  /* futex word: bumped to wake the sleeping drain */
  cw_aint dsleep; /* the drain is (about to be) asleep on dwake */
  uint64_t flush_req, flush_done;
  int flush_err;
  struct cw_drain *dr; /* drain-thread-private state */
  cw_aint paused;      /* tests: the drain skips its passes */

  cw_au64 st_dropped, st_written, st_batches, st_bytes, st_retired,
      st_max_clock;
} cw_sess;

/* The current session, or NULL. */
extern _Atomic(cw_sess *) cw__cur;
/* Set in a forked child that must start its own session (trace
 * directory mode) on its first SDK call; cw__fork_reinit() does it. */
extern cw_aint cw__fork_pending;
cw_sess *cw__fork_reinit(void);
/* The calling thread's state (any session), or NULL. */
extern _Thread_local cw_tstate *cw__tls;
/* Marks the calling thread as the SDK's own (drain, transport): nothing it
 * does is ever traced, even instrumented calls made by user hooks. */
void cw__thread_untraced(void);
/* Non-zero while this thread runs the user's allocator hook (cw_core.c). */
extern _Thread_local int cw__in_alloc;

/* ---- Recording (cw_record.c) ----------------------------------------------
 */

/* One event to record for the current actor. */
typedef struct cw_evargs {
  uint16_t kind;
  uint32_t flags;
  const char *obj; /* inline object string, or NULL */
  size_t obj_len;
  cw_lockst *lock;      /* object is this lock's name */
  uint32_t oslot, ogen; /* object is this actor's name (ogen+1 != 0) */
  int has_oactor;
  const char *vstr;
  size_t vlen;
  int64_t vint;
  const char *detail;
  size_t dlen;
  int64_t aux;
  uint64_t dur;
  const cw_ent *joins;
  uint32_t njoins;
  cw_loc loc;
  int critical; /* may use the ring's reserve (ends, gaps) */
} cw_evargs;

/* cw__enter() for every case but "registered and not busy": not tracing
 * (or a forked child's first call), registration, re-entry. */
cw_tstate *cw__enter_slow(cw_sess *s);

/* Returns the calling thread's state for the current session, registering
 * the thread on first use; NULL when not tracing, re-entered, or the
 * thread is out of resources. Sets ts->busy; call cw__leave() after. */
static inline cw_tstate *cw__enter(void) {
  cw_sess *s = atomic_load_explicit(&cw__cur, memory_order_acquire);
  cw_tstate *ts = cw__tls;
  if (ts && ts->sess == s && !ts->busy) { /* ts->sess is never NULL */
    ts->busy = 1;
    return ts;
  }
  return cw__enter_slow(s);
}
static inline void cw__leave(cw_tstate *ts) {
  ts->busy = 0;
}

/* Forgets the calling thread's state (it was freed or handed over). */
void cw__tls_clear(void);

/* Records one event for ts->cur (counter, seq, time, trace context). */
void cw__record(cw_tstate *ts, const cw_evargs *ev);

/* Grows the thread's scratch arrays to hold n entries. @return 0 or -1. */
int cw__ts_reserve(cw_tstate *ts, uint32_t n);

/* cw__record for a lock event without joins (`loc` is borrowed). */
void cw__record_lock(cw_tstate *ts, uint16_t kind, uint32_t flags,
                     cw_lockst *lock, const cw_loc *loc);

/* cw__record for a state access without a string value: a compact
 * ACCESS record naming the key by a per-thread id (its bytes go into the
 * ring only when the id is (re)assigned), or cw__record when the actor is
 * not `plain` or the ring is full. */
void cw__record_access(cw_tstate *ts, uint16_t kind, uint32_t flags,
                       const char *key, int64_t vint, cw_loc loc);

/* Joins n sorted entries into the current actor's clock; the raised
 * entries land in ts->delta. @return the number raised. */
uint32_t cw__actor_join(cw_tstate *ts, cw_actor *a, const cw_ent *src,
                        uint32_t n);
/* Writes actor a's whole clock (self included), sorted, into ts->delta.
 * @return the entry count. */
uint32_t cw__actor_full(cw_tstate *ts, cw_actor *a);

/* Ends an actor: records its end event (critical). */
void cw__actor_end(cw_tstate *ts, cw_actor *a, uint16_t kind);

/* Event record in a ring: this header, then the trace context (32 bytes,
 * with CW_EVF_TRACE), the joins, the object, the string value and the
 * detail. */
enum { CW_OBJ_NONE = 0, CW_OBJ_STR = 1, CW_OBJ_LOCK = 2, CW_OBJ_ACTOR = 3 };

typedef struct cw_rev {
  cw_rhdr h;
  uint16_t kind;
  uint8_t obj_kind;
  uint8_t pad_;
  uint32_t flags;
  uint32_t slot, gen;
  uint64_t seq, ctr, mono;
  const char *file, *func;
  uint32_t line, njoins;
  cw_lockst *lock;
  uint32_t oslot, ogen;
  int64_t vint, aux;
  uint64_t dur;
  uint16_t obj_len, vlen, dlen, pad2_;
} cw_rev;

/* LOCK record: the compact form of a lock request, acquire or release
 * event without joins, trace context or pending gap (the uncontended
 * case); kind in h.pad_. The object is the lock's name. */
typedef struct cw_rlk {
  cw_rhdr h;
  uint32_t flags, line;
  uint32_t slot, gen;
  uint64_t seq, ctr, mono;
  const char *file, *func; /* where cw_racc has them (the drain's steady
                              loop reads both through one layout) */
  cw_lockst *lock;
} cw_rlk;

/* ACCESS record: the compact form of a state access without a string
 * value, under the same conditions as a LOCK record; kind in h.pad_. The
 * key is the thread's key id `kid` (1..CW_KEY_CACHE); with `def` set, the
 * record (re)defines it: its `klen` bytes follow the record. */
typedef struct cw_racc {
  cw_rhdr h;
  uint32_t flags, line;
  uint32_t slot, gen;
  uint64_t seq, ctr, mono;
  const char *file, *func;
  int64_t vint;
  uint16_t kid, klen;
  uint32_t def;
} cw_racc;

/* ANCHOR record: the thread's (ticks, CLOCK_MONOTONIC) pair (cw_stamp.h). */
typedef struct cw_ranchor {
  cw_rhdr h;
  uint64_t tsc, mono;
} cw_ranchor;

/* GAP record: `n` events of the actor, seq in [first, last], were lost. */
typedef struct cw_rgap {
  cw_rhdr h;
  uint32_t slot, gen;
  uint64_t n, first, last;
} cw_rgap;

/* ---- Threads (cw_thread.c) -------------------------------------------------
 */

/* Ends a cw_thread_create thread's actors and hands its final clock to the
 * joiner (ts busy). */
void cw__child_finish(cw_tstate *ts);
/* Frees the session's records of threads never joined (shutdown). */
void cw__children_free(cw_sess *s);
cw_tstate *cw__register(cw_sess *s, const cw_actor *spawn);

/* ---- Drain (cw_drain.c)
 * ------------------------------------------------------ */

int cw__drain_start(cw_sess *s);
/* Tests only: pauses (1) or resumes (0) the drain's passes. */
void cw__drain_pause(int on);
/* Stops the drain thread after a final pass and flush.
 * @return 0, or -1 when a batch was lost outright (a sink write failed). */
int cw__drain_stop(cw_sess *s);
/* Asks the drain for a pass and a write-out, and waits for it. */
int cw__drain_flush(cw_sess *s);
void cw__drain_free(cw_sess *s);

/* Registers a thread state with the drain (locked). @return 0 or -1. */
int cw__registry_add(cw_sess *s, cw_tstate *ts);
void cw__tstate_free(cw_tstate *ts);

/* ---- Misc ---------------------------------------------------------------- */

uint64_t cw__mono_ns(void);
/* Writes an ANCHOR record for TSC reading t (cw_stamp.h). */
void cw__stamp_anchor(cw_tstate *ts, uint64_t t);
/* SEQUENCE NUMBERS. An event's sequence number is a hybrid logical clock
 * kept per thread, not a process-wide counter (whose cache line every
 * recording core would take in turn: that cost 40 ns an event with two
 * threads on two cores). It is the largest of
 *  - the thread's previous number + 1 (strictly increasing per thread),
 *  - the event's own raw stamp (TSC ticks or CLOCK_MONOTONIC ns) less the
 *    session's first one (seq_base: numbers start near 0 at cw_init, and
 *    stay below 2^53, exact in a JSON reader's double, for about 50 days
 *    of 2 GHz ticks), so that numbers follow real time across threads
 *    wherever the clock does,
 *  - the numbers of the events it synchronises with (cw__seq_join: a lock's
 *    last release, the fork of a thread, the end of a joined thread, an
 *    annotation key's releases, a snapshot taken in this process), so that
 *    sequence order is a linear extension of happens-before even where
 *    CPUs' counters disagree,
 *  - the session's floor, raised by the drain before it retires an actor
 *    (cw_drain.c): every event recorded after a retirement, whose clock may
 *    omit the retired actor, sorts after the RETIRE record.
 * Two threads may take the same number (equal stamps); (seq, actor) is
 * unique. */
/* A raw stamp read now (TSC ticks or CLOCK_MONOTONIC ns), without the
 * anchoring of cw__stamp: for the session's base and the drain. */
static inline uint64_t cw__raw_stamp(const cw_sess *s) {
  return s->use_tsc ? cw__tsc() : cw__mono_ns();
}
/* The clock part of a sequence number: the raw stamp since the session's
 * first; a counter behind it (another CPU's) counts as 0. */
static inline uint64_t cw__seq_time(const cw_sess *s, uint64_t stamp) {
  return stamp > s->seq_base ? stamp - s->seq_base : 0;
}
static inline uint64_t cw__seq_next(cw_tstate *ts, uint64_t stamp) {
  const cw_sess *s = ts->sess;
  uint64_t q = ts->seq + 1;
  uint64_t floor = cw_load_relaxed(&s->seq_floor);
  uint64_t t = cw__seq_time(s, stamp);
  if (t > q)
    q = t;
  if (floor > q)
    q = floor;
  ts->seq = q;
  cw_store_relaxed(&ts->nrec, cw_load_relaxed(&ts->nrec) + 1);
  return q;
}
/* The thread's next event happens after an event numbered `seq`. */
static inline void cw__seq_join(cw_tstate *ts, uint64_t seq) {
  if (seq > ts->seq)
    ts->seq = seq;
}

/* An event's raw timestamp (TSC ticks or CLOCK_MONOTONIC ns). Call it
 * before allocating the event's ring record: it may write an ANCHOR
 * record, which must precede the event. */
static inline uint64_t cw__stamp(cw_tstate *ts) {
  const cw_sess *s = ts->sess;
  if (!s->use_tsc)
    return cw__mono_ns();
  uint64_t t = cw__tsc();
  /* Unsigned: a counter below the anchor re-anchors too. */
  if (t - ts->anchor_tsc > s->stamps.anchor_ticks)
    cw__stamp_anchor(ts, t);
  return t;
}
/* Wakes the drain thread if it sleeps (a ring passed its high water). */
void cw__drain_kick(cw_sess *s);
/* Producer: publishes the records allocated so far, and wakes the drain
 * when the ring asked for it. */
static inline void cw__publish(cw_tstate *ts) {
  cw__ring_commit(&ts->ring);
  if (ts->ring.wake) {
    ts->ring.wake = 0;
    cw__drain_kick(ts->sess);
  }
}
int64_t cw__wall_ns(void);
/* Formats actor (slot,gen)'s full name; `locked` = caller holds actors.mu.
 * @return its length, or 0 when stale. */
size_t cw__actor_fullname(cw_sess *s, uint32_t slot, uint32_t gen, char *buf,
                          size_t cap);

#endif /* CW_INTERNAL_H */
