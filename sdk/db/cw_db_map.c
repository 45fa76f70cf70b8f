/*
 * cw_db_map: a bounded, mutex-protected map from an address (a connection
 * or statement handle) to the wrapper state the database glue keeps for
 * it. The mutex is a raw pthread one: the SDK never traces its own locks.
 */
#define _POSIX_C_SOURCE 200809L
#include "cw_db_int.h"

#include <pthread.h>
#include <stdlib.h>

#define NBUCKETS 4096u
#define MAX_ENTRIES ((size_t)1 << 20)

typedef struct node {
  struct node *next;
  const void *key;
  void *value;
} node;

struct cw__pmap {
  pthread_mutex_t mu;
  size_t n;
  node *b[NBUCKETS];
};

static cw__pmap conns = {PTHREAD_MUTEX_INITIALIZER, 0, {0}};
static cw__pmap stmts = {PTHREAD_MUTEX_INITIALIZER, 0, {0}};

cw__pmap *cw__db_conns(void) {
  return &conns;
}

cw__pmap *cw__db_stmts(void) {
  return &stmts;
}

static size_t slot(const void *key) {
  uint64_t h = (uint64_t)(uintptr_t)key;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return (size_t)(h % NBUCKETS);
}

static void lock(cw__pmap *m) {
  if (pthread_mutex_lock(&m->mu) != 0)
    abort();
}

static void unlock(cw__pmap *m) {
  if (pthread_mutex_unlock(&m->mu) != 0)
    abort();
}

void *cw__pmap_get(cw__pmap *m, const void *key) {
  void *v = NULL;
  lock(m);
  for (node *n = m->b[slot(key)]; n; n = n->next)
    if (n->key == key) {
      v = n->value;
      break;
    }
  unlock(m);
  return v;
}

int cw__pmap_put(cw__pmap *m, const void *key, void *value) {
  node *n = malloc(sizeof *n);
  if (!n)
    return -1;
  n->key = key;
  n->value = value;
  lock(m);
  if (m->n >= MAX_ENTRIES) {
    unlock(m);
    free(n);
    return -1;
  }
  size_t s = slot(key);
  n->next = m->b[s];
  m->b[s] = n;
  m->n++;
  unlock(m);
  return 0;
}

void *cw__pmap_take(cw__pmap *m, const void *key) {
  void *v = NULL;
  node *found = NULL;
  lock(m);
  for (node **p = &m->b[slot(key)]; *p; p = &(*p)->next)
    if ((*p)->key == key) {
      found = *p;
      *p = found->next;
      m->n--;
      v = found->value;
      break;
    }
  unlock(m);
  free(found);
  return v;
}
