/*
 * runner: runs scenarios and judges them (see runner.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "runner.h"

#include <causeway.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bank_http.h"
#include "bank_svc.h"
#include "runner_int.h"

static runner_cfg cfg;
static runner_settings settings = {0, 1, {0, 0, 0, 0, 0, 0, 0}};
static pthread_mutex_t settings_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t run_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t history_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *history;
static int run_counter;
static long start_s;

void runner_init(const runner_cfg *c) {
  cfg = *c;
  history = json_array();
  start_s = (long)time(NULL);
  cw_lock_name(&settings_lock, "web:settings");
  cw_lock_name(&run_lock, "web:runs");
  cw_lock_name(&history_lock, "web:history");
}

/* ---- Settings ------------------------------------------------------------ */

void runner_settings_get(runner_settings *out) {
  cw_mutex_lock(&settings_lock);
  CW_READ("web:settings");
  *out = settings;
  cw_mutex_unlock(&settings_lock);
}

json_t *runner_settings_json(void) {
  runner_settings s;
  runner_settings_get(&s);
  json_t *safe = json_object();
  for (int i = 1; i <= 6; i++) {
    char k[4];
    snprintf(k, sizeof k, "%d", i);
    json_object_set_new(safe, k, json_boolean(s.safe[i]));
  }
  return json_pack("{s:i,s:b,s:o}", "delay_ms", s.delay_ms, "barrier",
                   s.barrier, "safe", safe);
}

const char *runner_settings_set(json_t *patch) {
  runner_settings s;
  runner_settings_get(&s);
  json_t *v = json_object_get(patch, "delay_ms");
  if (v) {
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > 5000)
      return "delay_ms must be an integer in 0..5000";
    s.delay_ms = (int)json_integer_value(v);
  }
  v = json_object_get(patch, "barrier");
  if (v) {
    if (!json_is_boolean(v))
      return "barrier must be true or false";
    s.barrier = json_is_true(v);
  }
  v = json_object_get(patch, "safe");
  if (v) {
    if (!json_is_object(v))
      return "safe must be an object like {\"1\": true}";
    const char *k;
    json_t *b;
    json_object_foreach(v, k, b) {
      char *end = NULL;
      long n = strtol(k, &end, 10);
      if (!end || *end || n < 1 || n > 6 || !json_is_boolean(b))
        return "safe keys are scenario numbers 1-6 with true or false";
      s.safe[n] = json_is_true(b);
    }
  }
  cw_mutex_lock(&settings_lock);
  CW_WRITE("web:settings");
  settings = s;
  cw_mutex_unlock(&settings_lock);
  return NULL;
}

/* ---- Helpers for the scenarios ------------------------------------------- */

void run_add(json_t *arr, const char *fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  json_array_append_new(arr, json_string(buf));
}

void run_knobs(const run_ctx *c, json_t *body, const char *point, int n) {
  json_object_set_new(body, "mode", json_string(c->unsafe ? "unsafe" : "safe"));
  if (c->st.delay_ms)
    json_object_set_new(body, "delay_ms", json_integer(c->st.delay_ms));
  if (c->st.barrier && n >= 2) {
    char name[96];
    snprintf(name, sizeof name, "%s-%s", c->tag, point);
    json_object_set_new(body, "barrier", json_string(name));
    json_object_set_new(body, "barrier_n", json_integer(n));
  }
}

int run_call(const char *method, const char *base, const char *path,
             json_t *body, json_t **out) {
  char url[1024];
  bank_url(url, sizeof url, base, "%s", path);
  return bank_call(method, url, body, out, 60000, NULL);
}

int64_t run_new_account(const run_ctx *c, int64_t user, int64_t balance) {
  json_t *b = json_pack("{s:I,s:I,s:s}", "user_id", (json_int_t)user, "balance",
                        (json_int_t)balance, "name", c->tag);
  json_t *reply = NULL;
  int st = run_call("POST", c->cfg->accounts, "/accounts", b, &reply);
  int64_t id = st == 201 ? json_integer_value(json_object_get(reply, "id")) : 0;
  json_decref(b);
  json_decref(reply);
  return id;
}

