/*
 * fuzz_raceway: fuzz target for the Raceway JSON decoder.
 */
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cw_engine *e = cw__engine_new(NULL);
  if (!e)
    return 0;
  cw_input_stats st;
  memset(&st, 0, sizeof st);
  if (cw__raceway_decode((const char *)data, size, e, &st) == 0)
    fuzz_reports(e, &st);
  cw__engine_free(e);
  return 0;
}
