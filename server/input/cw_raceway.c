/*
 * cw_raceway: the Raceway JSON container decoder.
 *
 * DESIGN. Raceway's SDKs POST `{"events":[...]}`; files hold one such batch,
 * a plain array of events, or several batches one after another (JSONL).
 * Every value of the input is parsed (jansson, stopping after each value),
 * every event is checked on its own, and the good ones go to the ordering
 * pool of cw_raceway_order.c (buffer order within a batch, timestamps
 * across batches), which feeds cw_raceway_event.c. A bad event is skipped
 * and counted by reason; only unreadable JSON or a wrong top-level shape
 * fails the whole input, with its line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw_raceway_int.h"
#include "cw_json_depth.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static int digits(const char **p, int n, int64_t *out) {
  int64_t v = 0;
  for (int i = 0; i < n; i++) {
    char c = (*p)[i];
    if (c < '0' || c > '9')
      return -1;
    v = v * 10 + (c - '0');
  }
  *p += n;
  *out = v;
  return 0;
}

int cw__rfc3339_parse(const char *s, int64_t *out) {
  int64_t y, mo, d, h, mi, sec, frac = 0, oh = 0, om = 0;
  const char *p = s;
  if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
      digits(&p, 2, &d))
    return -1;
  if (*p != 'T' && *p != 't' && *p != ' ')
    return -1;
  p++;
  if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' ||
      digits(&p, 2, &sec))
    return -1;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
    return -1;
  if (*p == '.') {
    p++;
    int n = 0;
    while (*p >= '0' && *p <= '9') {
      if (n < 9) {
        frac = frac * 10 + (*p - '0');
        n++;
      }
      p++;
    }
    if (n == 0)
      return -1;
    for (; n < 9; n++)
      frac *= 10;
  }
  int sign = 0;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    sign = *p == '-' ? -1 : 1;
    p++;
    if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 23 ||
        om > 59)
      return -1;
  } else {
    return -1;
  }
  if (*p != '\0')
    return -1;
  int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
                 sign * (oh * 3600 + om * 60);
  if (secs < -9223372035LL || secs > 9223372035LL)
    return -1; /* outside what int64 nanoseconds hold (1678..2262) */
  *out = secs * 1000000000 + frac;
  return 0;
}

static uint64_t line_of(const char *buf, size_t off, size_t len) {
  uint64_t line = 1;
  for (size_t i = 0; i < off && i < len; i++)
    line += buf[i] == '\n';
  return line;
}

/* Where one input's events go: a pool, with arrival time and value stamps. */
typedef struct rw_sink {
  cw_rw_pool *pool;
  uint64_t *values;
  int64_t arrival_ns;
  size_t limit_left; /* events this input may still add */
} rw_sink;

/* Adds the events of one array. @return 0 or -1 (out of memory). */
static int add_events(rw_sink *k, json_t *arr, cw_input_stats *st) {
  size_t i;
  json_t *ev;
  json_array_foreach(arr, i, ev) {
    int why = cw__rw_validate(ev);
    int64_t ts = 0;
    if (why < 0) {
      json_t *t = json_object_get(ev, "timestamp");
      if (!json_is_string(t) || cw__rfc3339_parse(json_string_value(t), &ts))
        why = CW_SKIP_BAD_TIMESTAMP;
    }
    if (why < 0 && k->limit_left == 0)
      why = CW_SKIP_LIMIT;
    if (why >= 0) {
      st->skipped[why]++;
      st->skipped_events++;
      continue;
    }
    k->limit_left--;
    if (cw__rw_pool_add(k->pool, ev, ts, k->arrival_ns, *k->values) != 0)
      return -1;
  }
  return 0;
}

/* Takes one top-level value apart (one batch: its own runs).
 * @return 0, -1 (shape), -2 (memory). */
