/*
 * fuzz_shiviz: fuzz target for the ShiViz log decoder (default regex and
 * map; the log text needs a terminating NUL, so it is copied).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  cw_engine *e = text ? cw__engine_new(NULL) : NULL;
  if (!e) {
    free(text);
    return 0;
  }
  memcpy(text, data, size);
  text[size] = '\0';
  cw_input_stats st;
  memset(&st, 0, sizeof st);
  if (cw__shiviz_decode_buf(text, size, e, NULL, &st, NULL) == 0)
    fuzz_reports(e, &st);
  cw__engine_free(e);
  free(text);
  return 0;
}
