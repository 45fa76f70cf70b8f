/*
 * scenarios: the six concurrency scenarios, each in unsafe and safe mode.
 * Each function creates fresh accounts or users, sends the scenario's
 * concurrent requests, measures the symptom, and says which summary keys
 * must grow and which must not, and which names its findings carry.
 * docs/demo-bank.md explains every one.
 */
#define _POSIX_C_SOURCE 200809L
#include <causeway.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bank_svc.h"
#include "runner_int.h"

/* The summary keys no run may grow unless it expects them. */
static void clean_except(run_ctx *c, const char *a, const char *b) {
  const char *all[] = {"racy_variables", "potential_deadlocks", "deadlocks"};
  for (size_t i = 0; i < 3; i++) {
    int skip = c->unsafe &&
               ((a && strcmp(all[i], a) == 0) || (b && strcmp(all[i], b) == 0));
    if (!skip)
      run_add(c->clean, "%s", all[i]);
  }
}

/* ---- 1: concurrent transfers ----------------------------------------------
 */

typedef struct transfers {
  int64_t from, to, amount;
  int lock_accounts;
  int64_t slow_ms;
  int status[8], timeouts[8], attempts[8];
} transfers;

static void one_transfer(run_ctx *c, int i, void *arg) {
  transfers *t = arg;
  char key[96];
  snprintf(key, sizeof key, "%s-t%d", c->tag, i);
  int reverse = t->lock_accounts && i % 2 == 1; /* scenario 2: B -> A */
  json_t *b = json_pack("{s:I,s:I,s:I,s:s}", "from",
                        (json_int_t)(reverse ? t->to : t->from), "to",
                        (json_int_t)(reverse ? t->from : t->to), "amount",
                        (json_int_t)t->amount, "idempotency_key", key);
  if (t->lock_accounts) {
    json_object_set_new(b, "lock_accounts", json_true());
    json_object_set_new(b, "lock_timeout_ms", json_integer(3000));
  }
  if (t->slow_ms)
    json_object_set_new(b, "slow_ms", json_integer(t->slow_ms));
  run_knobs(c, b, "transfer", t->lock_accounts ? 2 : t->slow_ms ? 0 : 5);
  if (t->lock_accounts && c->unsafe &&
      json_integer_value(json_object_get(b, "delay_ms")) < 500)
    /* Both transfers hold their first lock 500 ms before asking for the
     * second. The SDK writes each thread's events in turn, so without a
     * pause the collector may analyse one transfer's second request before
     * the other's first grant and not see the wait (docs/demo-bank.md). */
    json_object_set_new(b, "delay_ms", json_integer(500));
  json_t *reply = NULL;
  t->status[i] = run_call("POST", c->cfg->transactions,
                          "/transactions/transfer", b, &reply);
  t->timeouts[i] = (int)json_integer_value(json_object_get(reply, "timeouts"));
  t->attempts[i] = (int)json_integer_value(json_object_get(reply, "attempts"));
  json_decref(reply);
  json_decref(b);
}

static int s1_transfers(run_ctx *c) {
  transfers t;
  memset(&t, 0, sizeof t);
  int64_t start = 100000;
  t.from = run_new_account(c, 900000 + c->id, start);
  t.to = run_new_account(c, 900000 + c->id, 0);
  if (!t.from || !t.to)
    return -1;
  t.amount = start * 8 / 10;
  run_parallel(c, 5, one_transfer, &t, NULL, NULL);
  int ok = 0;
  for (int i = 0; i < 5; i++)
    ok += t.status[i] == 200;
  int64_t fin = run_balance(c, t.from);
  c->symptom = json_pack("{s:i,s:i,s:i,s:I,s:I,s:I,s:I}", "transfers", 5,
                         "succeeded", ok, "refused", 5 - ok, "start_balance",
                         (json_int_t)start, "amount_each", (json_int_t)t.amount,
                         "final_balance", (json_int_t)fin, "recipient_balance",
                         (json_int_t)run_balance(c, t.to));
  c->shown = ok != 1 || fin < 0;
  snprintf(c->text, sizeof c->text,
           "%d of 5 transfers succeeded, balance %s%lld.%02lld", ok,
           fin < 0 ? "-" : "", (long long)(llabs(fin) / 100),
           (long long)(llabs(fin) % 100));
  if (c->unsafe)
    run_add(c->expected, "racy_variables");
  clean_except(c, "racy_variables", NULL);
  run_add(c->races, "accounts:%lld.balance", (long long)t.from);
  return 0;
}

