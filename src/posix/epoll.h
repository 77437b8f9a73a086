/* epoll.h - reading epoll_wait's own entries in place (RX_SINK_EPOLL): the loop dispatches
 * from the array the kernel wrote, so each entry's data is a channel ID (0: the wake-up, which
 * the backend takes out) and its events are mapped here, inline. Linux only. */
#ifndef RX_POSIX_EPOLL_H
#define RX_POSIX_EPOLL_H

#include "channel_table.h"
#include "reactor.h"

#include <stdint.h>
#include <sys/epoll.h>

_Static_assert(EPOLLIN == 0x001 && EPOLLOUT == 0x004 && EPOLLERR == 0x008 && EPOLLHUP == 0x010 &&
                   EPOLLRDHUP == 0x2000,
               "rx_epoll_events shifts the kernel's bits");
_Static_assert(REACTOR_READABLE == 1u && REACTOR_WRITABLE == 2u && REACTOR_HANGUP == 4u &&
                   REACTOR_ERROR == 8u && REACTOR_HALFCLOSE == 16u,
               "rx_epoll_events shifts into reactor.h's bits");

static inline rx_id rx_epoll_id(const struct epoll_event *e)
{
    return e->data.u64;
}

/* IN -> READABLE, OUT -> WRITABLE, ERR -> ERROR, HUP -> HANGUP, RDHUP -> HALFCLOSE: the five
 * low bits (PRI, bit 1, is never asked for) through a table, RDHUP shifted. */
static inline unsigned rx_epoll_events(const struct epoll_event *e)
{
    static const uint8_t low[32] = {0, 1, 0, 1, 2, 3, 2, 3, 8,  9,  8,  9,  10, 11, 10, 11,
                                    4, 5, 4, 5, 6, 7, 6, 7, 12, 13, 12, 13, 14, 15, 14, 15};
    uint32_t k = e->events;
    return low[k & 0x1Fu] | ((k & EPOLLRDHUP) >> 9);
}

#endif
