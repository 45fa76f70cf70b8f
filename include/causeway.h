/*
 * causeway.h: the core causeway SDK (libcauseway).
 *
 * A program links libcauseway, calls cw_init() once, and uses the wrappers
 * below instead of the raw pthread calls it wants traced, plus the CW_READ /
 * CW_WRITE macros on the shared state it wants checked. Each wrapped
 * operation becomes an event stamped with a vector clock; a background
 * thread batches, LZ4-compresses and writes the events to a trace file.
 * docs/sdk.md is the guide; every declaration below says what it does, who
 * owns what, and whether it is thread-safe.
 *
 * General rules:
 * - Without cw_init(), after cw_shutdown(), or when tracing is disabled
 *   (CAUSEWAY_DISABLED=1), every wrapper calls straight through to pthread
 *   and every recording call returns at once.
 * - All functions are thread-safe unless a comment says otherwise.
 * - Strings passed in are borrowed: the SDK copies what it keeps, except
 *   source locations (cw_loc file and func), which must be static strings
 *   such as __FILE__ and __func__.
 * - Functions are also callable under their macro names: for example
 *   cw_mutex_lock(m) is a macro that adds the caller's location; use
 *   (cw_mutex_lock)(m) or a function pointer for the plain function.
 */
#ifndef CAUSEWAY_H
#define CAUSEWAY_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "causeway/version.h"

#if !defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 200809L
#error "causeway.h needs POSIX.1-2008: #define _POSIX_C_SOURCE 200809L \
(or build in a GNU mode) before the first #include"
#endif

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define CW_API __attribute__((visibility("default")))
#else
#define CW_API
#endif

/* ---- Status codes ---------------------------------------------------------
 */

/* X-macro list of status codes: name, value, message. 0 is success, errors
 * are negative. Values are never renumbered; new codes go at the end. */
#define CW_STATUS_MAP(X)                                                       \
  X(OK, 0, "success")                                                          \
  X(EINVAL, -1, "invalid argument")                                            \
  X(ENOMEM, -2, "out of memory")                                               \
  X(EIO, -3, "I/O error")                                                      \
  X(ESTATE, -4, "wrong state for this call")                                   \
  X(EDISABLED, -5, "tracing is not active")                                    \
  X(EFULL, -6, "a bounded table or buffer is full")                            \
  X(EMALFORMED, -7, "malformed input")                                         \
  X(ETOOBIG, -8, "input or output exceeds its size limit")                     \
  X(ENOTSUP, -9, "not supported")                                              \
  X(ESYS, -10, "system call failed")

/* A status code: CW_OK (0) or a negative error. */
typedef enum cw_status {
#define CW_STATUS_ENUM_(name, value, msg) CW_##name = value,
  CW_STATUS_MAP(CW_STATUS_ENUM_)
#undef CW_STATUS_ENUM_
} cw_status;

/* Describes a status code.
 * @return a static string (borrowed); "unknown status" for unknown codes.
 * Thread-safe. */
CW_API const char *cw_strerror(cw_status status);

/* ---- Version --------------------------------------------------------------
 */

/* @return the run-time version as CW_VERSION_HEX does (0xMMmmpp).
 * Thread-safe. */
CW_API unsigned int cw_version(void);

/* @return the run-time version as a static string ("0.1.0"). Thread-safe. */
CW_API const char *cw_version_string(void);

/* ---- Allocator ------------------------------------------------------------
 */

/* Allocator functions, with the contracts of malloc, realloc and free. */
typedef void *(*cw_malloc_fn)(size_t size);
typedef void *(*cw_realloc_fn)(void *ptr, size_t size);
typedef void (*cw_free_fn)(void *ptr);

/* Replaces the allocator used for every SDK allocation (default: malloc,
 * realloc, free). The hot recording path never allocates; registration of
 * threads, tasks, locks and clock growth do.
 * @param m, r, f  all three non-NULL.
 * @return CW_OK, CW_EINVAL, or CW_ESTATE when the SDK is initialized.
 * Not thread-safe: call before cw_init(). */
CW_API cw_status cw_set_allocator(cw_malloc_fn m, cw_realloc_fn r,
                                  cw_free_fn f);

/* ---- Configuration and life cycle ------------------------------------------
 */

/* Init-time configuration. Always fill it with cw_config_init() first, then
 * change fields: `size` lets the struct grow without breaking binaries.
 * Environment variables override the fields (see cw_init). */
