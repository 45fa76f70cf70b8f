/*
 * ae_internal.h: private structures of the analysis engine, shared by its
 * modules (engine core, vector clocks, races, lock graph, wait-for graph,
 * contention, critical path). Nothing here is API.
 *
 * DESIGN. Every entity is dense: symbols, actors, variables, locks and
 * annotation keys are numbered from 1 and kept in arrays, so the hot path
 * (one access) is array indexing plus, off the clean-point path, a look
 * at the variable's per-actor records (ae_race.c). Vector clocks are sparse
 * sorted (actor, counter) arrays, so that a service with millions of
 * short-lived task actors keeps clocks as large as the set of actors it
 * actually heard of, and retired actors are dropped from clocks on the next
 * join.
 */
#ifndef CW_AE_INTERNAL_H
#define CW_AE_INTERNAL_H

#include "cw_analysis.h"

#include <stddef.h>
#include <stdint.h>

/* ---- Memory ------------------------------------------------------------ */

/* Allocation wrappers: they abort on exhaustion (the engine has no error
 * path for OOM; every buffer is bounded by the entities of the input). */
void *cw__ae_alloc(size_t n);
void *cw__ae_calloc(size_t n, size_t sz);
void *cw__ae_realloc(void *p, size_t n);
void cw__ae_free(void *p);
/* Grows array *pp (elements of sz bytes, capacity *cap) so that element
 * i exists, zero-filling the new elements. */
void cw__ae_index(void *pp, uint32_t *cap, uint32_t i, size_t sz);

/* Grows array `ptr` of capacity `cap` (any unsigned type) to hold `need`. */
#define AE_RESERVE(ptr, cap, need)                                             \
  do {                                                                         \
    if ((size_t)(need) > (size_t)(cap)) {                                      \
      size_t nc_ = (cap) ? (size_t)(cap)*2 : 4;                                \
      while (nc_ < (size_t)(need))                                             \
        nc_ *= 2;                                                              \
      (ptr) = cw__ae_realloc((ptr), nc_ * sizeof(*(ptr)));                     \
      (cap) = nc_;                                                             \
    }                                                                          \
  } while (0)

/* ---- Hash map: (u64, u64) -> u32 ---------------------------------------- */

typedef struct ae_map {
  uint64_t *ka, *kb;
  uint32_t *val; /* stored value + 1; 0 marks an empty slot */
  size_t cap, n;
} ae_map;

/* @return a pointer to the value of (a, b), or NULL. */
uint32_t *cw__map_get(const ae_map *m, uint64_t a, uint64_t b);
/* Inserts (a, b) -> v unless present. @return 1 if inserted, 0 if it was
 * there; *out receives the stored value either way. */
int cw__map_put(ae_map *m, uint64_t a, uint64_t b, uint32_t v, uint32_t *out);
/* Removes (a, b) if present. */
void cw__map_del(ae_map *m, uint64_t a, uint64_t b);
void cw__map_free(ae_map *m);
uint64_t cw__hash_bytes(const void *p, size_t n);

/* ---- Vector clocks ----------------------------------------------------- */

typedef struct ae_vce {
  uint32_t actor;
  uint32_t pad;
  uint64_t c;
} ae_vce;

typedef struct ae_vc {
  uint32_t n, cap;
  uint32_t full; /* n after the last merging join (see cw__vc_join) */
  ae_vce *e;     /* sorted by actor */
} ae_vc;

/* An immutable, reference-counted copy of an actor's clock, shared by the
 * accesses it stores between two joins (ae_race.c): a race group reads the
 * whole clock of an access stored long before from it. */
typedef struct ae_snap {
  uint32_t refs, n;
  ae_vce e[];
} ae_snap;

/* @return a copy of v with one reference. */
ae_snap *cw__snap_of(const ae_vc *v);
/* Drops one reference (NULL ok); the last frees it. */
void cw__snap_unref(ae_snap *s);

uint64_t cw__vc_get(const ae_vc *v, uint32_t actor);
/* v[actor] = max(v[actor], c). */
void cw__vc_raise(ae_vc *v, uint32_t actor, uint64_t c);
/* dst = dst join src; entries of actors with dead[actor] != 0 are dropped
 * from src, and from dst by the merging join (a small src joined into a
 * large dst is looked up entry by entry instead, until dst has doubled
 * since its last merge: dead entries of dst then wait for that merge). */
