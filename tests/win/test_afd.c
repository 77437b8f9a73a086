/* test_afd.c - the AFD backend under Wine (or Windows): the lifetime cases that break designs
 * which hand the kernel pointers into movable memory, on real sockets. Every test ends with the
 * loop destroyed and zero live allocations in its own counting allocator. */
#include <winsock2.h>
#include <ws2tcpip.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backend.h"
#include "win/afd.h"
#include "win/iocp.h"
#include "win/pinned_pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a counting allocator (size header, so frees are exact) ---- */

typedef struct t_alloc {
    reactor_allocator_t fn;
    int64_t live;
} t_alloc;

static void *t_malloc(void *ctx, size_t size)
{
    size_t *p = malloc(size + 16);
    if (!p)
        return NULL;
    ((t_alloc *)ctx)->live++;
    p[0] = size;
    return (char *)p + 16;
}

static void *t_realloc(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    char *p = realloc((char *)ptr - 16, size + 16);
    if (!p)
        return NULL;
    ((size_t *)p)[0] = size;
    return p + 16;
}

static void t_free(void *ctx, void *ptr)
{
    ((t_alloc *)ctx)->live--;
    free((char *)ptr - 16);
}

/* ---- a loop on the AFD backend, optionally on a wrapped kernel ---- */

static t_alloc g_alloc;
static const rx_afd_kernel *g_kernel;
static void *g_be; /* the backend state of the loop made last */

static int t_init(void **be, rx_alloc *a)
{
    int err = rx_iocp_init_kernel(be, a, g_kernel);
    if (!err)
        g_be = *be;
    return err;
}

static reactor_t *t_loop(const rx_afd_kernel *k)
{
    static rx_backend_ops ops;
    ops = rx_afd_ops;
    ops.init = t_init;
    g_kernel = k ? k : &rx_afd_nt;
    g_alloc.fn.malloc = t_malloc;
    g_alloc.fn.realloc = t_realloc;
    g_alloc.fn.free = t_free;
    g_alloc.fn.ctx = &g_alloc;
    g_alloc.live = 0;
    reactor_options_t o;
    memset(&o, 0, sizeof o);
    o.allocator = &g_alloc.fn;
    reactor_t *r = NULL;
    assert_int_equal(rx_create_with(&r, &o, &ops), 0);
    assert_string_equal(reactor_backend_name(r), "afd");
    return r;
}

static void t_destroy(reactor_t *r)
{
    reactor_destroy(r);
    assert_int_equal(g_alloc.live, 0);
}

static reactor_stats_t t_stats(reactor_t *r)
{
    reactor_stats_t st;
    assert_int_equal(reactor_stats(r, &st), 0);
    return st;
}

/* Runs the loop until *done or about 10 s pass; a 5 ms ticker bounds every wait. */
static void t_tick(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)r;
    (void)t;
    (*(int *)arg)++;
}

typedef int (*t_cond)(reactor_t *r, void *ctx);

static void t_drive(reactor_t *r, t_cond cond, void *ctx)
{
    int ticks = 0;
    reactor_timer_t t;
    assert_int_equal(reactor_timer_start(r, 5, 5, t_tick, &ticks, &t), 0);
    while (!cond(r, ctx) && ticks < 2000)
        assert_true(reactor_run(r, REACTOR_RUN_ONCE) >= 0);
    assert_int_equal(reactor_timer_stop(r, t), 0);
    assert_true(cond(r, ctx));
}

static int t_no_pending(reactor_t *r, void *ctx)
{
    (void)ctx;
    return t_stats(r).pending_polls == 0;
}

/* ---- sockets ---- */

static SOCKET t_udp(uint16_t *port)
{
    SOCKET s = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    assert_true(s != INVALID_SOCKET);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    int len = sizeof a;
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    u_long one = 1;
    assert_int_equal(ioctlsocket(s, FIONBIO, &one), 0);
    return s;
}

static void t_sendto(SOCKET from, uint16_t port, int value)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    assert_int_equal(sendto(from, (const char *)&value, sizeof value, 0, (struct sockaddr *)&a,
                            sizeof a),
                     (int)sizeof value);
}

/* Waits (bounded, in the kernel) until s is readable. */
static void t_wait_readable(SOCKET s)
{
    fd_set set;
    FD_ZERO(&set);
    FD_SET(s, &set);
    struct timeval tv = {5, 0};
    assert_int_equal(select(0, &set, NULL, NULL, &tv), 1);
}

