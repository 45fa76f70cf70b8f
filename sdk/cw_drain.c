/*
 * cw_drain.c: the drain thread. It empties every thread's ring into a
 * native batch (sdk/format), compresses full or old batches into LZ4
 * frames, hands them to the sink, and retires actors.
 *
 * DESIGN. One background thread owns all of this state, so none of it is
 * locked. Each pass visits every registered ring; records become TIMES
 * groups of EVENT_T records (the steady run), EVENT_D or EVENT, and GAP
 * records with batch-local actor and string ids, found
 * through small caches stamped with the batch number: actors by slot,
 * file and function names by address, lock names by lock state (formatted
 * and interned once per batch), and the last event's location and
 * variable key (the steady case: the same few again and again). Stamps
 * are converted with the thread's last ANCHOR (cw_stamp.h). The steady
 * records (LOCK and ACCESS records whose actor, location and object
 * already have ids in the open batch) are encoded by steady_run's loop
 * into TIMES groups (docs/event-format.md), with the write position and
 * the thread's stamp state in locals; every other record goes through
 * put_record. The thread
 * sleeps between passes (see "Sleeping and waking" below). A batch is written
 * when it is full, when it is older than flush_interval_ms, on cw_flush() and
 * at stop. Retirement (bounded clocks): every actor end the drain sees goes
 * into a FIFO; once more than W ends follow an actor, the drain raises the
 * sequence floor, writes a RETIRE record effective from it and only then
 * bumps the actor's slot generation, so every clock that omits the actor
 * is recorded, and numbered, after the RETIRE record (cw__seq_next). Remote
 * actors (named in received clocks) enter the FIFO when first seen.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* syscall(): the futex */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cw_format.h"
#include "cw_internal.h"
#include "cw_sink.h"

#define RN_CACHE 1024 /* names of recently retired actors */
#define SC_CACHE 1024 /* file / function string ids */

typedef struct rname {
  uint32_t slot, gen;
  char name[CW_NAME_MAX + 160];
} rname;

typedef struct scache {
  const void *p, *q;
  uint64_t stamp;
  uint32_t id;
} scache;

typedef struct cw_drain {
  cw_batch_writer *bw;
  uint64_t batch_no;
  uint64_t stamp; /* current batch: 1, 2, ... */
  int open;
  uint64_t opened_ns;
  uint64_t *a_stamp; /* per slot: actor id cache */
  uint32_t *a_gen, *a_id;
  uint32_t *seen; /* per slot: remote gen + 1 already queued */
  cw_ent *endq;   /* ended actors, FIFO */
  uint32_t eh, en, ecap;
  rname *rn;
  scache sc[SC_CACHE];             /* file / function strings, by address */
  scache lc[SC_CACHE];             /* lock names, by lock state */
  const char *loc_file, *loc_func; /* the last event's location and ids */
  uint64_t loc_stamp;
  uint32_t loc_ids[2];
  uint64_t key_stamp; /* the last variable key interned: batch, id, bytes */
  uint32_t key_id;
  uint16_t key_len;
  char key[CW_KEY_MAX + 1];
  cw_stampconv *conv; /* the ring being drained: its stamp state */
  uint64_t now;       /* CLOCK_MONOTONIC read after its head */
  cw_clock_entry *joins;
  uint32_t cap_joins;
  cw_tstate **tl;
  uint32_t ntl, captl;
  int err;  /* a write or flush failed (cw_flush's result) */
  int lost; /* a batch was lost outright (write returned -1) */
} cw_drain;

/* ---- Batches ---------------------------------------------------------------
 */

static void open_batch(cw_sess *s, cw_drain *d) {
  cw_batch_hdr h;
  memset(&h, 0, sizeof(h));
  h.version = CW_FORMAT_VERSION;
  memcpy(h.stream_id, s->stream_id, 16);
  h.batch_no = d->batch_no;
  h.service = s->service;
  h.service_len = strlen(s->service);
  h.instance = s->instance;
  h.instance_len = strlen(s->instance);
  h.pid = (uint64_t)getpid();
  h.base_wall_ns = s->base_wall;
  h.base_mono_ns = s->base_mono;
  d->stamp++;
  if (cw__bw_begin(d->bw, &h) != 0)
    cw__fatal("cw__bw_begin (batch smaller than its header)", EINVAL);
  d->open = 1;
  d->opened_ns = cw__mono_ns();
}

/* Compresses and writes the open batch, if it holds anything. */
static void write_batch(cw_sess *s, cw_drain *d) {
  if (!d->open)
    return;
  d->open = 0;
  uint64_t nev = cw__bw_events(d->bw);
  size_t len = 0;
  const uint8_t *frame = cw__bw_frame(d->bw, &len);
  d->batch_no++;
  /* 1: a gap report stands in for the batch; the sink's close() says
   * whether it arrived (cw_shutdown's result). */
  int w = frame ? s->sink->write(s->sink, frame, len) : -1;
  if (w < 0) {
    d->err = d->lost = 1;
  } else if (w == 0) {
    cw_fetch_add_relaxed(&s->st_written, nev);
    cw_fetch_add_relaxed(&s->st_batches, 1);
    cw_fetch_add_relaxed(&s->st_bytes, len);
  }
}

