/*
 * bench_timeline: GET /v1/timeline's query over a million kept events, and
 * how long it stalls ingest. A feeder thread plays the analysis thread: it
 * takes the engine lock, adds 64 events to the ring and lets go, again and
 * again; the longest it waited for the lock while a query ran is the
 * ingest stall. Each query runs two ways in the same process:
 *   baseline  the engine lock held for the whole query (how the collector
 *             answered before the ring had its own lock: ingest waits for
 *             the whole scan);
 *   snapshot  the collector's query: chunk pointers copied under the ring's
 *             lock, the scan with no lock, the engine held only to select
 *             actors and to turn the answer's symbols into strings.
 * Three runs of each; also the feeder's longest wait with no query at all.
 * Then the cost of adding an event to a fresh ring: access events (each
 * linked to the previous access of its actor, variable, location and kind
 * for the audit trail's racy marks, through the ring's key table) against
 * lock events (no key work: the baseline), and of marking racing pairs.
 * usage: bench_timeline [EVENTS] [ACTORS]
 */
#define _POSIX_C_SOURCE 200809L
#include "analyzer.h"
#include "cw_format.h"
#include "timeline.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RUNS 3

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

typedef struct world {
  cw_analyzer *an;
  cw_timeline *t;
  uint32_t nactors;
  cw_actor_id *act;
  cw_sym vars[32], locks[4], loc;
  uint64_t next; /* events generated */
  atomic_int stop, measuring;
  double max_wait_ms; /* feeder: longest lock wait while measuring */
  pthread_mutex_t mu; /* max_wait_ms */
} world;

/* Event i: each actor acquires, reads, writes, releases, 1 us apart. */
static void make_event(world *w, uint64_t i, cw_tl_event *ev) {
  static const uint8_t kinds[4] = {CW_EV_LOCK_ACQUIRED, CW_EV_READ, CW_EV_WRITE,
                                   CW_EV_LOCK_RELEASE};
  memset(ev, 0, sizeof *ev);
  uint32_t a = (uint32_t)(i % w->nactors);
  uint64_t k = i / w->nactors;
  ev->actor = w->act[a];
  ev->kind = kinds[k % 4];
  ev->object = ev->kind == CW_EV_READ || ev->kind == CW_EV_WRITE
                   ? w->vars[(k / 4 + a) % 32]
                   : w->locks[a % 4];
  ev->loc = w->loc;
  ev->wall_ns = 1700000000000000000ll + (int64_t)i * 1000;
  ev->seq = i;
  ev->counter = k + 1;
}

static void *feeder(void *arg) {
  world *w = arg;
  while (!atomic_load(&w->stop)) {
    double t0 = now_ms();
    (void)cw__analyzer_lock(w->an);
    double waited = now_ms() - t0;
    for (int k = 0; k < 64; k++) {
      cw_tl_event ev;
      make_event(w, w->next++, &ev);
      cw__timeline_add(w->t, &ev);
    }
    cw__analyzer_unlock(w->an);
    if (atomic_load(&w->measuring)) {
      pthread_mutex_lock(&w->mu);
      if (waited > w->max_wait_ms)
        w->max_wait_ms = waited;
      pthread_mutex_unlock(&w->mu);
    }
    struct timespec ts = {0, 200000}; /* a batch every ~0.2 ms */
    nanosleep(&ts, NULL);
  }
  return NULL;
}

/* The baseline's engine access: the caller already holds the lock. */
static cw_engine *held_engine;
static cw_engine *held_lock(void *ud) {
  (void)ud;
  return held_engine;
}
static void held_unlock(void *ud) {
  (void)ud;
}

/* Runs query qs once; @return its time in ms, *stall the feeder's longest
 * lock wait meanwhile. */
