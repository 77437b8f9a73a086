/* timer_heap.h - timers in slots named by ID ((generation << 32) | (slot + 1)), ordered by a
 * binary min-heap on (due, sequence). Each slot keeps its heap index, so stop is O(log n). */
#ifndef RX_TIMER_HEAP_H
#define RX_TIMER_HEAP_H

#include "alloc.h"
#include "reactor.h"

#include <stdint.h>

typedef struct rx_timer {
    uint64_t due_ns;
    uint64_t seq; /* start order: ties on due fire first-started first */
    uint64_t repeat_ns;
    reactor_timer_cb cb;
    void *arg;
    uint32_t gen;
    uint32_t heap_index; /* RX_TIMER_FREE when the slot is free; then `next` is its link */
    uint32_t next;
} rx_timer;

#define RX_TIMER_FREE UINT32_MAX

/* Owns slots and heap; rx_timers_free releases them. */
typedef struct rx_timers {
    rx_timer *slots;
    uint32_t *heap; /* slot indices of started timers, [0, len) */
    uint32_t used, slot_cap, heap_cap, len;
    uint32_t free_head; /* slot + 1 of the first free slot, 0 = none */
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
uint64_t rx_timers_next_due(const rx_timers *ts);
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
