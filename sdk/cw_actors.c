/*
 * cw_actors.c: the actor table. Every actor (thread, task, or a remote
 * actor named in a received clock) owns one slot while it is live or
 * inside the race window.
 *
 * DESIGN. Slots are allocated from a FIFO free queue under one internal
 * mutex (actor creation is not on the event hot path), so a freed slot is
 * reused as late as possible. Retiring a slot (drain thread only) bumps
 * its generation with a release store: every clock entry naming the old
 * generation becomes stale at once and is pruned when next touched.
 * Remote actors are found by their full name, and local ones (threads,
 * tasks) by their local name, through two chained hashes over the slots,
 * so that a received clock naming one of this process's own actors maps
 * to that actor instead of a remote twin.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>

#include "cw_format.h"
#include "cw_internal.h"

int cw__actab_init(cw_actab *t, uint32_t cap) {
  memset(t, 0, sizeof(*t));
  CW_CHECK(pthread_mutex_init(&t->mu, NULL));
  t->slots = cw__calloc(cap, sizeof(*t->slots));
  t->freeq = cw__calloc(cap, sizeof(*t->freeq));
  t->gens = cw__calloc(cap, sizeof(*t->gens));
  t->nbuckets = 1;
  while (t->nbuckets < cap)
    t->nbuckets *= 2;
  t->buckets = cw__calloc(t->nbuckets, sizeof(*t->buckets));
  t->lbuckets = cw__calloc(t->nbuckets, sizeof(*t->lbuckets));
  if (!t->slots || !t->freeq || !t->buckets || !t->lbuckets || !t->gens) {
    cw__actab_free(t);
    return -1;
  }
  t->cap = cap;
  t->view = (cw_gens){t->gens, cap};
  for (uint32_t i = 0; i < cap; i++) {
    atomic_init(&t->gens[i], 1);
    t->freeq[i] = i;
  }
  t->fcount = cap;
  return 0;
}

void cw__actab_free(cw_actab *t) {
  cw__free(t->slots);
  cw__free(t->freeq);
  cw__free(t->buckets);
  cw__free(t->lbuckets);
  cw__free(t->gens);
  t->gens = NULL;
  t->slots = NULL;
  t->freeq = t->buckets = t->lbuckets = NULL;
  pthread_mutex_destroy(&t->mu);
}

static uint32_t *lbucket(cw_actab *t, const char *name, size_t len) {
  return &t->lbuckets[cw__hash_bytes(name, len) & (t->nbuckets - 1)];
}

/* Links / unlinks a local slot in the local-name hash (t->mu held). */
static void local_link(cw_actab *t, uint32_t slot) {
  cw_aslot *a = &t->slots[slot];
  uint32_t *b = lbucket(t, a->name, strlen(a->name));
  a->lnext = *b;
  *b = slot + 1;
}

static void local_unlink(cw_actab *t, uint32_t slot) {
  cw_aslot *a = &t->slots[slot];
  uint32_t *p = lbucket(t, a->name, strlen(a->name));
  while (*p && *p != slot + 1)
    p = &t->slots[*p - 1].lnext;
  if (*p)
    *p = a->lnext;
  a->lnext = 0;
}

/* Called with t->mu held. */
static int alloc_locked(cw_actab *t, uint32_t kind, const char *name,
                        size_t len, uint32_t *slot, uint32_t *gen) {
  if (t->fcount == 0)
    return -1;
  uint32_t s = t->freeq[t->fhead];
  t->fhead = (t->fhead + 1) % t->cap;
  t->fcount--;
  cw_aslot *a = &t->slots[s];
  a->kind = kind;
  a->birth = ++t->births;
  a->hnext = 0;
  if (len >= sizeof(a->name))
    len = sizeof(a->name) - 1;
  memcpy(a->name, name, len);
  a->name[len] = 0;
  if (kind != CW_ACTOR_REMOTE)
    local_link(t, s);
  t->live++;
  *slot = s;
  *gen = cw_load_relaxed(&t->gens[s]);
  return 0;
}

int cw__actab_alloc(cw_actab *t, uint32_t kind, const char *name,
                    uint32_t *slot, uint32_t *gen) {
  CW_CHECK(pthread_mutex_lock(&t->mu));
  int rc = alloc_locked(t, kind, name, strlen(name), slot, gen);
  CW_CHECK(pthread_mutex_unlock(&t->mu));
  return rc;
}

