/* iocp.c - the AFD backend: one completion port and one \Device\Afd helper handle per loop, one
 * pinned state per channel. The kernel is given only pinned memory and, as ApcContext, the
 * channel ID; a packet is resolved by ID (number -> short list -> exact ID), never by pointer.
 * The backend keeps nothing per slot: every call names its channel by ID.
 * Rule for FILE_SKIP_COMPLETION_PORT_ON_SUCCESS: never set, so every poll the kernel accepts
 * (STATUS_PENDING or an immediate success) completes through exactly one packet. */
#include "iocp.h"

#include "pinned_pool.h"
#include "platform.h"

#include <assert.h>
#include <string.h>

#define IOCP__KEY_AFD 1u
#define IOCP__KEY_WAKE 2u
#define IOCP__BATCH 64u
#define IOCP__DRAIN_MS 2000
#define IOCP__CLOSED_DRAIN_MS 500

/* Owns by_num, the pool's blocks and the two handles; iocp__destroy releases them, except
 * blocks holding a poll the kernel never gave back. */
typedef struct iocp__state {
    rx_alloc *alloc;
    const rx_afd_kernel *k;
    uintptr_t port, helper;
    rx_pinned **by_num; /* per channel number: its live state and orphans awaiting a packet */
    uint32_t by_num_cap;
    rx_pinned *arm; /* states the next arm pass looks at */
    rx_pin_pool pool;
    uint64_t pending, undrained;
    rx_afd_completion batch[IOCP__BATCH]; /* written only inside a dequeue call */
} iocp__state;

/* A status the kernel returns at once has a packet following unless it is an error (severity
 * 3): success, informational and warning statuses are all completed through the port. */
static int iocp__packet_follows(int32_t status)
{
    return ((uint32_t)status >> 30) != 3u;
}

static rx_pinned *iocp__find(const iocp__state *b, rx_id id)
{
    reactor_chn_t chn = rx_id_chn(id);
    if (chn >= b->by_num_cap)
        return NULL;
    for (rx_pinned *s = b->by_num[chn]; s; s = s->next)
        if (s->id == id)
            return s;
    return NULL;
}

/* The live state of a registered channel. */
static rx_pinned *iocp__live(const iocp__state *b, rx_id id)
{
    rx_pinned *s = iocp__find(b, id);
    assert(s && !(s->flags & RX_PIN_ORPHAN));
    return s;
}

/* Frees an orphan once neither the kernel nor the arm list refers to it. */
static void iocp__reap(iocp__state *b, rx_pinned *s)
{
    if ((s->flags & (RX_PIN_ORPHAN | RX_PIN_PENDING | RX_PIN_QUEUED)) != RX_PIN_ORPHAN)
        return;
    rx_pinned **pp = &b->by_num[rx_id_chn(s->id)];
    while (*pp != s)
        pp = &(*pp)->next;
    *pp = s->next;
    rx_pool_put(&b->pool, s);
}

static void iocp__cancel(iocp__state *b, rx_pinned *s)
{
    if (s->flags & RX_PIN_CANCELLING)
        return;
    /* STATUS_NOT_FOUND means the packet is already queued; either way one packet comes. */
    (void)b->k->cancel(b->helper, &s->iosb);
    s->flags |= RX_PIN_CANCELLING;
}

/* The channel is gone: its state is freed once the kernel's packet is dequeued (the poll is
 * cancelled) and the arm list has let go of it. */
static void iocp__release(iocp__state *b, rx_pinned *s)
{
    s->flags |= RX_PIN_ORPHAN;
    if (s->flags & RX_PIN_PENDING)
        iocp__cancel(b, s);
    iocp__reap(b, s);
}

static void iocp__mark(iocp__state *b, rx_pinned *s)
{
    if (!(s->flags & RX_PIN_QUEUED)) {
        s->flags |= RX_PIN_QUEUED;
        s->arm_next = b->arm;
        b->arm = s;
    }
}

static void iocp__report(rx_sink *sink, rx_id id, unsigned events)
{
    assert(sink->n < sink->cap);
    rx_sink_push(sink, id, events);
}

