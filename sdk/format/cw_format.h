/*
 * cw_format: encoder and decoder for causeway's native event batches.
 *
 * This is internal (not API): the SDK encodes with it, the CLI and the
 * collector decode with it. docs/event-format.md is the specification; this
 * header is its C view.
 *
 * DESIGN. A batch is a self-contained sequence of records: a BATCH header,
 * then STRING and ACTOR definitions interleaved with EVENT, GAP and RETIRE
 * records. String and actor ids are scoped to one batch, so a batch can be
 * decoded alone, out of order, or after a crash of the writer. On the wire
 * and in trace files each batch is one LZ4 frame; a trace file is a plain
 * concatenation of such frames, which `lz4 -d` also understands.
 *
 * Thread-safety: a writer or a decode call is used by one thread at a time;
 * distinct objects are independent.
 */
#ifndef CW_FORMAT_H
#define CW_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Version 2 added EVENT_D (delta-encoded events), version 3 TIMES and
 * EVENT_T; readers accept 1 to 3. */
#define CW_FORMAT_VERSION 3u

/* Record types (one byte). Never renumber. */
enum {
  CW_REC_BATCH = 0x01,
  CW_REC_STRING = 0x02,
  CW_REC_ACTOR = 0x03,
  CW_REC_GAP = 0x04,
  CW_REC_RETIRE = 0x05,
  CW_REC_EVENT = 0x10,
  CW_REC_EVENT_D = 0x11, /* EVENT with seq, counter and time as deltas */
  CW_REC_TIMES = 0x12,   /* the varying fields of the EVENT_Ts after it */
  CW_REC_EVENT_T = 0x13  /* EVENT_D without seq, time and value: in TIMES */
};

/* Event kinds. Never renumber; unknown kinds must be skipped by readers. */
typedef enum cw_ev_kind {
  CW_EV_THREAD_START = 1, /* object: parent actor name, or 0 */
  CW_EV_THREAD_END = 2,
  CW_EV_FORK = 3,       /* object: child actor name */
  CW_EV_JOIN = 4,       /* object: child actor name; joins: child clock */
  CW_EV_TASK_BEGIN = 5, /* object: task name; joins: starting clock */
  CW_EV_TASK_END = 6,
  CW_EV_LOCK_REQUEST = 7,   /* object: lock key; flags SHARED/TRY */
  CW_EV_LOCK_ACQUIRED = 8,  /* object: lock key; joins: lock's release clock */
  CW_EV_LOCK_RELEASE = 9,   /* object: lock key */
  CW_EV_READ = 10,          /* object: variable key; flags ATOMIC */
  CW_EV_WRITE = 11,         /* object: variable key; flags ATOMIC */
  CW_EV_RMW = 12,           /* atomic read-modify-write; flags ATOMIC */
  CW_EV_ANN_RELEASE = 13,   /* object: annotation key */
  CW_EV_ANN_ACQUIRE = 14,   /* object: annotation key; joins */
  CW_EV_SPAN_BEGIN = 15,    /* object: span name */
  CW_EV_SPAN_END = 16,      /* object: span name; duration */
  CW_EV_HTTP_SEND = 17,     /* detail: "METHOD url" */
  CW_EV_HTTP_RECV = 18,     /* detail: "METHOD path" (server side) */
  CW_EV_HTTP_RESPOND = 19,  /* aux: status; duration */
  CW_EV_HTTP_RESPONSE = 20, /* client got the answer; aux: status; joins */
  CW_EV_DB_QUERY = 21,      /* detail: statement; object: database */
  CW_EV_DB_RESULT = 22,     /* aux: rows; duration; detail: error if any */
  CW_EV_MESSAGE = 23,       /* free-form annotation; detail: text */
  CW_EV_LOCK_TIMEOUT = 24,  /* the wait ended without the lock; object: lock */
  CW_EV_RETRY = 25,   /* object: call site; aux: attempt (1 = first retry) */
  CW_EV_TIMEOUT = 26, /* object: call site; duration: time waited */
  CW_EV_KIND_MAX_ = 27
} cw_ev_kind;

