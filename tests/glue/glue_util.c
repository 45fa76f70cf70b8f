/*
 * glue_util: helpers for the integration programs (see glue_util.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "glue_util.h"

#include <civetweb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "causeway/http.h"

struct mg_context *glue_start_server(int threads, int *port) {
  char nthreads[16];
  snprintf(nthreads, sizeof nthreads, "%d", threads);
  const char *opts[] = {"listening_ports",
                        "127.0.0.1:0",
                        "num_threads",
                        nthreads,
                        "enable_keep_alive",
                        "yes",
                        "request_timeout_ms",
                        "20000",
                        NULL};
  struct mg_callbacks cb;
  memset(&cb, 0, sizeof cb);
  struct mg_context *ctx = mg_start(&cb, NULL, opts);
  if (!ctx)
    return NULL;
  struct mg_server_port ports[4];
  memset(ports, 0, sizeof ports);
  if (mg_get_server_ports(ctx, 4, ports) < 1) {
    mg_stop(ctx);
    return NULL;
  }
  *port = ports[0].port;
  return ctx;
}

int glue_write_port(const char *path, int port) {
  char tmp[1024];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f)
    return -1;
  int bad = fprintf(f, "%d\n", port) < 0;
  bad |= fclose(f) != 0;
  return bad || rename(tmp, path) != 0 ? -1 : 0;
}

void glue_block_signals(void) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGTERM);
  sigaddset(&s, SIGINT);
  pthread_sigmask(SIG_BLOCK, &s, NULL);
}

void glue_wait_signal(void) {
  sigset_t s;
  int sig = 0;
  sigemptyset(&s);
  sigaddset(&s, SIGTERM);
  sigaddset(&s, SIGINT);
  sigwait(&s, &sig);
}

typedef struct sink {
  char *buf;
  size_t cap, len;
} sink;

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  sink *s = ud;
  size_t k = size * n;
  for (size_t i = 0; i < k && s->len + 1 < s->cap; i++)
    s->buf[s->len++] = p[i];
  if (s->cap)
    s->buf[s->len] = 0;
  return k;
}

int glue_http(const char *method, const char *url, char *body, size_t cap,
              long timeout_ms) {
  CURL *h = curl_easy_init();
  if (!h)
    return -1;
  sink s = {body, cap, 0};
  if (cap)
    body[0] = 0;
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
  if (strcmp(method, "GET") != 0)
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  cw_curl_opts o;
  memset(&o, 0, sizeof o);
  o.size = sizeof o;
  o.method = method;
  CURLcode rc = cw_curl_perform(h, &o);
  long status = -1;
  if (rc == CURLE_OK)
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(h);
  return (int)status;
}

int glue_query_var(const void *conn, const char *name, char *out, size_t cap) {
  const struct mg_request_info *ri =
      mg_get_request_info((const struct mg_connection *)conn);
  if (!ri || !ri->query_string)
    return -1;
  return mg_get_var(ri->query_string, strlen(ri->query_string), name, out,
                    cap) >= 0
             ? 0
             : -1;
}

long glue_env_long(const char *name, long dflt) {
  const char *v = getenv(name);
  if (!v || !*v)
    return dflt;
  char *end = NULL;
  long r = strtol(v, &end, 10);
  return end && *end == 0 ? r : dflt;
}