static int iocp__init_with(void **out, rx_alloc *alloc, const rx_afd_kernel *k)
{
    iocp__state *b = rx_malloc(alloc, sizeof *b);
    if (!b)
        return REACTOR_ENOMEM;
    memset(b, 0, sizeof *b);
    b->alloc = alloc;
    b->k = k;
    rx_pool_init(&b->pool, alloc);
    if (k->port_open(&b->port) != RX_STATUS_SUCCESS)
        goto fail_port;
    if (k->helper_open(b->port, IOCP__KEY_AFD, &b->helper) != RX_STATUS_SUCCESS)
        goto fail_helper;
    *out = b;
    return 0;
fail_helper:
    k->handle_close(b->port);
fail_port:
    rx_free(alloc, b, sizeof *b);
    return REACTOR_ESYS;
}

int rx_iocp_init_kernel(void **be, rx_alloc *alloc, const rx_afd_kernel *k)
{
    return iocp__init_with(be, alloc, k);
}

static int iocp__init(void **be, rx_alloc *alloc)
{
#if defined(_WIN32)
    return iocp__init_with(be, alloc, &rx_afd_nt);
#else
    (void)be;
    (void)alloc;
    return REACTOR_ENOTSUP;
#endif
}

/* Takes one packet off the books: the state is no longer pending. Returns it, or NULL for a
 * packet that names no pending state. */
static rx_pinned *iocp__settle(iocp__state *b, const rx_afd_completion *e)
{
    rx_pinned *s = iocp__find(b, (rx_id)e->context);
    if (!s || !(s->flags & RX_PIN_PENDING)) {
        /* Nothing of ours is waiting for it: if the kernel wrote into a state we had freed,
         * the poison check finds it. */
        (void)rx_pool_check(&b->pool);
        return NULL;
    }
    s->flags &= (uint8_t)~RX_PIN_PENDING;
    b->pending--;
    return s;
}

/* Waits up to ms for the packets of pending polls, freeing the states they settle. A wait that
 * times out has used up the deadline: nothing more is waited for. */
static void iocp__drain(iocp__state *b, int ms)
{
    uint64_t deadline = rx_clock_ns() + (uint64_t)ms * 1000000u;
    while (b->pending) {
        uint64_t now = rx_clock_ns();
        int wait = now >= deadline ? 0 : (int)((deadline - now + 999999u) / 1000000u);
        uint32_t n = 0;
        int32_t st = b->k->dequeue(b->port, b->batch, IOCP__BATCH, &n, wait);
        if (st != RX_STATUS_SUCCESS)
            break;
        for (uint32_t i = 0; i < n; i++) {
            if (b->batch[i].key != IOCP__KEY_AFD)
                continue;
            rx_pinned *s = iocp__settle(b, &b->batch[i]);
            if (s)
                iocp__reap(b, s);
        }
    }
}

void rx_iocp_destroy_report(void *be, rx_iocp_final *out)
{
    iocp__state *b = be;
    for (rx_pinned *s = b->arm, *next; s; s = next) {
        next = s->arm_next;
        s->flags &= (uint8_t)~RX_PIN_QUEUED;
    }
    b->arm = NULL;
    for (uint32_t chn = 0; chn < b->by_num_cap; chn++)
        for (rx_pinned *s = b->by_num[chn], *next; s; s = next) {
            next = s->next;
            iocp__release(b, s);
        }
    iocp__drain(b, IOCP__DRAIN_MS);
    /* Closing the helper completes what a cancel did not (STATUS_HANDLES_CLOSED). */
    b->k->handle_close(b->helper);
    if (b->pending)
        iocp__drain(b, IOCP__CLOSED_DRAIN_MS);
    b->undrained = b->pending;
    b->k->handle_close(b->port);
    /* States still pending stay allocated with their blocks: the kernel may still write them. */
    (void)rx_pool_check(&b->pool);
    uint32_t kept = rx_pool_free(&b->pool);
    if (out) {
        out->undrained = b->undrained;
        out->blocks_kept = kept;
        out->poison_hits = b->pool.poison_hits;
    }
    rx_free(b->alloc, b->by_num, (size_t)b->by_num_cap * sizeof *b->by_num);
    rx_free(b->alloc, b, sizeof *b);
}

