/*
 * cli: internals of the `causeway` command-line tool (server/cli/).
 */
#ifndef CW_CLI_H
#define CW_CLI_H

#include <stddef.h>

#include "cw_input.h"
#include "cw_report.h"

/* Exit codes. */
enum { CLI_OK = 0, CLI_FOUND = 1, CLI_USAGE = 2 };

/* What makes `check` fail (cw_report.h's gate bits). */
enum {
  FAIL_RACE = CW_FAIL_RACE,
  FAIL_RACE_ERROR = CW_FAIL_RACE_ERROR,
  FAIL_POTENTIAL = CW_FAIL_POTENTIAL,
  FAIL_DEADLOCK = CW_FAIL_DEADLOCK,
  FAIL_ANOMALY = CW_FAIL_ANOMALY
};

typedef enum {
  REPORT_TEXT,
  REPORT_JSON,
  REPORT_SARIF,
  REPORT_JUNIT
} cli_report;

/* Options shared by `check` and `run`. */
typedef struct cli_opts {
  cw_input_format format;
  const char *shiviz_regex; /* --shiviz-regex (NULL: GoVector's layout) */
  const char *shiviz_map;   /* --shiviz-map (NULL: TSViz's accesses) */
  cli_report report;
  unsigned fail_on;
  const char *suppressions;
  const char *output;      /* NULL: stdout */
  int progress;            /* -1 auto (TTY), 0 off, 1 on */
  int keep_traces;         /* run only */
  const char *source_root; /* --source-root (NULL: git's top level or cwd) */
  int allow_incomplete;    /* --allow-incomplete */
  int no_trace;            /* run: the command wrote no trace */
  /* Anomaly thresholds (--slow-db-ms...); 0 fields take the defaults. */
  cw_engine_config engine;
} cli_opts;

void cli_opts_init(cli_opts *o);
/* Parses one option at argv[*i] (advancing *i past its value).
 * @return 1 when consumed, 0 when argv[*i] is not an option of check/run,
 * -1 on a usage error (already printed). */
int cli_parse_opt(cli_opts *o, int argc, char **argv, int *i);
/* Parses a --fail-on LIST. @return 0 or -1. */
int cli_parse_fail_on(const char *list, unsigned *out);

/* Analyses the files together and writes the report.
 * @return CLI_OK, CLI_FOUND or CLI_USAGE (input error, printed). */
int cli_analyse(const cli_opts *o, const char *const *files, size_t n);

/* The SARIF source root: --source-root made absolute, else git's top level
 * of the working directory, else the working directory. @return buf, or
 * NULL when none can be found. */
const char *cli_source_root(const cli_opts *o, char *buf, size_t cap);

/* Lists dir's files whose names end with one of `suffixes` (NULL
 * terminated), sorted, as "dir/name". @return the count with a new array
 * in *out (free with cli_free_list), or -1. */
long cli_list_dir(const char *dir, const char *const *suffixes, char ***out);
void cli_free_list(char **v, long n);

/* `check --server URL`: gates on a running collector's findings.
 * key may be NULL (then CAUSEWAY_API_KEY is used).
 * @return CLI_OK, CLI_FOUND or CLI_USAGE. */
int cli_check_server(const cli_opts *o, const char *url, const char *key);

int cli_check(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_dump(int argc, char **argv);

/* Progress indicator on stderr (only when it is a terminal). */
typedef struct cli_progress cli_progress;
cli_progress *cli_progress_new(int mode, unsigned long long total_bytes);
void cli_progress_file(cli_progress *p, const char *name,
                       unsigned long long before_bytes);
void cli_progress_cb(void *ud, uint64_t done, uint64_t total);
void cli_progress_end(cli_progress *p);

/* Prints "causeway: " + message to stderr. */
void cli_err(const char *fmt, ...);

#endif
