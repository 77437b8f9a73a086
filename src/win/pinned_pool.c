/* pinned_pool.c - blocks of RX_PIN_PER_BLOCK poll states from the loop's allocator, never
 * moved or resized. A block is a poll group: it owns one \Device\Afd helper handle, opened when
 * it first hands out a state and closed when it is freed, so no helper carries more than
 * RX_PIN_PER_BLOCK polls. Each block counts its states in use; an emptied block is freed unless
 * it is the only spare. Free states are poisoned (in every build: 72 bytes per put and get) so a
 * late kernel write shows; under ASan (or valgrind, with RX_PIN_MEMCHECK) they are also
 * unaddressable, so the write itself is reported. */
#include "pinned_pool.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define POOL__ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOL__ASAN 1
#endif
#endif
#if defined(POOL__ASAN)
#include <sanitizer/asan_interface.h>
#endif
#if defined(RX_PIN_MEMCHECK)
#include <valgrind/memcheck.h>
#endif

#define POOL__POISON 0xDB

/* Owned by its pool: allocated in rx_pool_reserve/get, freed when emptied beyond the spare or
 * by rx_pool_free. */
typedef struct rx_pin_block {
    struct rx_pin_block *prev, *next;         /* the pool's avail list, while a state is free */
    struct rx_pin_block *all_prev, *all_next; /* every block of the pool */
    rx_pinned *free;
    uintptr_t helper; /* the group's \Device\Afd handle; 0 until the first state is handed out */
    uint32_t used;
    uint32_t in_avail;
    rx_pinned states[RX_PIN_PER_BLOCK];
} rx_pin_block;

#define POOL__BODY offsetof(rx_pinned, iosb)

static rx_pin_block *pool__block(const rx_pinned *s)
{
    const rx_pinned *first = s - s->index;
    return (rx_pin_block *)(void *)((unsigned char *)(uintptr_t)first -
                                    offsetof(rx_pin_block, states));
}

/* A free state's body is closed to everyone but the pool: the kernel may not write it. */
static void pool__close(rx_pinned *s)
{
    unsigned char *b = (unsigned char *)s + POOL__BODY;
    (void)b;
#if defined(POOL__ASAN)
    ASAN_POISON_MEMORY_REGION(b, sizeof *s - POOL__BODY);
#endif
#if defined(RX_PIN_MEMCHECK)
    (void)VALGRIND_MAKE_MEM_NOACCESS(b, sizeof *s - POOL__BODY);
#endif
}

static void pool__open(rx_pinned *s)
{
    unsigned char *b = (unsigned char *)s + POOL__BODY;
    (void)b;
#if defined(POOL__ASAN)
    ASAN_UNPOISON_MEMORY_REGION(b, sizeof *s - POOL__BODY);
#endif
#if defined(RX_PIN_MEMCHECK)
    (void)VALGRIND_MAKE_MEM_DEFINED(b, sizeof *s - POOL__BODY);
#endif
}

static void pool__poison(rx_pinned *s)
{
    memset((unsigned char *)s + POOL__BODY, POOL__POISON, sizeof *s - POOL__BODY);
    pool__close(s);
}

/* Whether a free state still holds its poison; it stays closed. */
static int pool__intact(rx_pinned *s)
{
    pool__open(s);
    const unsigned char *b = (const unsigned char *)s + POOL__BODY;
    int ok = 1;
    for (size_t i = 0; i < sizeof *s - POOL__BODY && ok; i++)
        ok = b[i] == POOL__POISON;
    pool__close(s);
    return ok;
}

static void pool__unlink(rx_pin_pool *p, rx_pin_block *b)
{
    if (b->prev)
        b->prev->next = b->next;
    else
        p->avail = b->next;
    if (b->next)
        b->next->prev = b->prev;
    else
        p->tail = b->prev;
    b->prev = b->next = NULL;
    b->in_avail = 0;
}

static void pool__push_front(rx_pin_pool *p, rx_pin_block *b)
{
    b->prev = NULL;
    b->next = p->avail;
    if (p->avail)
        p->avail->prev = b;
    else
        p->tail = b;
    p->avail = b;
    b->in_avail = 1;
}

static void pool__push_back(rx_pin_pool *p, rx_pin_block *b)
{
    b->next = NULL;
    b->prev = p->tail;
    if (p->tail)
        p->tail->next = b;
    else
        p->avail = b;
    p->tail = b;
    b->in_avail = 1;
}

static void pool__release(rx_pin_pool *p, rx_pin_block *b)
{
    if (b->in_avail)
        pool__unlink(p, b);
    if (b->all_prev)
        b->all_prev->all_next = b->all_next;
    else
        p->all = b->all_next;
    if (b->all_next)
        b->all_next->all_prev = b->all_prev;
    if (b->helper) {
        p->k->handle_close(b->helper);
        p->helpers--;
    }
    rx_free(p->alloc, b, sizeof *b);
    p->blocks--;
}