typedef struct cw_config {
  /* sizeof(cw_config), set by cw_config_init(). */
  uint32_t size;
  /* Service name, the first part of actor names "service#instance/actor".
   * Default: the program name, else "app". Borrowed during cw_init(). */
  const char *service;
  /* Instance name. Default "<hostname>-<pid>". Borrowed during cw_init(). */
  const char *instance;
  /* Exact trace file path. The file is appended to (created if needed).
   * NULL: none. Borrowed during cw_init(). */
  const char *trace_file;
  /* Trace directory: the process writes <dir>/<service>-<pid>.cwt. Used when
   * trace_file is NULL. Borrowed during cw_init(). */
  const char *trace_dir;
  /* Collector URL (the HTTP transport). With trace_file or trace_dir as
   * well, every batch goes to both the collector and the file. */
  const char *endpoint;
  /* Non-zero: do not trace at all (wrappers pass straight through). */
  int disabled;
  /* Per-thread event buffer, bytes (default 256 KiB; raised to at least
   * 16 KiB and 32 * max_actors + 2 KiB, so a whole clock always fits). */
  uint32_t buffer_bytes;
  /* Uncompressed batch cap, bytes (default 1 MiB; raised to at least
   * 200 * max_actors + 64 KiB). */
  uint32_t batch_bytes;
  /* Longest time an event waits before its batch is written, ms
   * (default 200). */
  uint32_t flush_interval_ms;
  /* Race window W: an ended actor is retired (forgotten) once W more
   * actors have ended after it (default 256, min 1). */
  uint32_t retire_window;
  /* Capacity of the actor table: live actors plus the race window
   * (default 4096, min retire_window + 64, max 2^22). */
  uint32_t max_actors;
  /* Non-zero: fsync() the trace file after each batch. */
  int fsync;
} cw_config;

/* Fills *cfg with the defaults and sets cfg->size. Thread-safe. */
CW_API void cw_config_init(cw_config *cfg);

/* Starts the SDK: reads the configuration, applies the environment
 * overrides CAUSEWAY_SERVICE, CAUSEWAY_TRACE_FILE, CAUSEWAY_TRACE_DIR,
 * CAUSEWAY_ENDPOINT and CAUSEWAY_DISABLED=1, opens the sink and starts the
 * drain thread. Registers an atexit() handler that flushes. With no trace
 * file, directory or endpoint, events are recorded and discarded.
 * @param cfg  NULL for defaults; borrowed.
 * @return CW_OK (also when tracing is disabled: see cw_is_enabled()),
 *         CW_ESTATE when already initialized, CW_EINVAL for a bad cfg->size,
 *         CW_EIO when the trace file cannot be opened, CW_ENOMEM.
 * Not thread-safe with itself or cw_shutdown(). */
CW_API cw_status cw_init(const cw_config *cfg);

/* Stops the SDK: records the caller's thread end, drains every buffer,
 * writes the last batch, closes the sink and frees the SDK's memory.
 * Call it once no other thread is inside an SDK call. Safe to call twice,
 * or without cw_init(); the atexit handler only flushes.
 * With CAUSEWAY_ENDPOINT it waits at most CAUSEWAY_FLUSH_TIMEOUT_MS (default
 * 5000) for the collector to take what is queued, plus about one second
 * to abort a transfer still in flight; what is left is dropped.
 * @return CW_OK when every batch of the session was written (trace file)
 *         or acknowledged by the collector, or stood in for by a gap report
 *         that the collector acknowledged (a queue overflow it knows of);
 *         CW_EIO when some batch was lost: a write failed, the collector
 *         refused it (4xx), or it was still unsent at the deadline (a
 *         collector that is down or stalls). Never longer than the bound
 *         above, whatever the collector does. */
CW_API cw_status cw_shutdown(void);

/* @return 1 when events are being recorded, else 0. Thread-safe. */
CW_API int cw_is_enabled(void);

/* Waits until everything recorded before the call is written to the sink.
 * @return CW_OK, CW_EDISABLED when not tracing, CW_EIO on a write error.
 * Thread-safe; blocks the caller (not for the hot path). */
CW_API cw_status cw_flush(void);

/* Counters, for tests and benchmarks. */
typedef struct cw_stats {
  uint64_t events;      /* events recorded into buffers */
  uint64_t dropped;     /* events dropped because a buffer was full */
  uint64_t written;     /* events written to the sink */
  uint64_t batches;     /* batches written */
  uint64_t bytes;       /* compressed bytes written */
  uint64_t retired;     /* actors retired (bounded clocks) */
  uint64_t live_actors; /* actor-table slots in use */
  uint64_t max_clock;   /* largest clock (entries) seen by a join */
  uint64_t memory;      /* bytes currently allocated by the SDK */
} cw_stats;

