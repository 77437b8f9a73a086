/* iocp_lifecycle.c - the AFD backend's birth and death: init opens the port and probes that AFD
 * answers polls here; destroy cancels every group, drains the port within a deadline, and frees
 * no state the kernel may still write. The per-channel work is in iocp.c. */
#include "iocp_state.h"

#include "platform.h"

#include <string.h>

#define IOCP__BATCH_MIN 16u
#define IOCP__BATCH_MAX 128u
#define IOCP__DRAIN_MS 2000
#define IOCP__CLOSED_DRAIN_MS 500
#define IOCP__PROBE_MS 1000
/* The probe's context: channel number 0 is never handed out, so no channel has this ID. */
#define IOCP__PROBE_ID ((rx_id)1 << 16)

int rx_iocp_grow_numbers(rx_iocp *b, uint32_t need)
{
    uint32_t old = b->by_num_cap;
    int err = rx_resize(b->alloc, (void **)&b->by_num, &b->by_num_cap, need, sizeof *b->by_num);
    if (!err)
        memset(b->by_num + old, 0, (size_t)(b->by_num_cap - old) * sizeof *b->by_num);
    return err;
}

/* The dequeue batch follows the sink's capacity (every channel's packet in one call), within
 * bounds: a fuller port is emptied in several calls. */
int rx_iocp_grow_batch(rx_iocp *b, uint32_t capacity)
{
    uint32_t want = capacity + 1 < IOCP__BATCH_MIN   ? IOCP__BATCH_MIN
                    : capacity + 1 > IOCP__BATCH_MAX ? IOCP__BATCH_MAX
                                                     : capacity + 1;
    return rx_resize(b->alloc, (void **)&b->batch, &b->batch_cap, want, sizeof *b->batch);
}

/* Waits until deadline (clock ns) for the packets of pending polls, freeing the states they
 * settle. A wait that times out has used up the deadline: nothing more is waited for. */
static void iocp__drain(rx_iocp *b, uint64_t deadline)
{
    while (b->pending) {
        uint64_t now = rx_clock_ns();
        int wait = now >= deadline ? 0 : (int)((deadline - now + 999999u) / 1000000u);
        uint32_t n = 0;
        int32_t st = b->k->dequeue(b->port, b->batch, b->batch_cap, &n, wait);
        if (st != RX_STATUS_SUCCESS)
            break;
        for (uint32_t i = 0; i < n; i++) {
            if (b->batch[i].key != RX_IOCP_KEY_AFD)
                continue;
            rx_pinned *s = rx_iocp_settle(b, &b->batch[i]);
            if (s)
                rx_iocp_reap(b, s);
        }
    }
}

void rx_iocp_destroy_report(void *be, rx_iocp_final *out)
{
    rx_iocp *b = be;
    uint64_t deadline = rx_clock_ns() + (uint64_t)IOCP__DRAIN_MS * 1000000u;
    for (rx_pinned *s = b->arm, *next; s; s = next) {
        next = s->arm_next;
        s->flags &= (uint8_t)~RX_PIN_QUEUED;
    }
    b->arm = NULL;
    for (uint32_t chn = 0; chn < b->by_num_cap; chn++)
        for (rx_pinned *s = b->by_num[chn], *next; s; s = next) {
            next = s->next;
            if (!(s->flags & RX_PIN_ORPHAN))
                rx_iocp_release(b, s, 0);
            else
                rx_iocp_reap(b, s);
        }
    /* One cancel per group, not one per poll: each walks only its own helper's requests. */
    rx_pool_cancel_all(&b->pool);
    iocp__drain(b, deadline);
    /* Closing the helpers completes what a cancel did not (STATUS_HANDLES_CLOSED). */
    rx_pool_close_helpers(&b->pool);
    if (b->pending)
        iocp__drain(b, rx_clock_ns() + (uint64_t)IOCP__CLOSED_DRAIN_MS * 1000000u);
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
    rx_base_map_free(&b->bases, b->alloc);
    rx_free(b->alloc, b->batch, (size_t)b->batch_cap * sizeof *b->batch);
    rx_free(b->alloc, b->by_num, (size_t)b->by_num_cap * sizeof *b->by_num);
    rx_free(b->alloc, b, sizeof *b);
}

