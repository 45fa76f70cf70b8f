/*
 * causeway/version.h: the SDK version, as numbers and as CW_VERSION_HEX
 * (0xMMmmpp), for compile-time checks. cw_version() gives the run-time one.
 */
#ifndef CAUSEWAY_VERSION_H
#define CAUSEWAY_VERSION_H

#define CW_VERSION_MAJOR 0
#define CW_VERSION_MINOR 1
#define CW_VERSION_PATCH 0

#define CW_VERSION_HEX                                                         \
  ((CW_VERSION_MAJOR << 16) | (CW_VERSION_MINOR << 8) | CW_VERSION_PATCH)

#define CW_VERSION_STRING "0.1.0"

#endif /* CAUSEWAY_VERSION_H */
