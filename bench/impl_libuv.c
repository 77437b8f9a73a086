/* impl_libuv.c - libuv through its readiness API (uv_poll_t, uv_timer_t, uv_async_t), so it
 * makes the same socket calls as every other implementation. A uv_poll_t is bound to one
 * descriptor and closes asynchronously, so removal hands the handle to uv_close and adding
 * takes a fresh one from a free list refilled by the close callback. */
#include "bench.h"

#include <stdlib.h>
#include <uv.h>

typedef struct uimpl uimpl;

static void uimpl__on_async(uv_async_t *h);

typedef struct uimpl__poll {
    uv_poll_t h;
    bench_io_cb cb;
    void *arg;
    struct uimpl__poll *next_free;
} uimpl__poll;

typedef struct uimpl__timer {
    uv_timer_t h;
    bench_timer_cb cb;
    void *arg;
    int inited;
} uimpl__timer;

/* Owns the handle pools; destroy closes every handle, runs the loop to finish, frees. */
struct uimpl {
    uv_loop_t loop;
    uimpl__poll *pool; /* 2 * max_io handles: a removed one is busy until its close runs */
    uimpl__poll *free_list;
    uimpl__poll **by_slot;
    uimpl__timer *timers;
    uint32_t pool_n, max_timers;
    uv_async_t async;
    int has_async;
    bench_wake_cb on_wake;
    void *wake_arg;
};

static void uimpl__on_async(uv_async_t *h)
{
    const uimpl *p = h->loop->data;
    p->on_wake(p->wake_arg);
}

static void *uimpl__create(const bench_config *cfg)
{
    uimpl *p = calloc(1, sizeof *p);
    if (!p || uv_loop_init(&p->loop) != 0)
        return NULL;
    p->pool_n = 2 * cfg->max_io + 2;
    p->pool = calloc(p->pool_n, sizeof *p->pool);
    p->by_slot = calloc(cfg->max_io + 1, sizeof *p->by_slot);
    p->max_timers = cfg->max_timers;
    p->timers = calloc(cfg->max_timers + 1, sizeof *p->timers);
    if (!p->pool || !p->by_slot || !p->timers)
        return NULL;
    for (uint32_t i = p->pool_n; i-- > 0;) {
        p->pool[i].next_free = p->free_list;
        p->free_list = &p->pool[i];
    }
    p->on_wake = cfg->on_wake;
    p->wake_arg = cfg->wake_arg;
    p->loop.data = p;
    if (cfg->on_wake) {
        if (uv_async_init(&p->loop, &p->async, uimpl__on_async) != 0)
            return NULL;
        p->has_async = 1;
    }
    return p;
}

static void uimpl__on_close_poll(uv_handle_t *h)
{
    uimpl *p = h->loop->data;
    uimpl__poll *s = (uimpl__poll *)h;
    s->next_free = p->free_list;
    p->free_list = s;
}

static void uimpl__on_close_other(uv_handle_t *h)
{
    (void)h;
}

static void uimpl__destroy(void *lp)
{
    uimpl *p = lp;
    for (uint32_t i = 0; i < p->pool_n; i++)
        if (p->pool[i].h.loop && !uv_is_closing((uv_handle_t *)&p->pool[i].h))
            uv_close((uv_handle_t *)&p->pool[i].h, uimpl__on_close_poll);
    for (uint32_t i = 0; i < p->max_timers; i++)
        if (p->timers[i].inited)
            uv_close((uv_handle_t *)&p->timers[i].h, uimpl__on_close_other);
    if (p->has_async)
        uv_close((uv_handle_t *)&p->async, uimpl__on_close_other);
    uv_run(&p->loop, UV_RUN_DEFAULT);
    uv_loop_close(&p->loop);
    free(p->pool);
    free(p->by_slot);
    free(p->timers);
    free(p);
}

static void uimpl__on_poll(uv_poll_t *h, int status, int events)
{
    const uimpl__poll *s = (const uimpl__poll *)h;
    unsigned ev = ((status < 0 || (events & (UV_READABLE | UV_DISCONNECT))) ? BENCH_READ : 0u) |
                  ((events & UV_WRITABLE) ? BENCH_WRITE : 0u);
    s->cb(s->arg, ev);
}

static int uimpl__io_add(void *lp, uint32_t slot, bench_sock fd, unsigned events, bench_io_cb cb,
                         void *arg)
{
    uimpl *p = lp;
    if (!p->free_list)
        return -1;
    uimpl__poll *s = p->free_list;
    p->free_list = s->next_free;
    s->cb = cb;
    s->arg = arg;
    int err = uv_poll_init(&p->loop, &s->h, fd);
    if (err)
        return err;
    int want = ((events & BENCH_READ) ? UV_READABLE : 0) |
               ((events & BENCH_WRITE) ? UV_WRITABLE : 0);
    p->by_slot[slot] = s;
    return uv_poll_start(&s->h, want, uimpl__on_poll);
}

static int uimpl__io_remove(void *lp, uint32_t slot)
{
    uimpl *p = lp;
    uimpl__poll *s = p->by_slot[slot];
    int err = uv_poll_stop(&s->h);
    uv_close((uv_handle_t *)&s->h, uimpl__on_close_poll);
    p->by_slot[slot] = NULL;
    return err;
}

static void uimpl__on_timer(uv_timer_t *h)
{
    const uimpl__timer *s = (const uimpl__timer *)h;
    s->cb(s->arg);
}

static int uimpl__timer_start(void *lp, uint32_t slot, uint64_t ms, bench_timer_cb cb, void *arg)
{
    uimpl *p = lp;
    uimpl__timer *s = &p->timers[slot];
    if (!s->inited) {
        if (uv_timer_init(&p->loop, &s->h) != 0)
            return -1;
        s->inited = 1;
    }
    s->cb = cb;
    s->arg = arg;
    return uv_timer_start(&s->h, uimpl__on_timer, ms, 0);
}

static int uimpl__timer_stop(void *lp, uint32_t slot)
{
    uimpl *p = lp;
    return uv_timer_stop(&p->timers[slot].h);
}

static int uimpl__run_once(void *lp)
{
    uimpl *p = lp;
    uv_run(&p->loop, UV_RUN_ONCE);
    return 0;
}

static int uimpl__run_nowait(void *lp)
{
    uimpl *p = lp;
    uv_run(&p->loop, UV_RUN_NOWAIT);
    return 0;
}

static int uimpl__wakeup(void *lp)
{
    uimpl *p = lp;
    return uv_async_send(&p->async);
}

/* Compiled once per libuv: bench/CMakeLists.txt builds this file a second time against a libuv
 * built from source, under another symbol and name. */
#if !defined(BENCH_LIBUV_IMPL)
#define BENCH_LIBUV_IMPL bench_impl_libuv
#define BENCH_LIBUV_NAME "libuv"
#endif

const bench_impl BENCH_LIBUV_IMPL = {
    .name = BENCH_LIBUV_NAME,
    .floor = "raw-epoll",
    .create = uimpl__create,
    .destroy = uimpl__destroy,
    .io_add = uimpl__io_add,
    .io_remove = uimpl__io_remove,
    .timer_start = uimpl__timer_start,
    .timer_stop = uimpl__timer_stop,
    .run_once = uimpl__run_once,
    .run_nowait = uimpl__run_nowait,
    .wakeup = uimpl__wakeup,
    .loop_bytes = NULL,
};
