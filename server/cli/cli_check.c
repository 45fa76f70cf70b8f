/*
 * cli_check: `causeway check`: option parsing shared with `run`, reading
 * every input into one engine, the report, and the exit code.
 *
 * Inputs of one run are one analysis: STD files are streamed in the order
 * given (each file is a process: service = basename, and with several
 * files actors are named "file/THREAD"), Raceway files are decoded
 * together (one batch set in timestamp order), and all native files are
 * decoded together (merged by time).
 */
#define _DEFAULT_SOURCE /* realpath */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* Raceway inputs are parsed as a whole; refuse absurd sizes. */
#define RACEWAY_MAX_BYTES ((size_t)1 << 30)

void cli_err(const char *fmt, ...) {
  va_list ap;
  fputs("causeway: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

void cli_opts_init(cli_opts *o) {
  memset(o, 0, sizeof *o);
  o->format = CW_FMT_AUTO;
  o->report = REPORT_TEXT;
  o->fail_on = FAIL_RACE | FAIL_DEADLOCK;
  o->progress = -1;
  o->engine.size = sizeof o->engine;
}

int cli_parse_fail_on(const char *list, unsigned *out) {
  static const struct {
    const char *name;
    unsigned bit;
  } names[] = {
      {"race", FAIL_RACE},
      {"race-error", FAIL_RACE_ERROR},
      {"potential-deadlock", FAIL_POTENTIAL},
      {"deadlock", FAIL_DEADLOCK},
      {"anomaly", FAIL_ANOMALY},
      {"none", 0},
  };
  unsigned v = 0;
  int none = 0, items = 0;
  const char *p = list;
  for (;;) {
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    size_t k;
    for (k = 0; k < sizeof names / sizeof names[0]; k++)
      if (strlen(names[k].name) == n && memcmp(p, names[k].name, n) == 0)
        break;
    if (k == sizeof names / sizeof names[0]) {
      cli_err("--fail-on: unknown item '%.*s' (expected race, race-error, "
              "potential-deadlock, deadlock, anomaly or none)",
              (int)(n > 40 ? 40 : n), p);
      return -1;
    }
    none |= names[k].bit == 0;
    v |= names[k].bit;
    items++;
    if (!comma)
      break;
    p = comma + 1;
  }
  if (none && items > 1) {
    cli_err("--fail-on: 'none' cannot be combined with other items");
    return -1;
  }
  *out = v;
  return 0;
}

/* Matches "--name VALUE" and "--name=VALUE". @return the value or NULL. */
static const char *opt_value(int argc, char **argv, int *i, const char *name,
                             int *err) {
  size_t n = strlen(name);
  const char *a = argv[*i];
  if (strncmp(a, name, n) != 0)
    return NULL;
  if (a[n] == '=')
    return a + n + 1;
  if (a[n] != '\0')
    return NULL;
  if (*i + 1 >= argc) {
    cli_err("%s needs a value", name);
    *err = 1;
    return NULL;
  }
  return argv[++*i];
}

/* The anomaly threshold options, in milliseconds. */
static const struct {
  const char *name;
  size_t off;
} ms_opts[] = {
    {"--slow-db-ms", offsetof(cw_engine_config, slow_db_ns)},
    {"--slow-http-ms", offsetof(cw_engine_config, slow_http_ns)},
    {"--slow-span-ms", offsetof(cw_engine_config, slow_span_ns)},
    {"--lock-wait-ms", offsetof(cw_engine_config, lock_wait_ns)},
};

int cli_parse_opt(cli_opts *o, int argc, char **argv, int *i) {
  int err = 0;
  const char *v;
  for (size_t k = 0; k < sizeof ms_opts / sizeof ms_opts[0]; k++) {
    if ((v = opt_value(argc, argv, i, ms_opts[k].name, &err))) {
      uint64_t ns;
      if (cw__anomaly_parse_ms(v, &ns) != 0) {
        cli_err("%s: '%s' is not a number of milliseconds (1 or more)",
                ms_opts[k].name, v);
        return -1;
      }
      memcpy((char *)&o->engine + ms_opts[k].off, &ns, sizeof ns);
      return 1;
    }
    if (err)
      return -1;
  }
  if ((v = opt_value(argc, argv, i, "--retry-storm", &err))) {
    if (cw__anomaly_parse_storm(v, &o->engine.retry_storm,
                                &o->engine.retry_window_ns) != 0) {
      cli_err("--retry-storm: '%s' is not N/MS (e.g. 10/1000: 10 retries "
              "within 1000 ms)",
              v);
      return -1;
    }
    return 1;
  }
  if (err)
    return -1;
  if ((v = opt_value(argc, argv, i, "--input-format", &err))) {
    if (cw__input_format_parse(v, &o->format) != 0) {
      cli_err("--input-format: unknown format '%s' (expected auto, native, "
              "std, raceway, clocks or shiviz)",
              v);
      return -1;
    }
    return 1;
  }
  if (!err && (v = opt_value(argc, argv, i, "--shiviz-regex", &err))) {
    o->shiviz_regex = v;
    return 1;
  }
  if (!err && (v = opt_value(argc, argv, i, "--shiviz-map", &err))) {
    o->shiviz_map = v;
    return 1;
  }
  if (!err && (v = opt_value(argc, argv, i, "--report", &err))) {
    if (!strcmp(v, "text"))
      o->report = REPORT_TEXT;
    else if (!strcmp(v, "json"))
      o->report = REPORT_JSON;
    else if (!strcmp(v, "sarif"))
      o->report = REPORT_SARIF;
    else if (!strcmp(v, "junit"))
      o->report = REPORT_JUNIT;
    else {
      cli_err("--report: unknown report '%s' (expected text, json, sarif or "
              "junit)",
              v);
      return -1;
    }
    return 1;
  }
  if (!err && (v = opt_value(argc, argv, i, "--fail-on", &err)))
    return cli_parse_fail_on(v, &o->fail_on) == 0 ? 1 : -1;
  if (!err && (v = opt_value(argc, argv, i, "--suppressions", &err))) {
    o->suppressions = v;
    return 1;
  }
  if (!err && (v = opt_value(argc, argv, i, "--source-root", &err))) {
    o->source_root = v;
    return 1;
  }
  if (!err && (v = opt_value(argc, argv, i, "--output", &err))) {
    o->output = v;
    return 1;
  }
  if (err)
    return -1;
  if (!strcmp(argv[*i], "--progress")) {
    o->progress = 1;
    return 1;
  }
  if (!strcmp(argv[*i], "--allow-incomplete")) {
    o->allow_incomplete = 1;
    return 1;
  }
  if (!strcmp(argv[*i], "--no-progress")) {
    o->progress = 0;
    return 1;
  }
  return 0;
}

static const char *base_name(const char *path) {
  const char *s = strrchr(path, '/');
  return s && s[1] ? s + 1 : path;
}

static int detect(const char *path, cw_input_format *out) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    cli_err("%s: %s", path, strerror(errno));
    return -1;
  }
  uint8_t head[4096];
  size_t n = fread(head, 1, sizeof head, f);
  fclose(f);
  *out = cw__input_detect(path, head, n);
  return 0;
}