static double one(world *w, const char *qs, int baseline, double *stall) {
  cw_tl_query q;
  char msg[128];
  if (cw__tl_query_parse(qs, &q, msg, sizeof msg)) {
    fprintf(stderr, "%s: %s\n", qs, msg);
    exit(1);
  }
  pthread_mutex_lock(&w->mu);
  w->max_wait_ms = 0;
  pthread_mutex_unlock(&w->mu);
  atomic_store(&w->measuring, 1);
  double t0 = now_ms();
  json_t *v;
  if (baseline) {
    held_engine = cw__analyzer_lock(w->an);
    cw_tl_engine eng = {held_lock, held_unlock, NULL};
    v = cw__timeline_query(w->t, &eng, &q);
    char *txt = json_dumps(v, JSON_COMPACT);
    free(txt);
    cw__analyzer_unlock(w->an);
  } else {
    v = cw__timeline_query(w->t, cw__analyzer_tl_engine(w->an), &q);
    char *txt = json_dumps(v, JSON_COMPACT);
    free(txt);
  }
  double dt = now_ms() - t0;
  /* Let a feeder batch that was waiting finish and report its wait. */
  struct timespec ts = {0, 2000000};
  nanosleep(&ts, NULL);
  atomic_store(&w->measuring, 0);
  json_decref(v);
  pthread_mutex_lock(&w->mu);
  *stall = w->max_wait_ms;
  pthread_mutex_unlock(&w->mu);
  return dt;
}

/* ns per event to add n events of one kind class to a fresh ring of
 * `bytes`: access (read/write) or lock (acquire/release) events. */
static double add_ns(world *w, uint64_t n, uint64_t bytes, int access) {
  cw_timeline *t = cw__timeline_new(bytes);
  double t0 = now_ms();
  for (uint64_t i = 0; i < n; i++) {
    cw_tl_event ev;
    /* make_event's kinds cycle acquire, read, write, release per actor */
    uint64_t k = i / w->nactors, a = i % w->nactors;
    uint64_t j = (k / 2 * 4 + (access ? 1 : 0) + (k % 2) * (access ? 1 : 3)) *
                     w->nactors +
                 a;
    make_event(w, j, &ev);
    cw__timeline_add(t, &ev);
  }
  double dt = now_ms() - t0;
  cw__timeline_free(t);
  return dt * 1e6 / (double)n;
}

/* ns per racing pair marked: every write of actor a races with actor
 * (a+1)'s last write of the same variable (known 0: each pair walks the
 * chain down to what the last walk of that key marked). */
static double race_ns(world *w, uint64_t n, uint64_t bytes, uint64_t *pairs) {
  cw_timeline *t = cw__timeline_new(bytes);
  uint64_t np = 0;
  cw_tl_event *last = calloc((size_t)w->nactors * 32, sizeof *last);
  double spent = 0;
  for (uint64_t i = 0; i < n; i++) {
    cw_tl_event ev;
    make_event(w, i, &ev);
    cw__timeline_add(t, &ev);
    if (ev.kind != CW_EV_WRITE)
      continue;
    uint32_t a = (uint32_t)(i % w->nactors), b = (a + 1) % w->nactors;
    uint32_t vi = (uint32_t)(((i / w->nactors) / 4 + a) % 32);
    last[(size_t)a * 32 + vi] = ev;
    const cw_tl_event *s = &last[(size_t)b * 32 + vi];
    if (!s->seq)
      continue;
    cw_race_pair p = {.var = ev.object,
                      .first_actor = s->actor,
                      .first_loc = s->loc,
                      .first_kind = 1,
                      .first_seq = s->seq,
                      .first_counter = s->counter,
                      .known = 0,
                      .second_actor = ev.actor,
                      .second_loc = ev.loc,
                      .second_kind = 1,
                      .second_seq = ev.seq,
                      .second_counter = ev.counter};
    double t0 = now_ms();
    cw__timeline_race(t, &p);
    spent += now_ms() - t0;
    np++;
  }
  free(last);
  cw__timeline_free(t);
  *pairs = np;
  return np ? spent * 1e6 / (double)np : 0;
}

static void add_cost(world *w, uint64_t n, uint64_t bytes) {
  double acc[RUNS], lck[RUNS], race[RUNS];
  uint64_t pairs = 0;
  for (int r = 0; r < RUNS; r++) {
    lck[r] = add_ns(w, n, bytes, 0);
    acc[r] = add_ns(w, n, bytes, 1);
    race[r] = race_ns(w, n, bytes, &pairs);
  }
  printf("adding %llu events to a fresh ring, ns per event, runs 1/2/3:\n",
         (unsigned long long)n);
  printf("%-36s %8.1f %8.1f %8.1f\n", "lock events (baseline: no key)", lck[0],
         lck[1], lck[2]);
  printf("%-36s %8.1f %8.1f %8.1f\n", "access events (chained by key)", acc[0],
         acc[1], acc[2]);
  printf("marking %llu racing pairs, ns per pair, runs 1/2/3:\n",
         (unsigned long long)pairs);
  printf("%-36s %8.1f %8.1f %8.1f\n", "write/write pairs, known 0", race[0],
         race[1], race[2]);
}

