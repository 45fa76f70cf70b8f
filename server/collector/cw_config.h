/*
 * cw_config: the collector's settings, from command-line flags and their
 * environment variables (CAUSEWAY_LISTEN, CAUSEWAY_DATA_DIR...). A flag wins
 * over its variable; a variable wins over the built-in default.
 */
#ifndef CW_CONFIG_H
#define CW_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CW_CONFIG_MAX_KEYS 64
#define CW_CONFIG_MAX_KEY_LEN 256

typedef struct cw_config {
  char listen_host[64];
  int listen_port;       /* 0: pick a free port */
  char data_dir[1024];   /* "" keeps nothing on disk (tests) */
  char postgres[1024];   /* libpq conninfo, "" when unused */
  char viewer_dir[1024]; /* static files served at / ("" = none) */
  char keys[CW_CONFIG_MAX_KEYS][CW_CONFIG_MAX_KEY_LEN];
  size_t nkeys;
  uint64_t max_body;         /* bytes of one request body */
  uint64_t max_batch_events; /* events in one batch */
  uint64_t max_decoded;      /* decoded bytes of one request (413) */
  uint64_t ingest_memory;    /* all ingest requests together (503) */
  double rate_limit;         /* requests per second per key, 0 = off */
  double rate_burst;         /* bucket size */
  uint64_t retention_bytes;  /* store size cap, 0 = unlimited */
  uint64_t retention_events; /* stored events cap, 0 = unlimited */
  uint64_t segment_bytes;    /* segment file size before rotation */
  uint64_t queue_bytes;      /* analysis queue cap (decompressed bytes) */
  int threads;               /* HTTP worker threads */
  int max_subscribers;       /* live-push (SSE) connections */
  int fsync;                 /* 1: fdatasync before acknowledging */
  int keep_events;           /* audit trails and critical path */
  uint64_t event_memory;     /* timeline bytes (newest events), 0 = off */
  int header_timeout_ms;     /* whole request head (and keep-alive idle) */
  int body_timeout_ms;       /* whole request body, 0 = none */
  int max_client_conns;      /* connections per client address, 0 = off */
  /* Anomaly thresholds (docs/detection.md 10); 0 = the engine default. */
  uint64_t slow_db_ns, slow_http_ns, slow_span_ns, lock_wait_ns;
  uint32_t retry_storm;     /* retries of one site ... */
  uint64_t retry_window_ns; /* ... within this window */
} cw_config;

/* Fills defaults, then the environment, then argv.
 * @return 0 to run, 1 when --help or --version was printed (exit 0), -1 on
 * a usage error (message in err). */
int cw__config_load(cw_config *c, int argc, char **argv, char *err,
                    size_t errsz);

/* 1 when the listen host is a loopback address (127.0.0.0/8, localhost,
 * ::1): only local processes can connect. */
int cw__config_is_loopback(const char *host);

/* The --help text. */
const char *cw__config_usage(void);

#endif /* CW_CONFIG_H */
