/* poll.c - the poll backend: poll() on POSIX, WSAPoll on Windows (the differences are in
 * poll_os.h). pfd[0] is the wake-up socket; pfd[slot + 1] is the channel at dense slot `slot`,
 * kept in step with the core's records (same swap-remove), so an iteration hands the kernel the
 * array as it stands: no rebuild, no allocation. */
#define _GNU_SOURCE
#include "backend.h"
#include "poll_os.h"
#include "wakeup.h"

#include <string.h>

/* Owns pfd and ids (through alloc) and the wake-up pair; poll__destroy frees them. */
typedef struct poll__state {
    rx_alloc *alloc;
    rx_wakeup wake;
    rx_pollfd *pfd; /* [0] wake-up, [1..count] channels */
    rx_id *ids;     /* ids[slot], with POLL__HALF when HALFCLOSE is asked for */
    uint32_t count;
    uint32_t pfd_cap, ids_cap;
    int os_error; /* errno or WSA error of the last failure */
} poll__state;

/* An ID uses the low 48 bits: the top one says the channel asked for HALFCLOSE, which WSAPoll's
 * event mask cannot say (it has no POLLRDHUP). */
#define POLL__HALF ((rx_id)1 << 63)

static short poll__mask(unsigned events)
{
    short m = 0;
    if (events & REACTOR_READABLE)
        m |= POLLIN;
    if (events & REACTOR_WRITABLE)
        m |= POLLOUT;
#ifdef POLLRDHUP
    if (events & REACTOR_HALFCLOSE)
        m |= POLLRDHUP; /* level-triggered: asked for only by whoever wants to hear it */
#endif
    return m;
}

/* The REACTOR_* events revents means, kept to what the entry asked for (and HANGUP, ERROR). */
static unsigned poll__events(short revents, short requested, int half)
{
    unsigned ev = 0;
    if (revents & POLLIN)
        ev |= REACTOR_READABLE;
    if (revents & POLLOUT)
        ev |= REACTOR_WRITABLE;
    if (revents & POLLHUP) {
        /* WSAPoll says POLLHUP for the peer's FIN alone, and a reset adds POLLERR; POSIX says
         * it when both directions are closed. */
        if (!RX_POLL_OS_HUP_ON_HALF_CLOSE || (revents & POLLERR))
            ev |= REACTOR_HANGUP;
        else
            ev |= REACTOR_HALFCLOSE | REACTOR_READABLE; /* the FIN: end of stream reads as 0 */
    }
#ifdef POLLRDHUP
    if (revents & POLLRDHUP)
        ev |= REACTOR_HALFCLOSE;
#endif
    if (revents & (POLLERR | POLLNVAL))
        ev |= REACTOR_ERROR;
    unsigned want = REACTOR_HANGUP | REACTOR_ERROR | (half ? REACTOR_HALFCLOSE : 0u);
    if (requested & POLLIN)
        want |= REACTOR_READABLE;
    if (requested & POLLOUT)
        want |= REACTOR_WRITABLE;
    return ev & want;
}

static rx_id poll__tag(rx_id id, unsigned events)
{
    return (events & REACTOR_HALFCLOSE) ? id | POLL__HALF : id;
}

static int poll__init(void **out, rx_alloc *alloc)
{
    poll__state *p = rx_malloc(alloc, sizeof *p);
    if (!p)
        return REACTOR_ENOMEM;
    memset(p, 0, sizeof *p);
    p->alloc = alloc;
    int err = rx_resize(alloc, (void **)&p->pfd, &p->pfd_cap, 1, sizeof *p->pfd);
    if (!err)
        err = rx_wakeup_open(&p->wake);
    if (err) {
        rx_free(alloc, p->pfd, (size_t)p->pfd_cap * sizeof *p->pfd);
        rx_free(alloc, p, sizeof *p);
        return err;
    }
    rx_poll_os_set(&p->pfd[0], p->wake.rfd, POLLIN);
    *out = p;
    return 0;
}

static void poll__destroy(void *be)
{
    poll__state *p = be;
    rx_wakeup_close(&p->wake);
    rx_free(p->alloc, p->pfd, (size_t)p->pfd_cap * sizeof *p->pfd);
    rx_free(p->alloc, p->ids, (size_t)p->ids_cap * sizeof *p->ids);
    rx_free(p->alloc, p, sizeof *p);
}

