/*
 * cw_send: a small test client that posts synthetic native batches to a
 * collector: cw_send URL SEED BATCHES EVENTS [FIRST_BATCH]. Each batch
 * holds EVENTS writes of one actor of the process (stream) SEED. Prints
 * "accepted N duplicates D failed F" and exits 0 when nothing failed.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: cw_send URL SEED BATCHES EVENTS [FIRST]\n");
    return 2;
  }
  const char *base = argv[1];
  uint64_t seed = strtoull(argv[2], NULL, 10);
  unsigned long batches = strtoul(argv[3], NULL, 10);
  unsigned long events = strtoul(argv[4], NULL, 10);
  unsigned long first = argc > 5 ? strtoul(argv[5], NULL, 10) : 0;
  char url[512], inst[32];
  snprintf(url, sizeof url, "%s/v1/events", base);
  snprintf(inst, sizeof inst, "p%llu", (unsigned long long)seed);
  const char *h[] = {"Content-Encoding: lz4", NULL};
  unsigned long long acc = 0, dup = 0, failed = 0;
  for (unsigned long b = first; b < first + batches; b++) {
    tl_batch_spec s;
    memset(&s, 0, sizeof s);
    tl_stream_id(s.stream_id, seed);
    s.batch_no = b;
    s.instance = inst;
    s.nevents = (uint32_t)events;
    s.first_counter = b * events + 1;
    s.first_seq = b * events;
    size_t len;
    uint8_t *body = tl_native_batch(&s, 1, &len);
    char *r = NULL;
    int st = body ? tl_http("POST", url, h, body, len, &r) : -1;
    if (st == 200) {
      acc += (unsigned long long)tl_json_int(r, "accepted");
      dup += (unsigned long long)tl_json_int(r, "duplicate_batches");
    } else {
      failed++;
    }
    free(r);
    free(body);
  }
  printf("accepted %llu duplicates %llu failed %llu\n", acc, dup, failed);
  return failed ? 1 : 0;
}
