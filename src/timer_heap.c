/* timer_heap.c - 4-ary min-heap of (due, stamp, slot) nodes. A sift reads only the heap array;
 * every move writes the moved node's heap index into its slot. Arrays move only on growth;
 * nothing outside keeps a pointer across calls. */
#include "timer_heap.h"

#include <string.h>

#define TIMERS__MIN_CAP 16u
#define TIMERS__LINE 64u /* bytes; four nodes */

_Static_assert(sizeof(rx_timer_node) * 4 == TIMERS__LINE, "four children fill one line");

#if defined(__GNUC__) || defined(__clang__)
#define TIMERS__PREFETCH(p) __builtin_prefetch(p)
#else
#define TIMERS__PREFETCH(p) ((void)(p))
#endif

void rx_timers_init(rx_timers *ts, rx_alloc *alloc)
{
    memset(ts, 0, sizeof *ts);
    ts->next_seq = 1;
    ts->alloc = alloc;
}

static size_t timers__heap_bytes(uint32_t cap)
{
    return cap ? (size_t)cap * sizeof(rx_timer_node) + TIMERS__LINE : 0;
}

void rx_timers_free(rx_timers *ts)
{
    rx_alloc *alloc = ts->alloc;
    rx_free(alloc, ts->slots, (size_t)ts->slot_cap * sizeof *ts->slots);
    rx_free(alloc, ts->heap_block, timers__heap_bytes(ts->heap_cap));
    rx_timers_init(ts, alloc);
}

/* Where in block the heap starts so that nodes 1..4 (the root's children), and so every
 * later group of siblings, begin on a 64-byte line. A multiple of 8 for an 8-aligned block. */
static size_t timers__heap_offset(const void *block)
{
    uintptr_t first_child = (uintptr_t)block + sizeof(rx_timer_node);
    return (size_t)((TIMERS__LINE - first_child % TIMERS__LINE) % TIMERS__LINE);
}

/* Grows the heap block to cap nodes; realloc may return a block aligned differently, so the
 * nodes move to the new offset. */
static int timers__heap_resize(rx_timers *ts, uint32_t cap)
{
    if (cap <= ts->heap_cap)
        return 0;
    size_t was = ts->heap_block ? (size_t)((char *)ts->heap - (char *)ts->heap_block) : 0;
    char *block = rx_realloc(ts->alloc, ts->heap_block, timers__heap_bytes(ts->heap_cap),
                             timers__heap_bytes(cap));
    if (!block)
        return REACTOR_ENOMEM;
    size_t at = timers__heap_offset(block);
    if (at != was)
        memmove(block + at, block + was, (size_t)ts->len * sizeof *ts->heap);
    ts->heap_block = block;
    ts->heap = (rx_timer_node *)(void *)(block + at);
    ts->heap_cap = cap;
    return 0;
}

/* Room for one more slot in both arrays; a failure leaves spare capacity only. The heap grows
 * last, so heap_cap is the smaller capacity. */
static int timers__grow(rx_timers *ts)
{
    if (ts->used >= RX_TIMERS_MAX)
        return REACTOR_ENOMEM;
    int err = rx_grow(ts->alloc, (void **)&ts->slots, &ts->slot_cap, ts->used + 1,
                      sizeof *ts->slots, TIMERS__MIN_CAP);
    if (!err)
        err = timers__heap_resize(ts, ts->slot_cap);
    return err;
}

static inline int timers__before(rx_timer_node a, rx_timer_node b)
{
    return a.due_ns < b.due_ns || (a.due_ns == b.due_ns && a.stamp < b.stamp);
}

/* The earliest of the nodes [c, end), comparing full keys. */
static size_t timers__min_slow(const rx_timer_node *heap, size_t c, size_t end)
{
    size_t m = c;
    for (size_t k = c + 1; k < end; k++)
        if (timers__before(heap[k], heap[m]))
            m = k;
    return m;
}