static SOCKET t_listen(uint16_t *port)
{
    SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    assert_true(s != INVALID_SOCKET);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s, 64), 0);
    int len = sizeof a;
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    u_long one = 1;
    assert_int_equal(ioctlsocket(s, FIONBIO, &one), 0);
    return s;
}

static SOCKET t_connect(uint16_t port)
{
    SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    assert_true(s != INVALID_SOCKET);
    u_long one = 1;
    assert_int_equal(ioctlsocket(s, FIONBIO, &one), 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0)
        assert_int_equal(WSAGetLastError(), WSAEWOULDBLOCK);
    return s;
}

/* ---- growth and swap-remove while polls are pending ---- */

#define GROW_FIRST 100
#define GROW_MORE 2000
#define GROW_ALL (GROW_FIRST + GROW_MORE)

typedef struct grow_ctx {
    SOCKET s[GROW_ALL];
    uint16_t port[GROW_ALL];
    reactor_chn_t chn[GROW_ALL];
    int got[GROW_ALL];
    int expected, received, wrong;
} grow_ctx;

static grow_ctx *g_grow;

static void grow_cb(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    (void)r;
    int i = (int)(intptr_t)arg;
    grow_ctx *g = g_grow;
    if (chn != g->chn[i] || !(events & REACTOR_READABLE)) {
        g->wrong++;
        return;
    }
    int value = -1;
    /* The datagram names the socket it was sent to: it must be the one this channel has. */
    if (recv(g->s[i], (char *)&value, sizeof value, 0) != (int)sizeof value || value != i)
        g->wrong++;
    g->got[i]++;
    g->received++;
}

static int grow_done(reactor_t *r, void *ctx)
{
    (void)r;
    grow_ctx *g = ctx;
    return g->received >= g->expected || g->wrong;
}

static void growth_while_pending_lands_events_on_the_right_channel(void **state)
{
    (void)state;
    grow_ctx *g = calloc(1, sizeof *g);
    assert_non_null(g);
    g_grow = g;
    reactor_t *r = t_loop(NULL);
    uint16_t sport;
    SOCKET sender = t_udp(&sport);
    for (int i = 0; i < GROW_ALL; i++)
        g->s[i] = t_udp(&g->port[i]);
    for (int i = 0; i < GROW_FIRST; i++)
        assert_int_equal(reactor_add(r, g->s[i], REACTOR_READABLE, grow_cb, (void *)(intptr_t)i,
                                     &g->chn[i]),
                         0);
    assert_int_equal(reactor_run(r, REACTOR_RUN_NOWAIT), 1);
    assert_int_equal(t_stats(r).pending_polls, GROW_FIRST);
    /* The table and every backend array grow (and move) under 100 pending polls. */
    for (int i = GROW_FIRST; i < GROW_ALL; i++)
        assert_int_equal(reactor_add(r, g->s[i], REACTOR_READABLE, grow_cb, (void *)(intptr_t)i,
                                     &g->chn[i]),
                         0);
    /* Swap-removes of channels whose polls are pending move other records into their slots. */
    int removed = 0;
    for (int i = 0; i < GROW_ALL; i += 10, removed++)
        assert_int_equal(reactor_remove(r, g->chn[i]), 0);
    for (int i = 0; i < GROW_ALL; i++) {
        if (i % 10 != 0 && i % 3 == 0) {
            t_sendto(sender, g->port[i], i);
            g->expected++;
        }
    }
    t_drive(r, grow_done, g);
    assert_int_equal(g->wrong, 0);
    for (int i = 0; i < GROW_ALL; i++)
        assert_int_equal(g->got[i], (i % 10 != 0 && i % 3 == 0) ? 1 : 0);
    for (int i = 0; i < GROW_ALL; i += 10)
        t_sendto(sender, g->port[i], i); /* to removed channels: nobody may see these */
    for (int k = 0; k < 20; k++)
        assert_true(reactor_run(r, REACTOR_RUN_NOWAIT) >= 0);
    assert_int_equal(g->wrong, 0);
    assert_int_equal(g->received, g->expected);
    reactor_stats_t st = t_stats(r);
    print_message("growth: %d removed while pending, %llu stale completions, %llu blocks\n",
                  removed, (unsigned long long)st.stale_completions,
                  (unsigned long long)st.pinned_blocks);
    t_destroy(r);
    for (int i = 0; i < GROW_ALL; i++)
        closesocket(g->s[i]);
    closesocket(sender);
    free(g);
}