void cw__vc_join(ae_vc *dst, const ae_vc *src, const uint8_t *dead);
void cw__vc_copy(ae_vc *dst, const ae_vc *src);
void cw__vc_free(ae_vc *v);

/* ---- Locksets ---------------------------------------------------------- */

typedef struct ae_lockset {
  uint32_t n;
  cw_sym *syms;    /* lock symbols, sorted */
  uint8_t *shared; /* 1 when held in read mode */
  uint64_t hash;
  uint32_t next; /* next lockset with the same hash bucket (chain) */
} ae_lockset;

/* ---- Entities ---------------------------------------------------------- */

typedef struct ae_held {
  uint32_t lock; /* lock index */
  uint8_t shared;
  uint32_t count; /* recursion depth */
  int64_t acq_ts;
  int64_t acq_wall; /* wall time (else event index) of the acquire */
  int64_t acq_idx;  /* engine index of the acquire */
  /* Pass 2 of the exact deadlock search (ae_dlx.c): the actor's clocks
   * cover the lock's exclusive-release clocks as of release number relv
   * (covered), so that an exclusive release is a copy, not a join. */
  uint8_t covered;
  uint32_t relv;
} ae_held;

/* An ended lock request or hold, kept (bounded) so that wait-for cycles
 * and contention do not depend on the order in which batches of several
 * processes arrive (ae_waitfor.c). Times are wall-clock ns when the
 * producer gives them, else the engine's event index. */
typedef struct ae_wrec {
  uint32_t actor, lock;
  uint8_t hold;       /* 1: a hold, 0: a request */
  uint8_t shared;     /* read mode */
  uint8_t how;        /* requests: AE_WEND_* */
  uint8_t contended;  /* acquired requests: counted as contended */
  int64_t from, to;   /* [from, to) */
  int64_t pfrom, pto; /* the same in engine index (analysis order) */
  cw_sym loc, site;   /* request location; contention site */
  uint64_t seq, wait;
} ae_wrec;

/* How a request ended (ae_wrec.how). */
enum { AE_WEND_ACQUIRED = 0, AE_WEND_TIMEOUT = 1, AE_WEND_LEFT = 2 };
/* Per actual deadlock: edges whose wait was still open when it was found
 * (bit per edge), when its earliest-ending wait ended, and its waits. */
typedef struct ae_adl_state {
  uint32_t open;
  int64_t end;
  int64_t formed; /* standing cycles: when its last wait or hold began */
  int64_t *from;  /* per edge: when its request began (tells requests apart) */
} ae_adl_state;

/* Ended holds and requests kept per lock, and requests per actor. */
#define AE_WHIST_LOCK 32
#define AE_WHIST_ACTOR 16

typedef struct ae_pend {
  cw_aevent ev;
  cw_ae_join *joins; /* owned copy */
  uint64_t arrival;
} ae_pend;

typedef struct ae_open_span {
  cw_sym name;
  uint64_t begin_seq;
  int64_t begin_ts;
  uint32_t pred; /* span index + 1 of the best predecessor, 0: none */
  uint64_t pred_total;
} ae_open_span;

typedef struct ae_actor {
  cw_sym name, service;
  ae_vc c;            /* full happens-before clock */
  ae_snap *snap;      /* c as of the last join, once an access needed it */
  uint8_t snap_stale; /* c may have changed since snap was taken */
  ae_vc n; /* sync clock: no edges of nested locks (see ae_lockgraph.c) */
  uint64_t counter; /* own counter of the last processed event */
  uint32_t lockset; /* interned set of held locks, or AE_LS_STALE */
  ae_held *held;
  uint32_t nheld, capheld;
  /* Outstanding LOCK_REQUEST. */
  uint32_t req_lock; /* lock index, 0: none */
  uint8_t req_shared, req_waiting, req_edges;
  uint8_t req_open;   /* the request's wait is not measured yet (anomalies) */
  uint8_t req_listed; /* in the wait-for pending-request list (preq) */
  uint8_t req_gone;   /* did something else since: not outstanding */
  cw_sym req_loc;
  uint64_t req_seq;
  int64_t req_ts;
  int64_t req_wall;  /* wall time (else event index) of the request */
  int64_t last_wall; /* the same of its latest event */
  int64_t req_idx;   /* engine index of the request */
  ae_wrec *wr;       /* its last AE_WHIST_ACTOR ended requests (ring) */
  uint8_t nwr, wrnext, capwr;
  /* Anomalies: what the actor's open calls are doing, and their sites. */
  cw_sym db_what, http_what, http_site, srv_what, srv_site;
  /* Held-back events (program order). */
  ae_pend *pq;
  uint32_t pq_head, pq_n, pq_cap;
  uint8_t blocked; /* in the engine's blocked list */
  /* Spans (critical path). */
  ae_open_span *spans;
  uint32_t nspans, capspans;
  uint64_t *sp_end;  /* end counters of this actor's closed spans */
  uint64_t *sp_best; /* prefix max of chain totals */
  uint32_t *sp_bidx; /* span index + 1 achieving sp_best */
  uint32_t nsp, capsp;
} ae_actor;