/* Copies the SDK counters into *out. Thread-safe. */
CW_API void cw_stats_get(cw_stats *out);

/* ---- Source locations -----------------------------------------------------
 */

/* A source location. file and func must be static strings. */
typedef struct cw_loc {
  const char *file;
  const char *func;
  uint32_t line;
} cw_loc;

/* The caller's location. */
#define CW_LOC_HERE ((cw_loc){__FILE__, __func__, (uint32_t)__LINE__})
/* No location. */
#define CW_LOC_NONE ((cw_loc){0, 0, 0})
/* The caller's location as three arguments (file, func, line), for the
 * lock wrappers' `_src` entry points: arguments travel in registers where
 * a cw_loc goes through memory, which shows on a lock that costs ~6 ns. */
#define CW_SRC_HERE __FILE__, __func__, (uint32_t)__LINE__

/* ---- Actors ----------------------------------------------------------------
 */

/* Names the calling thread's actor (the "actor" part of
 * "service#instance/actor"; default "main" for the thread that called
 * cw_init(), "t<N>" for others). Only before the actor's first event.
 * @param name  1-47 bytes; copied.
 * @return CW_OK, CW_EINVAL, CW_ESTATE when the actor already recorded
 *         events, CW_EDISABLED. */
CW_API cw_status cw_actor_set_name(const char *name);

/* Writes the calling actor's global name into buf (NUL-terminated).
 * @return CW_OK, CW_ETOOBIG when cap is too small, CW_EDISABLED. */
CW_API cw_status cw_actor_name(char *buf, size_t cap);

/* Creates a thread as pthread_create() does, recording a fork edge: the
 * child's actor starts from the parent's clock.
 * @return pthread_create()'s result. */
CW_API int cw_thread_create_at(pthread_t *thread, const pthread_attr_t *attr,
                               void *(*fn)(void *), void *arg, cw_loc loc);
/* Joins a thread as pthread_join() does, recording a join edge: the
 * child's events happen before the caller's next event.
 * @return pthread_join()'s result. */
CW_API int cw_thread_join_at(pthread_t thread, void **ret, cw_loc loc);
CW_API int cw_thread_create(pthread_t *thread, const pthread_attr_t *attr,
                            void *(*fn)(void *), void *arg);
CW_API int cw_thread_join(pthread_t thread, void **ret);
#define cw_thread_create(t, a, f, x)                                           \
  cw_thread_create_at((t), (a), (f), (x), CW_LOC_HERE)
#define cw_thread_join(t, r) cw_thread_join_at((t), (r), CW_LOC_HERE)

/* ---- Vector clock snapshots (propagation) ---------------------------------
 */

/* A copy of an actor's vector clock, or a clock received from another
 * process. Opaque; create with cw_clock_snapshot_new(). Not thread-safe:
 * one thread uses a snapshot at a time. */
typedef struct cw_clock_snapshot cw_clock_snapshot;

/* Most entries a header carries, and the longest header cw_clock_encode()
 * writes (without the NUL). */
#define CW_CLOCK_MAX_ENTRIES 64
#define CW_CLOCK_HEADER_MAX 4096

/* @return a new empty snapshot (free with cw_clock_snapshot_free()), or
 * NULL. Works without cw_init(). */
CW_API cw_clock_snapshot *cw_clock_snapshot_new(void);
/* Frees a snapshot. Accepts NULL. */
CW_API void cw_clock_snapshot_free(cw_clock_snapshot *snap);
/* @return the number of entries in the snapshot. */
CW_API size_t cw_clock_snapshot_len(const cw_clock_snapshot *snap);

/* Captures the calling actor's clock into snap (replacing its contents).
 * @return CW_OK, CW_EDISABLED (snap is then emptied), CW_ENOMEM. */
CW_API cw_status cw_clock_current(cw_clock_snapshot *snap);

/* Encodes snap as a compact ASCII header value: "1." then base64url (no
 * padding) of (actor name, counter) pairs. At most CW_CLOCK_MAX_ENTRIES
 * entries are kept, most recently created actors first (the caller's own
 * actor always first), and the result never exceeds CW_CLOCK_HEADER_MAX
 * characters.
 * @param buf  receives the NUL-terminated value; cap includes the NUL.
 * @param out_len  optional; the length written.
 * @return CW_OK, CW_ETOOBIG when cap is too small, CW_EINVAL. */