/* ---- 2: circular transfers (deadlock) -------------------------------------
 */

/* While both transfers are blocked: does the collector show the deadlock
 * as active right now? */
static void s2_during(run_ctx *c, void *arg) {
  transfers *t = arg;
  bank_sleep_ms(1200);
  run_flush_all(c->cfg);
  json_t *d = run_collector(c->cfg, "/v1/deadlocks?active=1&sync=1");
  json_t *items = json_object_get(d, "items");
  char a[64], b[64];
  snprintf(a, sizeof a, "accounts-lock:%lld", (long long)t->from);
  snprintf(b, sizeof b, "accounts-lock:%lld", (long long)t->to);
  size_t i;
  json_t *it;
  json_array_foreach(items, i, it) {
    char *s = json_dumps(it, JSON_COMPACT);
    if (s && strstr(s, a) && strstr(s, b))
      json_array_append(c->live, it);
    free(s);
  }
  json_decref(d);
}

static int s2_circular(run_ctx *c) {
  transfers t;
  memset(&t, 0, sizeof t);
  t.from = run_new_account(c, 900000 + c->id, 10000);
  t.to = run_new_account(c, 900000 + c->id, 10000);
  if (!t.from || !t.to)
    return -1;
  t.amount = 1000;
  t.lock_accounts = 1;
  int64_t t0 = bank_now_ms();
  run_parallel(c, 2, one_transfer, &t, s2_during, &t);
  int ok = (t.status[0] == 200) + (t.status[1] == 200);
  int timed_out = (t.status[0] == 409) + (t.status[1] == 409);
  c->symptom = json_pack("{s:i,s:i,s:i,s:I,s:b,s:I,s:I}", "transfers", 2,
                         "succeeded", ok, "lock_timeouts", timed_out,
                         "elapsed_ms", (json_int_t)(bank_now_ms() - t0),
                         "deadlock_seen_live", json_array_size(c->live) > 0,
                         "balance_a", (json_int_t)run_balance(c, t.from),
                         "balance_b", (json_int_t)run_balance(c, t.to));
  c->shown = ok < 2;
  snprintf(c->text, sizeof c->text, "%d of 2 succeeded, %d lock timeouts%s", ok,
           timed_out, json_array_size(c->live) ? ", deadlock seen live" : "");
  if (c->unsafe) {
    run_add(c->expected, "deadlocks");
    run_add(c->expected, "potential_deadlocks");
  }
  clean_except(c, "deadlocks", "potential_deadlocks");
  run_add(c->locks, "accounts-lock:%lld", (long long)t.from);
  run_add(c->locks, "accounts-lock:%lld", (long long)t.to);
  return 0;
}

/* ---- 3: lost updates -------------------------------------------------------
 */

typedef struct deposits {
  int64_t account, amount;
  int status[8];
} deposits;

static void one_deposit(run_ctx *c, int i, void *arg) {
  deposits *d = arg;
  char key[96];
  snprintf(key, sizeof key, "%s-d%d", c->tag, i);
  json_t *b =
      json_pack("{s:I,s:I,s:s}", "account", (json_int_t)d->account, "amount",
                (json_int_t)d->amount, "idempotency_key", key);
  run_knobs(c, b, "deposit", 5);
  d->status[i] =
      run_call("POST", c->cfg->transactions, "/transactions/deposit", b, NULL);
  json_decref(b);
}

static int s3_lost_update(run_ctx *c) {
  deposits d;
  memset(&d, 0, sizeof d);
  d.account = run_new_account(c, 900000 + c->id, 0);
  if (!d.account)
    return -1;
  d.amount = 1000;
  run_parallel(c, 5, one_deposit, &d, NULL, NULL);
  int ok = 0;
  for (int i = 0; i < 5; i++)
    ok += d.status[i] == 200;
  int64_t fin = run_balance(c, d.account);
  c->symptom = json_pack("{s:i,s:i,s:I,s:I,s:I}", "deposits", 5, "succeeded",
                         ok, "expected_balance", (json_int_t)(ok * d.amount),
                         "final_balance", (json_int_t)fin, "lost",
                         (json_int_t)(ok * d.amount - fin));
  c->shown = fin != ok * d.amount || ok != 5;
  snprintf(c->text, sizeof c->text, "balance %lld of %lld expected (%lld lost)",
           (long long)fin, (long long)(ok * d.amount),
           (long long)(ok * d.amount - fin));
  if (c->unsafe)
    run_add(c->expected, "racy_variables");
  clean_except(c, "racy_variables", NULL);
  run_add(c->races, "accounts:%lld.balance", (long long)d.account);
  return 0;
}

