/* alloc.c - the loop's allocator wrappers and the default (C library) allocator. */
#include "alloc.h"

#include <stdlib.h>

static void *alloc__malloc(void *ctx, size_t size)
{
    (void)ctx;
    return malloc(size);
}

static void *alloc__realloc(void *ctx, void *p, size_t size)
{
    (void)ctx;
    return realloc(p, size);
}

static void alloc__free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

void rx_alloc_init(rx_alloc *a, const reactor_allocator_t *user)
{
    static const reactor_allocator_t libc = {alloc__malloc, alloc__realloc, alloc__free, NULL};
    a->fn = user ? *user : libc;
    a->live = 0;
    a->bytes = 0;
    a->total = 0;
}

void *rx_malloc(rx_alloc *a, size_t size)
{
    void *p = a->fn.malloc(a->fn.ctx, size);
    if (p) {
        a->live++;
        a->bytes += size;
        a->total++;
    }
    return p;
}

void *rx_realloc(rx_alloc *a, void *p, size_t old_size, size_t size)
{
    if (!p)
        return rx_malloc(a, size);
    void *q = a->fn.realloc(a->fn.ctx, p, size);
    if (q) {
        a->bytes = a->bytes - old_size + size;
        a->total++;
    }
    return q;
}

void rx_free(rx_alloc *a, void *p, size_t size)
{
    if (!p)
        return;
    a->fn.free(a->fn.ctx, p);
    a->live--;
    a->bytes -= size;
}

int rx_grow(rx_alloc *a, void **arr, uint32_t *cap, uint32_t need, size_t elem, uint32_t min_cap)
{
    if (need <= *cap)
        return 0;
    uint64_t n = *cap ? *cap : min_cap;
    while (n < need)
        n *= 2;
    void *p = rx_realloc(a, *arr, (size_t)*cap * elem, (size_t)n * elem);
    if (!p)
        return REACTOR_ENOMEM;
    *arr = p;
    *cap = (uint32_t)n;
    return 0;
}

int rx_resize(rx_alloc *a, void **arr, uint32_t *cap, uint32_t n, size_t elem)
{
    if (n <= *cap)
        return 0;
    void *p = rx_realloc(a, *arr, (size_t)*cap * elem, (size_t)n * elem);
    if (!p)
        return REACTOR_ENOMEM;
    *arr = p;
    *cap = n;
    return 0;
}
