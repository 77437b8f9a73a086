/* churn.c - registration churn with LIVE channels registered (default 9,000): each operation
 * removes a random live registration and registers a descriptor from a spare pool in its
 * place (so the kernel's set really changes); every BATCH operations one non-blocking
 * iteration runs, which lazy loops need to reach the kernel. Validated at the end by writing
 * one byte towards every registered descriptor: each must be read exactly once. */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

typedef struct ch__ctx {
    uint64_t got, bad;
} ch__ctx;

typedef struct ch__fd {
    ch__ctx *ctx;
    int fd;
    int peer;
} ch__fd;

static void ch__on_read(void *arg, unsigned events)
{
    const ch__fd *f = arg;
    char c;
    if ((events & BENCH_READ) && recv(f->fd, &c, 1, 0) == 1)
        f->ctx->got++;
    else
        f->ctx->bad++;
}

int main(int argc, char **argv)
{
    bench_args a;
    const bench_impl *im =
        bench_start(argc, argv,
                    "--live L --spare S --batch B (--time-ms T | --batches K, for profiling)", &a);
    uint32_t live = (uint32_t)bench_arg(&a, "--live", 9000);
    uint32_t spare = (uint32_t)bench_arg(&a, "--spare", 1000);
    uint32_t batch = (uint32_t)bench_arg(&a, "--batch", 100);
    uint64_t budget_ns = bench_arg(&a, "--time-ms", 300) * 1000000u;
    uint64_t batches = bench_arg(&a, "--batches", 0);
    uint32_t total = live + spare;
    if (live == 0 || spare == 0 || batch == 0 || total % 2 || total > 18000) {
        fprintf(stderr, "need live + spare even and at most 18,000 descriptors\n");
        return 2;
    }
    char bcase[64];
    snprintf(bcase, sizeof bcase, "%u live", live);

    ch__ctx ctx = {0};
    int *fds = bench_socketpairs(total / 2);
    ch__fd *all = malloc((size_t)total * sizeof *all);
    ch__fd **in_slot = malloc((size_t)live * sizeof *in_slot);
    ch__fd **pool = malloc((size_t)spare * sizeof *pool);
    if (!all || !in_slot || !pool)
        bench_fail(im->name, "out of memory");
    for (uint32_t i = 0; i < total; i++)
        all[i] = (ch__fd){&ctx, fds[i], fds[i ^ 1u]};
    /* Interleave so that a slot's descriptor and its peer are unrelated. */
    uint64_t rng = 0x5DEECE66Dull;
    for (uint32_t i = total - 1; i > 0; i--) {
        uint32_t j = (uint32_t)(bench_rand(&rng) % (i + 1));
        ch__fd t = all[i];
        all[i] = all[j];
        all[j] = t;
    }
    bench_config cfg = {.max_io = live};
    void *lp = im->create(&cfg);
    if (!lp)
        bench_fail(im->name, "create failed");
    for (uint32_t i = 0; i < live; i++) {
        in_slot[i] = &all[i];
        bench_check(im->name, im->io_add(lp, i, all[i].fd, BENCH_READ, ch__on_read, &all[i]),
                    "io_add");
    }
    for (uint32_t i = 0; i < spare; i++)
        pool[i] = &all[live + i];
    bench_check(im->name, im->run_nowait(lp), "run_nowait");

    uint64_t ops = 0, t0 = bench_now_ns(), elapsed;
    for (;;) {
        for (uint32_t k = 0; k < batch; k++) {
            uint64_t x = bench_rand(&rng);
            uint32_t slot = (uint32_t)(x % live), p = (uint32_t)((x >> 32) % spare);
            ch__fd *out = in_slot[slot], *in = pool[p];
            bench_check(im->name, im->io_remove(lp, slot), "io_remove");
            bench_check(im->name, im->io_add(lp, slot, in->fd, BENCH_READ, ch__on_read, in),
                        "io_add");
            in_slot[slot] = in;
            pool[p] = out;
        }
        bench_check(im->name, im->run_nowait(lp), "run_nowait");
        ops += batch;
        elapsed = bench_now_ns() - t0;
        if (batches ? ops == batches * batch : elapsed >= budget_ns)
            break;
    }
    if (ctx.got || ctx.bad)
        bench_fail(im->name, "callbacks ran with nothing written");
    for (uint32_t i = 0; i < live; i++)
        if (send(in_slot[i]->peer, "x", 1, 0) != 1)
            bench_fail(im->name, "send failed");
    for (int spins = 0; ctx.got < live && !ctx.bad && spins < 100000; spins++)
        bench_check(im->name, im->run_once(lp), "run_once");
    if (ctx.got != live || ctx.bad)
        bench_fail(im->name, "after churn %llu of %u registered descriptors read, %llu bad",
                   (unsigned long long)ctx.got, live, (unsigned long long)ctx.bad);
    bench_result("churn", bcase, im->name, "op", (double)elapsed / (double)ops, "ns");
    bench_result("churn", bcase, im->name, "rate", (double)ops * 1e9 / (double)elapsed,
                 "remove+add/s");
    im->destroy(lp);
    bench_close_all(fds, total);
    free(all);
    free(in_slot);
    free(pool);
    return 0;
}
