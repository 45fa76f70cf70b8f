/*
 * fuzz_native: fuzz target for the native trace decoder (LZ4 frames,
 * batch records, reordering heap, engine feed).
 *
 * An input that starts with the LZ4 frame magic is decoded as a trace file.
 * Any other input is taken as the records of one batch and wrapped into a
 * frame first: frames carry a checksum, so mutating compressed bytes alone
 * would rarely get past decompression.
 */
#include <stdlib.h>
#include <string.h>

#include <lz4frame.h>

#include "fuzz_common.h"

static void decode(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const uint8_t magic[4] = {0x04, 0x22, 0x4d, 0x18};
  if (size >= 4 && memcmp(data, magic, 4) == 0) {
    decode(data, size);
    return 0;
  }
  size_t cap = LZ4F_compressFrameBound(size, NULL);
  uint8_t *frame = malloc(cap);
  if (!frame)
    return 0;
  size_t n = LZ4F_compressFrame(frame, cap, data, size, NULL);
  if (!LZ4F_isError(n))
    decode(frame, n);
  free(frame);
  return 0;
}

static void decode(const uint8_t *data, size_t size) {
  cw_engine *e = cw__engine_new(NULL);
  if (!e)
    return;
  cw_input_stats st;
  memset(&st, 0, sizeof st);
  cw_input_error err;
  cw_input_opts o = {.name = "fuzz.cwt"};
  if (cw__native_decode_buf(data, size, e, &o, &st, &err) == 0)
    fuzz_reports(e, &st);
  cw__engine_free(e);
}
