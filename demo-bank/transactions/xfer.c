/*
 * xfer: money movement through the accounts service (see xfer.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "xfer.h"

#include <causeway.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bank_http.h"
#include "bank_svc.h"

static const char *accounts;

/* Scenario 5's client site, as anomalies group it. */
#define SLOW_SITE "transactions->accounts PATCH /accounts/:id/balance"

/* Circuit breaker (safe client): after BREAK_AFTER consecutive failures
 * the circuit opens for BREAK_MS and calls fail fast. Plain atomics: this
 * is the client's own bookkeeping. */
#define BREAK_AFTER 3
#define BREAK_MS 5000
static atomic_int failures;
static _Atomic int64_t open_until;

void xfer_init(const char *accounts_url) {
  accounts = accounts_url;
}

static void note_timeout(int64_t waited_ms) {
  cw_note_timeout(SLOW_SITE, (uint64_t)waited_ms * 1000000u);
}

static void note_retry(unsigned attempt) {
  cw_note_retry(SLOW_SITE, attempt);
}

static void fail(xfer_result *out, int status, const char *msg) {
  out->status = status;
  snprintf(out->error, sizeof out->error, "%s", msg);
}

/* Copies the reply of an accounts call into out. */
static void take(xfer_result *out, int st, json_t *reply) {
  out->status = st;
  if (st == 200) {
    out->user_id = json_integer_value(json_object_get(reply, "user_id"));
    out->balance = json_integer_value(json_object_get(reply, "balance"));
    out->error[0] = 0;
  } else if (st == BANK_CALL_TIMEOUT) {
    fail(out, 504, "accounts service timed out");
  } else if (st < 0) {
    fail(out, 502, "accounts service unreachable");
  } else {
    const char *e = json_string_value(json_object_get(reply, "error"));
    snprintf(out->error, sizeof out->error, "%s", e ? e : "accounts error");
  }
}

static int patch(int64_t id, json_t *body, long timeout_ms, json_t **reply) {
  char url[512];
  bank_url(url, sizeof url, accounts, "/accounts/%lld/balance", (long long)id);
  return bank_call("PATCH", url, body, reply, timeout_ms, NULL);
}

/* Scenario 5's two client policies around a slow PATCH. */
static void move_slow(int64_t id, json_t *body, const bank_knobs *k,
                      xfer_result *out) {
  int unsafe = k->unsafe;
  /* Unsafe: a short timeout and ten attempts, retried at once (a retry
   * storm); safe: a timeout longer than the slow query, three attempts. */
  int attempts = unsafe ? 10 : 3;
  long timeout = unsafe ? 200 : 3000;
  for (int a = 1; a <= attempts; a++) {
    if (!unsafe && atomic_load(&open_until) > bank_now_ms()) {
      fail(out, 503, "circuit open: accounts service is failing");
      return;
    }
    if (a > 1) {
      note_retry((unsigned)a - 1);
      if (!unsafe) { /* capped exponential backoff, full jitter */
        long cap = 100L << (a - 2);
        if (cap > 1000)
          cap = 1000;
        bank_sleep_ms(1 +
                      (long)(((uint64_t)rand() * 2654435761u) % (uint64_t)cap));
      }
    }
    out->attempts = a;
    json_t *reply = NULL;
    int64_t t0 = bank_now_ms();
    int st = patch(id, body, timeout, &reply);
    take(out, st, reply);
    json_decref(reply);
    if (st == BANK_CALL_TIMEOUT) {
      out->timeouts++;
      note_timeout(bank_now_ms() - t0);
    }
    if (st > 0 && st < 500) {
      atomic_store(&failures, 0);
      return;
    }
    if (!unsafe && atomic_fetch_add(&failures, 1) + 1 >= BREAK_AFTER)
      atomic_store(&open_until, bank_now_ms() + BREAK_MS);
  }
}

void xfer_move(int64_t id, int64_t delta, const bank_knobs *k, int atomic,
               int64_t slow_ms, xfer_result *out) {
  memset(out, 0, sizeof *out);
  json_t *body = json_pack("{s:I}", "delta", (json_int_t)delta);
  bank_knobs_put(body, k);
  if (atomic)
    json_object_set_new(body, "atomic", json_true());
  if (slow_ms > 0) {
    json_object_set_new(body, "slow_ms", json_integer(slow_ms));
    move_slow(id, body, k, out);
  } else {
    json_t *reply = NULL;
    out->attempts = 1;
    take(out, patch(id, body, 0, &reply), reply);
    json_decref(reply);
  }
  json_decref(body);
}

