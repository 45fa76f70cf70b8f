/*
 * bank-loadsim's command line (see loadsim.c for what a run does).
 *
 * --compare starts accounts, notifications and transactions twice, on free
 * ports in a scratch directory: first with CAUSEWAY_DISABLED=1, then
 * traced to a causeway-server it starts too; runs the same load against
 * each and prints throughput and latency side by side: the end-to-end
 * overhead of tracing.
 */
#define _POSIX_C_SOURCE 200809L
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "loadsim.h"

extern char **environ;

static int usage(void) {
  fprintf(stderr,
          "usage: bank-loadsim --transactions URL --accounts URL [options]\n"
          "       bank-loadsim --compare [--bin DIR] [options]\n"
          "options: --clients N (8) --seconds S (5) --accounts-n K (20)\n"
          "         --impolite PCT (25) --unsafe --no-progress\n");
  return 2;
}

/* Parses the leading digits of s. @return 0 when there were some. */
static int num_prefix(const char *s, int *out) {
  long v = 0;
  int k = 0;
  for (; s[k] >= '0' && s[k] <= '9' && k < 6; k++)
    v = v * 10 + (s[k] - '0');
  *out = (int)v;
  return k ? 0 : -1;
}

static int num(const char *s, int lo, int hi, int *out) {
  char *end = NULL;
  long v = strtol(s, &end, 10);
  if (!*s || *end || v < lo || v > hi)
    return -1;
  *out = (int)v;
  return 0;
}

/* ---- --compare: start the bank ------------------------------------------- */

#define MAXP 4
typedef struct stack {
  pid_t pid[MAXP];
  int n;
  char dir[256], accounts[128], transactions[128];
} stack;

static void pause_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Starts argv with extra environment entries, output to log. */
static pid_t start(char *const argv[], char *const extra[], const char *log) {
  size_t n = 0, k = 0;
  while (environ[n])
    n++;
  char **env = calloc(n + 8, sizeof *env);
  for (size_t i = 0; i < n; i++)
    if (strncmp(environ[i], "CAUSEWAY_", 9) != 0)
      env[k++] = environ[i];
  for (size_t i = 0; extra && extra[i]; i++)
    env[k++] = extra[i];
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], &fa, NULL, argv, env) != 0)
    pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  free(env);
  return pid;
}

/* Reads the port a process wrote: a port file, or "listening on H:P" in
 * a log. @return the port, or 0 after ~15 s. */
static int port_of(const char *file, int from_log) {
  for (int i = 0; i < 300; i++) {
    FILE *f = fopen(file, "r");
    int port = 0;
    if (f) {
      char line[512];
      while (!port && fgets(line, sizeof line, f)) {
        char *p = from_log ? strstr(line, "listening on ") : line;
        if (p && from_log)
          p = strrchr(p, ':') ? strrchr(p, ':') + 1 : NULL;
        if (p)
          num_prefix(p, &port);
      }
      fclose(f);
    }
    if (port > 0)
      return port;
    pause_ms(50);
  }
  return 0;
}

static void stack_stop(stack *s) {
  for (int i = s->n - 1; i >= 0; i--)
    if (s->pid[i] > 0)
      kill(s->pid[i], SIGTERM);
  for (int i = s->n - 1; i >= 0; i--)
    if (s->pid[i] > 0)
      waitpid(s->pid[i], NULL, 0);
  s->n = 0;
}

