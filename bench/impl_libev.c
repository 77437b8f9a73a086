/* impl_libev.c - libev 4 through ev_io, ev_timer and ev_async on EVBACKEND_EPOLL. libev
 * applies interest changes lazily at the next ev_run (and never issues EPOLL_CTL_DEL), which
 * is its design, measured as it is. */
#include "bench.h"

#include <ev.h>
#include <stdlib.h>

typedef struct vimpl__io {
    ev_io w;
    bench_io_cb cb;
    void *arg;
} vimpl__io;

typedef struct vimpl__timer {
    ev_timer w;
    bench_timer_cb cb;
    void *arg;
} vimpl__timer;

/* Owns the loop and the watcher arrays. */
typedef struct vimpl {
    struct ev_loop *loop;
    vimpl__io *io;
    vimpl__timer *timers;
    ev_async async;
    int has_async;
    bench_wake_cb on_wake;
    void *wake_arg;
} vimpl;

static void vimpl__on_async(struct ev_loop *loop, ev_async *w, int revents)
{
    (void)loop;
    (void)revents;
    const vimpl *p = w->data;
    p->on_wake(p->wake_arg);
}

static void *vimpl__create(const bench_config *cfg)
{
    vimpl *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->loop = ev_loop_new(EVBACKEND_EPOLL);
    p->io = calloc(cfg->max_io + 1, sizeof *p->io);
    p->timers = calloc(cfg->max_timers + 1, sizeof *p->timers);
    if (!p->loop || !p->io || !p->timers)
        return NULL;
    p->on_wake = cfg->on_wake;
    p->wake_arg = cfg->wake_arg;
    if (cfg->on_wake) {
        ev_async_init(&p->async, vimpl__on_async);
        p->async.data = p;
        ev_async_start(p->loop, &p->async);
        p->has_async = 1;
    }
    return p;
}

static void vimpl__destroy(void *lp)
{
    vimpl *p = lp;
    ev_loop_destroy(p->loop);
    free(p->io);
    free(p->timers);
    free(p);
}

static void vimpl__on_io(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    const vimpl__io *s = (const vimpl__io *)w;
    unsigned ev = ((revents & (EV_READ | EV_ERROR)) ? BENCH_READ : 0u) |
                  ((revents & EV_WRITE) ? BENCH_WRITE : 0u);
    s->cb(s->arg, ev);
}

static int vimpl__io_add(void *lp, uint32_t slot, bench_sock fd, unsigned events, bench_io_cb cb,
                         void *arg)
{
    vimpl *p = lp;
    vimpl__io *s = &p->io[slot];
    s->cb = cb;
    s->arg = arg;
    int want = ((events & BENCH_READ) ? EV_READ : 0) | ((events & BENCH_WRITE) ? EV_WRITE : 0);
    ev_io_init(&s->w, vimpl__on_io, fd, want);
    ev_io_start(p->loop, &s->w);
    return 0;
}

static int vimpl__io_remove(void *lp, uint32_t slot)
{
    vimpl *p = lp;
    ev_io_stop(p->loop, &p->io[slot].w);
    return 0;
}

static void vimpl__on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    const vimpl__timer *s = (const vimpl__timer *)w;
    s->cb(s->arg);
}

static int vimpl__timer_start(void *lp, uint32_t slot, uint64_t ms, bench_timer_cb cb, void *arg)
{
    vimpl *p = lp;
    vimpl__timer *s = &p->timers[slot];
    s->cb = cb;
    s->arg = arg;
    ev_timer_init(&s->w, vimpl__on_timer, (ev_tstamp)ms / 1000.0, 0.);
    ev_timer_start(p->loop, &s->w);
    return 0;
}

static int vimpl__timer_stop(void *lp, uint32_t slot)
{
    vimpl *p = lp;
    ev_timer_stop(p->loop, &p->timers[slot].w);
    return 0;
}

static int vimpl__run_once(void *lp)
{
    vimpl *p = lp;
    ev_run(p->loop, EVRUN_ONCE);
    return 0;
}

static int vimpl__run_nowait(void *lp)
{
    vimpl *p = lp;
    ev_run(p->loop, EVRUN_NOWAIT);
    return 0;
}

static int vimpl__wakeup(void *lp)
{
    vimpl *p = lp;
    ev_async_send(p->loop, &p->async);
    return 0;
}

const bench_impl bench_impl_libev = {
    .name = "libev",
    .floor = "raw-epoll",
    .create = vimpl__create,
    .destroy = vimpl__destroy,
    .io_add = vimpl__io_add,
    .io_remove = vimpl__io_remove,
    .timer_start = vimpl__timer_start,
    .timer_stop = vimpl__timer_stop,
    .run_once = vimpl__run_once,
    .run_nowait = vimpl__run_nowait,
    .wakeup = vimpl__wakeup,
    .loop_bytes = NULL,
};
