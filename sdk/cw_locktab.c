/*
 * cw_locktab.c: per-lock and per-annotation-key synchronisation state.
 *
 * DESIGN. A chained hash table under one internal mutex maps a lock
 * address (or an annotation key string) to its cw_lockst, created on first
 * use. States are never freed before shutdown: cw_lock_forget() unlinks a
 * state into a graveyard and bumps the session's lock epoch, which
 * invalidates the per-thread lookup caches (cw_locks.c), so the hot path
 * reaches this table only on a cache miss. The table doubles when its load
 * passes 1.
 */
#define _POSIX_C_SOURCE 200809L

#include <string.h>

#include "cw_internal.h"

static uint64_t hash_ptr(const void *p) {
  uint64_t x = (uint64_t)(uintptr_t)p;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return x;
}

int cw__locktab_init(cw_locktab *t) {
  memset(t, 0, sizeof(*t));
  CW_CHECK(pthread_mutex_init(&t->mu, NULL));
  t->nbuckets = 256;
  t->buckets = cw__calloc(t->nbuckets, sizeof(*t->buckets));
  return t->buckets ? 0 : -1;
}

static void free_state(cw_lockst *ls) {
  cw__vc_free(&ls->clock);
  cw__vc_free(&ls->rclock);
  cw__free(atomic_load(&ls->name));
  cw__free(ls);
}

void cw__locktab_free(cw_locktab *t) {
  for (uint32_t i = 0; t->buckets && i < t->nbuckets; i++) {
    cw_lockst *ls = t->buckets[i];
    while (ls) {
      cw_lockst *next = ls->next;
      free_state(ls);
      ls = next;
    }
  }
  while (t->graveyard) {
    cw_lockst *next = t->graveyard->next;
    free_state(t->graveyard);
    t->graveyard = next;
  }
  for (uint32_t i = 0; i < t->noldnames; i++)
    cw__free(t->oldnames[i]);
  cw__free(t->oldnames);
  cw__free(t->buckets);
  t->buckets = NULL;
  pthread_mutex_destroy(&t->mu);
}

static void grow(cw_locktab *t) {
  uint32_t nb = t->nbuckets * 2;
  cw_lockst **b = cw__calloc(nb, sizeof(*b));
  if (!b)
    return; /* keep the longer chains */
  for (uint32_t i = 0; i < t->nbuckets; i++) {
    cw_lockst *ls = t->buckets[i];
    while (ls) {
      cw_lockst *next = ls->next;
      uint32_t k = (uint32_t)(ls->hash & (nb - 1));
      ls->next = b[k];
      b[k] = ls;
      ls = next;
    }
  }
  cw__free(t->buckets);
  t->buckets = b;
  t->nbuckets = nb;
}

static cw_lockst *insert(cw_locktab *t, uint64_t h, void *addr, uint32_t kind,
                         const char *key, size_t len) {
  cw_lockst *ls = cw__calloc(1, sizeof(*ls));
  if (!ls)
    return NULL;
  char *name = NULL;
  if (key && !(name = cw__strndup(key, len))) {
    cw__free(ls);
    return NULL;
  }
  ls->addr = addr;
  atomic_init(&ls->kind, kind);
  ls->hash = h;
  atomic_init(&ls->name, name);
  atomic_flag_clear(&ls->spin.f);
  ls->own_slot = UINT32_MAX;
  if (t->count >= t->nbuckets)
    grow(t);
  uint32_t k = (uint32_t)(h & (t->nbuckets - 1));
  ls->next = t->buckets[k];
  t->buckets[k] = ls;
  t->count++;
  return ls;
}

cw_lockst *cw__locktab_addr(cw_locktab *t, void *addr, uint32_t kind) {
  uint64_t h = hash_ptr(addr);
  CW_CHECK(pthread_mutex_lock(&t->mu));
  cw_lockst *ls = t->buckets[h & (t->nbuckets - 1)];
  while (ls && ls->addr != addr)
    ls = ls->next;
  if (!ls)
    ls = insert(t, h, addr, kind, NULL, 0);
  CW_CHECK(pthread_mutex_unlock(&t->mu));
  return ls;
}

cw_lockst *cw__locktab_key(cw_locktab *t, const char *key, size_t len) {
  uint64_t h = cw__hash_bytes(key, len);
  CW_CHECK(pthread_mutex_lock(&t->mu));
  cw_lockst *ls = t->buckets[h & (t->nbuckets - 1)];
  while (ls) {
    const char *n = atomic_load_explicit(&ls->name, memory_order_relaxed);
    if (ls->hash == h && strlen(n) == len && memcmp(n, key, len) == 0)
      break;
    ls = ls->next;
  }
  if (!ls)
    ls = insert(t, h, NULL, CW_OBJ_KEY, key, len);
  CW_CHECK(pthread_mutex_unlock(&t->mu));
  return ls;
}

int cw__locktab_forget(cw_locktab *t, void *addr) {
  uint64_t h = hash_ptr(addr);
  int found = 0;
  CW_CHECK(pthread_mutex_lock(&t->mu));
  cw_lockst **p = &t->buckets[h & (t->nbuckets - 1)];
  while (*p && (*p)->addr != addr)
    p = &(*p)->next;
  if (*p) {
    cw_lockst *ls = *p;
    *p = ls->next;
    ls->next = t->graveyard;
    t->graveyard = ls;
    t->count--;
    found = 1;
  }
  CW_CHECK(pthread_mutex_unlock(&t->mu));
  return found;
}

int cw__locktab_rename(cw_locktab *t, cw_lockst *ls, const char *name) {
  char *n = NULL;
  if (name && !(n = cw__strndup(name, CW_KEY_MAX)))
    return -1;
  int rc = 0;
  CW_CHECK(pthread_mutex_lock(&t->mu));
  /* The drain may be reading the old name: keep it until shutdown. */
  if (t->noldnames == t->capoldnames) {
    uint32_t cap = t->capoldnames ? t->capoldnames * 2 : 8;
    char **o = cw__realloc(t->oldnames, cap * sizeof(*o));
    if (!o) {
      rc = -1;
      goto out;
    }
    t->oldnames = o;
    t->capoldnames = cap;
  }
  char *old = atomic_exchange(&ls->name, n);
  if (old)
    t->oldnames[t->noldnames++] = old;
  n = NULL;
out:
  CW_CHECK(pthread_mutex_unlock(&t->mu));
  cw__free(n);
  return rc;
}
