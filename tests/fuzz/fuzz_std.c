/*
 * fuzz_std: fuzz target for the STD decoder (line parser, streaming reader
 * and engine feed).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cw_engine *e = cw__engine_new(NULL);
  if (!e)
    return 0;
  cw_input_stats st;
  memset(&st, 0, sizeof st);
  cw_input_error err;
  cw_input_opts o = {
      .name = "fuzz.std", .service = "fuzz.std", .prefix_actors = size & 1};
  if (cw__std_decode_buf((const char *)data, size, e, &o, &st, &err) == 0)
    fuzz_reports(e, &st);
  cw__engine_free(e);

  /* The streaming reader must agree with the buffer reader. */
  FILE *f = size ? fmemopen((void *)data, size, "r") : NULL;
  if (f) {
    cw_engine *e2 = cw__engine_new(NULL);
    cw_input_stats st2;
    memset(&st2, 0, sizeof st2);
    if (e2)
      (void)cw__std_decode_stream(f, e2, &o, &st2, &err);
    cw__engine_free(e2);
    fclose(f);
  }
  return 0;
}
