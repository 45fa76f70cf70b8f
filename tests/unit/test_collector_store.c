/*
 * Unit tests of the collector's segment store (server/collector/store.c):
 * round trip through replay, group commit from many threads, repair of a
 * torn last segment, resynchronisation after a damaged record (the valid
 * records after it are kept, the damaged bytes copied to DIR/damaged/),
 * rotation and retention.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

typedef struct seen {
  uint64_t records, events, bytes;
  uint32_t last_value;
  int in_order;
} seen;

static int on_rec(void *ud, const cw_store_rec *r) {
  seen *s = ud;
  s->records++;
  s->events += r->nevents;
  s->bytes += r->len;
  if (r->len >= 4) {
    uint32_t v;
    memcpy(&v, r->data, 4);
    if (s->records > 1 && v != s->last_value + 1)
      s->in_order = 0;
    s->last_value = v;
  }
  return 0;
}

static void mkdir_tmp(char *dir, size_t n) {
  snprintf(dir, n, "/tmp/cw-store-XXXXXX");
  assert_non_null(mkdtemp(dir));
}

static void rm_tmp(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *de;
  char p[512];
  while (d && (de = readdir(d)))
    if (de->d_name[0] != '.') {
      snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
      if (unlink(p))
        rm_tmp(p); /* damaged/ */
    }
  if (d)
    closedir(d);
  rmdir(dir);
}

/* Size of the only file in DIR/damaged, or -1. */
static long damaged_copy_size(const char *dir) {
  char p[512];
  snprintf(p, sizeof p, "%s/damaged", dir);
  DIR *d = opendir(p);
  struct dirent *de;
  long size = -1;
  int n = 0;
  while (d && (de = readdir(d)))
    if (de->d_name[0] != '.') {
      char f[800];
      struct stat sb;
      snprintf(f, sizeof f, "%s/%s", p, de->d_name);
      size = stat(f, &sb) ? -1 : (long)sb.st_size;
      n++;
    }
  if (d)
    closedir(d);
  return n == 1 ? size : -1;
}

static int count_segments(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *de;
  int n = 0;
  while (d && (de = readdir(d)))
    if (!strncmp(de->d_name, "seg-", 4))
      n++;
  if (d)
    closedir(d);
  return n;
}

static cw_store *open_store(const char *dir, uint64_t seg, uint64_t ret_bytes,
                            seen *s) {
  cw_store_opts o = {dir, seg, ret_bytes, 0, 1};
  cw_store *st = NULL;
  char err[256];
  memset(s, 0, sizeof *s);
  s->in_order = 1;
  assert_int_equal(cw__store_open(&o, on_rec, s, &st, err, sizeof err), 0);
  return st;
}

static void append_n(cw_store *st, uint32_t from, uint32_t n, size_t size) {
  uint8_t *buf = calloc(1, size);
  for (uint32_t i = 0; i < n; i++) {
    uint32_t v = from + i;
    memcpy(buf, &v, 4);
    cw_store_rec r = {CW_STORE_NATIVE, 10, buf, size, NULL, 0};
    assert_int_equal(cw__store_append(st, &r, 1), 0);
  }
  free(buf);
}

static void test_round_trip(void **state) {
  (void)state;
  char dir[64];
  mkdir_tmp(dir, sizeof dir);
  seen s;
  cw_store *st = open_store(dir, 1 << 20, 0, &s);
  assert_int_equal(s.records, 0);
  append_n(st, 0, 100, 100);
  cw_store_stats ss;
  cw__store_stats(st, &ss);
  assert_int_equal(ss.records, 100);
  assert_int_equal(ss.events, 1000);
  cw__store_close(st);
  st = open_store(dir, 1 << 20, 0, &s);
  assert_int_equal(s.records, 100);
  assert_int_equal(s.events, 1000);
  assert_int_equal(s.in_order, 1);
  /* Appends continue after the replayed records. */
  append_n(st, 100, 10, 100);
  cw__store_close(st);
  st = open_store(dir, 1 << 20, 0, &s);
  assert_int_equal(s.records, 110);
  assert_int_equal(s.in_order, 1);
  cw__store_close(st);
  rm_tmp(dir);
}

