/*
 * fuzz_clocks: fuzz target for the JSON-lines-with-clocks decoder.
 */
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cw_engine *e = cw__engine_new(NULL);
  if (!e)
    return 0;
  cw_input_stats st;
  memset(&st, 0, sizeof st);
  if (cw__clocks_decode_buf((const char *)data, size, e, NULL, &st, NULL) == 0)
    fuzz_reports(e, &st);
  cw__engine_free(e);
  return 0;
}
