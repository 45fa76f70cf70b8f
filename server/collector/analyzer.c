/*
 * analyzer: the analysis thread, its bounded queue and per-stream ordering.
 *
 * DESIGN. Ingest reserves queue bytes before it stores a batch, so a batch
 * that was acknowledged always has room in the queue and is never dropped;
 * when the analysis falls behind, reservations wait and ingest eventually
 * answers 503 (back-pressure) instead of growing memory. The thread pops one
 * batch at a time. A native batch whose batch_no is its stream's next is fed
 * at once, followed by any held successors; an early batch is parked in a
 * small held list (bounded by the same byte budget) until its predecessor
 * arrives or it has waited hold_ms, whichever comes first. Raceway bodies
 * carry no batch number: their events are held hold_ms after arrival (the
 * reorder window) and fed in the order of server/input/cw_raceway_order.c.
 * The engine mutex is held while one batch is fed, so queries see whole
 * native batches only.
 */
#define _POSIX_C_SOURCE 200809L
#include "analyzer.h"

#include "native_feed.h"
#include "membudget.h"
#include "raceway_traces.h"
#include "store.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cw_input.h"

#define MAX_HELD_PER_STREAM 64
#define MAX_STREAMS 65536

typedef struct node {
  cw_batch_item it;
  uint64_t t_ns; /* arrival, monotonic */
  struct node *next;
} node;

typedef struct sstate {
  uint8_t id[16];
  uint64_t next;
  uint32_t held;
  int used;
} sstate;

struct cw_analyzer {
  cw_analyzer_opts o;
  pthread_t th;
  pthread_mutex_t mu; /* queue */
  pthread_cond_t work, space, idle;
  pthread_mutex_t emu; /* engine */
  cw_engine *engine;
  cw_feed *feed;
  cw_traces *traces;
  cw_timeline *timeline;
  node *head, *tail;
  node *held; /* analysis thread only */
  sstate *streams;
  size_t nstreams, capstreams;
  uint64_t used_bytes, queued, held_n, busy;
  uint64_t held_local; /* analysis thread only */
  size_t rw_held;      /* Raceway events in the reorder window (emu) */
  int stop;
  cw_analyzer_stats st;
  cw_input_stats in;
  cw_raceway_ctx *rw;     /* counters and parent ids across POST /events */
  cw_rw_observer rwobs;   /* its events -> timeline and trace index */
  cw_tl_engine tl_engine; /* how timeline queries borrow the engine */
};

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t hash_id(const uint8_t id[16]) {
  uint64_t a, b;
  memcpy(&a, id, 8);
  memcpy(&b, id + 8, 8);
  return (a * 0x9E3779B97F4A7C15ull) ^ (b * 0xC2B2AE3D27D4EB4Full);
}

static sstate *stream_find(cw_analyzer *a, const uint8_t id[16], int create);

static void stream_rebuild(cw_analyzer *a, size_t ncap, int keep_held_only) {
  sstate *old = a->streams;
  size_t ocap = a->capstreams;
  sstate *nt = calloc(ncap, sizeof *nt);
  if (!nt)
    return;
  a->streams = nt;
  a->capstreams = ncap;
  a->nstreams = 0;
  for (size_t i = 0; i < ocap; i++) {
    if (!old[i].used || (keep_held_only && old[i].held == 0))
      continue;
    sstate *s = stream_find(a, old[i].id, 1);
    if (s)
      *s = old[i];
  }
  free(old);
}

static sstate *stream_find(cw_analyzer *a, const uint8_t id[16], int create) {
  if (create && (a->nstreams + 1) * 2 > a->capstreams) {
    if (a->nstreams >= MAX_STREAMS)
      stream_rebuild(a, a->capstreams, 1);
    else
      stream_rebuild(a, a->capstreams ? a->capstreams * 2 : 256, 0);
    if ((a->nstreams + 1) * 2 > a->capstreams)
      return NULL;
  }
  if (!a->capstreams)
    return NULL;
  size_t i = hash_id(id) & (a->capstreams - 1);
  while (a->streams[i].used) {
    if (!memcmp(a->streams[i].id, id, 16))
      return &a->streams[i];
    i = (i + 1) & (a->capstreams - 1);
  }
  if (!create)
    return NULL;
  sstate *s = &a->streams[i];
  memset(s, 0, sizeof *s);
  memcpy(s->id, id, 16);
  s->used = 1;
  a->nstreams++;
  return s;
}

