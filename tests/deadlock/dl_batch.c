/*
 * dl_batch: runs the analysis engine on many small STD traces held in one
 * file, each with a fresh engine, and prints one JSON line per trace with
 * its potential deadlocks. Used by the deadlock differential test
 * (difftest.py) so that thousands of traces cost one process start.
 *
 * usage: dl_batch FILE
 * FILE: sections, each starting with a line "=== NAME", of STD lines.
 * Output per section: {"name":"NAME","potential_deadlocks":N,"exact":B,
 *                      "cycles":[["HELD1","HELD2",...],...]}
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw_analysis.h"
#include "cw_input.h"

static int run(const char *name, size_t nlen, const char *buf, size_t len) {
  cw_engine *e = cw__engine_new(NULL);
  if (!e)
    return -1;
  cw_input_opts o;
  memset(&o, 0, sizeof o);
  o.name = "batch";
  cw_input_error err;
  if (cw__std_decode_buf(buf, len, e, &o, NULL, &err) != 0) {
    fprintf(stderr, "dl_batch: %.*s: %s\n", (int)nlen, name, err.msg);
    cw__engine_free(e);
    return -1;
  }
  cw__engine_flush(e);
  cw_summary s;
  cw__engine_summary(e, &s);
  const cw_deadlock *d;
  size_t n = cw__engine_potential_deadlocks(e, &d);
  printf("{\"name\":\"%.*s\",\"potential_deadlocks\":%llu,\"exact\":%s,"
         "\"cycles\":[",
         (int)nlen, name, (unsigned long long)s.potential_deadlocks,
         s.exact ? "true" : "false");
  for (size_t i = 0; i < n; i++) {
    printf("%s[", i ? "," : "");
    for (uint32_t k = 0; k < d[i].n; k++)
      printf("%s\"%s\"", k ? "," : "", cw__engine_str(e, d[i].edges[k].held));
    printf("]");
  }
  printf("]}\n");
  cw__engine_free(e);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: dl_batch FILE\n");
    return 2;
  }
  char msg[256];
  size_t len;
  char *buf = cw__read_file(argv[1], (size_t)1 << 30, &len, msg, sizeof msg);
  if (!buf) {
    fprintf(stderr, "dl_batch: %s\n", msg);
    return 2;
  }
  int rc = 0;
  const char *p = buf, *end = buf + len;
  while (p < end) {
    if (strncmp(p, "=== ", 4) != 0) {
      fprintf(stderr, "dl_batch: expected a '=== NAME' line\n");
      rc = 2;
      break;
    }
    const char *name = p + 4;
    const char *nl = memchr(name, '\n', (size_t)(end - name));
    if (!nl)
      break;
    const char *body = nl + 1, *q = body;
    while (q < end && strncmp(q, "=== ", 4) != 0) {
      const char *l = memchr(q, '\n', (size_t)(end - q));
      q = l ? l + 1 : end;
    }
    if (run(name, (size_t)(nl - name), body, (size_t)(q - body)) != 0)
      rc = 1;
    p = q;
  }
  free(buf);
  return rc;
}
