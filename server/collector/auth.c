/*
 * auth: API-key extraction and constant-time comparison.
 */
#define _POSIX_C_SOURCE 200809L
#include "auth.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

const char *cw__auth_presented(const char *authorization,
                               const char *x_causeway_key, size_t *len) {
  if (x_causeway_key && *x_causeway_key) {
    *len = strlen(x_causeway_key);
    return x_causeway_key;
  }
  if (authorization && !strncasecmp(authorization, "Bearer ", 7)) {
    const char *k = authorization + 7;
    while (*k == ' ')
      k++;
    size_t n = strlen(k);
    while (n && k[n - 1] == ' ')
      n--;
    if (n) {
      *len = n;
      return k;
    }
  }
  *len = 0;
  return NULL;
}

/* Compares a presented key with one configured key without data-dependent
 * branches: always walks the full 256-byte slot. */
static unsigned diff_one(const char *slot, const char *key, size_t len) {
  unsigned d = 0;
  size_t klen = strnlen(slot, 256);
  d |= (unsigned)(klen ^ len);
  for (size_t i = 0; i < 256; i++) {
    unsigned char a = (unsigned char)slot[i];
    unsigned char b = i < len ? (unsigned char)key[i] : 0;
    d |= (unsigned)(a ^ b);
  }
  return d;
}

int cw__auth_match(const char (*keys)[256], size_t nkeys, const char *key,
                   size_t len) {
  int found = -1;
  if (len >= 256)
    len = 256; /* cannot match: no key is that long, and klen differs */
  for (size_t i = 0; i < nkeys; i++) {
    unsigned d = diff_one(keys[i], key, len);
    /* Branch-free select of the first match. */
    unsigned is_match = (unsigned)((d | (0u - d)) >> (sizeof d * 8 - 1)) ^ 1u;
    int take = (int)(is_match & (found < 0));
    found = take ? (int)i : found;
  }
  return found;
}
