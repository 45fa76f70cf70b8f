/*
 * glue_client: drives the HTTP integration scenarios from its own
 * (instrumented) process. Client threads are raw pthreads synchronised by
 * untraced barriers and joins, so no happens-before links two client
 * requests except through the services themselves.
 *
 *   glue_client race       API_PORT ACCT   two concurrent transfers
 *   glue_client locked     API_PORT ACCT   the same, under the api's lock
 *   glue_client sequential API_PORT ACCT   one transfer, then (after it
 *                                          finished) another, from two
 *                                          unrelated client actors
 *   glue_client deadlock   PORT_A PORT_B   A/outer and B/outer at once
 *   glue_client fetch      URL OUTFILE     GET URL (untraced) into OUTFILE;
 *                                          exits 0 on HTTP 200
 *
 * Exits 0 when every request got the status the scenario expects.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "causeway.h"
#include "causeway/http.h"
#include "glue_util.h"

typedef struct job {
  char url[256];
  int status;
  pthread_barrier_t *barrier;
} job;

static void *run_job(void *arg) {
  job *j = arg;
  char body[128];
  cw_http_trace_begin(NULL); /* each request is one user action */
  if (j->barrier)
    pthread_barrier_wait(j->barrier);
  j->status = glue_http("POST", j->url, body, sizeof body, 20000);
  return NULL;
}

/* Runs two jobs, concurrently or one after the other. */
static void run_two(job *a, job *b, int concurrent) {
  pthread_t ta, tb;
  pthread_barrier_t bar;
  if (concurrent) {
    pthread_barrier_init(&bar, NULL, 2);
    a->barrier = b->barrier = &bar;
    pthread_create(&ta, NULL, run_job, a);
    pthread_create(&tb, NULL, run_job, b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_barrier_destroy(&bar);
  } else {
    a->barrier = b->barrier = NULL;
    pthread_create(&ta, NULL, run_job, a);
    pthread_join(ta, NULL);
    pthread_create(&tb, NULL, run_job, b);
    pthread_join(tb, NULL);
  }
}

/* Plain, untraced GET of URL into a file. */
static int fetch(const char *url, const char *path) {
  FILE *f = fopen(path, "wb");
  if (!f)
    return 1;
  CURL *h = curl_easy_init();
  long status = 0;
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 5L);
  CURLcode rc = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(h);
  int bad = fclose(f) != 0;
  return rc == CURLE_OK && status == 200 && !bad ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "fetch") == 0) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = fetch(argv[2], argv[3]);
    curl_global_cleanup();
    return rc;
  }
  if (argc < 4) {
    fprintf(stderr, "usage: %s race|locked|sequential|deadlock P1 ARG\n",
            argv[0]);
    return 2;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  cw_config cfg;
  cw_config_init(&cfg);
  cfg.service = "client";
  if (cw_init(&cfg) != CW_OK)
    return 1;
  const char *mode = argv[1];
  job a, b;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  int ok;
  if (strcmp(mode, "deadlock") == 0) {
    snprintf(a.url, sizeof a.url, "http://127.0.0.1:%s/outer?peer=%s", argv[2],
             argv[3]);
    snprintf(b.url, sizeof b.url, "http://127.0.0.1:%s/outer?peer=%s", argv[3],
             argv[2]);
    run_two(&a, &b, 1);
    /* At least one side must have timed out: the services deadlocked. */
    ok = (a.status == 504 || b.status == 504) && a.status > 0 && b.status > 0;
  } else {
    int locked = strcmp(mode, "locked") == 0;
    snprintf(a.url, sizeof a.url,
             "http://127.0.0.1:%s/transfer?acct=%s&amount=10%s", argv[2],
             argv[3], locked ? "&lock=1" : "");
    memcpy(b.url, a.url, sizeof a.url);
    run_two(&a, &b, strcmp(mode, "sequential") != 0);
    ok = a.status == 200 && b.status == 200;
  }
  fprintf(stderr, "glue_client %s: statuses %d %d\n", mode, a.status, b.status);
  cw_shutdown();
  curl_global_cleanup();
  return ok ? 0 : 1;
}
