/* poll_os.h - what differs between POSIX poll() and Windows WSAPoll for the poll backend, and
 * nothing else: the entry type, the wait, the socket check, how an entry is parked, and what a
 * bare POLLHUP means. poll.c holds the one copy of the logic. */
#ifndef RX_POLL_OS_H
#define RX_POLL_OS_H

#include "reactor.h"
#include "wakeup.h"

#include <stdint.h>

#if defined(_WIN32)
#include <winsock2.h>

typedef WSAPOLLFD rx_pollfd;

/* Returns -1 on failure, else how many entries may have revents set (the caller stops after
 * that many). WSAPoll fails on an empty array (WSAEINVAL; entry 0, the wake-up socket, is
 * always there) and is never interrupted. Under Wine a POLLNVAL entry (a closed socket) is left
 * out of the count and out of the wait, so it would show only once something else ended the
 * wait: look without waiting first, wait only when nothing is there, and have every entry
 * scanned. */
static inline int rx_poll_os_wait(rx_pollfd *pfd, uint32_t n, int timeout_ms, int *interrupted)
{
    *interrupted = 0;
    int got = WSAPoll(pfd, (ULONG)n, 0);
    if (got == 0 && timeout_ms != 0) {
        uint32_t i = 0;
        while (i < n && !pfd[i].revents)
            i++;
        if (i == n)
            got = WSAPoll(pfd, (ULONG)n, timeout_ms);
    }
    return got < 0 ? -1 : (int)n;
}

/* Winsock has no fcntl: a handle that is not an open socket fails SO_TYPE with WSAENOTSOCK. */
static inline int rx_poll_os_is_socket(reactor_socket_t s)
{
    int type = 0, len = sizeof type;
    return getsockopt((SOCKET)s, SOL_SOCKET, SO_TYPE, (char *)&type, &len) == 0;
}

static inline void rx_poll_os_set(rx_pollfd *e, reactor_socket_t s, short events)
{
    e->fd = (SOCKET)s;
    e->events = events;
    e->revents = 0;
}

/* Windows ignores a negative fd, but Wine reports POLLNVAL for it on every call (its WSAPoll
 * checks `(INT_PTR)fd < 0` and sets POLLNVAL), and the closed socket itself keeps reporting
 * POLLNVAL everywhere. So a parked entry points at the wake-up pair's sending socket with no
 * events: a valid, connected UDP socket nobody sends to, which reports nothing. Never the
 * receiving socket: Wine's WSAPoll gives every entry of one socket the result of its last
 * entry, so a second entry for it would hide the wake-up. */
static inline void rx_poll_os_park(rx_pollfd *e, const rx_wakeup *w)
{
    rx_poll_os_set(e, w->wfd, 0);
}

static inline int rx_poll_os_parked(const rx_pollfd *e, const rx_wakeup *w)
{
    return e->fd == (SOCKET)w->wfd;
}

/* WSAPoll cannot leave out POLLHUP, and reports it on the peer's FIN alone (a half-close),
 * with or without POLLRDNORM; POLLRDHUP does not exist. A reset adds POLLERR. */
#define RX_POLL_OS_HUP_ON_HALF_CLOSE 1
/* No fork on Windows. */
#define RX_POLL_OS_FORK 0

static inline int rx_poll_os_error(void)
{
    return WSAGetLastError();
}

#else
#include <errno.h>
#include <fcntl.h>
#include <poll.h>

typedef struct pollfd rx_pollfd;

/* The count poll() returns is exact, POLLNVAL entries included. */
static inline int rx_poll_os_wait(rx_pollfd *pfd, uint32_t n, int timeout_ms, int *interrupted)
{
    int got = poll(pfd, (nfds_t)n, timeout_ms);
    *interrupted = got < 0 && errno == EINTR;
    return got;
}

static inline int rx_poll_os_is_socket(reactor_socket_t s)
{
    return fcntl(s, F_GETFD) != -1;
}

static inline void rx_poll_os_set(rx_pollfd *e, reactor_socket_t s, short events)
{
    e->fd = s;
    e->events = events;
    e->revents = 0;
}

/* poll() ignores a negative fd and clears its revents. */
static inline void rx_poll_os_park(rx_pollfd *e, const rx_wakeup *w)
{
    (void)w;
    rx_poll_os_set(e, -1, 0);
}

static inline int rx_poll_os_parked(const rx_pollfd *e, const rx_wakeup *w)
{
    (void)w;
    return e->fd < 0;
}

/* POLLHUP means both directions are closed; a half-close is POLLRDHUP, requested only with
 * HALFCLOSE. */
#define RX_POLL_OS_HUP_ON_HALF_CLOSE 0
#define RX_POLL_OS_FORK 1

static inline int rx_poll_os_error(void)
{
    return errno;
}

#endif

#endif