CW_API cw_status cw_clock_encode(const cw_clock_snapshot *snap, char *buf,
                                 size_t cap, size_t *out_len);

/* Decodes a header value made by cw_clock_encode() into snap (replacing its
 * contents). Any malformed, oversized or truncated input is an error; it
 * never crashes.
 * @param hdr  len bytes, need not be NUL-terminated.
 * @return CW_OK, CW_EMALFORMED, CW_ETOOBIG, CW_ENOMEM. */
CW_API cw_status cw_clock_decode(const char *hdr, size_t len,
                                 cw_clock_snapshot *snap);

/* Fills snap (replacing its contents) with named entries, e.g. a clock
 * received in another tool's format (Raceway's causality vectors).
 * @param names  n actor names, 1-127 printable ASCII bytes each; copied.
 * @param counters  n counters, 1..2^63-1.
 * @param n  at most CW_CLOCK_MAX_ENTRIES.
 * @return CW_OK, CW_EINVAL (bad name or counter), CW_ETOOBIG, CW_ENOMEM.
 * Works without cw_init(). */
CW_API cw_status cw_clock_snapshot_set(cw_clock_snapshot *snap,
                                       const char *const *names,
                                       const uint64_t *counters, size_t n);

/* Merges snap into the calling actor's clock: everything the snapshot's
 * actors did up to their counters happens before the caller's next event.
 * Records a "message" event (detail `why`, may be NULL) carrying the
 * joined entries.
 * @return CW_OK, CW_EDISABLED, CW_EFULL (actor table full). */
CW_API cw_status cw_clock_join(const cw_clock_snapshot *snap, const char *why);

/* ---- Tasks (logical actors) -----------------------------------------------
 */

/* Starts a task actor on the calling thread: until cw_task_end(), the
 * thread's events belong to a new actor "task-<N>" whose clock starts from
 * `from` (NULL: an empty clock), NOT from the thread's history. Tasks nest
 * up to 4 deep. A task must end on the thread that began it.
 * @param name  the task's label (event object), may be NULL; copied.
 * @return CW_OK, CW_EDISABLED, CW_EFULL (nesting or actor table full). */
CW_API cw_status cw_task_begin(const char *name, const cw_clock_snapshot *from);
/* Ends the innermost task of the calling thread.
 * @return CW_OK, CW_ESTATE when no task is running, CW_EDISABLED. */
CW_API cw_status cw_task_end(void);

/* Sets the calling actor's trace context (W3C ids); following events carry
 * it. @param trace_id 16 bytes, span_id 8 bytes; copied.
 * @return CW_OK, CW_EINVAL, CW_EDISABLED. */
CW_API cw_status cw_trace_set(const uint8_t trace_id[16],
                              const uint8_t span_id[8]);
/* Sets the parent span id of the calling actor's trace context (set with
 * cw_trace_set first): the caller's span, e.g. the parent-id of an incoming
 * W3C traceparent. Following events carry it as their parent_span_id.
 * @param parent_span_id 8 bytes, copied.
 * @return CW_OK, CW_EINVAL, CW_ESTATE when no trace is set, CW_EDISABLED. */
CW_API cw_status cw_trace_set_parent(const uint8_t parent_span_id[8]);
/* Reads the calling actor's trace context and current span id.
 * @return CW_OK, CW_ESTATE when none is set, CW_EDISABLED. */
CW_API cw_status cw_trace_get(uint8_t trace_id[16], uint8_t span_id[8]);

/* ---- Locks ----------------------------------------------------------------
 */

/* Drop-in wrappers of the pthread calls of the same name. Each returns the
 * pthread result. Lock events: request (only when the lock is busy, before
 * waiting), acquired, release, with monotonic timestamps; an acquire
 * without a request means the lock was free. A trylock records only its
 * success (flag TRY); a timedlock records its success (TRY) and, when it
 * had to wait, its request (TRY: part of the wait-for graph, not of the
 * lock-order graph) and a lock_timeout if it gave up. Locks are reported under
 * the name set with cw_lock_name(), else "mutex@0x..." / "rwlock@0x...". The
 * macros call the `_src` forms; the `_at` forms take a cw_loc and do the same.
 */
CW_API int cw_mutex_lock_src(pthread_mutex_t *m, const char *file,
                             const char *func, uint32_t line);
CW_API int cw_mutex_trylock_src(pthread_mutex_t *m, const char *file,
                                const char *func, uint32_t line);
CW_API int cw_mutex_timedlock_src(pthread_mutex_t *m,
                                  const struct timespec *abstime,
                                  const char *file, const char *func,
                                  uint32_t line);
