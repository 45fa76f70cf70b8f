/*
 * ratelimit: token buckets per client (API key or address). Each request
 * takes one token; a bucket refills at `rate` tokens per second up to
 * `burst`.
 *
 * Thread-safety: thread-safe.
 */
#ifndef CW_RATELIMIT_H
#define CW_RATELIMIT_H

#include <stddef.h>

typedef struct cw_ratelimit cw_ratelimit;

/* new: rate <= 0 disables limiting. At most max_clients buckets are kept;
 * a new client beyond that evicts the least recently seen one. */
cw_ratelimit *cw__ratelimit_new(double rate, double burst, size_t max_clients);
void cw__ratelimit_free(cw_ratelimit *r);

/* Takes a token for `client`. @return 0 when allowed, otherwise the number
 * of whole seconds after which a token is available (>= 1). */
int cw__ratelimit_take(cw_ratelimit *r, const char *client, size_t len,
                       double now_s);

#endif /* CW_RATELIMIT_H */
