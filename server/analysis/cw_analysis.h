/*
 * cw_analysis: the analysis engine. It turns an ordered stream of events into
 * findings: races, potential deadlocks (lock-order cycles), actual deadlocks
 * (wait-for cycles) and lock contention, as defined in docs/detection.md.
 *
 * The engine does no I/O. The CLI feeds it from trace files, the collector
 * from HTTP batches, so a verdict is the same offline and online.
 *
 * Internal API (not installed). Names use the cw__ prefix for functions.
 *
 * Thread-safety: an engine is not thread-safe; one thread feeds and queries
 * it at a time. Distinct engines are independent.
 *
 * Ownership: symbols (cw_sym) are interned strings owned by the engine and
 * valid until cw__engine_free. Finding structs returned by queries are
 * borrowed and valid until the next call that feeds the engine.
 */
#ifndef CW_ANALYSIS_H
#define CW_ANALYSIS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* An interned string. 0 is "none". */
typedef uint32_t cw_sym;
/* An engine actor id (dense, from 1). 0 is "none". */
typedef uint32_t cw_actor_id;

typedef struct cw_engine cw_engine;

/* Input event kinds. */
typedef enum cw_ae_kind {
  CW_AE_READ = 1,
  CW_AE_WRITE,
  CW_AE_LOCK_REQUEST, /* the actor starts waiting for `object` */
  CW_AE_LOCK_ACQUIRE, /* the actor now holds `object` (mode in flags) */
  CW_AE_LOCK_RELEASE,
  CW_AE_FORK,         /* `child` is created; its first event follows this */
  CW_AE_JOIN,         /* `child`'s last event precedes this */
  CW_AE_ANN_RELEASE,  /* release(key=object) */
  CW_AE_ANN_ACQUIRE,  /* acquire(key=object) */
  CW_AE_BEGIN,        /* actor starts (thread start / task begin) */
  CW_AE_END,          /* actor ends */
  CW_AE_SPAN_BEGIN,   /* object: span name */
  CW_AE_SPAN_END,     /* object: span name; duration_ns */
  CW_AE_RETIRE,       /* forget the actor's history (bounded clocks) */
  CW_AE_GAP,          /* aux: number of events of this actor that were lost */
  CW_AE_OTHER,        /* informational (messages): timelines only */
  CW_AE_LOCK_TIMEOUT, /* the wait for `object` ended without the lock */
  /* Calls, for anomalies (docs/detection.md); no happens-before of their
   * own beyond program order and joins. */
  CW_AE_DB_QUERY,      /* a statement starts: object database, detail SQL */
  CW_AE_DB_RESULT,     /* it ended: object database, duration_ns, aux rows */
  CW_AE_HTTP_SEND,     /* an outgoing call starts: detail "METHOD url" */
  CW_AE_HTTP_RESPONSE, /* its answer arrived: aux status, duration_ns */
  CW_AE_HTTP_RECV,     /* an inbound request starts: detail "METHOD path" */
  CW_AE_HTTP_RESPOND,  /* it was answered: aux status, duration_ns */
  CW_AE_RETRY,         /* object: call site; aux: attempt */
  CW_AE_TIMEOUT        /* object: call site; duration_ns: time waited */
} cw_ae_kind;

enum {
  CW_AEF_ATOMIC = 1u << 0, /* atomic accesses never race with each other */
  CW_AEF_SHARED = 1u << 1, /* read mode of an rwlock */
  CW_AEF_TRY = 1u << 2,    /* trylock: success is an acquire */
  CW_AEF_VAL_INT = 1u << 3,
  CW_AEF_VAL_STR = 1u << 4,
  CW_AEF_CLOCK_ONLY = 1u << 5, /* joins are the only HB source of this event
                                  (the engine must not derive more) */
  /* A lock one resource outside the processes serialises (a database row,
   * a lock service's lock): no two actors can hold it in conflicting
   * modes, so an acquire that arrives while another actor still holds it
   * is held back until that actor's release is processed (the release
   * must have come first; timestamps of two processes can say otherwise). */
  CW_AEF_SERIAL = 1u << 6
};

/* One explicit happens-before source: everything `actor` did up to and
 * including its event numbered `counter` happens before this event. */