/* ---- remove while pending, then the same number for a new socket ---- */

typedef struct reuse_ctx {
    SOCKET a, b;
    int a_calls, b_calls, b_wrong;
} reuse_ctx;

static void reuse_a_cb(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    (void)r;
    (void)chn;
    (void)events;
    ((reuse_ctx *)arg)->a_calls++;
}

static void reuse_b_cb(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    (void)r;
    (void)chn;
    reuse_ctx *c = arg;
    int value = 0;
    if (!(events & REACTOR_READABLE) ||
        recv(c->b, (char *)&value, sizeof value, 0) != (int)sizeof value || value != 'B')
        c->b_wrong++;
    c->b_calls++;
}

static int reuse_settled(reactor_t *r, void *ctx)
{
    reuse_ctx *c = ctx;
    reactor_stats_t st = t_stats(r);
    return c->b_calls >= 1 && st.stale_completions >= 1 && st.pending_polls == 1;
}

static void reuse_case(int a_ready_first)
{
    reuse_ctx c;
    memset(&c, 0, sizeof c);
    reactor_t *r = t_loop(NULL);
    uint16_t pa, pb, ps;
    SOCKET sender = t_udp(&ps);
    c.a = t_udp(&pa);
    c.b = t_udp(&pb);
    reactor_chn_t ca, cb;
    assert_int_equal(reactor_add(r, c.a, REACTOR_READABLE, reuse_a_cb, &c, &ca), 0);
    assert_int_equal(reactor_run(r, REACTOR_RUN_NOWAIT), 1);
    assert_int_equal(t_stats(r).pending_polls, 1);
    if (a_ready_first) {
        /* A's poll completes: its packet may already be queued when A is removed. */
        t_sendto(sender, pa, 'A');
        t_wait_readable(c.a);
    }
    assert_int_equal(reactor_remove(r, ca), 0);
    assert_int_equal(reactor_add(r, c.b, REACTOR_READABLE, reuse_b_cb, &c, &cb), 0);
    assert_int_equal(cb, ca); /* the core hands the released number straight back */
    t_sendto(sender, pb, 'B');
    t_drive(r, reuse_settled, &c);
    assert_int_equal(c.a_calls, 0);
    assert_int_equal(c.b_calls, 1);
    assert_int_equal(c.b_wrong, 0);
    reactor_stats_t st = t_stats(r);
    assert_int_equal(st.stale_completions, 1);
    print_message("reuse (A %s): stale completions %llu\n", a_ready_first ? "ready" : "idle",
                  (unsigned long long)st.stale_completions);
    assert_int_equal(reactor_remove(r, cb), 0);
    t_destroy(r);
    closesocket(c.a);
    closesocket(c.b);
    closesocket(sender);
}

static void reuse_of_number_before_cancel_completes_drops_the_stale_packet(void **state)
{
    (void)state;
    reuse_case(0);
}

static void reuse_of_number_after_old_poll_completed_drops_its_events(void **state)
{
    (void)state;
    reuse_case(1);
}

/* ---- 1000 connect / send / receive / close cycles on one loop ---- */

typedef struct cyc_ctx {
    reactor_t *r;
    SOCKET listener, client, server;
    reactor_chn_t lchn, cchn, schn;
    int sent, client_done, server_done, cycles, errors;
} cyc_ctx;

static void cyc_server_cb(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    cyc_ctx *c = arg;
    (void)events;
    char buf[16];
    int n = recv(c->server, buf, sizeof buf, 0);
    if (n == 4) {
        if (send(c->server, "pong", 4, 0) != 4)
            c->errors++;
    } else if (n == 0 || (n < 0 && WSAGetLastError() != WSAEWOULDBLOCK)) {
        assert_int_equal(reactor_remove(r, chn), 0);
        closesocket(c->server);
        c->server_done = 1;
    }
}

static void cyc_listen_cb(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    cyc_ctx *c = arg;
    (void)chn;
    (void)events;
    SOCKET s = accept(c->listener, NULL, NULL);
    if (s == INVALID_SOCKET)
        return;
    u_long one = 1;
    ioctlsocket(s, FIONBIO, &one);
    c->server = s;
    if (reactor_add(r, s, REACTOR_READABLE, cyc_server_cb, c, &c->schn))
        c->errors++;
}