static void ensure_open(cw_sess *s, cw_drain *d) {
  if (!d->open)
    open_batch(s, d);
}

/* ---- Names and ids ---------------------------------------------------------
 */

static size_t retired_name(cw_drain *d, uint32_t slot, uint32_t gen,
                           const char **name) {
  const rname *r = &d->rn[slot % RN_CACHE];
  if (r->slot != slot || r->gen != gen || !r->name[0])
    return 0;
  *name = r->name;
  return strlen(r->name);
}

/* @return the batch-local id of actor (slot, gen); 0 when the batch is
 * full; UINT32_MAX when the actor is unknown (retired long ago). */
static uint32_t actor_id_slow(cw_sess *s, cw_drain *d, uint32_t slot,
                              uint32_t gen) {
  if (slot >= s->actors.cap)
    return UINT32_MAX;
  char buf[CW_NAME_MAX + 160];
  const char *name = buf;
  uint32_t kind = CW_ACTOR_THREAD;
  CW_CHECK(pthread_mutex_lock(&s->actors.mu));
  size_t len = cw__actor_fullname(s, slot, gen, buf, sizeof(buf));
  if (len)
    kind = s->actors.slots[slot].kind;
  CW_CHECK(pthread_mutex_unlock(&s->actors.mu));
  if (!len && !(len = retired_name(d, slot, gen, &name)))
    return UINT32_MAX;
  if (kind == CW_ACTOR_REMOTE && d->seen[slot] != gen + 1) {
    /* A remote actor counts as ended when first seen. */
    d->seen[slot] = gen + 1;
    d->endq[(d->eh + d->en) % d->ecap] = (cw_ent){slot, gen, 0};
    d->en++;
  }
  uint32_t id = cw__bw_actor(d->bw, name, len, kind);
  if (id) {
    d->a_stamp[slot] = d->stamp;
    d->a_gen[slot] = gen;
    d->a_id[slot] = id;
  }
  return id;
}

static inline uint32_t actor_id(cw_sess *s, cw_drain *d, uint32_t slot,
                                uint32_t gen) {
  if (slot < s->actors.cap && d->a_stamp[slot] == d->stamp &&
      d->a_gen[slot] == gen)
    return d->a_id[slot];
  return actor_id_slow(s, d, slot, gen);
}

static uint32_t static_string_slow(cw_drain *d, const char *p) {
  scache *c = &d->sc[((uintptr_t)p >> 3) % SC_CACHE];
  uint32_t id = cw__bw_string(d->bw, p, strlen(p));
  if (id)
    *c = (scache){p, NULL, d->stamp, id};
  return id;
}

static inline uint32_t static_string(cw_drain *d, const char *p) {
  const scache *c = &d->sc[((uintptr_t)p >> 3) % SC_CACHE];
  if (c->p == p && c->stamp == d->stamp)
    return c->id;
  return static_string_slow(d, p);
}

/* ---- Retirement
 * -------------------------------------------------------------- */

static void retire_one(cw_sess *s, cw_drain *d, cw_ent x) {
  if (!cw__slot_valid(&s->actors, x.slot, x.gen))
    return;
  /* The RETIRE record's sequence number: past the floor and the current
   * stamp. The floor is raised before the slot's generation moves, so an
   * event whose clock was built after the move (an acquire load of the
   * generation, then the floor) numbers at least this (cw__seq_next). */
  uint64_t seq = cw_load_relaxed(&s->seq_floor) + 1;
  uint64_t now = cw__seq_time(s, cw__raw_stamp(s));
  if (now > seq)
    seq = now;
  cw_store_release(&s->seq_floor, seq);
  for (int attempt = 0; attempt < 2; attempt++) {
    ensure_open(s, d);
    uint32_t id = actor_id(s, d, x.slot, x.gen);
    if (id && id != UINT32_MAX && cw__bw_retire(d->bw, seq, &id, 1) == 0)
      break;
    write_batch(s, d);
  }
  rname *r = &d->rn[x.slot % RN_CACHE];
  CW_CHECK(pthread_mutex_lock(&s->actors.mu));
  size_t n = cw__actor_fullname(s, x.slot, x.gen, r->name, sizeof(r->name));
  CW_CHECK(pthread_mutex_unlock(&s->actors.mu));
  r->slot = x.slot;
  r->gen = x.gen;
  if (!n)
    r->name[0] = 0;
  cw__actab_retire(&s->actors, x.slot, x.gen);
  cw_fetch_add_relaxed(&s->st_retired, 1);
}

static void actor_ended(cw_sess *s, cw_drain *d, uint32_t slot, uint32_t gen) {
  if (d->en == d->ecap) { /* only remote arrivals can overflow */
    retire_one(s, d, d->endq[d->eh]);
    d->eh = (d->eh + 1) % d->ecap;
    d->en--;
  }
  d->endq[(d->eh + d->en) % d->ecap] = (cw_ent){slot, gen, 0};
  d->en++;
  while (d->en > s->cfg.retire_window) {
    cw_ent x = d->endq[d->eh];
    d->eh = (d->eh + 1) % d->ecap;
    d->en--;
    retire_one(s, d, x);
  }
}

