/* wakeup.c - cross-thread wake-ups delivered to a blocked loop: another thread sends one
 * wake-up, waits until the loop's callback has acknowledged it, and sends the next, COUNT
 * times. Each wake-up must be delivered exactly once (none may coalesce away). */
#include "bench.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>

typedef struct wk__ctx {
    const bench_impl *im;
    void *lp;
    uint64_t count;
    atomic_uint_fast64_t acked;
    atomic_int failed;
} wk__ctx;

static void wk__on_wake(void *arg)
{
    wk__ctx *ctx = arg;
    atomic_fetch_add_explicit(&ctx->acked, 1, memory_order_release);
}

static void *wk__waker(void *arg)
{
    wk__ctx *ctx = arg;
    for (uint64_t i = 1; i <= ctx->count; i++) {
        if (ctx->im->wakeup(ctx->lp) != 0) {
            atomic_store(&ctx->failed, 1);
            return NULL;
        }
        /* Two cores shared with the loop thread: yield rather than burn the loop's core. */
        while (atomic_load_explicit(&ctx->acked, memory_order_acquire) < i)
            sched_yield();
    }
    return NULL;
}

int main(int argc, char **argv)
{
    bench_args a;
    const bench_impl *im = bench_start(argc, argv, "--count K", &a);
    wk__ctx ctx = {.im = im, .count = bench_arg(&a, "--count", 50000)};
    atomic_init(&ctx.acked, 0);
    atomic_init(&ctx.failed, 0);
    bench_config cfg = {.on_wake = wk__on_wake, .wake_arg = &ctx};
    ctx.lp = im->create(&cfg);
    if (!ctx.lp)
        bench_fail(im->name, "create failed");
    pthread_t th;
    uint64_t t0 = bench_now_ns();
    if (pthread_create(&th, NULL, wk__waker, &ctx) != 0)
        bench_fail(im->name, "pthread_create failed");
    while (atomic_load(&ctx.acked) < ctx.count && !atomic_load(&ctx.failed))
        bench_check(im->name, im->run_once(ctx.lp), "run_once");
    uint64_t elapsed = bench_now_ns() - t0;
    pthread_join(th, NULL);
    if (atomic_load(&ctx.failed) || atomic_load(&ctx.acked) != ctx.count)
        bench_fail(im->name, "%llu of %llu wake-ups delivered",
                   (unsigned long long)atomic_load(&ctx.acked), (unsigned long long)ctx.count);
    bench_result("wakeup", "1 waker thread", im->name, "wakeup", (double)elapsed / ctx.count, "ns");
    bench_result("wakeup", "1 waker thread", im->name, "rate",
                 (double)ctx.count * 1e9 / (double)elapsed, "wake-ups/s");
    im->destroy(ctx.lp);
    return 0;
}
