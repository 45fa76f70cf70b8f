/*
 * dedup: per-stream sliding bitmaps of seen batch numbers.
 *
 * DESIGN. Each stream keeps `top`, one past its highest seen batch number,
 * and a bitmap of the CW_DEDUP_WINDOW numbers below it. Batch numbers older
 * than the window count as seen: an SDK retries a batch within seconds, long
 * before 4096 newer batches of the same process arrive. In-flight batches
 * (being stored) sit in a small separate list, so a concurrent retry is told
 * to come back rather than acknowledged before the first copy is durable.
 * Streams live in an open-addressing table; beyond max_streams the oldest
 * created stream is dropped (FIFO), bounding memory.
 */
#define _POSIX_C_SOURCE 200809L
#include "dedup.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define WORDS (CW_DEDUP_WINDOW / 64)

typedef struct stream {
  uint8_t id[16];
  uint64_t top; /* one past the highest seen batch_no; 0 = none */
  uint64_t bits[WORDS];
  uint64_t created; /* creation order, for FIFO eviction */
  int used;
} stream;

typedef struct flight {
  uint8_t id[16];
  uint64_t batch_no;
  struct flight *next;
} flight;

struct cw_dedup {
  pthread_mutex_t mu;
  stream *tab;
  size_t cap, count, max;
  uint64_t clock;
  flight *flights;
};

static uint64_t hash_id(const uint8_t id[16]) {
  uint64_t a, b;
  memcpy(&a, id, 8);
  memcpy(&b, id + 8, 8);
  uint64_t h = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull);
  return h ^ (h >> 29);
}

cw_dedup *cw__dedup_new(size_t max_streams) {
  cw_dedup *d = calloc(1, sizeof *d);
  if (!d)
    return NULL;
  d->max = max_streams ? max_streams : 65536;
  d->cap = 64;
  while (d->cap < d->max * 2)
    d->cap *= 2;
  d->cap = d->cap > 1024 ? 1024 : d->cap; /* grows on demand */
  d->tab = calloc(d->cap, sizeof *d->tab);
  if (!d->tab) {
    free(d);
    return NULL;
  }
  pthread_mutex_init(&d->mu, NULL);
  return d;
}

void cw__dedup_free(cw_dedup *d) {
  if (!d)
    return;
  while (d->flights) {
    flight *f = d->flights;
    d->flights = f->next;
    free(f);
  }
  free(d->tab);
  pthread_mutex_destroy(&d->mu);
  free(d);
}

static stream *find(cw_dedup *d, const uint8_t id[16]) {
  size_t i = hash_id(id) & (d->cap - 1);
  while (d->tab[i].used) {
    if (!memcmp(d->tab[i].id, id, 16))
      return &d->tab[i];
    i = (i + 1) & (d->cap - 1);
  }
  return NULL;
}

static void insert_raw(stream *tab, size_t cap, const stream *s) {
  size_t i = hash_id(s->id) & (cap - 1);
  while (tab[i].used)
    i = (i + 1) & (cap - 1);
  tab[i] = *s;
}

static void rebuild(cw_dedup *d, size_t ncap, int drop_oldest) {
  stream *nt = calloc(ncap, sizeof *nt);
  if (!nt)
    return;
  uint64_t oldest = UINT64_MAX;
  if (drop_oldest)
    for (size_t i = 0; i < d->cap; i++)
      if (d->tab[i].used && d->tab[i].created < oldest)
        oldest = d->tab[i].created;
  size_t n = 0;
  for (size_t i = 0; i < d->cap; i++)
    if (d->tab[i].used && !(drop_oldest && d->tab[i].created == oldest)) {
      insert_raw(nt, ncap, &d->tab[i]);
      n++;
    }
  free(d->tab);
  d->tab = nt;
  d->cap = ncap;
  d->count = n;
}

