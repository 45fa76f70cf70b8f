/*
 * cw_report_util: small jansson helpers shared by the JSON and SARIF
 * writers: building calls that remember a failure instead of checking each.
 */
#ifndef CW_REPORT_UTIL_H
#define CW_REPORT_UTIL_H

#include <stddef.h>

#include <jansson.h>

/* @return the length of the longest valid UTF-8 prefix of s[0..n); *bad_len
 * is the length of the invalid byte run after it (0 when all is valid). */
size_t cw__utf8_valid_prefix(const char *s, size_t n, size_t *bad_len);

/* A JSON string of s, with invalid UTF-8 bytes replaced by U+FFFD (trace
 * names are arbitrary bytes; JSON strings are not). @return a new
 * reference, or NULL out of memory. */
json_t *cw__report_jstr(const char *s);

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
