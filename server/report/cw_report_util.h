/*
 * cw_report_util: small jansson helpers shared by the JSON and SARIF
 * writers: building calls that remember a failure instead of checking each.
 */
#ifndef CW_REPORT_UTIL_H
#define CW_REPORT_UTIL_H

#include <jansson.h>

/* Sets o[k] = v (stolen); a NULL v or a failure sets *bad. */
static inline void cw__jput(json_t *o, const char *k, json_t *v, int *bad) {
  if (!v || json_object_set_new(o, k, v) != 0)
    *bad = 1;
}

/* Appends v (stolen) to a; a NULL v or a failure sets *bad. */
static inline void cw__jadd(json_t *a, json_t *v, int *bad) {
  if (!v || json_array_append_new(a, v) != 0)
    *bad = 1;
}

#endif /* CW_REPORT_UTIL_H */
