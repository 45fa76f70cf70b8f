/*
 * ae_anomaly.c: anomalies (docs/detection.md section 10): slow DB calls,
 * HTTP calls, served requests and spans, long lock waits, timeouts and
 * retry storms, grouped by (kind, service, call site).
 *
 * DESIGN. Every measured event lands in its site (a hash map from
 * (kind, service, site) to a dense site index). A site keeps a duration
 * histogram of all its events (the contention histogram: exact up to 64
 * samples), the number of anomalous ones and the first anomalous
 * occurrence, chosen as the minimum by (timestamp, actor name, sequence):
 * a minimum does not depend on the order the events came in. Retry sites
 * keep every retry sorted by the same key; while a site is not a storm,
 * each new retry checks only the windows around it (they hold fewer than
 * `retry_storm` retries), so the per-retry cost is bounded by the storm
 * size; once flagged, the site stays flagged, and the query computes the
 * exact busiest window over the sorted list. The summary's `anomalies`
 * counts flagged sites as they flip. The query orders flagged sites by
 * (first occurrence ts, kind, service, site), all arrival-independent.
 */
#include "ae_internal.h"

#include <string.h>

static const char *const kind_names[CW_ANOM_KIND_MAX_] = {
    [CW_ANOM_SLOW_DB] = "slow_db",
    [CW_ANOM_SLOW_HTTP] = "slow_http",
    [CW_ANOM_SLOW_HTTP_SERVER] = "slow_http_server",
    [CW_ANOM_SLOW_SPAN] = "slow_span",
    [CW_ANOM_LOCK_WAIT] = "lock_wait",
    [CW_ANOM_TIMEOUT] = "timeout",
    [CW_ANOM_RETRY_STORM] = "retry_storm",
};

const char *cw__anomaly_kind_name(cw_anomaly_kind k) {
  return (unsigned)k < CW_ANOM_KIND_MAX_ && kind_names[k] ? kind_names[k]
                                                          : "unknown";
}

cw_anomaly_kind cw__anomaly_kind_parse(const char *name) {
  for (unsigned k = 1; name && k < CW_ANOM_KIND_MAX_; k++)
    if (strcmp(name, kind_names[k]) == 0)
      return (cw_anomaly_kind)k;
  return (cw_anomaly_kind)0;
}

void cw__anomaly_defaults(cw_engine_config *c) {
  if (!c->slow_db_ns)
    c->slow_db_ns = CW_ANOM_DEFAULT_SLOW_DB_NS;
  if (!c->slow_http_ns)
    c->slow_http_ns = CW_ANOM_DEFAULT_SLOW_HTTP_NS;
  if (!c->slow_span_ns)
    c->slow_span_ns = CW_ANOM_DEFAULT_SLOW_SPAN_NS;
  if (!c->lock_wait_ns)
    c->lock_wait_ns = CW_ANOM_DEFAULT_LOCK_WAIT_NS;
  if (!c->retry_storm)
    c->retry_storm = CW_ANOM_DEFAULT_RETRY_STORM;
  if (!c->retry_window_ns)
    c->retry_window_ns = CW_ANOM_DEFAULT_RETRY_WINDOW_NS;
}

/* A decimal in [lo, hi] that ends at `end` (or at NUL when end is NULL).
 * @return 0 with *out, else -1. */
static int parse_u64(const char *s, const char *end, uint64_t lo, uint64_t hi,
                     uint64_t *out) {
  uint64_t v = 0;
  const char *p = s;
  if (!p || p == end || !*p)
    return -1;
  for (; end ? p < end : *p != 0; p++) {
    if (*p < '0' || *p > '9' || v > hi)
      return -1;
    v = v * 10 + (uint64_t)(*p - '0');
  }
  if (v < lo || v > hi)
    return -1;
  *out = v;
  return 0;
}

int cw__anomaly_parse_ms(const char *s, uint64_t *ns) {
  uint64_t v;
  if (parse_u64(s, NULL, 1, 1000000000ull, &v) != 0)
    return -1;
  *ns = v * 1000000ull;
  return 0;
}

int cw__anomaly_parse_storm(const char *s, uint32_t *n, uint64_t *window_ns) {
  const char *slash = s ? strchr(s, '/') : NULL;
  uint64_t count;
  if (!slash || parse_u64(s, slash, 2, 1000000, &count) != 0 ||
      cw__anomaly_parse_ms(slash + 1, window_ns) != 0)
    return -1;
  *n = (uint32_t)count;
  return 0;
}

void cw__engine_anomaly_config(const cw_engine *e, cw_engine_config *out) {
  *out = e->cfg;
}

