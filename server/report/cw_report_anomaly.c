/*
 * cw_report_anomaly: the one JSON shape of an anomaly group (the CLI's
 * JSON report and GET /v1/anomalies), the thresholds object, and the
 * one-line description the text, SARIF and JUnit writers share
 * (docs/detection.md section 10, docs/http-api.md).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cw_report.h"
#include "cw_report_util.h"

static json_t *u64(uint64_t v) {
  return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

static json_t *str(const cw_engine *e, cw_sym s) {
  return cw__report_jstr(cw__engine_str(e, s));
}

json_t *cw__report_anomaly_json(const cw_engine *e, const cw_anomaly *a,
                                size_t index) {
  int bad = 0;
  json_t *o = json_object(), *d = json_object(), *f = json_object();
  if (!o || !d || !f) {
    json_decref(o);
    json_decref(d);
    json_decref(f);
    return NULL;
  }
  cw__jput(o, "index", u64(index), &bad);
  cw__jput(o, "kind", json_string(cw__anomaly_kind_name(a->kind)), &bad);
  cw__jput(o, "service", str(e, a->service), &bad);
  cw__jput(o, "site", str(e, a->site), &bad);
  cw__jput(o, "object", str(e, a->object), &bad);
  cw__jput(o, "what", str(e, a->what), &bad);
  cw__jput(o, "count", u64(a->count), &bad);
  cw__jput(o, "calls", u64(a->calls), &bad);
  cw__jput(o, "threshold_ns", u64(a->threshold_ns), &bad);
  cw__jput(o, "systematic", json_boolean(a->systematic), &bad);
  cw__jput(d, "total", u64(a->total_ns), &bad);
  cw__jput(d, "p50", u64(a->p50_ns), &bad);
  cw__jput(d, "p99", u64(a->p99_ns), &bad);
  cw__jput(d, "max", u64(a->max_ns), &bad);
  cw__jput(o, "duration_ns", d, &bad);
  cw__jput(o, "peak", u64(a->peak), &bad);
  cw__jput(o, "window_ns", u64(a->window_ns), &bad);
  cw__jput(f, "actor", cw__report_jstr(cw__report_actor(e, a->first_actor)),
           &bad);
  cw__jput(f, "service", cw__report_jstr(cw__report_service(e, a->first_actor)),
           &bad);
  cw__jput(f, "location", str(e, a->first_loc), &bad);
  cw__jput(f, "seq", u64(a->first_seq), &bad);
  cw__jput(f, "ts_ns", json_integer((json_int_t)a->first_ts_ns), &bad);
  cw__jput(f, "duration_ns", u64(a->first_duration_ns), &bad);
  cw__jput(o, "first", f, &bad);
  if (bad) {
    json_decref(o);
    return NULL;
  }
  return o;
}

json_t *cw__report_anomaly_thresholds(const cw_engine *e) {
  cw_engine_config c;
  cw__engine_anomaly_config(e, &c);
  return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "slow_db_ns", u64(c.slow_db_ns),
                   "slow_http_ns", u64(c.slow_http_ns), "slow_span_ns",
                   u64(c.slow_span_ns), "lock_wait_ns", u64(c.lock_wait_ns),
                   "retry_storm", u64(c.retry_storm), "retry_window_ns",
                   u64(c.retry_window_ns));
}

/* Milliseconds with up to three decimals: "2000", "0.12". */
static void ms(char *buf, size_t cap, uint64_t ns) {
  if (ns % 1000000 == 0)
    snprintf(buf, cap, "%" PRIu64, ns / 1000000);
  else
    snprintf(buf, cap, "%.3f", (double)ns / 1e6);
}

size_t cw__report_anomaly_line(const cw_engine *e, const cw_anomaly *a,
                               char *buf, size_t cap) {
  const char *site = cw__engine_str(e, a->site);
  const char *svc = cw__engine_str(e, a->service);
  const char *what = cw__engine_str(e, a->what);
  char thr[32], p50[32], p99[32], mx[32], win[32];
  ms(thr, sizeof thr, a->threshold_ns);
  ms(p50, sizeof p50, a->p50_ns);
  ms(p99, sizeof p99, a->p99_ns);
  ms(mx, sizeof mx, a->max_ns);
  ms(win, sizeof win, a->window_ns);
  int n;
  if (a->kind == CW_ANOM_RETRY_STORM)
    n = snprintf(buf, cap,
                 "retry storm at '%s'%s%s%s: %" PRIu64
                 " retries within %s ms (%" PRIu64 " in all)",
                 site, *svc ? " (service " : "", svc, *svc ? ")" : "", a->peak,
                 win, a->count);
  else if (a->kind == CW_ANOM_TIMEOUT)
    n = snprintf(buf, cap,
                 "timeout at '%s'%s%s%s: %" PRIu64
                 " timeout%s, waited p50 %s ms, max %s ms",
                 site, *svc ? " (service " : "", svc, *svc ? ")" : "", a->count,
                 a->count == 1 ? "" : "s", p50, mx);
  else
    n = snprintf(
        buf, cap,
        "%s at %s%s%s%s: %" PRIu64 " of %" PRIu64
        " %s at or over %s ms (p50 %s ms, p99 %s ms, max %s ms%s)%s%s",
        a->kind == CW_ANOM_LOCK_WAIT ? "long lock wait"
        : a->kind == CW_ANOM_SLOW_DB ? "slow DB call"
        : a->kind == CW_ANOM_SLOW_HTTP
            ? "slow HTTP call"
            : (a->kind == CW_ANOM_SLOW_HTTP_SERVER ? "slow HTTP request"
                                                   : "slow span"),
        site, *svc ? " (service " : "", svc, *svc ? ")" : "", a->count,
        a->calls, a->kind == CW_ANOM_LOCK_WAIT ? "waits" : "calls", thr, p50,
        p99, mx, a->systematic ? ", systematic" : "", *what ? ": " : "", what);
  if (n < 0) {
    if (cap)
      buf[0] = 0;
    return 0;
  }
  return (size_t)n < cap ? (size_t)n : (cap ? cap - 1 : 0);
}
