/*
 * auth: API-key checks. A request carries its key as
 * "Authorization: Bearer KEY" or "X-Causeway-Key: KEY"; keys are compared in
 * constant time (no early exit on the first differing byte, and every
 * configured key is compared).
 */
#ifndef CW_AUTH_H
#define CW_AUTH_H

#include <stddef.h>

/* Extracts the presented key from the two headers (either may be NULL).
 * @return the key (borrowed from the header) and its length in *len, or
 * NULL when none is presented. */
const char *cw__auth_presented(const char *authorization,
                               const char *x_causeway_key, size_t *len);

/* @return the index of the matching key, or -1. Constant time in the
 * content of the keys. */
int cw__auth_match(const char (*keys)[256], size_t nkeys, const char *key,
                   size_t len);

#endif /* CW_AUTH_H */
