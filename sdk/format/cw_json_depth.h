/*
 * cw_json_depth: a guard for untrusted JSON, shared by the collector, the
 * CLI and the HTTP glue (internal).
 *
 * Thread-safety: pure function.
 */
#ifndef CW_JSON_DEPTH_H
#define CW_JSON_DEPTH_H

#include <stddef.h>

/* The nesting that causeway accepts in Raceway JSON bodies and files. */
#define CW_JSON_MAX_DEPTH 128

/* Checks JSON text for nesting deeper than max_depth arrays and objects,
 * without parsing it (strings and escapes are skipped). Recursive parsers
 * such as jansson use one stack frame per level, so untrusted JSON must
 * pass this first: a worker thread's stack must not decide what crashes.
 * @return 1 when the nesting stays within max_depth, else 0. */
int cw__json_depth_ok(const char *json, size_t len, unsigned max_depth);

#endif /* CW_JSON_DEPTH_H */
