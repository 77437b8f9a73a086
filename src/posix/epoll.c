/* epoll.c - the epoll backend (Linux): level-triggered, O(ready) per wait. Each registration's
 * epoll_event.data holds the channel ID, never a pointer; data 0 (never a valid ID) is the
 * wake-up eventfd, and EPOLL__PARKED a removed channel's watch (epoll__remove). Only add, modify
 * and remove call epoll_ctl; a wait calls epoll_wait only, into the loop's sink, where the loop
 * reads the entries as the kernel wrote them (epoll.h). */
#define _GNU_SOURCE
#include "backend.h"
#include "epoll.h"
#include "wakeup.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

typedef struct epoll__state {
    rx_alloc *alloc;
    int epfd;
    rx_wakeup wake;
    int os_error; /* errno of the last failure */
} epoll__state;

/* The data of a parked watch (epoll__remove): never a channel ID (its number would be 0xFFFF),
 * nor the wake-up's 0. */
#define EPOLL__PARKED UINT64_MAX

static uint32_t epoll__mask(unsigned events)
{
    uint32_t m = 0;
    if (events & REACTOR_READABLE)
        m |= EPOLLIN;
    if (events & REACTOR_WRITABLE)
        m |= EPOLLOUT;
    if (events & REACTOR_HALFCLOSE)
        m |= EPOLLRDHUP; /* level-triggered: asked for only by whoever wants to hear it */
    return m;
}

/* ENOSPC (max_user_watches) is the kernel's limit, not the channel table's: ESYS. */
static int epoll__error(epoll__state *p, int e)
{
    p->os_error = e;
    switch (e) {
    case EBADF:
    case EPERM: /* a regular file or a descriptor epoll cannot watch */
        return REACTOR_EBADF;
    case ENOMEM:
        return REACTOR_ENOMEM;
    default:
        return REACTOR_ESYS;
    }
}

/* A new epoll set holding only the wake-up eventfd, or -1. Edge-triggered: every write to an
 * eventfd is an edge, even while its counter is non-zero, so the counter is never read back and
 * a wake-up costs the loop no read(). (It cannot wrap: 2^64 - 2 wake-ups.) */
static int epoll__new_set(const rx_wakeup *wake)
{
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0)
        return -1;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = 0};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, wake->rfd, &ev) != 0) {
        close(epfd);
        return -1;
    }
    return epfd;
}

static int epoll__init(void **out, rx_alloc *alloc)
{
    epoll__state *p = rx_malloc(alloc, sizeof *p);
    if (!p)
        return REACTOR_ENOMEM;
    memset(p, 0, sizeof *p);
    p->alloc = alloc;
    p->epfd = -1;
    int err = rx_wakeup_open(&p->wake);
    if (err)
        goto fail_wake;
    p->epfd = epoll__new_set(&p->wake);
    if (p->epfd < 0) {
        err = REACTOR_ESYS;
        goto fail_epfd;
    }
    *out = p;
    return 0;
fail_epfd:
    rx_wakeup_close(&p->wake);
fail_wake:
    rx_free(alloc, p, sizeof *p);
    return err;
}

static void epoll__destroy(void *be)
{
    epoll__state *p = be;
    rx_wakeup_close(&p->wake);
    close(p->epfd);
    rx_free(p->alloc, p, sizeof *p);
}

/* Nothing per channel: the kernel keeps the watches, the loop's sink is epoll_wait's array. */
static int epoll__reserve(void *be, uint32_t capacity)
{
    (void)be;
    (void)capacity;
    return 0;
}

static int epoll__add(void *be, uint32_t slot, rx_id id, reactor_socket_t s, unsigned events)
{
    epoll__state *p = be;
    (void)slot;
    struct epoll_event ev = {.events = epoll__mask(events), .data.u64 = id};
    if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, s, &ev) == 0)
        return 0;
    /* EEXIST: no live channel has s (the table checked), so this open file is still in the set,
     * parked by an earlier reactor_remove (epoll__remove): arm it again under the new ID. Unless
     * s is the loop's own eventfd (an application bug): that stays the wake-up. */
    if (errno == EEXIST && s != p->wake.rfd && epoll_ctl(p->epfd, EPOLL_CTL_MOD, s, &ev) == 0)
        return 0;
    return epoll__error(p, errno);
}

static int epoll__modify(void *be, uint32_t slot, rx_id id, reactor_socket_t s, unsigned events)
{
    epoll__state *p = be;
    (void)slot;
    struct epoll_event ev = {.events = epoll__mask(events), .data.u64 = id};
    if (epoll_ctl(p->epfd, EPOLL_CTL_MOD, s, &ev) != 0)
        return epoll__error(p, errno);
    return 0;
}

