/* iocp.c - the AFD backend: one completion port per loop, polls spread over groups of at most
 * RX_AFD_GROUP per \Device\Afd helper handle (one group per pinned block), one pinned state per
 * channel. The kernel is given only pinned memory and, as ApcContext, the channel ID; a packet
 * is resolved by ID (number -> short list -> exact ID), never by pointer. The backend keeps
 * nothing per slot: every call names its channel by ID.
 * Rule for FILE_SKIP_COMPLETION_PORT_ON_SUCCESS: never set, so every poll the kernel accepts
 * (STATUS_PENDING or an immediate success) completes through exactly one packet.
 * Rule for sockets: at most one poll per base handle is ever in the kernel (two polls on one
 * socket complete each other: trio #52, wepoll #35); a channel added on a socket whose removed
 * channel's poll is still being cancelled waits for that packet (BLOCKED).
 * Init (with its AFD probe) and destroy (with its drain) are in iocp_lifecycle.c. */
#include "iocp_state.h"

#include "platform.h"

#include <assert.h>

#define IOCP__RETRY_MS 10

static rx_pinned *iocp__find(const rx_iocp *b, rx_id id)
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
static rx_pinned *iocp__live(const rx_iocp *b, rx_id id)
{
    rx_pinned *s = iocp__find(b, id);
    assert(s && !(s->flags & RX_PIN_ORPHAN));
    return s;
}

static void iocp__mark(rx_iocp *b, rx_pinned *s)
{
    if (!(s->flags & RX_PIN_QUEUED)) {
        s->flags |= RX_PIN_QUEUED;
        s->arm_next = b->arm;
        b->arm = s;
    }
}

/* s no longer stands on its base handle: the map falls back to what s waited for, and a state
 * that waited for s may poll now. */
static void iocp__leave_base(rx_iocp *b, rx_pinned *s)
{
    rx_id top = rx_base_map_get(&b->bases, s->base);
    if (top == s->id) {
        rx_base_map_drop(&b->bases, s->base, s->id);
        rx_pinned *pred = (s->flags & RX_PIN_BLOCKED) ? iocp__find(b, s->pred) : NULL;
        if (pred && (pred->flags & RX_PIN_PENDING))
            rx_base_map_set(&b->bases, s->base, pred->id);
        return;
    }
    rx_pinned *heir = top ? iocp__find(b, top) : NULL;
    if (heir && (heir->flags & RX_PIN_BLOCKED) && heir->pred == s->id) {
        heir->flags &= (uint8_t)~RX_PIN_BLOCKED;
        iocp__mark(b, heir);
    }
}

/* The newest state on base (a live channel's, or a removed channel's whose poll is still in the
 * kernel), or NULL. */
static rx_pinned *iocp__on_base(const rx_iocp *b, uintptr_t base)
{
    return iocp__find(b, rx_base_map_get(&b->bases, base));
}

/* s takes its base handle from top, the state on it until now (iocp__on_base(s->base)):
 * REACTOR_EEXIST when a live channel polls it already; behind a removed channel's poll still in
 * the kernel, s is BLOCKED until that packet. Room in the map must be reserved. */
static int iocp__take_base(rx_iocp *b, rx_pinned *s, rx_pinned *top)
{
    if (top && top != s && !(top->flags & RX_PIN_ORPHAN))
        return REACTOR_EEXIST;
    if (top && top != s && (top->flags & RX_PIN_PENDING)) {
        s->flags |= RX_PIN_BLOCKED;
        s->pred = top->id;
    }
    rx_base_map_set(&b->bases, s->base, s->id);
    return 0;
}

void rx_iocp_reap(rx_iocp *b, rx_pinned *s)
{
    if ((s->flags & (RX_PIN_ORPHAN | RX_PIN_PENDING | RX_PIN_QUEUED)) != RX_PIN_ORPHAN)
        return;
    iocp__leave_base(b, s);
    rx_pinned **pp = &b->by_num[rx_id_chn(s->id)];
    while (*pp != s)
        pp = &(*pp)->next;
    *pp = s->next;
    rx_pool_put(&b->pool, s);
}