int64_t run_balance(const run_ctx *c, int64_t id) {
  char path[64];
  snprintf(path, sizeof path, "/accounts/%lld", (long long)id);
  json_t *reply = NULL;
  run_call("GET", c->cfg->accounts, path, NULL, &reply);
  int64_t b = json_integer_value(json_object_get(reply, "balance"));
  json_decref(reply);
  return b;
}

typedef struct job {
  run_ctx *c;
  int i;
  void (*fn)(run_ctx *c, int i, void *arg);
  void *arg;
} job;

static void *job_main(void *p) {
  job *j = p;
  j->fn(j->c, j->i, j->arg);
  return NULL;
}

void run_parallel(run_ctx *c, int n, void (*fn)(run_ctx *c, int i, void *arg),
                  void *arg, void (*during)(run_ctx *c, void *arg),
                  void *during_arg) {
  pthread_t th[16];
  job jobs[16];
  int started = 0;
  for (int i = 0; i < n && i < 16; i++) {
    jobs[i] = (job){c, i, fn, arg};
    if (cw_thread_create(&th[i], NULL, job_main, &jobs[i]) == 0)
      started++;
    else
      break;
  }
  if (during)
    during(c, during_arg);
  for (int i = 0; i < started; i++)
    cw_thread_join(th[i], NULL);
}

void run_flush_all(const runner_cfg *c) {
  const char *svc[] = {c->accounts, c->transactions, c->notifications, c->auth};
  for (size_t i = 0; i < 4; i++)
    run_call("POST", svc[i], "/admin/flush", NULL, NULL);
  cw_flush();
}

json_t *run_collector(const runner_cfg *c, const char *path) {
  if (!c->collector)
    return NULL;
  json_t *out = NULL;
  int st = run_call("GET", c->collector, path, NULL, &out);
  if (st != 200) {
    json_decref(out);
    return NULL;
  }
  return out;
}

/* ---- Findings of one run ------------------------------------------------- */

static int mentions(json_t *item, json_t *names, int all) {
  if (json_array_size(names) == 0)
    return 0;
  char *s = json_dumps(item, JSON_COMPACT);
  int hits = 0;
  size_t i;
  json_t *n;
  json_array_foreach(names, i, n) hits += s && strstr(s, json_string_value(n));
  free(s);
  return all ? hits == (int)json_array_size(names) : hits > 0;
}

static void link(json_t *f, const char *route, const char *id) {
  char url[1024];
  snprintf(url, sizeof url, "%s/#/%s/%s", cfg.viewer ? cfg.viewer : "", route,
           id);
  json_object_set_new(f, "link", json_string(url));
}

/* Walks a paged list route; calls pick(item, index) for each item. */
static void walk(const char *route, int64_t mark, run_ctx *c, json_t *out,
                 void (*pick)(run_ctx *, json_t *, size_t, json_t *)) {
  for (size_t off = 0; off < 100000;) {
    char path[256];
    snprintf(path, sizeof path, "%s?limit=1000&offset=%zu", route, off);
    if (mark > 0)
      snprintf(path + strlen(path), sizeof path - strlen(path), "&since=%lld",
               (long long)mark);
    json_t *page = run_collector(c->cfg, path);
    json_t *items = json_object_get(page, "items");
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) pick(c, it, off + i, out);
    size_t n = json_array_size(items);
    json_int_t total = json_integer_value(json_object_get(page, "total"));
    json_decref(page);
    if (n == 0 || off + n >= (size_t)total)
      break;
    off += n;
  }
}

/* The item's position in the unfiltered list (its "index" when the
 * collector gives one, as filtered lists do), for the viewer's #/kind/i. */