typedef struct ae_entry {
  cw_sym loc;
  uint8_t kind; /* bit 0: write, bit 1: atomic */
  uint8_t val_flags;
  uint32_t lockset;
  uint64_t counter, seq;
  int64_t val_int;
  cw_sym val_str;
  uint32_t audit;      /* latest audit record + 1, 0: none */
  uint32_t prev, next; /* recency list (slot indices, AE_NIL: none) */
  ae_snap *snap;       /* the actor's clock (own entry: counter), a ref */
} ae_entry;

#define AE_NIL UINT32_MAX
/* Entries of a record past this many get a hash index (linear below). */
#define AE_LINEAR_MAX 8
/* Records of a variable past this many are indexed in the engine's recmap. */
#define AE_REC_LINEAR 32

/* One actor's accesses of one variable: the last entry per (location,
 * kind), in slots that never move, linked from oldest to newest counter
 * (an entry that is replaced moves to the newest end). */
typedef struct ae_vrec {
  uint32_t actor;
  uint32_t n, cap;
  uint32_t head, tail; /* oldest / newest slot, AE_NIL when empty */
  uint32_t hcap;
  uint64_t last_w, last_any; /* counters of the actor's last write/access */
  ae_entry *e;
  uint32_t *hidx; /* open addressing on (loc, kind): slot + 1, 0 empty */
} ae_vrec;

typedef struct ae_audx {
  uint32_t prev; /* previous record of the same (actor, loc, kind) + 1 */
  uint64_t thr;  /* lowest race threshold a marking walk applied here */
} ae_audx;

#define AE_SINCE_MAX 8

typedef struct ae_var {
  cw_sym sym;
  uint8_t racy;
  uint8_t clean; /* clean_* is valid */
  uint8_t nsince;
  uint8_t indexed; /* its records are in the engine's recmap */
  uint32_t clean_actor;
  uint32_t sweep_at;  /* record count that triggers a sweep of retirees */
  uint64_t swept_ret; /* retired_actors at the last sweep */
  uint64_t clean_counter;
  struct {
    uint32_t ri, ei;
  } since[AE_SINCE_MAX];
  uint32_t n, cap;
  ae_vrec *r;
  uint32_t *wr; /* indices of the records holding a write */
  uint32_t nwr, capwr;
  cw_audit_entry *aud;
  ae_audx *audx;
  uint32_t naud, capaud;
  uint64_t reads, writes, racing; /* cw__engine_var_counts */
} ae_var;

typedef struct ae_hist {
  uint64_t n, total, max;
  uint64_t *exact; /* first AE_HIST_EXACT samples */
  uint32_t nexact, capexact;
  uint64_t *buckets; /* log-linear, allocated past AE_HIST_EXACT */
} ae_hist;

#define AE_HIST_EXACT 64
#define AE_TOP_SITES 32

typedef struct ae_lock {
  cw_sym sym;
  uint8_t nested;       /* ever held while another lock was requested */
  uint8_t early_ho;     /* an acquire was ordered after another actor's
                           release before the lock nested */
  uint64_t nest_index;  /* engine index at which it nested */
  uint32_t first_owner; /* first actor to acquire it */
  uint8_t multi;        /* acquired by two actors or more */
  ae_vc rel_x, rel_s;   /* full clocks of exclusive / shared releases */
  ae_vc nrel_x, nrel_s; /* the same for sync clocks */
  uint32_t owner;       /* exclusive owner actor, 0: none */
  uint32_t *sh;         /* shared owners */
  uint32_t nsh, capsh;
  /* Lock-order graph: out-pairs (pair indices). */
  uint32_t *out;
  uint32_t nout, capout;
  /* Contention. */
  uint64_t acquisitions, contended;
  ae_hist wait, hold;
  cw_contention_site *sites;
  uint32_t nsites, capsites;
  /* Its last AE_WHIST_LOCK ended holds and requests (ring, ae_waitfor.c). */
  ae_wrec *wh;
  uint8_t nwh, whnext, capwh;
  int64_t wh_hold_to, wh_req_to; /* latest end of a hold / request pushed:
                                    scans that need a later one are skipped */
} ae_lock;