/* ---- Records
 * ----------------------------------------------------------------- */

static const char *lock_kind_name(uint32_t kind) {
  return kind == CW_OBJ_RWLOCK  ? "rwlock"
         : kind == CW_OBJ_MUTEX ? "mutex"
                                : "lock";
}

/* @return the string id of a lock's name (its own, or "mutex@0x..."), or
 * 0 when the batch is full. Cached per (lock state, name) and batch, so a
 * name is formatted and interned once per batch, not once per event (lock
 * states and replaced names stay allocated until shutdown, so the
 * addresses cannot be reused meanwhile). */
static uint32_t lock_name_id(cw_drain *d, const cw_lockst *lock) {
  const char *nm = atomic_load_explicit(&lock->name, memory_order_acquire);
  scache *c = &d->lc[((uintptr_t)lock >> 4) % SC_CACHE];
  if (c->p == lock && c->q == nm && c->stamp == d->stamp)
    return c->id;
  const char *key = nm;
  char buf[64];
  size_t len;
  if (nm) {
    len = strlen(nm);
  } else {
    int n = snprintf(buf, sizeof(buf), "%s@0x%" PRIxPTR,
                     lock_kind_name(cw_load_relaxed(&lock->kind)),
                     (uintptr_t)lock->addr);
    nm = buf;
    len = n > 0 ? (size_t)n : 0;
  }
  uint32_t id = cw__bw_string(d->bw, nm, len);
  if (id)
    *c = (scache){lock, key, d->stamp, id};
  return id;
}

/* Fills the fields every event record has. @return 0, 1 when the actor
 * is unknown (skip the record), or -1 when the batch is full. */
static int event_head(cw_sess *s, cw_drain *d, cw_event_rec *ev, uint32_t slot,
                      uint32_t gen, uint64_t seq, uint64_t ctr, uint64_t stamp,
                      const char *file, const char *func, uint32_t line) {
  /* Every field the encoder reads without a flag; the optional ones are
   * set by the caller with their flag. */
  ev->object = ev->val_str = ev->detail = 0;
  ev->val_int = ev->aux = 0;
  ev->duration_ns = 0;
  ev->njoins = 0;
  ev->joins = NULL;
  ev->file = ev->func = 0;
  ev->actor = actor_id(s, d, slot, gen);
  if (ev->actor == 0)
    return -1;
  if (ev->actor == UINT32_MAX)
    return 1; /* cannot happen: an actor's records precede its end */
  ev->seq = seq;
  ev->counter = ctr;
  ev->mono_ns = cw__stamp_convert(&s->stamps, d->conv, stamp, d->now);
  ev->wall_ns = s->base_wall + (int64_t)(ev->mono_ns - s->base_mono);
  ev->line = line;
  if (file == d->loc_file && func == d->loc_func && d->loc_stamp == d->stamp) {
    ev->file = d->loc_ids[0]; /* the same place as the last event */
    ev->func = d->loc_ids[1];
    return 0;
  }
  if (file && !(ev->file = static_string(d, file)))
    return -1;
  if (func && !(ev->func = static_string(d, func)))
    return -1;
  d->loc_file = file;
  d->loc_func = func;
  d->loc_stamp = d->stamp;
  d->loc_ids[0] = ev->file;
  d->loc_ids[1] = ev->func;
  return 0;
}

/* The id of a lock's name when the cache has it for this batch, else 0. */
static inline uint32_t lock_name_cached(const cw_drain *d,
                                        const cw_lockst *lock) {
  const scache *c = &d->lc[((uintptr_t)lock >> 4) % SC_CACHE];
  if (c->p == lock && c->stamp == d->stamp &&
      c->q == atomic_load_explicit(&lock->name, memory_order_acquire))
    return c->id;
  return 0;
}

/* Encodes one compact lock record. @return 0, or -1 when the batch is
 * full. */
static int put_lock(cw_sess *s, cw_drain *d, const cw_rlk *r) {
  cw_event_rec ev;
  int rc = event_head(s, d, &ev, r->slot, r->gen, r->seq, r->ctr, r->mono,
                      r->file, r->func, r->line);
  if (rc)
    return rc < 0 ? -1 : 0;
  ev.kind = r->h.pad_;
  ev.flags = r->flags & CW_EVF_KNOWN_;
  if (!(ev.object = lock_name_id(d, r->lock)))
    return -1;
  return cw__bw_event(d->bw, &ev) != 0 ? -1 : 0;
}

