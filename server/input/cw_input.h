/*
 * cw_input: decoders that turn trace files and ingest bodies into engine
 * events (server/analysis/cw_analysis.h). Three formats:
 *
 *   - RAPID "STD" text traces (cw_std.c): happens-before comes from the
 *     sync events, the engine numbers events itself;
 *   - Raceway JSON batches (cw_raceway*.c): happens-before is rebuilt from
 *     per-thread program order, lock pairs, spawns and parent links;
 *   - causeway native trace files (cw_native*.c): the SDK's clocks are the
 *     happens-before, the decoder only restores the per-process order.
 *
 * Internal API (not installed), shared by the CLI and the collector.
 * Thread-safety: each call uses one engine from one thread.
 */
#ifndef CW_INPUT_H
#define CW_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cw_analysis.h"

/* Input formats. */
typedef enum cw_input_format {
  CW_FMT_AUTO = 0,
  CW_FMT_NATIVE,
  CW_FMT_STD,
  CW_FMT_RACEWAY,
  CW_FMT_CLOCKS, /* JSON lines with explicit clocks (cw_clocks.c) */
  CW_FMT_SHIVIZ  /* ShiViz / GoVector logs (cw_clocks.c) */
} cw_input_format;

/* Why a Raceway event was skipped. Never renumber. */
typedef enum cw_skip_reason {
  CW_SKIP_NOT_OBJECT = 0, /* the event is not a JSON object */
  CW_SKIP_BAD_KIND,       /* `kind` missing or not a one-key object */
  CW_SKIP_UNKNOWN_KIND,   /* a kind variant causeway does not know */
  CW_SKIP_BAD_METADATA,   /* metadata / thread_id / service missing */
  CW_SKIP_BAD_TIMESTAMP,  /* timestamp missing or not RFC 3339 */
  CW_SKIP_BAD_FIELD,      /* a field the kind needs is missing or wrong */
  CW_SKIP_LIMIT,          /* over the per-input event cap */
  CW_SKIP_REASON_COUNT_
} cw_skip_reason;

/* Counters filled by the decoders; zero it before the first call and pass
 * the same struct for every input of one analysis. */
typedef struct cw_input_stats {
  uint64_t events;         /* events handed to the engine */
  uint64_t lines;          /* STD: lines read */
  uint64_t bytes;          /* bytes read */
  uint64_t skipped_events; /* Raceway events skipped (sum of reasons) */
  uint64_t skipped[CW_SKIP_REASON_COUNT_];
  uint64_t unknown_fields;  /* Raceway events analysed despite extra fields */
  uint64_t batches;         /* native batches / Raceway batches */
  uint64_t truncated_files; /* native files with a truncated last frame */
  uint64_t unknown_kinds;   /* native events of a kind this build skips */
  uint64_t unknown_actors;  /* native events naming an undefined actor */
  uint64_t late_events;     /* Raceway events that arrived after later
                               events were fed (docs/detection.md 2.3) */
} cw_input_stats;

/* @return st, or scratch zeroed when st is NULL: every decoder counts into
 * the caller's stats or, when it passes none, into a local scratch copy. */
static inline cw_input_stats *cw__stats_or(cw_input_stats *st,
                                           cw_input_stats *scratch) {
  if (st)
    return st;
  *scratch = (cw_input_stats){0};
  return scratch;
}

/* @return the stable name of a skip reason ("unknown_kind"...). */
const char *cw__skip_reason_name(cw_skip_reason r);

/* A decode error: a message that already names the input and the line (or
 * byte offset), e.g. "trace.std:12: expected THREAD|OP|LOC". */
typedef struct cw_input_error {
  char msg[320];
  uint64_t line; /* 0 when not line-based */
} cw_input_error;

/* Sets *err (when not NULL) to "NAME:LINE: MSG", or "NAME: MSG" when line
 * is 0; the one error format of every decoder. */
void cw__input_error_at(cw_input_error *err, const char *name, uint64_t line,
                        const char *msg);

/* Progress callback: `done` of `total` bytes read (total 0 = unknown). */
typedef void (*cw_progress_fn)(void *ud, uint64_t done, uint64_t total);

