/* iocp_state.h - the AFD backend's state, shared by its two files: iocp.c (per channel: add,
 * arm, cancel, dispatch) and iocp_lifecycle.c (init with its AFD probe, destroy with its drain).
 * What the kernel holds of it is pinned state and channel IDs, never a pointer into it. */
#ifndef RX_WIN_IOCP_STATE_H
#define RX_WIN_IOCP_STATE_H

#include "iocp.h"

#include "afd.h"
#include "alloc.h"
#include "base_map.h"
#include "channel_table.h"
#include "pinned_pool.h"

#include <stdint.h>

/* Completion keys: the helpers' poll packets, and wake-ups (posted with context 0). */
#define RX_IOCP_KEY_AFD 1u
#define RX_IOCP_KEY_WAKE 2u

/* Owns by_num, bases, batch, the pool's blocks (and their helpers) and the port;
 * rx_iocp_destroy_report releases them, except blocks holding a poll the kernel never gave
 * back. */
typedef struct rx_iocp {
    rx_alloc *alloc;
    const rx_afd_kernel *k;
    uintptr_t port;
    rx_pinned **by_num; /* per channel number: its live state and orphans awaiting a packet */
    uint32_t by_num_cap;
    rx_base_map bases;
    rx_pinned *arm; /* states the next arm pass looks at */
    rx_pin_pool pool;
    uint64_t pending, undrained;
    rx_afd_completion *batch; /* written only inside a dequeue call */
    uint32_t batch_cap;
    int os_error; /* the WSA error or NTSTATUS of the last failure */
} rx_iocp;

/* A status the kernel returns at once has a packet following unless it is an error (severity
 * 3): success, informational and warning statuses are all completed through the port. */
static inline int rx_iocp_packet_follows(int32_t status)
{
    return ((uint32_t)status >> 30) != 3u;
}

/* iocp.c. Issues the state's poll with timeout (100 ns units) and context: 0, or the status of
 * a refusal (no packet will come). */
int32_t rx_iocp_issue(rx_iocp *b, rx_pinned *s, uint32_t want, int64_t timeout, rx_id context);
/* Takes one packet off the books: the state is no longer pending. Returns it, or NULL for a
 * packet that names no pending state. */
rx_pinned *rx_iocp_settle(rx_iocp *b, const rx_afd_completion *e);
/* Frees an orphan once neither the kernel nor the arm list refers to it. */
void rx_iocp_reap(rx_iocp *b, rx_pinned *s);
/* The channel is gone: its state is freed once the kernel's packet is dequeued (the poll is
 * cancelled unless cancel is 0: destroy cancels whole groups) and the arm list lets go. */
void rx_iocp_release(rx_iocp *b, rx_pinned *s, int cancel);

/* iocp_lifecycle.c. The per-number list heads for numbers below need, and the dequeue batch for
 * a sink of capacity events: 0 or REACTOR_ENOMEM, nothing changed on failure. */
int rx_iocp_grow_numbers(rx_iocp *b, uint32_t need);
int rx_iocp_grow_batch(rx_iocp *b, uint32_t capacity);

#endif
