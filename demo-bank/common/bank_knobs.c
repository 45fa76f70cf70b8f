/*
 * bank_knobs: knobs, barrier and strict field parsing (see bank_knobs.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "bank_knobs.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "bank_svc.h"

/* ---- Barrier ------------------------------------------------------------- */

#define BARRIERS 64

typedef struct barrier {
  char name[64];
  int n, arrived, released;
  int64_t used_ms;
} barrier;

/* Plain pthread primitives on purpose: see the header. */
static pthread_mutex_t b_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t b_cond = PTHREAD_COND_INITIALIZER;
static barrier table[BARRIERS];

static barrier *find_or_add(const char *name, int n) {
  barrier *free_slot = NULL, *oldest = &table[0];
  for (int i = 0; i < BARRIERS; i++) {
    if (table[i].name[0] && strcmp(table[i].name, name) == 0)
      return &table[i];
    if (!table[i].name[0] && !free_slot)
      free_slot = &table[i];
    if (table[i].used_ms < oldest->used_ms)
      oldest = &table[i];
  }
  barrier *b = free_slot ? free_slot : oldest;
  memset(b, 0, sizeof *b);
  snprintf(b->name, sizeof b->name, "%s", name);
  b->n = n;
  return b;
}

int bank_barrier_wait(const char *name, int n, long timeout_ms) {
  if (!name || !*name || n < 2)
    return 1;
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += timeout_ms / 1000;
  dl.tv_nsec += (timeout_ms % 1000) * 1000000L;
  if (dl.tv_nsec >= 1000000000L) {
    dl.tv_sec++;
    dl.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&b_lock);
  barrier *b = find_or_add(name, n);
  b->used_ms = bank_now_ms();
  if (b->released) {
    int got = b->arrived;
    pthread_mutex_unlock(&b_lock);
    return got;
  }
  b->arrived++;
  if (b->arrived >= b->n) {
    b->released = 1;
    pthread_cond_broadcast(&b_cond);
  }
  while (!b->released && strcmp(b->name, name) == 0) {
    if (pthread_cond_timedwait(&b_cond, &b_lock, &dl) == ETIMEDOUT) {
      b->released = 1; /* let the others go too */
      pthread_cond_broadcast(&b_cond);
      bank_log("warn", "barrier timed out",
               json_pack("{s:s,s:i,s:i}", "barrier", name, "arrived",
                         b->arrived, "wanted", b->n));
    }
  }
  int got = b->arrived;
  pthread_mutex_unlock(&b_lock);
  return got;
}

int bank_knobs_window(const bank_knobs *k) {
  int got = 1;
  if (k->barrier[0] && k->barrier_n >= 2)
    got = bank_barrier_wait(k->barrier, k->barrier_n, 10000);
  bank_sleep_ms(k->delay_ms);
  return got;
}

/* ---- Fields -------------------------------------------------------------- */

const char *bank_get_int_opt(json_t *body, const char *field, int64_t lo,
                             int64_t hi, int64_t def, int64_t *out) {
  json_t *v = json_object_get(body, field);
  if (!v) {
    *out = def;
    return NULL;
  }
  if (!json_is_integer(v))
    return "must be an integer";
  json_int_t x = json_integer_value(v);
  if (x < lo || x > hi)
    return "is out of range";
  *out = x;
  return NULL;
}

const char *bank_get_amount(json_t *body, const char *field, int64_t *out) {
  json_t *v = json_object_get(body, field);
  if (!v)
    return "amount is required";
  if (!json_is_integer(v))
    return "amount must be an integer number of cents";
  json_int_t x = json_integer_value(v);
  if (x <= 0)
    return "amount must be positive";
  if (x > BANK_AMOUNT_MAX)
    return "amount is too large";
  *out = x;
  return NULL;
}

const char *bank_get_id(json_t *body, const char *field, int64_t *out) {
  json_t *v = json_object_get(body, field);
  if (!v)
    return "a required id is missing";
  if (!json_is_integer(v) || json_integer_value(v) < 1)
    return "ids must be positive integers";
  *out = json_integer_value(v);
  return NULL;
}

const char *bank_get_str(json_t *body, const char *field, size_t max,
                         const char **out) {
  json_t *v = json_object_get(body, field);
  if (!v)
    return "a required string is missing";
  if (!json_is_string(v) || json_string_length(v) == 0)
    return "must be a non-empty string";
  if (json_string_length(v) > max)
    return "string is too long";
  *out = json_string_value(v);
  return NULL;
}

const char *bank_knobs_parse(json_t *body, bank_knobs *k) {
  memset(k, 0, sizeof *k);
  json_t *m = json_object_get(body, "mode");
  if (m) {
    if (!json_is_string(m))
      return "mode must be \"safe\" or \"unsafe\"";
    if (strcmp(json_string_value(m), "unsafe") == 0)
      k->unsafe = 1;
    else if (strcmp(json_string_value(m), "safe") != 0)
      return "mode must be \"safe\" or \"unsafe\"";
  }
  int64_t v;
  if (bank_get_int_opt(body, "delay_ms", 0, 10000, 0, &v))
    return "delay_ms must be an integer in 0..10000";
  k->delay_ms = (int)v;
  if (bank_get_int_opt(body, "barrier_n", 0, 64, 0, &v))
    return "barrier_n must be an integer in 0..64";
  k->barrier_n = (int)v;
  json_t *b = json_object_get(body, "barrier");
  if (b) {
    if (!json_is_string(b) || json_string_length(b) >= sizeof k->barrier)
      return "barrier must be a string of at most 63 bytes";
    snprintf(k->barrier, sizeof k->barrier, "%s", json_string_value(b));
  }
  return NULL;
}

void bank_knobs_put(json_t *body, const bank_knobs *k) {
  json_object_set_new(body, "mode", json_string(k->unsafe ? "unsafe" : "safe"));
  if (k->delay_ms)
    json_object_set_new(body, "delay_ms", json_integer(k->delay_ms));
  if (k->barrier[0]) {
    json_object_set_new(body, "barrier", json_string(k->barrier));
    json_object_set_new(body, "barrier_n", json_integer(k->barrier_n));
  }
}