CW_API int cw_mutex_unlock_src(pthread_mutex_t *m, const char *file,
                               const char *func, uint32_t line);
CW_API int cw_mutex_lock_at(pthread_mutex_t *m, cw_loc loc);
CW_API int cw_mutex_trylock_at(pthread_mutex_t *m, cw_loc loc);
CW_API int cw_mutex_timedlock_at(pthread_mutex_t *m,
                                 const struct timespec *abstime, cw_loc loc);
CW_API int cw_mutex_unlock_at(pthread_mutex_t *m, cw_loc loc);
CW_API int cw_mutex_lock(pthread_mutex_t *m);
CW_API int cw_mutex_trylock(pthread_mutex_t *m);
CW_API int cw_mutex_timedlock(pthread_mutex_t *m,
                              const struct timespec *abstime);
CW_API int cw_mutex_unlock(pthread_mutex_t *m);
#define cw_mutex_lock(m) cw_mutex_lock_src((m), CW_SRC_HERE)
#define cw_mutex_trylock(m) cw_mutex_trylock_src((m), CW_SRC_HERE)
#define cw_mutex_timedlock(m, t) cw_mutex_timedlock_src((m), (t), CW_SRC_HERE)
#define cw_mutex_unlock(m) cw_mutex_unlock_src((m), CW_SRC_HERE)

/* Read-write locks: a write-release orders later reads and writes; a
 * read-release orders only later write-acquires. */
CW_API int cw_rwlock_rdlock_src(pthread_rwlock_t *l, const char *file,
                                const char *func, uint32_t line);
CW_API int cw_rwlock_wrlock_src(pthread_rwlock_t *l, const char *file,
                                const char *func, uint32_t line);
CW_API int cw_rwlock_tryrdlock_src(pthread_rwlock_t *l, const char *file,
                                   const char *func, uint32_t line);
CW_API int cw_rwlock_trywrlock_src(pthread_rwlock_t *l, const char *file,
                                   const char *func, uint32_t line);
CW_API int cw_rwlock_unlock_src(pthread_rwlock_t *l, const char *file,
                                const char *func, uint32_t line);
CW_API int cw_rwlock_rdlock_at(pthread_rwlock_t *l, cw_loc loc);
CW_API int cw_rwlock_wrlock_at(pthread_rwlock_t *l, cw_loc loc);
CW_API int cw_rwlock_tryrdlock_at(pthread_rwlock_t *l, cw_loc loc);
CW_API int cw_rwlock_trywrlock_at(pthread_rwlock_t *l, cw_loc loc);
CW_API int cw_rwlock_unlock_at(pthread_rwlock_t *l, cw_loc loc);
CW_API int cw_rwlock_rdlock(pthread_rwlock_t *l);
CW_API int cw_rwlock_wrlock(pthread_rwlock_t *l);
CW_API int cw_rwlock_tryrdlock(pthread_rwlock_t *l);
CW_API int cw_rwlock_trywrlock(pthread_rwlock_t *l);
CW_API int cw_rwlock_unlock(pthread_rwlock_t *l);
#define cw_rwlock_rdlock(l) cw_rwlock_rdlock_src((l), CW_SRC_HERE)
#define cw_rwlock_wrlock(l) cw_rwlock_wrlock_src((l), CW_SRC_HERE)
#define cw_rwlock_tryrdlock(l) cw_rwlock_tryrdlock_src((l), CW_SRC_HERE)
#define cw_rwlock_trywrlock(l) cw_rwlock_trywrlock_src((l), CW_SRC_HERE)
#define cw_rwlock_unlock(l) cw_rwlock_unlock_src((l), CW_SRC_HERE)

/* Condition variables: the wait records the mutex's release, then (on
 * wake-up) its acquire. Signal/broadcast need no wrapper. */
CW_API int cw_cond_wait_at(pthread_cond_t *c, pthread_mutex_t *m, cw_loc loc);
CW_API int cw_cond_timedwait_at(pthread_cond_t *c, pthread_mutex_t *m,
                                const struct timespec *abstime, cw_loc loc);
CW_API int cw_cond_wait(pthread_cond_t *c, pthread_mutex_t *m);
CW_API int cw_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
                             const struct timespec *abstime);
#define cw_cond_wait(c, m) cw_cond_wait_at((c), (m), CW_LOC_HERE)
#define cw_cond_timedwait(c, m, t)                                             \
  cw_cond_timedwait_at((c), (m), (t), CW_LOC_HERE)