static int poll__reserve(void *be, uint32_t capacity)
{
    poll__state *p = be;
    int err = rx_resize(p->alloc, (void **)&p->pfd, &p->pfd_cap, capacity + 1, sizeof *p->pfd);
    if (!err)
        err = rx_resize(p->alloc, (void **)&p->ids, &p->ids_cap, capacity, sizeof *p->ids);
    return err;
}

static int poll__add(void *be, uint32_t slot, rx_id id, reactor_socket_t s, unsigned events)
{
    poll__state *p = be;
    if (!rx_poll_os_is_socket(s)) {
        p->os_error = rx_poll_os_error();
        return REACTOR_EBADF;
    }
    rx_poll_os_set(&p->pfd[slot + 1], s, poll__mask(events));
    p->ids[slot] = poll__tag(id, events);
    p->count = slot + 1;
    return 0;
}

static int poll__modify(void *be, uint32_t slot, rx_id id, reactor_socket_t s, unsigned events)
{
    poll__state *p = be;
    /* Also re-arms an entry that poll__poll parked. */
    rx_poll_os_set(&p->pfd[slot + 1], s, poll__mask(events));
    p->ids[slot] = poll__tag(id, events);
    return 0;
}

static void poll__remove(void *be, uint32_t slot, uint32_t last, rx_id id, reactor_socket_t s)
{
    poll__state *p = be;
    (void)id;
    (void)s;
    p->pfd[slot + 1] = p->pfd[last + 1];
    p->ids[slot] = p->ids[last];
    p->count = last;
}

static int poll__poll(void *be, int timeout_ms, rx_sink *sink)
{
    poll__state *p = be;
    int interrupted;
    int n = rx_poll_os_wait(p->pfd, p->count + 1, timeout_ms, &interrupted);
    if (n < 0) {
        if (interrupted)
            return 0;
        p->os_error = rx_poll_os_error();
        return REACTOR_ESYS;
    }
    /* n: how many entries may have revents; the wake-up entry is one of them. */
    if (n > 0 && p->pfd[0].revents) {
        rx_wakeup_drain(&p->wake);
        sink->woken = 1;
        n--;
    }
    for (uint32_t i = 1; n > 0 && i <= p->count; i++) {
        short re = p->pfd[i].revents;
        if (!re)
            continue;
        n--;
        if (rx_poll_os_parked(&p->pfd[i], &p->wake))
            continue;
        unsigned ev = poll__events(re, p->pfd[i].events, (p->ids[i - 1] & POLL__HALF) != 0);
        /* POLLNVAL: closed without reactor_remove, reported as ERROR once. Nothing to report
         * (WSAPoll's POLLHUP for a half-close on a channel not reading): the same condition
         * comes back at once. Either way, park the entry until reactor_modify, or every wait
         * would return at once. */
        if ((re & POLLNVAL) || !ev)
            rx_poll_os_park(&p->pfd[i], &p->wake);
        if (ev)
            rx_sink_push(sink, p->ids[i - 1], ev);
    }
    return 0;
}

static int poll__wakeup(void *be)
{
    poll__state *p = be;
    return rx_wakeup_signal(&p->wake);
}

static int poll__os_error(const void *be)
{
    return ((const poll__state *)be)->os_error;
}

#if RX_POLL_OS_FORK
/* In a forked child: the wake-up descriptor is shared with the parent (a wake-up would reach
 * either loop). A new one; the child's copy of the old one is closed. poll() keeps no kernel
 * set, so the entries stand. */
static int poll__fork(void *be)
{
    poll__state *p = be;
    rx_wakeup wake;
    if (rx_wakeup_open(&wake) != 0) {
        p->os_error = rx_poll_os_error();
        return REACTOR_ESYS;
    }
    rx_wakeup_close(&p->wake);
    p->wake = wake;
    rx_poll_os_set(&p->pfd[0], p->wake.rfd, POLLIN);
    return 0;
}
#endif

const rx_backend_ops rx_poll_ops = {
    .name = "poll",
    .init = poll__init,
    .destroy = poll__destroy,
    .reserve = poll__reserve,
    .add = poll__add,
    .modify = poll__modify,
    .remove = poll__remove,
    .poll = poll__poll,
    .wakeup = poll__wakeup,
    .stats = NULL,
    .os_error = poll__os_error,
#if RX_POLL_OS_FORK
    .fork = poll__fork,
#endif
};
