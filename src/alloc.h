/* alloc.h - every byte a loop uses goes through the user's allocator, counted here.
 * Callers pass block sizes back (as Lua does) so live bytes are known without headers. */
#ifndef RX_ALLOC_H
#define RX_ALLOC_H

#include "reactor.h"

#include <stddef.h>
#include <stdint.h>

typedef struct rx_alloc {
    reactor_allocator_t fn;
    uint64_t live;  /* blocks not yet freed */
    uint64_t bytes; /* bytes in those blocks */
    uint64_t total; /* allocations ever made (growths included) */
} rx_alloc;

/* Fills a with opts' allocator, or the C library's when user is NULL. */
void rx_alloc_init(rx_alloc *a, const reactor_allocator_t *user);
void *rx_malloc(rx_alloc *a, size_t size);
/* Grows or shrinks p (old_size bytes; p may be NULL) to size. On failure p is left intact. */
void *rx_realloc(rx_alloc *a, void *p, size_t old_size, size_t size);
void rx_free(rx_alloc *a, void *p, size_t size);

/* Grows an array to hold at least need elements (doubling, from min_cap). 0 or REACTOR_ENOMEM;
 * on failure *arr and *cap are unchanged. */
int rx_grow(rx_alloc *a, void **arr, uint32_t *cap, uint32_t need, size_t elem, uint32_t min_cap);
/* Grows an array to exactly n elements if it holds fewer; for arrays that follow another's
 * (doubling) capacity. 0 or REACTOR_ENOMEM, nothing changed on failure. */
int rx_resize(rx_alloc *a, void **arr, uint32_t *cap, uint32_t n, size_t elem);

#endif