/* Parks the watch instead of deleting it: one-shot with no events asked for, and data that
 * names no channel. The kernel still adds ERR and HUP, so a parked watch reports at most once
 * (a peer's close or reset) and is then disarmed; epoll__poll drops that report. Re-adding the
 * same open file later is an EEXIST and a MOD (epoll__add), ~1.5 us cheaper on this VM than
 * DEL + ADD; closing it removes the watch (the close's own work, as a DEL would have).
 *
 * Parking is as safe as deleting: epoll watches the open file, not the number. If the
 * application then closes s while a dup (a child, an SCM_RIGHTS copy) keeps the file open, a
 * deleted watch is gone and a parked one stays, but silent (one report at most, dropped) and
 * with no rebuild of the set. Only a descriptor closed before reactor_remove defeats both (this
 * call then fails): its watch keeps its old ID, and the loop rebuilds the set if it reports. */
static void epoll__remove(void *be, uint32_t slot, uint32_t last, rx_id id, reactor_socket_t s)
{
    epoll__state *p = be;
    (void)slot;
    (void)last;
    (void)id;
    struct epoll_event ev = {.events = EPOLLONESHOT, .data.u64 = EPOLL__PARKED};
    (void)epoll_ctl(p->epfd, EPOLL_CTL_MOD, s, &ev);
}

static int epoll__fd(const void *be, intptr_t *out)
{
    *out = ((const epoll__state *)be)->epfd;
    return 0;
}

static int epoll__os_error(const void *be)
{
    return ((const epoll__state *)be)->os_error;
}

/* In a forked child: the epoll set and the eventfd are shared with the parent, so a change to
 * either would reach it. New ones; the child's copies of the old descriptors are closed. */
static int epoll__fork(void *be)
{
    epoll__state *p = be;
    rx_wakeup wake;
    if (rx_wakeup_open(&wake) != 0) {
        p->os_error = errno;
        return REACTOR_ESYS;
    }
    int epfd = epoll__new_set(&wake);
    if (epfd < 0) {
        p->os_error = errno;
        rx_wakeup_close(&wake);
        return REACTOR_ESYS;
    }
    rx_wakeup_close(&p->wake);
    close(p->epfd);
    p->wake = wake;
    p->epfd = epfd;
    return 0;
}

static int epoll__reset(void *be)
{
    epoll__state *p = be;
    int epfd = epoll__new_set(&p->wake);
    if (epfd < 0) {
        p->os_error = errno;
        return REACTOR_ESYS;
    }
    close(p->epfd);
    p->epfd = epfd;
    return 0;
}

static int epoll__poll(void *be, int timeout_ms, rx_sink *sink)
{
    epoll__state *p = be;
    struct epoll_event *ev = rx_sink_kev(sink);
    int n = epoll_wait(p->epfd, ev, (int)sink->cap, timeout_ms);
    if (n < 0) {
        if (errno == EINTR)
            return 0;
        p->os_error = errno;
        return REACTOR_ESYS;
    }
    /* The entries stay as the kernel wrote them, in its order; only the wake-up's and a parked
     * watch's last report are taken out. A channel ID is below 2^48, so as a signed number it
     * is positive and those two (0, all ones) are not: one test per entry until the first. */
    int k = 0;
    while (k < n && (int64_t)ev[k].data.u64 > 0)
        k++;
    for (int i = k; i < n; i++) {
        uint64_t d = ev[i].data.u64;
        if (d == 0)
            sink->woken = 1;
        else if (d == EPOLL__PARKED)
            sink->stale++;
        else
            ev[k++] = ev[i];
    }
    n = k;
    sink->n = (uint32_t)n;
    return 0;
}

static int epoll__wakeup(void *be)
{
    epoll__state *p = be;
    return rx_wakeup_signal(&p->wake);
}

const rx_backend_ops rx_epoll_ops = {
    .name = "epoll",
    .sink = RX_SINK_EPOLL,
    .init = epoll__init,
    .destroy = epoll__destroy,
    .reserve = epoll__reserve,
    .add = epoll__add,
    .modify = epoll__modify,
    .remove = epoll__remove,
    .poll = epoll__poll,
    .wakeup = epoll__wakeup,
    .stats = NULL,
    .reset = epoll__reset,
    .fd = epoll__fd,
    .fork = epoll__fork,
    .os_error = epoll__os_error,
};
