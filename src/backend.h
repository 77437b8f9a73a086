/* backend.h - the interface every backend fills: one const struct of function pointers.
 * A backend names channels by ID and slot, reports (ID, events) pairs into a sink, keeps no
 * pointer into the core's tables, and never calls the application. */
#ifndef RX_BACKEND_H
#define RX_BACKEND_H

#include "alloc.h"
#include "channel_table.h"
#include "reactor.h"

#include <stddef.h>
#include <stdint.h>

/* One readiness report: the ID in the low 48 bits, REACTOR_* events in the high 16 (8 bytes, so
 * the buffer costs 8 bytes per channel). */
typedef uint64_t rx_event;

static inline rx_id rx_event_id(rx_event e)
{
    return e & 0xFFFFFFFFFFFFull;
}

static inline unsigned rx_event_events(rx_event e)
{
    return (unsigned)(e >> 48);
}

struct epoll_event;

/* How a backend's poll fills the sink (rx_backend_ops.sink). */
typedef enum rx_sink_kind {
    RX_SINK_PAIRS = 0, /* rx_sink_push into ev: poll, AFD */
    /* epoll_wait writes straight into the sink (rx_sink_kev) and the loop reads the kernel's
     * entries there (data is the ID; src/posix/epoll.h decodes them): no copy, one pass from
     * the kernel's array to the callbacks. The backend only takes out the wake-up's entry. */
    RX_SINK_EPOLL = 1,
} rx_sink_kind;

/* Where poll reports; owned by the loop, which grows it with the table (an add in a callback
 * may move it: the loop re-reads it after every callback). cap >= the number of channels
 * registered (RX_SINK_EPOLL: + 1, the wake-up); a backend reports each channel at most once per
 * call. ev holds cap pairs, or for RX_SINK_EPOLL cap epoll_event entries (rx_sink_kev). */
typedef struct rx_sink {
    rx_event *ev;
    uint32_t n, cap;
    int woken;      /* set when a wake-up was consumed */
    uint64_t stale; /* reports the backend itself recognised as stale and dropped */
} rx_sink;

static inline struct epoll_event *rx_sink_kev(const rx_sink *sink)
{
    return (struct epoll_event *)(void *)sink->ev;
}

static inline void rx_sink_push(rx_sink *sink, rx_id id, unsigned events)
{
    sink->ev[sink->n++] = (id & 0xFFFFFFFFFFFFull) | ((rx_event)events << 48);
}

typedef struct rx_backend_ops {
    const char *name;
    rx_sink_kind sink;
    /* Creates the backend's state in *be (allocated through alloc). 0, ENOMEM or ESYS, or
     * ENOTSUP when the OS refuses the mechanism (AFD under old Wine or a sandbox), having
     * freed everything: the caller may then try another backend. */
    int (*init)(void **be, rx_alloc *alloc);
    /* Frees everything; may wait (bounded) for the kernel to let go of memory it holds. */
    void (*destroy)(void *be);
    /* Makes room for capacity channels (the table's capacity, which grows by doubling), so
     * that add cannot fail for want of memory there. Size to it exactly. (The sink is the
     * loop's: it grows before this is called.) */
    int (*reserve)(void *be, uint32_t capacity);
    /* Starts watching s for events as channel id, stored at dense slot `slot` (the end).
     * Checks the handle: REACTOR_EBADF for one the backend cannot watch (closed; on Windows
     * not a socket; for epoll a regular file). */
    int (*add)(void *be, uint32_t slot, rx_id id, reactor_socket_t s, unsigned events);
    /* Changes the requested events of the channel at slot. */
    int (*modify)(void *be, uint32_t slot, rx_id id, reactor_socket_t s, unsigned events);
    /* Stops watching; mirrors the core's swap-remove: the record at `last` moves to `slot`.
     * Cannot fail. */
    void (*remove)(void *be, uint32_t slot, uint32_t last, rx_id id, reactor_socket_t s);
    /* Waits up to timeout_ms (-1: forever) and reports. 0 or ESYS. An interrupted wait (EINTR)
     * returns 0 with nothing reported; the loop decides whether to wait again. */
    int (*poll)(void *be, int timeout_ms, rx_sink *sink);
    /* Wakes a blocked poll. Thread-safe. 0 or ESYS. */
    int (*wakeup)(void *be);
    /* Adds the backend's counters (stale completions, pending polls, pinned blocks). */
    void (*stats)(const void *be, reactor_stats_t *out);
    /* Optional (NULL when reports can never name a removed channel). Drops every watch so
     * the core can add the live channels again: for a kernel set that can keep a watch the
     * backend could not delete (epoll, after a close with a dup alive). 0 or ESYS. */
    int (*reset)(void *be);
    /* Optional (NULL: ENOTSUP). The descriptor (Windows: handle) a foreign loop can wait on. */
    int (*fd)(const void *be, intptr_t *out);
    /* Optional (NULL: ENOTSUP). In a forked child: a kernel set and a wake-up of its own, the
     * parent's left as they are (closing the child's copies of their descriptors is fine, a
     * change to a shared kernel set is not). The set starts empty: the core adds every channel
     * again. 0, ENOMEM or ESYS. */
    int (*fork)(void *be);
    /* Optional. The OS error (errno, WSA error or NTSTATUS) behind the backend's last ESYS or
     * EBADF, 0 if none is known. */
    int (*os_error)(const void *be);
} rx_backend_ops;

extern const rx_backend_ops rx_poll_ops; /* poll() on POSIX, WSAPoll on Windows */
#if defined(__linux__)
extern const rx_backend_ops rx_epoll_ops;
#endif
#if defined(_WIN32)
extern const rx_backend_ops rx_afd_ops;
#endif

/* Creates a loop on a given backend: reactor_create() and the tests' simulated backends. */
int rx_create_with(reactor_t **out, const reactor_options_t *opts, const rx_backend_ops *ops);
/* The same on `first`, and on `second` only when first's init says REACTOR_ENOTSUP (second may be
 * NULL). Any other error of first is returned as it is. */
int rx_create_fallback(reactor_t **out, const reactor_options_t *opts, const rx_backend_ops *first,
                       const rx_backend_ops *second);

#endif
