/* test_load.c - an echo server and its clients in one loop at N concurrent loopback TCP
 * connections (1,000 on Linux). All N are open at once before any byte moves; every byte is
 * checked in place and by a per-connection checksum; the loop's memory (reactor_stats) and the
 * process RSS are sampled, and a second identical round must allocate nothing and grow nothing.
 * Sizes come from REACTOR_LOAD_CONNECTIONS / _MESSAGES / _SIZE (CTest sets them). */
#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(_WIN32)
#include <windows.h>
#include <psapi.h>
#else
#include <sys/resource.h>
#include <unistd.h>
#endif

#define LD_BUF 4096
#define LD_CONNECTING 32 /* connections not yet accepted: stays under the listen backlog (64) */
#define LD_DEADLINE_MS 60000u

typedef struct ld__world ld__world;

/* One socket. A server connection holds what it read until echoed; a client holds two copies
 * of its byte generator (send and verify) and a checksum of each direction. */
typedef struct ld__conn {
    ld__world *w;
    reactor_socket_t s;
    reactor_chn_t chn;
    unsigned interest;
    int client, connected, done, half_closed;
    uint64_t sent, received;
    uint64_t tx_rng, rx_rng; /* generator states: byte i of the stream is the i-th output */
    uint64_t tx_sum, rx_sum; /* FNV-1a of the bytes sent / received */
    size_t off, len;
    unsigned char buf[LD_BUF];
} ld__conn;

struct ld__world {
    sup_loop *f;
    reactor_socket_t listener;
    reactor_chn_t listener_chn;
    ld__conn *clients, *servers;
    int n, started, connecting, connected, accepted, sending, finished, server_open;
    int peak_open;  /* most client + server sockets open at once */
    uint64_t total; /* bytes per client stream */
    size_t window;
    int failed;
    char why[160];
    /* memory samples */
    uint64_t peak_bytes_live, peak_rss;
};

static uint64_t ld__rss(void)
{
#if defined(_WIN32)
    PROCESS_MEMORY_COUNTERS pmc;
    if (!GetProcessMemoryInfo(GetCurrentProcess(), &pmc, sizeof pmc))
        return 0;
    return (uint64_t)pmc.WorkingSetSize;
#else
    FILE *fp = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (!fp)
        return 0;
    if (fscanf(fp, "%lu %lu", &size, &resident) != 2)
        resident = 0;
    fclose(fp);
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
#endif
}

static unsigned char ld__next(uint64_t *state)
{
    /* xorshift64*: a stream per connection, so a byte of another connection fails too */
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return (unsigned char)((x * 2685821657736338717ull) >> 56);
}