typedef struct cw_ae_join {
  cw_actor_id actor;
  uint64_t counter;
} cw_ae_join;

/* One input event. All strings are engine symbols (cw__engine_intern). */
typedef struct cw_aevent {
  cw_ae_kind kind;
  uint32_t flags;
  cw_actor_id actor;
  cw_sym object;     /* variable, lock, annotation key or span name */
  cw_actor_id child; /* FORK / JOIN */
  cw_sym loc;        /* location, e.g. "bank.c:42" or STD's LOC */
  int64_t val_int;
  cw_sym val_str;
  /* The actor's own counter at this event, when the producer has clocks
   * (native SDK events); 0 lets the engine number events itself. */
  uint64_t counter;
  const cw_ae_join *joins; /* borrowed during the call */
  uint32_t njoins;
  int64_t ts_ns; /* monotonic timestamp; 0 when unknown */
  uint64_t duration_ns;
  int64_t aux;
  uint64_t seq;  /* input position or SDK sequence (for reports) */
  cw_sym detail; /* free text for OTHER events (HTTP, DB) */
  /* Wall-clock time (Unix ns) when the producer gives it, else 0. Lock
   * waits and holds of different processes are compared by it, so that
   * wait-for cycles and contention do not depend on the order batches
   * arrive in (ae_waitfor.c); without it the engine's event index is
   * used. */
  int64_t wall_ns;
} cw_aevent;

typedef struct cw_engine_config {
  uint32_t size; /* sizeof(cw_engine_config) */
  /* Keep per-variable audit trails (cw__engine_audit) and spans for the
   * critical path (cw__engine_critical_path) when non-zero; costs memory
   * proportional to accesses and spans. The engine keeps no event list:
   * timelines come from the collector's store. */
  int keep_events;
  /* Hold events whose joins name counters not yet seen, up to this many
   * events (0 picks a default). Lets batches of several processes arrive in
   * any order. */
  uint32_t max_pending;
  /* Anomaly thresholds (docs/detection.md 10); 0 picks the default. */
  uint64_t slow_db_ns;      /* default 500 ms */
  uint64_t slow_http_ns;    /* client calls and served requests; 1 s */
  uint64_t slow_span_ns;    /* default 1 s */
  uint64_t lock_wait_ns;    /* default 500 ms */
  uint32_t retry_storm;     /* retries of one site ... (default 10) */
  uint64_t retry_window_ns; /* ... within this window (default 1 s) */
  /* Give race groups' representative accesses their whole vector clocks
   * (cw_access.clock) when non-zero. Costs a copy of an actor's clock per
   * join after which it accesses shared state, kept while an access made
   * under it is the last of its (actor, variable, location, kind): about
   * twice the engine's memory on lock-heavy workloads (bench_analysis). */
  int race_clocks;
  /* Keep spans for the critical path without keep_events, up to this many
   * closed spans (later ones are counted in cw__engine_spans_dropped);
   * 0: spans only with keep_events, unbounded. */
  uint32_t span_cap;
  /* Exact potential deadlocks in two passes (docs/detection.md 4.3): when
   * non-zero, this engine only records the lock graph; the caller then
   * feeds the same events again to cw__engine_replay_new's engine and
   * adopts its potential deadlocks. 0: one streaming pass (online), exact
   * only while its bounds hold (summary.exact). */
  int two_pass;
} cw_engine_config;

#define CW_ANOM_DEFAULT_SLOW_DB_NS 500000000ull
#define CW_ANOM_DEFAULT_SLOW_HTTP_NS 1000000000ull
#define CW_ANOM_DEFAULT_SLOW_SPAN_NS 1000000000ull
#define CW_ANOM_DEFAULT_LOCK_WAIT_NS 500000000ull
#define CW_ANOM_DEFAULT_RETRY_STORM 10u
#define CW_ANOM_DEFAULT_RETRY_WINDOW_NS 1000000000ull

/* @return a new engine (free with cw__engine_free), or NULL. cfg may be
 * NULL for defaults. */
cw_engine *cw__engine_new(const cw_engine_config *cfg);
void cw__engine_free(cw_engine *e);

