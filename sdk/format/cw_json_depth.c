/*
 * cw_json_depth: rejects JSON nested too deeply for a recursive parser,
 * with one linear scan and no allocation.
 */
#include "cw_json_depth.h"

int cw__json_depth_ok(const char *json, size_t len, unsigned max_depth) {
  unsigned depth = 0;
  int in_string = 0;
  for (size_t i = 0; i < len; i++) {
    char c = json[i];
    if (in_string) {
      if (c == '\\')
        i++; /* skip the escaped character */
      else if (c == '"')
        in_string = 0;
    } else if (c == '"') {
      in_string = 1;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth)
        return 0;
    } else if ((c == ']' || c == '}') && depth > 0) {
      depth--;
    }
  }
  return 1;
}