/* Feeds one batch to the engine and frees it. */
static void feed_one(cw_analyzer *a, node *n) {
  uint64_t fed = 0;
  int failed = 0;
  /* What decoding it takes at most, to give back after a large batch. */
  uint64_t decoded =
      n->it.type == CW_STORE_RACEWAY
          ? cw__json_tree_bytes((const char *)n->it.data, n->it.len)
          : n->it.len;
  pthread_mutex_lock(&a->emu);
  if (n->it.type == CW_STORE_NATIVE) {
    failed =
        cw__feed_native(a->feed, a->engine, n->it.data, n->it.len, &fed) != 0;
  } else if (n->it.type == CW_STORE_RACEWAY) {
    /* Held for the reorder window; raceway_release() feeds it. */
    failed = cw__raceway_ctx_add(a->rw, (const char *)n->it.data, n->it.len,
                                 (int64_t)n->t_ns, NULL, &a->in, NULL) != 0;
    a->rw_held = cw__raceway_ctx_held(a->rw);
  }
  pthread_mutex_unlock(&a->emu);
  pthread_mutex_lock(&a->mu);
  a->st.fed_batches++;
  a->st.fed_events += fed;
  a->st.failed_batches += (uint64_t)failed;
  a->st.raceway_skipped = a->in.skipped_events;
  a->st.generation++;
  a->used_bytes -= n->it.len;
  pthread_cond_broadcast(&a->space);
  pthread_mutex_unlock(&a->mu);
  free(n->it.data);
  free(n);
  cw__membudget_trim(decoded);
}

/* Feeds the Raceway events whose reorder window has passed (all: every
 * held one). */
static void raceway_release(cw_analyzer *a, uint64_t now, int all) {
  if (!a->rw_held)
    return;
  pthread_mutex_lock(&a->emu);
  uint64_t before = a->in.events;
  int failed = cw__raceway_ctx_release(
                   a->rw, a->engine, (int64_t)now,
                   all ? 0 : (int64_t)a->o.hold_ms * 1000000, &a->in) != 0;
  uint64_t fed = a->in.events - before;
  a->rw_held = cw__raceway_ctx_held(a->rw);
  a->rwobs.last = NULL; /* the fed events' JSON is released */
  pthread_mutex_unlock(&a->emu);
  if (!fed && !failed)
    return;
  pthread_mutex_lock(&a->mu);
  a->st.fed_events += fed;
  a->st.failed_batches += (uint64_t)failed;
  a->st.raceway_skipped = a->in.skipped_events;
  a->st.generation++;
  pthread_mutex_unlock(&a->mu);
}

/* Feeds held successors of stream s while they are next in line. */
static void drain_successors(cw_analyzer *a, sstate *s, const uint8_t *id) {
  for (int progress = 1; progress;) {
    progress = 0;
    for (node **pp = &a->held; *pp; pp = &(*pp)->next) {
      node *h = *pp;
      if (h->it.batch_no == s->next && !memcmp(h->it.stream_id, id, 16)) {
        *pp = h->next;
        s->held--;
        a->held_local--;
        s->next = h->it.batch_no + 1;
        feed_one(a, h);
        progress = 1;
        break;
      }
    }
  }
}

/* Releases the lowest held batch of the stream of `victim`. */
static void release_lowest(cw_analyzer *a, const uint8_t *id) {
  uint8_t key[16];
  memcpy(key, id, 16);
  node **best = NULL;
  for (node **pp = &a->held; *pp; pp = &(*pp)->next)
    if (!memcmp((*pp)->it.stream_id, key, 16) &&
        (!best || (*pp)->it.batch_no < (*best)->it.batch_no))
      best = pp;
  if (!best)
    return;
  node *h = *best;
  *best = h->next;
  a->held_local--;
  sstate *s = stream_find(a, key, 1);
  if (s) {
    s->held--;
    s->next = h->it.batch_no + 1;
  }
  feed_one(a, h);
  if (s)
    drain_successors(a, s, key);
}

static void handle(cw_analyzer *a, node *n) {
  if (n->it.type != CW_STORE_NATIVE) {
    feed_one(a, n);
    return;
  }
  sstate *s = stream_find(a, n->it.stream_id, 1);
  if (!s || n->it.batch_no <= s->next) {
    /* Next in line, or older than the line (restart after retention). */
    uint8_t id[16];
    memcpy(id, n->it.stream_id, 16);
    if (s && n->it.batch_no == s->next)
      s->next++;
    feed_one(a, n);
    if (s)
      drain_successors(a, s, id);
    return;
  }
  n->next = a->held;
  a->held = n;
  s->held++;
  a->held_local++;
  if (s->held > MAX_HELD_PER_STREAM)
    release_lowest(a, n->it.stream_id);
}