static uint64_t ld__fnv(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static void ld__fail(ld__world *w, const char *why, int index)
{
    if (!w->failed)
        snprintf(w->why, sizeof w->why, "%.100s (connection %d)", why, index);
    w->failed = 1;
}

static void ld__want(ld__conn *c, unsigned interest)
{
    if (c->interest == interest)
        return;
    int err = reactor_modify(c->w->f->r, c->chn, interest);
    if (err)
        ld__fail(c->w, reactor_err_name(err), c->client);
    c->interest = interest;
}

static void ld__close(ld__conn *c)
{
    ld__world *w = c->w;
    if (reactor_remove(w->f->r, c->chn) != 0)
        ld__fail(w, "remove", c->client);
    sup_close(c->s);
    c->s = REACTOR_INVALID_SOCKET;
    c->chn = 0;
    c->done = 1;
}

/* ---- server side: echo, with back-pressure ---- */

static void ld__server_io(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    (void)r;
    (void)chn;
    ld__conn *c = arg;
    ld__world *w = c->w;
    int eof = 0;
    if ((events & (REACTOR_READABLE | REACTOR_HANGUP | REACTOR_ERROR)) && c->len < LD_BUF) {
        long n = sup_recv(c->s, c->buf + c->len, LD_BUF - c->len);
        if (n > 0)
            c->len += (size_t)n;
        else if (n == 0 || (events & REACTOR_ERROR))
            eof = 1; /* the client half-closed after its last echo */
    }
    while (c->off < c->len) {
        long n = sup_send(c->s, c->buf + c->off, c->len - c->off);
        if (n <= 0)
            break;
        c->off += (size_t)n;
    }
    if (c->off == c->len)
        c->off = c->len = 0;
    if (eof && !c->len) {
        ld__close(c);
        w->server_open--;
        return;
    }
    ld__want(c,
             (c->len < LD_BUF ? REACTOR_READABLE : 0u) | (c->off < c->len ? REACTOR_WRITABLE : 0u));
}

static void ld__accept(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    (void)chn;
    (void)events;
    ld__world *w = arg;
    reactor_socket_t s;
    while (w->accepted < w->n && sup_accept(w->listener, &s) == 0) {
        ld__conn *c = &w->servers[w->accepted];
        c->w = w;
        c->s = s;
        c->client = w->accepted;
        c->interest = REACTOR_READABLE;
        int err = reactor_add(r, s, REACTOR_READABLE, ld__server_io, c, &c->chn);
        if (err) {
            sup_close(s);
            ld__fail(w, reactor_err_name(err), c->client);
            return;
        }
        w->accepted++;
        w->server_open++;
    }
}

/* ---- client side: a window of bytes in flight, every byte checked ---- */

static int ld__client_send(ld__conn *c)
{
    ld__world *w = c->w;
    unsigned char chunk[LD_BUF];
    while (c->sent < w->total && c->sent - c->received < w->window) {
        uint64_t n = w->total - c->sent;
        uint64_t room = w->window - (c->sent - c->received);
        if (n > room)
            n = room;
        if (n > sizeof chunk)
            n = sizeof chunk;
        uint64_t saved = c->tx_rng;
        for (size_t i = 0; i < n; i++)
            chunk[i] = ld__next(&c->tx_rng);
        long k = sup_send(c->s, chunk, (size_t)n);
        if (k <= 0) {
            c->tx_rng = saved; /* nothing went: the same bytes are generated again */
            return 1;
        }
        if ((uint64_t)k < n) {
            /* Partial write: rewind the generator to just after the bytes that went. */
            c->tx_rng = saved;
            for (long i = 0; i < k; i++)
                ld__next(&c->tx_rng);
        }
        c->tx_sum = ld__fnv(c->tx_sum, chunk, (size_t)k);
        c->sent += (uint64_t)k;
        if ((uint64_t)k < n)
            return 1;
    }
    return 0;
}

static void ld__client_io(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    (void)r;
    (void)chn;
    ld__conn *c = arg;
    ld__world *w = c->w;
    if (!c->connected) {
        if (!(events & (REACTOR_WRITABLE | REACTOR_ERROR | REACTOR_HANGUP)))
            return;
        if (sup_sock_error(c->s) != 0 || (events & REACTOR_ERROR)) {
            ld__fail(w, "connect failed", c->client);
            return;
        }
        c->connected = 1;
        w->connecting--;
        w->connected++;
        ld__want(c, REACTOR_READABLE); /* quiet until every connection is open */
        return;
    }
    if (events & (REACTOR_READABLE | REACTOR_HANGUP | REACTOR_ERROR)) {
        unsigned char chunk[LD_BUF];
        for (;;) {
            long n = sup_recv(c->s, chunk, sizeof chunk);
            if (n == 0 && c->received == w->total && c->sent == w->total) {
                /* The server closed after our half-close: this connection is finished. */
                ld__close(c);
                w->finished++;
                return;
            }
            if (n == 0 || (n < 0 && (events & REACTOR_ERROR))) {
                ld__fail(w, "connection ended early", c->client);
                ld__close(c);
                return;
            }
            if (n < 0)
                break;
            if (c->received + (uint64_t)n > c->sent) {
                ld__fail(w, "more bytes came back than were sent", c->client);
                return;
            }
            for (long i = 0; i < n; i++) {
                if (chunk[i] != ld__next(&c->rx_rng)) {
                    ld__fail(w, "wrong byte", c->client);
                    return;
                }
            }
            c->rx_sum = ld__fnv(c->rx_sum, chunk, (size_t)n);
            c->received += (uint64_t)n;
        }
    }
    if (!w->sending)
        return;
    if (c->received == w->total) {
        if (c->sent == w->total && !c->half_closed) {
            if (sup_shutdown_write(c->s) != 0) /* the server sees end of stream and closes */
                ld__fail(w, "shutdown", c->client);
            c->half_closed = 1;
            ld__want(c, REACTOR_READABLE);
        }
        return;
    }
    int full = ld__client_send(c);
    ld__want(c, REACTOR_READABLE | (full ? REACTOR_WRITABLE : 0u));
}

static void ld__start_clients(ld__world *w, uint16_t port)
{
    while (w->started < w->n && w->started - w->accepted < LD_CONNECTING && !w->failed) {
        ld__conn *c = &w->clients[w->started];
        c->w = w;
        c->client = w->started;
        c->tx_rng = c->rx_rng = 0x9E3779B97F4A7C15ull * (uint64_t)(w->started + 1);
        c->tx_sum = c->rx_sum = 1469598103934665603ull;
        if (sup_connect_start(port, &c->s) != 0) {
            ld__fail(w, "connect start", c->client);
            return;
        }
        c->interest = REACTOR_READABLE | REACTOR_WRITABLE;
        int err = reactor_add(w->f->r, c->s, c->interest, ld__client_io, c, &c->chn);
        if (err) {
            sup_close(c->s);
            ld__fail(w, reactor_err_name(err), c->client);
            return;
        }
        w->started++;
        w->connecting++;
    }
}

static void ld__sample(ld__world *w)
{
    reactor_stats_t st = sup_stats(w->f);
    if (st.bytes_live > w->peak_bytes_live)
        w->peak_bytes_live = st.bytes_live;
    uint64_t rss = ld__rss();
    if (rss > w->peak_rss)
        w->peak_rss = rss;
    int open = w->server_open + (w->started - w->finished);
    if (open > w->peak_open)
        w->peak_open = open;
}

static void ld__on_sample(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)r;
    (void)t;
    ld__sample(arg);
}