/* Encodes one event record. @return 0, or -1 when the batch is full. */
static int put_event(cw_sess *s, cw_drain *d, const cw_rev *r) {
  cw_event_rec ev;
  const uint8_t *p = (const uint8_t *)(r + 1);
  int rc = event_head(s, d, &ev, r->slot, r->gen, r->seq, r->ctr, r->mono,
                      r->file, r->func, r->line);
  if (rc)
    return rc < 0 ? -1 : 0;
  ev.kind = r->kind;
  ev.flags = r->flags & CW_EVF_KNOWN_;
  ev.duration_ns = r->dur;
  ev.aux = r->aux;
  ev.val_int = r->vint;
  if (r->flags & CW_EVF_TRACE) {
    memcpy(ev.trace_id, p, 16);
    memcpy(ev.span_id, p + 16, 8);
    memcpy(ev.parent_span_id, p + 24, 8);
    p += 32;
  }
  const cw_ent *je = (const cw_ent *)p;
  p += (size_t)r->njoins * sizeof(cw_ent);
  const char *obj = (const char *)p;
  p += r->obj_len;
  const char *vstr = (const char *)p;
  p += r->vlen;
  const char *det = (const char *)p;

  /* Object. */
  if (r->obj_kind == CW_OBJ_STR) {
    if (r->obj_len == d->key_len && d->key_stamp == d->stamp &&
        memcmp(obj, d->key, r->obj_len) == 0) {
      ev.object = d->key_id; /* the same key as the last event's */
    } else {
      if (!(ev.object = cw__bw_string(d->bw, obj, r->obj_len)))
        return -1;
      if (r->obj_len <= CW_KEY_MAX) {
        memcpy(d->key, obj, r->obj_len);
        d->key_len = r->obj_len;
        d->key_stamp = d->stamp;
        d->key_id = ev.object;
      }
    }
  } else if (r->obj_kind == CW_OBJ_LOCK) {
    if (!(ev.object = lock_name_id(d, r->lock)))
      return -1;
  } else if (r->obj_kind == CW_OBJ_ACTOR) {
    /* The object is a string id: the actor's global name. */
    char buf[CW_NAME_MAX + 160];
    const char *name = buf;
    CW_CHECK(pthread_mutex_lock(&s->actors.mu));
    size_t len = cw__actor_fullname(s, r->oslot, r->ogen, buf, sizeof(buf));
    CW_CHECK(pthread_mutex_unlock(&s->actors.mu));
    if (!len)
      len = retired_name(d, r->oslot, r->ogen, &name);
    if (len && !(ev.object = cw__bw_string(d->bw, name, len)))
      return -1;
  }
  if (r->flags & CW_EVF_VAL_STR) {
    if (!(ev.val_str = cw__bw_string(d->bw, vstr, r->vlen)))
      return -1;
  }
  if (r->flags & CW_EVF_DETAIL) {
    if (!(ev.detail = cw__bw_string(d->bw, det, r->dlen)))
      return -1;
  }
  /* Joins. */
  if (r->njoins > d->cap_joins) {
    uint32_t cap = d->cap_joins ? d->cap_joins : 64;
    while (cap < r->njoins)
      cap *= 2;
    cw_clock_entry *j = cw__realloc(d->joins, cap * sizeof(*j));
    if (!j)
      return 0; /* drop the event rather than write a wrong clock */
    d->joins = j;
    d->cap_joins = cap;
  }
  uint32_t nj = 0;
  for (uint32_t i = 0; i < r->njoins; i++) {
    cw_ent x;
    memcpy(&x, &je[i], sizeof(x));
    uint32_t id = actor_id(s, d, x.slot, x.gen);
    if (id == 0)
      return -1;
    if (id == UINT32_MAX)
      continue;
    d->joins[nj++] = (cw_clock_entry){id, x.ctr};
  }
  ev.njoins = nj;
  ev.joins = d->joins;
  if (!nj && !(ev.flags & CW_EVF_FULL_CLOCK))
    ev.flags &= ~(uint32_t)CW_EVF_JOINS;
  else
    ev.flags |= CW_EVF_JOINS;

  if (cw__bw_event(d->bw, &ev) != 0)
    return -1;
  if (r->kind == CW_EV_THREAD_END || r->kind == CW_EV_TASK_END)
    actor_ended(s, d, r->slot, r->gen);
  return 0;
}

/* Encodes one ACCESS record (a state access naming its key by the
 * thread's key id). @return 0, or -1 when the batch is full. */
static int put_access(cw_sess *s, cw_drain *d, cw_tstate *ts,
                      const cw_racc *r) {
  cw_dkey *k = &ts->dkeys[r->kid - 1];
  if (r->def) { /* (re)defined: once per new key, not per event */
    memcpy(k->bytes, r + 1, r->klen);
    k->len = r->klen;
    k->stamp = 0;
  }
  if (k->stamp != d->stamp) {
    if (!(k->sid = cw__bw_string(d->bw, k->bytes, k->len)))
      return -1;
    k->stamp = d->stamp;
  }
  cw_event_rec ev;
  int rc = event_head(s, d, &ev, r->slot, r->gen, r->seq, r->ctr, r->mono,
                      r->file, r->func, r->line);
  if (rc)
    return rc < 0 ? -1 : 0;
  ev.kind = r->h.pad_;
  ev.flags = r->flags & CW_EVF_KNOWN_;
  ev.val_int = r->vint;
  ev.object = k->sid;
  return cw__bw_event(d->bw, &ev) != 0 ? -1 : 0;
}