static void release_expired(cw_analyzer *a, uint64_t now) {
  uint64_t limit = (uint64_t)a->o.hold_ms * 1000000ull;
  for (;;) {
    node *old = NULL;
    for (node *h = a->held; h; h = h->next)
      if (now - h->t_ns >= limit) {
        old = h;
        break;
      }
    if (!old)
      return;
    release_lowest(a, old->it.stream_id);
  }
}

static void *thread_main(void *arg) {
  cw_analyzer *a = arg;
  pthread_mutex_lock(&a->mu);
  for (;;) {
    if (a->head) {
      node *n = a->head;
      a->head = n->next;
      if (!a->head)
        a->tail = NULL;
      a->queued--;
      a->busy = 1;
      pthread_mutex_unlock(&a->mu);
      handle(a, n);
      release_expired(a, now_ns());
      raceway_release(a, now_ns(), 0);
      pthread_mutex_lock(&a->mu);
      a->busy = 0;
      a->held_n = a->held_local + (a->rw_held != 0);
      continue;
    }
    if (a->stop)
      break;
    if (a->held_n == 0)
      pthread_cond_broadcast(&a->idle);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 100 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&a->work, &a->mu, &ts);
    if (a->held_n && !a->head) {
      pthread_mutex_unlock(&a->mu);
      release_expired(a, now_ns());
      raceway_release(a, now_ns(), 0);
      pthread_mutex_lock(&a->mu);
      a->held_n = a->held_local + (a->rw_held != 0);
    }
  }
  pthread_mutex_unlock(&a->mu);
  /* Stop: feed whatever is still held, lowest first. */
  while (a->held)
    release_lowest(a, a->held->it.stream_id);
  raceway_release(a, now_ns(), 1);
  return NULL;
}

static cw_engine *tl_lock(void *ud) {
  return cw__analyzer_lock(ud);
}

static void tl_unlock(void *ud) {
  cw__analyzer_unlock(ud);
}

cw_analyzer *cw__analyzer_new(const cw_analyzer_opts *o) {
  cw_analyzer *a = calloc(1, sizeof *a);
  if (!a)
    return NULL;
  a->o = *o;
  if (a->o.hold_ms == 0)
    a->o.hold_ms = 2000;
  cw_engine_config ec;
  memset(&ec, 0, sizeof ec);
  ec.size = sizeof ec;
  ec.keep_events = o->keep_events;
  ec.race_clocks = 1; /* the viewer's race page shows both clocks */
  /* The critical path works out of the box: spans are kept up to a bound
   * of the same order as the event ring's (~100 bytes a span). */
  uint64_t cap = o->event_memory / 128;
  ec.span_cap = (uint32_t)(cap > UINT32_MAX ? UINT32_MAX : cap);
  ec.slow_db_ns = o->slow_db_ns;
  ec.slow_http_ns = o->slow_http_ns;
  ec.slow_span_ns = o->slow_span_ns;
  ec.lock_wait_ns = o->lock_wait_ns;
  ec.retry_storm = o->retry_storm;
  ec.retry_window_ns = o->retry_window_ns;
  a->engine = cw__engine_new(&ec);
  a->feed = cw__feed_new();
  a->traces = cw__traces_new();
  if (!a->engine || !a->feed || !a->traces) {
    cw__engine_free(a->engine);
    cw__feed_free(a->feed);
    cw__traces_free(a->traces);
    free(a);
    return NULL;
  }
  cw__feed_set_traces(a->feed, a->traces);
  a->timeline = cw__timeline_new(o->event_memory);
  cw__feed_set_timeline(a->feed, a->timeline);
  /* Every kept access that takes part in a race gets marked (audit trails
   * from the ring). */
  if (a->timeline)
    cw__engine_on_race(a->engine, cw__timeline_race, a->timeline);
  a->rw = cw__raceway_ctx_new();
  if (!a->rw) {
    cw__engine_free(a->engine);
    cw__feed_free(a->feed);
    cw__traces_free(a->traces);
    cw__timeline_free(a->timeline);
    free(a);
    return NULL;
  }
  a->tl_engine = (cw_tl_engine){tl_lock, tl_unlock, a};
  a->rwobs.traces = a->traces;
  a->rwobs.timeline = a->timeline;
  a->rwobs.engine = a->engine;
  cw__raceway_ctx_observe(a->rw, cw__raceway_observe, &a->rwobs);
  pthread_mutex_init(&a->mu, NULL);
  pthread_mutex_init(&a->emu, NULL);
  pthread_cond_init(&a->work, NULL);
  pthread_cond_init(&a->space, NULL);
  pthread_cond_init(&a->idle, NULL);
  if (pthread_create(&a->th, NULL, thread_main, a)) {
    cw__engine_free(a->engine);
    cw__feed_free(a->feed);
    cw__traces_free(a->traces);
    cw__raceway_ctx_free(a->rw);
    free(a);
    return NULL;
  }
  return a;
}

