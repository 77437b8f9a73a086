/* impl_reactor.c - reactor under test, once per backend (REACTOR_BACKEND_POLL / _EPOLL, or
 * _AFD on Windows), driven only through include/reactor.h. Slots map to channel numbers and
 * timer IDs. */
#include "bench.h"

#include <reactor.h>
#include <stdlib.h>

typedef struct rimpl__io {
    bench_io_cb cb;
    void *arg;
    reactor_chn_t chn;
} rimpl__io;

typedef struct rimpl__timer {
    bench_timer_cb cb;
    void *arg;
    reactor_timer_t id;
} rimpl__timer;

/* Owns io and timers (freed in destroy with the loop). */
typedef struct rimpl {
    reactor_t *r;
    rimpl__io *io;
    rimpl__timer *timers;
    bench_wake_cb on_wake;
    void *wake_arg;
} rimpl;

static void rimpl__on_io(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    (void)r;
    (void)chn;
    const rimpl__io *s = arg;
    unsigned ev = 0;
    if (events & (REACTOR_READABLE | REACTOR_HANGUP | REACTOR_ERROR))
        ev |= BENCH_READ;
    if (events & REACTOR_WRITABLE)
        ev |= BENCH_WRITE;
    s->cb(s->arg, ev);
}

static void rimpl__on_timer(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)r;
    (void)t;
    const rimpl__timer *s = arg;
    s->cb(s->arg);
}

static void rimpl__on_wake(reactor_t *r, void *arg)
{
    (void)r;
    const rimpl *p = arg;
    p->on_wake(p->wake_arg);
}

static void *rimpl__create(const bench_config *cfg, int backend)
{
    rimpl *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->io = calloc(cfg->max_io ? cfg->max_io : 1, sizeof *p->io);
    p->timers = calloc(cfg->max_timers ? cfg->max_timers : 1, sizeof *p->timers);
    p->on_wake = cfg->on_wake;
    p->wake_arg = cfg->wake_arg;
    reactor_options_t opts = {.backend = backend};
    if (cfg->on_wake) {
        opts.on_wakeup = rimpl__on_wake;
        opts.wakeup_arg = p;
    }
    if (!p->io || !p->timers || reactor_create(&p->r, &opts) != 0) {
        free(p->io);
        free(p->timers);
        free(p);
        return NULL;
    }
    return p;
}

#if defined(_WIN32)
static void *rimpl__create_afd(const bench_config *cfg)
{
    return rimpl__create(cfg, REACTOR_BACKEND_AFD);
}
#else
static void *rimpl__create_poll(const bench_config *cfg)
{
    return rimpl__create(cfg, REACTOR_BACKEND_POLL);
}

static void *rimpl__create_epoll(const bench_config *cfg)
{
    return rimpl__create(cfg, REACTOR_BACKEND_EPOLL);
}
#endif

static void rimpl__destroy(void *lp)
{
    rimpl *p = lp;
    reactor_destroy(p->r);
    free(p->io);
    free(p->timers);
    free(p);
}

static int rimpl__io_add(void *lp, uint32_t slot, bench_sock fd, unsigned events, bench_io_cb cb,
                         void *arg)
{
    rimpl *p = lp;
    rimpl__io *s = &p->io[slot];
    s->cb = cb;
    s->arg = arg;
    unsigned want = ((events & BENCH_READ) ? REACTOR_READABLE : 0u) |
                    ((events & BENCH_WRITE) ? REACTOR_WRITABLE : 0u);
    return reactor_add(p->r, fd, want, rimpl__on_io, s, &s->chn);
}

static int rimpl__io_remove(void *lp, uint32_t slot)
{
    rimpl *p = lp;
    return reactor_remove(p->r, p->io[slot].chn);
}

static int rimpl__timer_start(void *lp, uint32_t slot, uint64_t ms, bench_timer_cb cb, void *arg)
{
    rimpl *p = lp;
    rimpl__timer *s = &p->timers[slot];
    s->cb = cb;
    s->arg = arg;
    return reactor_timer_start(p->r, ms, 0, rimpl__on_timer, s, &s->id);
}

static int rimpl__timer_stop(void *lp, uint32_t slot)
{
    rimpl *p = lp;
    return reactor_timer_stop(p->r, p->timers[slot].id);
}

static int rimpl__run_once(void *lp)
{
    rimpl *p = lp;
    int rc = reactor_run(p->r, REACTOR_RUN_ONCE);
    return rc < 0 ? rc : 0;
}

static int rimpl__run_nowait(void *lp)
{
    rimpl *p = lp;
    int rc = reactor_run(p->r, REACTOR_RUN_NOWAIT);
    return rc < 0 ? rc : 0;
}

static int rimpl__wakeup(void *lp)
{
    rimpl *p = lp;
    return reactor_wakeup(p->r);
}

static long rimpl__loop_bytes(void *lp)
{
    rimpl *p = lp;
    reactor_stats_t st;
    if (reactor_stats(p->r, &st) != 0)
        return -1;
    return (long)st.bytes_live;
}

#if defined(_WIN32)
const bench_impl bench_impl_reactor_afd = {
    .name = "reactor-afd",
    .floor = "raw-afd",
    .create = rimpl__create_afd,
    .destroy = rimpl__destroy,
    .io_add = rimpl__io_add,
    .io_remove = rimpl__io_remove,
    .timer_start = rimpl__timer_start,
    .timer_stop = rimpl__timer_stop,
    .run_once = rimpl__run_once,
    .run_nowait = rimpl__run_nowait,
    .wakeup = rimpl__wakeup,
    .loop_bytes = rimpl__loop_bytes,
};
#else
const bench_impl bench_impl_reactor_poll = {
    .name = "reactor-poll",
    .floor = "raw-poll",
    .create = rimpl__create_poll,
    .destroy = rimpl__destroy,
    .io_add = rimpl__io_add,
    .io_remove = rimpl__io_remove,
    .timer_start = rimpl__timer_start,
    .timer_stop = rimpl__timer_stop,
    .run_once = rimpl__run_once,
    .run_nowait = rimpl__run_nowait,
    .wakeup = rimpl__wakeup,
    .loop_bytes = rimpl__loop_bytes,
};

const bench_impl bench_impl_reactor_epoll = {
    .name = "reactor-epoll",
    .floor = "raw-epoll",
    .create = rimpl__create_epoll,
    .destroy = rimpl__destroy,
    .io_add = rimpl__io_add,
    .io_remove = rimpl__io_remove,
    .timer_start = rimpl__timer_start,
    .timer_stop = rimpl__timer_stop,
    .run_once = rimpl__run_once,
    .run_nowait = rimpl__run_nowait,
    .wakeup = rimpl__wakeup,
    .loop_bytes = rimpl__loop_bytes,
};
#endif
