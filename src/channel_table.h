/* channel_table.h - channel numbers 1..65534 mapped to dense records, with a generation per
 * number. Records swap-remove, so a record's address is NOT stable: never keep a pointer to one
 * across a call that can add or remove. Anything that outlives a call names a channel by ID. */
#ifndef RX_CHANNEL_TABLE_H
#define RX_CHANNEL_TABLE_H

#include "alloc.h"
#include "reactor.h"

#include <stdint.h>

#define RX_CHN_MAX 65534u

/* One lifetime of one channel: (generation << 16) | number. Never 0. */
typedef uint64_t rx_id;

static inline reactor_chn_t rx_id_chn(rx_id id)
{
    return (reactor_chn_t)(id & 0xFFFFu);
}

typedef struct rx_record {
    reactor_io_cb cb;
    void *arg;
    reactor_socket_t sock;
    reactor_chn_t chn;
    uint8_t events; /* requested: REACTOR_READABLE | REACTOR_WRITABLE */
    uint8_t pad;
} rx_record;

typedef struct rx_number {
    uint32_t gen; /* advances each time the number is released */
    uint16_t slot;
    uint16_t pad;
} rx_number;

/* Owns rec, num, gen_of and hash; rx_table_free releases them. */
typedef struct rx_table {
    rx_record *rec; /* dense, [0, count) */
    uint32_t count, cap;
    /* By number. A live number's slot is its record's slot; a released number's slot is the
     * next number in the FIFO of released numbers (0 ends it). */
    rx_number *num;
    uint32_t num_cap;
    uint32_t fresh; /* lowest number never handed out */
    uint16_t free_head, free_tail;
    uint16_t *hash; /* socket -> number, open addressing, 0 = empty */
    uint32_t hash_cap;
    rx_alloc *alloc;
} rx_table;

void rx_table_init(rx_table *t, rx_alloc *alloc);
void rx_table_free(rx_table *t);

/* Makes room for one more channel. 0, REACTOR_ENOSPC or REACTOR_ENOMEM; growth that happened
 * before a failure is kept as spare capacity only. */
int rx_table_reserve(rx_table *t);
/* The ID the next rx_table_add will hand out. Only after a successful rx_table_reserve. */
rx_id rx_table_next_id(const rx_table *t);
/* Commits a channel; cannot fail after rx_table_reserve. Returns its slot (== old count). */
uint32_t rx_table_add(rx_table *t, reactor_socket_t sock, unsigned events, reactor_io_cb cb,
                      void *arg);
/* Swap-removes slot: the last record moves into it. Releases the number (generation + 1). */
void rx_table_remove(rx_table *t, uint32_t slot);

/* Slot of a live number / of a registered socket, or -1. */
int32_t rx_table_find(const rx_table *t, reactor_chn_t chn);
int32_t rx_table_find_socket(const rx_table *t, reactor_socket_t sock);

/* Slot of a current ID, or -1. Inline: the loop runs it once per reported event. */
static inline int32_t rx_table_find_id(const rx_table *t, rx_id id)
{
    reactor_chn_t chn = rx_id_chn(id);
    if (chn >= t->num_cap)
        return -1;
    rx_number num = t->num[chn];
    /* A released number's slot field is a FIFO link, and number 0 or one never handed out has
     * slot 0: the record check tells them apart. */
    if (num.gen != (uint32_t)(id >> 16) || num.slot >= t->count || t->rec[num.slot].chn != chn)
        return -1;
    return (int32_t)num.slot;
}

static inline rx_id rx_table_id(const rx_table *t, uint32_t slot)
{
    reactor_chn_t chn = t->rec[slot].chn;
    return ((rx_id)t->num[chn].gen << 16) | chn;
}

#endif
