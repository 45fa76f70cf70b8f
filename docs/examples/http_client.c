/*
 * http_client.c: a libcurl client instrumented with causeway's HTTP glue
 * (docs/distributed.md): one user action (a new trace) that reads a balance
 * and makes a deposit. cw_curl_perform() sends the caller's clock and trace
 * context and joins the callee's clock from the response.
 *
 *   cc http_client.c -lcauseway_http -lcauseway -lcurl
 *   cc http_client.c $(pkg-config --cflags --libs causeway-http)
 * (shared libraries; for static ones use `pkg-config --static --libs`,
 * see README's install section; each line is tested by sdk_consumer)
 *   CAUSEWAY_TRACE_FILE=client.cwt ./http_client http://127.0.0.1:8080
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include <causeway.h>
#include <causeway/http.h>

static int call(CURL *h, const char *method, const char *url) {
  struct curl_slist *headers = curl_slist_append(NULL, "Accept: text/plain");
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  if (strcmp(method, "POST") == 0)
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
  cw_curl_opts opts;
  memset(&opts, 0, sizeof opts);
  opts.size = sizeof opts;
  opts.headers = headers; /* libcurl cannot tell the wrapper this list */
  opts.method = method;
  CURLcode rc = cw_curl_perform(h, &opts);
  curl_slist_free_all(headers);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
  if (rc != CURLE_OK) {
    fprintf(stderr, "%s %s: %s\n", method, url, curl_easy_strerror(rc));
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  const char *base = argc > 1 ? argv[1] : "http://127.0.0.1:8080";
  char url[256];
  cw_config cfg;
  cw_config_init(&cfg);
  cfg.service = "teller";
  if (cw_init(&cfg) != CW_OK)
    return 1;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL *h = curl_easy_init();
  cw_http_trace_begin(NULL); /* one user action: one trace id */
  snprintf(url, sizeof url, "%s/balance", base);
  int rc = call(h, "GET", url);
  snprintf(url, sizeof url, "%s/deposit", base);
  if (rc == 0)
    rc = call(h, "POST", url);
  curl_easy_cleanup(h);
  cw_http_stats st;
  cw_http_stats_get(&st);
  printf("calls=%llu clocks joined=%llu\n", (unsigned long long)st.calls,
         (unsigned long long)st.clocks_joined);
  curl_global_cleanup();
  cw_shutdown();
  return rc == 0 ? 0 : 1;
}
