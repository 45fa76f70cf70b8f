/*
 * query: findings -> JSON (shapes documented in docs/http-api.md).
 */
#define _POSIX_C_SOURCE 200809L
#include "query.h"

#include "cw_report.h"
#include "cw_report_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hexval(int c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* URL-decodes src[0..n) into dst (cap bytes). @return 0 or -1. */
static int urldecode(const char *src, size_t n, char *dst, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    int c = (unsigned char)src[i];
    if (c == '+')
      c = ' ';
    else if (c == '%') {
      if (i + 2 >= n)
        return -1;
      int h = hexval(src[i + 1]);
      int l = hexval(src[i + 2]);
      if (h < 0 || l < 0)
        return -1;
      c = h * 16 + l;
      i += 2;
    }
    if (c == 0 || o + 1 >= cap)
      return -1;
    dst[o++] = (char)c;
  }
  dst[o] = '\0';
  return 0;
}

static int parse_u64(const char *v, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long x = strtoull(v, &end, 10);
  if (errno || end == v || *end || v[0] == '-')
    return -1;
  *out = x;
  return 0;
}

int cw__query_parse(const char *qs, cw_query *q, char *msg, size_t msgsz) {
  memset(q, 0, sizeof *q);
  q->limit = 100;
  if (!qs)
    return 0;
  const char *p = qs;
  while (*p) {
    size_t n = strcspn(p, "&");
    const char *eq = memchr(p, '=', n);
    char key[32], val[256];
    size_t kl = eq ? (size_t)(eq - p) : n;
    if (kl == 0 || kl >= sizeof key) {
      snprintf(msg, msgsz, "bad query parameter");
      return -1;
    }
    memcpy(key, p, kl);
    key[kl] = '\0';
    if (urldecode(eq ? eq + 1 : p + n, eq ? n - kl - 1 : 0, val, sizeof val)) {
      snprintf(msg, msgsz, "bad value for '%s'", key);
      return -1;
    }
    int bad = 0;
    if (!strcmp(key, "offset"))
      bad = parse_u64(val, &q->offset);
    else if (!strcmp(key, "limit"))
      bad = parse_u64(val, &q->limit) || q->limit == 0 || q->limit > 1000;
    else if (!strcmp(key, "variable"))
      memcpy(q->variable, val, strlen(val) + 1);
    else if (!strcmp(key, "lock"))
      memcpy(q->lock, val, strlen(val) + 1);
    else if (!strcmp(key, "service")) {
      if (strlen(val) >= sizeof q->service)
        bad = 1;
      else
        memcpy(q->service, val, strlen(val) + 1);
    } else if (!strcmp(key, "kind")) {
      q->anomaly_kind = (int)cw__anomaly_kind_parse(val);
      bad = q->anomaly_kind == 0;
    } else if (!strcmp(key, "severity")) {
      if (!strcmp(val, "error"))
        q->severity = CW_SEV_ERROR;
      else if (!strcmp(val, "warning"))
        q->severity = CW_SEV_WARNING;
      else
        bad = 1;
    } else if (!strcmp(key, "active"))
      q->active_only = !strcmp(val, "1") || !strcmp(val, "true");
    else if (!strcmp(key, "contended"))
      q->contended_only = !strcmp(val, "1") || !strcmp(val, "true");
    else if (!strcmp(key, "sync"))
      q->sync = !strcmp(val, "1") || !strcmp(val, "true");
    /* Unknown parameters are ignored, as HTTP caches and proxies add some. */
    if (bad) {
      snprintf(msg, msgsz, "bad value for '%s'", key);
      return -1;
    }
    p += n;
    if (*p == '&')
      p++;
  }
  return 0;
}

json_t *cw__q_str(cw_engine *e, cw_sym s) {
  /* Names come from events and may be any bytes: invalid UTF-8 becomes
   * U+FFFD (json_string would refuse it and the item would vanish). */
  return cw__report_jstr(cw__engine_str(e, s));
}

json_t *cw__q_actor_obj(cw_engine *e, cw_actor_id a) {
  return json_pack("{s:o,s:o}", "actor",
                   cw__q_str(e, cw__engine_actor_name(e, a)), "service",
                   cw__q_str(e, cw__engine_actor_service(e, a)));
}

json_t *cw__query_summary(cw_engine *e, const void *input_stats) {
  cw_findings f;
  json_t *j = NULL;
  if (cw__findings_collect(&f, e, NULL, (const cw_input_stats *)input_stats) ==
      0)
    j = cw__report_summary_json(&f);
  cw__findings_free(&f);
  return j;
}