static int put_gap(cw_sess *s, cw_drain *d, const cw_rgap *g) {
  uint32_t id = actor_id(s, d, g->slot, g->gen);
  if (id == 0)
    return -1;
  if (id == UINT32_MAX)
    return 0;
  return cw__bw_gap(d->bw, id, g->n, g->first, g->last);
}

static void put_record(cw_sess *s, cw_drain *d, cw_tstate *ts,
                       const cw_rhdr *h) {
  if (h->type == CW_R_ANCHOR) {
    const cw_ranchor *a = (const cw_ranchor *)h;
    cw__stamp_anchor_seen(d->conv, a->tsc, a->mono);
    return;
  }
  for (int attempt = 0; attempt < 2; attempt++) {
    ensure_open(s, d);
    int rc = h->type == CW_R_LOCK     ? put_lock(s, d, (const cw_rlk *)h)
             : h->type == CW_R_ACCESS ? put_access(s, d, ts, (const cw_racc *)h)
             : h->type == CW_R_EVENT  ? put_event(s, d, (const cw_rev *)h)
             : h->type == CW_R_GAP    ? put_gap(s, d, (const cw_rgap *)h)
                                      : 0;
    if (rc == 0)
      return;
    write_batch(s, d); /* full: write it, retry in a fresh batch */
  }
  /* Larger than a whole batch (cannot happen with the sizes cw_init
   * enforces): lost, and reported as a gap. */
  if (h->type == CW_R_EVENT) {
    const cw_rev *r = (const cw_rev *)h;
    cw_fetch_add_relaxed(&s->st_dropped, 1);
    uint32_t id = actor_id(s, d, r->slot, r->gen);
    if (id && id != UINT32_MAX)
      (void)cw__bw_gap(d->bw, id, 1, r->seq, r->seq);
  }
}

/* ---- Passes
 * ------------------------------------------------------------------ */

/* LOCK and ACCESS records share their leading fields, which steady_run
 * reads through either type. */
_Static_assert(offsetof(cw_rlk, flags) == offsetof(cw_racc, flags) &&
                   offsetof(cw_rlk, line) == offsetof(cw_racc, line) &&
                   offsetof(cw_rlk, slot) == offsetof(cw_racc, slot) &&
                   offsetof(cw_rlk, gen) == offsetof(cw_racc, gen) &&
                   offsetof(cw_rlk, seq) == offsetof(cw_racc, seq) &&
                   offsetof(cw_rlk, ctr) == offsetof(cw_racc, ctr) &&
                   offsetof(cw_rlk, mono) == offsetof(cw_racc, mono) &&
                   offsetof(cw_rlk, file) == offsetof(cw_racc, file) &&
                   offsetof(cw_rlk, func) == offsetof(cw_racc, func),
               "cw_rlk and cw_racc share their leading fields");

/* Events per TIMES group (docs/event-format.md): LZ4 then covers a group's
 * repeating EVENT_T records with one match. */
#define GROUP_MAX 128

/* @return how many events a TIMES group may take in `room` bytes. */
static inline uint32_t group_room(size_t room) {
  if (room >= CW_TIMES_GROUP_MAX(GROUP_MAX))
    return GROUP_MAX;
  return room > CW_TIMES_GROUP_MAX(0)
             ? (uint32_t)((room - CW_TIMES_GROUP_MAX(0)) /
                          (CW_EVT_MAX + CW_EVT_COL_MAX))
             : 0;
}

/* Encodes the run of steady records that starts at ring position *ppos
 * (offset *poff): ANCHORs, and LOCK and ACCESS records at the location of
 * the open batch's last event whose actor and object have ids in the
 * batch. Stops before the first other record, at head, or when the batch
 * lacks room, and leaves that record to put_record. Everything the loop
 * touches per event is a local (a store through the batch's byte pointer
 * would make the compiler reload every field it reaches through memory);
 * the write position and the thread's stamp state go back at the end.
 * @return the records consumed; *ppos and *poff advanced past them. */
