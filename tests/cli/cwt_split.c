/*
 * cwt_split: writes each LZ4 frame (one native batch) of a trace file to a
 * file of its own, PREFIX-NNN.lz4, so a test can post the batches to the
 * collector one by one, in any order. A truncated last frame is left out
 * (the collector would refuse it). Prints the number of frames written.
 * usage: cwt_split IN.cwt PREFIX
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw_format.h"

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: cwt_split IN.cwt PREFIX\n");
    return 2;
  }
  FILE *f = fopen(argv[1], "rb");
  if (!f) {
    perror(argv[1]);
    return 2;
  }
  static uint8_t buf[16 << 20];
  size_t len = fread(buf, 1, sizeof buf, f);
  fclose(f);
  size_t pos = 0, n = 0;
  while (pos < len) {
    size_t out_len = 0, used = 0;
    cw_decode_error de;
    memset(&de, 0, sizeof de);
    uint8_t *raw = cw__lz4_frame_decompress(
        buf + pos, len - pos, CW_MAX_BATCH_BYTES, &out_len, &used, &de);
    if (!raw)
      used = len - pos; /* truncated or garbage: the rest, as it is */
    cw__fmt_free(raw);
    char path[4096];
    snprintf(path, sizeof path, "%s-%03zu.lz4", argv[2], n);
    FILE *o = fopen(path, "wb");
    if (!o || fwrite(buf + pos, 1, used, o) != used || fclose(o) != 0) {
      perror(path);
      return 2;
    }
    pos += used;
    n++;
  }
  printf("%zu\n", n);
  return 0;
}