/* Starts collector (traced only), accounts, notifications, transactions. */
static int stack_start(stack *s, const char *bin, int traced) {
  memset(s, 0, sizeof s->pid);
  s->n = 0;
  snprintf(s->dir, sizeof s->dir, "/tmp/bank-loadsim.XXXXXX");
  if (!mkdtemp(s->dir))
    return -1;
  char path[4][512], pf[4][300], log[4][300], data[300], env0[200],
      urls[3][128];
  snprintf(data, sizeof data, "%s/data", s->dir);
  char *extra[3] = {NULL, NULL, NULL};
  if (traced) {
    char col[512], lg[300], listen[] = "127.0.0.1:0", cdata[300];
    snprintf(col, sizeof col, "%s/../server/collector/causeway-server", bin);
    snprintf(lg, sizeof lg, "%s/collector.log", s->dir);
    snprintf(cdata, sizeof cdata, "%s/collector", s->dir);
    char *argv[] = {col, "--listen", listen, "--data-dir", cdata, NULL};
    s->pid[s->n++] = start(argv, NULL, lg);
    int port = port_of(lg, 1);
    if (!port)
      return -1;
    snprintf(env0, sizeof env0, "CAUSEWAY_ENDPOINT=http://127.0.0.1:%d", port);
  } else {
    snprintf(env0, sizeof env0, "CAUSEWAY_DISABLED=1");
  }
  extra[0] = env0;
  const char *names[3] = {"accounts", "notifications", "transactions"};
  for (int i = 0; i < 3; i++) {
    snprintf(path[i], sizeof path[i], "%s/bank-%s", bin, names[i]);
    snprintf(pf[i], sizeof pf[i], "%s/%s.port", s->dir, names[i]);
    snprintf(log[i], sizeof log[i], "%s/%s.log", s->dir, names[i]);
    char *argv[12] = {path[i],  "--port",     "0",  "--port-file",
                      pf[i],    "--data-dir", data, "--rate-limit",
                      "100000", NULL};
    if (i == 2) {
      argv[9] = "--accounts";
      argv[10] = urls[0];
      argv[11] = NULL;
    }
    s->pid[s->n++] = start(argv, extra, log[i]);
    int port = port_of(pf[i], 0);
    if (!port)
      return -1;
    snprintf(urls[i], sizeof urls[i], "http://127.0.0.1:%d", port);
  }
  snprintf(s->accounts, sizeof s->accounts, "%s", urls[0]);
  snprintf(s->transactions, sizeof s->transactions, "%s", urls[2]);
  return 0;
}

static void side(const char *what, double off, double on, const char *unit) {
  printf("  %-22s %12.1f %12.1f %+9.1f%% %s\n", what, off, on,
         off > 0 ? 100.0 * (on - off) / off : 0.0, unit);
}

static int compare(const char *bin) {
  ls_result r[2];
  for (int traced = 0; traced <= 1; traced++) {
    stack s;
    if (stack_start(&s, bin, traced) != 0) {
      fprintf(stderr, "bank-loadsim: cannot start the bank (logs in %s)\n",
              s.dir);
      stack_stop(&s);
      return 2;
    }
    int rc = ls_run(s.accounts, s.transactions, &r[traced]);
    stack_stop(&s);
    if (rc != 0)
      return 2;
    ls_print(traced ? "tracing on (causeway-server)"
                    : "tracing off "
                      "(CAUSEWAY_DISABLED=1)",
             &r[traced]);
  }
  printf("\nend-to-end overhead of tracing (same load, same machine)\n");
  printf("  %-22s %12s %12s %10s\n", "", "off", "on", "change");
  side("throughput", r[0].throughput, r[1].throughput, "transfers/s");
  side("latency p50", r[0].p50_ms, r[1].p50_ms, "ms");
  side("latency p99", r[0].p99_ms, r[1].p99_ms, "ms");
  return r[0].ledger_ok && r[1].ledger_ok ? 0 : 1;
}

int main(int argc, char **argv) {
  ls_opts *o = ls_options();
  int cmp = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    int bad = 0, used = 1;
    if (strcmp(a, "--compare") == 0)
      cmp = 1, used = 0;
    else if (strcmp(a, "--unsafe") == 0)
      o->unsafe = 1, used = 0;
    else if (strcmp(a, "--no-progress") == 0)
      o->progress = 0, used = 0;
    else if (!v)
      bad = 1;
    else if (strcmp(a, "--transactions") == 0)
      o->transactions = v;
    else if (strcmp(a, "--accounts") == 0)
      o->accounts = v;
    else if (strcmp(a, "--bin") == 0)
      o->bin = v;
    else if (strcmp(a, "--clients") == 0)
      bad = num(v, 1, 256, &o->clients);
    else if (strcmp(a, "--seconds") == 0)
      bad = num(v, 1, 3600, &o->seconds);
    else if (strcmp(a, "--accounts-n") == 0)
      bad = num(v, 2, 1000, &o->naccounts);
    else if (strcmp(a, "--impolite") == 0)
      bad = num(v, 0, 100, &o->impolite_pct);
    else
      bad = 1;
    if (bad)
      return usage();
    i += used;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  signal(SIGPIPE, SIG_IGN);
  if (cmp) {
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = 0;
    return compare(o->bin ? o->bin : dirname(self));
  }
  if (!o->transactions || !o->accounts)
    return usage();
  ls_result r;
  if (ls_run(o->accounts, o->transactions, &r) != 0)
    return 2;
  ls_print(o->unsafe ? "load (unsafe debits)" : "load (safe)", &r);
  return r.ledger_ok ? 0 : 1;
}
