/*
 * bank-cli: the demo bank's admin API from a terminal.
 *
 *   bank-cli [--web URL] settings
 *   bank-cli [--web URL] set delay_ms=N | barrier=on|off | safe.N=on|off ...
 *   bank-cli [--web URL] reset
 *   bank-cli [--web URL] run N [safe|unsafe] [--json]
 *   bank-cli [--web URL] all [--out FILE]   every scenario, safe then unsafe
 *   bank-cli table FILE                      print a scenarios.json table
 *
 * `run` and `all` print a table (scenario, mode, symptom, what causeway
 * found, as expected or not) and exit 0 only when every run was as
 * expected; `all --out` also writes the runs as a JSON array.
 * URL defaults to $BANK_WEB or http://127.0.0.1:3000.
 */
#define _POSIX_C_SOURCE 200809L
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct buf {
  char *p;
  size_t n;
} buf;

static size_t on_data(char *d, size_t s, size_t n, void *ud) {
  buf *b = ud;
  char *np = realloc(b->p, b->n + s * n + 1);
  if (!np)
    return 0;
  b->p = np;
  memcpy(b->p + b->n, d, s * n);
  b->n += s * n;
  b->p[b->n] = 0;
  return s * n;
}

/* Calls the web service. @return the reply (new) or NULL (printed). */
static json_t *call(const char *web, const char *method, const char *path,
                    json_t *body, long *status) {
  CURL *e = curl_easy_init();
  if (!e)
    return NULL;
  char url[1024];
  snprintf(url, sizeof url, "%s%s", web, path);
  buf b = {NULL, 0};
  char *payload = body ? json_dumps(body, JSON_COMPACT) : NULL;
  struct curl_slist *h =
      curl_slist_append(NULL, "Content-Type: application/json");
  h = curl_slist_append(h, "Expect:");
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
  curl_easy_setopt(e, CURLOPT_TIMEOUT, 900L);
  if (payload)
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, payload);
  else if (strcmp(method, "POST") == 0)
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, "{}");
  CURLcode rc = curl_easy_perform(e);
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
  curl_slist_free_all(h);
  curl_easy_cleanup(e);
  free(payload);
  json_t *out = NULL;
  if (rc != CURLE_OK)
    fprintf(stderr, "bank-cli: %s: %s\n", url, curl_easy_strerror(rc));
  else if (!(out = b.p ? json_loads(b.p, 0, NULL) : NULL))
    fprintf(stderr, "bank-cli: %s: not JSON (status %ld)\n", url, *status);
  free(b.p);
  return out;
}

