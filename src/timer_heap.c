/* timer_heap.c - min-heap of timer slots. Slots move only on growth (realloc); the heap holds
 * slot indices, never pointers, and nothing outside keeps a slot pointer across calls. */
#include "timer_heap.h"

#include <string.h>

#define TIMERS__MIN_CAP 16u

void rx_timers_init(rx_timers *ts, rx_alloc *alloc)
{
    memset(ts, 0, sizeof *ts);
    ts->next_seq = 1;
    ts->alloc = alloc;
}

void rx_timers_free(rx_timers *ts)
{
    rx_alloc *alloc = ts->alloc;
    rx_free(alloc, ts->slots, (size_t)ts->slot_cap * sizeof *ts->slots);
    rx_free(alloc, ts->heap, (size_t)ts->heap_cap * sizeof *ts->heap);
    rx_timers_init(ts, alloc);
}

static int timers__less(const rx_timers *ts, uint32_t a, uint32_t b)
{
    const rx_timer *x = &ts->slots[ts->heap[a]], *y = &ts->slots[ts->heap[b]];
    return x->due_ns < y->due_ns || (x->due_ns == y->due_ns && x->seq < y->seq);
}

static void timers__swap(rx_timers *ts, uint32_t a, uint32_t b)
{
    uint32_t s = ts->heap[a];
    ts->heap[a] = ts->heap[b];
    ts->heap[b] = s;
    ts->slots[ts->heap[a]].heap_index = a;
    ts->slots[ts->heap[b]].heap_index = b;
}

static void timers__up(rx_timers *ts, uint32_t i)
{
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!timers__less(ts, i, parent))
            break;
        timers__swap(ts, i, parent);
        i = parent;
    }
}

static void timers__down(rx_timers *ts, uint32_t i)
{
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, min = i;
        if (l < ts->len && timers__less(ts, l, min))
            min = l;
        if (r < ts->len && timers__less(ts, r, min))
            min = r;
        if (min == i)
            return;
        timers__swap(ts, i, min);
        i = min;
    }
}

static void timers__heap_remove(rx_timers *ts, uint32_t i)
{
    uint32_t last = --ts->len;
    if (i != last) {
        timers__swap(ts, i, last);
        timers__down(ts, i);
        timers__up(ts, i);
    }
}

int rx_timers_start(rx_timers *ts, uint64_t due_ns, uint64_t repeat_ns, reactor_timer_cb cb,
                    void *arg, reactor_timer_t *out)
{
    uint32_t slot;
    if (ts->free_head) {
        slot = ts->free_head - 1;
    } else {
        /* Grow both arrays before taking anything; a failure leaves spare capacity only. */
        int err = rx_grow(ts->alloc, (void **)&ts->slots, &ts->slot_cap, ts->used + 1,
                          sizeof *ts->slots, TIMERS__MIN_CAP);
        if (!err)
            err = rx_grow(ts->alloc, (void **)&ts->heap, &ts->heap_cap, ts->used + 1,
                          sizeof *ts->heap, TIMERS__MIN_CAP);
        if (err)
            return err;
        slot = ts->used++;
        ts->slots[slot].gen = 1;
    }
    rx_timer *t = &ts->slots[slot];
    if (ts->free_head)
        ts->free_head = t->next;
    t->due_ns = due_ns;
    t->seq = ts->next_seq++;
    t->repeat_ns = repeat_ns;
    t->cb = cb;
    t->arg = arg;
    t->heap_index = ts->len;
    ts->heap[ts->len++] = slot;
    timers__up(ts, t->heap_index);
    *out = ((reactor_timer_t)t->gen << 32) | (slot + 1);
    return 0;
}

static void timers__release(rx_timers *ts, uint32_t slot)
{
    rx_timer *t = &ts->slots[slot];
    t->gen++;
    if (t->gen == 0) /* keep IDs non-zero and distinct after wrap-around */
        t->gen = 1;
    t->heap_index = RX_TIMER_FREE;
    t->next = ts->free_head;
    ts->free_head = slot + 1;
}

int rx_timers_stop(rx_timers *ts, reactor_timer_t id)
{
    uint64_t low = id & 0xFFFFFFFFu;
    if (low == 0 || low > ts->used)
        return REACTOR_EBADTIMER;
    uint32_t slot = (uint32_t)(low - 1);
    rx_timer *t = &ts->slots[slot];
    if (t->heap_index == RX_TIMER_FREE || t->gen != (uint32_t)(id >> 32))
        return REACTOR_EBADTIMER;
    timers__heap_remove(ts, t->heap_index);
    timers__release(ts, slot);
    return 0;
}

uint64_t rx_timers_next_due(const rx_timers *ts)
{
    return ts->len ? ts->slots[ts->heap[0]].due_ns : UINT64_MAX;
}

int rx_timers_expire(rx_timers *ts, uint64_t now_ns, uint64_t seq_limit, reactor_timer_t *id,
                     reactor_timer_cb *cb, void **arg)
{
    if (!ts->len)
        return 0;
    uint32_t slot = ts->heap[0];
    rx_timer *t = &ts->slots[slot];
    if (t->due_ns > now_ns || t->seq >= seq_limit)
        return 0;
    *id = ((reactor_timer_t)t->gen << 32) | (slot + 1);
    *cb = t->cb;
    *arg = t->arg;
    if (t->repeat_ns) {
        uint64_t due = now_ns + t->repeat_ns;
        t->due_ns = due < now_ns ? UINT64_MAX : due;
        t->seq = ts->next_seq++;
        timers__down(ts, 0);
    } else {
        timers__heap_remove(ts, 0);
        timers__release(ts, slot);
    }
    return 1;
}
