/*
 * fuzz_common: shared by the fuzz targets: after decoding, the findings of
 * whatever was accepted go through every report writer, so report code
 * sees hostile strings too.
 */
#ifndef CW_FUZZ_COMMON_H
#define CW_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "cw_report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline void fuzz_reports(cw_engine *e, const cw_input_stats *st) {
  cw__engine_flush(e);
  cw_findings f;
  if (cw__findings_collect(&f, e, NULL, st) == 0) {
    /* Whatever a decoder accepted must give every report (only an
     * allocation failure may stop one, and fuzzing has none). */
    FILE *null = fopen("/dev/null", "w");
    if (null) {
      if (cw__report_write_json(null, &f) || cw__report_write_text(null, &f) ||
          cw__report_write_sarif(null, &f) || cw__report_write_junit(null, &f))
        abort();
      fclose(null);
    }
  }
  cw__findings_free(&f);
}

#endif