static uint64_t steady_run(cw_sess *s, cw_drain *d, cw_tstate *ts, cw_ring *r,
                           uint64_t *ppos, uint64_t *poff, uint64_t head) {
  cw_bw_head *b = (cw_bw_head *)d->bw;
  if (!d->open || d->loc_stamp != d->stamp)
    return 0;
  uint8_t *const buf0 = b->buf;
  uint8_t *w = buf0 + b->len;
  uint32_t gmax = group_room(buf0 + b->cap - w);
  if (gmax == 0)
    return 0;
  /* The open TIMES group: its EVENT_T records and its column. */
  uint8_t body[GROUP_MAX * CW_EVT_MAX], col[GROUP_MAX * CW_EVT_COL_MAX];
  uint8_t *bp = body, *cp = col;
  uint32_t gn = 0;
  cw_bw_last *const last = b->last;
  const uint64_t stamp = d->stamp, now = d->now;
  const char *const lfile = d->loc_file, *const lfunc = d->loc_func;
  const uint32_t fid = d->loc_ids[0], fnid = d->loc_ids[1];
  const cw_stampmap m = s->stamps;
  cw_stampconv cv = ts->conv;
  uint32_t aslot = UINT32_MAX, agen = 0, aid = 0; /* the last actor */
  const cw_lockst *lk = NULL;                     /* the last lock... */
  const char *lkname = NULL;                      /* ...its name */
  uint32_t lkid = 0;                              /* ...and its id */
  const uint8_t *const rbuf = r->buf;
  const uint64_t cap = r->cap;
  uint64_t pos = *ppos, off = *poff, n = 0, nev = 0;
  while (pos < head) {
    if (gn == gmax) { /* the group is full: into the batch */
      w = cw__times_group_put(w, col, (size_t)(cp - col), body,
                              (size_t)(bp - body));
      bp = body;
      cp = col;
      gn = 0;
      if ((gmax = group_room(buf0 + b->cap - w)) == 0)
        break;
    }
    const cw_rhdr *h = (const cw_rhdr *)(rbuf + off);
    if (h->type == CW_R_ANCHOR) {
      const cw_ranchor *an = (const cw_ranchor *)h;
      cw__stamp_anchor_seen(&cv, an->tsc, an->mono);
    } else if (h->type == CW_R_LOCK || h->type == CW_R_ACCESS) {
      const cw_rlk *k = (const cw_rlk *)h; /* the shared fields */
      if (k->file != lfile || k->func != lfunc)
        break;
      if (k->slot != aslot || k->gen != agen) {
        if (k->slot >= s->actors.cap || d->a_stamp[k->slot] != stamp ||
            d->a_gen[k->slot] != k->gen)
          break;
        aslot = k->slot;
        agen = k->gen;
        aid = d->a_id[aslot];
      }
      uint32_t obj;
      int64_t vint = 0;
      if (h->type == CW_R_LOCK) {
        const char *nm =
            atomic_load_explicit(&k->lock->name, memory_order_acquire);
        if (k->lock != lk || nm != lkname) {
          if (!(obj = lock_name_cached(d, k->lock)))
            break;
          lk = k->lock;
          lkname = nm;
          lkid = obj;
        }
        obj = lkid;
      } else {
        const cw_racc *a = (const cw_racc *)h;
        const cw_dkey *dk = &ts->dkeys[a->kid - 1];
        if (a->def || dk->stamp != stamp)
          break;
        obj = dk->sid;
        vint = a->vint;
      }
      uint64_t t = cw__stamp_convert(&m, &cv, k->mono, now);
      if (!cw__evt_put(&bp, &cp, &last[aid], h->pad_, k->flags & CW_EVF_KNOWN_,
                       aid, obj, fid, k->line, fnid, k->seq, k->ctr, t, vint))
        break;
      gn++;
      nev++;
    } else if (h->type != CW_R_PAD) {
      break;
    }
    pos += h->size;
    off += h->size;
    if (off >= cap)
      off -= cap;
    if ((++n & 255) == 0)
      cw__ring_release(r, pos);
  }
  if (gn)
    w = cw__times_group_put(w, col, (size_t)(cp - col), body,
                            (size_t)(bp - body));
  b->len = (size_t)(w - buf0);
  b->events += nev;
  ts->conv = cv;
  *ppos = pos;
  *poff = off;
  return n;
}

static uint64_t drain_ring(cw_sess *s, cw_drain *d, cw_tstate *ts) {
  cw_ring *r = &ts->ring;
  uint64_t head = cw_load_acquire(&r->head);
  uint64_t pos = cw_load_relaxed(&r->tail);
  if (pos == head)
    return 0;
  /* Every record up to head was stamped before this reading. */
  d->now = cw__mono_ns();
  d->conv = &ts->conv;
  uint64_t n = 0;
  uint64_t off = pos % r->cap; /* one division per pass, not per record */
  while (pos < head) {
    n += steady_run(s, d, ts, r, &pos, &off, head);
    if (pos >= head)
      break;
    const cw_rhdr *h = (const cw_rhdr *)(r->buf + off);
    if (h->type != CW_R_PAD)
      put_record(s, d, ts, h);
    pos += h->size;
    off += h->size;
    if (off >= r->cap)
      off -= r->cap;
    if ((++n & 255) == 0)
      cw__ring_release(r, pos);
  }
  cw__ring_release(r, pos);
  return n;
}

static void remove_thread(cw_sess *s, cw_tstate *ts) {
  CW_CHECK(pthread_mutex_lock(&s->reg_mu));
  for (uint32_t i = 0; i < s->nthreads_reg; i++) {
    if (s->threads[i] == ts) {
      s->threads[i] = s->threads[--s->nthreads_reg];
      break;
    }
  }
  cw_fetch_add_relaxed(&s->st_events_gone, cw_load_relaxed(&ts->nrec));
  CW_CHECK(pthread_mutex_unlock(&s->reg_mu));
  cw__tstate_free(ts);
}

