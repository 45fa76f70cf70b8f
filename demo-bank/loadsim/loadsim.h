/*
 * loadsim: the load simulator's run and report (loadsim.c) and its
 * command line, including --compare (main.c). Internal to bank-loadsim.
 */
#ifndef LOADSIM_H
#define LOADSIM_H

#include <stdint.h>

typedef struct ls_opts {
  int clients, seconds, naccounts, impolite_pct, unsafe, progress;
  const char *transactions, *accounts, *bin;
} ls_opts;

typedef struct ls_result {
  uint64_t requests, ok, refused, failed, retries, limited;
  double seconds, throughput, p50_ms, p90_ms, p99_ms;
  int64_t total, expected_total;
  int negative, ledger_ok;
} ls_result;

/* The options (defaults filled in); main changes them before ls_run. */
ls_opts *ls_options(void);
/* Creates fresh accounts, runs the clients, checks the ledger.
 * @return 0, or -1 when the bank cannot be reached. */
int ls_run(const char *accounts, const char *transactions, ls_result *out);
/* Prints a result under a title. */
void ls_print(const char *title, const ls_result *r);

#endif /* LOADSIM_H */