static void iocp__cancel(rx_iocp *b, rx_pinned *s)
{
    if (s->flags & RX_PIN_CANCELLING)
        return;
    s->flags |= RX_PIN_CANCELLING;
    /* Already completed: its packet is queued, and a cancel would only walk the group's
     * requests to answer STATUS_NOT_FOUND. */
    if (((volatile rx_iosb *)&s->iosb)->u.status != RX_STATUS_PENDING)
        return;
    (void)b->k->cancel(rx_pool_helper(s), &s->iosb);
}

void rx_iocp_release(rx_iocp *b, rx_pinned *s, int cancel)
{
    if (s->flags & RX_PIN_BLOCKED) {
        iocp__leave_base(b, s);
        s->flags &= (uint8_t)~RX_PIN_BLOCKED;
    }
    s->flags |= RX_PIN_ORPHAN;
    if (cancel && (s->flags & RX_PIN_PENDING))
        iocp__cancel(b, s);
    rx_iocp_reap(b, s);
}

/* Parks s after an error: not polled until modified, and its base handle is free for others
 * (a closed socket's handle value is soon someone else's). */
static void iocp__park(rx_iocp *b, rx_pinned *s)
{
    s->flags |= RX_PIN_DEAD;
    iocp__leave_base(b, s);
}

static void iocp__report(rx_sink *sink, rx_id id, unsigned events)
{
    assert(sink->n < sink->cap);
    rx_sink_push(sink, id, events);
}

int32_t rx_iocp_issue(rx_iocp *b, rx_pinned *s, uint32_t want, int64_t timeout, rx_id context)
{
    s->info.timeout = timeout;
    s->info.count = 1;
    s->info.exclusive = 0;
    s->info.handles[0].handle = s->base;
    s->info.handles[0].events = want;
    s->info.handles[0].status = 0;
    s->armed = (uint16_t)want;
    s->flags = (uint8_t)((s->flags & ~RX_PIN_CANCELLING) | RX_PIN_PENDING);
    int32_t st = b->k->poll(rx_pool_helper(s), &s->iosb, &s->info, (uintptr_t)context);
    if (!rx_iocp_packet_follows(st)) {
        s->flags &= (uint8_t)~RX_PIN_PENDING;
        return st;
    }
    b->pending++;
    return 0;
}

rx_pinned *rx_iocp_settle(rx_iocp *b, const rx_afd_completion *e)
{
    rx_pinned *s = iocp__find(b, (rx_id)e->context);
    if (!s || !(s->flags & RX_PIN_PENDING)) {
        /* Nothing of ours is waiting for it: if the kernel wrote into a state we freed lately,
         * the poison check finds it (destroy checks them all). */
        (void)rx_pool_check_recent(&b->pool);
        return NULL;
    }
    s->flags &= (uint8_t)~RX_PIN_PENDING;
    b->pending--;
    return s;
}

static void iocp__destroy(void *be)
{
    rx_iocp_destroy_report(be, NULL);
}

static int iocp__init(void **be, rx_alloc *alloc)
{
#if defined(_WIN32)
    return rx_iocp_init_kernel(be, alloc, &rx_afd_nt);
#else
    (void)be;
    (void)alloc;
    return REACTOR_ENOTSUP;
#endif
}

static int iocp__reserve(void *be, uint32_t capacity)
{
    rx_iocp *b = be;
    /* capacity follows the table's (doubling) capacity; a number never exceeds the peak. */
    int err = rx_iocp_grow_numbers(b, capacity + 1);
    if (!err)
        err = rx_iocp_grow_batch(b, capacity);
    if (!err)
        err = rx_pool_reserve(&b->pool);
    return err;
}

static int iocp__add(void *be, uint32_t slot, rx_id id, reactor_socket_t s, unsigned events)
{
    rx_iocp *b = be;
    (void)slot;
    reactor_chn_t chn = rx_id_chn(id);
    uintptr_t base;
    int err = rx_afd_base_handle(b->k, (uintptr_t)s, &base, &b->os_error);
    if (err)
        return err;
    if (chn >= b->by_num_cap && (err = rx_iocp_grow_numbers(b, (uint32_t)chn + 1)))
        return err;
    if ((err = rx_base_map_reserve(&b->bases, b->alloc, b->bases.count + 1)))
        return err;
    rx_pinned *top = iocp__on_base(b, base);
    if (top && !(top->flags & RX_PIN_ORPHAN))
        return REACTOR_EEXIST;
    int32_t status = 0;
    rx_pinned *st = rx_pool_get(&b->pool, &err, &status);
    if (!st) {
        b->os_error = status; /* the helper handle's NTSTATUS, when that failed */
        return err;
    }
    st->id = id;
    st->base = base;
    st->events = (uint8_t)events;
    (void)iocp__take_base(b, st, top); /* top is an orphan or NULL: cannot fail */
    st->next = b->by_num[chn];
    b->by_num[chn] = st;
    iocp__mark(b, st);
    return 0;
}

