/*
 * cw_b64url: base64url without padding (RFC 4648 section 5), the encoding of
 * causeway's `causeway-clock` header and of Raceway's `raceway-clock`.
 * Internal; compiled into libcauseway and the HTTP glue.
 *
 * Thread-safety: pure functions.
 */
#ifndef CW_B64URL_H
#define CW_B64URL_H

#include <stddef.h>
#include <stdint.h>

/* Encodes in[0..len) into out, NUL-terminated.
 * @return the length written (without the NUL), or 0 when it does not fit
 * in cap bytes (or len is 0). */
size_t cw__b64url_encode(const uint8_t *in, size_t len, char *out, size_t cap);

/* Decodes in[0..len) into out.
 * Strict (lenient = 0): the base64url alphabet, no padding, and canonical
 * trailing bits. Lenient: also '+', '/' and trailing '=' padding, as other
 * tracers' SDKs send.
 * @return the decoded length, or -1 when malformed or over cap bytes. */
long cw__b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap,
                       int lenient);

#endif /* CW_B64URL_H */
