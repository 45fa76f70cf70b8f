/*
 * ratelimit: token buckets in an open-addressing table keyed by a hash of
 * the client (the key itself is not stored). When max clients are held, a
 * new client evicts the least recently seen bucket (backward-shift
 * deletion keeps the linear probing intact), so a flood of fresh clients
 * never forgives the ones being limited.
 */
#define _POSIX_C_SOURCE 200809L
#include "ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct bucket {
  uint64_t h; /* 0 = empty */
  double tokens, last;
} bucket;

struct cw_ratelimit {
  double rate, burst;
  size_t cap, count, max;
  bucket *tab;
  pthread_mutex_t mu;
};

static uint64_t fnv(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 1099511628211ull;
  }
  return h ? h : 1;
}

cw_ratelimit *cw__ratelimit_new(double rate, double burst, size_t max_clients) {
  cw_ratelimit *r = calloc(1, sizeof *r);
  if (!r)
    return NULL;
  r->rate = rate;
  r->burst = burst < 1 ? 1 : burst;
  r->max = max_clients ? max_clients : 4096;
  r->cap = 16;
  while (r->cap < r->max * 2)
    r->cap *= 2;
  r->tab = calloc(r->cap, sizeof *r->tab);
  if (!r->tab) {
    free(r);
    return NULL;
  }
  pthread_mutex_init(&r->mu, NULL);
  return r;
}

void cw__ratelimit_free(cw_ratelimit *r) {
  if (!r)
    return;
  pthread_mutex_destroy(&r->mu);
  free(r->tab);
  free(r);
}

/* Removes the entry at i, shifting later entries of its probe run back. */
static void remove_at(cw_ratelimit *r, size_t i) {
  size_t mask = r->cap - 1, j = i;
  for (;;) {
    j = (j + 1) & mask;
    if (!r->tab[j].h)
      break;
    size_t home = r->tab[j].h & mask;
    /* The entry at j may move to i unless its home lies in (i, j]. */
    int stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (!stays) {
      r->tab[i] = r->tab[j];
      i = j;
    }
  }
  r->tab[i].h = 0;
  r->count--;
}

/* Evicts the least recently seen bucket. */
static void evict_oldest(cw_ratelimit *r) {
  size_t victim = r->cap;
  for (size_t i = 0; i < r->cap; i++)
    if (r->tab[i].h &&
        (victim == r->cap || r->tab[i].last < r->tab[victim].last))
      victim = i;
  if (victim < r->cap)
    remove_at(r, victim);
}

int cw__ratelimit_take(cw_ratelimit *r, const char *client, size_t len,
                       double now) {
  if (r->rate <= 0)
    return 0;
  uint64_t h = fnv(client, len);
  pthread_mutex_lock(&r->mu);
  size_t i = h & (r->cap - 1);
  while (r->tab[i].h && r->tab[i].h != h)
    i = (i + 1) & (r->cap - 1);
  bucket *b = &r->tab[i];
  if (!b->h) {
    if (r->count >= r->max) {
      evict_oldest(r);
      i = h & (r->cap - 1);
      while (r->tab[i].h)
        i = (i + 1) & (r->cap - 1);
      b = &r->tab[i];
    }
    b->h = h;
    b->tokens = r->burst;
    b->last = now;
    r->count++;
  }
  double el = now - b->last;
  if (el > 0) {
    b->tokens += el * r->rate;
    if (b->tokens > r->burst)
      b->tokens = r->burst;
  }
  b->last = now;
  int wait = 0;
  if (b->tokens >= 1) {
    b->tokens -= 1;
  } else {
    double s = (1 - b->tokens) / r->rate;
    wait = (int)ceil(s);
    if (wait < 1)
      wait = 1;
  }
  pthread_mutex_unlock(&r->mu);
  return wait;
}
