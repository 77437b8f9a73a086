/* wakeup.c - eventfd (Linux) or a non-blocking, close-on-exec pipe. A full pipe or a saturated
 * eventfd means a wake-up is already pending, so EAGAIN counts as success. */
#define _GNU_SOURCE
#include "wakeup.h"

#include "reactor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#if defined(__linux__)
#include <sys/eventfd.h>
#endif

int rx_wakeup_open(rx_wakeup *w)
{
#if defined(__linux__)
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0)
        return REACTOR_ESYS;
    w->rfd = w->wfd = fd;
#else
    int fds[2];
    if (pipe(fds) != 0)
        return REACTOR_ESYS;
    for (int i = 0; i < 2; i++) {
        if (fcntl(fds[i], F_SETFL, O_NONBLOCK) != 0 || fcntl(fds[i], F_SETFD, FD_CLOEXEC) != 0) {
            close(fds[0]);
            close(fds[1]);
            return REACTOR_ESYS;
        }
    }
    w->rfd = fds[0];
    w->wfd = fds[1];
#endif
    return 0;
}

void rx_wakeup_close(rx_wakeup *w)
{
    if (w->wfd != w->rfd)
        close(w->wfd);
    close(w->rfd);
    w->rfd = w->wfd = -1;
}

/* Async-signal-safe (reactor_wakeup may be called from a signal handler): write() only, and
 * errno is left as the interrupted code had it. */
int rx_wakeup_signal(rx_wakeup *w)
{
    int saved = errno, err = 0;
    uint64_t one = 1;
    for (;;) {
#if defined(__linux__)
        ssize_t n = write(w->wfd, &one, sizeof one);
#else
        ssize_t n = write(w->wfd, &one, 1);
#endif
        if (n > 0 || (n < 0 && errno == EAGAIN))
            break;
        if (n < 0 && errno == EINTR)
            continue;
        err = REACTOR_ESYS;
        break;
    }
    errno = saved;
    return err;
}

void rx_wakeup_drain(rx_wakeup *w)
{
    char buf[64];
    for (;;) {
        ssize_t n = read(w->rfd, buf, sizeof buf);
        if (n > 0 && w->wfd != w->rfd)
            continue; /* a pipe may hold more bytes */
        if (n < 0 && errno == EINTR)
            continue;
        return;
    }
}
