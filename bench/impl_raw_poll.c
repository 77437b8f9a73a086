/* impl_raw_poll.c - the floor: poll() over a dense pollfd array and a callback per ready
 * descriptor, with nothing else (no timers). pfd[0] is the wake-up eventfd; removal
 * swap-removes, so the array the kernel scans is always exactly the live set. */
#include "bench.h"

#include <poll.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

typedef struct rpoll__io {
    bench_io_cb cb;
    void *arg;
} rpoll__io;

/* Owns every array and efd; destroy frees and closes them. */
typedef struct rpoll {
    struct pollfd *pfd; /* [0] wake-up, [1..n] watchers */
    uint32_t *slot_at;  /* slot_at[pos] for pos >= 1 */
    uint32_t *pos_of;   /* pos_of[slot] */
    rpoll__io *io;      /* io[slot] */
    uint32_t n;
    int efd;
    bench_wake_cb on_wake;
    void *wake_arg;
} rpoll;

static void *rpoll__create(const bench_config *cfg)
{
    rpoll *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    size_t cap = (size_t)cfg->max_io + 1;
    p->pfd = calloc(cap, sizeof *p->pfd);
    p->slot_at = calloc(cap, sizeof *p->slot_at);
    p->pos_of = calloc(cap, sizeof *p->pos_of);
    p->io = calloc(cap, sizeof *p->io);
    p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    p->on_wake = cfg->on_wake;
    p->wake_arg = cfg->wake_arg;
    if (!p->pfd || !p->slot_at || !p->pos_of || !p->io || p->efd < 0)
        return NULL; /* the harness exits on NULL */
    p->pfd[0].fd = p->efd;
    p->pfd[0].events = POLLIN;
    return p;
}

static void rpoll__destroy(void *lp)
{
    rpoll *p = lp;
    close(p->efd);
    free(p->pfd);
    free(p->slot_at);
    free(p->pos_of);
    free(p->io);
    free(p);
}

static int rpoll__io_add(void *lp, uint32_t slot, bench_sock fd, unsigned events, bench_io_cb cb,
                         void *arg)
{
    rpoll *p = lp;
    uint32_t pos = ++p->n;
    p->pfd[pos].fd = fd;
    p->pfd[pos].events = (short)(((events & BENCH_READ) ? POLLIN : 0) |
                                 ((events & BENCH_WRITE) ? POLLOUT : 0));
    p->pfd[pos].revents = 0;
    p->slot_at[pos] = slot;
    p->pos_of[slot] = pos;
    p->io[slot] = (rpoll__io){cb, arg};
    return 0;
}

static int rpoll__io_remove(void *lp, uint32_t slot)
{
    rpoll *p = lp;
    uint32_t pos = p->pos_of[slot], last = p->n--;
    p->pfd[pos] = p->pfd[last];
    p->slot_at[pos] = p->slot_at[last];
    p->pos_of[p->slot_at[pos]] = pos;
    return 0;
}

static int rpoll__run(rpoll *p, int timeout)
{
    int n = poll(p->pfd, (nfds_t)p->n + 1, timeout);
    if (n < 0)
        return -1;
    if (n > 0 && p->pfd[0].revents) {
        uint64_t v;
        if (read(p->efd, &v, sizeof v) < 0)
            return -1;
        p->on_wake(p->wake_arg);
        n--;
    }
    for (uint32_t i = 1; n > 0 && i <= p->n; i++) {
        short re = p->pfd[i].revents;
        if (!re)
            continue;
        n--;
        unsigned ev = ((re & (POLLIN | POLLHUP | POLLERR)) ? BENCH_READ : 0u) |
                      ((re & POLLOUT) ? BENCH_WRITE : 0u);
        const rpoll__io *s = &p->io[p->slot_at[i]];
        s->cb(s->arg, ev);
    }
    return 0;
}

static int rpoll__run_once(void *lp)
{
    return rpoll__run(lp, -1);
}

static int rpoll__run_nowait(void *lp)
{
    return rpoll__run(lp, 0);
}

static int rpoll__wakeup(void *lp)
{
    rpoll *p = lp;
    uint64_t one = 1;
    return write(p->efd, &one, sizeof one) == (ssize_t)sizeof one ? 0 : -1;
}

const bench_impl bench_impl_raw_poll = {
    .name = "raw-poll",
    .floor = NULL,
    .create = rpoll__create,
    .destroy = rpoll__destroy,
    .io_add = rpoll__io_add,
    .io_remove = rpoll__io_remove,
    .timer_start = NULL,
    .timer_stop = NULL,
    .run_once = rpoll__run_once,
    .run_nowait = rpoll__run_nowait,
    .wakeup = rpoll__wakeup,
    .loop_bytes = NULL,
};
