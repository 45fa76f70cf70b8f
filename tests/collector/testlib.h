/*
 * testlib: helpers for the collector's integration tests: start and stop a
 * real causeway-server process, talk HTTP to it with libcurl, and build
 * native batches with sdk/format.
 */
#ifndef CW_COLLECTOR_TESTLIB_H
#define CW_COLLECTOR_TESTLIB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct tl_server {
  pid_t pid;
  int port;
  char data_dir[256];
  char url[64];
} tl_server;

/* Starts causeway-server (path from CW_SERVER_BIN) on 127.0.0.1:0 with the
 * data dir (created with mkdtemp when data_dir is NULL or "") and the extra
 * NULL-terminated arguments. @return 0 or -1. */
int tl_server_start(tl_server *s, const char *data_dir,
                    const char *const *extra);
/* Sends `sig` (SIGTERM: clean stop; SIGKILL: crash) and reaps the process.
 * @return its exit status as from waitpid, or -1. */
int tl_server_stop(tl_server *s, int sig);
/* Removes the data dir and its files. */
void tl_rmdir(const char *dir);

/* One HTTP exchange. headers: NULL-terminated "Name: value" strings.
 * *resp (may be NULL) receives a new NUL-terminated body (free it).
 * @return the HTTP status, or -1 on a transport error. */
int tl_http(const char *method, const char *url, const char *const *headers,
            const void *body, size_t len, char **resp);

/* As tl_http, also copying the value of response header `want` (e.g.
 * "Retry-After") into val (valsz bytes; "" when absent). */
int tl_http_hdr(const char *method, const char *url, const char *const *headers,
                const void *body, size_t len, char **resp, const char *want,
                char *val, size_t valsz);

/* Reads an integer at a dotted path ("summary.events") of a JSON text.
 * @return the value, or -1 when absent. */
long long tl_json_int(const char *json, const char *path);

/* GET url+path and read an integer from its JSON (-1 on failure). */
long long tl_get_int(const tl_server *s, const char *path,
                     const char *json_path, const char *const *headers);

/* Events of a synthetic native batch. */
typedef struct tl_batch_spec {
  uint8_t stream_id[16];
  uint64_t batch_no;
  const char *service;    /* default "svc" */
  const char *instance;   /* default "i1" */
  const char *actor;      /* default "main" */
  uint32_t nevents;       /* WRITE events on variable `var`, a key
                             shared by processes (CW_EVF_SHARED) */
  const char *var;        /* default "v" */
  uint64_t first_counter; /* counter of the first event (>= 1) */
  uint64_t first_seq;
} tl_batch_spec;

/* Builds one native batch: compressed (LZ4 frame) or raw records.
 * @return a new buffer (free it) and its size, or NULL. */
uint8_t *tl_native_batch(const tl_batch_spec *b, int compressed,
                         size_t *out_len);

/* Fills a stream id from a seed. */
void tl_stream_id(uint8_t id[16], uint64_t seed);

#endif /* CW_COLLECTOR_TESTLIB_H */