static void cyc_client_cb(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    cyc_ctx *c = arg;
    if (events & REACTOR_ERROR) {
        c->errors++;
        return;
    }
    if ((events & REACTOR_WRITABLE) && !c->sent) {
        if (send(c->client, "ping", 4, 0) != 4)
            c->errors++;
        c->sent = 1;
        assert_int_equal(reactor_modify(r, chn, REACTOR_READABLE), 0);
        return;
    }
    if (events & REACTOR_READABLE) {
        char buf[16];
        if (recv(c->client, buf, sizeof buf, 0) != 4 || memcmp(buf, "pong", 4) != 0)
            c->errors++;
        assert_int_equal(reactor_remove(r, chn), 0);
        closesocket(c->client);
        c->client_done = 1;
    }
}

static int cyc_done(reactor_t *r, void *ctx)
{
    (void)r;
    cyc_ctx *c = ctx;
    return (c->client_done && c->server_done) || c->errors;
}

static void reconnect_cycles_single_threaded_keep_one_spare_block(void **state)
{
    (void)state;
    cyc_ctx c;
    memset(&c, 0, sizeof c);
    reactor_t *r = t_loop(NULL);
    c.r = r;
    uint16_t port;
    c.listener = t_listen(&port);
    assert_int_equal(reactor_add(r, c.listener, REACTOR_READABLE, cyc_listen_cb, &c, &c.lchn), 0);
    uint64_t peak = 0;
    for (c.cycles = 0; c.cycles < 1000; c.cycles++) {
        c.sent = c.client_done = c.server_done = 0;
        c.client = t_connect(port);
        assert_int_equal(reactor_add(r, c.client, REACTOR_WRITABLE, cyc_client_cb, &c, &c.cchn), 0);
        t_drive(r, cyc_done, &c);
        assert_int_equal(c.errors, 0);
        uint64_t blocks = t_stats(r).pinned_blocks;
        peak = blocks > peak ? blocks : peak;
    }
    assert_int_equal(reactor_remove(r, c.lchn), 0);
    t_drive(r, t_no_pending, NULL);
    reactor_stats_t st = t_stats(r);
    assert_true(st.pinned_blocks <= 1);
    print_message("1000 cycles: blocks now %llu, peak %llu, ever %llu, stale %llu\n",
                  (unsigned long long)st.pinned_blocks, (unsigned long long)peak,
                  (unsigned long long)rx_iocp_blocks_total(g_be),
                  (unsigned long long)st.stale_completions);
    t_destroy(r);
    closesocket(c.listener);
}

/* ---- 10,000 channel churn ---- */

static void nop_cb(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    (void)r;
    (void)chn;
    (void)events;
    (void)arg;
}

static void churn_of_10000_channels_reuses_blocks(void **state)
{
    (void)state;
    enum { WINDOW = 200, TOTAL = 10000 };
    reactor_t *r = t_loop(NULL);
    SOCKET s[WINDOW];
    reactor_chn_t chn[WINDOW];
    uint64_t peak = 0;
    for (int i = 0; i < TOTAL; i++) {
        int k = i % WINDOW;
        if (i >= WINDOW) {
            assert_int_equal(reactor_remove(r, chn[k]), 0);
            closesocket(s[k]);
        }
        uint16_t port;
        s[k] = t_udp(&port);
        assert_int_equal(reactor_add(r, s[k], REACTOR_READABLE, nop_cb, NULL, &chn[k]), 0);
        assert_true(reactor_run(r, REACTOR_RUN_NOWAIT) >= 0);
        uint64_t blocks = t_stats(r).pinned_blocks;
        peak = blocks > peak ? blocks : peak;
    }
    for (int k = 0; k < WINDOW; k++) {
        assert_int_equal(reactor_remove(r, chn[k]), 0);
        closesocket(s[k]);
    }
    t_drive(r, t_no_pending, NULL);
    reactor_stats_t st = t_stats(r);
    assert_true(st.pinned_blocks <= 1);
    print_message("10000 churn (window %d): blocks ever %llu, peak %llu, now %llu, stale %llu\n",
                  WINDOW, (unsigned long long)rx_iocp_blocks_total(g_be), (unsigned long long)peak,
                  (unsigned long long)st.pinned_blocks, (unsigned long long)st.stale_completions);
    assert_true(rx_iocp_blocks_total(g_be) <= 8);
    t_destroy(r);
}

/* ---- an arm that succeeds at once ---- */

typedef struct once_ctx {
    SOCKET s;
    int calls;
    int read;
} once_ctx;