static uint64_t pass(cw_sess *s, cw_drain *d) {
  CW_CHECK(pthread_mutex_lock(&s->reg_mu));
  if (s->nthreads_reg > d->captl) {
    cw_tstate **tl = cw__realloc(d->tl, s->capthreads * sizeof(*tl));
    if (tl) {
      d->tl = tl;
      d->captl = s->capthreads;
    }
  }
  d->ntl = s->nthreads_reg < d->captl ? s->nthreads_reg : d->captl;
  if (d->ntl)
    memcpy(d->tl, s->threads, d->ntl * sizeof(*d->tl));
  CW_CHECK(pthread_mutex_unlock(&s->reg_mu));
  uint64_t n = 0;
  for (uint32_t i = 0; i < d->ntl; i++) {
    cw_tstate *ts = d->tl[i];
    int exited = cw_load_acquire(&ts->exited);
    n += drain_ring(s, d, ts);
    if (exited)
      remove_thread(s, ts);
  }
  return n;
}

/* ---- Sleeping and waking ---------------------------------------------------
 *
 * The drain polls: nothing on the recording path wakes it in the steady
 * state. It sleeps on the futex word s->dwake for an adaptive interval
 * (POLL_MIN after a pass that found work, doubling while idle up to
 * POLL_MAX, never past the open batch's deadline). A producer whose ring
 * passes its high-water mark (cw_ring.h), cw_flush() and shutdown bump
 * dwake and wake it. The drain reads dwake before each pass, so a bump
 * during the pass makes the following wait return at once (no lost
 * wake-up); dsleep spares producers the system call while it is awake.
 */

#define POLL_MIN 1000000ull  /* ns */
#define POLL_MAX 20000000ull /* ns */

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>

