/*
 * cw_http_raceway: the raceway-clock header of Raceway's SDKs
 * ("v1;" + base64url, no padding, of {"trace_id","span_id",
 * "parent_span_id","service","instance","clock":[[actor,n],...]}), so a
 * request from a Raceway-instrumented caller continues its trace and
 * clock. Every length is checked; bad input is an error, never a crash.
 */
#define _POSIX_C_SOURCE 200809L
#include "cw_http_int.h"
#include "cw_b64url.h"
#include "cw_json_depth.h"

#include <jansson.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Parses n bytes of hex, skipping '-' (UUID form). @return 1 when exactly
 * 2n digits were found and the id is not all zero. */
static int parse_id(const char *s, uint8_t *out, size_t n) {
  size_t digits = 0;
  int nonzero = 0;
  for (; *s; s++) {
    if (*s == '-')
      continue;
    int v = cw__http_hexval((unsigned char)*s);
    if (v < 0 || digits >= 2 * n)
      return 0;
    if (digits % 2 == 0)
      out[digits / 2] = (uint8_t)(v << 4);
    else
      out[digits / 2] |= (uint8_t)v;
    nonzero |= v;
    digits++;
  }
  return digits == 2 * n && nonzero;
}

cw_status cw__rw_clock_decode(const char *value, size_t len,
                              cw__rw_clock *out) {
  uint8_t raw[CW_HTTP_HEADER_MAX];
  memset(out, 0, offsetof(cw__rw_clock, names));
  out->names[0] = 0;
  if (len > CW_HTTP_HEADER_MAX)
    return CW_ETOOBIG;
  if (len < 3 || memcmp(value, "v1;", 3) != 0)
    return CW_EMALFORMED;
  long n = cw__b64url_decode(value + 3, len - 3, raw, sizeof raw, 1);
  if (n <= 0)
    return CW_EMALFORMED;
  if (!cw__json_depth_ok((const char *)raw, (size_t)n, 16))
    return CW_EMALFORMED; /* a clock document is 3 levels deep */
  json_error_t jerr;
  json_t *root =
      json_loadb((const char *)raw, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
  if (!root || !json_is_object(root)) {
    json_decref(root);
    return CW_EMALFORMED;
  }
  cw_status st = CW_OK;
  const char *tid = json_string_value(json_object_get(root, "trace_id"));
  const char *sid = json_string_value(json_object_get(root, "span_id"));
  if (tid && parse_id(tid, out->trace_id, 16))
    out->has_trace = 1;
  if (sid && parse_id(sid, out->span_id, 8))
    out->has_span = 1;
  json_t *clock = json_object_get(root, "clock");
  size_t used = 0, i;
  json_t *pair;
  if (clock && !json_is_array(clock))
    st = CW_EMALFORMED;
  json_array_foreach(clock, i, pair) {
    const char *actor = json_string_value(json_array_get(pair, 0));
    json_t *cnt = json_array_get(pair, 1);
    if (!json_is_array(pair) || json_array_size(pair) != 2 || !actor ||
        !json_is_integer(cnt) || json_integer_value(cnt) < 0) {
      st = CW_EMALFORMED;
      break;
    }
    size_t alen = strlen(actor);
    if (alen == 0 || alen > 255) {
      st = CW_EMALFORMED;
      break;
    }
    if (out->n >= CW__RW_MAX_ENTRIES || used + alen + 1 > sizeof out->names) {
      st = CW_ETOOBIG;
      break;
    }
    memcpy(out->names + used, actor, alen + 1);
    out->actor[out->n] = out->names + used;
    out->counter[out->n] = (uint64_t)json_integer_value(cnt);
    out->n++;
    used += alen + 1;
  }
  json_decref(root);
  if (st == CW_OK && !out->has_trace && out->n == 0)
    st = CW_EMALFORMED;
  return st;
}

cw_status cw__rw_clock_encode(const cw__rw_clock *in, const char *service,
                              char *buf, size_t cap) {
  char t[33], s[17];
  json_t *root = json_object();
  json_t *clock = json_array();
  if (!root || !clock) {
    json_decref(root);
    json_decref(clock);
    return CW_ENOMEM;
  }
  cw__http_hex(in->trace_id, 16, t);
  cw__http_hex(in->span_id, 8, s);
  json_object_set_new(root, "trace_id", json_string(t));
  json_object_set_new(root, "span_id", json_string(s));
  json_object_set_new(root, "parent_span_id", json_null());
  json_object_set_new(root, "service", json_string(service ? service : ""));
  json_object_set_new(root, "instance", json_string("test"));
  for (size_t i = 0; i < in->n; i++)
    json_array_append_new(
        clock, json_pack("[sI]", in->actor[i], (json_int_t)in->counter[i]));
  json_object_set_new(root, "clock", clock);
  char *text = json_dumps(root, JSON_COMPACT);
  json_decref(root);
  if (!text)
    return CW_ENOMEM;
  cw_status st = CW_ETOOBIG;
  if (cap > 4) {
    memcpy(buf, "v1;", 3);
    if (cw__b64url_encode((const uint8_t *)text, strlen(text), buf + 3,
                          cap - 3) > 0)
      st = CW_OK;
  }
  free(text);
  return st;
}
