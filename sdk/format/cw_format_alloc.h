/*
 * cw_format_alloc: which allocator the codec (and the transport) use.
 *
 * Inside libcauseway (compiled with CW_FORMAT_SDK_ALLOC) every allocation
 * goes through the SDK's replaceable allocator (cw_set_allocator), as the
 * SDK promises; in the collector and the CLI it is libc's.
 */
#ifndef CW_FORMAT_ALLOC_H
#define CW_FORMAT_ALLOC_H

#include <stdlib.h>

#ifdef CW_FORMAT_SDK_ALLOC
void *cw__malloc(size_t n);
void *cw__calloc(size_t n, size_t size);
void *cw__realloc(void *p, size_t n);
void cw__free(void *p);
#define fmt_malloc cw__malloc
#define fmt_calloc cw__calloc
#define fmt_realloc cw__realloc
#define fmt_free cw__free
#else
#define fmt_malloc malloc
#define fmt_calloc calloc
#define fmt_realloc realloc
#define fmt_free free
#endif

#endif /* CW_FORMAT_ALLOC_H */