static uint64_t threshold(const cw_engine *e, unsigned kind) {
  switch (kind) {
  case CW_ANOM_SLOW_DB:
    return e->cfg.slow_db_ns;
  case CW_ANOM_SLOW_HTTP:
  case CW_ANOM_SLOW_HTTP_SERVER:
    return e->cfg.slow_http_ns;
  case CW_ANOM_SLOW_SPAN:
    return e->cfg.slow_span_ns;
  case CW_ANOM_LOCK_WAIT:
    return e->cfg.lock_wait_ns;
  default:
    return 0;
  }
}

/* ---- Sites --------------------------------------------------------------- */

static uint32_t site_of(cw_engine *e, unsigned kind, cw_sym service,
                        cw_sym site, cw_sym object) {
  uint64_t ka = (uint64_t)kind << 32 | service;
  uint32_t *v = cw__map_get(&e->asitemap, ka, site);
  if (v)
    return *v - 1; /* the map stores value + 1 */
  if (!e->nasites) {
    AE_RESERVE(e->asites, e->capasites, 1u);
    memset(&e->asites[0], 0, sizeof(e->asites[0]));
    e->nasites = 1;
  }
  AE_RESERVE(e->asites, e->capasites, e->nasites + 1u);
  uint32_t id = e->nasites++;
  ae_asite *s = &e->asites[id];
  memset(s, 0, sizeof(*s));
  s->kind = (uint8_t)kind;
  s->service = service;
  s->site = site;
  s->object = object;
  uint32_t got;
  cw__map_put(&e->asitemap, ka, site, id, &got);
  return id;
}

/* Total order of occurrences: timestamp, actor name, sequence number. */
static int occ_cmp(const cw_engine *e, int64_t ts1, uint32_t a1, uint64_t s1,
                   int64_t ts2, uint32_t a2, uint64_t s2) {
  if (ts1 != ts2)
    return ts1 < ts2 ? -1 : 1;
  if (a1 != a2) {
    int c = strcmp(cw__engine_str(e, e->actors[a1].name),
                   cw__engine_str(e, e->actors[a2].name));
    if (c)
      return c;
  }
  return s1 < s2 ? -1 : s1 > s2;
}

static void flag(cw_engine *e, ae_asite *s) {
  if (!s->flagged) {
    s->flagged = 1;
    e->sum.anomalies++;
  }
}

/* One measured call, wait or timeout of a site. */
static void measure(cw_engine *e, unsigned kind, uint32_t aid, cw_sym site,
                    cw_sym object, cw_sym what, cw_sym loc, uint64_t dur,
                    int64_t ts, uint64_t seq) {
  ae_actor *a = &e->actors[aid];
  if (!site)
    return;
  uint32_t id = site_of(e, kind, a->service, site, object);
  ae_asite *s = &e->asites[id];
  cw__hist_add(&s->dur, dur);
  if (kind != CW_ANOM_TIMEOUT && dur < threshold(e, kind))
    return;
  if (s->count++ &&
      occ_cmp(e, ts, aid, seq, s->f_ts, s->f_actor, s->f_seq) >= 0)
    return;
  s->f_ts = ts;
  s->f_actor = aid;
  s->f_seq = seq;
  s->f_dur = dur;
  s->f_loc = loc;
  s->f_what = what;
  s->f_object = object;
  flag(e, s);
}

/* Most retries within one window starting at index i (sorted list). */
static uint32_t window_count(const ae_asite *s, uint32_t i, uint64_t w) {
  uint32_t k = i;
  while (k < s->nr && (uint64_t)(s->r[k].ts - s->r[i].ts) <= w)
    k++;
  return k - i;
}

static void retry(cw_engine *e, uint32_t aid, const cw_aevent *ev, int64_t ts) {
  ae_actor *a = &e->actors[aid];
  uint32_t id =
      site_of(e, CW_ANOM_RETRY_STORM, a->service, ev->object, ev->object);
  ae_asite *s = &e->asites[id];
  AE_RESERVE(s->r, s->capr, s->nr + 1u);
  uint32_t i = s->nr;
  while (i > 0 && occ_cmp(e, ts, aid, ev->seq, s->r[i - 1].ts,
                          s->r[i - 1].actor, s->r[i - 1].seq) < 0)
    i--;
  memmove(&s->r[i + 1], &s->r[i], (s->nr - i) * sizeof(*s->r));
  s->r[i] = (ae_retry){ts, aid, ev->loc, ev->seq};
  s->nr++;
  s->count++;
  if (s->flagged)
    return;
  /* Only windows that contain the new retry can have grown. */
  uint64_t w = e->cfg.retry_window_ns;
  uint32_t lo = i;
  while (lo > 0 && (uint64_t)(ts - s->r[lo - 1].ts) <= w)
    lo--;
  for (uint32_t k = lo; k <= i; k++)
    if (window_count(s, k, w) >= e->cfg.retry_storm) {
      flag(e, s);
      return;
    }
}