static void once_cb(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    (void)r;
    (void)chn;
    once_ctx *c = arg;
    assert_true(events & REACTOR_READABLE);
    c->calls++;
    if (c->read) {
        int v;
        assert_int_equal(recv(c->s, (char *)&v, sizeof v, 0), (int)sizeof v);
    }
}

static void immediate_success_is_delivered_once(void **state)
{
    (void)state;
    reactor_t *r = t_loop(NULL);
    uint16_t port, sport;
    SOCKET sender = t_udp(&sport);
    once_ctx c = {t_udp(&port), 0, 0};
    t_sendto(sender, port, 7);
    t_wait_readable(c.s); /* the poll's condition holds before it is issued */
    reactor_chn_t chn;
    assert_int_equal(reactor_add(r, c.s, REACTOR_READABLE, once_cb, &c, &chn), 0);
    assert_int_equal(reactor_run(r, REACTOR_RUN_ONCE), 1);
    assert_int_equal(c.calls, 1); /* one report per iteration, not one inline plus the packet */
    c.read = 1;
    assert_int_equal(reactor_run(r, REACTOR_RUN_ONCE), 1); /* level-triggered: still readable */
    assert_int_equal(c.calls, 2);
    int ticks = 0;
    reactor_timer_t t;
    assert_int_equal(reactor_timer_start(r, 5, 5, t_tick, &ticks, &t), 0);
    while (ticks < 20)
        assert_true(reactor_run(r, REACTOR_RUN_ONCE) >= 0);
    assert_int_equal(reactor_timer_stop(r, t), 0);
    assert_int_equal(c.calls, 2);
    assert_int_equal(reactor_remove(r, chn), 0);
    t_destroy(r);
    closesocket(c.s);
    closesocket(sender);
}

/* ---- the application closes a socket it did not remove ---- */

typedef struct closed_ctx {
    unsigned events;
    int calls;
} closed_ctx;

static void closed_cb(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    (void)r;
    (void)chn;
    closed_ctx *c = arg;
    c->events |= events;
    c->calls++;
}

static void closesocket_without_remove_reports_error_once(void **state)
{
    (void)state;
    reactor_t *r = t_loop(NULL);
    uint16_t port;
    SOCKET s = t_udp(&port);
    closed_ctx c = {0, 0};
    reactor_chn_t chn;
    assert_int_equal(reactor_add(r, s, REACTOR_READABLE, closed_cb, &c, &chn), 0);
    assert_int_equal(reactor_run(r, REACTOR_RUN_NOWAIT), 1);
    assert_int_equal(t_stats(r).pending_polls, 1);
    closesocket(s);
    t_drive(r, t_no_pending, NULL);
    int ticks = 0;
    reactor_timer_t t;
    assert_int_equal(reactor_timer_start(r, 5, 5, t_tick, &ticks, &t), 0);
    while (ticks < 20)
        assert_true(reactor_run(r, REACTOR_RUN_ONCE) >= 0);
    assert_int_equal(reactor_timer_stop(r, t), 0);
    assert_int_equal(c.calls, 1);
    assert_true(c.events & REACTOR_ERROR);
    assert_int_equal(t_stats(r).pending_polls, 0);
    assert_int_equal(reactor_remove(r, chn), 0);
    t_destroy(r);
}

static void adding_a_closed_or_foreign_handle_is_ebadf(void **state)
{
    (void)state;
    reactor_t *r = t_loop(NULL);
    uint16_t port;
    SOCKET s = t_udp(&port);
    closesocket(s);
    reactor_chn_t chn;
    assert_int_equal(reactor_add(r, s, REACTOR_READABLE, nop_cb, NULL, &chn), REACTOR_EBADF);
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, NULL);
    assert_non_null(ev);
    assert_int_equal(reactor_add(r, (reactor_socket_t)ev, REACTOR_READABLE, nop_cb, NULL, &chn),
                     REACTOR_EBADF);
    CloseHandle(ev);
    assert_int_equal(t_stats(r).channels, 0);
    t_destroy(r);
}

/* ---- interest changes while a poll is pending ---- */