/* Event flags (a varint bitset on the wire). */
enum {
  CW_EVF_ATOMIC = 1u << 0,
  CW_EVF_SHARED = 1u << 1, /* lock taken in read (shared) mode */
  CW_EVF_TRY = 1u << 2,    /* trylock / timedlock */
  CW_EVF_VAL_INT = 1u << 3,
  CW_EVF_VAL_STR = 1u << 4,
  CW_EVF_TRACE = 1u << 5, /* trace_id, span_id, parent_span_id present */
  CW_EVF_JOINS = 1u << 6,
  CW_EVF_DURATION = 1u << 7,
  CW_EVF_FULL_CLOCK = 1u << 8, /* joins hold the actor's whole clock */
  CW_EVF_DETAIL = 1u << 9,
  CW_EVF_AUX = 1u << 10,
  CW_EVF_ERROR = 1u << 11, /* the wrapped call failed */
  CW_EVF_KNOWN_ = (1u << 12) - 1
};

/* Actor kinds. */
enum { CW_ACTOR_THREAD = 1, CW_ACTOR_TASK = 2, CW_ACTOR_REMOTE = 3 };

/* One clock entry: a batch-local actor id and its counter. */
typedef struct cw_clock_entry {
  uint32_t actor;
  uint64_t counter;
} cw_clock_entry;

/* A decoded or to-be-encoded event. Ids are batch-local; 0 means "none". */
typedef struct cw_event_rec {
  uint32_t kind;
  uint32_t flags;
  uint64_t seq;     /* per-process sequence number (total order) */
  uint32_t actor;   /* batch-local actor id, never 0 */
  uint64_t counter; /* the actor's own clock component at this event */
  int64_t wall_ns;  /* Unix time, ns */
  uint64_t mono_ns; /* CLOCK_MONOTONIC, ns */
  uint32_t object;  /* string id: variable, lock, key, span or actor name */
  uint32_t file;    /* string id */
  uint32_t line;
  uint32_t func;        /* string id */
  int64_t val_int;      /* with CW_EVF_VAL_INT */
  uint32_t val_str;     /* string id, with CW_EVF_VAL_STR */
  uint64_t duration_ns; /* with CW_EVF_DURATION */
  uint32_t detail;      /* string id, with CW_EVF_DETAIL */
  int64_t aux;          /* with CW_EVF_AUX (HTTP status, row count) */
  uint8_t trace_id[16]; /* with CW_EVF_TRACE */
  uint8_t span_id[8];
  uint8_t parent_span_id[8];
  uint32_t njoins;             /* with CW_EVF_JOINS */
  const cw_clock_entry *joins; /* borrowed; valid during the callback */
} cw_event_rec;

/* The BATCH header record. Strings are borrowed from the decoded buffer. */
typedef struct cw_batch_hdr {
  uint32_t version;
  uint8_t stream_id[16]; /* random per process run */
  uint64_t batch_no;     /* 0, 1, 2... per stream; retries reuse it */
  const char *service;
  size_t service_len;
  const char *instance;
  size_t instance_len;
  uint64_t pid;
  int64_t base_wall_ns; /* events store deltas from these */
  uint64_t base_mono_ns;
} cw_batch_hdr;

/* ---- Encoding ------------------------------------------------------------ */

/* Writes v as an unsigned LEB128 varint (at most 10 bytes) at p.
 * @return the number of bytes written. */
size_t cw__put_varint(uint8_t *p, uint64_t v);

/* Writes v as a varint at p (the one-byte case first: most fields of a
 * steady event stream are small ids and deltas). @return its length. */