/* The report's item serializers (cw_report_json.c): one shape per finding
 * for the CLI and every collector route. */
static json_t *checked(json_t *j, int bad) {
  if (bad) {
    json_decref(j);
    return NULL;
  }
  return j;
}

json_t *cw__q_race_json(cw_engine *e, const cw_race_group *g) {
  int bad = 0;
  json_t *j = cw__report_race_json(e, g, &bad);
  return checked(j, bad);
}

json_t *cw__q_deadlock_json(cw_engine *e, const cw_deadlock *d) {
  int bad = 0;
  json_t *j = cw__report_deadlock_json(e, d, &bad);
  return checked(j, bad);
}

json_t *cw__q_lock_json(cw_engine *e, const cw_lock_stats *l) {
  int bad = 0;
  json_t *j = cw__report_lock_json(e, l, &bad);
  return checked(j, bad);
}

json_t *cw__q_page(json_t *items, uint64_t total, const cw_query *q) {
  return json_pack("{s:I,s:I,s:I,s:o}", "total", (json_int_t)total, "offset",
                   (json_int_t)q->offset, "limit", (json_int_t)q->limit,
                   "items", items);
}

json_t *cw__query_races(cw_engine *e, const cw_query *q) {
  const cw_race_group *g;
  size_t n = cw__engine_races(e, &g);
  json_t *items = json_array();
  uint64_t total = 0;
  for (size_t i = 0; i < n; i++) {
    if (q->variable[0] && strcmp(cw__engine_str(e, g[i].var), q->variable))
      continue;
    if (q->severity && (int)g[i].severity != q->severity)
      continue;
    if (total >= q->offset && total < q->offset + q->limit) {
      json_t *o = cw__q_race_json(e, &g[i]);
      json_object_set_new(o, "index", json_integer((json_int_t)i));
      json_array_append_new(items, o);
    }
    total++;
  }
  return cw__q_page(items, total, q);
}

json_t *cw__query_deadlocks(cw_engine *e, const cw_query *q, int actual) {
  const cw_deadlock *d;
  size_t n = actual ? cw__engine_deadlocks(e, &d)
                    : cw__engine_potential_deadlocks(e, &d);
  json_t *items = json_array();
  uint64_t total = 0;
  for (size_t i = 0; i < n; i++) {
    if (d[i].withdrawn || (actual && q->active_only && !d[i].active))
      continue;
    if (total >= q->offset && total < q->offset + q->limit) {
      json_t *o = cw__q_deadlock_json(e, &d[i]);
      json_object_set_new(o, "index", json_integer((json_int_t)i));
      json_array_append_new(items, o);
    }
    total++;
  }
  return cw__q_page(items, total, q);
}

json_t *cw__query_locks(cw_engine *e, const cw_query *q) {
  const cw_lock_stats *l;
  size_t n = cw__engine_locks(e, &l);
  json_t *items = json_array();
  uint64_t total = 0;
  for (size_t i = 0; i < n; i++) {
    if (q->contended_only && l[i].contended == 0)
      continue;
    if (q->lock[0] && strcmp(cw__engine_str(e, l[i].lock), q->lock))
      continue;
    if (total >= q->offset && total < q->offset + q->limit) {
      json_t *o = cw__q_lock_json(e, &l[i]);
      json_object_set_new(o, "index", json_integer((json_int_t)i));
      json_array_append_new(items, o);
    }
    total++;
  }
  return cw__q_page(items, total, q);
}

json_t *cw__query_anomalies(cw_engine *e, const cw_query *q) {
  const cw_anomaly *a;
  size_t n = cw__engine_anomalies(e, &a);
  json_t *items = json_array();
  uint64_t total = 0;
  for (size_t i = 0; i < n; i++) {
    if (q->anomaly_kind && (int)a[i].kind != q->anomaly_kind)
      continue;
    if (q->service[0] &&
        strcmp(cw__engine_str(e, a[i].service), q->service) != 0)
      continue;
    if (total >= q->offset && total < q->offset + q->limit)
      json_array_append_new(items, cw__report_anomaly_json(e, &a[i], i));
    total++;
  }
  json_t *r = cw__q_page(items, total, q);
  json_object_set_new(r, "thresholds", cw__report_anomaly_thresholds(e));
  return r;
}

json_t *cw__query_findings(cw_engine *e, const void *input_stats) {
  /* The CLI's report writer: the same JSON as `causeway check --json`. */
  return cw__report_json(e, (const cw_input_stats *)input_stats);
}

