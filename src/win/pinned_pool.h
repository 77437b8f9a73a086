/* pinned_pool.h - kernel-facing poll state in blocks that never move. A state's address is
 * stable from get to put; the kernel may write its iosb and info only while it is pending.
 * Empty blocks are freed, keeping at most one spare. */
#ifndef RX_WIN_PINNED_POOL_H
#define RX_WIN_PINNED_POOL_H

#include "afd.h"
#include "alloc.h"
#include "channel_table.h"

#include <stdint.h>

/* G: the polls one \Device\Afd helper handle carries at most. A block of G states is one group:
 * its states' polls are issued on the block's own helper handle, so a cancel walks at most G
 * requests (docs/windows.md, "Poll groups", says why 128). Tests build other sizes with
 * -DRX_AFD_GROUP=N. */
#ifndef RX_AFD_GROUP
#define RX_AFD_GROUP 128u
#endif
#define RX_PIN_PER_BLOCK RX_AFD_GROUP

/* State flags. */
#define RX_PIN_PENDING 0x01u    /* the kernel holds iosb and info; a packet will follow */
#define RX_PIN_CANCELLING 0x02u /* a cancel was issued; its packet is still to come */
#define RX_PIN_ORPHAN 0x04u     /* its channel is gone: free when nothing refers to it */
#define RX_PIN_QUEUED 0x08u     /* on the backend's arm list */
#define RX_PIN_DEAD 0x10u       /* closed or failed under us: not polled until modified */

/* One channel's kernel-facing memory and the little the backend keeps per channel. Owned by
 * the pool; the backend gets it at add and puts it back once nothing is pending for it. */
typedef struct rx_pinned {
    struct rx_pinned *next; /* the backend's per-number list in use; the free list when free */
    uint32_t index; /* its place in its block */
    uint8_t flags;
    uint8_t events; /* requested REACTOR_* events */
    uint16_t armed; /* AFD events of the pending poll */
    /* Everything below is poisoned while the state is free. */
    rx_iosb iosb;
    rx_afd_poll_info info;
    rx_id id;                   /* the ApcContext of its polls */
    uintptr_t base;             /* the socket's base handle */
    struct rx_pinned *arm_next; /* the backend's arm list */
} rx_pinned;

/* Owns its blocks; rx_pool_free releases every block with no state in use. */
typedef struct rx_pin_pool {
    rx_alloc *alloc;
    struct rx_pin_block *avail; /* blocks with a free state, partly used ones first */
    uint32_t blocks;            /* blocks allocated now */
    uint32_t empty;             /* blocks with no state in use (0 or 1 between calls) */
    uint64_t in_use;
    uint64_t blocks_total; /* blocks ever allocated */
    uint64_t poison_hits;  /* free states found written to */
} rx_pin_pool;

void rx_pool_init(rx_pin_pool *p, rx_alloc *alloc);
/* Makes sure a free state exists, so the next rx_pool_get cannot fail. 0 or REACTOR_ENOMEM. */
int rx_pool_reserve(rx_pin_pool *p);
/* A zeroed state, or NULL when out of memory. */
rx_pinned *rx_pool_get(rx_pin_pool *p);
/* Returns s; it must not be pending. */
void rx_pool_put(rx_pin_pool *p, rx_pinned *s);
/* Checks every free state's poison; the number found written to is added to poison_hits and
 * returned. */
uint64_t rx_pool_check(rx_pin_pool *p);
/* Frees every block whose states are all free; returns the number of blocks kept because a
 * state in them is still in use (the kernel may still write them). */
uint32_t rx_pool_free(rx_pin_pool *p);

#endif
