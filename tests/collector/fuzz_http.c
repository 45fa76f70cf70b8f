/*
 * fuzz_http: fuzz target for the collector's whole HTTP request path. Each
 * input is the raw bytes of one request, head and body, written to a real
 * causeway-server started in this process (cw__server_start, the function
 * main.c runs): civetweb's request parser, the routing, the API key and its
 * rate limit, the body limits and deadlines, the memory budget, native and
 * Raceway ingest, the analysis, the query and viewer routes. The answer is
 * read to its end before the next input, so the handler's coverage belongs
 * to the input that caused it. (The analysis thread is not waited for: a
 * native batch that arrives before its predecessor is held for 2 s.)
 *
 * The server runs with the key "fuzzkey" (send "Authorization: Bearer
 * fuzzkey"), no data dir (memory only), no viewer files, 4 workers and
 * short deadlines. Requests for /v1/stream (a live stream that stays open
 * by design) are not sent.
 *
 * Build with -fsanitize=fuzzer (tests/fuzz.cmake), or link
 * tests/fuzz/replay_main.c to replay the corpus tests/collector/corpus-http in
 * the normal suite.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "cw_config.h"
#include "server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static cw_server *srv;
static int port;

/* Stops the server at exit. */
static void stop(void) {
  cw__server_stop(srv);
  srv = NULL;
}

static void start(void) {
  static cw_config cfg;
  const char *argv[] = {"fuzz_http",
                        "--listen",
                        "127.0.0.1:0",
                        "--data-dir",
                        "",
                        "--viewer-dir",
                        "",
                        "--api-key",
                        "fuzzkey",
                        "--threads",
                        "4",
                        "--header-timeout-ms",
                        "500",
                        "--body-timeout-ms",
                        "500",
                        "--max-body",
                        "1M",
                        "--ingest-memory",
                        "64M",
                        "--max-decoded",
                        "16M",
                        "--queue-bytes",
                        "16M",
                        "--event-memory",
                        "1M",
                        "--fsync",
                        "0"};
  char err[256];
  int argc = (int)(sizeof argv / sizeof argv[0]);
  if (cw__config_load(&cfg, argc, (char **)argv, err, sizeof err) ||
      cw__server_start(&cfg, &srv, err, sizeof err)) {
    fprintf(stderr, "fuzz_http: cannot start the server: %s\n", err);
    abort();
  }
  port = cw__server_port(srv);
  atexit(stop);
}

/* The request line asks for the live stream (kept open by design). */
static int is_stream(const uint8_t *d, size_t n) {
  const uint8_t *eol = memchr(d, '\n', n);
  size_t line = eol ? (size_t)(eol - d) : n;
  static const char s[] = "/v1/stream";
  for (size_t i = 0; i + sizeof s - 1 <= line; i++)
    if (!memcmp(d + i, s, sizeof s - 1))
      return 1;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!srv)
    start();
  if (is_stream(data, size))
    return 0;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return 0;
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
    close(fd);
    return 0;
  }
  size_t off = 0;
  while (off < size) {
    ssize_t w = send(fd, data + off, size - off, MSG_NOSIGNAL);
    if (w <= 0)
      break; /* the server answered early and closed (401, 413...) */
    off += (size_t)w;
  }
  shutdown(fd, SHUT_WR); /* the end of the request: civetweb sees EOF */
  char buf[16384];
  while (recv(fd, buf, sizeof buf, 0) > 0)
    ;
  close(fd);
  return 0;
}
