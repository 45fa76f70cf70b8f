/*
 * fuzz_replay: runs a fuzz target without libFuzzer (the pattern of lz4's
 * ossfuzz/standaloneengine.c). It replays every file of the corpus
 * directories given as arguments, then, for each file, a fixed set of
 * deterministic mutations (bit flips, truncations, splices), so the normal
 * suite exercises the decoders with malformed input on every run. With
 * --write-seeds DIR it instead writes generated seed inputs (valid native
 * batches) into DIR to grow the corpus.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
void cw_fuzz_ingest_cleanup(void);

static uint64_t rng = 0x2545F4914F6CDD1Dull;

static uint32_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 11);
}

static void mutate_and_run(const uint8_t *d, size_t n, int rounds) {
  uint8_t *b = malloc(n + 16);
  if (!b)
    return;
  for (int r = 0; r < rounds; r++) {
    memcpy(b, d, n);
    size_t len = n;
    int kind = (int)(next() % 4);
    if (kind == 0 && len > 1) { /* flip a few bits, keep the route byte */
      for (int k = 0; k < 1 + (int)(next() % 4); k++) {
        size_t at = 1 + next() % (len - 1);
        b[at] ^= (uint8_t)(1u << (next() % 8));
      }
    } else if (kind == 1 && len > 1) { /* truncate */
      len = 1 + next() % (len - 1);
    } else if (kind == 2 && len > 2) { /* overwrite with a random byte run */
      size_t at = 1 + next() % (len - 1);
      size_t k = 1 + next() % 8;
      for (size_t i = 0; i < k && at + i < len; i++)
        b[at + i] = (uint8_t)next();
    } else { /* append junk */
      for (int i = 0; i < 16; i++)
        b[len + (size_t)i] = (uint8_t)next();
      len += 16;
    }
    LLVMFuzzerTestOneInput(b, len);
  }
  free(b);
}

static int run_file(const char *path, int rounds) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return -1;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *d = malloc(n > 0 ? (size_t)n : 1);
  size_t got = d ? fread(d, 1, (size_t)n, f) : 0;
  fclose(f);
  if (!d || got != (size_t)n) {
    free(d);
    return -1;
  }
  LLVMFuzzerTestOneInput(d, got);
  if (got > 0)
    mutate_and_run(d, got, rounds);
  free(d);
  return 0;
}

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
  if (argc == 3 && !strcmp(argv[1], "--write-seeds"))
    return write_seeds(argv[2]);
  int files = 0, rc = 0;
  for (int i = 1; i < argc; i++) {
    DIR *d = opendir(argv[i]);
    if (!d) {
      rc = run_file(argv[i], 500) ? 1 : rc;
      files++;
      continue;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
      if (de->d_name[0] == '.')
        continue;
      char p[1024];
      snprintf(p, sizeof p, "%s/%s", argv[i], de->d_name);
      if (run_file(p, 500))
        rc = 1;
      files++;
    }
    closedir(d);
  }
  cw_fuzz_ingest_cleanup();
  printf("fuzz_replay: %d inputs (each with 500 mutations)\n", files);
  return files == 0 ? 1 : rc;
}