/* Places node at the hole i or above it. */
static inline void timers__up(rx_timer_node *heap, rx_timer *slots, size_t i, rx_timer_node node)
{
    while (i > 0) {
        size_t parent = (i - 1) / 4;
        rx_timer_node p = heap[parent];
        if (!timers__before(node, p))
            break;
        heap[i] = p;
        slots[p.slot].link = (uint32_t)i;
        i = parent;
    }
    heap[i] = node;
    slots[node.slot].link = (uint32_t)i;
}

/* Fills the hole at i of the heap's len nodes with node: the hole first sinks to a leaf, each
 * level taking its earliest child, then node rises from there. node is usually a late one (the
 * last leaf, or a rescheduled repeat), so it rises little, and the sinking never compares
 * against it. The children are compared by due alone, and by stamp too only when one of the
 * tournament's matches was a tie on due (any tie with the winner is one of them). */
static void timers__fill(rx_timers *ts, size_t i, rx_timer_node node)
{
    rx_timer_node *heap = ts->heap;
    rx_timer *slots = ts->slots;
    size_t n = ts->len, c;
    while ((c = 4 * i + 1) + 4 <= n) {
        const rx_timer_node *k = heap + c;
        /* The next level's line is one of the four children's groups, 4c + 1 .. 4c + 16,
         * four adjacent lines: ask for all of them now and this level's comparisons overlap
         * their loads. Deep in a large heap each would otherwise be a serial cache miss. */
        if (4 * c + 1 < n) {
            /* Addresses as integers: the last lines may lie past the array. */
            uintptr_t g = (uintptr_t)(heap + 4 * c + 1);
            TIMERS__PREFETCH((const void *)g);
            TIMERS__PREFETCH((const void *)(g + TIMERS__LINE));
            TIMERS__PREFETCH((const void *)(g + 2 * TIMERS__LINE));
            TIMERS__PREFETCH((const void *)(g + 3 * TIMERS__LINE));
        }
        /* A tournament on the dues: two pairs, then their winners. */
        uint64_t d0 = k[0].due_ns, d1 = k[1].due_ns, d2 = k[2].due_ns, d3 = k[3].due_ns;
        size_t a = d1 < d0, b = 2 + (d3 < d2);
        uint64_t da = d1 < d0 ? d1 : d0, db = d3 < d2 ? d3 : d2;
        const rx_timer_node *min = k + (db < da ? b : a);
        if ((d0 == d1) | (d2 == d3) | (da == db))
            min = heap + timers__min_slow(heap, c, c + 4);
        heap[i] = *min;
        slots[min->slot].link = (uint32_t)i;
        i = (size_t)(min - heap);
    }
    if (c < n) { /* a last, partial group: the children of its nodes lie past n */
        size_t m = timers__min_slow(heap, c, n);
        heap[i] = heap[m];
        slots[heap[m].slot].link = (uint32_t)i;
        i = m;
    }
    timers__up(heap, slots, i, node);
}

static void timers__remove(rx_timers *ts, uint32_t i)
{
    rx_timer_node last = ts->heap[--ts->len];
    if (i == ts->len)
        return;
    if (4 * (size_t)i + 1 >= ts->len) /* a leaf (most are): nothing to sink */
        timers__up(ts->heap, ts->slots, i, last);
    else
        timers__fill(ts, i, last);
}

/* Max-heap sift (binary, by (due, stamp)) for the sort in timers__renumber. */
static void timers__sort_down(rx_timer_node *heap, size_t i, size_t n)
{
    rx_timer_node x = heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && timers__before(heap[c], heap[c + 1]))
            c++;
        if (!timers__before(x, heap[c]))
            break;
        heap[i] = heap[c];
        i = c;
    }
    heap[i] = x;
}

/* Gives the live nodes stamps 0 .. len - 1 in their (due, stamp) order, so every comparison
 * comes out as before: heapsort the array in place (no allocation; a sorted array is a heap
 * too), then number it. Runs once per 2^32 stamps handed out. */