int cw__actab_remote(cw_actab *t, const char *name, size_t len, uint32_t *slot,
                     uint32_t *gen) {
  uint32_t b = (uint32_t)(cw__hash_bytes(name, len) & (t->nbuckets - 1));
  int rc = 0;
  CW_CHECK(pthread_mutex_lock(&t->mu));
  for (uint32_t i = t->buckets[b]; i; i = t->slots[i - 1].hnext) {
    cw_aslot *a = &t->slots[i - 1];
    if (strlen(a->name) == len && memcmp(a->name, name, len) == 0) {
      *slot = i - 1;
      *gen = cw_load_relaxed(&t->gens[i - 1]);
      goto out;
    }
  }
  rc = alloc_locked(t, CW_ACTOR_REMOTE, name, len, slot, gen);
  if (rc == 0) {
    t->slots[*slot].hnext = t->buckets[b];
    t->buckets[b] = *slot + 1;
  }
out:
  CW_CHECK(pthread_mutex_unlock(&t->mu));
  return rc;
}

int cw__actab_local(cw_actab *t, const char *name, size_t len, uint32_t *slot,
                    uint32_t *gen) {
  int rc = -1;
  uint64_t best = 0;
  CW_CHECK(pthread_mutex_lock(&t->mu));
  for (uint32_t i = *lbucket(t, name, len); i; i = t->slots[i - 1].lnext) {
    const cw_aslot *a = &t->slots[i - 1];
    if (a->birth > best && strlen(a->name) == len &&
        memcmp(a->name, name, len) == 0) {
      best = a->birth;
      *slot = i - 1;
      *gen = cw_load_relaxed(&t->gens[i - 1]);
      rc = 0;
    }
  }
  CW_CHECK(pthread_mutex_unlock(&t->mu));
  return rc;
}

void cw__actab_rename(cw_actab *t, uint32_t slot, const char *name) {
  CW_CHECK(pthread_mutex_lock(&t->mu));
  cw_aslot *a = &t->slots[slot];
  local_unlink(t, slot);
  snprintf(a->name, sizeof(a->name), "%s", name);
  local_link(t, slot);
  CW_CHECK(pthread_mutex_unlock(&t->mu));
}

void cw__actab_retire(cw_actab *t, uint32_t slot, uint32_t gen) {
  CW_CHECK(pthread_mutex_lock(&t->mu));
  cw_aslot *a = &t->slots[slot];
  if (cw_load_relaxed(&t->gens[slot]) == gen) {
    if (a->kind == CW_ACTOR_REMOTE) {
      uint32_t b = (uint32_t)(cw__hash_bytes(a->name, strlen(a->name)) &
                              (t->nbuckets - 1));
      uint32_t *p = &t->buckets[b];
      while (*p && *p != slot + 1)
        p = &t->slots[*p - 1].hnext;
      if (*p)
        *p = a->hnext;
    } else {
      local_unlink(t, slot);
    }
    cw_store_release(&t->gens[slot], gen + 1);
    a->kind = CW_SLOT_FREE;
    t->freeq[(t->fhead + t->fcount) % t->cap] = slot;
    t->fcount++;
    t->live--;
  }
  CW_CHECK(pthread_mutex_unlock(&t->mu));
}

size_t cw__actor_fullname(cw_sess *s, uint32_t slot, uint32_t gen, char *buf,
                          size_t cap) {
  if (!cw__slot_valid(&s->actors, slot, gen))
    return 0;
  const cw_aslot *a = &s->actors.slots[slot];
  if (cap == 0)
    return 0;
  /* Two copies, not snprintf: clock encoding names up to 64 actors. */
  size_t pl = a->kind == CW_ACTOR_REMOTE ? 0 : s->prefix_len;
  size_t nl = strnlen(a->name, sizeof(a->name));
  size_t n = 0;
  size_t k = pl < cap - 1 ? pl : cap - 1;
  memcpy(buf, s->prefix, k);
  n = k;
  k = nl < cap - 1 - n ? nl : cap - 1 - n;
  memcpy(buf + n, a->name, k);
  n += k;
  buf[n] = 0;
  return n;
}
