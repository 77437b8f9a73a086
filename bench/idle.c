/* idle.c - idle-many/active-few (after libev's classic benchmark): N socketpairs, one read
 * watcher each; an iteration writes one byte into A distinct pairs, then runs the loop until
 * all A callbacks have read their byte. Reports set-up time (N registrations and the first
 * non-blocking iteration, which lazy loops need to reach the kernel) and time per iteration.
 * On Windows the pairs are loopback TCP connections (bench_socketpairs). */
#include "bench.h"
#include "bench_net.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct idle__ctx {
    bench_sock *fds; /* pair i: fds[2i] written by the bench, fds[2i+1] watched */
    uint64_t got, spurious;
} idle__ctx;

typedef struct idle__pair {
    idle__ctx *ctx;
    bench_sock fd;
} idle__pair;

static void idle__on_read(void *arg, unsigned events)
{
    const idle__pair *pr = arg;
    char c;
    if ((events & BENCH_READ) && bench_recv(pr->fd, &c, 1) == 1)
        pr->ctx->got++;
    else
        pr->ctx->spurious++;
}

/* Runs the loop until every byte written so far has been read: the part bench/instructions.sh
 * measures (callgrind --toggle-collect=idle__drain), so it stays out of line. Returns the loop
 * calls made. */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((noinline, noclone))
#elif defined(__GNUC__)
__attribute__((noinline))
#endif
static uint64_t
idle__drain(const bench_impl *im, void *lp, const idle__ctx *ctx, uint64_t expected)
{
    uint64_t calls = 0;
    while (ctx->got < expected && !ctx->spurious) {
        bench_check(im->name, im->run_once(lp), "run_once");
        calls++;
    }
    return calls;
}

int main(int argc, char **argv)
{
    bench_args a;
    const bench_impl *im =
        bench_start(argc, argv,
                    "--pairs N (<= 9000) --active A (--time-ms T | --iters I, for profiling)", &a);
    uint32_t n = (uint32_t)bench_arg(&a, "--pairs", 1000);
    uint32_t act = (uint32_t)bench_arg(&a, "--active", 1);
    uint64_t budget_ns = bench_arg(&a, "--time-ms", 300) * 1000000u;
    uint64_t fixed = bench_arg(&a, "--iters", 0); /* no warm-up, exactly this many */
    if (n == 0 || n > 9000 || act == 0 || act > n) {
        fprintf(stderr, "need 1 <= active <= pairs <= 9000 (18,000 descriptors)\n");
        return 2;
    }
    char bcase[64];
    snprintf(bcase, sizeof bcase, "N=%u A=%u", n, act);

    idle__ctx ctx = {.fds = bench_socketpairs(n)};
    idle__pair *pairs = malloc((size_t)n * sizeof *pairs);
    if (!pairs)
        bench_fail(im->name, "out of memory");
    bench_config cfg = {.max_io = n};
    void *lp = im->create(&cfg);
    if (!lp)
        bench_fail(im->name, "create failed");

    uint64_t t0 = bench_now_ns();
    for (uint32_t i = 0; i < n; i++) {
        pairs[i] = (idle__pair){&ctx, ctx.fds[2 * i + 1]};
        bench_check(im->name, im->io_add(lp, i, pairs[i].fd, BENCH_READ, idle__on_read, &pairs[i]),
                    "io_add");
    }
    bench_check(im->name, im->run_nowait(lp), "run_nowait");
    uint64_t setup_ns = bench_now_ns() - t0;
    if (ctx.got || ctx.spurious)
        bench_fail(im->name, "callbacks ran with nothing written");

    uint64_t rng = 0x9E3779B97F4A7C15ull, expected = 0, iters = 0, loop_calls = 0;
    uint32_t stride = n / act;
    uint64_t warm_end = bench_now_ns() + budget_ns / 5, start = 0;
    for (int phase = fixed ? 1 : 0; phase < 2; phase++) {
        uint64_t end = phase == 0 ? warm_end : 0;
        if (phase == 1) {
            start = bench_now_ns();
            end = start + budget_ns;
            iters = 0;
        }
        for (;;) {
            uint32_t base = (uint32_t)(bench_rand(&rng) % n);
            for (uint32_t k = 0; k < act; k++) {
                uint32_t idx = (base + k * stride) % n;
                if (bench_send(ctx.fds[2 * idx], "x", 1) != 1)
                    bench_fail(im->name, "send failed");
            }
            expected += act;
            loop_calls += idle__drain(im, lp, &ctx, expected);
            iters++;
            if (fixed ? iters == fixed : (iters & 15) == 0 && bench_now_ns() >= end)
                break;
        }
    }
    uint64_t elapsed = bench_now_ns() - start;
    if (ctx.got != expected || ctx.spurious)
        bench_fail(im->name, "%s: %llu reads for %llu bytes written, %llu spurious callbacks",
                   bcase, (unsigned long long)ctx.got, (unsigned long long)expected,
                   (unsigned long long)ctx.spurious);

    bench_result("idle", bcase, im->name, "iteration", (double)elapsed / (double)iters, "ns");
    bench_result("idle", bcase, im->name, "setup", (double)setup_ns / 1000.0, "us");
    if (im->loop_bytes) {
        long bytes = im->loop_bytes(lp);
        if (bytes >= 0)
            bench_result("idle", bcase, im->name, "bytes_per_channel", (double)bytes / n, "B");
    }
    im->destroy(lp);
    bench_close_all(ctx.fds, 2 * n);
    free(pairs);
    (void)loop_calls;
    return 0;
}