static size_t list_index(json_t *it, size_t pos) {
  json_t *ix = json_object_get(it, "index");
  return json_is_integer(ix) ? (size_t)json_integer_value(ix) : pos;
}

static void pick_race(run_ctx *c, json_t *it, size_t i, json_t *out) {
  if (!mentions(json_object_get(it, "variable"), c->races, 0) &&
      !(json_is_string(json_object_get(it, "variable")) &&
        mentions(it, c->races, 0)))
    return;
  char id[24];
  snprintf(id, sizeof id, "%zu", list_index(it, i));
  json_t *f = json_pack("{s:s,s:O,s:O,s:O}", "kind", "race", "variable",
                        json_object_get(it, "variable"), "severity",
                        json_object_get(it, "severity"), "count",
                        json_object_get(it, "count"));
  link(f, "races", id);
  json_array_append_new(out, f);
}

static void pick_deadlock(run_ctx *c, json_t *it, size_t i, json_t *out) {
  if (!mentions(it, c->locks, 1))
    return;
  char id[24];
  snprintf(id, sizeof id, "%zu", list_index(it, i));
  json_t *f =
      json_pack("{s:s,s:O}", "kind", "deadlock", "active",
                json_object_get(it, "active") ? json_object_get(it, "active")
                                              : json_false());
  link(f, "deadlocks", id);
  json_array_append_new(out, f);
}

static void pick_potential(run_ctx *c, json_t *it, size_t i, json_t *out) {
  (void)i;
  if (!mentions(it, c->locks, 1))
    return;
  json_t *f = json_pack("{s:s,s:O}", "kind", "potential_deadlock", "length",
                        json_object_get(it, "length"));
  link(f, "locks", json_string_value(json_array_get(c->locks, 0)));
  json_array_append_new(out, f);
}

static json_t *findings(run_ctx *c, int64_t mark) {
  json_t *out = json_array();
  if (!c->cfg->collector)
    return out;
  if (json_array_size(c->races))
    walk("/v1/races", mark, c, out, pick_race);
  if (json_array_size(c->locks)) {
    walk("/v1/deadlocks", mark, c, out, pick_deadlock);
    walk("/v1/potential-deadlocks", mark, c, out, pick_potential);
  }
  size_t i;
  json_t *name;
  json_array_foreach(c->contended, i, name) {
    char path[256];
    snprintf(path, sizeof path, "/v1/locks?lock=%s", json_string_value(name));
    json_t *page = run_collector(c->cfg, path);
    json_t *it = json_array_get(json_object_get(page, "items"), 0);
    if (it) {
      json_t *wait = json_object_get(it, "wait_ns");
      json_t *f = json_pack(
          "{s:s,s:O,s:O,s:O,s:O}", "kind", "contention", "lock", name,
          "acquisitions", json_object_get(it, "acquisitions"), "contended",
          json_object_get(it, "contended"), "wait_p99_ns",
          json_object_get(wait, "p99") ? json_object_get(wait, "p99")
                                       : json_null());
      link(f, "locks", json_string_value(name));
      json_array_append_new(out, f);
    }
    json_decref(page);
  }
  return out;
}

/* ---- Anomaly groups ------------------------------------------------------ */

/* Every anomaly group by "kind|service|site": {kind, site, count, index}. */
static json_t *anomaly_groups(void) {
  json_t *all = json_object();
  for (size_t off = 0; cfg.collector && off < 100000;) {
    char path[128];
    snprintf(path, sizeof path, "/v1/anomalies?limit=1000&offset=%zu", off);
    json_t *page = run_collector(&cfg, path);
    json_t *items = json_object_get(page, "items");
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
      char key[512];
      snprintf(key, sizeof key, "%s|%s|%s",
               json_string_value(json_object_get(it, "kind")),
               json_string_value(json_object_get(it, "service")),
               json_string_value(json_object_get(it, "site")));
      json_object_set_new(all, key,
                          json_pack("{s:O,s:O,s:O,s:O,s:I}", "kind",
                                    json_object_get(it, "kind"), "service",
                                    json_object_get(it, "service"), "site",
                                    json_object_get(it, "site"), "count",
                                    json_object_get(it, "count"), "index",
                                    (json_int_t)(off + i)));
    }
    size_t n = json_array_size(items);
    json_int_t total = json_integer_value(json_object_get(page, "total"));
    json_decref(page);
    if (n == 0 || off + n >= (size_t)total)
      break;
    off += n;
  }
  return all;
}