/* Whether AFD answers polls here: one poll with a zero timeout on a fresh UDP socket must be
 * accepted and complete. Old Wine refuses AFD_POLL (STATUS_BAD_DEVICE_TYPE); so do some
 * sandboxes and layered providers. 0, REACTOR_ENOTSUP, or REACTOR_ENOMEM. */
static int iocp__probe(rx_iocp *b)
{
    uintptr_t sock, base;
    if (b->k->socket_open(&sock) != 0)
        return REACTOR_ENOTSUP;
    int err = 0;
    int32_t status = 0;
    rx_pinned *s = NULL;
    if (rx_afd_base_handle(b->k, sock, &base, NULL) != 0) {
        err = REACTOR_ENOTSUP;
        goto out;
    }
    s = rx_pool_get(&b->pool, &err, &status);
    if (!s) {
        err = err == REACTOR_ENOMEM ? err : REACTOR_ENOTSUP;
        goto out;
    }
    s->id = IOCP__PROBE_ID;
    s->base = base;
    if (rx_iocp_issue(b, s, RX_AFD_POLL_SEND | RX_AFD_POLL_RECEIVE, 0, IOCP__PROBE_ID) != 0) {
        err = REACTOR_ENOTSUP;
        goto out;
    }
    uint64_t deadline = rx_clock_ns() + (uint64_t)IOCP__PROBE_MS * 1000000u;
    while (s->flags & RX_PIN_PENDING) {
        uint64_t now = rx_clock_ns();
        int wait = now >= deadline ? 0 : (int)((deadline - now + 999999u) / 1000000u);
        uint32_t n = 0;
        if (b->k->dequeue(b->port, b->batch, b->batch_cap, &n, wait) != RX_STATUS_SUCCESS)
            break; /* a poll with a zero timeout that never completes: AFD is not usable */
        for (uint32_t i = 0; i < n; i++)
            if (b->batch[i].key == RX_IOCP_KEY_AFD && b->batch[i].context == IOCP__PROBE_ID) {
                s->flags &= (uint8_t)~RX_PIN_PENDING;
                b->pending--;
                if (!rx_iocp_packet_follows(b->batch[i].iosb.u.status))
                    err = REACTOR_ENOTSUP;
            }
    }
    if (s->flags & RX_PIN_PENDING) {
        /* Left to destroy, which cancels and drains it, as a removed channel's poll. */
        s->next = b->by_num[0];
        b->by_num[0] = s;
        s->flags |= RX_PIN_ORPHAN;
        (void)b->k->cancel(rx_pool_helper(s), &s->iosb);
        s = NULL;
        err = REACTOR_ENOTSUP;
    }
out:
    if (s)
        rx_pool_put(&b->pool, s);
    b->k->socket_close(sock);
    return err;
}

int rx_iocp_init_kernel(void **be, rx_alloc *alloc, const rx_afd_kernel *k)
{
    rx_iocp *b = rx_malloc(alloc, sizeof *b);
    if (!b)
        return REACTOR_ENOMEM;
    memset(b, 0, sizeof *b);
    b->alloc = alloc;
    b->k = k;
    if (k->port_open(&b->port) != RX_STATUS_SUCCESS) {
        rx_free(alloc, b, sizeof *b);
        return REACTOR_ESYS;
    }
    rx_pool_init(&b->pool, alloc, k, b->port, RX_IOCP_KEY_AFD);
    int err = rx_iocp_grow_batch(b, 0);
    if (!err)
        err = rx_iocp_grow_numbers(b, 1);
    if (!err)
        err = iocp__probe(b);
    if (err) {
        rx_iocp_destroy_report(b, NULL);
        return err;
    }
    *be = b;
    return 0;
}
