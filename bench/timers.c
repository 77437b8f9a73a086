/* timers.c - two timer workloads. fire: start COUNT one-shot timers with timeouts spread over
 * 0..15 ms in a repeatable random order, then run until every one has fired. churn: keep LIVE
 * long timers started and, for the time budget, stop a random one and start it again. */
#include "bench.h"

#include <stdio.h>
#include <string.h>

typedef struct tm__ctx {
    uint64_t fired;
} tm__ctx;

static void tm__on_fire(void *arg)
{
    tm__ctx *ctx = arg;
    ctx->fired++;
}

static void tm__fire(const bench_impl *im, uint32_t count)
{
    tm__ctx ctx = {0};
    bench_config cfg = {.max_timers = count};
    void *lp = im->create(&cfg);
    if (!lp)
        bench_fail(im->name, "create failed");
    uint64_t rng = 0x2545F4914F6CDD1Dull;
    uint64_t t0 = bench_now_ns();
    for (uint32_t i = 0; i < count; i++)
        bench_check(im->name, im->timer_start(lp, i, bench_rand(&rng) % 16, tm__on_fire, &ctx),
                    "timer_start");
    uint64_t t1 = bench_now_ns();
    while (ctx.fired < count)
        bench_check(im->name, im->run_once(lp), "run_once");
    uint64_t t2 = bench_now_ns();
    if (ctx.fired != count)
        bench_fail(im->name, "%llu of %u timers fired", (unsigned long long)ctx.fired, count);
    char bcase[64];
    snprintf(bcase, sizeof bcase, "fire %u", count);
    bench_result("timers", bcase, im->name, "timer", (double)(t2 - t0) / count, "ns");
    bench_result("timers", bcase, im->name, "start", (double)(t1 - t0) / count, "ns");
    bench_result("timers", bcase, im->name, "total", (double)(t2 - t0) / 1e6, "ms");
    im->destroy(lp);
}

static void tm__churn(const bench_impl *im, uint32_t live, uint64_t budget_ns)
{
    tm__ctx ctx = {0};
    bench_config cfg = {.max_timers = live};
    void *lp = im->create(&cfg);
    if (!lp)
        bench_fail(im->name, "create failed");
    uint64_t rng = 0x2545F4914F6CDD1Dull;
    for (uint32_t i = 0; i < live; i++)
        bench_check(im->name,
                    im->timer_start(lp, i, 600000 + bench_rand(&rng) % 600000, tm__on_fire, &ctx),
                    "timer_start");
    uint64_t ops = 0, t0 = bench_now_ns(), elapsed;
    for (;;) {
        for (int k = 0; k < 256; k++) {
            uint64_t x = bench_rand(&rng);
            uint32_t slot = (uint32_t)(x % live);
            bench_check(im->name, im->timer_stop(lp, slot), "timer_stop");
            bench_check(im->name,
                        im->timer_start(lp, slot, 600000 + (x >> 32) % 600000, tm__on_fire, &ctx),
                        "timer_start");
        }
        ops += 256;
        if ((elapsed = bench_now_ns() - t0) >= budget_ns)
            break;
    }
    bench_check(im->name, im->run_nowait(lp), "run_nowait");
    if (ctx.fired)
        bench_fail(im->name, "a 10-minute timer fired");
    char bcase[64];
    snprintf(bcase, sizeof bcase, "stop+start, %u live", live);
    bench_result("timers", bcase, im->name, "op", (double)elapsed / (double)ops, "ns");
    im->destroy(lp);
}

int main(int argc, char **argv)
{
    bench_args a;
    const bench_impl *im = bench_start(argc, argv,
                                       "--mode fire|churn [--count N] [--live L --time-ms T]", &a);
    if (!im->timer_start) {
        fprintf(stderr, "%s offers no timers\n", im->name);
        return 3;
    }
    const char *mode = "fire";
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--mode") == 0)
            mode = argv[i + 1];
    if (strcmp(mode, "fire") == 0)
        tm__fire(im, (uint32_t)bench_arg(&a, "--count", 1000000));
    else if (strcmp(mode, "churn") == 0)
        tm__churn(im, (uint32_t)bench_arg(&a, "--live", 100000),
                  bench_arg(&a, "--time-ms", 300) * 1000000u);
    else
        return 2;
    return 0;
}
