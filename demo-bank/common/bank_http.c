/*
 * bank_http: server, router, JSON replies and client (see bank_http.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "bank_http.h"

#include <causeway/http.h>
#include <civetweb.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bank_svc.h"

#define BODY_MAX (64 * 1024)
#define REPLY_MAX (4 * 1024 * 1024)

typedef struct server {
  const bank_route *routes;
  const char *static_dir;
} server;

/* ---- Replies ------------------------------------------------------------- */

int bank_reply_raw(bank_req *r, int status, const char *type, const char *body,
                   size_t len) {
  cw_http_respond(r->conn, status, type, body, len);
  r->status = status;
  return status;
}

int bank_reply_json(bank_req *r, int status, json_t *body) {
  char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
  json_decref(body);
  if (!s)
    return bank_reply_raw(r, 500, "application/json",
                          "{\"error\":\"out of memory\"}", 25);
  bank_reply_raw(r, status, "application/json", s, strlen(s));
  free(s);
  return status;
}

int bank_reply_error(bank_req *r, int status, const char *msg) {
  return bank_reply_json(r, status, json_pack("{s:s}", "error", msg));
}

int bank_reply_error_hdr(bank_req *r, int status, const char *msg,
                         const char *hname, const char *hvalue) {
  json_t *o = json_pack("{s:s}", "error", msg);
  char *body = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  size_t len = body ? strlen(body) : 0;
  char lens[24];
  snprintf(lens, sizeof lens, "%zu", len);
  mg_response_header_start(r->conn, status);
  mg_response_header_add(r->conn, "Content-Type", "application/json", -1);
  mg_response_header_add(r->conn, "Content-Length", lens, -1);
  mg_response_header_add(r->conn, hname, hvalue, -1);
  cw_http_send_headers(r->conn, status);
  if (body)
    mg_write(r->conn, body, len);
  free(body);
  r->status = status;
  return status;
}

int bank_param_id(bank_req *r, int i, int64_t *out) {
  const char *s = i < BANK_MAX_PARAMS ? r->params[i] : NULL;
  char *end = NULL;
  errno = 0;
  long long v = s ? strtoll(s, &end, 10) : 0;
  if (!s || !*s || errno || *end || v <= 0 || s[0] == '+' || s[0] == ' ') {
    bank_reply_error(r, 400, "id must be a positive integer");
    return -1;
  }
  *out = v;
  return 0;
}

int bank_query_var(const bank_req *r, const char *name, char *buf, size_t cap) {
  if (!r->query)
    return -1;
  return mg_get_var(r->query, strlen(r->query), name, buf, cap) >= 0 ? 0 : -1;
}

/* ---- Built-in routes ----------------------------------------------------- */

static int h_health(bank_req *r) {
  json_t *o =
      json_pack("{s:s,s:b}", "status", "ok", "tracing", cw_is_enabled());
  return bank_reply_json(r, 200, o);
}

static int h_metrics(bank_req *r) {
  char *t = bank_metrics_text();
  if (!t)
    return bank_reply_error(r, 500, "out of memory");
  bank_reply_raw(r, 200, "text/plain; version=0.0.4", t, strlen(t));
  free(t);
  return 200;
}

/* Writes every event recorded so far to the collector, so a scenario's
 * findings are complete before the runner reads them. */
static int h_flush(bank_req *r) {
  cw_status st = cw_flush();
  return bank_reply_json(r, 200,
                         json_pack("{s:b,s:s}", "flushed",
                                   st == CW_OK || st == CW_EDISABLED, "status",
                                   cw_strerror(st)));
}

static const bank_route builtin[] = {{"GET", "/health", h_health},
                                     {"GET", "/metrics", h_metrics},
                                     {"POST", "/admin/flush", h_flush},
                                     {NULL, NULL, NULL}};

/* ---- Router -------------------------------------------------------------- */

/* Matches path against pattern, filling r->params. */
static int match(const char *pattern, const char *path, bank_req *r) {
  int np = 0;
  size_t used = 0;
  const char *p = pattern, *s = path;
  while (*p && *s) {
    if (*p != '/' || *s != '/')
      return 0;
    p++;
    s++;
    const char *pe = strchr(p, '/');
    const char *se = strchr(s, '/');
    size_t pl = pe ? (size_t)(pe - p) : strlen(p);
    size_t sl = se ? (size_t)(se - s) : strlen(s);
    if (*p == ':') {
      if (sl == 0 || np >= BANK_MAX_PARAMS ||
          used + sl + 1 > sizeof r->param_buf)
        return 0;
      memcpy(r->param_buf + used, s, sl);
      r->param_buf[used + sl] = 0;
      r->params[np++] = r->param_buf + used;
      used += sl + 1;
    } else if (pl != sl || memcmp(p, s, pl) != 0) {
      return 0;
    }
    p += pl;
    s += sl;
  }
  return *p == 0 && *s == 0;
}