/* ---- 4: duplicate notifications --------------------------------------------
 */

static int s4_duplicates(run_ctx *c) {
  int64_t user = 900000 + c->id;
  json_t *b = json_pack("{s:I,s:s}", "user_id", (json_int_t)user, "message",
                        "Your transfer arrived");
  run_knobs(c, b, "claim", 2);
  json_t *reply = NULL;
  int st = run_call("POST", c->cfg->notifications, "/notifications", b, &reply);
  json_decref(b);
  int64_t id = json_integer_value(json_object_get(reply, "id"));
  json_decref(reply);
  if (st != 201 || id <= 0)
    return -1;
  char path[96];
  snprintf(path, sizeof path, "/notifications/%lld/deliveries", (long long)id);
  int sent = 0;
  int64_t first = 0, t0 = bank_now_ms();
  while (bank_now_ms() - t0 < 15000) { /* settle 800 ms after the first */
    json_t *d = NULL;
    run_call("GET", c->cfg->notifications, path, NULL, &d);
    sent = (int)json_integer_value(json_object_get(d, "sent"));
    json_decref(d);
    if (sent > 0 && !first)
      first = bank_now_ms();
    if (first && bank_now_ms() - first > 800)
      break;
    bank_sleep_ms(50);
  }
  c->symptom = json_pack("{s:I,s:I,s:i}", "notification", (json_int_t)id,
                         "user_id", (json_int_t)user, "times_sent", sent);
  c->shown = sent != 1;
  snprintf(c->text, sizeof c->text, "notification sent %d time%s", sent,
           sent == 1 ? "" : "s");
  if (c->unsafe)
    run_add(c->expected, "racy_variables");
  clean_except(c, "racy_variables", NULL);
  run_add(c->races, "notifications:%lld.status", (long long)id);
  return 0;
}

/* ---- 5: slow query cascade --------------------------------------------------
 */

static int s5_slow(run_ctx *c) {
  transfers t;
  memset(&t, 0, sizeof t);
  t.from = run_new_account(c, 900000 + c->id, 1000000);
  t.to = run_new_account(c, 900000 + c->id, 0);
  if (!t.from || !t.to)
    return -1;
  t.amount = 100;
  t.slow_ms = 2000;
  int64_t t0 = bank_now_ms();
  run_parallel(c, 3, one_transfer, &t, NULL, NULL);
  int ok = 0, timeouts = 0, attempts = 0;
  for (int i = 0; i < 3; i++) {
    ok += t.status[i] == 200;
    timeouts += t.timeouts[i];
    attempts += t.attempts[i];
  }
  int64_t elapsed = bank_now_ms() - t0;
  /* Requests the clients gave up on still run in the accounts service
   * (each waits at most 2.5 s for the lock); let them finish. Their writes
   * are never ordered before anything of ours (no response came back), so
   * this run reads no balance. */
  if (c->unsafe)
    bank_sleep_ms(5000);
  c->symptom =
      json_pack("{s:i,s:i,s:i,s:i,s:i,s:I}", "transfers", 3, "slow_query_ms",
                2000, "succeeded", ok, "client_timeouts", timeouts, "attempts",
                attempts, "elapsed_ms", (json_int_t)elapsed);
  c->shown = timeouts > 0;
  snprintf(c->text, sizeof c->text,
           "%d of 3 succeeded, %d client timeouts, %d attempts", ok, timeouts,
           attempts);
  if (c->unsafe) {
    run_add(c->expected, "contended_locks");
    run_add(c->anom_expect, "lock_wait");
    run_add(c->anom_expect, "timeout");
    run_add(c->anom_expect, "retry_storm");
  } else {
    run_add(c->anom_clean, "lock_wait");
    run_add(c->anom_clean, "timeout");
    run_add(c->anom_clean, "retry_storm");
  }
  run_add(c->anom_expect, "slow_db"); /* the slow query stays slow */
  clean_except(c, NULL, NULL);
  run_add(c->contended, "account:%lld", (long long)t.from);
  return 0;
}