/* Names a lock (any address: a pthread_mutex_t, pthread_rwlock_t or a lock
 * of your own used with the cw_annotate_mutex_* hooks), e.g.
 * "account:alice". Set it before the lock's first use.
 * @param name  1-127 bytes; copied. NULL restores the default name.
 * @return CW_OK, CW_EINVAL, CW_EDISABLED, CW_ENOMEM. */
CW_API cw_status cw_lock_name(void *lock, const char *name);

/* Forgets everything the SDK knows about a lock (its clock and name): call
 * it before destroying a lock whose address may be reused by another.
 * @return CW_OK, CW_EDISABLED. */
CW_API cw_status cw_lock_forget(void *lock);

/* Hooks for code that keeps its own lock (as TSan's mutex annotations):
 * call before_lock before blocking on it, after_lock once it is held, and
 * before_unlock just before releasing it. `mutex` is any stable address
 * identifying the lock; `name` (may be NULL) names it as cw_lock_name().
 * These record the same events and edges as cw_mutex_lock/unlock. */
CW_API void cw_annotate_mutex_before_lock_at(void *mutex, const char *name,
                                             cw_loc loc);
CW_API void cw_annotate_mutex_after_lock_at(void *mutex, const char *name,
                                            cw_loc loc);
CW_API void cw_annotate_mutex_before_unlock_at(void *mutex, const char *name,
                                               cw_loc loc);
CW_API void cw_annotate_mutex_before_lock(void *mutex, const char *name);
CW_API void cw_annotate_mutex_after_lock(void *mutex, const char *name);
CW_API void cw_annotate_mutex_before_unlock(void *mutex, const char *name);
#define cw_annotate_mutex_before_lock(m, n)                                    \
  cw_annotate_mutex_before_lock_at((m), (n), CW_LOC_HERE)
#define cw_annotate_mutex_after_lock(m, n)                                     \
  cw_annotate_mutex_after_lock_at((m), (n), CW_LOC_HERE)
#define cw_annotate_mutex_before_unlock(m, n)                                  \
  cw_annotate_mutex_before_unlock_at((m), (n), CW_LOC_HERE)

/* ---- Release/acquire annotations ------------------------------------------
 */

/* release(key) happens before every later acquire(key) of the same string
 * key, like __tsan_release/__tsan_acquire. Use them for queues, channels
 * and other primitives that are not wrapped.
 * @param key  1-127 bytes (longer keys are truncated); copied. */
CW_API void cw_annotate_release_at(const char *key, cw_loc loc);
CW_API void cw_annotate_acquire_at(const char *key, cw_loc loc);
CW_API void cw_annotate_release(const char *key);
CW_API void cw_annotate_acquire(const char *key);
#define cw_annotate_release(k) cw_annotate_release_at((k), CW_LOC_HERE)
#define cw_annotate_acquire(k) cw_annotate_acquire_at((k), CW_LOC_HERE)

/* ---- External locks ---------------------------------------------------------
 */

/* A lock held outside the process (a lock service, a database advisory
 * lock, a Redis lock) and owned by the calling actor: the thread, or the
 * task (e.g. the HTTP request) running on it. Call request before asking
 * the lock service (it may make the caller wait), acquired once the lock
 * is granted, released when giving it back, and timeout when the wait ends
 * without the lock (a lock service that gave up, a deadline). The same
 * actor makes all four calls of one hold.
 *
 * `name` identifies the lock GLOBALLY, across every process and service
 * that reports to the same analysis (e.g. "account:42" for the account
 * service's lock on account 42): it is recorded as the lock "ext:<name>",
 * and the analysis orders a release before every later acquire of that
 * name in any process, and puts the lock in the lock-order graph
 * (potential deadlocks) and the wait-for graph (actual deadlocks, reported
 * while they stand; a timeout ends one). Nothing is sent to the lock
 * service; these calls only record events.
 *
 * Thread-safe; no allocation, lock or system call on the calling path.
 * @param name  1-123 bytes, copied; NULL, empty or longer is CW_EINVAL.
 * @return CW_OK, CW_EINVAL, CW_EDISABLED (not tracing). The macros call
 * the `_src` forms with the caller's file, function and line. */
CW_API int cw_extlock_request_src(const char *name, const char *file,
                                  const char *func, uint32_t line);
CW_API int cw_extlock_acquired_src(const char *name, const char *file,
                                   const char *func, uint32_t line);
CW_API int cw_extlock_released_src(const char *name, const char *file,
                                   const char *func, uint32_t line);
CW_API int cw_extlock_timeout_src(const char *name, const char *file,
                                  const char *func, uint32_t line);
