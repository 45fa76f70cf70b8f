/*
 * cwt_gen: writes the native trace described by a spec (see cwt_spec.h).
 * usage: cwt_gen SPEC OUT.cwt   (used by the CLI end-to-end tests to play
 * an instrumented process, and to regenerate fuzz seeds)
 */
#include <stdio.h>
#include <stdlib.h>

#include "cwt_spec.h"

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: cwt_gen SPEC OUT.cwt\n");
    return 2;
  }
  FILE *f = fopen(argv[1], "rb");
  if (!f) {
    perror(argv[1]);
    return 2;
  }
  static char spec[1 << 20];
  size_t n = fread(spec, 1, sizeof spec, f);
  fclose(f);
  char err[256];
  size_t len;
  uint8_t *img = cwt_from_spec(spec, n, &len, err, sizeof err);
  if (!img) {
    fprintf(stderr, "%s: %s\n", argv[1], err);
    return 2;
  }
  FILE *o = fopen(argv[2], "wb");
  int rc = !o || fwrite(img, 1, len, o) != len;
  if (o && fclose(o) != 0)
    rc = 1;
  free(img);
  if (rc)
    perror(argv[2]);
  return rc ? 2 : 0;
}