/* ---- 6: session race --------------------------------------------------------
 */

typedef struct logins {
  const char *user;
  int status[8];
} logins;

static void one_login(run_ctx *c, int i, void *arg) {
  logins *l = arg;
  json_t *b = json_pack("{s:s,s:s}", "username", l->user, "password",
                        "correct-horse-battery");
  run_knobs(c, b, "login", 4);
  l->status[i] = run_call("POST", c->cfg->auth, "/auth/login", b, NULL);
  json_decref(b);
}

static int s6_sessions(run_ctx *c) {
  char name[64];
  snprintf(name, sizeof name, "user-%s", c->tag);
  json_t *b = json_pack("{s:s,s:s}", "username", name, "password",
                        "correct-horse-battery");
  json_t *reply = NULL;
  int st = run_call("POST", c->cfg->auth, "/auth/users", b, &reply);
  json_decref(b);
  int64_t uid = json_integer_value(json_object_get(reply, "id"));
  json_decref(reply);
  if (st != 201 || uid <= 0)
    return -1;
  logins l;
  memset(&l, 0, sizeof l);
  l.user = name;
  run_parallel(c, 4, one_login, &l, NULL, NULL);
  int ok = 0;
  for (int i = 0; i < 4; i++)
    ok += l.status[i] == 200;
  char path[96];
  json_t *s = NULL, *a = NULL;
  snprintf(path, sizeof path, "/auth/sessions/%lld", (long long)uid);
  run_call("GET", c->cfg->auth, path, NULL, &s);
  snprintf(path, sizeof path, "/auth/audit/%lld", (long long)uid);
  run_call("GET", c->cfg->auth, path, NULL, &a);
  int sessions = (int)json_integer_value(json_object_get(s, "sessions"));
  int audit = (int)json_array_size(json_object_get(a, "entries"));
  json_decref(s);
  json_decref(a);
  c->symptom = json_pack("{s:I,s:i,s:i,s:i,s:i}", "user_id", (json_int_t)uid,
                         "logins", 4, "logins_ok", ok, "sessions_kept",
                         sessions, "audit_entries", audit);
  c->shown = ok != 4 || sessions != ok || audit != ok;
  snprintf(c->text, sizeof c->text, "%d logins: %d sessions, %d audit entries",
           ok, sessions, audit);
  if (c->unsafe)
    run_add(c->expected, "racy_variables");
  clean_except(c, "racy_variables", NULL);
  run_add(c->races, "auth:sessions:%lld", (long long)uid);
  run_add(c->races, "audit:%lld.log", (long long)uid);
  return 0;
}

const scenario scenarios[7] = {
    {NULL, NULL, NULL, NULL},
    {"concurrent transfers",
     "5 transfers of 80% each read, check and write the balance without a "
     "row lock: several succeed and the balance goes negative",
     "the debit locks the row (BEGIN IMMEDIATE / SELECT ... FOR UPDATE): "
     "exactly one succeeds",
     s1_transfers},
    {"circular transfers",
     "A->B and B->A each lock their source account, then their destination: "
     "both block until the lock timeout rolls them back",
     "a global lock order (lower account id first): both succeed", s2_circular},
    {"lost updates",
     "5 deposits GET the balance, add, and PATCH it back: money is lost",
     "one atomic UPDATE ... SET balance = balance + $1: nothing is lost",
     s3_lost_update},
    {"duplicate notifications",
     "two workers both see the notification pending and both send it",
     "an atomic claim (UPDATE ... WHERE status = 'pending', check the row "
     "count): sent once",
     s4_duplicates},
    {"slow query cascade",
     "a 2 s query runs while holding the account's lock: requests queue, time "
     "out and retry at once",
     "no lock held across the query; timeouts with capped exponential backoff "
     "and a circuit breaker",
     s5_slow},
    {"session race",
     "concurrent logins check-then-set the session cache and the audit log: "
     "sessions and audit entries are lost",
     "per-user serialisation (the user's mutex) around the read-modify-write",
     s6_sessions},
};
