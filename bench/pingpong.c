/* pingpong.c - TCP ping-pong over loopback on one loop: C connections, both ends watched;
 * each client sends a 64-byte message carrying a sequence number, the server end echoes it,
 * the client checks it and sends the next, R times. Reports round trips per second. */
#include "bench.h"
#include "bench_net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PP__MSG 64

typedef struct pp__ctx pp__ctx;

typedef struct pp__end {
    pp__ctx *ctx;
    bench_sock fd;
    int is_client;
    uint32_t have; /* bytes of the current message received */
    uint64_t seq;  /* client: the sequence number in flight */
    char buf[PP__MSG];
} pp__end;

struct pp__ctx {
    uint64_t rounds; /* per connection */
    uint64_t echoes, round_trips, done, errors;
};

static void pp__send_msg(pp__end *e, const char *msg)
{
    if (bench_send(e->fd, msg, PP__MSG) != PP__MSG)
        e->ctx->errors++;
}

static void pp__on_io(void *arg, unsigned events)
{
    pp__end *e = arg;
    pp__ctx *ctx = e->ctx;
    if (!(events & BENCH_READ)) {
        ctx->errors++;
        return;
    }
    bench_ssize n = bench_recv(e->fd, e->buf + e->have, PP__MSG - e->have);
    if (n <= 0) {
        ctx->errors++;
        return;
    }
    e->have += (uint32_t)n;
    if (e->have < PP__MSG)
        return;
    e->have = 0;
    if (!e->is_client) {
        ctx->echoes++;
        pp__send_msg(e, e->buf);
        return;
    }
    uint64_t seq;
    memcpy(&seq, e->buf, sizeof seq);
    if (seq != e->seq)
        ctx->errors++;
    ctx->round_trips++;
    if (++e->seq == ctx->rounds) {
        ctx->done++;
        return;
    }
    memcpy(e->buf, &e->seq, sizeof e->seq);
    pp__send_msg(e, e->buf);
}

int main(int argc, char **argv)
{
    bench_args a;
    const bench_impl *im = bench_start(argc, argv, "--conns C --rounds R (per connection)", &a);
    uint32_t conns = (uint32_t)bench_arg(&a, "--conns", 1);
    pp__ctx ctx = {.rounds = bench_arg(&a, "--rounds", 20000)};
    if (conns == 0 || conns > 1000 || ctx.rounds == 0) {
        fprintf(stderr, "need 1 <= conns <= 1000 and rounds >= 1\n");
        return 2;
    }
    char bcase[64];
    snprintf(bcase, sizeof bcase, "%u conn%s", conns, conns == 1 ? "" : "s");

    struct sockaddr_in addr;
    bench_sock lfd = bench_tcp_listen(&addr);
    pp__end *ends = calloc(2 * (size_t)conns, sizeof *ends);
    if (!ends)
        bench_fail(im->name, "out of memory");
    bench_config cfg = {.max_io = 2 * conns};
    void *lp = im->create(&cfg);
    if (!lp)
        bench_fail(im->name, "create failed");
    for (uint32_t i = 0; i < conns; i++) {
        pp__end *c = &ends[2 * i], *s = &ends[2 * i + 1];
        bench_tcp_pair(lfd, &addr, &c->fd, &s->fd);
        c->ctx = s->ctx = &ctx;
        c->is_client = 1;
        bench_check(im->name, im->io_add(lp, 2 * i, c->fd, BENCH_READ, pp__on_io, c), "io_add");
        bench_check(im->name, im->io_add(lp, 2 * i + 1, s->fd, BENCH_READ, pp__on_io, s), "io_add");
    }
    bench_check(im->name, im->run_nowait(lp), "run_nowait");

    uint64_t t0 = bench_now_ns();
    for (uint32_t i = 0; i < conns; i++) {
        pp__end *c = &ends[2 * i];
        memset(c->buf, 0, PP__MSG);
        pp__send_msg(c, c->buf);
    }
    while (ctx.done < conns && !ctx.errors)
        bench_check(im->name, im->run_once(lp), "run_once");
    uint64_t elapsed = bench_now_ns() - t0;
    uint64_t want = ctx.rounds * conns;
    if (ctx.errors || ctx.round_trips != want || ctx.echoes != want)
        bench_fail(im->name, "%s: %llu round trips and %llu echoes of %llu, %llu errors", bcase,
                   (unsigned long long)ctx.round_trips, (unsigned long long)ctx.echoes,
                   (unsigned long long)want, (unsigned long long)ctx.errors);

    bench_result("pingpong", bcase, im->name, "round_trip", (double)elapsed / (double)want, "ns");
    bench_result("pingpong", bcase, im->name, "rate", (double)want * 1e9 / (double)elapsed,
                 "round trips/s");
    im->destroy(lp);
    for (uint32_t i = 0; i < 2 * conns; i++)
        bench_sock_close(ends[i].fd);
    bench_sock_close(lfd);
    free(ends);
    return 0;
}
