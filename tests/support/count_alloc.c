/* count_alloc.c - the counting, failing test allocator. realloc that fails leaves the block
 * intact, as reactor_allocator_t requires. */
#include "count_alloc.h"

#include <stdlib.h>
#include <string.h>

typedef union count__hdr {
    size_t size;
    max_align_t align;
} count__hdr;

static int count__should_fail(sup_alloc *a)
{
    a->calls++;
    if (a->fail_at && a->calls == a->fail_at) {
        a->failures++;
        return 1;
    }
    return 0;
}

static void *count__malloc(void *ctx, size_t size)
{
    sup_alloc *a = ctx;
    if (count__should_fail(a))
        return NULL;
    count__hdr *h = malloc(sizeof *h + size);
    if (!h)
        return NULL;
    h->size = size;
    a->live++;
    a->bytes += size;
    return h + 1;
}

static void *count__realloc(void *ctx, void *p, size_t size)
{
    sup_alloc *a = ctx;
    if (!p)
        return count__malloc(ctx, size);
    if (count__should_fail(a))
        return NULL;
    count__hdr *old = (count__hdr *)p - 1;
    size_t old_size = old->size;
    count__hdr *h = realloc(old, sizeof *h + size);
    if (!h)
        return NULL;
    h->size = size;
    a->bytes = a->bytes - old_size + size;
    return h + 1;
}

static void count__free(void *ctx, void *p)
{
    sup_alloc *a = ctx;
    if (!p)
        return;
    count__hdr *h = (count__hdr *)p - 1;
    a->live--;
    a->bytes -= h->size;
    free(h);
}

void sup_alloc_init(sup_alloc *a)
{
    memset(a, 0, sizeof *a);
    a->fn.malloc = count__malloc;
    a->fn.realloc = count__realloc;
    a->fn.free = count__free;
    a->fn.ctx = a;
}

void sup_alloc_fail_nth(sup_alloc *a, uint64_t k)
{
    a->fail_at = k ? a->calls + k : 0;
}
