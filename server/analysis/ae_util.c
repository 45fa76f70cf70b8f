/*
 * ae_util.c: allocation wrappers and the (u64, u64) -> u32 open-addressing
 * hash map used by the engine's modules.
 */
#include "ae_internal.h"

#include <stdlib.h>
#include <string.h>

void *cw__ae_alloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p)
    abort();
  return p;
}

void *cw__ae_calloc(size_t n, size_t sz) {
  void *p = calloc(n ? n : 1, sz ? sz : 1);
  if (!p)
    abort();
  return p;
}

void *cw__ae_realloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q)
    abort();
  return q;
}

void cw__ae_index(void *pp, uint32_t *cap, uint32_t i, size_t sz) {
  if (i < *cap)
    return;
  void *p; /* *pp is some T *: read and written as bytes */
  memcpy(&p, pp, sizeof(p));
  uint32_t old = *cap, nc = old ? old : 16;
  while (nc <= i)
    nc *= 2;
  p = cw__ae_realloc(p, (size_t)nc * sz);
  memset((char *)p + (size_t)old * sz, 0, (size_t)(nc - old) * sz);
  memcpy(pp, &p, sizeof(p));
  *cap = nc;
}

void cw__ae_free(void *p) {
  free(p);
}

uint64_t cw__hash_bytes(const void *p, size_t n) {
  const unsigned char *s = p;
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) {
    h ^= s[i];
    h *= 1099511628211ull;
  }
  return h;
}

static uint64_t mix(uint64_t a, uint64_t b) {
  uint64_t h = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull);
  h ^= h >> 32;
  h *= 0xD6E8FEB86659FD93ull;
  h ^= h >> 29;
  return h;
}

uint32_t *cw__map_get(const ae_map *m, uint64_t a, uint64_t b) {
  if (!m->cap)
    return NULL;
  size_t mask = m->cap - 1;
  for (size_t i = mix(a, b) & mask;; i = (i + 1) & mask) {
    if (!m->val[i])
      return NULL;
    if (m->ka[i] == a && m->kb[i] == b)
      return &m->val[i];
  }
}

static void map_grow(ae_map *m) {
  ae_map g = {0};
  g.cap = m->cap ? m->cap * 2 : 64;
  g.ka = cw__ae_alloc(g.cap * sizeof(*g.ka));
  g.kb = cw__ae_alloc(g.cap * sizeof(*g.kb));
  g.val = cw__ae_calloc(g.cap, sizeof(*g.val));
  size_t mask = g.cap - 1;
  for (size_t i = 0; i < m->cap; i++) {
    if (!m->val[i])
      continue;
    size_t j = mix(m->ka[i], m->kb[i]) & mask;
    while (g.val[j])
      j = (j + 1) & mask;
    g.ka[j] = m->ka[i];
    g.kb[j] = m->kb[i];
    g.val[j] = m->val[i];
  }
  g.n = m->n;
  cw__map_free(m);
  *m = g;
}

int cw__map_put(ae_map *m, uint64_t a, uint64_t b, uint32_t v, uint32_t *out) {
  if ((m->n + 1) * 4 > m->cap * 3)
    map_grow(m);
  size_t mask = m->cap - 1;
  size_t i = mix(a, b) & mask;
  for (; m->val[i]; i = (i + 1) & mask) {
    if (m->ka[i] == a && m->kb[i] == b) {
      if (out)
        *out = m->val[i] - 1;
      return 0;
    }
  }
  m->ka[i] = a;
  m->kb[i] = b;
  m->val[i] = v + 1;
  m->n++;
  if (out)
    *out = v;
  return 1;
}

void cw__map_del(ae_map *m, uint64_t a, uint64_t b) {
  uint32_t *p = cw__map_get(m, a, b);
  if (!p)
    return;
  size_t mask = m->cap - 1, i = (size_t)(p - m->val);
  /* Backward-shift deletion: pull later members of the probe run into the
   * hole when their home slot does not lie cyclically in (i, j]. */
  for (size_t j = (i + 1) & mask; m->val[j]; j = (j + 1) & mask) {
    size_t h = mix(m->ka[j], m->kb[j]) & mask;
    int stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
    if (stays)
      continue;
    m->ka[i] = m->ka[j];
    m->kb[i] = m->kb[j];
    m->val[i] = m->val[j];
    i = j;
  }
  m->val[i] = 0;
  m->n--;
}

void cw__map_free(ae_map *m) {
  cw__ae_free(m->ka);
  cw__ae_free(m->kb);
  cw__ae_free(m->val);
  memset(m, 0, sizeof(*m));
}
