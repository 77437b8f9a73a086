/* impl_libevent.c - libevent 2.1 through struct event (not bufferevents), on its epoll method
 * (checked). Thread-safe wake-ups need libevent's locking, so evthread_use_pthreads() is
 * turned on only in the wake-up workload, where it is the price of the feature. */
#include "bench.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct eimpl__io {
    struct event *ev;
    bench_io_cb cb;
    void *arg;
} eimpl__io;

typedef struct eimpl__timer {
    struct event *ev;
    bench_timer_cb cb;
    void *arg;
} eimpl__timer;

/* Owns the base, every event (allocated once per slot, re-assigned on reuse), the arrays. */
typedef struct eimpl {
    struct event_base *base;
    eimpl__io *io;
    eimpl__timer *timers;
    uint32_t max_io, max_timers;
    struct event *wake;
    bench_wake_cb on_wake;
    void *wake_arg;
} eimpl;

static void eimpl__on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    const eimpl *p = arg;
    p->on_wake(p->wake_arg);
}

static void *eimpl__create(const bench_config *cfg)
{
    if (cfg->on_wake && evthread_use_pthreads() != 0)
        return NULL;
    eimpl *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->base = event_base_new();
    if (!p->base)
        return NULL;
    if (strcmp(event_base_get_method(p->base), "epoll") != 0) {
        fprintf(stderr, "libevent chose %s, not epoll\n", event_base_get_method(p->base));
        return NULL;
    }
    p->max_io = cfg->max_io;
    p->max_timers = cfg->max_timers;
    p->io = calloc(cfg->max_io + 1, sizeof *p->io);
    p->timers = calloc(cfg->max_timers + 1, sizeof *p->timers);
    if (!p->io || !p->timers)
        return NULL;
    /* Allocated up front, as the other implementations' handles are. */
    for (uint32_t i = 0; i < cfg->max_io; i++)
        if (!(p->io[i].ev = event_new(p->base, -1, 0, NULL, NULL)))
            return NULL;
    for (uint32_t i = 0; i < cfg->max_timers; i++)
        if (!(p->timers[i].ev = event_new(p->base, -1, 0, NULL, NULL)))
            return NULL;
    p->on_wake = cfg->on_wake;
    p->wake_arg = cfg->wake_arg;
    if (cfg->on_wake && !(p->wake = event_new(p->base, -1, 0, eimpl__on_wake, p)))
        return NULL;
    return p;
}

static void eimpl__destroy(void *lp)
{
    eimpl *p = lp;
    for (uint32_t i = 0; i < p->max_io; i++)
        event_free(p->io[i].ev);
    for (uint32_t i = 0; i < p->max_timers; i++)
        event_free(p->timers[i].ev);
    if (p->wake)
        event_free(p->wake);
    event_base_free(p->base);
    free(p->io);
    free(p->timers);
    free(p);
}

static void eimpl__on_io(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    const eimpl__io *s = arg;
    unsigned ev = ((what & EV_READ) ? BENCH_READ : 0u) | ((what & EV_WRITE) ? BENCH_WRITE : 0u);
    s->cb(s->arg, ev);
}

static int eimpl__io_add(void *lp, uint32_t slot, bench_sock fd, unsigned events, bench_io_cb cb,
                         void *arg)
{
    eimpl *p = lp;
    eimpl__io *s = &p->io[slot];
    s->cb = cb;
    s->arg = arg;
    short want = (short)(EV_PERSIST | ((events & BENCH_READ) ? EV_READ : 0) |
                         ((events & BENCH_WRITE) ? EV_WRITE : 0));
    if (event_assign(s->ev, p->base, fd, want, eimpl__on_io, s) != 0)
        return -1;
    return event_add(s->ev, NULL);
}

static int eimpl__io_remove(void *lp, uint32_t slot)
{
    eimpl *p = lp;
    return event_del(p->io[slot].ev);
}

static void eimpl__on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    const eimpl__timer *s = arg;
    s->cb(s->arg);
}

static int eimpl__timer_start(void *lp, uint32_t slot, uint64_t ms, bench_timer_cb cb, void *arg)
{
    eimpl *p = lp;
    eimpl__timer *s = &p->timers[slot];
    s->cb = cb;
    s->arg = arg;
    if (event_assign(s->ev, p->base, -1, 0, eimpl__on_timer, s) != 0)
        return -1;
    struct timeval tv = {.tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000};
    return event_add(s->ev, &tv);
}

static int eimpl__timer_stop(void *lp, uint32_t slot)
{
    eimpl *p = lp;
    return event_del(p->timers[slot].ev);
}

static int eimpl__run_once(void *lp)
{
    eimpl *p = lp;
    return event_base_loop(p->base, EVLOOP_ONCE | EVLOOP_NO_EXIT_ON_EMPTY) < 0 ? -1 : 0;
}

static int eimpl__run_nowait(void *lp)
{
    eimpl *p = lp;
    return event_base_loop(p->base, EVLOOP_NONBLOCK) < 0 ? -1 : 0;
}

static int eimpl__wakeup(void *lp)
{
    eimpl *p = lp;
    event_active(p->wake, EV_READ, 0);
    return 0;
}

const bench_impl bench_impl_libevent = {
    .name = "libevent",
    .floor = "raw-epoll",
    .create = eimpl__create,
    .destroy = eimpl__destroy,
    .io_add = eimpl__io_add,
    .io_remove = eimpl__io_remove,
    .timer_start = eimpl__timer_start,
    .timer_stop = eimpl__timer_stop,
    .run_once = eimpl__run_once,
    .run_nowait = eimpl__run_nowait,
    .wakeup = eimpl__wakeup,
    .loop_bytes = NULL,
};