static inline size_t cw__vi_put(uint8_t *p, uint64_t v) {
  if (v < 0x80) {
    *p = (uint8_t)v;
    return 1;
  }
  if (v < 0x4000) { /* time deltas of tens of ns, lines, small values */
    p[0] = (uint8_t)(v | 0x80);
    p[1] = (uint8_t)(v >> 7);
    return 2;
  }
  size_t n = 0;
  while (v >= 0x80) {
    p[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  p[n++] = (uint8_t)v;
  return n;
}

static inline uint64_t cw__zigzag(int64_t v) {
  return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}
static inline int64_t cw__unzigzag(uint64_t v) {
  return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* A batch under construction: an uncompressed record buffer with a hard
 * capacity, plus the batch-local string and actor dictionaries. */
typedef struct cw_batch_writer cw_batch_writer;

/* Per actor id: its previous event in the batch (EVENT_D deltas). */
typedef struct cw_bw_last {
  uint64_t seq, ctr, mono;
} cw_bw_last;

/* The head of every cw_batch_writer: what the inline steady-case encoder
 * (cw__bw_event_d) touches. Internal to the codec and the SDK's drain. */
typedef struct cw_bw_head {
  uint8_t *buf;
  size_t len, cap;
  cw_bw_last *last; /* index = actor id */
  uint32_t next_actor;
  uint64_t events;
} cw_bw_head;

/* new: capacity is the hard cap on the uncompressed batch, in bytes.
 * @return NULL on allocation failure. */
cw_batch_writer *cw__bw_new(size_t capacity);
void cw__bw_free(cw_batch_writer *bw);

/* Starts a batch (resets dictionaries) and writes the BATCH record. */
int cw__bw_begin(cw_batch_writer *bw, const cw_batch_hdr *hdr);

/* Interns a string into the batch, writing a STRING record the first time.
 * @return its id (>= 1), or 0 when the batch is full. */
uint32_t cw__bw_string(cw_batch_writer *bw, const char *s, size_t len);

/* Interns an actor by name, writing STRING and ACTOR records the first time.
 * @return its batch-local id (>= 1), or 0 when the batch is full. */
uint32_t cw__bw_actor(cw_batch_writer *bw, const char *name, size_t len,
                      uint32_t actor_kind);

/* Appends an event: an EVENT_D record (seq, counter and monotonic time as
 * deltas from the actor's previous event in the batch, wall time implied)
 * when ev->wall_ns == base_wall + (ev->mono_ns - base_mono), else a plain
 * EVENT record. @return 0, or -1 when the batch is full (nothing is
 * written then). */
int cw__bw_event(cw_batch_writer *bw, const cw_event_rec *ev);

/* 1 when a steady event's one-byte fields fit: kind, flags (within
 * ATOMIC, SHARED, TRY and VAL_INT: flags << 3 stays below 0x80 exactly
 * when only bits 0-3 are set), actor, object, file and function ids and
 * the zigzag counter delta dctr. */
static inline int cw__steady_fits(uint32_t kind, uint32_t flags, uint32_t actor,
                                  uint32_t object, uint32_t file, uint32_t func,
                                  uint64_t dctr) {
  return (kind | (flags << 3) | actor | dctr | object | file | func) < 0x80;
}

/* The most bytes cw__evd_put writes. */
#define CW_EVD_MAX 48

/* The steady case of an EVENT_D record, written at w (room for CW_EVD_MAX
 * bytes) for an actor whose previous event is *l: an event without joins,
 * trace context, value string, duration, detail or aux (flags within
 * ATOMIC, SHARED, TRY and VAL_INT), whose wall time is the one the header
 * implies, and whose kind, flags, actor, object, file and function ids and
 * counter delta each fit in one byte: cw__bw_event's fast path. @return
 * the end of the record (and *l updated), or NULL when the event is not
 * such a case (nothing written). */
static inline uint8_t *cw__evd_put(uint8_t *w, cw_bw_last *l, uint32_t kind,
                                   uint32_t flags, uint32_t actor,
                                   uint32_t object, uint32_t file,
                                   uint32_t line, uint32_t func, uint64_t seq,
                                   uint64_t ctr, uint64_t mono, int64_t val) {
  uint64_t dctr = cw__zigzag((int64_t)(ctr - l->ctr));
  if (!cw__steady_fits(kind, flags, actor, object, file, func, dctr))
    return NULL;
  uint8_t *p = w + 2;
  p[0] = (uint8_t)kind;
  p[1] = (uint8_t)flags;
  p[2] = (uint8_t)actor;
  p += 3;
  /* The sequence delta follows the clock (docs/event-format.md): tens to
   * thousands of ticks, like the time delta. */
  p += cw__vi_put(p, cw__zigzag((int64_t)(seq - l->seq)));
  *p++ = (uint8_t)dctr;
  p += cw__vi_put(p, cw__zigzag((int64_t)(mono - l->mono)));
  p[0] = (uint8_t)object;
  p[1] = (uint8_t)file;
  p += 2;
  p += cw__vi_put(p, line);
  *p++ = (uint8_t)func;
  if (flags & CW_EVF_VAL_INT)
    p += cw__vi_put(p, cw__zigzag(val));
  w[0] = CW_REC_EVENT_D;
  w[1] = (uint8_t)(p - w - 2); /* at most 42 */
  *l = (cw_bw_last){seq, ctr, mono};
  return p;
}

/* ---- TIMES groups (version 3): the SDK drain's steady layout ---------------
 *
 * A TIMES record carries, for the EVENT_T records that follow it, the fields
 * that differ from event to event: per event its sequence delta and time
 * delta (svarints, against the actor's previous event in the batch, as in
 * EVENT_D) and, when the event has CW_EVF_VAL_INT, its value (svarint). An
 * EVENT_T record is an EVENT_D without those three fields. Taking them out
 * makes a steady stream's event records repeat byte for byte, so LZ4
 * covers a run of them with one match instead of one per event; the
 * column itself is small. A group is written by filling a body buffer and
 * a column buffer with cw__evt_put, then cw__times_group_put. */

/* The most bytes cw__evt_put adds to the body and to the column. */
#define CW_EVT_MAX 16
#define CW_EVT_COL_MAX 30

/* Writes one steady event of a TIMES group: its EVENT_T record at *body
 * and its column values at *col, both advanced. The conditions are
 * cw__evd_put's. @return 1, or 0 when the event is not such a case (nothing
 * written). */
static inline int cw__evt_put(uint8_t **body, uint8_t **col, cw_bw_last *l,
                              uint32_t kind, uint32_t flags, uint32_t actor,
                              uint32_t object, uint32_t file, uint32_t line,
                              uint32_t func, uint64_t seq, uint64_t ctr,
                              uint64_t mono, int64_t val) {
  uint64_t dctr = cw__zigzag((int64_t)(ctr - l->ctr));
  if (!cw__steady_fits(kind, flags, actor, object, file, func, dctr))
    return 0;
  uint8_t *w = *body, *p = w + 2, *c = *col;
  p[0] = (uint8_t)kind;
  p[1] = (uint8_t)flags;
  p[2] = (uint8_t)actor;
  p[3] = (uint8_t)dctr;
  p[4] = (uint8_t)object;
  p[5] = (uint8_t)file;
  p += 6;
  p += cw__vi_put(p, line);
  *p++ = (uint8_t)func;
  w[0] = CW_REC_EVENT_T;
  w[1] = (uint8_t)(p - w - 2); /* at most 12 */
  c += cw__vi_put(c, cw__zigzag((int64_t)(seq - l->seq)));
  c += cw__vi_put(c, cw__zigzag((int64_t)(mono - l->mono)));
  if (flags & CW_EVF_VAL_INT)
    c += cw__vi_put(c, cw__zigzag(val));
  *l = (cw_bw_last){seq, ctr, mono};
  *body = p;
  *col = c;
  return 1;
}

/* The most bytes cw__times_group_put writes for n events. */
#define CW_TIMES_GROUP_MAX(n) (4 + (size_t)(n) * (CW_EVT_MAX + CW_EVT_COL_MAX))

/* Writes a TIMES record holding the column [col, col + clen) at w, then the
 * group's EVENT_T records [body, body + blen). @return the end. */
static inline uint8_t *cw__times_group_put(uint8_t *w, const uint8_t *col,
                                           size_t clen, const uint8_t *body,
                                           size_t blen) {
  *w++ = CW_REC_TIMES;
  w += cw__vi_put(w, clen);
  memcpy(w, col, clen);
  w += clen;
  memcpy(w, body, blen);
  return w + blen;
}

/* cw__evd_put at the end of the open batch, for a defined actor and with
 * CW_EVD_MAX bytes left. @return 0 when written, 1 when not (nothing is
 * written: use cw__bw_event, which also tells a full batch). */
static inline int cw__bw_event_d(cw_batch_writer *bw, uint32_t kind,
                                 uint32_t flags, uint32_t actor,
                                 uint32_t object, uint32_t file, uint32_t line,
                                 uint32_t func, uint64_t seq, uint64_t ctr,
                                 uint64_t mono, int64_t val) {
  cw_bw_head *b = (cw_bw_head *)bw;
  if (actor == 0 || actor >= b->next_actor || b->cap - b->len < CW_EVD_MAX)
    return 1;
  uint8_t *e = cw__evd_put(b->buf + b->len, &b->last[actor], kind, flags, actor,
                           object, file, line, func, seq, ctr, mono, val);
  if (!e)
    return 1;
  b->len = (size_t)(e - b->buf);
  b->events++;
  return 0;
}

/* Appends a GAP record: `dropped` events of `actor` were lost, with sequence
 * numbers in [first_seq, last_seq]. @return 0 or -1 when full. */
int cw__bw_gap(cw_batch_writer *bw, uint32_t actor, uint64_t dropped,
               uint64_t first_seq, uint64_t last_seq);

/* Appends a RETIRE record: from `seq` on, clocks of this process no longer
 * carry these actors. @return 0 or -1 when full. */
int cw__bw_retire(cw_batch_writer *bw, uint64_t seq, const uint32_t *actors,
                  uint32_t n);

/* The raw (uncompressed) records written so far. Borrowed. */
const uint8_t *cw__bw_data(const cw_batch_writer *bw, size_t *len);
/* Number of EVENT records in the current batch. */
uint64_t cw__bw_events(const cw_batch_writer *bw);

/* Compresses the current batch into one LZ4 frame, reusing the writer's
 * compression context and output buffer.
 * @return the frame (borrowed: valid until the next call or cw__bw_free)
 * and its size in *out_len, or NULL. */
const uint8_t *cw__bw_frame(cw_batch_writer *bw, size_t *out_len);
/* The same frame as cw__bw_frame(), into a new buffer (release it with
 * cw__fmt_free()), without keeping a context: for one-off frames.
 * @return it, or NULL. */
uint8_t *cw__bw_compress(const cw_batch_writer *bw, size_t *out_len);

/* ---- Decoding ------------------------------------------------------------ */

/* Lookup context handed to callbacks (borrowed, valid during the call). */
typedef struct cw_batch_ctx cw_batch_ctx;

/* @return the string with that batch-local id, or NULL (and *len = 0). */
const char *cw__ctx_string(const cw_batch_ctx *ctx, uint32_t id, size_t *len);
/* @return the actor's name and kind, or NULL when unknown. */
const char *cw__ctx_actor(const cw_batch_ctx *ctx, uint32_t id, size_t *len,
                          uint32_t *actor_kind);
const cw_batch_hdr *cw__ctx_header(const cw_batch_ctx *ctx);

/* Callbacks. Any may be NULL. A non-zero return stops decoding, and the
 * decode function returns CW_DECODE_STOPPED. */
typedef struct cw_decode_cb {
  int (*on_batch)(void *ud, const cw_batch_ctx *ctx);
  int (*on_event)(void *ud, const cw_batch_ctx *ctx, const cw_event_rec *ev);
  int (*on_gap)(void *ud, const cw_batch_ctx *ctx, uint32_t actor,
                uint64_t dropped, uint64_t first_seq, uint64_t last_seq);
  int (*on_retire)(void *ud, const cw_batch_ctx *ctx, uint64_t seq,
                   const uint32_t *actors, uint32_t n);
} cw_decode_cb;

enum {
  CW_DECODE_OK = 0,
  CW_DECODE_STOPPED = 1,
  CW_DECODE_ERROR = -1,
  CW_DECODE_TRUNCATED = -2 /* input ended inside a frame or record */
};

/* What kind of failure a cw_decode_error describes. Callers branch on the
 * code, never on the message (which is for people). */
typedef enum cw_decode_code {
  CW_DERR_NONE = 0,
  CW_DERR_MALFORMED, /* a record, frame or header is invalid */
  CW_DERR_TRUNCATED, /* the input ended inside a frame or record */
  CW_DERR_TOO_BIG,   /* over a size or count limit (batch bytes, events) */
  CW_DERR_NOMEM,     /* out of memory */
  CW_DERR_IO         /* a file could not be opened or read */
} cw_decode_code;

/* Error detail: a code, a message and the byte offset where decoding
 * failed. */
typedef struct cw_decode_error {
  char msg[160];
  uint64_t offset;
  cw_decode_code code;
} cw_decode_error;

/* Fills err (may be NULL) with a code, an offset and a printf message. */
void cw__decode_set_error(cw_decode_error *err, cw_decode_code code,
                          uint64_t offset, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Decodes one uncompressed batch. Strict: any malformed record is an error
 * naming its offset; unknown record types and event kinds are skipped.
 * @return CW_DECODE_OK, CW_DECODE_STOPPED or CW_DECODE_ERROR. */
int cw__decode_batch(const uint8_t *buf, size_t len, const cw_decode_cb *cb,
                     void *ud, cw_decode_error *err);

/* Decompresses one LZ4 frame starting at buf. On success returns a new
 * buffer (release it with cw__fmt_free()), its size in *out_len, and how many
 * input bytes the frame used in *consumed. The decompressed size is capped at
 * max_out.
 * @return NULL with err filled on failure; err->code is CW_DERR_TRUNCATED
 * when the input ended inside the frame, CW_DERR_TOO_BIG past max_out. */
uint8_t *cw__lz4_frame_decompress(const uint8_t *buf, size_t len,
                                  size_t max_out, size_t *out_len,
                                  size_t *consumed, cw_decode_error *err);

/* Decodes a buffer holding zero or more concatenated LZ4 frames, each one
 * batch (the trace-file layout and the HTTP body layout).
 * *truncated_tail is set when the last frame is incomplete: the frames before
 * it are delivered, the tail is ignored (a crashed writer). Pass NULL to make
 * a truncated tail an error instead.
 * @return as cw__decode_batch, or CW_DECODE_TRUNCATED. */
int cw__decode_frames(const uint8_t *buf, size_t len, const cw_decode_cb *cb,
                      void *ud, int *truncated_tail, cw_decode_error *err);

/* Reads a whole trace file and decodes it as cw__decode_frames does. */
int cw__decode_file(const char *path, const cw_decode_cb *cb, void *ud,
                    int *truncated_tail, cw_decode_error *err);

/* Releases a buffer returned by cw__bw_compress() or
 * cw__lz4_frame_decompress() (inside libcauseway they come from the SDK's
 * replaceable allocator). NULL is accepted. */
void cw__fmt_free(void *p);

/* Largest decompressed batch a reader accepts (64 MiB). */
#define CW_MAX_BATCH_BYTES ((size_t)64 << 20)

/* Human-readable kind name ("read", "lock_acquired"...), or "unknown". */
const char *cw__ev_kind_name(uint32_t kind);

/* ---- Actor names (one rule for every reader) ------------------------------
 */

/* Largest qualified actor name: service and instance are cut to 256 bytes
 * each, the local name to what fits. */
#define CW_ACTOR_NAME_MAX 1024

/* The global name of an actor named `name` in a batch: `name` itself when it
 * is already global (contains '#'), else "service#instance/name" from the
 * batch header, written to buf (CW_ACTOR_NAME_MAX bytes).
 * @return the name (name or buf) and its length in *out_len. */
const char *cw__actor_qualify(const cw_batch_hdr *h, const char *name,
                              size_t len, char *buf, size_t *out_len);

/* The service of a global actor name "service#instance/...": its length in
 * *svc_len (the service starts at name). @return 0, or -1 when the name
 * has no '#' or an empty service. */
int cw__actor_service(const char *name, size_t len, size_t *svc_len);

#endif /* CW_FORMAT_H */