/* Adds the groups whose count grew to `found`. */
static void anomaly_growth(json_t *before, json_t *after, json_t *found) {
  const char *key;
  json_t *g;
  json_object_foreach(after, key, g) {
    json_int_t was = json_integer_value(
        json_object_get(json_object_get(before, key), "count"));
    json_int_t now = json_integer_value(json_object_get(g, "count"));
    if (now <= was)
      continue;
    char id[24];
    snprintf(id, sizeof id, "%lld",
             (long long)json_integer_value(json_object_get(g, "index")));
    json_t *f = json_pack("{s:s,s:O,s:O,s:O,s:I}", "kind", "anomaly", "anomaly",
                          json_object_get(g, "kind"), "service",
                          json_object_get(g, "service"), "site",
                          json_object_get(g, "site"), "count_grew",
                          (json_int_t)(now - was));
    link(f, "anomalies", id);
    json_array_append_new(found, f);
  }
}

static int anomaly_grew(json_t *found, const char *kind) {
  size_t i;
  json_t *f;
  json_array_foreach(found, i, f) {
    const char *k = json_string_value(json_object_get(f, "anomaly"));
    if (k && strcmp(k, kind) == 0)
      return 1;
  }
  return 0;
}

/* ---- Judging ---------------------------------------------------------------
 */

static json_int_t key_of(json_t *summary, const char *k, int *present) {
  json_t *v = json_object_get(summary, k);
  *present = json_is_integer(v);
  return json_integer_value(v);
}

static json_t *judge(run_ctx *c, json_t *before, json_t *after, json_t *found) {
  json_t *problems = json_array();
  if (c->unsafe && !c->shown)
    run_add(problems, "the bug's symptom did not show");
  if (!c->unsafe && c->shown)
    run_add(problems, "the safe run showed the bug's symptom");
  if (!c->cfg->collector) {
    run_add(problems, "no collector: findings not checked");
    return problems;
  }
  if (!before || !after) {
    run_add(problems, "the collector did not answer /v1/findings?sync=1");
    return problems;
  }
  size_t i;
  json_t *k;
  json_array_foreach(c->expected, i, k) {
    int p1, p2;
    json_int_t b = key_of(before, json_string_value(k), &p1);
    json_int_t a = key_of(after, json_string_value(k), &p2);
    if (!p1 || !p2)
      run_add(problems, "the collector's summary has no '%s'",
              json_string_value(k));
    else if (a <= b)
      run_add(problems, "'%s' did not grow", json_string_value(k));
  }
  json_array_foreach(c->clean, i, k) {
    int p1, p2;
    json_int_t b = key_of(before, json_string_value(k), &p1);
    json_int_t a = key_of(after, json_string_value(k), &p2);
    if (p1 && p2 && a > b)
      run_add(problems, "'%s' grew by %lld", json_string_value(k),
              (long long)(a - b));
  }
  int races = 0, deadlocks = 0, slow_wait = 0;
  json_t *f;
  json_array_foreach(found, i, f) {
    const char *kind = json_string_value(json_object_get(f, "kind"));
    races += strcmp(kind, "race") == 0;
    deadlocks += strcmp(kind, "deadlock") == 0;
    json_t *p99 = json_object_get(f, "wait_p99_ns");
    slow_wait += strcmp(kind, "contention") == 0 && json_is_integer(p99) &&
                 json_integer_value(p99) > 1000000000;
  }
  if (c->unsafe && json_array_size(c->races) && !races)
    run_add(problems, "no race on the run's variables");
  if (c->unsafe && json_array_size(c->locks) && !deadlocks)
    run_add(problems, "no deadlock on the run's account locks");
  if (c->unsafe && json_array_size(c->contended) && !slow_wait)
    run_add(problems, "no lock with a wait p99 over 1 s");
  if (!c->unsafe && (races || deadlocks))
    run_add(problems, "the safe run has findings on its own names");
  json_t *k2;
  json_array_foreach(c->anom_expect, i,
                     k2) if (!anomaly_grew(found, json_string_value(k2)))
      run_add(problems, "no %s anomaly", json_string_value(k2));
  json_array_foreach(c->anom_clean, i,
                     k2) if (anomaly_grew(found, json_string_value(k2)))
      run_add(problems, "a %s anomaly", json_string_value(k2));
  return problems;
}