/* Per-input options. `name` is the input's display name (used in errors);
 * `service` names the process the input came from (STD: file basename).
 * With `prefix_actors` set, STD actors are named "service/THREAD" so that
 * the threads of several files stay distinct; otherwise just "THREAD". */
typedef struct cw_input_opts {
  const char *name;
  const char *service;
  int prefix_actors;
  cw_progress_fn progress;
  void *progress_ud;
  uint64_t total_bytes;
  /* ShiViz: the log's regex (groups host, clock, event) and the map from
   * event text to accesses (groups op, var, optional addr); NULL picks
   * cw__shiviz_default_regex / cw__shiviz_default_map. */
  const char *shiviz_regex;
  const char *shiviz_map;
} cw_input_opts;

/* Reads a whole file, at most `max` bytes. @return a new NUL-terminated
 * buffer (free() it) and its length in *len, or NULL with a reason in msg. */
char *cw__read_file(const char *path, size_t max, size_t *len, char *msg,
                    size_t msgsz);

/* ---- Detection ---- */

/* Guesses a format from the first bytes of an input and its file name:
 * an LZ4 frame magic or ".cwt" is native, a first JSON object that starts
 * with "actor" or "batch" is JSON lines with clocks, '{' or '[' is Raceway
 * JSON, anything else is STD (ShiViz logs are never guessed). */
cw_input_format cw__input_detect(const char *path, const uint8_t *head,
                                 size_t n);
/* @return "native", "std", "raceway", "clocks", "shiviz" or "auto". */
const char *cw__input_format_name(cw_input_format f);
/* Parses a format name. @return 0 or -1. */
int cw__input_format_parse(const char *s, cw_input_format *out);

/* ---- STD ---- */

/* Parses one STD line (without its newline). *kind is 0 for a blank or
 * comment line. Fields point into `line`.
 * @return 0, or -1 with a message in msg (msgsz bytes). */
typedef struct cw_std_line {
  int kind; /* 0 or a cw_ae_kind */
  const char *thread;
  size_t thread_len;
  const char *arg;
  size_t arg_len;
  const char *loc;
  size_t loc_len;
} cw_std_line;
int cw__std_parse_line(const char *line, size_t len, cw_std_line *out,
                       char *msg, size_t msgsz);

/* Streams a STD trace from `f` into the engine, line by line. st and err
 * may be NULL. Progress reports count this input's bytes only.
 * @return 0, or -1 with err filled ("name:LINE: reason"). */
int cw__std_decode_stream(FILE *f, cw_engine *e, const cw_input_opts *o,
                          cw_input_stats *st, cw_input_error *err);
/* Decodes a STD trace held in memory (fuzzing, tests). */
int cw__std_decode_buf(const char *buf, size_t len, cw_engine *e,
                       const cw_input_opts *o, cw_input_stats *st,
                       cw_input_error *err);

/* ---- Raceway JSON ---- */

/* Decodes Raceway JSON: one `{"events":[...]}` batch, a plain array of
 * events, or several batches one after another (JSONL). Each JSON value is
 * one batch. Events are fed in the order cw_raceway_order.c defines: the
 * SDK's buffer order within a batch for each process, a process's batches
 * chained by timestamp, processes merged by timestamp. Happens-before comes
 * from per-thread program order, lock pairs, AsyncSpawn, cross-thread
 * parent_id links and, across services, causality_vector entries of the
 * calling process (docs/detection.md 2.3). A bad or unknown event is skipped
 * and counted in *st; only a JSON syntax error or a wrong top-level shape
 * fails. Each call is self-contained: event counters and the ids parent links
 * name start afresh, so use cw__raceway_decode_ctx to feed one engine from
 * several calls. st and err may be NULL.
 * @return 0, or -1 with err filled ("name:LINE: reason"). */
int cw__raceway_decode(const char *json, size_t len, cw_engine *e,
                       cw_input_stats *st);
int cw__raceway_decode_ex(const char *json, size_t len, cw_engine *e,
                          const cw_input_opts *o, cw_input_stats *st,
                          cw_input_error *err);

