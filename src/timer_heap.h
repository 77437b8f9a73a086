/* timer_heap.h - timers in slots named by ID ((generation << 32) | (slot + 1)), ordered by a
 * 4-ary min-heap on (due, start order). A heap node carries its due time and a stamp that
 * orders ties, so sifting compares within the heap array; each slot keeps its node's heap
 * index, so stop is O(log n). */
#ifndef RX_TIMER_HEAP_H
#define RX_TIMER_HEAP_H

#include "alloc.h"
#include "reactor.h"

#include <stdint.h>

/* A slot. gen and link come first: stop reads only them, and start then writes the rest of
 * the line stop just loaded. */
typedef struct rx_timer {
    uint32_t gen;
    uint32_t link; /* started: its node's heap index; free: RX_TIMER_FREE | next free slot + 1 */
    uint64_t seq;  /* start order, for the pass limit (rx_timers_expire) */
    uint64_t repeat_ns;
    reactor_timer_cb cb;
    void *arg;
} rx_timer;

#define RX_TIMER_FREE 0x80000000u
#define RX_TIMERS_MAX 0x7FFFFFFFu /* slots; a heap index stays below RX_TIMER_FREE */

/* Ties on due fire first-started first: stamps follow start order (as seq does) but are 32
 * bits, so that a node fits 16 bytes; before they would wrap, the live ones are renumbered. */
typedef struct rx_timer_node {
    uint64_t due_ns;
    uint32_t slot;
    uint32_t stamp;
} rx_timer_node;

/* Owns slots and the heap block; rx_timers_free releases them. heap points into heap_block so
 * that the four children of a node share one 64-byte line. */
typedef struct rx_timers {
    rx_timer *slots;
    rx_timer_node *heap; /* started timers, [0, len); children of i at 4i+1..4i+4 */
    void *heap_block;
    uint32_t used, slot_cap, heap_cap, len;
    uint32_t free_head; /* slot + 1 of the first free slot, 0 = none */
    uint32_t next_stamp;
    uint64_t next_seq;
    rx_alloc *alloc;
} rx_timers;

void rx_timers_init(rx_timers *ts, rx_alloc *alloc);
void rx_timers_free(rx_timers *ts);

/* 0 or REACTOR_ENOMEM (nothing changed). */
int rx_timers_start(rx_timers *ts, uint64_t due_ns, uint64_t repeat_ns, reactor_timer_cb cb,
                    void *arg, reactor_timer_t *out);
/* 0 or REACTOR_EBADTIMER. */
int rx_timers_stop(rx_timers *ts, reactor_timer_t id);
/* Due time of the earliest timer, or UINT64_MAX when there is none. */
static inline uint64_t rx_timers_next_due(const rx_timers *ts)
{
    return ts->len ? ts->heap[0].due_ns : UINT64_MAX;
}
/* The sequence number the next started timer will get. */
static inline uint64_t rx_timers_seq(const rx_timers *ts)
{
    return ts->next_seq;
}
/* Takes the earliest timer if it is due at now_ns and was started before seq_limit: a one-shot
 * timer is released, a repeating one rescheduled at now_ns + repeat. Returns 1 and fills the
 * callback, or 0 when none is due. */
int rx_timers_expire(rx_timers *ts, uint64_t now_ns, uint64_t seq_limit, reactor_timer_t *id,
                     reactor_timer_cb *cb, void **arg);

#endif