int main(int argc, char **argv) {
  uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
  uint32_t nactors = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 64;
  world w;
  memset(&w, 0, sizeof w);
  pthread_mutex_init(&w.mu, NULL);
  cw_analyzer_opts o;
  memset(&o, 0, sizeof o);
  o.queue_bytes = 1 << 20;
  /* room for n events, their racy bits and the key table (1/8) */
  o.event_memory = n * (sizeof(cw_tl_event) + 1) * 8 / 7 + (1u << 20);
  w.an = cw__analyzer_new(&o);
  if (!w.an)
    return 1;
  w.t = cw__analyzer_timeline(w.an);
  w.nactors = nactors;
  w.act = calloc(nactors, sizeof *w.act);
  cw_engine *e = cw__analyzer_lock(w.an);
  cw_sym svc = cw__engine_intern(e, "bank", 4);
  char name[64];
  for (uint32_t a = 0; a < nactors; a++) {
    int l = snprintf(name, sizeof name, "bank#b1/worker-%u", a);
    w.act[a] = cw__engine_actor(e, cw__engine_intern(e, name, (size_t)l), svc);
  }
  for (int i = 0; i < 32; i++) {
    int l = snprintf(name, sizeof name, "account:%d.balance", i);
    w.vars[i] = cw__engine_intern(e, name, (size_t)l);
  }
  for (int i = 0; i < 4; i++) {
    int l = snprintf(name, sizeof name, "mutex-%d", i);
    w.locks[i] = cw__engine_intern(e, name, (size_t)l);
  }
  w.loc = cw__engine_intern(e, "bank.c:40", 9);
  for (; w.next < n; w.next++) {
    cw_tl_event ev;
    make_event(&w, w.next, &ev);
    cw__timeline_add(w.t, &ev);
  }
  cw__analyzer_unlock(w.an);

  pthread_t th;
  pthread_create(&th, NULL, feeder, &w);
  /* Baseline of the stall: the feeder alone for 300 ms. */
  pthread_mutex_lock(&w.mu);
  w.max_wait_ms = 0;
  pthread_mutex_unlock(&w.mu);
  atomic_store(&w.measuring, 1);
  struct timespec ts = {0, 300000000};
  nanosleep(&ts, NULL);
  atomic_store(&w.measuring, 0);
  uint64_t kept, evicted;
  cw__timeline_counts(w.t, &kept, &evicted);
  printf("%llu events kept, %u actors; ingest (64 events per engine lock, "
         "every 0.2 ms) alone: longest lock wait %.3f ms\n",
         (unsigned long long)kept, nactors, w.max_wait_ms);
  printf("query ms and ingest stall ms (longest engine-lock wait during the "
         "query), runs 1/2/3:\n");
  printf("%-36s %-9s %26s %26s\n", "query", "how", "query ms", "stall ms");

  char win[256];
  int64_t mid = 1700000000000000000ll + (int64_t)(n / 2) * 1000;
  snprintf(win, sizeof win, "from=%lld&to=%lld", (long long)mid,
           (long long)(mid + 1999000));
  const char *qs[] = {"", win, "actor=bank%23b1%2Fworker-7",
                      "actor=bank%23b1%2Fworker-7&mode=events&limit=10000"};
  const char *label[] = {
      "whole range (200 buckets)", "2 ms window (2000 events, locks)",
      "one actor, whole range (buckets)", "one actor, first 10000 events"};
  for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++)
    for (int how = 1; how >= 0; how--) {
      double ms[RUNS], st[RUNS];
      for (int r = 0; r < RUNS; r++)
        ms[r] = one(&w, qs[i], how, &st[r]);
      printf("%-36s %-9s %8.2f %8.2f %8.2f %8.3f %8.3f %8.3f\n", label[i],
             how ? "baseline" : "snapshot", ms[0], ms[1], ms[2], st[0], st[1],
             st[2]);
    }
  atomic_store(&w.stop, 1);
  pthread_join(th, NULL);
  add_cost(&w, n, o.event_memory);
  cw__analyzer_free(w.an);
  free(w.act);
  pthread_mutex_destroy(&w.mu);
  return 0;
}