static void futex_wait(cw_au32 *w, uint32_t val, uint64_t ns) {
  struct timespec t = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
  (void)syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, val, &t, NULL, 0);
}
static void futex_wake(cw_au32 *w) {
  (void)syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
#else
/* Elsewhere: short naps instead of a futex. */
static void futex_wait(cw_au32 *w, uint32_t val, uint64_t ns) {
  uint64_t t0 = cw__mono_ns();
  while (cw_load_acquire(w) == val && cw__mono_ns() - t0 < ns) {
    struct timespec nap = {0, 200000};
    nanosleep(&nap, NULL);
  }
}
static void futex_wake(cw_au32 *w) {
  (void)w;
}
#endif

void cw__drain_kick(cw_sess *s) {
  atomic_fetch_add(&s->dwake, 1);
  if (atomic_load(&s->dsleep))
    futex_wake(&s->dwake);
}

static void drain_sleep(cw_sess *s, uint32_t seen, uint64_t ns) {
  atomic_store(&s->dsleep, 1);
  futex_wait(&s->dwake, seen, ns);
  atomic_store(&s->dsleep, 0);
}

static void *drain_main(void *arg) {
  cw__thread_untraced();
  cw_sess *s = arg;
  cw_drain *d = s->dr;
  uint64_t interval = (uint64_t)s->cfg.flush_interval_ms * 1000000u;
  uint64_t refined = cw__mono_ns();
  uint64_t poll = POLL_MIN;
  /* Tell cw__drain_start that the thread is up (and done with the
   * allocations thread start-up makes). */
  CW_CHECK(pthread_mutex_lock(&s->dmu));
  s->drain_running = 1;
  CW_CHECK(pthread_cond_broadcast(&s->fcv));
  CW_CHECK(pthread_mutex_unlock(&s->dmu));
  for (;;) {
    uint32_t seen = atomic_load(&s->dwake);
    uint64_t now = cw__mono_ns();
    if (now - refined >= 1000000000u) {
      cw__stamp_refine(&s->stamps);
      refined = now;
    }
    CW_CHECK(pthread_mutex_lock(&s->dmu));
    int stop = s->stop;
    uint64_t req = s->flush_req;
    CW_CHECK(pthread_mutex_unlock(&s->dmu));
    /* The whole pass runs under work_mu, which fork() takes first: the
     * drain is then never inside an allocation when the process forks. */
    CW_CHECK(pthread_mutex_lock(&s->work_mu));
    uint64_t n = cw_load_acquire(&s->paused) && !stop ? 0 : pass(s, d);
    int want = stop || req != s->flush_done;
    now = cw__mono_ns();
    if (d->open && (want || now - d->opened_ns >= interval))
      write_batch(s, d);
    if (want && s->sink->flush(s->sink) != 0)
      d->err = 1;
    CW_CHECK(pthread_mutex_unlock(&s->work_mu));
    if (want) {
      CW_CHECK(pthread_mutex_lock(&s->dmu));
      s->flush_done = req;
      s->flush_err = d->err;
      CW_CHECK(pthread_cond_broadcast(&s->fcv));
      CW_CHECK(pthread_mutex_unlock(&s->dmu));
    }
    if (stop)
      break;
    poll = n ? POLL_MIN : (poll * 2 < POLL_MAX ? poll * 2 : POLL_MAX);
    uint64_t nap = poll;
    if (d->open) { /* wake up in time to write the batch */
      uint64_t due = d->opened_ns + interval;
      uint64_t left = due > now ? due - now : 0;
      if (left < nap)
        nap = left > POLL_MIN ? left : POLL_MIN;
    }
    drain_sleep(s, seen, nap);
  }
  return NULL;
}

/* ---- Life cycle
 * ----------------------------------------------------------------- */

int cw__registry_add(cw_sess *s, cw_tstate *ts) {
  int rc = 0;
  CW_CHECK(pthread_mutex_lock(&s->reg_mu));
  if (s->nthreads_reg == s->capthreads) {
    uint32_t cap = s->capthreads ? s->capthreads * 2 : 16;
    cw_tstate **t = cw__realloc(s->threads, cap * sizeof(*t));
    if (!t) {
      rc = -1;
      goto out;
    }
    s->threads = t;
    s->capthreads = cap;
  }
  s->threads[s->nthreads_reg++] = ts;
out:
  CW_CHECK(pthread_mutex_unlock(&s->reg_mu));
  return rc;
}

int cw__drain_start(cw_sess *s) {
  cw_drain *d = cw__calloc(1, sizeof(*d));
  if (!d)
    return -1;
  s->dr = d;
  uint32_t cap = s->actors.cap;
  d->bw = cw__bw_new(s->cfg.batch_bytes);
  d->a_stamp = cw__calloc(cap, sizeof(*d->a_stamp));
  d->a_gen = cw__calloc(cap, sizeof(*d->a_gen));
  d->a_id = cw__calloc(cap, sizeof(*d->a_id));
  d->seen = cw__calloc(cap, sizeof(*d->seen));
  d->ecap = cap + 1;
  d->endq = cw__calloc(d->ecap, sizeof(*d->endq));
  d->rn = cw__calloc(RN_CACHE, sizeof(*d->rn));
  if (!d->bw || !d->a_stamp || !d->a_gen || !d->a_id || !d->seen || !d->endq ||
      !d->rn)
    return -1;
  if (pthread_create(&s->drain, NULL, drain_main, s) != 0)
    return -1;
  s->drain_started = 1;
  /* Wait until it runs, so that a fork() right after cw_init() never
   * catches the new thread inside its start-up allocations. */
  CW_CHECK(pthread_mutex_lock(&s->dmu));
  while (!s->drain_running)
    CW_CHECK(pthread_cond_wait(&s->fcv, &s->dmu));
  CW_CHECK(pthread_mutex_unlock(&s->dmu));
  return 0;
}

int cw__drain_stop(cw_sess *s) {
  if (!s->drain_started)
    return 0;
  CW_CHECK(pthread_mutex_lock(&s->dmu));
  s->stop = 1;
  s->flush_req++;
  CW_CHECK(pthread_mutex_unlock(&s->dmu));
  cw__drain_kick(s);
  CW_CHECK(pthread_join(s->drain, NULL));
  s->drain_started = 0;
  /* A final flush that ran out of time is not a loss by itself: the sink's
   * close() reports what it could not deliver. */
  return s->dr->lost ? -1 : 0;
}

void cw__drain_pause(int on) {
  cw_sess *s = atomic_load_explicit(&cw__cur, memory_order_acquire);
  if (s)
    cw_store_release(&s->paused, on);
}

int cw__drain_flush(cw_sess *s) {
  CW_CHECK(pthread_mutex_lock(&s->dmu));
  uint64_t req = ++s->flush_req;
  cw__drain_kick(s);
  while (s->flush_done < req && !s->stop)
    CW_CHECK(pthread_cond_wait(&s->fcv, &s->dmu));
  int err = s->flush_err;
  CW_CHECK(pthread_mutex_unlock(&s->dmu));
  return err ? -1 : 0;
}

/* Thread states of threads still alive at shutdown. Their thread-local
 * pointer still refers to them, so they are kept (and stay reachable). */
static cw_tstate **orphans;
static uint32_t norphans, caporphans;

void cw__drain_free(cw_sess *s) {
  cw_drain *d = s->dr;
  for (uint32_t i = 0; i < s->nthreads_reg; i++) {
    cw_tstate *ts = s->threads[i];
    if (ts == cw__tls || cw_load_acquire(&ts->exited)) {
      cw__tstate_free(ts);
      continue;
    }
    cw__ring_free(&ts->ring);
    ts->sess = NULL;
    if (norphans == caporphans) {
      uint32_t cap = caporphans ? caporphans * 2 : 16;
      cw_tstate **o = realloc(orphans, cap * sizeof(*o));
      if (!o)
        continue; /* leak it rather than free memory still referenced */
      orphans = o;
      caporphans = cap;
    }
    orphans[norphans++] = ts;
  }
  cw__free(s->threads);
  s->threads = NULL;
  s->nthreads_reg = 0;
  cw__children_free(s);
  if (!d)
    return;
  cw__bw_free(d->bw);
  cw__free(d->a_stamp);
  cw__free(d->a_gen);
  cw__free(d->a_id);
  cw__free(d->seen);
  cw__free(d->endq);
  cw__free(d->rn);
  cw__free(d->joins);
  cw__free(d->tl);
  cw__free(d);
  s->dr = NULL;
}
