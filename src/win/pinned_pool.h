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
#define RX_PIN_BLOCKED 0x20u    /* waits for the packet of an earlier poll on its socket */
#define RX_PIN_REPORTED 0x40u   /* reported in this poll call: armed again after its callback */

/* One channel's kernel-facing memory and the little the backend keeps per channel. Owned by
 * the pool; the backend gets it at add and puts it back once nothing is pending for it. */
typedef struct rx_pinned {
    struct rx_pinned *next; /* the backend's per-number list in use; the free list when free */
    uint32_t index;         /* its place in its block */
    uint8_t flags;
    uint8_t events; /* requested REACTOR_* events */
    uint16_t armed; /* AFD events of the pending poll */
    /* Everything below is poisoned while the state is free. */
    rx_iosb iosb;
    rx_afd_poll_info info;
    rx_id id;                   /* the ApcContext of its polls */
    rx_id pred;                 /* with BLOCKED: the earlier state whose packet it waits for */
    uintptr_t base;             /* the socket's base handle */
    struct rx_pinned *arm_next; /* the backend's arm list */
} rx_pinned;

#define RX_PIN_RECENT 16u

/* Owns its blocks and their helper handles; rx_pool_free releases every block with no state
 * in use, and closes its helper. A block is a poll group: its states' polls go to its helper,
 * opened when the block first hands out a state. */
typedef struct rx_pin_pool {
    rx_alloc *alloc;
    const rx_afd_kernel *k;
    uintptr_t port, key;               /* where helpers post their packets */
    struct rx_pin_block *avail, *tail; /* blocks with a free state, partly used ones first */
    struct rx_pin_block *all;          /* every block */
    uint32_t blocks;                   /* blocks allocated now */
    uint32_t empty;                    /* blocks with no state in use (0 or 1 between calls) */
    uint32_t helpers;                  /* helper handles open now */
    uint64_t in_use;
    uint64_t blocks_total;            /* blocks ever allocated */
    uint64_t poison_hits;             /* free states found written to */
    rx_pinned *recent[RX_PIN_RECENT]; /* the states freed last, still free (checked cheaply) */
    uint32_t recent_at;
} rx_pin_pool;

void rx_pool_init(rx_pin_pool *p, rx_alloc *alloc, const rx_afd_kernel *k, uintptr_t port,
                  uintptr_t key);
/* Makes sure a free state exists, so the next rx_pool_get cannot fail for memory. 0 or
 * REACTOR_ENOMEM. */
int rx_pool_reserve(rx_pin_pool *p);
/* A zeroed state, or NULL with *err set: REACTOR_ENOMEM, or REACTOR_ESYS when its group's
 * helper handle would not open (the status in *status). */
rx_pinned *rx_pool_get(rx_pin_pool *p, int *err, int32_t *status);
/* Returns s; it must not be pending. */
void rx_pool_put(rx_pin_pool *p, rx_pinned *s);
/* The helper handle of s's group. */
uintptr_t rx_pool_helper(const rx_pinned *s);
/* Cancels every poll of every group: one cancel-all per helper handle. */
void rx_pool_cancel_all(rx_pin_pool *p);
/* Closes every helper handle (the kernel completes what is still pending on them). */
void rx_pool_close_helpers(rx_pin_pool *p);
/* Checks the poison of the states freed last; the number found written to is added to
 * poison_hits and returned. O(RX_PIN_RECENT). */
uint64_t rx_pool_check_recent(rx_pin_pool *p);
/* Checks every free state's poison, as rx_pool_check_recent. */
uint64_t rx_pool_check(rx_pin_pool *p);
/* Frees every block whose states are all free; returns the number of blocks kept because a
 * state in them is still in use (the kernel may still write them). */
uint32_t rx_pool_free(rx_pin_pool *p);

#endif