static void ld__on_deadline(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)r;
    (void)t;
    ld__world *w = arg;
    char why[160];
    snprintf(why, sizeof why, "deadline: %d started, %d connected, %d accepted, %d finished",
             w->started, w->connected, w->accepted, w->finished);
    ld__fail(w, why, -1);
}

static long ld__env(const char *name, long fallback, long lo, long hi)
{
    const char *v = getenv(name);
    long x = v ? strtol(v, NULL, 10) : fallback;
    return x < lo ? lo : x > hi ? hi : x;
}

/* One round: connect all, then echo, then close all. Returns the round's wall time in ms. */
static uint64_t ld__round(ld__world *w, uint16_t port, long messages, long size)
{
    uint64_t t0 = sup_clock_ns();
    memset(w->clients, 0, (size_t)w->n * sizeof *w->clients);
    memset(w->servers, 0, (size_t)w->n * sizeof *w->servers);
    w->started = w->connecting = w->connected = w->accepted = w->finished = 0;
    w->sending = w->server_open = w->peak_open = 0;
    w->total = (uint64_t)messages * (uint64_t)size;
    w->window = (size_t)(2 * size);
    reactor_timer_t sample, deadline;
    assert_int_equal(reactor_timer_start(w->f->r, 20, 20, ld__on_sample, w, &sample), 0);
    assert_int_equal(reactor_timer_start(w->f->r, LD_DEADLINE_MS, 0, ld__on_deadline, w, &deadline),
                     0);
    /* Phase 1: every connection open at once, no byte sent yet. */
    while (!w->failed && (w->connected < w->n || w->accepted < w->n)) {
        ld__start_clients(w, port);
        assert_true(reactor_run(w->f->r, REACTOR_RUN_ONCE) >= 0);
    }
    ld__sample(w);
    if (!w->failed && w->peak_open != 2 * w->n)
        ld__fail(w, "not all connections were open at once", -1);
    /* Phase 2: echo; each client half-closes after its last byte came back. */
    w->sending = 1;
    for (int i = 0; i < w->n && !w->failed; i++)
        ld__client_io(w->f->r, w->clients[i].chn, 0, &w->clients[i]);
    while (!w->failed && (w->finished < w->n || w->server_open > 0))
        assert_true(reactor_run(w->f->r, REACTOR_RUN_ONCE) >= 0);
    assert_int_equal(reactor_timer_stop(w->f->r, sample), 0);
    if (!w->failed)
        assert_int_equal(reactor_timer_stop(w->f->r, deadline), 0);
    /* After a failure: unregister and close whatever is left. */
    for (int i = 0; i < w->n; i++) {
        if (w->clients[i].chn)
            ld__close(&w->clients[i]);
        if (w->servers[i].chn)
            ld__close(&w->servers[i]);
    }
    if (w->failed)
        fail_msg("load: %s", w->why);
    for (int i = 0; i < w->n; i++) {
        const ld__conn *c = &w->clients[i];
        assert_int_equal(c->sent, w->total);
        assert_int_equal(c->received, w->total);
        assert_true(c->tx_sum == c->rx_sum);
    }
    return (sup_clock_ns() - t0) / 1000000u;
}

