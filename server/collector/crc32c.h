/*
 * crc32c: the CRC-32C (Castagnoli) checksum guarding store records.
 */
#ifndef CW_CRC32C_H
#define CW_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues a CRC-32C over `len` bytes; start with crc = 0. */
uint32_t cw__crc32c(uint32_t crc, const void *data, size_t len);

#endif /* CW_CRC32C_H */
