/*
 * cw_http_client: libcurl glue. cw_curl_perform() records the call, sends
 * the caller's clock and trace context, and joins the callee's clock from
 * the response, so the caller's later events happen after the callee's.
 *
 * DESIGN. libcurl cannot report an easy handle's header list, so the caller
 * passes the list it set; the wrapper installs a copy with the propagation
 * headers for the one transfer and restores the caller's list afterwards.
 * Response headers are read with curl_easy_header() after the transfer, so
 * the caller's header callback is never replaced.
 */
#define _POSIX_C_SOURCE 200809L
#include "cw_http_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DETAIL_MAX 512
#define LINE_MAX_ (CW_CLOCK_HEADER_MAX + 64)

static int has_header(const struct curl_slist *l, const char *name) {
  size_t n = strlen(name);
  for (; l; l = l->next)
    if (strncasecmp(l->data, name, n) == 0 &&
        (l->data[n] == ':' || l->data[n] == ';'))
      return 1;
  return 0;
}

static int append(struct curl_slist **list, const char *line) {
  struct curl_slist *n = curl_slist_append(*list, line);
  if (!n)
    return -1;
  *list = n;
  return 0;
}

/* One cw_curl_perform() call: what the progress callback needs. */
typedef struct call {
  const cw_curl_opts *opts;
  uint64_t t0, wait_ns;
  int waiting; /* recorded a request for the callee's wait resource */
  char name[32];
  cw_loc loc; /* the caller's call site */
} call;

/* libcurl's progress callback, on the calling thread: once the call has
 * lasted the threshold, the caller starts waiting on the callee. */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow) {
  call *c = ud;
  if (!c->waiting && cw_now_ns() - c->t0 >= c->wait_ns) {
    c->waiting = 1;
    cw_annotate_mutex_before_lock_at(c, c->name, c->loc);
  }
  if (c->opts && c->opts->xferinfo)
    return c->opts->xferinfo(c->opts->xferinfo_data, dltotal, dlnow, ultotal,
                             ulnow);
  return 0;
}

/* Builds the transfer's header list: the caller's, then ours. The caller
 * records http_send first, so the clock we send covers it. */
static int build_headers(const cw_curl_opts *opts, int traced, call *cl,
                         struct curl_slist **out) {
  struct curl_slist *list = NULL;
  const struct curl_slist *user = opts ? opts->headers : NULL;
  char line[LINE_MAX_];
  for (const struct curl_slist *l = user; l; l = l->next)
    if (append(&list, l->data) != 0)
      goto oom;
  if (!has_header(user, "Expect") && append(&list, "Expect:") != 0)
    goto oom;
  if (traced) {
    cw_clock_snapshot *snap = cw_clock_snapshot_new();
    char value[CW_CLOCK_HEADER_MAX + 1];
    size_t len = 0;
    int ok = snap && cw_clock_current(snap) == CW_OK &&
             cw_clock_encode(snap, value, sizeof value, &len) == CW_OK;
    cw_clock_snapshot_free(snap);
    if (ok) {
      snprintf(line, sizeof line, "%s: %s", CW_HTTP_CLOCK_HEADER, value);
      if (append(&list, line) != 0)
        goto oom;
    }
  }
  if (!has_header(user, CW_HTTP_TRACEPARENT_HEADER)) {
    uint8_t trace_id[16], span[8];
    char tp[64];
    /* The parent-id is the caller's real span, the one its http_send
     * event carries, so the callee's events name it as their parent. The
     * flags are the inbound request's (sampled, random-trace-id), else
     * sampled. */
    if (!traced || cw_trace_get(trace_id, span) != CW_OK) {
      cw__http_random(trace_id, sizeof trace_id);
      cw__http_random(span, sizeof span);
    }
    const cw__http_req *in = cw__http_current();
    uint8_t flags = in && in->traced ? in->trace_flags : 0x01;
    cw__http_call_name(span, cl->name, sizeof cl->name);
    (void)cw_http_format_traceparent_flags(trace_id, span, flags, tp,
                                           sizeof tp);
    snprintf(line, sizeof line, "%s: %s", CW_HTTP_TRACEPARENT_HEADER, tp);
    if (append(&list, line) != 0)
      goto oom;
  }
  const cw__http_req *req = cw__http_current();
  if (req && req->tracestate[0] &&
      !has_header(user, CW_HTTP_TRACESTATE_HEADER)) {
    snprintf(line, sizeof line, "%s: %s", CW_HTTP_TRACESTATE_HEADER,
             req->tracestate);
    if (append(&list, line) != 0)
      goto oom;
  }
  *out = list;
  return 0;
oom:
  curl_slist_free_all(list);
  return -1;
}

