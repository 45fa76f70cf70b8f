/*
 * main.c: a minimal causeway consumer: traces a lock and a write into the
 * file named by argv[1], then checks the trace file is not empty.
 */
#define _POSIX_C_SOURCE 200809L

#include <causeway.h>
#include <stdio.h>
#include <sys/stat.h>

int main(int argc, char **argv) {
  if (argc != 2 || cw_version() != CW_VERSION_HEX)
    return 2;
  cw_config cfg;
  cw_config_init(&cfg);
  cfg.service = "consumer";
  cfg.trace_file = argv[1];
  if (cw_init(&cfg) != CW_OK)
    return 3;
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  cw_mutex_lock(&m);
  CW_WRITE_INT("consumer:x", 1);
  cw_mutex_unlock(&m);
  if (cw_shutdown() != CW_OK)
    return 4;
  struct stat sb;
  if (stat(argv[1], &sb) != 0 || sb.st_size == 0)
    return 5;
  printf("ok %s\n", cw_version_string());
  return 0;
}