static const char *field(json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

static void cell(const char *s, int w) {
  int n = (int)strlen(s);
  printf(" %-*.*s |", w, n > w ? w : n, s);
}

static int print_table(json_t *runs) {
  printf("| # | mode   | symptom%*s | causeway found%*s | as expected  |\n", 45,
         "", 38, "");
  printf("|---|--------|%.*s|%.*s|--------------|\n", 54,
         "-----------------------------------------------------------", 54,
         "-----------------------------------------------------------");
  int bad = 0;
  size_t i;
  json_t *r;
  json_array_foreach(runs, i, r) {
    int ok = json_is_true(json_object_get(r, "as_expected"));
    bad += !ok;
    printf("| %lld |",
           (long long)json_integer_value(json_object_get(r, "scenario")));
    cell(field(r, "mode"), 6);
    cell(field(r, "symptom_text"), 52);
    cell(field(r, "found_text"), 52);
    cell(ok ? "yes" : "NO", 12);
    printf("\n");
    if (!ok) {
      size_t k;
      json_t *p;
      json_array_foreach(json_object_get(r, "problems"), k, p)
          printf("|   |        | problem: %s\n", json_string_value(p));
    }
  }
  printf("%zu runs, %d not as expected\n", json_array_size(runs), bad);
  return bad ? 1 : 0;
}

static int usage(void) {
  fprintf(stderr,
          "usage: bank-cli [--web URL] settings | set KEY=VALUE... | reset |\n"
          "                run N [safe|unsafe] [--json] | all [--out FILE]\n"
          "       bank-cli table FILE\n"
          "KEY: delay_ms (0-5000), barrier (on|off), safe.N (on|off, N 1-6)\n");
  return 2;
}

static int on_off(const char *v) {
  return strcmp(v, "on") == 0 || strcmp(v, "true") == 0     ? 1
         : strcmp(v, "off") == 0 || strcmp(v, "false") == 0 ? 0
                                                            : -1;
}

static int cmd_set(const char *web, int argc, char **argv) {
  json_t *patch = json_object(), *safe = json_object();
  for (int i = 0; i < argc; i++) {
    char *eq = strchr(argv[i], '=');
    if (!eq)
      return usage();
    *eq = 0;
    const char *k = argv[i], *v = eq + 1;
    if (strcmp(k, "delay_ms") == 0) {
      char *end = NULL;
      long n = strtol(v, &end, 10);
      if (!*v || *end)
        return usage();
      json_object_set_new(patch, "delay_ms", json_integer(n));
    } else if (strcmp(k, "barrier") == 0 && on_off(v) >= 0) {
      json_object_set_new(patch, "barrier", json_boolean(on_off(v)));
    } else if (strncmp(k, "safe.", 5) == 0 && on_off(v) >= 0) {
      json_object_set_new(safe, k + 5, json_boolean(on_off(v)));
    } else {
      return usage();
    }
  }
  if (json_object_size(safe))
    json_object_set(patch, "safe", safe);
  json_decref(safe);
  long st = 0;
  json_t *r = call(web, "PUT", "/admin/api/settings", patch, &st);
  json_decref(patch);
  char *s = r ? json_dumps(r, JSON_INDENT(2)) : NULL;
  printf("%s\n", s ? s : "");
  free(s);
  json_decref(r);
  return st == 200 ? 0 : 1;
}

int main(int argc, char **argv) {
  const char *web = getenv("BANK_WEB");
  if (!web || !*web)
    web = "http://127.0.0.1:3000";
  int i = 1;
  if (i + 1 < argc && strcmp(argv[i], "--web") == 0) {
    web = argv[i + 1];
    i += 2;
  }
  if (i >= argc)
    return usage();
  const char *cmd = argv[i++];
  curl_global_init(CURL_GLOBAL_DEFAULT);
  long st = 0;
  if (strcmp(cmd, "table") == 0) {
    if (i >= argc)
      return usage();
    json_error_t err;
    json_t *runs = json_load_file(argv[i], 0, &err);
    if (!json_is_array(runs)) {
      fprintf(stderr, "bank-cli: %s: %s\n", argv[i], err.text);
      return 2;
    }
    int rc = print_table(runs);
    json_decref(runs);
    return rc;
  }
  if (strcmp(cmd, "set") == 0)
    return i < argc ? cmd_set(web, argc - i, argv + i) : usage();
  if (strcmp(cmd, "settings") == 0 || strcmp(cmd, "reset") == 0) {
    int get = strcmp(cmd, "settings") == 0;
    json_t *r =
        call(web, get ? "GET" : "POST",
             get ? "/admin/api/settings" : "/admin/api/reset", NULL, &st);
    char *s = r ? json_dumps(r, JSON_INDENT(2)) : NULL;
    printf("%s\n", s ? s : "");
    free(s);
    json_decref(r);
    return st == 200 ? 0 : 1;
  }
  if (strcmp(cmd, "run") == 0) {
    if (i >= argc)
      return usage();
    char path[64];
    snprintf(path, sizeof path, "/admin/api/scenarios/%s/run", argv[i++]);
    json_t *body = json_object();
    int as_json = 0;
    for (; i < argc; i++) {
      if (strcmp(argv[i], "--json") == 0)
        as_json = 1;
      else if (strcmp(argv[i], "safe") == 0 || strcmp(argv[i], "unsafe") == 0)
        json_object_set_new(body, "mode", json_string(argv[i]));
      else
        return usage();
    }
    json_t *r = call(web, "POST", path, body, &st);
    json_decref(body);
    if (!r || st != 200) {
      const char *e = json_string_value(json_object_get(r, "error"));
      fprintf(stderr, "bank-cli: %s\n", e ? e : "run failed");
      json_decref(r);
      return 2;
    }
    int rc;
    if (as_json) {
      char *s = json_dumps(r, JSON_INDENT(2));
      printf("%s\n", s ? s : "");
      free(s);
      rc = json_is_true(json_object_get(r, "as_expected")) ? 0 : 1;
    } else {
      json_t *a = json_pack("[O]", r);
      rc = print_table(a);
      json_decref(a);
    }
    json_decref(r);
    return rc;
  }
  if (strcmp(cmd, "all") == 0) {
    const char *out = NULL;
    if (i + 1 < argc && strcmp(argv[i], "--out") == 0)
      out = argv[i + 1];
    else if (i < argc)
      return usage();
    json_t *r = call(web, "POST", "/admin/api/run-all", NULL, &st);
    json_t *runs = json_object_get(r, "runs");
    if (!json_is_array(runs)) {
      fprintf(stderr, "bank-cli: run-all failed (status %ld)\n", st);
      json_decref(r);
      return 2;
    }
    if (out && json_dump_file(runs, out, JSON_INDENT(2)) != 0) {
      fprintf(stderr, "bank-cli: cannot write %s\n", out);
      json_decref(r);
      return 2;
    }
    int rc = print_table(runs);
    json_decref(r);
    return rc;
  }
  return usage();
}
