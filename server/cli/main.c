/*
 * causeway: the command-line tool. `check` analyses trace files, `run` gates
 * a command's instrumented processes, `dump` prints native traces.
 * See docs/cli.md.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *out) {
  fputs("usage: causeway check [options] FILE...     analyse traces\n"
        "       causeway run [options] -- CMD ARGS... run CMD, check its "
        "traces\n"
        "       causeway dump FILE.cwt...             print native events\n"
        "       causeway --version\n"
        "Exit: 0 clean, 1 findings (see --fail-on), 2 usage or input "
        "error.\n"
        "`causeway check --help` lists the options.\n",
        out);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return CLI_USAGE;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "check"))
    return cli_check(argc - 1, argv + 1);
  if (!strcmp(cmd, "run"))
    return cli_run(argc - 1, argv + 1);
  if (!strcmp(cmd, "dump"))
    return cli_dump(argc - 1, argv + 1);
  if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
    puts("causeway " CW_CLI_VERSION);
    return CLI_OK;
  }
  if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
    usage(stdout);
    return CLI_OK;
  }
  cli_err("unknown command '%s'", cmd);
  usage(stderr);
  return CLI_USAGE;
}
