/* pinned_pool.c - blocks of RX_PIN_PER_BLOCK poll states from the loop's allocator, never
 * moved or resized. Each block counts its states in use; an emptied block is freed unless it is
 * the only spare. Free states are poisoned (in every build: 72 bytes per put and get) so a
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
    struct rx_pin_block *prev, *next; /* the pool's avail list, while a state is free */
    rx_pinned *free;
    uint32_t used;
    uint32_t in_avail;
    rx_pinned states[RX_PIN_PER_BLOCK];
} rx_pin_block;

#define POOL__BODY offsetof(rx_pinned, iosb)

static rx_pin_block *pool__block(rx_pinned *s)
{
    rx_pinned *first = s - s->index;
    return (rx_pin_block *)(void *)((unsigned char *)first - offsetof(rx_pin_block, states));
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
    b->prev = b->next = NULL;
    b->in_avail = 0;
}

static void pool__push_front(rx_pin_pool *p, rx_pin_block *b)
{
    b->prev = NULL;
    b->next = p->avail;
    if (p->avail)
        p->avail->prev = b;
    p->avail = b;
    b->in_avail = 1;
}

static void pool__push_back(rx_pin_pool *p, rx_pin_block *b)
{
    rx_pin_block *t = p->avail;
    if (!t) {
        pool__push_front(p, b);
        return;
    }
    while (t->next)
        t = t->next;
    t->next = b;
    b->prev = t;
    b->next = NULL;
    b->in_avail = 1;
}

void rx_pool_init(rx_pin_pool *p, rx_alloc *alloc)
{
    memset(p, 0, sizeof *p);
    p->alloc = alloc;
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
        s->index = (uint8_t)i;
        s->next = b->free;
        b->free = s;
        pool__poison(s);
    }
    p->blocks++;
    p->blocks_total++;
    p->empty++;
    pool__push_back(p, b);
    return 0;
}

rx_pinned *rx_pool_get(rx_pin_pool *p)
{
    if (rx_pool_reserve(p))
        return NULL;
    rx_pin_block *b = p->avail;
    rx_pinned *s = b->free;
    b->free = s->next;
    if (b->used++ == 0)
        p->empty--;
    if (!b->free)
        pool__unlink(p, b);
    if (!pool__intact(s))
        p->poison_hits++;
    pool__open(s);
    memset((unsigned char *)s + POOL__BODY, 0, sizeof *s - POOL__BODY);
    s->next = NULL;
    s->flags = s->events = s->pad = 0;
    s->armed = s->pad2 = 0;
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
    if (!b->in_avail)
        pool__push_front(p, b);
    if (--b->used > 0)
        return;
    if (p->empty >= 1) {
        pool__unlink(p, b);
        rx_free(p->alloc, b, sizeof *b);
        p->blocks--;
        return;
    }
    p->empty++;
    pool__unlink(p, b);
    pool__push_back(p, b);
}

uint64_t rx_pool_check(rx_pin_pool *p)
{
    uint64_t bad = 0;
    for (rx_pin_block *b = p->avail; b; b = b->next)
        for (rx_pinned *s = b->free; s; s = s->next)
            bad += !pool__intact(s);
    p->poison_hits += bad;
    return bad;
}

uint32_t rx_pool_free(rx_pin_pool *p)
{
    rx_pin_block *b = p->avail;
    while (b) {
        rx_pin_block *next = b->next;
        if (b->used == 0) {
            pool__unlink(p, b);
            rx_free(p->alloc, b, sizeof *b);
            p->blocks--;
            p->empty--;
        }
        b = next;
    }
    return p->blocks;
}