CW_API int cw_extlock_request(const char *name);
CW_API int cw_extlock_acquired(const char *name);
CW_API int cw_extlock_released(const char *name);
CW_API int cw_extlock_timeout(const char *name);
#define cw_extlock_request(n) cw_extlock_request_src((n), CW_SRC_HERE)
#define cw_extlock_acquired(n) cw_extlock_acquired_src((n), CW_SRC_HERE)
#define cw_extlock_released(n) cw_extlock_released_src((n), CW_SRC_HERE)
#define cw_extlock_timeout(n) cw_extlock_timeout_src((n), CW_SRC_HERE)

/* ---- State accesses -------------------------------------------------------
 */

/* How a keyed variable is accessed. Atomic accesses never race with each
 * other and create no happens-before edges; pair them with
 * cw_annotate_release/acquire when they publish data. */
typedef enum cw_access_kind {
  CW_ACCESS_READ = 1,
  CW_ACCESS_WRITE = 2,
  CW_ACCESS_ATOMIC_READ = 3,
  CW_ACCESS_ATOMIC_WRITE = 4,
  CW_ACCESS_ATOMIC_RMW = 5
} cw_access_kind;

/* Scope of a key. A key belongs to its process (service#instance): two
 * processes that both write "account:bob.balance" write two different
 * variables, since processes share no memory. OR CW_ACCESS_SHARED into the
 * kind (or use the _SHARED macros) when the key names state that really is
 * shared by processes: a file, an external cache, a database row. Shared
 * is decided per access: every access of a shared key must say so (an
 * access without it is to the process's own variable of that name). The
 * database glue (causeway/db.h) marks all its keys, inferred or declared,
 * shared. docs/detection.md, "Scope". */
#define CW_ACCESS_SHARED 0x100

/* Records an access to the variable `key` (e.g. "account:alice.balance";
 * up to 127 bytes are kept; copied). No allocation, lock or system call.
 * The _int and _str forms attach the value read or written (a string value
 * keeps up to 127 bytes). kind: a cw_access_kind, optionally with
 * CW_ACCESS_SHARED. */
CW_API void cw_access(int kind, const char *key, cw_loc loc);
CW_API void cw_access_int(int kind, const char *key, int64_t v, cw_loc loc);
CW_API void cw_access_str(int kind, const char *key, const char *v, cw_loc loc);

#define CW_READ(key) cw_access(CW_ACCESS_READ, (key), CW_LOC_HERE)
#define CW_WRITE(key) cw_access(CW_ACCESS_WRITE, (key), CW_LOC_HERE)
#define CW_READ_INT(key, v)                                                    \
  cw_access_int(CW_ACCESS_READ, (key), (int64_t)(v), CW_LOC_HERE)
#define CW_WRITE_INT(key, v)                                                   \
  cw_access_int(CW_ACCESS_WRITE, (key), (int64_t)(v), CW_LOC_HERE)
#define CW_READ_STR(key, v)                                                    \
  cw_access_str(CW_ACCESS_READ, (key), (v), CW_LOC_HERE)
#define CW_WRITE_STR(key, v)                                                   \
  cw_access_str(CW_ACCESS_WRITE, (key), (v), CW_LOC_HERE)
#define CW_ATOMIC_READ(key) cw_access(CW_ACCESS_ATOMIC_READ, (key), CW_LOC_HERE)
#define CW_ATOMIC_WRITE(key)                                                   \
  cw_access(CW_ACCESS_ATOMIC_WRITE, (key), CW_LOC_HERE)
#define CW_ATOMIC_RMW(key) cw_access(CW_ACCESS_ATOMIC_RMW, (key), CW_LOC_HERE)
/* Accesses of a key shared by processes (see CW_ACCESS_SHARED). */
#define CW_READ_SHARED(key)                                                    \
  cw_access(CW_ACCESS_READ | CW_ACCESS_SHARED, (key), CW_LOC_HERE)
#define CW_WRITE_SHARED(key)                                                   \
  cw_access(CW_ACCESS_WRITE | CW_ACCESS_SHARED, (key), CW_LOC_HERE)
#define CW_READ_SHARED_INT(key, v)                                             \
  cw_access_int(CW_ACCESS_READ | CW_ACCESS_SHARED, (key), (int64_t)(v),        \
                CW_LOC_HERE)
#define CW_WRITE_SHARED_INT(key, v)                                            \
  cw_access_int(CW_ACCESS_WRITE | CW_ACCESS_SHARED, (key), (int64_t)(v),       \
                CW_LOC_HERE)