static int iocp__modify(void *be, uint32_t slot, rx_id id, reactor_socket_t s, unsigned events)
{
    rx_iocp *b = be;
    (void)slot;
    rx_pinned *st = iocp__live(b, id);
    if (st->flags & RX_PIN_DEAD) {
        /* Revived after an error or a close: the handle value it had may be another socket's
         * by now, so ask the socket again. */
        uintptr_t base;
        int err = rx_afd_base_handle(b->k, (uintptr_t)s, &base, &b->os_error);
        if (!err)
            err = rx_base_map_reserve(&b->bases, b->alloc, b->bases.count + 1);
        if (err)
            return err;
        uintptr_t old = st->base;
        st->base = base;
        if ((err = iocp__take_base(b, st, iocp__on_base(b, base)))) {
            st->base = old;
            return err;
        }
        st->flags &= (uint8_t)~RX_PIN_DEAD;
    }
    st->events = (uint8_t)events;
    iocp__mark(b, st);
    return 0;
}

static void iocp__remove(void *be, uint32_t slot, uint32_t last, rx_id id, reactor_socket_t s)
{
    rx_iocp *b = be;
    (void)slot;
    (void)last;
    (void)s;
    rx_iocp_release(b, iocp__live(b, id), 1);
}

/* Walks the arm list: arms channels with nothing pending, cancels polls whose interest widened
 * (re-armed when the cancellation's packet arrives; a narrower interest keeps its poll and masks
 * its result), frees orphans that wait for nothing. A poll refused for want of resources stays
 * queued for the next pass; any other refusal is reported as ERROR once and parks the channel.
 * The pass after the packets (late) leaves the channels just reported queued: their callbacks
 * have not run, and a poll armed now would find the data they are about to read. It reports
 * nothing either (a channel is reported at most once per call): a refusal waits for the next
 * pass. */
static void iocp__arm_all(rx_iocp *b, rx_sink *sink, int late)
{
    rx_pinned *s = b->arm;
    b->arm = NULL;
    while (s) {
        rx_pinned *next = s->arm_next;
        s->flags &= (uint8_t)~RX_PIN_QUEUED;
        if (!late)
            s->flags &= (uint8_t)~RX_PIN_REPORTED;
        if (s->flags & RX_PIN_ORPHAN) {
            rx_iocp_reap(b, s);
        } else if (s->flags & RX_PIN_REPORTED) {
            iocp__mark(b, s);
        } else if (!(s->flags & (RX_PIN_DEAD | RX_PIN_BLOCKED))) {
            uint32_t want = rx_afd_mask(s->events);
            if (s->flags & RX_PIN_PENDING) {
                if (want & ~(uint32_t)s->armed)
                    iocp__cancel(b, s);
            } else {
                int32_t st = rx_iocp_issue(b, s, want, INT64_MAX, s->id);
                if (st && (late || rx_afd_transient(st))) {
                    iocp__mark(b, s);
                } else if (st) {
                    iocp__park(b, s);
                    iocp__report(sink, s->id, REACTOR_ERROR);
                }
            }
        }
        s = next;
    }
}