static void modify_while_pending_cancels_and_rearms(void **state)
{
    (void)state;
    reactor_t *r = t_loop(NULL);
    uint16_t port;
    SOCKET s = t_udp(&port); /* idle UDP: writable, not readable */
    closed_ctx c = {0, 0};
    reactor_chn_t chn;
    assert_int_equal(reactor_add(r, s, REACTOR_READABLE, closed_cb, &c, &chn), 0);
    assert_int_equal(reactor_run(r, REACTOR_RUN_NOWAIT), 1);
    assert_int_equal(t_stats(r).pending_polls, 1);
    assert_int_equal(reactor_modify(r, chn, REACTOR_WRITABLE), 0);
    int ticks = 0;
    reactor_timer_t t;
    assert_int_equal(reactor_timer_start(r, 5, 5, t_tick, &ticks, &t), 0);
    while (!c.calls && ticks < 2000)
        assert_true(reactor_run(r, REACTOR_RUN_ONCE) >= 0);
    assert_int_equal(reactor_timer_stop(r, t), 0);
    assert_int_equal(c.events, REACTOR_WRITABLE);
    assert_int_equal(t_stats(r).stale_completions, 0);
    assert_int_equal(reactor_remove(r, chn), 0);
    t_destroy(r);
    closesocket(s);
}

/* ---- destroy with polls pending ---- */

static void destroy_with_polls_pending_frees_everything(void **state)
{
    (void)state;
    reactor_t *r = t_loop(NULL);
    SOCKET s[50];
    reactor_chn_t chn[50];
    for (int i = 0; i < 50; i++) {
        uint16_t port;
        s[i] = t_udp(&port);
        assert_int_equal(reactor_add(r, s[i], REACTOR_READABLE, nop_cb, NULL, &chn[i]), 0);
    }
    assert_int_equal(reactor_run(r, REACTOR_RUN_NOWAIT), 1);
    for (int i = 0; i < 50; i += 2)
        assert_int_equal(reactor_remove(r, chn[i]), 0); /* orphans, cancellation in flight */
    reactor_stats_t st = t_stats(r);
    assert_int_equal(st.pending_polls, 50);
    t_destroy(r); /* zero live allocations: every pending poll was drained */
    for (int i = 0; i < 50; i++)
        closesocket(s[i]);
}

/* ---- a late kernel write into a freed state is caught ---- */

static rx_iosb *g_last_iosb;

static int32_t rec_poll(uintptr_t helper, rx_iosb *iosb, rx_afd_poll_info *info, uintptr_t ctx)
{
    g_last_iosb = iosb;
    return rx_afd_nt.poll(helper, iosb, info, ctx);
}

static void late_write_into_freed_state_is_caught_by_poison(void **state)
{
    (void)state;
    static rx_afd_kernel k;
    k = rx_afd_nt;
    k.poll = rec_poll;
    reactor_t *r = t_loop(&k);
    uint16_t port;
    SOCKET s = t_udp(&port);
    reactor_chn_t chn;
    assert_int_equal(reactor_add(r, s, REACTOR_READABLE, nop_cb, NULL, &chn), 0);
    assert_int_equal(reactor_run(r, REACTOR_RUN_NOWAIT), 1);
    rx_iosb *freed = g_last_iosb;
    assert_int_equal(reactor_remove(r, chn), 0);
    t_drive(r, t_no_pending, NULL); /* the cancellation's packet frees the state */
    assert_int_equal(rx_iocp_poison_hits(g_be), 0);
    freed->u.status = 0; /* what a kernel holding a stale pointer would do */
    assert_int_equal(rx_iocp_poison_hits(g_be), 1);
    t_destroy(r);
    closesocket(s);
}

/* ---- the pool ---- */

static void pool_frees_emptied_blocks_keeping_one_spare(void **state)
{
    (void)state;
    t_alloc a = {{t_malloc, t_realloc, t_free, NULL}, 0};
    a.fn.ctx = &a;
    rx_alloc ra;
    rx_alloc_init(&ra, &a.fn);
    const rx_afd_kernel *k = &rx_afd_nt;
    uintptr_t port;
    assert_int_equal(k->port_open(&port), 0);
    rx_pin_pool p;
    rx_pool_init(&p, &ra, k, port, 1);
    enum { N = 3 * RX_PIN_PER_BLOCK + 5 };
    rx_pinned *s[N];
    int err = 0;
    int32_t st = 0;
    for (int i = 0; i < N; i++) {
        s[i] = rx_pool_get(&p, &err, &st);
        assert_non_null(s[i]);
        for (int j = 0; j < i; j++)
            assert_ptr_not_equal(s[i], s[j]);
        /* One group per block: the block's states share its helper, other blocks' do not. */
        if (i % RX_PIN_PER_BLOCK)
            assert_true(rx_pool_helper(s[i]) == rx_pool_helper(s[i - 1]));
        else if (i)
            assert_true(rx_pool_helper(s[i]) != rx_pool_helper(s[i - 1]));
    }
    assert_int_equal(p.blocks, 4);
    assert_int_equal(p.helpers, 4);
    for (int i = 0; i < N; i++)
        rx_pool_put(&p, s[i]);
    assert_int_equal(p.blocks, 1);
    assert_int_equal(p.helpers, 1); /* the spare keeps its helper */
    assert_int_equal(p.empty, 1);
    assert_int_equal(rx_pool_check(&p), 0);
    rx_pinned *x = rx_pool_get(&p, &err, &st);
    rx_pool_put(&p, x);
    x->info.handles[0].events = 1; /* a write after put */
    assert_int_equal(rx_pool_check_recent(&p), 1);
    assert_int_equal(rx_pool_check(&p), 1);
    x = rx_pool_get(&p, &err, &st); /* reuse re-checks; the block hands x out again first */
    assert_true(p.poison_hits >= 3);
    rx_pool_put(&p, x);
    assert_int_equal(rx_pool_free(&p), 0);
    assert_int_equal(p.helpers, 0);
    k->handle_close(port);
    assert_int_equal(a.live, 0);
}