static int add_value(rw_sink *k, json_t *v, cw_input_stats *st) {
  json_t *arr = NULL, *one = NULL;
  if (json_is_array(v)) {
    arr = v;
  } else if (json_is_object(v)) {
    arr = json_object_get(v, "events");
    if (!arr && json_object_get(v, "kind")) {
      /* A single bare event. */
      one = json_array();
      if (!one || json_array_append(one, v) != 0) {
        json_decref(one);
        return -2;
      }
      arr = one;
    } else if (!json_is_array(arr)) {
      return -1;
    }
  } else {
    return -1;
  }
  st->batches++;
  int rc = add_events(k, arr, st);
  json_decref(one);
  if (cw__rw_pool_end_value(k->pool, st) != 0)
    rc = -1;
  (*k->values)++;
  return rc ? -2 : 0;
}

/* Parses every JSON value of an input into the pool. */
static int add_input(rw_sink *k, const char *json, size_t len,
                     const cw_input_opts *o, cw_input_stats *st,
                     cw_input_error *err) {
  const char *name = (o && o->name) ? o->name : "<input>";
  size_t pos = 0;
  if (err) {
    err->msg[0] = '\0';
    err->line = 0;
  }
  if (len >= 3 && memcmp(json, "\xef\xbb\xbf", 3) == 0)
    pos = 3;
  st->bytes += len;
  for (;;) {
    while (pos < len && (json[pos] == ' ' || json[pos] == '\t' ||
                         json[pos] == '\r' || json[pos] == '\n'))
      pos++;
    if (pos >= len)
      return 0;
    if (!cw__json_depth_ok(json + pos, len - pos, CW_JSON_MAX_DEPTH)) {
      char msg[120];
      snprintf(msg, sizeof msg, "invalid JSON: nested deeper than %d levels",
               CW_JSON_MAX_DEPTH);
      cw__input_error_at(err, name, line_of(json, pos, len), msg);
      return -1;
    }
    json_error_t je;
    json_t *v = json_loadb(
        json + pos, len - pos,
        JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (!v) {
      char msg[240];
      snprintf(msg, sizeof msg, "invalid JSON: %s", je.text);
      uint64_t line = line_of(json, pos, len) + (je.line > 0 ? je.line : 1) - 1;
      cw__input_error_at(err, name, line, msg);
      return -1;
    }
    int arc = add_value(k, v, st);
    json_decref(v); /* the pool keeps its own references to the events */
    if (arc == -1) {
      cw__input_error_at(
          err, name, line_of(json, pos, len),
          "expected {\"events\":[...]}, an array of events, or one "
          "event object");
      return -1;
    }
    if (arc == -2) {
      cw__input_error_at(err, name, 0, "out of memory");
      return -1;
    }
    if (je.position <= 0) {
      cw__input_error_at(err, name, line_of(json, pos, len),
                         "JSON parser stalled");
      return -1;
    }
    pos += (size_t)je.position;
  }
}

struct cw_raceway_set {
  cw_rw_pool pool;
  uint64_t values;
  uint64_t added; /* events added (CW_RW_MAX_EVENTS cap) */
};

cw_raceway_set *cw__raceway_set_new(void) {
  return calloc(1, sizeof(cw_raceway_set));
}

void cw__raceway_set_free(cw_raceway_set *s) {
  if (!s)
    return;
  cw__rw_pool_free(&s->pool);
  free(s);
}

int cw__raceway_set_add(cw_raceway_set *s, const char *json, size_t len,
                        const cw_input_opts *o, cw_input_stats *st,
                        cw_input_error *err) {
  cw_input_stats dummy;
  st = cw__stats_or(st, &dummy);
  uint64_t before = s->pool.events_added;
  rw_sink k = {&s->pool, &s->values, 0,
               s->added < CW_RW_MAX_EVENTS ? CW_RW_MAX_EVENTS - s->added : 0};
  int rc = add_input(&k, json, len, o, st, err);
  s->added += s->pool.events_added - before;
  return rc;
}

cw_raceway_ctx *cw__raceway_ctx_new(void) {
  cw_raceway_ctx *c = calloc(1, sizeof *c);
  if (c && cw__rw_feeder_init(&c->f, NULL, NULL) != 0) {
    cw__rw_feeder_free(&c->f);
    free(c);
    c = NULL;
  }
  return c;
}

void cw__raceway_ctx_observe(cw_raceway_ctx *c, cw_raceway_observer fn,
                             void *ud) {
  c->f.obs = fn;
  c->f.obs_ud = ud;
}

void cw__raceway_ctx_free(cw_raceway_ctx *c) {
  if (!c)
    return;
  cw__rw_feeder_free(&c->f);
  cw__rw_pool_free(&c->pool);
  free(c);
}

/* Binds the context to its engine and stats. @return 0, -1 (other engine). */
static int ctx_bind(cw_raceway_ctx *c, cw_engine *e, cw_input_stats *st) {
  if (c->engine && c->engine != e)
    return -1; /* counters and ids belong to another engine */
  c->engine = e;
  c->f.e = e;
  c->f.st = st;
  return 0;
}

int cw__raceway_set_feed_ctx(cw_raceway_set *s, cw_raceway_ctx *c, cw_engine *e,
                             cw_input_stats *st) {
  cw_input_stats dummy;
  st = cw__stats_or(st, &dummy);
  if (ctx_bind(c, e, st) != 0)
    return -1;
  return cw__rw_pool_release(&s->pool, &c->f, 0, 0, 1);
}

int cw__raceway_set_feed(cw_raceway_set *s, cw_engine *e, cw_input_stats *st) {
  cw_raceway_ctx *c = cw__raceway_ctx_new();
  int rc = c ? cw__raceway_set_feed_ctx(s, c, e, st) : -1;
  cw__raceway_ctx_free(c);
  return rc;
}

int cw__raceway_ctx_add(cw_raceway_ctx *c, const char *json, size_t len,
                        int64_t now_ns, const cw_input_opts *o,
                        cw_input_stats *st, cw_input_error *err) {
  cw_input_stats dummy;
  st = cw__stats_or(st, &dummy);
  rw_sink k = {&c->pool, &c->values, now_ns, CW_RW_MAX_EVENTS};
  return add_input(&k, json, len, o, st, err);
}

int cw__raceway_ctx_release(cw_raceway_ctx *c, cw_engine *e, int64_t now_ns,
                            int64_t window_ns, cw_input_stats *st) {
  cw_input_stats dummy;
  st = cw__stats_or(st, &dummy);
  if (ctx_bind(c, e, st) != 0)
    return -1;
  return cw__rw_pool_release(&c->pool, &c->f, now_ns, window_ns,
                             window_ns <= 0);
}

size_t cw__raceway_ctx_held(const cw_raceway_ctx *c) {
  return c->pool.held;
}

int cw__raceway_decode_ctx(cw_raceway_ctx *c, const char *json, size_t len,
                           cw_engine *e, const cw_input_opts *o,
                           cw_input_stats *st, cw_input_error *err) {
  const char *name = (o && o->name) ? o->name : "<input>";
  cw_input_stats dummy;
  st = cw__stats_or(st, &dummy);
  if (c->engine && c->engine != e) {
    cw__input_error_at(err, name, 0, "context bound to another engine");
    return -1;
  }
  int rc = cw__raceway_ctx_add(c, json, len, 0, o, st, err);
  /* What this input added is fed now (an input that failed is dropped). */
  if (rc != 0) {
    cw__rw_pool_free(&c->pool);
    return -1;
  }
  if (cw__raceway_ctx_release(c, e, 0, 0, st) != 0) {
    cw__input_error_at(err, name, 0, "out of memory");
    return -1;
  }
  return 0;
}

int cw__raceway_decode_ex(const char *json, size_t len, cw_engine *e,
                          const cw_input_opts *o, cw_input_stats *st,
                          cw_input_error *err) {
  cw_raceway_ctx *c = cw__raceway_ctx_new();
  int rc = c ? cw__raceway_decode_ctx(c, json, len, e, o, st, err) : -1;
  if (!c && err)
    cw__input_error_at(err, (o && o->name) ? o->name : "<input>", 0,
                       "out of memory");
  cw__raceway_ctx_free(c);
  return rc;
}

int cw__raceway_decode(const char *json, size_t len, cw_engine *e,
                       cw_input_stats *st) {
  return cw__raceway_decode_ex(json, len, e, NULL, st, NULL);
}