/* Interns a string. @return its symbol, never 0 for a valid string. */
cw_sym cw__engine_intern(cw_engine *e, const char *s, size_t len);
/* @return the string of a symbol (NUL-terminated, borrowed), "" for 0. */
const char *cw__engine_str(const cw_engine *e, cw_sym sym);

/* Registers (or looks up) an actor by global name, e.g. "bank#1/worker-3",
 * with the service it belongs to (0 when unknown).
 * @return the actor id. */
cw_actor_id cw__engine_actor(cw_engine *e, cw_sym name, cw_sym service);
cw_sym cw__engine_actor_name(const cw_engine *e, cw_actor_id a);
cw_sym cw__engine_actor_service(const cw_engine *e, cw_actor_id a);

/* Feeds one event. @return 0, or a negative value when the event is invalid
 * (unknown actor, release of a lock not held...) which is then counted in
 * the summary's `invalid_events` and otherwise ignored. An event held back
 * (see max_pending) returns 0 and is validated when it is released. The
 * joins array is copied when the event is held back. Semantics:
 * docs/detection.md. */
int cw__engine_feed(cw_engine *e, const cw_aevent *ev);

/* Releases every held-back event (end of input). */
void cw__engine_flush(cw_engine *e);

/* Second pass of a two_pass engine `first` (after its flush): @return a
 * new engine to feed the very same events to (then flush it, then
 * cw__engine_replay_adopt), or NULL when the lock graph has no cycle
 * that could be a potential deadlock (nothing to replay). Not
 * thread-safe with uses of `first`; free it with cw__engine_free. */
cw_engine *cw__engine_replay_new(cw_engine *first);
/* Adds the replay engine's potential deadlocks (and its exactness
 * counts) to `first`, under first's symbols. */
void cw__engine_replay_adopt(cw_engine *first, const cw_engine *replay);
/* Makes two_pass engine `e` record, as it processes them, the events its
 * second pass needs (lock, fork/join, annotation and retire events and
 * explicit joins: about 10 bytes each) in `f`, a temporary file opened
 * for update ("w+b"), which the caller owns and closes after
 * cw__engine_replay_run. Call before the first event. */
void cw__engine_record(cw_engine *e, FILE *f);
/* Feeds the events recorded by `first` to `replay`
 * (cw__engine_replay_new(first)) instead of the inputs (then flush and
 * adopt as usual). @return 0; -1 when nothing was fed because there is no
 * usable record (no cw__engine_record, or a write failed): feed the
 * inputs again instead; -2 when the record could not be read back
 * (replay is then unusable). */
int cw__engine_replay_run(cw_engine *first, cw_engine *replay);

/* ---- Findings ------------------------------------------------------------ */

/* The summary's counters, in report order. This list is the one place a
 * counter is added: it becomes a cw_summary field (the engine fills it) and
 * a key of every JSON summary (the CLI's report, /v1/summary, /v1/findings,
 * the stream's findings frame), all written by cw__report_summary_json.
 *   events               events analysed
 *   racy_variables       variables with at least one race
 *   racy_location_pairs  distinct unordered location pairs that race
 *   race_groups          races grouped by variable and location pair
 *   potential_deadlocks  lock-order cycles
 *   deadlocks            actual deadlocks (wait-for cycles)
 *   contended_locks      locks some actor waited for
 *   invalid_events       events the engine refused (docs/detection.md)
 *   lost_events          sum of GAP counts
 *   pending_events       held back waiting for a clock source
 *   forced_events        released by max_pending or flush before their
 *                        clock source arrived
 *   retired_actors       actors whose history was forgotten (RETIRE)
 *   active_deadlocks     actual deadlocks still blocked
 *   search_truncated     lock-cycle searches cut by their budget
 *   anomalies            anomaly groups (cw__engine_anomalies)
 * Potential deadlocks are exact unless one of these bounds may have
 * changed an answer (docs/detection.md 4.3; `exact` says it):
 *   instances_cut        lock-order requests dropped or overwritten by a
 *                        later one that does not dominate them, on edges
 *                        of a lock cycle that was not reported
 *   handoffs_cut         ordering checks that found a pair unordered after
 *                        hand-offs were dropped from the kept window
 *   early_orders         pairs found ordered possibly through an edge of a
 *                        cycle lock from before that lock nested
 *   retired_skips        candidate requests of retired actors */