/* What causeway found, in words: the summary keys that grew. */
static void found_text(char *buf, size_t cap, json_t *before, json_t *after,
                       json_t *found) {
  static const char *keys[] = {"racy_variables", "deadlocks",
                               "potential_deadlocks", "contended_locks",
                               "anomalies"};
  static const char *one[] = {"racy variable", "deadlock", "potential deadlock",
                              "contended lock", "anomaly group"};
  size_t n = 0;
  buf[0] = 0;
  for (size_t i = 0; i < 5 && before && after; i++) {
    json_int_t d = json_integer_value(json_object_get(after, keys[i])) -
                   json_integer_value(json_object_get(before, keys[i]));
    if (d > 0 && n < cap)
      n += (size_t)snprintf(buf + n, cap - n, "%s+%lld %s%s", n ? ", " : "",
                            (long long)d, one[i], d > 1 ? "s" : "");
  }
  size_t i;
  json_t *f;
  json_array_foreach(found, i, f) {
    const char *v = json_string_value(json_object_get(f, "variable"));
    if (!v)
      v = json_string_value(json_object_get(f, "anomaly"));
    if (v && n < cap && !strstr(buf, v))
      n += (size_t)snprintf(buf + n, cap - n, " [%s]", v);
  }
  if (!buf[0])
    snprintf(buf, cap, "nothing");
}

/* ---- Runs ------------------------------------------------------------------
 */

static json_t *summary(void) {
  run_flush_all(&cfg);
  json_t *f = run_collector(&cfg, "/v1/findings?sync=1");
  json_t *s = json_incref(json_object_get(f, "summary"));
  json_decref(f);
  return s;
}

static int64_t new_mark(void) {
  if (!cfg.collector)
    return 0;
  json_t *m = NULL;
  int st = run_call("POST", cfg.collector, "/v1/marks", NULL, &m);
  int64_t id = st == 200 || st == 201
                   ? json_integer_value(json_object_get(m, "mark"))
                   : 0;
  json_decref(m);
  return id;
}

