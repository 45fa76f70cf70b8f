/*
 * cw_b64url: one base64url codec for every header causeway reads or writes.
 */
#include "cw_b64url.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int value_of(unsigned char c, int lenient) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '-' || (lenient && c == '+'))
    return 62;
  if (c == '_' || (lenient && c == '/'))
    return 63;
  return -1;
}

size_t cw__b64url_encode(const uint8_t *in, size_t len, char *out, size_t cap) {
  size_t need = (len * 4 + 2) / 3;
  if (len == 0 || need + 1 > cap)
    return 0;
  size_t n = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < len; i++) {
    acc = (acc << 8) | in[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out[n++] = alphabet[(acc >> bits) & 63];
    }
  }
  if (bits > 0)
    out[n++] = alphabet[(acc << (6 - bits)) & 63];
  out[n] = '\0';
  return n;
}

long cw__b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap,
                       int lenient) {
  if (lenient)
    while (len > 0 && in[len - 1] == '=')
      len--;
  if (len % 4 == 1)
    return -1; /* a lone trailing character carries no whole byte */
  uint32_t acc = 0;
  int bits = 0;
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    int v = value_of((unsigned char)in[i], lenient);
    if (v < 0)
      return -1;
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n >= cap)
        return -1;
      out[n++] = (uint8_t)(acc >> bits);
    }
  }
  /* Leftover bits must be zero in canonical form. */
  if (!lenient && (acc & ((1u << bits) - 1)) != 0)
    return -1;
  return (long)n;
}
