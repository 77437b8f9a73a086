/* pingpong.c - TCP ping-pong over loopback on one loop: C connections, both ends watched;
 * each client sends a 64-byte message carrying a sequence number, the server end echoes it,
 * the client checks it and sends the next, R times. Reports round trips per second. */
#include "bench.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PP__MSG 64

typedef struct pp__ctx pp__ctx;

typedef struct pp__end {
    pp__ctx *ctx;
    int fd;
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
    if (send(e->fd, msg, PP__MSG, 0) != PP__MSG)
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
    ssize_t n = recv(e->fd, e->buf + e->have, PP__MSG - e->have, 0);
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

static void pp__connect(int lfd, const struct sockaddr_in *addr, int *client, int *server)
{
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (c < 0 || connect(c, (const struct sockaddr *)addr, sizeof *addr) != 0) {
        perror("connect");
        exit(2);
    }
    int s = accept(lfd, NULL, NULL);
    if (s < 0) {
        perror("accept");
        exit(2);
    }
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    bench_nonblock(c);
    bench_nonblock(s);
    *client = c;
    *server = s;
}

int main(int argc, char **argv)
{
    bench_args a;
    const bench_impl *im =
        bench_start(argc, argv, "--conns C --rounds R (per connection)", &a);
    uint32_t conns = (uint32_t)bench_arg(&a, "--conns", 1);
    pp__ctx ctx = {.rounds = bench_arg(&a, "--rounds", 20000)};
    if (conns == 0 || conns > 1000 || ctx.rounds == 0) {
        fprintf(stderr, "need 1 <= conns <= 1000 and rounds >= 1\n");
        return 2;
    }
    char bcase[64];
    snprintf(bcase, sizeof bcase, "%u conn%s", conns, conns == 1 ? "" : "s");

    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof addr;
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        listen(lfd, 1024) != 0 || getsockname(lfd, (struct sockaddr *)&addr, &alen) != 0) {
        perror("listen");
        return 2;
    }
    pp__end *ends = calloc(2 * (size_t)conns, sizeof *ends);
    if (!ends)
        bench_fail(im->name, "out of memory");
    bench_config cfg = {.max_io = 2 * conns};
    void *lp = im->create(&cfg);
    if (!lp)
        bench_fail(im->name, "create failed");
    for (uint32_t i = 0; i < conns; i++) {
        pp__end *c = &ends[2 * i], *s = &ends[2 * i + 1];
        pp__connect(lfd, &addr, &c->fd, &s->fd);
        c->ctx = s->ctx = &ctx;
        c->is_client = 1;
        bench_check(im->name, im->io_add(lp, 2 * i, c->fd, BENCH_READ, pp__on_io, c), "io_add");
        bench_check(im->name, im->io_add(lp, 2 * i + 1, s->fd, BENCH_READ, pp__on_io, s),
                    "io_add");
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
        close(ends[i].fd);
    close(lfd);
    free(ends);
    return 0;
}