/* Decoding state that lives across calls feeding one engine: per-actor
 * counters, the ids of recent events (up to 1 Mi, for parent links), and
 * the events held for a reorder window. Not thread-safe; one context per
 * engine. */
typedef struct cw_raceway_ctx cw_raceway_ctx;
/* @return a new context (free with cw__raceway_ctx_free), or NULL. */
cw_raceway_ctx *cw__raceway_ctx_new(void);
void cw__raceway_ctx_free(cw_raceway_ctx *c);
/* As cw__raceway_decode_ex, continuing the context's state; this input's
 * events are fed at once (no window). A context is bound to the first
 * engine it feeds; another engine gives -1. */
int cw__raceway_decode_ctx(cw_raceway_ctx *c, const char *json, size_t len,
                           cw_engine *e, const cw_input_opts *o,
                           cw_input_stats *st, cw_input_error *err);
/* The collector's way: adds one body that arrived at now_ns (any monotonic
 * clock) and holds its events; nothing is fed. Skips and late events are
 * counted in st. @return 0, or -1 with err filled. */
int cw__raceway_ctx_add(cw_raceway_ctx *c, const char *json, size_t len,
                        int64_t now_ns, const cw_input_opts *o,
                        cw_input_stats *st, cw_input_error *err);
/* Feeds held events in merged order until every event that arrived
 * window_ns or more before now_ns is fed (window_ns <= 0: everything).
 * @return 0, or -1 (memory, or another engine). */
int cw__raceway_ctx_release(cw_raceway_ctx *c, cw_engine *e, int64_t now_ns,
                            int64_t window_ns, cw_input_stats *st);
/* @return the number of events held. */
size_t cw__raceway_ctx_held(const cw_raceway_ctx *c);
/* Called right after each engine event the context feeds, with that event
 * (its seq and counter as the engine got them; borrowed during the call)
 * and the Raceway event (a jansson json_t *) it came from; one Raceway event
 * may give several engine events (a lock acquire: request then acquire).
 * The raw event is released after the feeding call returns. The collector
 * keeps its timeline and trace index with it. */
typedef void (*cw_raceway_observer)(void *ud, const cw_aevent *ev,
                                    const void *raw);
/* Sets (or with NULL clears) the context's observer. */
void cw__raceway_ctx_observe(cw_raceway_ctx *c, cw_raceway_observer fn,
                             void *ud);

/* Several Raceway inputs analysed as one batch set: add each (parsed and
 * checked, nothing fed yet), then feed them all in merged order. */
typedef struct cw_raceway_set cw_raceway_set;
/* @return a new set (free with cw__raceway_set_free), or NULL. */
cw_raceway_set *cw__raceway_set_new(void);
void cw__raceway_set_free(cw_raceway_set *s);
/* Parses one input into the set. The set keeps the events, not json.
 * @return 0, or -1 with err filled ("name:LINE: reason"). */
int cw__raceway_set_add(cw_raceway_set *s, const char *json, size_t len,
                        const cw_input_opts *o, cw_input_stats *st,
                        cw_input_error *err);
/* Feeds every event added so far. @return 0, or -1 out of memory. */
int cw__raceway_set_feed(cw_raceway_set *s, cw_engine *e, cw_input_stats *st);
/* The same, continuing a context (see cw__raceway_decode_ctx). */
int cw__raceway_set_feed_ctx(cw_raceway_set *s, cw_raceway_ctx *c, cw_engine *e,
                             cw_input_stats *st);

/* Parses an RFC 3339 timestamp ("2025-11-04T10:15:30.101234+00:00").
 * @return 0 with Unix nanoseconds in *out, or -1. */
int cw__rfc3339_parse(const char *s, int64_t *out);

/* ---- Inputs with explicit clocks (docs/event-format.md) ---- */

/* Decodes JSON lines with explicit clocks, one native record a line
 * ({"batch":...}, {"gap":...}, {"retire":...} or an event), as `causeway
 * dump --format clocks` writes them. An event's "clock" must hold its
 * actor's own entry (its counter); the other entries are what it follows.
 * Events reach the engine through the native mapper. st and err may be
 * NULL. @return 0, or -1 with err filled ("name:LINE: reason"). */