/* ---- the base-handle lookup through layered providers (scripted) ---- */

static int fake_ioctl(uintptr_t sock, uint32_t code, uintptr_t *out)
{
    /* 100: an LSP that refuses SIO_BASE_HANDLE but answers SIO_BSP_HANDLE_POLL with 200, which
     * answers SIO_BASE_HANDLE with 300. 7: not a socket. 9: answers nothing. */
    if (sock == 7)
        return RX_WSAENOTSOCK;
    if (sock == 100 && code == RX_SIO_BSP_HANDLE_POLL) {
        *out = 200;
        return 0;
    }
    if (sock == 200 && code == RX_SIO_BASE_HANDLE) {
        *out = 300;
        return 0;
    }
    return 10022; /* WSAEINVAL */
}

static void base_handle_walks_down_layered_providers(void **state)
{
    (void)state;
    rx_afd_kernel k = rx_afd_nt;
    k.socket_ioctl = fake_ioctl;
    uintptr_t base = 0;
    assert_int_equal(rx_afd_base_handle(&k, 100, &base, NULL), 0);
    assert_int_equal(base, 300);
    assert_int_equal(rx_afd_base_handle(&k, 7, &base, NULL), REACTOR_EBADF);
    assert_int_equal(rx_afd_base_handle(&k, 9, &base, NULL), REACTOR_EBADF);
}

static void event_mapping_follows_the_design(void **state)
{
    (void)state;
    assert_int_equal(rx_afd_events(RX_AFD_POLL_RECEIVE), REACTOR_READABLE);
    assert_int_equal(rx_afd_events(RX_AFD_POLL_ACCEPT), REACTOR_READABLE);
    assert_int_equal(rx_afd_events(RX_AFD_POLL_SEND), REACTOR_WRITABLE);
    /* CONNECT stays set on a connected socket: as WRITABLE it would never stop (wepoll, mio). */
    assert_int_equal(rx_afd_events(RX_AFD_POLL_CONNECT), 0);
    assert_int_equal(rx_afd_events(RX_AFD_POLL_DISCONNECT), REACTOR_READABLE | REACTOR_HALFCLOSE);
    assert_int_equal(rx_afd_events(RX_AFD_POLL_ABORT), REACTOR_HANGUP | REACTOR_ERROR);
    assert_int_equal(rx_afd_events(RX_AFD_POLL_CONNECT_FAIL), REACTOR_ERROR);
    assert_int_equal(rx_afd_events(RX_AFD_POLL_LOCAL_CLOSE), REACTOR_ERROR);
    assert_true(rx_afd_mask(0) & RX_AFD_POLL_LOCAL_CLOSE);
    /* A graceful close is level-triggered: watched only with READABLE, never with interest 0. */
    assert_false(rx_afd_mask(0) & RX_AFD_POLL_DISCONNECT);
    assert_false(rx_afd_mask(REACTOR_WRITABLE) & RX_AFD_POLL_DISCONNECT);
    assert_true(rx_afd_mask(REACTOR_READABLE) & RX_AFD_POLL_RECEIVE);
    assert_false(rx_afd_mask(REACTOR_READABLE) & RX_AFD_POLL_SEND);
    assert_true(rx_afd_mask(REACTOR_WRITABLE) & RX_AFD_POLL_SEND);
}

/* ---- kernel facts the backend relies on (the real table) ---- */