json_t *cw__query_variables(cw_engine *e, const cw_query *q) {
  const cw_sym *vars;
  size_t n = cw__engine_variables(e, &vars);
  json_t *items = json_array();
  uint64_t total = 0;
  for (size_t i = 0; i < n; i++) {
    const char *name = cw__engine_str(e, vars[i]);
    if (q->variable[0] && !strstr(name, q->variable))
      continue;
    if (total >= q->offset && total < q->offset + q->limit) {
      cw_var_counts vc;
      cw__engine_var_counts(e, vars[i], &vc);
      json_t *o =
          json_pack("{s:o,s:I,s:I,s:I,s:I}", "variable", cw__q_str(e, vars[i]),
                    "accesses", (json_int_t)(vc.reads + vc.writes), "reads",
                    (json_int_t)vc.reads, "writes", (json_int_t)vc.writes,
                    "racing_accesses", (json_int_t)vc.racing);
      /* With --keep-events: every access that took part in a race, the
       * earlier side of each pair included (from the audit trail). */
      const cw_audit_entry *a;
      size_t na = cw__engine_audit(e, vars[i], &a);
      if (na) {
        size_t racy = 0;
        for (size_t k = 0; k < na; k++)
          racy += a[k].racy != 0;
        json_object_set_new(o, "racy_accesses", json_integer((json_int_t)racy));
      }
      json_array_append_new(items, o);
    }
    total++;
  }
  return cw__q_page(items, total, q);
}

json_t *cw__query_audit(cw_engine *e, const cw_query *q) {
  const cw_sym *vars;
  size_t n = cw__engine_variables(e, &vars);
  cw_sym var = 0;
  for (size_t i = 0; i < n && !var; i++)
    if (!strcmp(cw__engine_str(e, vars[i]), q->variable))
      var = vars[i];
  if (!var)
    return NULL;
  const cw_audit_entry *a;
  size_t na = cw__engine_audit(e, var, &a);
  json_t *items = json_array();
  for (size_t i = q->offset; i < na && i < q->offset + q->limit; i++) {
    json_t *o = cw__q_actor_obj(e, a[i].actor);
    json_object_set_new(o, "location", cw__q_str(e, a[i].loc));
    json_object_set_new(o, "access",
                        json_string(a[i].is_write ? "write" : "read"));
    json_object_set_new(o, "atomic", json_boolean(a[i].is_atomic));
    if (a[i].val_flags & CW_AEF_VAL_INT)
      json_object_set_new(o, "value", json_integer(a[i].val_int));
    else if (a[i].val_flags & CW_AEF_VAL_STR)
      json_object_set_new(o, "value", cw__q_str(e, a[i].val_str));
    json_t *locks = json_array();
    for (uint32_t k = 0; k < a[i].nlocks; k++)
      json_array_append_new(locks, cw__q_str(e, a[i].locks[k]));
    json_object_set_new(o, "locks", locks);
    json_object_set_new(o, "seq", json_integer((json_int_t)a[i].seq));
    json_object_set_new(o, "counter", json_integer((json_int_t)a[i].counter));
    json_object_set_new(o, "racy", json_boolean(a[i].racy));
    json_array_append_new(items, o);
  }
  json_t *r = cw__q_page(items, na, q);
  json_object_set_new(r, "variable", json_string(q->variable));
  return r;
}

json_t *cw__query_critical_path(cw_engine *e) {
  const cw_span_info *sp;
  uint64_t total = 0;
  size_t n = cw__engine_critical_path(e, &sp, &total);
  json_t *spans = json_array();
  for (size_t i = 0; i < n; i++) {
    json_t *o = cw__q_actor_obj(e, sp[i].actor);
    json_object_set_new(o, "span", cw__q_str(e, sp[i].name));
    json_object_set_new(o, "duration_ns",
                        json_integer((json_int_t)sp[i].duration_ns));
    json_object_set_new(o, "begin_seq",
                        json_integer((json_int_t)sp[i].begin_seq));
    json_object_set_new(o, "end_seq", json_integer((json_int_t)sp[i].end_seq));
    json_array_append_new(spans, o);
  }
  uint64_t dropped = cw__engine_spans_dropped(e);
  return json_pack("{s:I,s:o,s:b,s:I}", "total_ns", (json_int_t)total, "spans",
                   spans, "truncated", dropped > 0, "dropped_spans",
                   (json_int_t)dropped);
}
