/*
 * causeway-server: the collector's entry point. Parses flags, starts the
 * server, prints "listening on HOST:PORT" and runs until SIGINT or SIGTERM.
 */
#define _POSIX_C_SOURCE 200809L
#include "cw_config.h"
#include "membudget.h"
#include "server.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  static cw_config cfg;
  char err[512];
  int rc = cw__config_load(&cfg, argc, argv, err, sizeof err);
  if (rc > 0)
    return 0;
  if (rc < 0) {
    fprintf(stderr, "causeway-server: %s\n", err);
    return 2;
  }
  /* Block the stop signals in every thread; main waits for them. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);
  cw__membudget_tune_malloc();
  cw_server *s;
  if (cw__server_start(&cfg, &s, err, sizeof err)) {
    fprintf(stderr, "causeway-server: %s\n", err);
    return 1;
  }
  if (cfg.nkeys == 0 && !cw__config_is_loopback(cfg.listen_host))
    fprintf(stderr,
            "causeway-server: WARNING: NO API KEYS and listening on %s, not "
            "a loopback address: anyone who can reach it can send events and "
            "read every finding. Set --api-key or --api-keys-file "
            "(docs/security.md).\n",
            cfg.listen_host);
  printf("listening on %s:%d\n", cfg.listen_host, cw__server_port(s));
  fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  fprintf(stderr, "causeway-server: stopping (signal %d)\n", sig);
  cw__server_stop(s);
  return 0;
}
