/* base_map.h - socket base handle -> the ID of the newest poll state on it (a live channel's,
 * or a removed channel's whose poll is still in the kernel). Open addressing with linear
 * probing; the backend keeps it at most half full. */
#ifndef RX_WIN_BASE_MAP_H
#define RX_WIN_BASE_MAP_H

#include "alloc.h"
#include "channel_table.h"

#include <stdint.h>

typedef struct rx_base_slot {
    uintptr_t base;
    rx_id id; /* 0: empty */
} rx_base_slot;

/* Owns slot; rx_base_map_free releases it. */
typedef struct rx_base_map {
    rx_base_slot *slot;
    uint32_t cap; /* a power of two, or 0 */
    uint32_t count;
} rx_base_map;

/* Makes room for n entries (at most half full). 0 or REACTOR_ENOMEM, nothing changed on
 * failure. */
int rx_base_map_reserve(rx_base_map *m, rx_alloc *a, uint32_t n);
void rx_base_map_free(rx_base_map *m, rx_alloc *a);
/* The ID stored for base, or 0. */
rx_id rx_base_map_get(const rx_base_map *m, uintptr_t base);
/* Stores id for base (id != 0); room must have been reserved. */
void rx_base_map_set(rx_base_map *m, uintptr_t base, rx_id id);
/* Forgets base if it maps to id. */
void rx_base_map_drop(rx_base_map *m, uintptr_t base, rx_id id);

#endif