void cw__analyzer_free(cw_analyzer *a) {
  if (!a)
    return;
  pthread_mutex_lock(&a->mu);
  a->stop = 1;
  pthread_cond_broadcast(&a->work);
  pthread_mutex_unlock(&a->mu);
  pthread_join(a->th, NULL);
  cw__engine_free(a->engine);
  cw__feed_free(a->feed);
  cw__traces_free(a->traces);
  cw__timeline_free(a->timeline);
  cw__raceway_ctx_free(a->rw);
  free(a->streams);
  pthread_mutex_destroy(&a->mu);
  pthread_mutex_destroy(&a->emu);
  pthread_cond_destroy(&a->work);
  pthread_cond_destroy(&a->space);
  pthread_cond_destroy(&a->idle);
  free(a);
}

int cw__analyzer_reserve(cw_analyzer *a, uint64_t bytes, int timeout_ms) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += timeout_ms / 1000;
  ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&a->mu);
  int rc = 0;
  /* A batch larger than the whole budget may pass alone. */
  while (a->used_bytes > 0 && a->used_bytes + bytes > a->o.queue_bytes) {
    if (pthread_cond_timedwait(&a->space, &a->mu, &ts)) {
      rc = -1;
      break;
    }
  }
  if (rc == 0)
    a->used_bytes += bytes;
  pthread_mutex_unlock(&a->mu);
  return rc;
}

void cw__analyzer_unreserve(cw_analyzer *a, uint64_t bytes) {
  pthread_mutex_lock(&a->mu);
  a->used_bytes -= bytes;
  pthread_cond_broadcast(&a->space);
  pthread_mutex_unlock(&a->mu);
}

void cw__analyzer_push(cw_analyzer *a, cw_batch_item *it) {
  node *n = malloc(sizeof *n);
  if (!n) {
    /* Cannot queue: the batch is stored and will be analysed on restart. */
    cw__analyzer_unreserve(a, it->len);
    free(it->data);
    it->data = NULL;
    return;
  }
  n->it = *it;
  it->data = NULL;
  n->t_ns = now_ns();
  n->next = NULL;
  pthread_mutex_lock(&a->mu);
  if (a->tail)
    a->tail->next = n;
  else
    a->head = n;
  a->tail = n;
  a->queued++;
  pthread_cond_signal(&a->work);
  pthread_mutex_unlock(&a->mu);
}

void cw__analyzer_drain(cw_analyzer *a) {
  pthread_mutex_lock(&a->mu);
  while (a->queued || a->busy || a->held_n) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 50 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_signal(&a->work);
    pthread_cond_timedwait(&a->idle, &a->mu, &ts);
  }
  pthread_mutex_unlock(&a->mu);
}

cw_engine *cw__analyzer_lock(cw_analyzer *a) {
  pthread_mutex_lock(&a->emu);
  return a->engine;
}

cw_traces *cw__analyzer_traces(cw_analyzer *a) {
  return a->traces;
}

cw_timeline *cw__analyzer_timeline(cw_analyzer *a) {
  return a->timeline;
}

const cw_tl_engine *cw__analyzer_tl_engine(cw_analyzer *a) {
  return &a->tl_engine;
}

void cw__analyzer_unlock(cw_analyzer *a) {
  pthread_mutex_unlock(&a->emu);
}

void cw__analyzer_stats(cw_analyzer *a, cw_analyzer_stats *out) {
  pthread_mutex_lock(&a->mu);
  *out = a->st;
  out->queued_batches = a->queued;
  out->queued_bytes = a->used_bytes;
  out->held_batches = a->held_n;
  out->lag_seconds = a->head ? (double)(now_ns() - a->head->t_ns) / 1e9 : 0.0;
  pthread_mutex_unlock(&a->mu);
}

size_t cw__analyzer_raceway_skips(cw_analyzer *a, uint64_t *out, size_t cap) {
  size_t n = CW_SKIP_REASON_COUNT_ < cap ? CW_SKIP_REASON_COUNT_ : cap;
  pthread_mutex_lock(&a->emu);
  memcpy(out, a->in.skipped, n * sizeof *out);
  pthread_mutex_unlock(&a->emu);
  return n;
}

const char *cw__raceway_skip_name(int reason) {
  return cw__skip_reason_name((cw_skip_reason)reason);
}

const void *cw__analyzer_input_stats(cw_analyzer *a) {
  return &a->in;
}