static int read_body(bank_req *r) {
  const struct mg_request_info *ri = mg_get_request_info(r->conn);
  if (ri->content_length > BODY_MAX)
    return bank_reply_error(r, 413, "body too large");
  char *buf = malloc(BODY_MAX + 1);
  if (!buf)
    return bank_reply_error(r, 500, "out of memory");
  size_t len = 0;
  for (;;) {
    int n = mg_read(r->conn, buf + len, BODY_MAX + 1 - len);
    if (n <= 0)
      break;
    len += (size_t)n;
    if (len > BODY_MAX) {
      free(buf);
      return bank_reply_error(r, 413, "body too large");
    }
  }
  if (len == 0) {
    free(buf);
    r->body = json_object();
    return 0;
  }
  json_error_t err;
  r->body = json_loadb(buf, len, 0, &err);
  free(buf);
  if (!r->body) {
    char msg[256];
    snprintf(msg, sizeof msg, "bad JSON: %s", err.text);
    return bank_reply_error(r, 400, msg);
  }
  if (!json_is_object(r->body)) {
    json_decref(r->body);
    r->body = NULL;
    return bank_reply_error(r, 400, "bad JSON: the body must be an object");
  }
  return 0;
}

static int serve_static(bank_req *r, const char *dir) {
  if (strstr(r->path, "..") || strlen(r->path) > 200)
    return bank_reply_error(r, 404, "not found");
  char file[4096];
  snprintf(file, sizeof file, "%s%s%s", dir, r->path,
           r->path[strlen(r->path) - 1] == '/' ? "index.html" : "");
  struct stat st;
  if (stat(file, &st) != 0 || !S_ISREG(st.st_mode))
    return bank_reply_error(r, 404, "not found");
  FILE *f = fopen(file, "rb");
  if (!f)
    return bank_reply_error(r, 404, "not found");
  char *buf = malloc((size_t)st.st_size + 1);
  size_t n = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
  fclose(f);
  if (!buf)
    return bank_reply_error(r, 500, "out of memory");
  const char *ext = strrchr(file, '.');
  const char *type = !ext                        ? "application/octet-stream"
                     : strcmp(ext, ".html") == 0 ? "text/html; charset=utf-8"
                     : strcmp(ext, ".js") == 0   ? "text/javascript"
                     : strcmp(ext, ".css") == 0  ? "text/css"
                                                 : "application/octet-stream";
  bank_reply_raw(r, 200, type, buf, n);
  free(buf);
  return 200;
}

static int dispatch(struct mg_connection *conn, void *cbdata) {
  const server *sv = cbdata;
  const struct mg_request_info *ri = mg_get_request_info(conn);
  bank_req r;
  memset(&r, 0, sizeof r);
  r.conn = conn;
  r.method = ri->request_method;
  r.path = ri->local_uri ? ri->local_uri : "/";
  r.query = ri->query_string;
  int64_t t0 = bank_now_ms();
  const bank_route *hit = NULL;
  int path_known = 0;
  for (int pass = 0; pass < 2 && !hit; pass++) {
    const bank_route *rt = pass == 0 ? builtin : sv->routes;
    for (; rt->pattern && !hit; rt++) {
      if (!match(rt->pattern, r.path, &r))
        continue;
      path_known = 1;
      if (strcmp(rt->method, r.method) == 0)
        hit = rt;
    }
  }
  if (hit) {
    int m = strcmp(r.method, "GET") != 0 && strcmp(r.method, "DELETE") != 0;
    if (!m || read_body(&r) == 0)
      hit->fn(&r);
  } else if (path_known) {
    bank_reply_error(&r, 405, "method not allowed");
  } else if (sv->static_dir && strcmp(r.method, "GET") == 0) {
    serve_static(&r, sv->static_dir);
  } else {
    bank_reply_error(&r, 404, "not found");
  }
  json_decref(r.body);
  if (!r.status)
    bank_reply_error(&r, 500, "handler sent no reply");
  bank_count_request(r.status);
  if (r.status >= 400 || strcmp(r.path, "/health") != 0)
    bank_log(r.status >= 500 ? "error" : "info", "request",
             json_pack("{s:s,s:s,s:i,s:I}", "method", r.method, "path", r.path,
                       "status", r.status, "ms",
                       (json_int_t)(bank_now_ms() - t0)));
  return r.status;
}