void xfer_deposit(int64_t id, int64_t amount, const bank_knobs *k,
                  xfer_result *out) {
  memset(out, 0, sizeof *out);
  out->attempts = 1;
  if (!k->unsafe) { /* the fix: one atomic statement */
    bank_knobs window = *k;
    bank_knobs_window(&window);
    bank_knobs plain = {0, 0, {0}, 0};
    xfer_move(id, amount, &plain, 1, 0, out);
    return;
  }
  /* The bug: read, compute here, write the result back. */
  char url[512];
  bank_url(url, sizeof url, accounts, "/accounts/%lld", (long long)id);
  json_t *acct = NULL;
  int st = bank_call("GET", url, NULL, &acct, 0, NULL);
  take(out, st, acct);
  json_decref(acct);
  if (st != 200)
    return;
  int64_t bal = out->balance + amount;
  bank_knobs_window(k); /* every deposit has read the old balance */
  json_t *body = json_pack("{s:I}", "balance", (json_int_t)bal);
  json_t *reply = NULL;
  take(out, patch(id, body, 0, &reply), reply);
  json_decref(reply);
  json_decref(body);
}

/* ---- Account locks held across requests ---------------------------------- */

static void lock_name(char *buf, size_t cap, int64_t id) {
  snprintf(buf, cap, "accounts-lock:%lld", (long long)id);
}

static int lock_one(int64_t id, const char *owner, long timeout_ms) {
  char url[512], name[64];
  lock_name(name, sizeof name, id);
  bank_url(url, sizeof url, accounts, "/accounts/%lld/lock", (long long)id);
  json_t *body = json_pack("{s:s,s:I}", "owner", owner, "timeout_ms",
                           (json_int_t)timeout_ms);
  cw_extlock_request(name);
  /* The lock service's protocol is not traced: the lock is recorded by the
   * four cw_extlock_* calls, as one would for a Redis or advisory lock. */
  int st = bank_call_untraced("POST", url, body, NULL, timeout_ms + 5000);
  json_decref(body);
  if (st == 200)
    cw_extlock_acquired(name);
  else
    cw_extlock_timeout(name);
  return st;
}

static void unlock_one(int64_t id, const char *owner) {
  char url[512], name[64];
  lock_name(name, sizeof name, id);
  bank_url(url, sizeof url, accounts, "/accounts/%lld/unlock", (long long)id);
  json_t *body = json_pack("{s:s}", "owner", owner);
  cw_extlock_released(name);
  bank_call_untraced("POST", url, body, NULL, 0);
  json_decref(body);
}

int xfer_lock_pair(int64_t first, int64_t second, const char *owner,
                   long timeout_ms, const bank_knobs *k, xfer_result *out) {
  memset(out, 0, sizeof *out);
  int st = lock_one(first, owner, timeout_ms);
  if (st != 200) {
    fail(out, st == 404 ? 404 : 409,
         st == 404 ? "unknown account" : "account lock wait timed out");
    return -1;
  }
  bank_knobs_window(k); /* both transfers hold their first lock */
  st = lock_one(second, owner, timeout_ms);
  if (st != 200) {
    if (k->barrier[0] && k->barrier_n >= 2) {
      /* The lab's barrier again: roll back only when every transfer of the
       * run has timed out, so none gets its second lock from another's
       * rollback a moment before its own deadline. */
      char name[80];
      snprintf(name, sizeof name, "%s-rollback", k->barrier);
      bank_barrier_wait(name, k->barrier_n, 10000);
    }
    unlock_one(first, owner);
    fail(out, st == 404 ? 404 : 409,
         st == 404 ? "unknown account"
                   : "account lock wait timed out: rolled back");
    return -1;
  }
  return 0;
}

void xfer_unlock_pair(int64_t first, int64_t second, const char *owner) {
  unlock_one(second, owner);
  unlock_one(first, owner);
}