static int decode_std(const char *path, cw_engine *e, cw_input_opts *io,
                      cw_input_stats *st) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    cli_err("%s: %s", path, strerror(errno));
    return -1;
  }
  cw_input_error err;
  int rc = cw__std_decode_stream(f, e, io, st, &err);
  fclose(f);
  if (rc)
    cli_err("%s", err.msg);
  return rc;
}

static int add_raceway(const char *path, cw_raceway_set *set, cw_input_opts *io,
                       cw_input_stats *st) {
  char msg[128];
  size_t len;
  char *buf = cw__read_file(path, RACEWAY_MAX_BYTES, &len, msg, sizeof msg);
  if (!buf) {
    cli_err("%s: %s", path, msg);
    return -1;
  }
  cw_input_error err;
  int rc = cw__raceway_set_add(set, buf, len, io, st, &err);
  free(buf);
  if (rc)
    cli_err("%s", err.msg);
  return rc;
}

/* Clocks (JSON lines) and ShiViz inputs become native images, decoded with
 * the trace files. @return the image (free() it) or NULL (error printed). */
static uint8_t *clocked_image(const char *path, cw_input_format fmt,
                              cw_input_opts *io, cw_input_stats *st,
                              size_t *img_len) {
  char msg[128];
  size_t len;
  char *buf = cw__read_file(path, RACEWAY_MAX_BYTES, &len, msg, sizeof msg);
  if (!buf) {
    cli_err("%s: %s", path, msg);
    return NULL;
  }
  cw_input_error err;
  memset(&err, 0, sizeof err);
  uint8_t *img = NULL;
  int rc = fmt == CW_FMT_SHIVIZ
               ? cw__shiviz_to_native(buf, len, io, st, &img, img_len, &err)
               : cw__clocks_to_native(buf, len, io, st, &img, img_len, &err);
  free(buf);
  if (rc) {
    cli_err("%s", err.msg[0] ? err.msg : "out of memory");
    return NULL;
  }
  return img;
}