static void iocp__destroy(void *be)
{
    rx_iocp_destroy_report(be, NULL);
}

static int iocp__grow_numbers(iocp__state *b, uint32_t need)
{
    uint32_t old = b->by_num_cap;
    int err = rx_resize(b->alloc, (void **)&b->by_num, &b->by_num_cap, need, sizeof *b->by_num);
    if (!err)
        memset(b->by_num + old, 0, (size_t)(b->by_num_cap - old) * sizeof *b->by_num);
    return err;
}

static int iocp__reserve(void *be, uint32_t capacity)
{
    iocp__state *b = be;
    /* capacity follows the table's (doubling) capacity; a number never exceeds the peak. */
    int err = iocp__grow_numbers(b, capacity + 1);
    if (!err)
        err = rx_pool_reserve(&b->pool);
    return err;
}

static int iocp__add(void *be, uint32_t slot, rx_id id, reactor_socket_t s, unsigned events)
{
    iocp__state *b = be;
    (void)slot;
    reactor_chn_t chn = rx_id_chn(id);
    uintptr_t base;
    int err = rx_afd_base_handle(b->k, (uintptr_t)s, &base);
    if (err)
        return err;
    if (chn >= b->by_num_cap && (err = iocp__grow_numbers(b, (uint32_t)chn + 1)))
        return err;
    rx_pinned *st = rx_pool_get(&b->pool);
    if (!st)
        return REACTOR_ENOMEM;
    st->id = id;
    st->base = base;
    st->events = (uint8_t)events;
    st->next = b->by_num[chn];
    b->by_num[chn] = st;
    iocp__mark(b, st);
    return 0;
}

static int iocp__modify(void *be, uint32_t slot, rx_id id, reactor_socket_t s, unsigned events)
{
    iocp__state *b = be;
    (void)slot;
    (void)s;
    rx_pinned *st = iocp__live(b, id);
    st->events = (uint8_t)events;
    /* Also revives a channel parked after an error, as the poll backend does. */
    st->flags &= (uint8_t)~RX_PIN_DEAD;
    iocp__mark(b, st);
    return 0;
}

static void iocp__remove(void *be, uint32_t slot, uint32_t last, rx_id id, reactor_socket_t s)
{
    iocp__state *b = be;
    (void)slot;
    (void)last;
    (void)s;
    iocp__release(b, iocp__live(b, id));
}

/* Issues the state's poll. 0, or -1 when the kernel refused it (no packet will come). */
static int iocp__arm(iocp__state *b, rx_pinned *s, uint32_t want)
{
    s->info.timeout = INT64_MAX;
    s->info.count = 1;
    s->info.exclusive = 0;
    s->info.handles[0].handle = s->base;
    s->info.handles[0].events = want;
    s->info.handles[0].status = 0;
    s->armed = (uint16_t)want;
    s->flags = (uint8_t)((s->flags & ~RX_PIN_CANCELLING) | RX_PIN_PENDING);
    int32_t st = b->k->poll(b->helper, &s->iosb, &s->info, (uintptr_t)s->id);
    if (!iocp__packet_follows(st)) {
        s->flags &= (uint8_t)~RX_PIN_PENDING;
        return -1;
    }
    b->pending++;
    return 0;
}

/* Walks the arm list: arms channels with nothing pending, cancels polls whose interest changed
 * (re-armed when the cancellation's packet arrives), frees orphans that wait for nothing. A
 * refused poll is reported as ERROR once. */
