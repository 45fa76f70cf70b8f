/*
 * dl_batch: runs the analysis engine on many small STD traces held in one
 * file, each with a fresh engine, and prints one JSON line per trace with
 * its potential deadlocks. Used by the deadlock differential test
 * (difftest.py) so that thousands of traces cost one process start.
 *
 * usage: dl_batch [--one-pass | --reread] FILE
 * By default each trace is checked in two passes (exact, as `causeway
 * check` does: pass 2 replays pass 1's record of its events, kept in a
 * temporary file); --reread makes pass 2 decode the trace again instead
 * (what `causeway check` does when it cannot make a temporary file);
 * --one-pass runs the streaming engine (as the collector).
 * FILE: sections, each starting with a line "=== NAME", of STD lines.
 * Output per section: {"name":"NAME","potential_deadlocks":N,"exact":B,
 *                      "cycles":[["HELD1","HELD2",...],...]}
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw_analysis.h"
#include "cw_input.h"

static int decode(cw_engine *e, const char *name, size_t nlen, const char *buf,
                  size_t len) {
  cw_input_opts o;
  memset(&o, 0, sizeof o);
  o.name = "batch";
  cw_input_error err;
  if (cw__std_decode_buf(buf, len, e, &o, NULL, &err) != 0) {
    fprintf(stderr, "dl_batch: %.*s: %s\n", (int)nlen, name, err.msg);
    return -1;
  }
  cw__engine_flush(e);
  return 0;
}

enum { TWO_PASS, REREAD, ONE_PASS };

static int run(const char *name, size_t nlen, const char *buf, size_t len,
               int mode) {
  cw_engine_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.size = sizeof cfg;
  cfg.two_pass = mode != ONE_PASS;
  cw_engine *e = cw__engine_new(&cfg);
  if (!e)
    return -1;
  FILE *rec = NULL;
  if (mode == TWO_PASS) {
    rec = tmpfile();
    if (!rec) {
      perror("dl_batch: tmpfile");
      cw__engine_free(e);
      return -1;
    }
    cw__engine_record(e, rec);
  }
  int rc = decode(e, name, nlen, buf, len);
  cw_engine *r = rc == 0 ? cw__engine_replay_new(e) : NULL;
  if (r) {
    if (mode == TWO_PASS) {
      rc = cw__engine_replay_run(e, r);
      if (rc)
        fprintf(stderr, "dl_batch: %.*s: no usable record (%d)\n", (int)nlen,
                name, rc);
    } else {
      rc = decode(r, name, nlen, buf, len);
    }
    if (rc == 0) {
      cw__engine_flush(r);
      cw__engine_replay_adopt(e, r);
    }
    cw__engine_free(r);
  }
  if (rec)
    fclose(rec);
  if (rc != 0) {
    cw__engine_free(e);
    return -1;
  }
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
  int mode = TWO_PASS;
  if (argc == 3 && strcmp(argv[1], "--one-pass") == 0)
    mode = ONE_PASS;
  else if (argc == 3 && strcmp(argv[1], "--reread") == 0)
    mode = REREAD;
  if (argc != 2 + (mode != TWO_PASS)) {
    fprintf(stderr, "usage: dl_batch [--one-pass | --reread] FILE\n");
    return 2;
  }
  char msg[256];
  size_t len;
  char *buf =
      cw__read_file(argv[argc - 1], (size_t)1 << 30, &len, msg, sizeof msg);
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
    if (run(name, (size_t)(nl - name), body, (size_t)(q - body), mode) != 0)
      rc = 1;
    p = q;
  }
  free(buf);
  return rc;
}
