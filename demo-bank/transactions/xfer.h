/*
 * xfer: how the transactions service moves money through the accounts
 * service: debits and credits (PATCH /accounts/:id/balance), the
 * read-compute-write deposit, account locks held across requests, and the
 * client policies of scenario 5 (retry at once vs capped exponential
 * backoff with jitter and a circuit breaker).
 *
 * Thread-safety: every function may run on any request thread.
 */
#ifndef XFER_H
#define XFER_H

#include <jansson.h>
#include <stdint.h>

#include "bank_knobs.h"

/* The outcome of one step: the HTTP status to report and a message. */
typedef struct xfer_result {
  int status; /* 200 on success */
  char error[128];
  int64_t user_id; /* the account's owner, when known */
  int64_t balance; /* the balance the accounts service reported */
  int attempts, timeouts;
} xfer_result;

void xfer_init(const char *accounts_url);

/* Moves `delta` cents on account `id` (negative: a debit with an
 * overdraft check). mode: k->unsafe selects the unsafe read-check-write,
 * atomic the single-statement update, else the row-locked transaction.
 * slow_ms > 0 runs scenario 5's slow query, with k->unsafe choosing the
 * client policy too. */
void xfer_move(int64_t id, int64_t delta, const bank_knobs *k, int atomic,
               int64_t slow_ms, xfer_result *out);

/* Scenario 3: GET the balance, add amount, PATCH the result back
 * (unsafe), or one atomic delta (safe). */
void xfer_deposit(int64_t id, int64_t amount, const bank_knobs *k,
                  xfer_result *out);

/* Takes account locks held across requests, recorded with cw_extlock_*.
 * Locks `first` then `second` (the caller chooses the order); waits at the
 * knob barrier after the first. On a timeout, releases what it holds.
 * @return 0 when both are held, else fills out (409 lock timeout). */
int xfer_lock_pair(int64_t first, int64_t second, const char *owner,
                   long timeout_ms, const bank_knobs *k, xfer_result *out);
/* Releases both locks (in reverse order). */
void xfer_unlock_pair(int64_t first, int64_t second, const char *owner);

#endif /* XFER_H */