static stream *get(cw_dedup *d, const uint8_t id[16]) {
  stream *s = find(d, id);
  if (s)
    return s;
  if (d->count >= d->max) /* O(n) eviction, rare: only past max streams */
    rebuild(d, d->cap, 1);
  if ((d->count + 1) * 2 > d->cap)
    rebuild(d, d->cap * 2, 0);
  if ((d->count + 1) * 2 > d->cap)
    return NULL;
  stream ns;
  memset(&ns, 0, sizeof ns);
  memcpy(ns.id, id, 16);
  ns.used = 1;
  ns.created = d->clock++;
  insert_raw(d->tab, d->cap, &ns);
  d->count++;
  return find(d, id);
}

/* @return 1 when seen. */
static int is_seen(const stream *s, uint64_t b) {
  if (b >= s->top)
    return 0;
  uint64_t back = s->top - 1 - b;
  if (back >= CW_DEDUP_WINDOW)
    return 1;
  uint64_t pos = b % CW_DEDUP_WINDOW;
  return (int)((s->bits[pos / 64] >> (pos % 64)) & 1);
}

static void set_seen(stream *s, uint64_t b) {
  if (b >= s->top) {
    /* Slide the window: clear the positions that now stand for new numbers. */
    uint64_t from = s->top, to = b + 1;
    if (to - from >= CW_DEDUP_WINDOW)
      memset(s->bits, 0, sizeof s->bits);
    else
      for (uint64_t x = from; x < to; x++) {
        uint64_t pos = x % CW_DEDUP_WINDOW;
        s->bits[pos / 64] &= ~(1ull << (pos % 64));
      }
    s->top = to;
  } else if (s->top - 1 - b >= CW_DEDUP_WINDOW) {
    return;
  }
  uint64_t pos = b % CW_DEDUP_WINDOW;
  s->bits[pos / 64] |= 1ull << (pos % 64);
}

static flight **find_flight(cw_dedup *d, const uint8_t id[16], uint64_t b) {
  for (flight **f = &d->flights; *f; f = &(*f)->next)
    if ((*f)->batch_no == b && !memcmp((*f)->id, id, 16))
      return f;
  return NULL;
}

int cw__dedup_reserve(cw_dedup *d, const uint8_t id[16], uint64_t b) {
  pthread_mutex_lock(&d->mu);
  int rc = CW_DEDUP_NEW;
  stream *s = find(d, id);
  if (s && is_seen(s, b))
    rc = CW_DEDUP_SEEN;
  else if (find_flight(d, id, b))
    rc = CW_DEDUP_IN_FLIGHT;
  else {
    flight *f = malloc(sizeof *f);
    if (!f)
      rc = CW_DEDUP_IN_FLIGHT; /* out of memory: ask the client to retry */
    else {
      memcpy(f->id, id, 16);
      f->batch_no = b;
      f->next = d->flights;
      d->flights = f;
    }
  }
  pthread_mutex_unlock(&d->mu);
  return rc;
}

void cw__dedup_finish(cw_dedup *d, const uint8_t id[16], uint64_t b,
                      int stored) {
  pthread_mutex_lock(&d->mu);
  flight **f = find_flight(d, id, b);
  if (f) {
    flight *x = *f;
    *f = x->next;
    free(x);
  }
  if (stored) {
    stream *s = get(d, id);
    if (s)
      set_seen(s, b);
  }
  pthread_mutex_unlock(&d->mu);
}

int cw__dedup_mark(cw_dedup *d, const uint8_t id[16], uint64_t b) {
  pthread_mutex_lock(&d->mu);
  stream *s = get(d, id);
  int seen = 0;
  if (s) {
    seen = is_seen(s, b);
    set_seen(s, b);
  }
  pthread_mutex_unlock(&d->mu);
  return seen;
}

size_t cw__dedup_streams(cw_dedup *d) {
  pthread_mutex_lock(&d->mu);
  size_t n = d->count;
  pthread_mutex_unlock(&d->mu);
  return n;
}
