/*
 * glue_traces: checks that trace ids flow end to end across processes.
 * Reads native trace files, and for every trace id carried by an http_send
 * of service ROOT, requires events with that same trace id in each of the
 * services listed. Distinct user actions must have distinct trace ids.
 *
 *   glue_traces ROOT SERVICE[,SERVICE...] FILE.cwt...
 *
 * Prints one line per trace; exits 0 when every trace reached every
 * service, 1 when not, 2 on bad input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw_format.h"

#define MAX_TRACES 64
#define MAX_SVC 8

typedef struct trace {
  uint8_t id[16];
  int root;          /* seen on an http_send of ROOT */
  int seen[MAX_SVC]; /* events per listed service */
} trace;

static trace traces[MAX_TRACES];
static int ntraces;
static const char *root;
static char svcs[MAX_SVC][64];
static int nsvcs;

static trace *find(const uint8_t id[16]) {
  for (int i = 0; i < ntraces; i++)
    if (memcmp(traces[i].id, id, 16) == 0)
      return &traces[i];
  if (ntraces == MAX_TRACES)
    return NULL;
  memcpy(traces[ntraces].id, id, 16);
  return &traces[ntraces++];
}

static int on_event(void *ud, const cw_batch_ctx *ctx, const cw_event_rec *e) {
  (void)ud;
  if (!(e->flags & CW_EVF_TRACE))
    return 0;
  const cw_batch_hdr *h = cw__ctx_header(ctx);
  trace *t = find(e->trace_id);
  if (!t)
    return 0;
  if (e->kind == CW_EV_HTTP_SEND && strlen(root) == h->service_len &&
      memcmp(root, h->service, h->service_len) == 0)
    t->root = 1;
  for (int i = 0; i < nsvcs; i++)
    if (strlen(svcs[i]) == h->service_len &&
        memcmp(svcs[i], h->service, h->service_len) == 0)
      t->seen[i]++;
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: glue_traces ROOT SVC[,SVC...] FILE...\n");
    return 2;
  }
  root = argv[1];
  for (const char *p = argv[2]; *p && nsvcs < MAX_SVC;) {
    size_t n = strcspn(p, ",");
    snprintf(svcs[nsvcs++], sizeof svcs[0], "%.*s", (int)n, p);
    p += n + (p[n] == ',');
  }
  cw_decode_cb cb;
  memset(&cb, 0, sizeof cb);
  cb.on_event = on_event;
  for (int i = 3; i < argc; i++) {
    cw_decode_error err;
    int tail = 0;
    if (cw__decode_file(argv[i], &cb, NULL, &tail, &err) < 0) {
      fprintf(stderr, "glue_traces: %s: %s\n", argv[i], err.msg);
      return 2;
    }
  }
  int roots = 0, ok = 1;
  for (int i = 0; i < ntraces; i++) {
    if (!traces[i].root)
      continue;
    roots++;
    printf("trace ");
    for (int k = 0; k < 16; k++)
      printf("%02x", traces[i].id[k]);
    for (int s = 0; s < nsvcs; s++) {
      printf(" %s=%d", svcs[s], traces[i].seen[s]);
      ok &= traces[i].seen[s] > 0;
    }
    printf("\n");
  }
  printf("glue_traces: %d user actions: %s\n", roots,
         roots > 0 && ok ? "ok" : "FAILED");
  return roots > 0 && ok ? 0 : 1;
}