static unsigned long long file_size(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 && sb.st_size > 0 ? (unsigned long long)sb.st_size
                                                : 0;
}

/* Feeds every input into e. @return 0 or -1 (error printed). */
static int load_inputs(const cli_opts *o, const char *const *files, size_t n,
                       cw_engine *e, cw_input_stats *st, cw_report_input *rin) {
  cw_input_format *fmt = calloc(n ? n : 1, sizeof *fmt);
  cw_native_src *native = calloc(n ? n : 1, sizeof *native);
  int rc = fmt && native ? 0 : -1;
  size_t nnative = 0, nother = 0;
  unsigned long long total = 0, before = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    fmt[i] = o->format;
    if (fmt[i] == CW_FMT_AUTO)
      rc = detect(files[i], &fmt[i]);
    total += file_size(files[i]);
    rin[i].path = files[i];
    rin[i].is_std = fmt[i] == CW_FMT_STD;
    if (fmt[i] == CW_FMT_NATIVE)
      native[nnative++].name = files[i];
    else
      nother++;
  }
  cli_progress *pr = rc == 0 ? cli_progress_new(o->progress, total) : NULL;
  cw_raceway_set *set = cw__raceway_set_new();
  if (!set) {
    cli_err("out of memory");
    rc = -1;
  }
  for (size_t i = 0; i < n && rc == 0; i++) {
    if (fmt[i] == CW_FMT_NATIVE)
      continue;
    cw_input_opts io = {.name = files[i],
                        .service = base_name(files[i]),
                        .prefix_actors = nother + nnative > 1,
                        .progress = pr ? cli_progress_cb : NULL,
                        .progress_ud = pr,
                        .total_bytes = total,
                        .shiviz_regex = o->shiviz_regex,
                        .shiviz_map = o->shiviz_map};
    cli_progress_file(pr, files[i], before);
    if (fmt[i] == CW_FMT_CLOCKS || fmt[i] == CW_FMT_SHIVIZ) {
      native[nnative].name = files[i];
      native[nnative].buf =
          clocked_image(files[i], fmt[i], &io, st, &native[nnative].len);
      rc = native[nnative++].buf ? 0 : -1;
    } else
      rc = fmt[i] == CW_FMT_STD ? decode_std(files[i], e, &io, st)
                                : add_raceway(files[i], set, &io, st);
    before += file_size(files[i]);
  }
  /* All Raceway inputs are one batch set, fed in timestamp order. */
  if (rc == 0 && cw__raceway_set_feed(set, e, st) != 0) {
    cli_err("out of memory");
    rc = -1;
  }
  cw__raceway_set_free(set);
  if (rc == 0 && nnative) {
    cw_input_opts io = {.name = native[0].name,
                        .progress = pr ? cli_progress_cb : NULL,
                        .progress_ud = pr,
                        .total_bytes = total};
    cw_input_error err;
    cli_progress_file(pr, nnative > 1 ? "native traces" : native[0].name,
                      before);
    rc = cw__native_decode_srcs(native, nnative, e, &io, st, &err);
    if (rc)
      cli_err("%s", err.msg[0] ? err.msg : "out of memory");
  }
  cli_progress_end(pr);
  free(fmt);
  for (size_t i = 0; native && i < nnative; i++)
    free((void *)native[i].buf);
  free(native);
  return rc;
}

const char *cli_source_root(const cli_opts *o, char *buf, size_t cap) {
  if (o->source_root)
    return realpath(o->source_root, buf) ? buf : o->source_root;
  /* git's top level, when the working directory is in a work tree. */
  FILE *p = popen("git rev-parse --show-toplevel 2>/dev/null", "r");
  if (p) {
    int ok = fgets(buf, (int)cap, p) != NULL;
    if (pclose(p) == 0 && ok && buf[0] == '/') {
      buf[strcspn(buf, "\n")] = '\0';
      return buf;
    }
  }
  return getcwd(buf, cap);
}

static int write_report(const cli_opts *o, const cw_findings *f) {
  FILE *out = stdout;
  if (o->output && strcmp(o->output, "-") != 0) {
    out = fopen(o->output, "w");
    if (!out) {
      cli_err("%s: %s", o->output, strerror(errno));
      return -1;
    }
  }
  int rc;
  switch (o->report) {
  case REPORT_JSON:
    rc = cw__report_write_json(out, f);
    break;
  case REPORT_SARIF:
    rc = cw__report_write_sarif(out, f);
    break;
  case REPORT_JUNIT:
    rc = cw__report_write_junit(out, f);
    break;
  default:
    rc = cw__report_write_text(out, f);
    break;
  }
  if (fflush(out) != 0)
    rc = -1;
  if (out != stdout && fclose(out) != 0)
    rc = -1;
  if (rc)
    cli_err("cannot write the report");
  return rc;
}