json_t *runner_run(int n, int mode) {
  if (n < 1 || n > 6)
    return NULL;
  run_ctx c;
  memset(&c, 0, sizeof c);
  c.n = n;
  c.cfg = &cfg;
  runner_settings_get(&c.st);
  c.unsafe = mode < 0 ? !c.st.safe[n] : mode;
  cw_mutex_lock(&run_lock);
  c.id = ++run_counter;
  snprintf(c.tag, sizeof c.tag, "r%ld-%d-%s", start_s, c.id,
           c.unsafe ? "unsafe" : "safe");
  c.expected = json_array();
  c.clean = json_array();
  c.races = json_array();
  c.locks = json_array();
  c.contended = json_array();
  c.live = json_array();
  c.anom_expect = json_array();
  c.anom_clean = json_array();
  int64_t t0 = bank_now_ms();
  json_t *before = summary();
  json_t *groups0 = n == 5 ? anomaly_groups() : NULL;
  int64_t mark = new_mark();
  int rc = scenarios[n].run(&c);
  json_t *after = summary();
  json_t *found = findings(&c, mark);
  if (groups0) {
    json_t *groups1 = anomaly_groups();
    anomaly_growth(groups0, groups1, found);
    json_decref(groups0);
    json_decref(groups1);
  }
  json_t *problems = rc == 0 ? judge(&c, before, after, found) : json_array();
  if (rc != 0)
    run_add(problems, "the scenario could not set up its accounts or users");
  char ftext[240];
  found_text(ftext, sizeof ftext, before, after, found);
  cw_mutex_unlock(&run_lock);
  json_t *r = json_pack(
      "{s:i,s:s,s:s,s:s,s:s,s:o,s:b,s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:I,s:s}",
      "scenario", n, "name", scenarios[n].name, "mode",
      c.unsafe ? "unsafe" : "safe", "bug", scenarios[n].bug, "fix",
      scenarios[n].fix, "symptom", c.symptom ? c.symptom : json_object(),
      "symptom_shown", c.shown, "expected", c.expected, "clean", c.clean,
      "before", before ? before : json_null(), "after",
      after ? after : json_null(), "findings", found, "problems", problems,
      "as_expected", json_array_size(problems) == 0, "elapsed_ms",
      (json_int_t)(bank_now_ms() - t0), "run", c.tag);
  if (json_array_size(c.live) || n == 2)
    json_object_set_new(r, "live_deadlocks", c.live);
  else
    json_decref(c.live);
  if (mark > 0)
    json_object_set_new(r, "mark", json_integer(mark));
  json_object_set_new(r, "symptom_text", json_string(c.text));
  json_object_set_new(r, "found_text", json_string(ftext));
  json_decref(c.races);
  json_decref(c.locks);
  json_decref(c.contended);
  if (json_array_size(c.anom_expect) || json_array_size(c.anom_clean))
    json_object_set_new(r, "anomalies",
                        json_pack("{s:o,s:o}", "must_grow", c.anom_expect,
                                  "must_not_grow", c.anom_clean));
  else {
    json_decref(c.anom_expect);
    json_decref(c.anom_clean);
  }
  bank_log(json_array_size(problems) ? "warn" : "info", "scenario run",
           json_pack("{s:i,s:s,s:b}", "scenario", n, "mode",
                     c.unsafe ? "unsafe" : "safe", "as_expected",
                     json_array_size(problems) == 0));
  cw_mutex_lock(&history_lock);
  json_array_append(history, r);
  while (json_array_size(history) > 50)
    json_array_remove(history, 0);
  cw_mutex_unlock(&history_lock);
  return r;
}

json_t *runner_run_all(void) {
  json_t *all = json_array();
  for (int n = 1; n <= 6; n++)
    for (int unsafe = 0; unsafe <= 1; unsafe++)
      json_array_append_new(all, runner_run(n, unsafe));
  return all;
}

json_t *runner_history(void) {
  cw_mutex_lock(&history_lock);
  json_t *h = json_deep_copy(history);
  cw_mutex_unlock(&history_lock);
  return h;
}

int runner_reset(void) {
  const char *svc[] = {cfg.accounts, cfg.transactions, cfg.notifications,
                       cfg.auth};
  int rc = 0;
  for (size_t i = 0; i < 4; i++)
    rc |= run_call("POST", svc[i], "/admin/reset", NULL, NULL) != 200;
  return rc ? -1 : 0;
}

json_t *runner_catalog(void) {
  json_t *a = json_array();
  for (int n = 1; n <= 6; n++)
    json_array_append_new(
        a, json_pack("{s:i,s:s,s:s,s:s}", "n", n, "name", scenarios[n].name,
                     "unsafe", scenarios[n].bug, "safe", scenarios[n].fix));
  return a;
}
