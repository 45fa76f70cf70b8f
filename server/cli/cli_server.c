/*
 * cli_server: `causeway check --server URL`, the CI gate on a running
 * collector. It reads GET /v1/findings?sync=1 (every acknowledged batch
 * analysed first), prints the report and exits like `check` does on files:
 * 0 clean, 1 when something in --fail-on was found, 2 for usage, network,
 * authentication or protocol errors.
 *
 * The collector's findings are the JSON report the CLI itself writes, so
 * `--report json` passes it through and `--report text` renders the same
 * fields the file-based text report shows.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "cw_json_depth.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The largest findings document accepted (a bounded buffer). */
#define MAX_BODY ((size_t)256 << 20)

typedef struct body {
  char *data;
  size_t len, cap;
  int too_big;
} body;

static size_t on_data(char *p, size_t size, size_t n, void *ud) {
  body *b = ud;
  size_t k = size * n;
  if (b->len + k + 1 > MAX_BODY) {
    b->too_big = 1;
    return 0; /* aborts the transfer */
  }
  if (b->len + k + 1 > b->cap) {
    size_t nc = b->cap ? b->cap : 1 << 16;
    while (nc < b->len + k + 1)
      nc *= 2;
    char *d = realloc(b->data, nc);
    if (!d)
      return 0;
    b->data = d;
    b->cap = nc;
  }
  memcpy(b->data + b->len, p, k);
  b->len += k;
  b->data[b->len] = '\0';
  return k;
}

/* GETs base + path. @return the HTTP status (0 on a network error, with
 * the message in errbuf) and the body in *b. */
static long http_get(const char *base, const char *path, const char *key,
                     body *b, char *errbuf) {
  char url[2048];
  size_t bl = strlen(base);
  while (bl && base[bl - 1] == '/')
    bl--;
  if (snprintf(url, sizeof url, "%.*s%s", (int)bl, base, path) >=
      (int)sizeof url) {
    snprintf(errbuf, CURL_ERROR_SIZE, "URL too long");
    return 0;
  }
  CURL *h = curl_easy_init();
  if (!h) {
    snprintf(errbuf, CURL_ERROR_SIZE, "cannot start libcurl");
    return 0;
  }
  struct curl_slist *hdrs = NULL;
  char auth[600];
  if (key && *key) {
    snprintf(auth, sizeof auth, "Authorization: Bearer %.500s", key);
    hdrs = curl_slist_append(hdrs, auth);
  }
  hdrs = curl_slist_append(hdrs, "Accept: application/json");
  errbuf[0] = '\0';
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 120000L);
  CURLcode rc = curl_easy_perform(h);
  long status = 0;
  if (rc == CURLE_OK)
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  else if (b->too_big)
    snprintf(errbuf, CURL_ERROR_SIZE, "answer larger than %zu bytes", MAX_BODY);
  else if (!errbuf[0])
    snprintf(errbuf, CURL_ERROR_SIZE, "%s", curl_easy_strerror(rc));
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(h);
  return status;
}

static json_int_t summary_int(json_t *report, const char *key) {
  json_t *v = json_object_get(json_object_get(report, "summary"), key);
  return json_is_integer(v) ? json_integer_value(v) : 0;
}

/* A string of the collector's report, escaped for the terminal. */
static const char *str_of(json_t *o, const char *key) {
  json_t *v = json_object_get(o, key);
  return json_is_string(v) ? cw__report_vis(json_string_value(v)) : "?";
}

static void print_side(FILE *out, json_t *side) {
  fprintf(out, "    %s at %s by %s (service %s)", str_of(side, "access"),
          str_of(side, "location"), str_of(side, "actor"),
          str_of(side, "service"));
  json_t *locks = json_object_get(side, "locks");
  size_t n = json_array_size(locks);
  if (n) {
    fputs(", holding", out);
    for (size_t i = 0; i < n; i++) {
      json_t *l = json_array_get(locks, i);
      fprintf(out, "%s %s", i ? "," : "",
              json_is_string(l) ? cw__report_vis(json_string_value(l)) : "?");
    }
  }
  fputc('\n', out);
}

static void print_cycles(FILE *out, json_t *list, const char *what) {
  size_t i;
  json_t *d;
  json_array_foreach(list, i, d) {
    json_t *cycle = json_object_get(d, "cycle");
    fprintf(out, "WARNING: causeway: %s (%zu locks)\n", what,
            json_array_size(cycle));
    size_t k;
    json_t *e;
    json_array_foreach(cycle, k, e) {
      fprintf(out, "    %s (service %s) holds %s, requests %s at %s\n",
              str_of(e, "actor"), str_of(e, "service"), str_of(e, "held"),
              str_of(e, "requested"), str_of(e, "location"));
    }
  }
}

