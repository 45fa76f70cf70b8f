/*
 * fuzz_native: fuzz target for the native trace decoder (LZ4 frames,
 * batch records, reordering heap, engine feed).
 */
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  cw_engine *e = cw__engine_new(NULL);
  if (!e)
    return 0;
  cw_input_stats st;
  memset(&st, 0, sizeof st);
  cw_input_error err;
  cw_input_opts o = { .name = "fuzz.cwt" };
  if (cw__native_decode_buf(data, size, e, &o, &st, &err) == 0)
    fuzz_reports(e, &st);
  cw__engine_free(e);
  return 0;
}
