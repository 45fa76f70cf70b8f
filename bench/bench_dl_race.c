/*
 * bench_dl_race: the baseline of bench/bench_deadlock.sh: one STD file
 * through the race checker alone, i.e. what `causeway check` does in its
 * first pass (parse, happens-before, races, contention, and recording the
 * lock graph) without the potential-deadlock search and its second pass.
 * Prints the race counts so that the work cannot be optimised away.
 *
 * usage: bench_dl_race FILE.std
 */
#include <stdio.h>
#include <string.h>

#include "cw_analysis.h"
#include "cw_input.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: bench_dl_race FILE.std\n");
    return 2;
  }
  FILE *f = fopen(argv[1], "rb");
  if (!f) {
    perror(argv[1]);
    return 2;
  }
  cw_engine_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.size = sizeof cfg;
  cfg.two_pass = 1; /* pass 1 only: no lock-cycle search */
  cw_engine *e = cw__engine_new(&cfg);
  cw_input_opts o;
  memset(&o, 0, sizeof o);
  o.name = argv[1];
  cw_input_error err;
  int rc = cw__std_decode_stream(f, e, &o, NULL, &err);
  fclose(f);
  if (rc) {
    fprintf(stderr, "bench_dl_race: %s\n", err.msg);
    cw__engine_free(e);
    return 1;
  }
  cw__engine_flush(e);
  cw_summary s;
  cw__engine_summary(e, &s);
  printf("events %llu racy_variables %llu racy_location_pairs %llu\n",
         (unsigned long long)s.events, (unsigned long long)s.racy_variables,
         (unsigned long long)s.racy_location_pairs);
  cw__engine_free(e);
  return 0;
}