typedef struct ae_key {
  ae_vc rel, nrel;
} ae_key;

/* One observed lock-order edge instance (a request while holding). */
typedef struct ae_inst {
  uint32_t actor;
  uint32_t heldset; /* lockset at the request (includes `held`) */
  uint8_t held_shared, req_shared;
  cw_sym loc;
  uint64_t seq, counter;
  uint64_t index; /* engine index of the request */
  ae_vc n;        /* sync clock at the request */
} ae_inst;

typedef struct ae_pair {
  uint32_t held, req; /* lock indices */
  uint8_t cyclic;     /* lies on a cycle of the lock graph */
  uint64_t cut;       /* requests dropped or overwritten undominated */
  uint32_t cls;       /* two-pass: first request class + 1 (ae_dlx.c) */
  uint32_t last_cls;  /* two-pass: class of its latest request + 1 */
  ae_inst *inst;
  uint32_t ninst, capinst;
} ae_pair;

/* A release -> acquire edge of a nested lock (left out of sync clocks),
 * kept in a ring so that a cycle's concurrency check can still use
 * hand-offs through nested locks that are not part of the cycle. */
typedef struct ae_handoff {
  uint32_t lock;
  uint32_t acq_actor;
  uint64_t acq_counter;
  ae_vc nrel; /* sync clock of the releases the acquire joined */
} ae_handoff;

#define AE_HANDOFFS 256

typedef struct ae_span {
  cw_span_info info;
  uint32_t prev; /* span index + 1 of the predecessor on the best chain */
  uint64_t total;
} ae_span;

/* One retry of a retry site (anomalies). */
typedef struct ae_retry {
  int64_t ts;
  uint32_t actor;
  cw_sym loc;
  uint64_t seq;
} ae_retry;

/* One anomaly site: every event of one (kind, service, site). */
typedef struct ae_asite {
  uint8_t kind;
  uint8_t flagged;
  cw_sym service, site, object;
  ae_hist dur;
  uint64_t count;
  /* First anomalous occurrence. */
  int64_t f_ts;
  uint32_t f_actor;
  uint64_t f_seq, f_dur;
  cw_sym f_loc, f_what, f_object;
  /* Retry sites: every retry, sorted by (ts, actor name, seq). */
  ae_retry *r;
  uint32_t nr, capr;
} ae_asite;