/* "METHOD url" without query or fragment, numeric and long hex path
 * segments replaced by ":id" (so /accounts/7 and /accounts/8 are one
 * site). @return the interned site, 0 for an empty detail. */
static cw_sym http_site(cw_engine *e, cw_sym detail) {
  const char *d = cw__engine_str(e, detail);
  char out[512];
  size_t n = 0;
  const char *sp = strchr(d, ' ');
  if (!*d)
    return 0;
  const char *p = d;
  if (sp) { /* copy the method */
    size_t ml = (size_t)(sp - d);
    if (ml > 32)
      ml = 32;
    memcpy(out, d, ml);
    n = ml;
    out[n++] = ' ';
    p = sp + 1;
  }
  /* Skip "scheme://host" so that only the path is normalised. */
  const char *path = strstr(p, "://");
  path = path ? strchr(path + 3, '/') : p;
  if (!path)
    path = p + strcspn(p, " ?#");
  size_t hl = (size_t)(path - p);
  if (hl > 200)
    hl = 200;
  memcpy(out + n, p, hl);
  n += hl;
  p = path;
  while (*p && *p != '?' && *p != '#' && *p != ' ' && *p != ':' &&
         n < sizeof(out) - 8) {
    if (*p == '/') {
      out[n++] = *p++;
      continue;
    }
    size_t len = strcspn(p, "/?# ");
    int digits = 1, hex = len >= 8;
    for (size_t i = 0; i < len; i++) {
      char c = p[i];
      if (c < '0' || c > '9')
        digits = 0;
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
            (c >= 'A' && c <= 'F') || c == '-'))
        hex = 0;
    }
    if (digits || hex) {
      memcpy(out + n, ":id", 3);
      n += 3;
    } else {
      size_t room = sizeof(out) - 8 - n;
      size_t c = len < room ? len : room;
      memcpy(out + n, p, c);
      n += c;
    }
    p += len;
  }
  return cw__engine_intern(e, out, n);
}

void cw__anomaly_event(cw_engine *e, uint32_t aid, const cw_aevent *ev) {
  ae_actor *a = &e->actors[aid];
  int64_t ts = ev->ts_ns;
  switch (ev->kind) {
  case CW_AE_DB_QUERY:
    a->db_what = ev->detail;
    return;
  case CW_AE_DB_RESULT:
    measure(e, CW_ANOM_SLOW_DB, aid, ev->loc ? ev->loc : ev->object, ev->object,
            a->db_what, ev->loc, ev->duration_ns, ts, ev->seq);
    a->db_what = 0;
    return;
  case CW_AE_HTTP_SEND:
    a->http_what = ev->detail;
    a->http_site = ev->detail ? http_site(e, ev->detail) : 0;
    return;
  case CW_AE_HTTP_RESPONSE: {
    cw_sym what = a->http_what ? a->http_what : ev->detail;
    cw_sym site = a->http_what ? a->http_site
                               : (ev->detail ? http_site(e, ev->detail) : 0);
    measure(e, CW_ANOM_SLOW_HTTP, aid, site, 0, what, ev->loc, ev->duration_ns,
            ts, ev->seq);
    a->http_what = a->http_site = 0;
    return;
  }
  case CW_AE_HTTP_RECV:
    a->srv_what = ev->detail;
    a->srv_site = ev->detail ? http_site(e, ev->detail) : 0;
    return;
  case CW_AE_HTTP_RESPOND:
    measure(e, CW_ANOM_SLOW_HTTP_SERVER, aid, a->srv_site, 0, a->srv_what,
            ev->loc, ev->duration_ns, ts, ev->seq);
    return;
  case CW_AE_SPAN_END:
    measure(e, CW_ANOM_SLOW_SPAN, aid, ev->object, ev->object, ev->object,
            ev->loc, ev->duration_ns, ts, ev->seq);
    return;
  case CW_AE_TIMEOUT:
    measure(e, CW_ANOM_TIMEOUT, aid, ev->object, ev->object, ev->object,
            ev->loc, ev->duration_ns, ts, ev->seq);
    return;
  case CW_AE_RETRY:
    retry(e, aid, ev, ts);
    return;
  default:
    return;
  }
}

