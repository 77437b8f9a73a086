/* impl_raw_epoll.c - the floor: epoll_wait() and a callback per ready descriptor, with nothing
 * else (no timers). data.u32 is slot + 1; 0 is the wake-up eventfd. Linux only. */
#include "bench.h"

#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

typedef struct repoll__io {
    bench_io_cb cb;
    void *arg;
    int fd;
} repoll__io;

/* Owns io, evs, epfd and efd; destroy frees and closes them. */
typedef struct repoll {
    int epfd, efd;
    repoll__io *io;
    struct epoll_event *evs;
    int cap;
    bench_wake_cb on_wake;
    void *wake_arg;
} repoll;

static void *repoll__create(const bench_config *cfg)
{
    repoll *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->cap = (int)cfg->max_io + 1;
    p->io = calloc((size_t)p->cap, sizeof *p->io);
    p->evs = calloc((size_t)p->cap, sizeof *p->evs);
    p->on_wake = cfg->on_wake;
    p->wake_arg = cfg->wake_arg;
    p->epfd = epoll_create1(EPOLL_CLOEXEC);
    p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 0};
    if (!p->io || !p->evs || p->epfd < 0 || p->efd < 0 ||
        epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->efd, &ev) != 0)
        return NULL; /* the harness exits on NULL */
    return p;
}

static void repoll__destroy(void *lp)
{
    repoll *p = lp;
    close(p->efd);
    close(p->epfd);
    free(p->io);
    free(p->evs);
    free(p);
}

static int repoll__io_add(void *lp, uint32_t slot, bench_sock fd, unsigned events, bench_io_cb cb,
                          void *arg)
{
    repoll *p = lp;
    p->io[slot] = (repoll__io){cb, arg, fd};
    struct epoll_event ev = {.events = ((events & BENCH_READ) ? (uint32_t)EPOLLIN : 0u) |
                                       ((events & BENCH_WRITE) ? (uint32_t)EPOLLOUT : 0u),
                             .data.u32 = slot + 1};
    return epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int repoll__io_remove(void *lp, uint32_t slot)
{
    repoll *p = lp;
    struct epoll_event ev = {0};
    return epoll_ctl(p->epfd, EPOLL_CTL_DEL, p->io[slot].fd, &ev);
}

static int repoll__run(repoll *p, int timeout)
{
    int n = epoll_wait(p->epfd, p->evs, p->cap, timeout);
    if (n < 0)
        return -1;
    for (int i = 0; i < n; i++) {
        uint32_t key = p->evs[i].data.u32;
        if (key == 0) {
            uint64_t v;
            if (read(p->efd, &v, sizeof v) < 0)
                return -1;
            p->on_wake(p->wake_arg);
            continue;
        }
        uint32_t e = p->evs[i].events;
        unsigned ev = ((e & (EPOLLIN | EPOLLHUP | EPOLLERR)) ? BENCH_READ : 0u) |
                      ((e & EPOLLOUT) ? BENCH_WRITE : 0u);
        const repoll__io *s = &p->io[key - 1];
        s->cb(s->arg, ev);
    }
    return 0;
}

static int repoll__run_once(void *lp)
{
    return repoll__run(lp, -1);
}

static int repoll__run_nowait(void *lp)
{
    return repoll__run(lp, 0);
}

static int repoll__wakeup(void *lp)
{
    repoll *p = lp;
    uint64_t one = 1;
    return write(p->efd, &one, sizeof one) == (ssize_t)sizeof one ? 0 : -1;
}

const bench_impl bench_impl_raw_epoll = {
    .name = "raw-epoll",
    .floor = NULL,
    .create = repoll__create,
    .destroy = repoll__destroy,
    .io_add = repoll__io_add,
    .io_remove = repoll__io_remove,
    .timer_start = NULL,
    .timer_stop = NULL,
    .run_once = repoll__run_once,
    .run_nowait = repoll__run_nowait,
    .wakeup = repoll__wakeup,
    .loop_bytes = NULL,
};