struct cw_engine {
  cw_engine_config cfg;
  /* Symbols. */
  char **strs;
  uint32_t *lens;
  uint32_t nsyms, capsyms; /* strs[0] is "" */
  uint32_t *symtab;        /* open addressing: sym ids, 0 empty */
  size_t symcap;
  /* Per-symbol dense maps (index by sym; 0: none). */
  uint32_t *var_of, *lock_of, *key_of, *actor_of;
  size_t capof;
  /* Actors. */
  ae_actor *actors; /* [0] unused */
  uint8_t *dead;    /* retired actors */
  uint32_t nactors, capactors;
  /* Variables, locks, keys. */
  ae_var *vars;
  uint32_t nvars, capvars;
  cw_sym *var_syms;
  uint32_t capvarsyms;
  ae_lock *locks;
  uint32_t nlocks, caplocks;
  ae_key *keys;
  uint32_t nkeys, capkeys;
  /* Locksets ([0] is the empty set). */
  ae_lockset *lsets;
  uint32_t nlsets, caplsets;
  ae_map lsmap;
  cw_sym *lstmp;
  uint8_t *lstmp_sh;
  uint32_t caplstmp;
  /* Races. */
  cw_race_group *groups;
  uint32_t ngroups, capgroups;
  ae_map groupmap, locpairs;
  ae_map recmap;      /* (variable, actor) -> record index, indexed vars only */
  cw_race_fn on_race; /* cw__engine_on_race, NULL: none */
  void *on_race_ud;
  /* Lock-order graph and potential deadlocks. */
  ae_pair *pairs;
  uint32_t npairs, cappairs;
  ae_map pairmap, cyclemap;
  cw_deadlock *pdl;
  uint32_t npdl, cappdl;
  ae_handoff ho[AE_HANDOFFS];
  uint32_t nho, hohead;
  uint64_t ho_dropped; /* hand-offs pushed out of the ring */
  /* Per-cycle-check cache: closures of instances' sync clocks over the
   * hand-offs of locks outside the cycle (ae_lockgraph.c). */
  ae_vc clo[8];
  const void *clo_inst[8];
  uint32_t nclo, cloNext;
  /* Actual deadlocks. */
  cw_deadlock *adl;
  uint32_t nadl, capadl, nactive;
  uint32_t nwithdrawn; /* deadlocks withdrawn (kept in adl, not counted) */
  ae_adl_state *adls;  /* per actual deadlock (ae_waitfor.c) */
  uint32_t capadls, nopen_dl; /* nopen_dl: deadlocks with open edges */
  uint32_t *preq; /* actors with an outstanding request (ae_waitfor.c) */
  uint32_t npreq, cappreq;
  /* Contention query cache. */
  cw_lock_stats *lstats;
  uint32_t caplstats;
  /* Pending (held-back) events. */
  uint32_t *blocked;
  uint32_t nblocked, capblocked;
  uint64_t npending, arrivals;
  /* Spans / critical path. */
  ae_span *spans;
  uint32_t nspans_all, capspans_all;
  uint32_t best_span;     /* + 1 */
  uint64_t spans_dropped; /* closed past span_cap */
  cw_span_info *cpath;
  uint32_t capcpath;
  /* Anomalies. */
  ae_asite *asites; /* [0] unused */
  uint32_t nasites, capasites;
  ae_map asitemap;
  cw_anomaly *aout;
  uint32_t capaout;
  /* Exact potential deadlocks in two passes (ae_dlx.c): two_pass makes
   * pass 1 record only the lock graph and request classes; replay marks
   * the pass-2 engine. */
  struct ae_dx *dx;
  uint8_t two_pass, replay;
  struct ae_rec *rec; /* pass 1's record of the events pass 2 needs */
  /* Counters. */
  cw_summary sum;
  uint64_t index; /* processed events, the timestamp of STD traces */
};

/* ---- Module entry points ----------------------------------------------- */

/* Engine core helpers. */
uint32_t cw__engine_lockset_of(cw_engine *e, const ae_actor *a);
/* Makes room for n locks in e->lstmp / e->lstmp_sh. */
void cw__engine_lockset_room(cw_engine *e, uint32_t n);
/* @return the interned id of the set e->lstmp[0..n) (symbols, sorted)
 * with read modes e->lstmp_sh. */
uint32_t cw__engine_lockset_intern(cw_engine *e, uint32_t n);
uint32_t cw__engine_var(cw_engine *e, cw_sym sym);

/* ae_actor.lockset when the held locks changed since it was interned. */
#define AE_LS_STALE UINT32_MAX
/* @return the interned id of the actor's set of held locks, interning it
 * when the actor's locks changed since (locksets are interned lazily). */
static inline uint32_t cw__actor_lockset(cw_engine *e, ae_actor *a) {
  if (a->lockset == AE_LS_STALE)
    a->lockset = cw__engine_lockset_of(e, a);
  return a->lockset;
}

/* Races (ae_race.c). */
void cw__race_access(cw_engine *e, uint32_t aid, const cw_aevent *ev);
/* The actor's clock is about to change (a join, fork, retire): its next
 * access takes a new snapshot. */
void cw__race_clock_changed(ae_actor *a);
/* Drops the actor's snapshot (retire, engine free). */
void cw__race_actor_free(ae_actor *a);
void cw__race_free(cw_engine *e);

/* Lock-order graph (ae_lockgraph.c): records edges for a request of lock
 * `lock` by actor `aid` and reports new potential deadlocks. */
void cw__lockgraph_request(cw_engine *e, uint32_t aid, uint32_t lock,
                           int shared, cw_sym loc, uint64_t seq);
void cw__lockgraph_free(cw_engine *e);
/* @return the cut requests (ae_pair.cut) on edges that lie on a lock cycle
 * of length 2..4 not reported: those that may have changed the count. */
uint64_t cw__lockgraph_cuts_pending(const cw_engine *e);
/* Records an acquire of nested lock `lock` that joined `rel` (or the
 * explicit joins `j` when rel is NULL). */
void cw__lockgraph_handoff(cw_engine *e, uint32_t aid, uint32_t lock,
                           const ae_vc *rel, const ae_vc *rel2,
                           const cw_ae_join *j, uint32_t nj);