static void kernel_immediate_success_still_posts_one_packet(void **state)
{
    (void)state;
    const rx_afd_kernel *k = &rx_afd_nt;
    uintptr_t port, helper, base;
    assert_int_equal(k->port_open(&port), 0);
    assert_int_equal(k->helper_open(port, 1, &helper), 0);
    uint16_t p, sp;
    SOCKET sender = t_udp(&sp), s = t_udp(&p);
    assert_int_equal(rx_afd_base_handle(k, s, &base, NULL), 0);
    t_sendto(sender, p, 1);
    t_wait_readable(s);
    rx_iosb *iosb = calloc(1, sizeof *iosb);
    rx_afd_poll_info *info = calloc(1, sizeof *info);
    info->timeout = INT64_MAX;
    info->count = 1;
    info->handles[0].handle = base;
    info->handles[0].events = RX_AFD_POLL_RECEIVE;
    int32_t st = k->poll(helper, iosb, info, 0x12345);
    assert_true(st == RX_STATUS_SUCCESS || st == RX_STATUS_PENDING);
    rx_afd_completion e[4];
    uint32_t n = 0;
    assert_int_equal(k->dequeue(port, e, 4, &n, 2000), RX_STATUS_SUCCESS);
    assert_int_equal(n, 1);
    assert_int_equal(e[0].context, 0x12345);
    assert_int_equal(e[0].key, 1);
    assert_int_equal(iosb->u.status, RX_STATUS_SUCCESS);
    assert_true(info->handles[0].events & RX_AFD_POLL_RECEIVE);
    /* No second packet, and a cancel of the finished poll finds nothing. */
    assert_int_equal(k->dequeue(port, e, 4, &n, 50), RX_STATUS_TIMEOUT);
    assert_int_equal(k->cancel(helper, iosb), RX_STATUS_NOT_FOUND);
    /* A pending poll cancelled: one packet, STATUS_CANCELLED, same context. */
    int v;
    assert_int_equal(recv(s, (char *)&v, sizeof v, 0), (int)sizeof v);
    st = k->poll(helper, iosb, info, 0x777);
    assert_int_equal(st, RX_STATUS_PENDING);
    assert_int_equal(k->cancel(helper, iosb), RX_STATUS_SUCCESS);
    assert_int_equal(k->dequeue(port, e, 4, &n, 2000), RX_STATUS_SUCCESS);
    assert_int_equal(n, 1);
    assert_int_equal(e[0].context, 0x777);
    assert_int_equal(iosb->u.status, RX_STATUS_CANCELLED);
    /* A wake-up: key and NULL context. */
    assert_int_equal(k->post(port, 2), 0);
    assert_int_equal(k->dequeue(port, e, 4, &n, 2000), RX_STATUS_SUCCESS);
    assert_int_equal(e[0].key, 2);
    assert_int_equal(e[0].context, 0);
    k->handle_close(helper);
    k->handle_close(port);
    free(iosb);
    free(info);
    closesocket(s);
    closesocket(sender);
}

int main(int argc, char **argv)
{
    WSADATA wsa;
    if (WSAStartup(MAKEWORD(2, 2), &wsa))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(growth_while_pending_lands_events_on_the_right_channel),
        cmocka_unit_test(reuse_of_number_before_cancel_completes_drops_the_stale_packet),
        cmocka_unit_test(reuse_of_number_after_old_poll_completed_drops_its_events),
        cmocka_unit_test(reconnect_cycles_single_threaded_keep_one_spare_block),
        cmocka_unit_test(churn_of_10000_channels_reuses_blocks),
        cmocka_unit_test(immediate_success_is_delivered_once),
        cmocka_unit_test(closesocket_without_remove_reports_error_once),
        cmocka_unit_test(adding_a_closed_or_foreign_handle_is_ebadf),
        cmocka_unit_test(modify_while_pending_cancels_and_rearms),
        cmocka_unit_test(destroy_with_polls_pending_frees_everything),
        cmocka_unit_test(late_write_into_freed_state_is_caught_by_poison),
        cmocka_unit_test(pool_frees_emptied_blocks_keeping_one_spare),
        cmocka_unit_test(base_handle_walks_down_layered_providers),
        cmocka_unit_test(event_mapping_follows_the_design),
        cmocka_unit_test(kernel_immediate_success_still_posts_one_packet),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    int failed = cmocka_run_group_tests_name("win.afd", tests, NULL, NULL);
    WSACleanup();
    return failed;
}