struct mg_context *bank_http_start(const char *service, int port, int threads,
                                   const bank_route *routes,
                                   const char *static_dir, int *port_out) {
  static server sv;
  sv.routes = routes;
  sv.static_dir = static_dir;
  char listen[64], nthreads[16];
  snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
  snprintf(nthreads, sizeof nthreads, "%d", threads);
  const char *opts[] = {"listening_ports",
                        listen,
                        "num_threads",
                        nthreads,
                        "enable_keep_alive",
                        "yes",
                        "request_timeout_ms",
                        "60000",
                        NULL};
  mg_init_library(0);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  struct mg_callbacks cb;
  memset(&cb, 0, sizeof cb);
  struct mg_context *ctx = mg_start(&cb, NULL, opts);
  if (!ctx) {
    bank_log("error", "cannot listen",
             json_pack("{s:s,s:i}", "service", service, "port", port));
    return NULL;
  }
  if (cw_http_set_request_handler(ctx, "**", dispatch, &sv) != CW_OK) {
    mg_stop(ctx);
    return NULL;
  }
  struct mg_server_port ports[4];
  memset(ports, 0, sizeof ports);
  if (mg_get_server_ports(ctx, 4, ports) < 1) {
    mg_stop(ctx);
    return NULL;
  }
  *port_out = ports[0].port;
  return ctx;
}

/* ---- Client -------------------------------------------------------------- */

typedef struct sink {
  char *buf;
  size_t len;
  int over;
} sink;

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  sink *s = ud;
  size_t k = size * n;
  if (s->over || s->len + k > REPLY_MAX) {
    s->over = 1;
    return k;
  }
  char *nb = realloc(s->buf, s->len + k + 1);
  if (!nb) {
    s->over = 1;
    return k;
  }
  s->buf = nb;
  memcpy(s->buf + s->len, p, k);
  s->len += k;
  s->buf[s->len] = 0;
  return k;
}

static _Thread_local CURL *tl_easy;

static int do_call(const char *method, const char *url, json_t *body,
                   json_t **out, long timeout_ms, const char *extra_header,
                   int traced) {
  if (out)
    *out = NULL;
  if (!tl_easy)
    tl_easy = curl_easy_init();
  CURL *e = tl_easy;
  if (!e)
    return BANK_CALL_ERROR;
  curl_easy_reset(e);
  char *payload = body ? json_dumps(body, JSON_COMPACT) : NULL;
  struct curl_slist *hdr = NULL;
  hdr = curl_slist_append(hdr, "Content-Type: application/json");
  if (extra_header)
    hdr = curl_slist_append(hdr, extra_header);
  sink s = {NULL, 0, 0};
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 30000L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &s);
  if (payload) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, payload);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
  }
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdr);
  cw_curl_opts o;
  memset(&o, 0, sizeof o);
  o.size = sizeof o;
  o.headers = hdr;
  o.method = method;
  CURLcode rc = traced ? cw_curl_perform(e, &o) : curl_easy_perform(e);
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
  curl_slist_free_all(hdr);
  free(payload);
  int result = (int)status;
  if (rc == CURLE_OPERATION_TIMEDOUT)
    result = BANK_CALL_TIMEOUT;
  else if (rc != CURLE_OK || s.over)
    result = BANK_CALL_ERROR;
  if (out && result > 0 && s.buf)
    *out = json_loads(s.buf, 0, NULL);
  free(s.buf);
  return result;
}

int bank_call(const char *method, const char *url, json_t *body, json_t **out,
              long timeout_ms, const char *extra_header) {
  return do_call(method, url, body, out, timeout_ms, extra_header, 1);
}

int bank_call_untraced(const char *method, const char *url, json_t *body,
                       json_t **out, long timeout_ms) {
  /* An empty Expect: header, as cw_curl_perform adds for civetweb. */
  return do_call(method, url, body, out, timeout_ms, "Expect:", 0);
}

const char *bank_url(char *buf, size_t cap, const char *base, const char *fmt,
                     ...) {
  int n = snprintf(buf, cap, "%s", base ? base : "");
  if (n < 0 || (size_t)n >= cap)
    return buf;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf + n, cap - (size_t)n, fmt, ap);
  va_end(ap);
  return buf;
}