/* @return 1 when lock sets x and y share a lock not held in read mode by
 * both (a gate lock). */
int cw__lockset_conflict(const cw_engine *e, uint32_t x, uint32_t y);
/* Lock and annotation-key indices of a symbol (created on first use). */
uint32_t cw__engine_lock(cw_engine *e, cw_sym sym);
uint32_t cw__engine_key(cw_engine *e, cw_sym sym);

/* Exact potential deadlocks in two passes (ae_dlx.c). Pass 1 (two_pass):
 * records the class of a request on lock-graph edge `pair`. */
void cw__dx_record(cw_engine *e, uint32_t pair, uint32_t aid, int held_sh,
                   int req_sh);
/* Pass 2 (replay): processes one event after program order was applied.
 * @return 0, or -1 for an invalid event. */
int cw__dx_event(cw_engine *e, uint32_t aid, const cw_aevent *ev,
                 const uint8_t *whole);
void cw__dx_free(cw_engine *e);
/* The record of pass 1 (ae_dxrec.c): records a processed event pass 2
 * needs. */
typedef struct ae_rec ae_rec;
void cw__rec_event(cw_engine *e, uint32_t aid, const cw_aevent *ev);
void cw__rec_free(cw_engine *e);

/* Wait-for graph (ae_waitfor.c). A new request of `aid` (its req_* fields
 * set): counts it contended when an ended hold overlapped it, lists it,
 * marks it waiting when the lock is held and searches for a cycle. */
void cw__waitfor_request(cw_engine *e, uint32_t aid);
/* @return 1 when the request of `aid`, acquired at `at`, overlapped in
 * time a conflicting hold of its lock by another actor (contention). */
int cw__waitfor_contended(const cw_engine *e, uint32_t aid, int64_t at);
/* `aid` now holds lock held->lock (its new hold, since `at`): the
 * outstanding requests for that lock it blocks wait for it, and ended
 * requests that overlapped it count as contended, whatever order the
 * requests and the acquire arrived in. */
void cw__waitfor_acquired(cw_engine *e, uint32_t aid, const ae_held *held,
                          int64_t at);
/* The outstanding request of `aid` ended at `at`, how (AE_WEND_*): it is
 * kept in the history and the cycles it was in end. For an acquired one,
 * `contended`, `site` and `wait` are what contention counted. */
void cw__waitfor_req_end(cw_engine *e, uint32_t aid, int how, int64_t at,
                         int contended, cw_sym site, uint64_t wait);
/* `aid` released (or lost by retiring) its hold `h` of a lock. */
void cw__waitfor_hold_end(cw_engine *e, uint32_t aid, const ae_held *h,
                          int64_t at);
void cw__waitfor_free(cw_engine *e);
/* @return 1 if the holders of lock `l` block a request by `aid`. */
int cw__lock_blocks(const cw_engine *e, uint32_t l, uint32_t aid, int shared);

/* Contention (ae_contention.c). */
void cw__hist_add(ae_hist *h, uint64_t v);
uint64_t cw__hist_pct(const ae_hist *h, unsigned pct);
void cw__hist_free(ae_hist *h);
void cw__contention_acquire(cw_engine *e, ae_lock *l, cw_sym loc, int contended,
                            uint64_t wait);
/* An acquisition counted as uncontended turned out to have waited for a
 * hold that arrived later (ae_waitfor.c): count it as contended. */
void cw__contention_upgrade(cw_engine *e, ae_lock *l, cw_sym loc,
                            uint64_t wait);
void cw__contention_free(cw_engine *e);

/* Anomalies (ae_anomaly.c). */
void cw__anomaly_defaults(cw_engine_config *cfg);
/* A call-like event (DB, HTTP, span end, retry, timeout) of actor aid. */
void cw__anomaly_event(cw_engine *e, uint32_t aid, const cw_aevent *ev);
/* A lock wait of actor aid measured: request at req_ts, lasted `wait`. */
void cw__anomaly_lock_wait(cw_engine *e, uint32_t aid, cw_sym lock,
                           uint64_t wait);
void cw__anomaly_free(cw_engine *e);

/* Critical path (ae_critpath.c). */
void cw__span_begin(cw_engine *e, uint32_t aid, const cw_aevent *ev,
                    int64_t ts);
void cw__span_end(cw_engine *e, uint32_t aid, const cw_aevent *ev, int64_t ts);
void cw__critpath_free(cw_engine *e);

#endif /* CW_AE_INTERNAL_H */