/* Reads and decodes the callee's clock. @return 1 when snap holds it. */
static int response_clock(CURL *easy, cw_clock_snapshot *snap) {
  struct curl_header *h = NULL;
  if (curl_easy_header(easy, CW_HTTP_CLOCK_HEADER, 0, CURLH_HEADER, -1, &h) !=
          CURLHE_OK ||
      !h || !h->value)
    return 0;
  size_t len = strlen(h->value);
  cw_status st = len > CW_HTTP_HEADER_MAX
                     ? CW_ETOOBIG
                     : cw_clock_decode(h->value, len, snap);
  if (st == CW_OK)
    return 1;
  if (st == CW_ETOOBIG)
    CW__HTTP_COUNT(clock_oversized);
  else
    CW__HTTP_COUNT(clock_malformed);
  return 0;
}

static void send_event(CURL *easy, const cw_curl_opts *opts) {
  char detail[DETAIL_MAX];
  char *url = NULL, *method = NULL;
  (void)curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &url);
  if (opts && opts->method)
    method = (char *)opts->method;
  else
    (void)curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_METHOD, &method);
  snprintf(detail, sizeof detail, "%s %s", method ? method : "GET",
           url ? url : "?");
  cw_emit_info ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = CW_EMIT_HTTP_SEND;
  ev.detail = detail;
  (void)cw_emit(&ev);
}

static void response_event(CURL *easy, CURLcode rc, uint64_t t0) {
  char detail[DETAIL_MAX];
  char *url = NULL, *method = NULL;
  long status = 0;
  (void)curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &url);
  (void)curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_METHOD, &method);
  (void)curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  if (rc == CURLE_OK)
    snprintf(detail, sizeof detail, "%s %s", method ? method : "GET",
             url ? url : "?");
  else
    snprintf(detail, sizeof detail, "%s %s: %s", method ? method : "GET",
             url ? url : "?", curl_easy_strerror(rc));
  cw_clock_snapshot *snap = cw_clock_snapshot_new();
  int joined = rc == CURLE_OK && snap && response_clock(easy, snap);
  cw_emit_info ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = CW_EMIT_HTTP_RESPONSE;
  ev.detail = detail;
  ev.has_aux = 1;
  ev.aux = status;
  ev.has_duration = 1;
  ev.duration_ns = cw_now_ns() - t0;
  ev.error = rc != CURLE_OK || status >= 500;
  ev.join = joined ? snap : NULL;
  if (cw_emit(&ev) == CW_OK && joined)
    CW__HTTP_COUNT(clocks_joined);
  cw_clock_snapshot_free(snap);
}

CURLcode(cw_curl_perform)(CURL *easy, const cw_curl_opts *opts) {
  return cw_curl_perform_at(easy, opts, CW_LOC_NONE);
}

CURLcode cw_curl_perform_at(CURL *easy, const cw_curl_opts *opts, cw_loc loc) {
  struct curl_slist *list = NULL;
  int traced = cw_is_enabled();
  call cl;
  memset(&cl, 0, sizeof cl);
  cl.opts = opts;
  cl.loc = loc;
  cl.t0 = cw_now_ns();
  CW__HTTP_COUNT(calls);
  if (traced)
    send_event(easy, opts);
  if (build_headers(opts, traced, &cl, &list) != 0)
    return CURLE_OUT_OF_MEMORY;
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, list);
  cl.wait_ns = traced && cl.name[0] ? cw__http_wait_ns() : 0;
  if (cl.wait_ns > 0) {
    curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(easy, CURLOPT_XFERINFODATA, &cl);
    curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
  }
  CURLcode rc = curl_easy_perform(easy);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, opts ? opts->headers : NULL);
  if (cl.wait_ns > 0) {
    int theirs = opts && opts->xferinfo;
    curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION,
                     theirs ? opts->xferinfo : NULL);
    curl_easy_setopt(easy, CURLOPT_XFERINFODATA,
                     theirs ? opts->xferinfo_data : NULL);
    curl_easy_setopt(easy, CURLOPT_NOPROGRESS, theirs ? 0L : 1L);
  }
  curl_slist_free_all(list);
  if (cl.waiting) {
    /* The wait is over: the callee answered or the call failed. */
    cw_annotate_mutex_after_lock_at(&cl, cl.name, CW_LOC_NONE);
    cw_annotate_mutex_before_unlock_at(&cl, cl.name, CW_LOC_NONE);
    (void)cw_lock_forget(&cl);
  }
  if (traced)
    response_event(easy, rc, cl.t0);
  return rc;
}