#define CW_READ_SHARED_STR(key, v)                                             \
  cw_access_str(CW_ACCESS_READ | CW_ACCESS_SHARED, (key), (v), CW_LOC_HERE)
#define CW_WRITE_SHARED_STR(key, v)                                            \
  cw_access_str(CW_ACCESS_WRITE | CW_ACCESS_SHARED, (key), (v), CW_LOC_HERE)

/* ---- Spans ----------------------------------------------------------------
 */

/* Begins a span (a named interval of the calling actor, for timelines and
 * critical paths); spans nest up to 16 deep per actor. When a trace
 * context is set, the span gets a fresh span id that following events
 * carry. @param name  copied (up to 127 bytes). */
CW_API void cw_span_begin_at(const char *name, cw_loc loc);
/* Ends the innermost span, recording its duration. */
CW_API void cw_span_end_at(cw_loc loc);
CW_API void cw_span_begin(const char *name);
CW_API void cw_span_end(void);
#define cw_span_begin(n) cw_span_begin_at((n), CW_LOC_HERE)
#define cw_span_end() cw_span_end_at(CW_LOC_HERE)

/* ---- Custom events (for the HTTP and DB glue) -----------------------------
 */

/* Kinds a program or glue library may record with cw_emit(). The values
 * are those of the native event format. */
typedef enum cw_emit_kind {
  CW_EMIT_HTTP_SEND = 17,
  CW_EMIT_HTTP_RECV = 18,
  CW_EMIT_HTTP_RESPOND = 19,
  CW_EMIT_HTTP_RESPONSE = 20,
  CW_EMIT_DB_QUERY = 21,
  CW_EMIT_DB_RESULT = 22,
  CW_EMIT_MESSAGE = 23
} cw_emit_kind;

/* One custom event. Zero it, then set what applies. */
typedef struct cw_emit_info {
  cw_emit_kind kind;
  const char *object; /* e.g. database name; may be NULL; copied */
  const char *detail; /* e.g. "GET /x", statement; may be NULL; copied
                         (up to 255 bytes) */
  int has_aux;
  int64_t aux; /* HTTP status, row count */
  int has_duration;
  uint64_t duration_ns;
  int error; /* the operation failed */
  /* Clock to merge into the caller before the event (e.g. the callee's
   * clock from a response header); the event carries what it raised.
   * May be NULL; borrowed. */
  const cw_clock_snapshot *join;
  cw_loc loc;
} cw_emit_info;

/* Records a custom event for the calling actor.
 * @return CW_OK, CW_EINVAL, CW_EDISABLED, CW_EFULL. */
CW_API cw_status cw_emit(const cw_emit_info *info);

/* ---- Timeouts and retries (anomalies) --------------------------------------
 */

/* Records that the calling actor is retrying the operation of call site
 * `site` (e.g. "accounts:lock" or "POST /accounts/lock"): call it just
 * before each new attempt, with attempt = 1 for the first retry, 2 for the
 * second, ... The analysis groups retries by site and reports a retry
 * storm when many retries of one site fall within a short window
 * (docs/detection.md, "Anomalies").
 * @param site  1-127 bytes (longer names are truncated); copied.
 * @return CW_OK, CW_EINVAL (NULL or empty site), CW_EDISABLED.
 * Thread-safe; no allocation, lock or system call. */
CW_API int cw_note_retry_at(const char *site, unsigned attempt, cw_loc loc);
/* Records that an operation of call site `site` gave up after waiting
 * waited_ns nanoseconds (a request, lock or query timeout). Every timeout is
 * an anomaly of its site (docs/detection.md, "Anomalies").
 * @param site  1-127 bytes (longer names are truncated); copied.
 * @return CW_OK, CW_EINVAL (NULL or empty site), CW_EDISABLED.
 * Thread-safe; no allocation, lock or system call. */
CW_API int cw_note_timeout_at(const char *site, uint64_t waited_ns, cw_loc loc);
CW_API int cw_note_retry(const char *site, unsigned attempt);
CW_API int cw_note_timeout(const char *site, uint64_t waited_ns);
#define cw_note_retry(s, a) cw_note_retry_at((s), (a), CW_LOC_HERE)
#define cw_note_timeout(s, w) cw_note_timeout_at((s), (w), CW_LOC_HERE)

/* Monotonic time in ns (CLOCK_MONOTONIC), the clock events use. Works
 * without cw_init(). */
CW_API uint64_t cw_now_ns(void);

#ifdef __cplusplus
}
#endif

#endif /* CAUSEWAY_H */
