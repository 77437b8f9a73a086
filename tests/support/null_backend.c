/* null_backend.c - the null backend: it checks the core's calls (slots stay in range, removes
 * mirror the swap) but watches nothing. */
#include "null_backend.h"

#include <string.h>

typedef struct null__state {
    rx_alloc *alloc;
    uint32_t count;    /* channels the core told us about */
    uint32_t capacity; /* largest reserve seen */
} null__state;

static int null__init(void **be, rx_alloc *alloc)
{
    null__state *s = rx_malloc(alloc, sizeof *s);
    if (!s)
        return REACTOR_ENOMEM;
    memset(s, 0, sizeof *s);
    s->alloc = alloc;
    *be = s;
    return 0;
}

static void null__destroy(void *be)
{
    null__state *s = be;
    rx_free(s->alloc, s, sizeof *s);
}

static int null__reserve(void *be, uint32_t capacity)
{
    null__state *s = be;
    if (capacity > s->capacity)
        s->capacity = capacity;
    return 0;
}

static int null__add(void *be, uint32_t slot, rx_id id, reactor_socket_t sock, unsigned events)
{
    null__state *s = be;
    (void)id;
    (void)sock;
    (void)events;
    /* The core adds at the end, after reserving room for it. */
    if (slot != s->count || slot >= s->capacity)
        return REACTOR_ESYS;
    s->count++;
    return 0;
}

static int null__modify(void *be, uint32_t slot, rx_id id, reactor_socket_t sock, unsigned events)
{
    null__state *s = be;
    (void)id;
    (void)sock;
    (void)events;
    return slot < s->count ? 0 : REACTOR_ESYS;
}

static void null__remove(void *be, uint32_t slot, uint32_t last, rx_id id, reactor_socket_t sock)
{
    null__state *s = be;
    (void)slot;
    (void)last;
    (void)id;
    (void)sock;
    s->count--;
}

static int null__poll(void *be, int timeout_ms, rx_sink *sink)
{
    (void)be;
    (void)timeout_ms;
    (void)sink;
    return 0;
}

int sup_null_wakeup_calls;
int sup_null_wakeup_failures;

static int null__wakeup(void *be)
{
    (void)be;
    sup_null_wakeup_calls++;
    if (sup_null_wakeup_failures > 0) {
        sup_null_wakeup_failures--;
        return REACTOR_ESYS;
    }
    return 0;
}

const rx_backend_ops sup_null_ops = {
    .name = "null",
    .init = null__init,
    .destroy = null__destroy,
    .reserve = null__reserve,
    .add = null__add,
    .modify = null__modify,
    .remove = null__remove,
    .poll = null__poll,
    .wakeup = null__wakeup,
    .stats = NULL,
};

void sup_loop_open_null(sup_loop *f)
{
    if (f->r)
        sup_loop_close(f);
    reactor_options_t opts;
    memset(&opts, 0, sizeof opts);
    opts.allocator = &f->alloc.fn;
    assert_int_equal(rx_create_with(&f->r, &opts, &sup_null_ops), 0);
}