int cw__clocks_decode_buf(const char *buf, size_t len, cw_engine *e,
                          const cw_input_opts *o, cw_input_stats *st,
                          cw_input_error *err);
/* The native image (LZ4 frames, free() it) the two decoders feed, for
 * decoding with other native inputs (cw__native_decode_srcs).
 * @return 0 with *img / *img_len, or -1 with err filled. */
int cw__clocks_to_native(const char *buf, size_t len, const cw_input_opts *o,
                         cw_input_stats *st, uint8_t **img, size_t *img_len,
                         cw_input_error *err);
int cw__shiviz_to_native(const char *buf, size_t len, const cw_input_opts *o,
                         cw_input_stats *st, uint8_t **img, size_t *img_len,
                         cw_input_error *err);
/* Decodes a ShiViz / GoVector log (NUL-terminated buf): o->shiviz_regex
 * matched over the whole text (JavaScript-style named groups host, clock,
 * event; POSIX ERE otherwise), each clock a JSON object host -> counter
 * that must hold the host's own entry. Hosts are threads of one process
 * named o->service; event texts that o->shiviz_map matches are reads or
 * writes of its var (var@addr with an addr group), the others messages.
 * @return 0, or -1 with err filled. */
int cw__shiviz_decode_buf(const char *buf, size_t len, cw_engine *e,
                          const cw_input_opts *o, cw_input_stats *st,
                          cw_input_error *err);
/* GoVector's layout: "(?<host>\S*) (?<clock>{.*})\n(?<event>.*)". */
extern const char *const cw__shiviz_default_regex;
/* TSViz's access texts: "Read V from VAR of type T (ptr=ADDR)" and "Write V
 * to VAR ...". */
extern const char *const cw__shiviz_default_map;

/* ---- Native ---- */

/* Decodes native trace files (concatenated LZ4 frames) together: each
 * file's events are restored to sequence order (window: CW_NATIVE_WINDOW
 * events), then files are merged by wall-clock time. st and err may be
 * NULL. @return 0, or -1 with err filled ("file: byte N: reason"). */
int cw__native_decode_files(const char *const *paths, size_t n, cw_engine *e,
                            const cw_input_opts *o, cw_input_stats *st,
                            cw_input_error *err);
/* One native source: a file (buf NULL: read `name`) or a buffer. */
typedef struct cw_native_src {
  const char *name;
  const uint8_t *buf; /* borrowed */
  size_t len;
} cw_native_src;
/* As cw__native_decode_files, for files and in-memory images together
 * (the CLI's trace files and the images of its clocks / ShiViz inputs). */
int cw__native_decode_srcs(const cw_native_src *srcs, size_t n, cw_engine *e,
                           const cw_input_opts *o, cw_input_stats *st,
                           cw_input_error *err);
/* Decodes one in-memory native buffer (fuzzing, tests, the collector). */
int cw__native_decode_buf(const uint8_t *buf, size_t len, cw_engine *e,
                          const cw_input_opts *o, cw_input_stats *st,
                          cw_input_error *err);

/* @return non-zero when a lock name is a resource shared by processes
 * (database locks, "db:...", and external locks, "ext:..."): its release ->
 * acquire edges come from the merged event order, since no clock travels with
 * it. Native lock events of such resources are fed without CW_AEF_CLOCK_ONLY.
 */
int cw__lock_is_shared_resource(const char *name, size_t len);
/* @return non-zero when a native lock name is global (not scoped to its
 * process): shared resources and the HTTP glue's "http-call:<span>" waits.
 * Other lock names are scoped to their process (docs/detection.md). */
int cw__lock_is_global(const char *name, size_t len);

/* Events native inputs may hold back, in total, to restore sequence order
 * (split over the files, at least 64 Ki each; ~150 B per held event). */
#define CW_NATIVE_WINDOW ((size_t)1 << 18)

#endif /* CW_INPUT_H */
