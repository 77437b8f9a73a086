/* base_map.c - the base-handle map: linear probing, backward-shift deletion (no tombstones),
 * Fibonacci hashing of the handle value (handles are multiples of 4). */
#include "base_map.h"

#include <assert.h>
#include <string.h>

static uint32_t map__home(const rx_base_map *m, uintptr_t base)
{
    return (uint32_t)(((uint64_t)base * 0x9E3779B97F4A7C15ull) >> 32) & (m->cap - 1);
}

static uint32_t map__find(const rx_base_map *m, uintptr_t base)
{
    uint32_t i = map__home(m, base);
    while (m->slot[i].id && m->slot[i].base != base)
        i = (i + 1) & (m->cap - 1);
    return i;
}

int rx_base_map_reserve(rx_base_map *m, rx_alloc *a, uint32_t n)
{
    if ((uint64_t)n * 2 <= m->cap)
        return 0;
    uint32_t cap = m->cap ? m->cap : 16;
    while ((uint64_t)cap < (uint64_t)n * 2)
        cap *= 2;
    rx_base_slot *slot = rx_malloc(a, (size_t)cap * sizeof *slot);
    if (!slot)
        return REACTOR_ENOMEM;
    memset(slot, 0, (size_t)cap * sizeof *slot);
    rx_base_map old = *m;
    m->slot = slot;
    m->cap = cap;
    for (uint32_t i = 0; i < old.cap; i++)
        if (old.slot[i].id)
            m->slot[map__find(m, old.slot[i].base)] = old.slot[i];
    rx_free(a, old.slot, (size_t)old.cap * sizeof *old.slot);
    return 0;
}

void rx_base_map_free(rx_base_map *m, rx_alloc *a)
{
    rx_free(a, m->slot, (size_t)m->cap * sizeof *m->slot);
    memset(m, 0, sizeof *m);
}

rx_id rx_base_map_get(const rx_base_map *m, uintptr_t base)
{
    return m->cap ? m->slot[map__find(m, base)].id : 0;
}

void rx_base_map_set(rx_base_map *m, uintptr_t base, rx_id id)
{
    assert(id && (uint64_t)(m->count + 1) * 2 <= m->cap);
    uint32_t i = map__find(m, base);
    m->count += !m->slot[i].id;
    m->slot[i].base = base;
    m->slot[i].id = id;
}

void rx_base_map_drop(rx_base_map *m, uintptr_t base, rx_id id)
{
    if (!m->cap)
        return;
    uint32_t i = map__find(m, base);
    if (m->slot[i].id != id)
        return;
    /* Shift back every later entry of the run that may sit there, so lookups stay exact. */
    for (uint32_t j = (i + 1) & (m->cap - 1); m->slot[j].id; j = (j + 1) & (m->cap - 1)) {
        uint32_t home = map__home(m, m->slot[j].base);
        if (((j - home) & (m->cap - 1)) >= ((j - i) & (m->cap - 1))) {
            m->slot[i] = m->slot[j];
            i = j;
        }
    }
    m->slot[i].id = 0;
    m->count--;
}