static void echo_at_n_concurrent_connections_checks_every_byte_in_bounded_memory(void **state)
{
    sup_loop *f = *state;
    int n = (int)ld__env("REACTOR_LOAD_CONNECTIONS", 1000, 1, 4000);
    long messages = ld__env("REACTOR_LOAD_MESSAGES", 20, 1, 100000);
    long size = ld__env("REACTOR_LOAD_SIZE", 1024, 1, 1 << 20);
#if !defined(_WIN32)
    /* Two sockets per connection plus the listener and the loop's own descriptors. */
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    rlim_t need = (rlim_t)(2 * n + 64);
    if (rl.rlim_cur < need) {
        if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
            print_message("load: hard RLIMIT_NOFILE %llu < %llu: skipped\n",
                          (unsigned long long)rl.rlim_max, (unsigned long long)need);
            skip();
        }
        rl.rlim_cur = need;
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
#endif
    static ld__world w;
    memset(&w, 0, sizeof w);
    w.f = f;
    w.n = n;
    /* The application's buffers are made and touched before the baseline. */
    w.clients = calloc((size_t)n, sizeof *w.clients);
    w.servers = calloc((size_t)n, sizeof *w.servers);
    assert_non_null(w.clients);
    assert_non_null(w.servers);
    memset(w.clients, 1, (size_t)n * sizeof *w.clients);
    memset(w.servers, 1, (size_t)n * sizeof *w.servers);
    uint16_t port;
    assert_int_equal(sup_listen(&w.listener, &port), 0);
    sup_track(f, w.listener);
    assert_int_equal(reactor_add(f->r, w.listener, REACTOR_READABLE, ld__accept, &w,
                                 &w.listener_chn),
                     0);
    uint64_t rss0 = ld__rss();
    reactor_stats_t s0 = sup_stats(f);

    uint64_t ms1 = ld__round(&w, port, messages, size);
    reactor_stats_t s1 = sup_stats(f);
    uint64_t rss1 = ld__rss(), peak1 = w.peak_rss, live1 = w.peak_bytes_live;
    uint64_t ms2 = ld__round(&w, port, messages, size);
    reactor_stats_t s2 = sup_stats(f);
    uint64_t rss2 = ld__rss();

    print_message("load %s: %d connections x %ld messages x %ld bytes, two rounds (%llu ms, "
                  "%llu ms); loop memory peak %llu bytes (%.0f per channel), %llu allocations "
                  "in round 1, %llu in round 2; RSS %.1f MB -> peak %.1f -> %.1f -> %.1f MB\n",
                  sup_backend_arg(), n, messages, size, (unsigned long long)ms1,
                  (unsigned long long)ms2, (unsigned long long)live1, (double)live1 / (2.0 * n + 1),
                  (unsigned long long)(s1.allocations_total - s0.allocations_total),
                  (unsigned long long)(s2.allocations_total - s1.allocations_total), rss0 / 1e6,
                  peak1 / 1e6, rss1 / 1e6, rss2 / 1e6);
    /* Loop memory: bounded per channel (arrays double, so up to twice the need) plus a base. */
    assert_true(live1 <= 65536u + 512u * (2u * (uint64_t)n + 1u));
    assert_int_equal(s2.channels, 1);
    /* A second identical round fits in what the first grew: no allocation, no new bytes. */
    assert_int_equal(s2.allocations_total, s1.allocations_total);
    assert_int_equal(s2.bytes_live, s1.bytes_live);
    assert_int_equal(s2.allocations_live, s1.allocations_live);
    /* The process: the first round's growth is bounded, the second adds next to nothing. */
    if (rss0 && rss1 && rss2) {
        assert_true(peak1 <= rss0 + 64u * 1024 * 1024);
        assert_true(rss2 <= rss1 + 8u * 1024 * 1024);
    }
    assert_int_equal(reactor_remove(f->r, w.listener_chn), 0);
    free(w.clients);
    free(w.servers);
}

int main(int argc, char **argv)
{
    // clang-format off
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(echo_at_n_concurrent_connections_checks_every_byte_in_bounded_memory, sup_setup, sup_teardown),
    };
    // clang-format on
    return sup_main(argc, argv, "load.echo", tests, sizeof tests / sizeof tests[0], 1);
}