static void print_text(FILE *out, json_t *r, const char *url) {
  size_t i;
  json_t *g;
  json_array_foreach(json_object_get(r, "races"), i, g) {
    fprintf(out, "WARNING: causeway: data race on '%s' (%s, %lld pairs)\n",
            str_of(g, "variable"), str_of(g, "severity"),
            (long long)json_integer_value(json_object_get(g, "count")));
    print_side(out, json_object_get(g, "first"));
    print_side(out, json_object_get(g, "second"));
  }
  print_cycles(out, json_object_get(r, "potential_deadlocks"),
               "potential deadlock (lock-order cycle)");
  print_cycles(out, json_object_get(r, "deadlocks"),
               "deadlock (wait-for cycle)");
  fprintf(out,
          "SUMMARY: causeway: %s: %lld events, %lld racy variables, %lld "
          "racy location pairs, %lld race groups, %lld potential deadlocks, "
          "%lld deadlocks, %lld contended locks, %lld anomalies\n",
          url, (long long)summary_int(r, "events"),
          (long long)summary_int(r, "racy_variables"),
          (long long)summary_int(r, "racy_location_pairs"),
          (long long)summary_int(r, "race_groups"),
          (long long)summary_int(r, "potential_deadlocks"),
          (long long)summary_int(r, "deadlocks"),
          (long long)summary_int(r, "contended_locks"),
          (long long)summary_int(r, "anomalies"));
}

static int verdict(const cli_opts *o, json_t *r) {
  if ((o->fail_on & FAIL_RACE) && summary_int(r, "race_groups") > 0)
    return CLI_FOUND;
  if (o->fail_on & FAIL_RACE_ERROR) {
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(r, "races"), i, g) {
      if (!strcmp(str_of(g, "severity"), "error"))
        return CLI_FOUND;
    }
  }
  if ((o->fail_on & FAIL_POTENTIAL) && summary_int(r, "potential_deadlocks"))
    return CLI_FOUND;
  if ((o->fail_on & FAIL_DEADLOCK) && summary_int(r, "deadlocks"))
    return CLI_FOUND;
  if ((o->fail_on & FAIL_ANOMALY) && summary_int(r, "anomalies"))
    return CLI_FOUND;
  return CLI_OK;
}

int cli_check_server(const cli_opts *o, const char *url, const char *key) {
  if (o->report != REPORT_TEXT && o->report != REPORT_JSON) {
    cli_err("--server: only --report text or json (SARIF and JUnit need the "
            "trace files: run `causeway check` on them)");
    return CLI_USAGE;
  }
  if (o->suppressions) {
    cli_err("--server: suppressions apply to trace files only");
    return CLI_USAGE;
  }
  if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
    cli_err("--server: expected an http:// URL, got '%s'", url);
    return CLI_USAGE;
  }
  if (!key || !*key)
    key = getenv("CAUSEWAY_API_KEY");
  curl_global_init(CURL_GLOBAL_DEFAULT);
  body b = {0};
  char errbuf[CURL_ERROR_SIZE];
  long status = http_get(url, "/v1/findings?sync=1", key, &b, errbuf);
  int rc = CLI_USAGE;
  json_t *r = NULL;
  if (status == 0) {
    cli_err("%s: %s", url, errbuf);
  } else if (status == 401) {
    cli_err("%s: the collector refused the API key (HTTP 401; pass "
            "--api-key or CAUSEWAY_API_KEY)",
            url);
  } else if (status != 200) {
    cli_err("%s: HTTP %ld: %.200s", url, status, b.data ? b.data : "");
  } else {
    json_error_t jerr;
    if (b.data && !cw__json_depth_ok(b.data, b.len, CW_JSON_MAX_DEPTH)) {
      cli_err("%s: answer nested too deeply", url);
      free(b.data);
      curl_global_cleanup();
      return CLI_USAGE;
    }
    r = json_loadb(b.data ? b.data : "", b.len, 0, &jerr);
    if (!r || !json_is_object(json_object_get(r, "summary")))
      cli_err("%s: not a findings report (%s)", url,
              r ? "no summary object" : jerr.text);
    else
      rc = verdict(o, r);
  }
  if (rc != CLI_USAGE) {
    FILE *out = stdout;
    if (o->output && strcmp(o->output, "-") != 0 &&
        !(out = fopen(o->output, "w"))) {
      cli_err("%s: cannot open", o->output);
      rc = CLI_USAGE;
    } else {
      if (o->report == REPORT_JSON)
        json_dumpf(r, out, JSON_INDENT(2));
      else
        print_text(out, r, url);
      cw__report_vis_free();
      if (o->report == REPORT_JSON)
        fputc('\n', out);
      if (out != stdout)
        fclose(out);
    }
  }
  json_decref(r);
  free(b.data);
  curl_global_cleanup();
  return rc;
}
