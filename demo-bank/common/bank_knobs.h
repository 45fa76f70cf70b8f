/*
 * bank_knobs: the race lab's knobs as a request carries them, the barrier
 * that releases N requests together, and strict parsing of request fields
 * (amounts, ids, strings) with clear error messages.
 *
 * A scenario request may carry:
 *   "mode": "safe" | "unsafe"   which code path runs (default "safe")
 *   "delay_ms": 0..10000        a debug delay inside the race window
 *   "barrier": "NAME", "barrier_n": 2..64
 *                               wait (at most 10 s) until barrier_n requests
 *                               reach the point named NAME, then all go on
 *
 * The barrier and the delay are the lab's harness, like a sleep in a test:
 * they are deliberately not traced (plain pthread calls), because they are
 * not part of the bank's synchronisation and must not hide its bugs.
 */
#ifndef BANK_KNOBS_H
#define BANK_KNOBS_H

#include <jansson.h>
#include <stdint.h>

typedef struct bank_knobs {
  int unsafe;
  int delay_ms;
  char barrier[64];
  int barrier_n;
} bank_knobs;

/* Reads the knobs from a request body. @return NULL, or a static error
 * message for a bad value. */
const char *bank_knobs_parse(json_t *body, bank_knobs *k);
/* Adds the knobs to an outgoing body (so the next service applies them). */
void bank_knobs_put(json_t *body, const bank_knobs *k);

/* Waits at the knob's barrier (if any), then sleeps its delay.
 * @return the number of requests that arrived together (1 without a
 * barrier; fewer than barrier_n after the 10 s timeout). */
int bank_knobs_window(const bank_knobs *k);
/* Waits at barrier `name` for n arrivals (timeout_ms at most). The first n
 * arrivals leave together; later arrivals pass at once. */
int bank_barrier_wait(const char *name, int n, long timeout_ms);

/* Strict field readers: each returns NULL, or a static error message.
 * An amount is a JSON integer in 1..1e12 (cents). */
const char *bank_get_amount(json_t *body, const char *field, int64_t *out);
/* A JSON integer >= 1. */
const char *bank_get_id(json_t *body, const char *field, int64_t *out);
/* A JSON integer in [lo, hi]; absent gives def. */
const char *bank_get_int_opt(json_t *body, const char *field, int64_t lo,
                             int64_t hi, int64_t def, int64_t *out);
/* A non-empty JSON string of at most max bytes. */
const char *bank_get_str(json_t *body, const char *field, size_t max,
                         const char **out);

/* Largest amount and balance, in cents. */
#define BANK_AMOUNT_MAX 1000000000000LL
#define BANK_BALANCE_MAX 1000000000000000LL

#endif /* BANK_KNOBS_H */