/* The temporary file of pass 1's record (docs/detection.md 4.3), removed
 * at once (it goes when closed), in $TMPDIR or /tmp; NULL when none can be
 * made (pass 2 then reads the inputs again). */
static FILE *record_file(void) {
  const char *dir = getenv("TMPDIR");
  char path[4096];
  int len = snprintf(path, sizeof path, "%s/causeway-pass1-XXXXXX",
                     dir && *dir ? dir : "/tmp");
  if (len < 0 || (size_t)len >= sizeof path)
    return NULL;
  int fd = mkstemp(path);
  if (fd < 0)
    return NULL;
  unlink(path);
  FILE *f = fdopen(fd, "w+b");
  if (!f)
    close(fd);
  return f;
}

/* Pass 2 of the potential deadlocks, only when pass 1 found a lock cycle
 * that may be one: pass 1's record into the replay engine, or, without a
 * usable record, the same inputs again. */
static int replay(const cli_opts *o, const char *const *files, size_t n,
                  cw_engine *e) {
  cw_engine *r = cw__engine_replay_new(e);
  if (!r)
    return CLI_OK;
  int fed = cw__engine_replay_run(e, r);
  int rc = fed == 0 ? CLI_OK : CLI_USAGE;
  cw_report_input *rin = NULL;
  if (fed == -1) {
    cli_opts o2 = *o;
    o2.progress = 0;
    cw_input_stats st;
    memset(&st, 0, sizeof st);
    rin = calloc(n ? n : 1, sizeof *rin);
    rc = rin && load_inputs(&o2, files, n, r, &st, rin) == 0 ? CLI_OK
                                                             : CLI_USAGE;
  }
  if (rc == CLI_OK) {
    cw__engine_flush(r);
    cw__engine_replay_adopt(e, r);
  } else if (fed == -2) {
    cli_err("the second pass (potential deadlocks) could not read back the "
            "record of the first");
  } else {
    cli_err("the second pass (potential deadlocks) could not read the "
            "inputs again");
  }
  free(rin);
  cw__engine_free(r);
  return rc;
}