void rx_pool_init(rx_pin_pool *p, rx_alloc *alloc, const rx_afd_kernel *k, uintptr_t port,
                  uintptr_t key)
{
    memset(p, 0, sizeof *p);
    p->alloc = alloc;
    p->k = k;
    p->port = port;
    p->key = key;
}

int rx_pool_reserve(rx_pin_pool *p)
{
    if (p->avail)
        return 0;
    rx_pin_block *b = rx_malloc(p->alloc, sizeof *b);
    if (!b)
        return REACTOR_ENOMEM;
    memset(b, 0, sizeof *b);
    for (uint32_t i = RX_PIN_PER_BLOCK; i-- > 0;) {
        rx_pinned *s = &b->states[i];
        s->index = i;
        s->next = b->free;
        b->free = s;
        pool__poison(s);
    }
    b->all_next = p->all;
    if (p->all)
        p->all->all_prev = b;
    p->all = b;
    p->blocks++;
    p->blocks_total++;
    p->empty++;
    pool__push_back(p, b);
    return 0;
}

rx_pinned *rx_pool_get(rx_pin_pool *p, int *err, int32_t *status)
{
    if ((*err = rx_pool_reserve(p)) != 0)
        return NULL;
    rx_pin_block *b = p->avail;
    if (!b->helper) {
        int32_t st = p->k->helper_open(p->port, p->key, &b->helper);
        if (st != RX_STATUS_SUCCESS) {
            b->helper = 0;
            *status = st;
            *err = REACTOR_ESYS;
            return NULL;
        }
        p->helpers++;
    }
    rx_pinned *s = b->free;
    b->free = s->next;
    if (b->used++ == 0)
        p->empty--;
    if (!b->free)
        pool__unlink(p, b);
    for (uint32_t i = 0; i < RX_PIN_RECENT; i++)
        if (p->recent[i] == s)
            p->recent[i] = NULL;
    if (!pool__intact(s))
        p->poison_hits++;
    pool__open(s);
    memset((unsigned char *)s + POOL__BODY, 0, sizeof *s - POOL__BODY);
    s->next = NULL;
    s->flags = s->events = 0;
    s->armed = 0;
    p->in_use++;
    return s;
}

void rx_pool_put(rx_pin_pool *p, rx_pinned *s)
{
    rx_pin_block *b = pool__block(s);
    assert(!(s->flags & RX_PIN_PENDING));
    pool__poison(s);
    s->next = b->free;
    b->free = s;
    p->in_use--;
    p->recent[p->recent_at++ % RX_PIN_RECENT] = s;
    if (!b->in_avail)
        pool__push_front(p, b);
    if (--b->used > 0)
        return;
    if (p->empty >= 1) {
        for (uint32_t i = 0; i < RX_PIN_RECENT; i++)
            if (p->recent[i] && pool__block(p->recent[i]) == b)
                p->recent[i] = NULL;
        pool__release(p, b);
        return;
    }
    /* The spare keeps its helper: a loop that hovers at a group boundary does not reopen it. */
    p->empty++;
    pool__unlink(p, b);
    pool__push_back(p, b);
}

uintptr_t rx_pool_helper(const rx_pinned *s)
{
    return pool__block(s)->helper;
}

void rx_pool_cancel_all(rx_pin_pool *p)
{
    for (rx_pin_block *b = p->all; b; b = b->all_next)
        if (b->helper && b->used)
            (void)p->k->cancel(b->helper, NULL);
}

void rx_pool_close_helpers(rx_pin_pool *p)
{
    for (rx_pin_block *b = p->all; b; b = b->all_next)
        if (b->helper) {
            p->k->handle_close(b->helper);
            b->helper = 0;
            p->helpers--;
        }
}

uint64_t rx_pool_check_recent(rx_pin_pool *p)
{
    uint64_t bad = 0;
    for (uint32_t i = 0; i < RX_PIN_RECENT; i++)
        if (p->recent[i])
            bad += !pool__intact(p->recent[i]);
    p->poison_hits += bad;
    return bad;
}

uint64_t rx_pool_check(rx_pin_pool *p)
{
    uint64_t bad = 0;
    for (rx_pin_block *b = p->all; b; b = b->all_next)
        for (rx_pinned *s = b->free; s; s = s->next)
            bad += !pool__intact(s);
    p->poison_hits += bad;
    return bad;
}

uint32_t rx_pool_free(rx_pin_pool *p)
{
    memset(p->recent, 0, sizeof p->recent);
    for (rx_pin_block *b = p->all, *next; b; b = next) {
        next = b->all_next;
        if (b->used == 0) {
            p->empty--;
            pool__release(p, b);
        }
    }
    return p->blocks;
}