typedef struct appender {
  cw_store *st;
  int id;
} appender;

static void *append_main(void *arg) {
  appender *a = arg;
  uint8_t buf[64] = {0};
  for (int i = 0; i < 200; i++) {
    buf[0] = (uint8_t)a->id;
    cw_store_rec r = {CW_STORE_NATIVE, 1, buf, sizeof buf, NULL, 0};
    if (cw__store_append(a->st, &r, 1))
      return (void *)1;
  }
  return NULL;
}

static void test_group_commit_many_threads(void **state) {
  (void)state;
  char dir[64];
  mkdir_tmp(dir, sizeof dir);
  seen s;
  cw_store *st = open_store(dir, 1 << 20, 0, &s);
  pthread_t th[8];
  appender ap[8];
  for (int i = 0; i < 8; i++) {
    ap[i] = (appender){st, i};
    pthread_create(&th[i], NULL, append_main, &ap[i]);
  }
  for (int i = 0; i < 8; i++) {
    void *rv;
    pthread_join(th[i], &rv);
    assert_null(rv);
  }
  cw_store_stats ss;
  cw__store_stats(st, &ss);
  assert_int_equal(ss.records, 1600);
  cw__store_close(st);
  st = open_store(dir, 1 << 20, 0, &s);
  assert_int_equal(s.records, 1600);
  cw__store_close(st);
  rm_tmp(dir);
}

static void append_raw(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "ab");
  assert_non_null(f);
  assert_int_equal(fwrite(p, 1, n, f), n);
  fclose(f);
}

static long file_size(const char *path) {
  struct stat sb;
  return stat(path, &sb) ? -1 : (long)sb.st_size;
}

static void test_torn_tail_repaired(void **state) {
  (void)state;
  char dir[64], seg[128];
  mkdir_tmp(dir, sizeof dir);
  snprintf(seg, sizeof seg, "%s/seg-000001.cwlog", dir);
  seen s;
  cw_store *st = open_store(dir, 1 << 20, 0, &s);
  append_n(st, 0, 5, 50);
  cw__store_close(st);
  long good = file_size(seg);
  /* A torn record: a full header announcing 50 bytes, then only 7. */
  uint8_t torn[16 + 7];
  memset(torn, 0xab, sizeof torn);
  torn[0] = 50;
  torn[1] = torn[2] = torn[3] = 0;
  append_raw(seg, torn, sizeof torn);
  st = open_store(dir, 1 << 20, 0, &s);
  assert_int_equal(s.records, 5);
  cw_store_stats ss;
  cw__store_stats(st, &ss);
  assert_int_equal(ss.repaired_bytes, sizeof torn);
  assert_int_equal(file_size(seg), good);
  append_n(st, 5, 1, 50);
  cw__store_close(st);
  /* A record whose CRC does not match is cut the same way. */
  long before = file_size(seg);
  FILE *f = fopen(seg, "r+b");
  assert_non_null(f);
  fseek(f, before - 10, SEEK_SET);
  fputc(0x5a, f);
  fclose(f);
  st = open_store(dir, 1 << 20, 0, &s);
  assert_int_equal(s.records, 5);
  assert_int_equal(s.in_order, 1);
  cw__store_close(st);
  rm_tmp(dir);
}

static void test_corrupt_older_segment_not_fatal(void **state) {
  (void)state;
  char dir[64], seg[128];
  mkdir_tmp(dir, sizeof dir);
  seen s;
  cw_store *st = open_store(dir, 4096, 0, &s);
  append_n(st, 0, 40, 1000); /* about ten segments */
  cw__store_close(st);
  int nseg = count_segments(dir);
  assert_true(nseg >= 5);
  snprintf(seg, sizeof seg, "%s/seg-000002.cwlog", dir);
  FILE *f = fopen(seg, "r+b");
  assert_non_null(f);
  fseek(f, 30, SEEK_SET);
  fputc(0xff, f);
  fclose(f);
  st = open_store(dir, 4096, 0, &s);
  cw_store_stats ss;
  cw__store_stats(st, &ss);
  assert_int_equal(ss.corrupt_records, 1);
  /* Only the damaged record is lost: the scan resynchronises after it. */
  assert_int_equal(s.records, 39);
  assert_int_equal(count_segments(dir), nseg); /* nothing deleted */
  cw__store_close(st);
  rm_tmp(dir);
}

