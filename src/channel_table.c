/* channel_table.c - dense records, number index, generations, FIFO number reuse, and a
 * socket -> number hash for REACTOR_EEXIST. Removal never allocates, so it cannot fail. */
#include "channel_table.h"

#include <string.h>

#define TABLE__MIN_CAP 16u

void rx_table_init(rx_table *t, rx_alloc *alloc)
{
    memset(t, 0, sizeof *t);
    t->fresh = 1;
    t->alloc = alloc;
}

void rx_table_free(rx_table *t)
{
    rx_alloc *alloc = t->alloc;
    rx_free(alloc, t->rec, (size_t)t->cap * sizeof *t->rec);
    rx_free(alloc, t->num, (size_t)t->num_cap * sizeof *t->num);
    rx_free(alloc, t->hash, (size_t)t->hash_cap * sizeof *t->hash);
    rx_table_init(t, alloc);
}

static uint32_t table__hash(reactor_socket_t sock, uint32_t mask)
{
    uint64_t h = (uint64_t)sock * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> 40) & mask;
}

static void table__hash_put(uint16_t *hash, uint32_t cap, reactor_socket_t sock, reactor_chn_t chn)
{
    uint32_t mask = cap - 1;
    uint32_t i = table__hash(sock, mask);
    while (hash[i])
        i = (i + 1) & mask;
    hash[i] = chn;
}

static int table__rehash(rx_table *t, uint32_t cap)
{
    uint16_t *h = rx_malloc(t->alloc, (size_t)cap * sizeof *h);
    if (!h)
        return REACTOR_ENOMEM;
    memset(h, 0, (size_t)cap * sizeof *h);
    for (uint32_t s = 0; s < t->count; s++)
        table__hash_put(h, cap, t->rec[s].sock, t->rec[s].chn);
    rx_free(t->alloc, t->hash, (size_t)t->hash_cap * sizeof *t->hash);
    t->hash = h;
    t->hash_cap = cap;
    return 0;
}

int rx_table_reserve(rx_table *t)
{
    if (t->count >= RX_CHN_MAX)
        return REACTOR_ENOSPC;
    /* Room already (every add but those that double an array): no call, no empty memset. */
    if (t->count < t->cap && t->num_cap > t->cap && (t->count + 1) * 2 <= t->hash_cap)
        return 0;
    int err = rx_grow(t->alloc, (void **)&t->rec, &t->cap, t->count + 1, sizeof *t->rec,
                      TABLE__MIN_CAP);
    if (err)
        return err;
    /* Numbers in use never exceed cap, so the by-number array (index 0 unused) needs cap + 1
     * entries: it follows the records' doubling exactly. */
    uint32_t old = t->num_cap;
    err = rx_resize(t->alloc, (void **)&t->num, &t->num_cap, t->cap + 1, sizeof *t->num);
    if (err)
        return err;
    memset(t->num + old, 0, (size_t)(t->num_cap - old) * sizeof *t->num);
    if ((t->count + 1) * 2 > t->hash_cap)
        return table__rehash(t, t->hash_cap ? t->hash_cap * 2 : TABLE__MIN_CAP * 2);
    return 0;
}

static reactor_chn_t table__next_chn(const rx_table *t)
{
    return t->free_head ? t->free_head : (reactor_chn_t)t->fresh;
}

rx_id rx_table_next_id(const rx_table *t)
{
    reactor_chn_t chn = table__next_chn(t);
    return ((rx_id)t->num[chn].gen << 16) | chn;
}

uint32_t rx_table_add(rx_table *t, reactor_socket_t sock, unsigned events, reactor_io_cb cb,
                      void *arg)
{
    reactor_chn_t chn = table__next_chn(t);
    if (t->free_head) {
        t->free_head = t->num[chn].slot;
        if (!t->free_head)
            t->free_tail = 0;
    } else {
        t->fresh++;
    }
    uint32_t slot = t->count++;
    rx_record *rec = &t->rec[slot];
    rec->cb = cb;
    rec->arg = arg;
    rec->sock = sock;
    rec->chn = chn;
    rec->events = (uint8_t)events;
    rec->pad = 0;
    t->num[chn].slot = (uint16_t)slot;
    table__hash_put(t->hash, t->hash_cap, sock, chn);
    return slot;
}

/* Deletes sock's entry by backward shift, so no tombstones accumulate under churn. */
static void table__hash_del(rx_table *t, reactor_socket_t sock)
{
    uint32_t mask = t->hash_cap - 1;
    uint32_t i = table__hash(sock, mask);
    while (t->rec[t->num[t->hash[i]].slot].sock != sock)
        i = (i + 1) & mask;
    for (uint32_t j = (i + 1) & mask; t->hash[j]; j = (j + 1) & mask) {
        reactor_socket_t s = t->rec[t->num[t->hash[j]].slot].sock;
        uint32_t home = table__hash(s, mask);
        /* Entry j may fill the hole at i unless its home lies cyclically in (i, j]. */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            t->hash[i] = t->hash[j];
            i = j;
        }
    }
    t->hash[i] = 0;
}

void rx_table_remove(rx_table *t, uint32_t slot)
{
    reactor_chn_t chn = t->rec[slot].chn;
    table__hash_del(t, t->rec[slot].sock);
    uint32_t last = --t->count;
    if (slot != last) {
        t->rec[slot] = t->rec[last];
        t->num[t->rec[slot].chn].slot = (uint16_t)slot;
    }
    t->num[chn].gen++;
    t->num[chn].slot = 0;
    if (t->free_tail)
        t->num[t->free_tail].slot = chn;
    else
        t->free_head = chn;
    t->free_tail = chn;
}

int32_t rx_table_find(const rx_table *t, reactor_chn_t chn)
{
    if (chn == 0 || chn >= t->fresh)
        return -1;
    uint32_t slot = t->num[chn].slot;
    /* A released number's slot field is a FIFO link; the record check tells them apart. */
    if (slot >= t->count || t->rec[slot].chn != chn)
        return -1;
    return (int32_t)slot;
}

int32_t rx_table_find_socket(const rx_table *t, reactor_socket_t sock)
{
    if (!t->hash_cap)
        return -1;
    uint32_t mask = t->hash_cap - 1;
    for (uint32_t i = table__hash(sock, mask); t->hash[i]; i = (i + 1) & mask) {
        uint32_t slot = t->num[t->hash[i]].slot;
        if (t->rec[slot].sock == sock)
            return (int32_t)slot;
    }
    return -1;
}