#define CW_SUMMARY_FIELDS(X)                                                   \
  X(events)                                                                    \
  X(racy_variables)                                                            \
  X(racy_location_pairs)                                                       \
  X(race_groups)                                                               \
  X(potential_deadlocks)                                                       \
  X(deadlocks)                                                                 \
  X(contended_locks)                                                           \
  X(invalid_events)                                                            \
  X(lost_events)                                                               \
  X(pending_events)                                                            \
  X(forced_events)                                                             \
  X(retired_actors)                                                            \
  X(active_deadlocks)                                                          \
  X(search_truncated)                                                          \
  X(anomalies)                                                                 \
  X(instances_cut)                                                             \
  X(handoffs_cut)                                                              \
  X(early_orders)                                                              \
  X(retired_skips)

typedef struct cw_summary {
#define CW_SUMMARY_FIELD_(name) uint64_t name;
  CW_SUMMARY_FIELDS(CW_SUMMARY_FIELD_)
#undef CW_SUMMARY_FIELD_
  /* 1 when no bound changed or may have changed an answer: all of
   * search_truncated, instances_cut, handoffs_cut, early_orders,
   * retired_skips, lost_events, forced_events and pending_events are 0
   * (docs/detection.md 4.3). Reported as a boolean, not in the list. */
  uint64_t exact;
} cw_summary;

void cw__engine_summary(const cw_engine *e, cw_summary *out);

/* One side of a race. */
typedef struct cw_access {
  cw_actor_id actor;
  cw_sym loc;
  int is_write;
  int is_atomic;
  uint32_t val_flags; /* CW_AEF_VAL_INT / CW_AEF_VAL_STR */
  int64_t val_int;
  cw_sym val_str;
  const cw_sym *locks; /* locks held at the access (borrowed) */
  uint32_t nlocks;
  uint64_t seq;
  uint64_t counter; /* the actor's own clock component at the access */
  /* The access's whole vector clock: every actor it had heard of, sorted
   * by actor id, with its own entry `counter` (borrowed; race groups'
   * representative pairs with cw_engine_config.race_clocks only, else
   * NULL). */
  const cw_ae_join *clock;
  uint32_t nclock;
} cw_access;

typedef enum { CW_SEV_WARNING = 1, CW_SEV_ERROR = 2 } cw_severity;

/* Races grouped by variable and unordered location pair. */
typedef struct cw_race_group {
  cw_sym var;
  cw_sym loc1, loc2;       /* loc1 <= loc2 by string order */
  cw_severity severity;    /* ERROR when any racing pair is write/write */
  uint64_t count;          /* racing event pairs seen in this group */
  cw_access first, second; /* a representative pair */
} cw_race_group;

/* @return the number of race groups; *out points to an array (borrowed). */
size_t cw__engine_races(const cw_engine *e, const cw_race_group **out);

/* One edge of a lock-order cycle: `actor` requested `requested` at `loc`
 * while holding `held`. */
typedef struct cw_cycle_edge {
  cw_actor_id actor;
  cw_sym held;
  cw_sym requested;
  cw_sym loc;
  uint64_t seq;
} cw_cycle_edge;

typedef struct cw_deadlock {
  uint32_t n;                 /* cycle length (actors = locks = n) */
  const cw_cycle_edge *edges; /* n edges, borrowed */
  int actual;                 /* 1 for a wait-for cycle (actual deadlock) */
  int active;                 /* actual: still blocked at the last event */
  int ended;                  /* actual, not active: how it ended */
  /* actual: 1 when a later batch showed that one of its waits had ended
   * before the cycle formed, so it never stood in time (docs/detection.md
   * 5). A withdrawn cycle keeps its slot so that the index of every later
   * deadlock stays stable; lists and counts leave it out. */
  int withdrawn;
} cw_deadlock;

/* How an actual deadlock ended (cw_deadlock.ended). */
enum {
  CW_DL_STANDING = 0, /* still blocked (or a potential deadlock) */
  CW_DL_TIMEOUT = 1,  /* a waiting actor gave up (lock_timeout) */
  CW_DL_LEFT = 2      /* a waiting actor did something else (cancelled,
                         ended, retired, or its acquire was lost) */
};