static void iocp__complete(rx_iocp *b, const rx_afd_completion *e, rx_sink *sink)
{
    if (e->key == RX_IOCP_KEY_WAKE) {
        sink->woken = 1;
        return;
    }
    rx_pinned *s = rx_iocp_settle(b, e);
    if (!s || (s->flags & RX_PIN_ORPHAN)) {
        /* A packet for a removed channel, or for none we know: dropped and counted. */
        if (s)
            rx_iocp_reap(b, s);
        sink->stale++;
        return;
    }
    s->flags &= (uint8_t)~RX_PIN_CANCELLING;
    int32_t status = s->iosb.u.status;
    unsigned events = 0;
    if (status == RX_STATUS_SUCCESS) {
        /* Events are valid only on success: after a cancel the buffer still holds the mask we
         * asked for. AFD may set bits nobody asked for (trio #52), and the interest may have
         * narrowed since the poll was armed: keep only what the channel wants now. */
        uint32_t afd = s->info.count ? s->info.handles[0].events : 0;
        afd &= rx_afd_mask(s->events);
        events = rx_afd_events(afd);
        if (afd & RX_AFD_POLL_LOCAL_CLOSE) {
            /* The application closed the socket without removing it: ERROR once, then the
             * handle (which Windows may reuse) is not polled again. */
            events = REACTOR_ERROR;
            iocp__park(b, s);
        }
    } else if (rx_afd_transient(status)) {
        events = 0; /* polled again on the next pass */
    } else if (status != RX_STATUS_CANCELLED) {
        events = REACTOR_ERROR;
        iocp__park(b, s);
    }
    if (events) {
        iocp__report(sink, s->id, events);
        s->flags |= RX_PIN_REPORTED;
    }
    if (!(s->flags & RX_PIN_DEAD))
        iocp__mark(b, s);
}

/* Dequeues every packet already queued (waiting up to timeout_ms for the first), not just one
 * batch: each ready channel is reported in the iteration its packet arrived in. 0 (nothing
 * came), 1, or REACTOR_ESYS. */
static int iocp__take(rx_iocp *b, int timeout_ms, rx_sink *sink)
{
    int got = 0;
    for (;;) {
        uint32_t n = 0;
        int32_t st = b->k->dequeue(b->port, b->batch, b->batch_cap, &n, timeout_ms);
        if (st == RX_STATUS_TIMEOUT)
            return got;
        if (st != RX_STATUS_SUCCESS) {
            b->os_error = st;
            return REACTOR_ESYS;
        }
        for (uint32_t i = 0; i < n; i++)
            iocp__complete(b, &b->batch[i], sink);
        got = 1;
        if (n < b->batch_cap)
            return got;
        timeout_ms = 0;
    }
}

static int iocp__poll(void *be, int timeout_ms, rx_sink *sink)
{
    rx_iocp *b = be;
    uint64_t start = timeout_ms > 0 ? rx_clock_ns() : 0;
    iocp__arm_all(b, sink, 0);
    for (;;) {
        int wait = sink->n ? 0 : timeout_ms;
        if (b->arm && (wait < 0 || wait > IOCP__RETRY_MS))
            wait = IOCP__RETRY_MS; /* polls refused for want of resources: retry soon */
        int got = iocp__take(b, wait, sink);
        if (got <= 0)
            return got;
        /* Polls that ended with nothing for the application (a cancellation for a wider
         * interest, a result masked away, a socket let go by a removed channel's packet) are
         * armed again now, within this call. */
        iocp__arm_all(b, sink, 1);
        if (sink->n || sink->woken || timeout_ms == 0)
            return 0;
        /* Nothing to report yet: wait the rest of the time instead of an empty iteration. */
        if (timeout_ms > 0) {
            uint64_t spent = (rx_clock_ns() - start) / 1000000u;
            if (spent >= (uint64_t)timeout_ms)
                return 0;
            timeout_ms -= (int)spent;
            start = rx_clock_ns();
        }
    }
}

static int iocp__wakeup(void *be)
{
    rx_iocp *b = be;
    return b->k->post(b->port, RX_IOCP_KEY_WAKE) == RX_STATUS_SUCCESS ? 0 : REACTOR_ESYS;
}

static int iocp__fd(const void *be, intptr_t *out)
{
    *out = (intptr_t)((const rx_iocp *)be)->port;
    return 0;
}

static int iocp__os_error(const void *be)
{
    return ((const rx_iocp *)be)->os_error;
}

static void iocp__stats(const void *be, reactor_stats_t *out)
{
    const rx_iocp *b = be;
    out->pending_polls += b->pending;
    out->pinned_blocks += b->pool.blocks;
    out->undrained_polls += b->undrained;
    out->helper_handles += b->pool.helpers;
}

uint64_t rx_iocp_poison_hits(void *be)
{
    rx_iocp *b = be;
    (void)rx_pool_check(&b->pool);
    return b->pool.poison_hits;
}

uint64_t rx_iocp_blocks_total(const void *be)
{
    const rx_iocp *b = be;
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
    .fd = iocp__fd,
    .os_error = iocp__os_error,
};