/* One bad byte in the middle of the last segment: recovery drops that
 * record only, keeps every valid record after it (also across another
 * restart and after new appends), and copies the damaged bytes. */
static void test_damage_in_last_segment_resyncs(void **state) {
  (void)state;
  char dir[64], seg[128];
  mkdir_tmp(dir, sizeof dir);
  snprintf(seg, sizeof seg, "%s/seg-000001.cwlog", dir);
  seen s;
  cw_store *st = open_store(dir, 1 << 20, 0, &s);
  append_n(st, 0, 100, 50);
  cw__store_close(st);
  long size = file_size(seg);
  FILE *f = fopen(seg, "r+b");
  assert_non_null(f);
  fseek(f, 8 + 10 * 66 + 16 + 20, SEEK_SET); /* payload of record 10 */
  fputc(0x5a, f);
  fclose(f);
  st = open_store(dir, 1 << 20, 0, &s);
  assert_int_equal(s.records, 99);
  assert_int_equal(s.last_value, 99);
  cw_store_stats ss;
  cw__store_stats(st, &ss);
  assert_int_equal(ss.corrupt_records, 1);
  assert_int_equal(ss.repaired_bytes, 0);
  assert_int_equal(file_size(seg), size); /* nothing cut */
  assert_int_equal(damaged_copy_size(dir), 66);
  append_n(st, 100, 1, 50);
  cw__store_close(st);
  st = open_store(dir, 1 << 20, 0, &s);
  assert_int_equal(s.records, 100);
  assert_int_equal(s.last_value, 100);
  cw__store_close(st);
  /* A damaged header length (pointing past the end) resyncs the same way. */
  f = fopen(seg, "r+b");
  assert_non_null(f);
  fseek(f, 8 + 50 * 66 + 2, SEEK_SET);
  fputc(0x7f, f);
  fclose(f);
  st = open_store(dir, 1 << 20, 0, &s);
  assert_int_equal(s.records, 99);
  assert_int_equal(s.last_value, 100);
  cw__store_close(st);
  rm_tmp(dir);
}

static void test_retention_deletes_oldest(void **state) {
  (void)state;
  char dir[64];
  mkdir_tmp(dir, sizeof dir);
  seen s;
  cw_store *st = open_store(dir, 4096, 16384, &s);
  append_n(st, 0, 100, 1000);
  cw_store_stats ss;
  cw__store_stats(st, &ss);
  assert_true(ss.bytes <= 16384 + 4096);
  assert_true(ss.deleted_segments > 0);
  cw__store_close(st);
  st = open_store(dir, 4096, 16384, &s);
  /* What is left is the newest records, still in order. */
  assert_true(s.records < 100 && s.records > 0);
  assert_int_equal(s.last_value, 99);
  assert_int_equal(s.in_order, 1);
  cw__store_close(st);
  rm_tmp(dir);
}

static void test_memory_only(void **state) {
  (void)state;
  cw_store_opts o = {NULL, 0, 0, 0, 1};
  cw_store *st = NULL;
  char err[128];
  assert_int_equal(cw__store_open(&o, NULL, NULL, &st, err, sizeof err), 0);
  append_n(st, 0, 3, 10);
  cw_store_stats ss;
  cw__store_stats(st, &ss);
  assert_int_equal(ss.records, 3);
  cw__store_close(st);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_group_commit_many_threads),
      cmocka_unit_test(test_torn_tail_repaired),
      cmocka_unit_test(test_corrupt_older_segment_not_fatal),
      cmocka_unit_test(test_damage_in_last_segment_resyncs),
      cmocka_unit_test(test_retention_deletes_oldest),
      cmocka_unit_test(test_memory_only),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