/* @return "timeout", "left" or NULL (standing) for cw_deadlock.ended. */
const char *cw__deadlock_end_name(int ended);

/* Potential deadlocks, one per distinct lock cycle up to rotation. */
size_t cw__engine_potential_deadlocks(const cw_engine *e,
                                      const cw_deadlock **out);
/* Actual deadlocks (wait-for cycles) seen so far, in the order they were
 * found; the array includes withdrawn ones (cw_deadlock.withdrawn), which
 * callers skip, so an index names the same deadlock for the engine's
 * lifetime. The summary's `deadlocks` counts the others. */
size_t cw__engine_deadlocks(const cw_engine *e, const cw_deadlock **out);

typedef struct cw_contention_site {
  cw_sym loc;
  uint64_t contended;
  uint64_t wait_ns;
} cw_contention_site;

typedef struct cw_lock_stats {
  cw_sym lock;
  uint64_t acquisitions;
  uint64_t contended; /* the request overlapped another's hold */
  uint64_t wait_total_ns, wait_p50_ns, wait_p99_ns, wait_max_ns;
  uint64_t hold_total_ns, hold_p50_ns, hold_p99_ns, hold_max_ns;
  const cw_contention_site *top; /* top contending locations, borrowed */
  uint32_t ntop;
} cw_lock_stats;

/* Per-lock statistics, in order of first use. Timestamps are ts_ns when
 * the producer gives them, else the engine's event index (1, 2, ...), so
 * STD traces report wait/hold in events. Percentiles are exact up to 64
 * samples per lock, then within 12.5% (log-linear histogram). The array is
 * refreshed by this call (borrowed until the next feed or query). */
size_t cw__engine_locks(const cw_engine *e, const cw_lock_stats **out);

/* ---- Anomalies (docs/detection.md 10) ----------------------------------- */

typedef enum cw_anomaly_kind {
  CW_ANOM_SLOW_DB = 1,
  CW_ANOM_SLOW_HTTP,        /* outgoing HTTP call */
  CW_ANOM_SLOW_HTTP_SERVER, /* inbound request answered slowly */
  CW_ANOM_SLOW_SPAN,
  CW_ANOM_LOCK_WAIT,
  CW_ANOM_TIMEOUT,
  CW_ANOM_RETRY_STORM,
  CW_ANOM_KIND_MAX_
} cw_anomaly_kind;

/* "slow_db", "slow_http", ... ; "unknown" for other values. */
const char *cw__anomaly_kind_name(cw_anomaly_kind k);
/* @return the kind named `name`, or 0. */
cw_anomaly_kind cw__anomaly_kind_parse(const char *name);

/* One anomaly group: the anomalous events of one (kind, service, site). */
typedef struct cw_anomaly {
  cw_anomaly_kind kind;
  cw_sym service;
  cw_sym site;    /* file:line, normalised "METHOD url", span or site name */
  cw_sym object;  /* database, lock, span or site name; 0 when none */
  cw_sym what;    /* the first occurrence's statement / "METHOD url"... */
  uint64_t count; /* anomalous events (retry storm: the site's retries) */
  uint64_t calls; /* all events of the site of this kind */
  uint64_t threshold_ns;
  int systematic; /* the site's p99 is at or over the threshold */
  uint64_t total_ns, p50_ns, p99_ns, max_ns; /* over all the site's calls */
  uint64_t peak;      /* retry storm: most retries within one window */
  uint64_t window_ns; /* retry storm: the window */
  /* The first anomalous occurrence (for a retry storm: the first retry of
   * the earliest window that holds retry_storm retries). */
  cw_actor_id first_actor;
  cw_sym first_loc;
  uint64_t first_seq;
  int64_t first_ts_ns;
  uint64_t first_duration_ns;
} cw_anomaly;

/* Anomaly groups ordered by first occurrence (ts, then kind, service and
 * site by string), the same for any arrival order of the same events.
 * @return their number (summary.anomalies); *out is refreshed by this call
 * and borrowed until the next feed or query. */
size_t cw__engine_anomalies(const cw_engine *e, const cw_anomaly **out);