static void iocp__arm_all(iocp__state *b, rx_sink *sink)
{
    rx_pinned *s = b->arm;
    b->arm = NULL;
    while (s) {
        rx_pinned *next = s->arm_next;
        s->flags &= (uint8_t)~RX_PIN_QUEUED;
        if (s->flags & RX_PIN_ORPHAN) {
            iocp__reap(b, s);
        } else if (!(s->flags & RX_PIN_DEAD)) {
            uint32_t want = rx_afd_mask(s->events);
            if (s->flags & RX_PIN_PENDING) {
                if (s->armed != want)
                    iocp__cancel(b, s);
            } else if (iocp__arm(b, s, want)) {
                s->flags |= RX_PIN_DEAD;
                iocp__report(sink, s->id, REACTOR_ERROR);
            }
        }
        s = next;
    }
}

static void iocp__complete(iocp__state *b, const rx_afd_completion *e, rx_sink *sink)
{
    if (e->key == IOCP__KEY_WAKE) {
        sink->woken = 1;
        return;
    }
    rx_pinned *s = iocp__settle(b, e);
    if (!s || (s->flags & RX_PIN_ORPHAN)) {
        /* A packet for a removed channel, or for none we know: dropped and counted. */
        if (s)
            iocp__reap(b, s);
        sink->stale++;
        return;
    }
    s->flags &= (uint8_t)~RX_PIN_CANCELLING;
    int32_t status = s->iosb.u.status;
    unsigned events = 0;
    if (status == RX_STATUS_SUCCESS) {
        /* Events are valid only on success: after a cancel the buffer still holds the mask we
         * asked for. */
        uint32_t afd = s->info.count ? s->info.handles[0].events : 0;
        events = rx_afd_events(afd);
        if (afd & RX_AFD_POLL_LOCAL_CLOSE) {
            /* The application closed the socket without removing it: ERROR once, then the
             * handle (which Windows may reuse) is not polled again. */
            events = REACTOR_ERROR;
            s->flags |= RX_PIN_DEAD;
        }
    } else if (status != RX_STATUS_CANCELLED) {
        events = REACTOR_ERROR;
        s->flags |= RX_PIN_DEAD;
    }
    if (events)
        iocp__report(sink, s->id, events);
    if (!(s->flags & RX_PIN_DEAD))
        iocp__mark(b, s);
}

static int iocp__poll(void *be, int timeout_ms, rx_sink *sink)
{
    iocp__state *b = be;
    iocp__arm_all(b, sink);
    if (sink->n)
        timeout_ms = 0;
    /* Take every packet already queued, not just one batch: each ready channel is reported in
     * the iteration its packet arrived in. A full batch means more may be waiting. */
    for (;;) {
        uint32_t n = 0;
        int32_t st = b->k->dequeue(b->port, b->batch, IOCP__BATCH, &n, timeout_ms);
        if (st == RX_STATUS_TIMEOUT)
            return 0;
        if (st != RX_STATUS_SUCCESS)
            return REACTOR_ESYS;
        for (uint32_t i = 0; i < n; i++)
            iocp__complete(b, &b->batch[i], sink);
        if (n < IOCP__BATCH)
            return 0;
        timeout_ms = 0;
    }
}

static int iocp__wakeup(void *be)
{
    iocp__state *b = be;
    return b->k->post(b->port, IOCP__KEY_WAKE) == RX_STATUS_SUCCESS ? 0 : REACTOR_ESYS;
}

static void iocp__stats(const void *be, reactor_stats_t *out)
{
    const iocp__state *b = be;
    out->pending_polls += b->pending;
    out->pinned_blocks += b->pool.blocks;
    out->undrained_polls += b->undrained;
}

uint64_t rx_iocp_poison_hits(void *be)
{
    iocp__state *b = be;
    (void)rx_pool_check(&b->pool);
    return b->pool.poison_hits;
}

uint64_t rx_iocp_blocks_total(const void *be)
{
    const iocp__state *b = be;
    return b->pool.blocks_total;
}

const rx_backend_ops rx_afd_ops = {
    .name = "afd",
    .init = iocp__init,
    .destroy = iocp__destroy,
    .reserve = iocp__reserve,
    .add = iocp__add,
    .modify = iocp__modify,
    .remove = iocp__remove,
    .poll = iocp__poll,
    .wakeup = iocp__wakeup,
    .stats = iocp__stats,
};
