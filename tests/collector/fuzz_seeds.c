/*
 * fuzz_seeds: writes seed inputs for the collector's ingest fuzz target
 * (tests/collector/corpus/native-*.bin): valid native batches, one per
 * route, built with the SDK's batch writer, so the corpus can be grown
 * again when the wire format changes. Usage: fuzz_collector_seeds DIR.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw_format.h"

static int write_seeds(const char *dir) {
  for (int v = 0; v < 3; v++) {
    cw_batch_writer *w = cw__bw_new(1 << 16);
    cw_batch_hdr h;
    memset(&h, 0, sizeof h);
    h.version = CW_FORMAT_VERSION;
    h.stream_id[0] = (uint8_t)(v + 1);
    h.batch_no = (uint64_t)v;
    h.service = "svc";
    h.service_len = 3;
    h.instance = "i";
    h.instance_len = 1;
    cw__bw_begin(w, &h);
    uint32_t a = cw__bw_actor(w, "t1", 2, CW_ACTOR_THREAD);
    uint32_t r = cw__bw_actor(w, "other#i/t9", 10, CW_ACTOR_REMOTE);
    uint32_t x = cw__bw_string(w, "x", 1), l = cw__bw_string(w, "L", 1);
    uint32_t kinds[] = {CW_EV_THREAD_START,  CW_EV_LOCK_REQUEST,
                        CW_EV_LOCK_ACQUIRED, CW_EV_WRITE,
                        CW_EV_LOCK_RELEASE,  CW_EV_READ,
                        CW_EV_HTTP_SEND,     CW_EV_THREAD_END};
    for (uint32_t i = 0; i < 8; i++) {
      cw_event_rec ev;
      memset(&ev, 0, sizeof ev);
      cw_clock_entry j = {r, 3};
      ev.kind = kinds[i];
      ev.actor = a;
      ev.counter = i + 1;
      ev.seq = i;
      ev.object = kinds[i] == CW_EV_READ || kinds[i] == CW_EV_WRITE ? x : l;
      ev.file = x;
      ev.line = i;
      if (i == 2) {
        ev.flags |= CW_EVF_JOINS;
        ev.joins = &j;
        ev.njoins = 1;
      }
      if (i == 3) {
        ev.flags |= CW_EVF_VAL_INT;
        ev.val_int = -5;
      }
      cw__bw_event(w, &ev);
    }
    cw__bw_gap(w, a, 3, 100, 102);
    size_t len;
    uint8_t *frame = NULL;
    const uint8_t *raw = cw__bw_data(w, &len);
    uint8_t route = v == 1 ? 1 : 0;
    if (route == 0)
      frame = cw__bw_compress(w, &len);
    char p[512];
    snprintf(p, sizeof p, "%s/native-%d.bin", dir, v);
    FILE *f = fopen(p, "wb");
    if (f) {
      fputc(route, f);
      fwrite(frame ? frame : raw, 1, len, f);
      fclose(f);
    }
    free(frame);
    cw__bw_free(w);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  return write_seeds(argv[1]);
}