void cw__anomaly_lock_wait(cw_engine *e, uint32_t aid, cw_sym lock,
                           uint64_t wait) {
  ae_actor *a = &e->actors[aid];
  measure(e, CW_ANOM_LOCK_WAIT, aid, a->req_loc ? a->req_loc : lock, lock, lock,
          a->req_loc, wait, a->req_ts, a->req_seq);
}

/* ---- Query --------------------------------------------------------------- */

static int cmp_anomaly(const cw_engine *e, const cw_anomaly *x,
                       const cw_anomaly *y) {
  if (x->first_ts_ns != y->first_ts_ns)
    return x->first_ts_ns < y->first_ts_ns ? -1 : 1;
  if (x->kind != y->kind)
    return x->kind < y->kind ? -1 : 1;
  int c = strcmp(cw__engine_str(e, x->service), cw__engine_str(e, y->service));
  if (c)
    return c;
  return strcmp(cw__engine_str(e, x->site), cw__engine_str(e, y->site));
}

/* Stable merge sort of a[0..n) with tmp[0..n) as scratch (qsort has no
 * context argument, and the order compares symbol strings). */
static void sort_anomalies(const cw_engine *e, cw_anomaly *a, cw_anomaly *tmp,
                           size_t n) {
  if (n < 2)
    return;
  size_t h = n / 2;
  sort_anomalies(e, a, tmp, h);
  sort_anomalies(e, a + h, tmp, n - h);
  size_t i = 0, j = h, k = 0;
  while (i < h && j < n)
    tmp[k++] = cmp_anomaly(e, &a[j], &a[i]) < 0 ? a[j++] : a[i++];
  while (i < h)
    tmp[k++] = a[i++];
  while (j < n)
    tmp[k++] = a[j++];
  memcpy(a, tmp, n * sizeof(*a));
}

size_t cw__engine_anomalies(const cw_engine *ce, const cw_anomaly **out) {
  /* The engine was allocated non-const; queries refresh a cache in it. */
  cw_engine *e = (cw_engine *)(uintptr_t)ce;
  /* Twice the groups: the second half is the sort's scratch. */
  AE_RESERVE(e->aout, e->capaout, 2 * e->sum.anomalies + 2u);
  size_t n = 0;
  for (uint32_t i = 1; i < e->nasites; i++) {
    const ae_asite *s = &e->asites[i];
    if (!s->flagged)
      continue;
    cw_anomaly *x = &e->aout[n++];
    memset(x, 0, sizeof(*x));
    x->kind = (cw_anomaly_kind)s->kind;
    x->service = s->service;
    x->site = s->site;
    x->object = s->object;
    x->count = s->count;
    x->threshold_ns = threshold(e, s->kind);
    if (s->kind == CW_ANOM_RETRY_STORM) {
      uint64_t w = e->cfg.retry_window_ns;
      uint32_t first = UINT32_MAX;
      for (uint32_t k = 0, end = 0; k < s->nr; k++) {
        while (end < s->nr && (uint64_t)(s->r[end].ts - s->r[k].ts) <= w)
          end++;
        if (end - k > x->peak)
          x->peak = end - k;
        if (first == UINT32_MAX && end - k >= e->cfg.retry_storm)
          first = k;
      }
      x->calls = s->nr;
      x->window_ns = w;
      if (first == UINT32_MAX)
        first = 0; /* flagged: some window held a storm */
      const ae_retry *r = &s->r[first];
      x->what = s->object;
      x->first_actor = r->actor;
      x->first_loc = r->loc;
      x->first_seq = r->seq;
      x->first_ts_ns = r->ts;
      continue;
    }
    x->calls = s->dur.n;
    x->total_ns = s->dur.total;
    x->p50_ns = cw__hist_pct(&s->dur, 50);
    x->p99_ns = cw__hist_pct(&s->dur, 99);
    x->max_ns = s->dur.max;
    x->systematic = x->threshold_ns && x->p99_ns >= x->threshold_ns;
    x->what = s->f_what;
    if (s->f_object)
      x->object = s->f_object;
    x->first_actor = s->f_actor;
    x->first_loc = s->f_loc;
    x->first_seq = s->f_seq;
    x->first_ts_ns = s->f_ts;
    x->first_duration_ns = s->f_dur;
  }
  sort_anomalies(e, e->aout, e->aout + n, n);
  *out = e->aout;
  return n;
}

void cw__anomaly_free(cw_engine *e) {
  for (uint32_t i = 1; i < e->nasites; i++) {
    cw__hist_free(&e->asites[i].dur);
    cw__ae_free(e->asites[i].r);
  }
  cw__ae_free(e->asites);
  cw__map_free(&e->asitemap);
  cw__ae_free(e->aout);
}