int cli_analyse(const cli_opts *o, const char *const *files, size_t n) {
  cw_suppressions *supp = NULL;
  if (o->suppressions) {
    cw_input_error err;
    supp = cw__supp_load(o->suppressions, &err);
    if (!supp) {
      cli_err("%s", err.msg);
      return CLI_USAGE;
    }
  }
  /* Files can be read twice: potential deadlocks are exact (two passes,
   * docs/detection.md 4.3). */
  cw_engine_config cfg = o->engine;
  cfg.two_pass = 1;
  cw_engine *e = cw__engine_new(&cfg);
  if (!e) {
    cw__supp_free(supp);
    cli_err("out of memory");
    return CLI_USAGE;
  }
  FILE *rec = record_file();
  cw__engine_record(e, rec);
  cw_input_stats st;
  memset(&st, 0, sizeof st);
  char root[4096];
  cw_report_input *rin = calloc(n ? n : 1, sizeof *rin);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  cw_report_ctx ctx = {.fail_on = o->fail_on,
                       .fail_on_set = 1,
                       .source_root =
                           o->report == REPORT_SARIF
                               ? cli_source_root(o, root, sizeof root)
                               : NULL,
                       .inputs = rin,
                       .ninputs = n,
                       .no_trace = o->no_trace,
                       .allow_incomplete = o->allow_incomplete,
                       .started_unix = (long long)time(NULL)};
  int rc =
      rin && load_inputs(o, files, n, e, &st, rin) == 0 ? CLI_OK : CLI_USAGE;
  if (rc == CLI_OK) {
    cw__engine_flush(e);
    rc = replay(o, files, n, e);
  }
  if (rc == CLI_OK) {
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ctx.seconds = (double)(t1.tv_sec - t0.tv_sec) +
                  (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    cw_findings f;
    if (cw__findings_collect(&f, e, supp, &st) != 0) {
      cli_err("out of memory");
      rc = CLI_USAGE;
    } else {
      f.ctx = &ctx;
      if (write_report(o, &f) != 0)
        rc = CLI_USAGE;
      else
        rc = cw__gate_exit(&f);
      /* The text report on stdout says it itself; otherwise tell the log. */
      const char *why = cw__gate_incomplete(&f);
      if (why && (o->report != REPORT_TEXT ||
                  (o->output && *o->output && strcmp(o->output, "-"))))
        cli_err("%s", why);
    }
    cw__findings_free(&f);
  }
  free(rin);
  cw__engine_free(e);
  if (rec)
    fclose(rec);
  cw__supp_free(supp);
  return rc;
}

static void check_usage(void) {
  fputs("usage: causeway check [--input-format "
        "auto|native|std|raceway|clocks|shiviz]\n"
        "                      [--shiviz-regex RE] [--shiviz-map RE]\n"
        "                      [--report text|json|sarif|junit]\n"
        "                      [--fail-on LIST] [--suppressions FILE]\n"
        "                      [--output FILE] [--[no-]progress]\n"
        "                      [--slow-db-ms N] [--slow-http-ms N]\n"
        "                      [--slow-span-ms N] [--lock-wait-ms N]\n"
        "                      [--retry-storm N/MS]\n"
        "                      [--source-root DIR] [--allow-incomplete]\n"
        "                      FILE...\n"
        "       causeway check --server URL [--api-key KEY]\n"
        "                      [--report text|json] [--fail-on LIST]\n"
        "  LIST: comma-separated race, race-error, potential-deadlock,\n"
        "        deadlock, anomaly, or none (default: race,deadlock)\n"
        "  exit: 0 pass, 1 a finding fails the gate, 2 usage or input\n"
        "        error, or nothing (or not all) was checked: no event,\n"
        "        a truncated input (unless --allow-incomplete)\n",
        stderr);
}

/* Appends path, or the trace files of a directory, to the file list. */
static int add_input(const char *path, const char ***files, size_t *n,
                     size_t *cap, char ***owned, long *nowned) {
  static const char *const traces[] = {".cwt", ".std", ".json", ".jsonl", NULL};
  struct stat sb;
  char **list = NULL;
  long k = 0;
  if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
    k = cli_list_dir(path, traces, &list);
    if (k < 0) {
      cli_err("%s: cannot list the directory", path);
      return -1;
    }
    if (k == 0)
      cli_err("%s: no .cwt, .std, .json or .jsonl file", path);
  }
  size_t need = *n + (size_t)(list ? k : 1);
  if (need > *cap) {
    size_t ncap = need * 2;
    const char **f = realloc(*files, ncap * sizeof *f);
    char **o = realloc(*owned, ncap * sizeof *o);
    if (f)
      *files = f;
    if (o)
      *owned = o;
    if (!f || !o) {
      cli_free_list(list, k);
      cli_err("out of memory");
      return -1;
    }
    *cap = ncap;
  }
  if (!list) {
    (*files)[(*n)++] = path;
    return 0;
  }
  for (long i = 0; i < k; i++) {
    (*files)[(*n)++] = list[i];
    (*owned)[(*nowned)++] = list[i];
  }
  free(list);
  return 0;
}

int cli_check(int argc, char **argv) {
  cli_opts o;
  cli_opts_init(&o);
  const char **files = NULL;
  char **owned = NULL;
  size_t n = 0, cap = 0;
  long nowned = 0;
  int only_files = 0, rc = CLI_USAGE;
  const char *server = NULL, *api_key = NULL;
  for (int i = 1; i < argc; i++) {
    if (!only_files && !strcmp(argv[i], "--")) {
      only_files = 1;
      continue;
    }
    if (!only_files && argv[i][0] == '-' && argv[i][1] != '\0') {
      if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
        check_usage();
        rc = CLI_OK;
        goto out;
      }
      if (!strcmp(argv[i], "--server") || !strcmp(argv[i], "--api-key")) {
        if (i + 1 >= argc) {
          cli_err("check: %s needs a value", argv[i]);
          check_usage();
          goto out;
        }
        if (!strcmp(argv[i], "--server"))
          server = argv[++i];
        else
          api_key = argv[++i];
        continue;
      }
      int r = cli_parse_opt(&o, argc, argv, &i);
      if (r == 0)
        cli_err("check: unknown option '%s'", argv[i]);
      if (r <= 0) {
        check_usage();
        goto out;
      }
      continue;
    }
    if (add_input(argv[i], &files, &n, &cap, &owned, &nowned) != 0)
      goto out;
  }
  if (server) {
    if (n) {
      cli_err("check: give trace files or --server, not both");
      check_usage();
      goto out;
    }
    rc = cli_check_server(&o, server, api_key);
    goto out;
  }
  if (api_key) {
    cli_err("check: --api-key goes with --server");
    goto out;
  }
  if (n == 0) {
    cli_err("check: no input files");
    check_usage();
    goto out;
  }
  rc = cli_analyse(&o, files, n);
out:
  free(files);
  cli_free_list(owned, nowned);
  return rc;
}
