/*
 * cli_run: `causeway run [options] -- CMD ARGS...`, the CI gate.
 *
 * Creates a fresh trace directory, exports it as CAUSEWAY_TRACE_DIR (the
 * SDK then writes <dir>/<service>-<pid>.cwt from every instrumented process,
 * children included), runs CMD, and checks every *.cwt of the directory
 * together. CMD's own failure wins the exit code (128+N for signal N);
 * otherwise the exit code is check's. The directory is removed afterwards
 * unless --keep-traces is given.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

static void remove_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
      if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
        continue;
      char path[8192];
      int len = snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
      if (len < 0 || (size_t)len >= sizeof path)
        continue;
      if (unlink(path) != 0)
        cli_err("cannot remove %s: %s", path, strerror(errno));
    }
    closedir(d);
  }
  if (rmdir(dir) != 0)
    cli_err("cannot remove %s: %s", dir, strerror(errno));
}

/* Runs argv with the trace dir exported. @return CMD's exit status as an
 * exit code (0..255), or -1 when it could not be started. */
static int run_cmd(char **argv, const char *dir) {
  pid_t pid = fork();
  if (pid < 0) {
    cli_err("run: fork: %s", strerror(errno));
    return -1;
  }
  if (pid == 0) {
    if (setenv("CAUSEWAY_TRACE_DIR", dir, 1) != 0)
      _exit(127);
    execvp(argv[0], argv);
    fprintf(stderr, "causeway: run: %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  /* Like a shell: the command takes terminal signals, we wait for it. */
  struct sigaction ign, old_int, old_quit;
  memset(&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  sigaction(SIGINT, &ign, &old_int);
  sigaction(SIGQUIT, &ign, &old_quit);
  int status = 0;
  pid_t w;
  do {
    w = waitpid(pid, &status, 0);
  } while (w < 0 && errno == EINTR);
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGQUIT, &old_quit, NULL);
  if (w < 0) {
    cli_err("run: waitpid: %s", strerror(errno));
    return -1;
  }
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return 1;
}

static void run_usage(void) {
  fputs("usage: causeway run [--report text|json|sarif|junit] "
        "[--fail-on LIST]\n"
        "                    [--suppressions FILE] [--output FILE] "
        "[--keep-traces]\n"
        "                    [--source-root DIR] [--allow-incomplete]\n"
        "                    -- CMD [ARGS...]\n"
        "  exit: CMD's own failure, else as `causeway check`; 2 when CMD\n"
        "        wrote no trace\n",
        stderr);
}

int cli_run(int argc, char **argv) {
  cli_opts o;
  cli_opts_init(&o);
  int i;
  for (i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--")) {
      i++;
      break;
    }
    if (!strcmp(argv[i], "--keep-traces")) {
      o.keep_traces = 1;
      continue;
    }
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      run_usage();
      return CLI_OK;
    }
    if (argv[i][0] != '-')
      break; /* CMD without "--" */
    int r = cli_parse_opt(&o, argc, argv, &i);
    if (r == 0)
      cli_err("run: unknown option '%s'", argv[i]);
    if (r <= 0) {
      run_usage();
      return CLI_USAGE;
    }
  }
  if (i >= argc) {
    cli_err("run: no command given");
    run_usage();
    return CLI_USAGE;
  }
  /* Native traces only: the trace directory holds what the SDK wrote. */
  o.format = CW_FMT_NATIVE;

  const char *tmp = getenv("TMPDIR");
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/causeway-run-XXXXXX",
           tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir)) {
    cli_err("run: cannot create a trace directory in %s: %s",
            tmp && *tmp ? tmp : "/tmp", strerror(errno));
    return CLI_USAGE;
  }
  fflush(stdout);
  int cmd = run_cmd(argv + i, dir);

  char **traces = NULL;
  static const char *const cwt[] = {".cwt", NULL};
  long n = cli_list_dir(dir, cwt, &traces);
  int rc;
  if (n < 0) {
    cli_err("run: cannot read %s: %s", dir, strerror(errno));
    rc = CLI_USAGE;
  } else {
    if (n == 0) {
      cli_err("run: no trace was written to %s (is the program built with "
              "the causeway SDK?)",
              dir);
      o.no_trace = 1; /* the report has one failing test; exit 2 */
    }
    rc = cli_analyse(&o, (const char *const *)traces, (size_t)n);
  }
  cli_free_list(traces, n < 0 ? 0 : n);
  if (o.keep_traces)
    cli_err("run: traces kept in %s", dir);
  else
    remove_dir(dir);
  if (cmd < 0)
    return CLI_USAGE;
  if (cmd != 0)
    return cmd;
  return rc;
}