static void timers__renumber(rx_timers *ts)
{
    rx_timer_node *heap = ts->heap;
    size_t n = ts->len;
    for (size_t k = n / 2; k-- > 0;)
        timers__sort_down(heap, k, n);
    for (size_t end = n; end > 1;) {
        rx_timer_node top = heap[0];
        heap[0] = heap[--end];
        heap[end] = top;
        timers__sort_down(heap, 0, end);
    }
    for (size_t i = 0; i < n; i++) {
        heap[i].stamp = (uint32_t)i;
        ts->slots[heap[i].slot].link = (uint32_t)i;
    }
    ts->next_stamp = (uint32_t)n;
}

/* A stamp later than every live node's. */
static uint32_t timers__stamp(rx_timers *ts)
{
    if (ts->next_stamp == UINT32_MAX)
        timers__renumber(ts);
    return ts->next_stamp++;
}

static void timers__release(rx_timers *ts, uint32_t slot)
{
    rx_timer *t = &ts->slots[slot];
    t->gen++;
    if (t->gen == 0) /* keep IDs non-zero and distinct after wrap-around */
        t->gen = 1;
    t->link = RX_TIMER_FREE | ts->free_head;
    ts->free_head = slot + 1;
}

int rx_timers_start(rx_timers *ts, uint64_t due_ns, uint64_t repeat_ns, reactor_timer_cb cb,
                    void *arg, reactor_timer_t *out)
{
    uint32_t slot;
    if (ts->free_head) {
        slot = ts->free_head - 1;
        ts->free_head = ts->slots[slot].link & ~RX_TIMER_FREE;
    } else {
        if (ts->used >= ts->heap_cap) {
            int err = timers__grow(ts);
            if (err)
                return err;
        }
        slot = ts->used++;
        ts->slots[slot].gen = 1;
    }
    rx_timer *t = &ts->slots[slot];
    t->seq = ts->next_seq++;
    t->repeat_ns = repeat_ns;
    t->cb = cb;
    t->arg = arg;
    rx_timer_node node = {.due_ns = due_ns, .slot = slot, .stamp = timers__stamp(ts)};
    timers__up(ts->heap, ts->slots, ts->len++, node);
    *out = ((reactor_timer_t)t->gen << 32) | (slot + 1);
    return 0;
}

int rx_timers_stop(rx_timers *ts, reactor_timer_t id)
{
    uint64_t low = id & 0xFFFFFFFFu;
    if (low == 0 || low > ts->used)
        return REACTOR_EBADTIMER;
    uint32_t slot = (uint32_t)(low - 1);
    const rx_timer *t = &ts->slots[slot];
    if ((t->link & RX_TIMER_FREE) || t->gen != (uint32_t)(id >> 32))
        return REACTOR_EBADTIMER;
    timers__remove(ts, t->link);
    timers__release(ts, slot);
    return 0;
}

int rx_timers_expire(rx_timers *ts, uint64_t now_ns, uint64_t seq_limit, reactor_timer_t *id,
                     reactor_timer_cb *cb, void **arg)
{
    if (!ts->len)
        return 0;
    rx_timer_node top = ts->heap[0];
    if (top.due_ns > now_ns)
        return 0;
    rx_timer *t = &ts->slots[top.slot];
    if (t->seq >= seq_limit)
        return 0;
    *id = ((reactor_timer_t)t->gen << 32) | (top.slot + 1);
    *cb = t->cb;
    *arg = t->arg;
    if (t->repeat_ns) {
        uint64_t due = now_ns + t->repeat_ns;
        top.due_ns = due < now_ns ? UINT64_MAX : due;
        t->seq = ts->next_seq++;
        top.stamp = timers__stamp(ts); /* may renumber; the root stays at 0 */
        timers__fill(ts, 0, top);
    } else {
        timers__remove(ts, 0);
        timers__release(ts, top.slot);
    }
    /* The next expiry (usually within this pass) reads the new root's slot (40 bytes, on one
     * line or two), and its callback most likely reads arg: start loading them while this
     * callback runs. */
    if (ts->len) {
        const rx_timer *next = &ts->slots[ts->heap[0].slot];
        TIMERS__PREFETCH(next);
        TIMERS__PREFETCH((const char *)(next + 1) - 1);
        TIMERS__PREFETCH(next->arg);
    }
    return 1;
}