/* Parses a threshold in milliseconds ("500", 1 to 10^9) into *ns.
 * @return 0, or -1 for anything else. */
int cw__anomaly_parse_ms(const char *s, uint64_t *ns);
/* Parses a retry-storm rule "N/MS" (N retries within MS milliseconds;
 * N 2 to 10^6). @return 0, or -1. */
int cw__anomaly_parse_storm(const char *s, uint32_t *n, uint64_t *window_ns);

/* The thresholds in effect (defaults filled in). */
void cw__engine_anomaly_config(const cw_engine *e, cw_engine_config *out);

/* ---- Viewer support (need keep_events) ---------------------------------- */

/* One access of a variable's audit trail, in processing order. */
typedef struct cw_audit_entry {
  cw_actor_id actor;
  cw_sym loc;
  int is_write;
  int is_atomic;
  uint32_t val_flags;
  int64_t val_int;
  cw_sym val_str;
  const cw_sym *locks; /* locks held (borrowed) */
  uint32_t nlocks;
  uint64_t seq;
  uint64_t counter; /* the actor's clock component at the access */
  int racy;         /* races with at least one access seen so far */
} cw_audit_entry;

/* @return the number of accesses of variable `var` (0 when unknown or when
 * keep_events is off); *out points to them (borrowed). An entry's `racy`
 * may turn from 0 to 1 as later racing accesses arrive. */
size_t cw__engine_audit(const cw_engine *e, cw_sym var,
                        const cw_audit_entry **out);

/* @return the number of distinct variables seen; *out lists their symbols
 * in order of first access (borrowed). */
size_t cw__engine_variables(const cw_engine *e, const cw_sym **out);

/* Per-variable access counts, kept always (with or without keep_events). */
typedef struct cw_var_counts {
  uint64_t reads, writes; /* accesses analysed (atomic ones included) */
  uint64_t racing; /* accesses that raced with at least one earlier access
                    * when they were analysed (the later side of a racing
                    * pair; every racing pair has exactly one) */
} cw_var_counts;

/* Fills *out for variable `var`. @return 0, or -1 when never accessed. */
int cw__engine_var_counts(const cw_engine *e, cw_sym var, cw_var_counts *out);

/* One racing pair, as the race checker finds it. The earlier access
 * (`first`) is the last of its (actor, variable, location, kind); every
 * earlier access of that same key whose counter is above `known` races with
 * the later one too (ae_race.c explains why), so a caller that keeps events
 * can mark all of them. kind: bit 0 write, bit 1 atomic. */
typedef struct cw_race_pair {
  cw_sym var;
  cw_actor_id first_actor;
  cw_sym first_loc;
  uint8_t first_kind;
  uint64_t first_seq, first_counter;
  uint64_t known; /* the later access's clock entry for first_actor */
  cw_actor_id second_actor;
  cw_sym second_loc;
  uint8_t second_kind;
  uint64_t second_seq, second_counter;
} cw_race_pair;

typedef void (*cw_race_fn)(void *ud, const cw_race_pair *p);

/* Calls fn(ud, pair) for every racing pair the engine finds from now on
 * (under whatever lock the caller feeds the engine with; fn must not call
 * back into the engine). fn NULL: none. */
void cw__engine_on_race(cw_engine *e, cw_race_fn fn, void *ud);

/* One span (SPAN_BEGIN .. SPAN_END of one actor). */
typedef struct cw_span_info {
  cw_actor_id actor;
  cw_sym name;
  uint64_t duration_ns; /* SPAN_END's duration_ns, else end ts - begin ts */
  uint64_t begin_seq, end_seq;
} cw_span_info;

/* Critical path: the chain of spans s1, s2, ... where each span's end
 * happens before the next one's begin, with the largest sum of durations.
 * @return the number of spans on it (0 without spans or keep_events);
 * *out lists them in order (borrowed), *total_ns gets the sum (may be
 * NULL). */
size_t cw__engine_critical_path(const cw_engine *e, const cw_span_info **out,
                                uint64_t *total_ns);
/* Closed spans left out of the critical path because span_cap was reached
 * (0 without a cap). */
uint64_t cw__engine_spans_dropped(const cw_engine *e);

#endif /* CW_ANALYSIS_H */
