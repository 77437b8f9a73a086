/* test_net.c - what the network and careless applications do to a channel: a peer reset, a
 * peer half-close, a socket closed without reactor_remove. Each fault is reported as reactor.h
 * says, and once the application has handled it the loop waits quietly (no busy loop). */
#include "quiet.h"

#include <stdlib.h>
#include <string.h>

#define BAD (REACTOR_HANGUP | REACTOR_ERROR)
#define WINDOW_MS 150u

/* Records every call; with remove_on set, removes its own channel on the first event in it. */
typedef struct fn__rec {
    int calls;
    unsigned all;   /* union of events */
    unsigned first; /* events of the first call */
    unsigned remove_on;
    reactor_chn_t chn;
    int removed;
} fn__rec;

static void fn__record(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    fn__rec *p = arg;
    if (!p->calls)
        p->first = events;
    p->calls++;
    p->all |= events;
    if (p->remove_on && (events & p->remove_on) && !p->removed) {
        assert_int_equal(reactor_remove(r, chn), 0);
        p->removed = 1;
    }
}

static reactor_chn_t fn__add(sup_loop *f, reactor_socket_t s, unsigned events, fn__rec *p)
{
    reactor_chn_t chn = 0;
    assert_int_equal(reactor_add(f->r, s, events, fn__record, p, &chn), 0);
    p->chn = chn;
    return chn;
}

/* Resets the connection from s's side: SO_LINGER {1, 0}, then close sends RST. */
static void fn__reset(sup_loop *f, reactor_socket_t s)
{
    assert_int_equal(sup_linger0(s), 0);
    sup_close_now(f, s);
}

static void peer_reset_is_reported_once_per_iteration_then_quiet_once_removed(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t sv[2];
    sup_new_tcp_pair(f, sv);
    fn__rec p = {0};
    fn__add(f, sv[0], REACTOR_READABLE, &p);
    fn__reset(f, sv[1]);
    assert_true(sup_run_until_count(f, &p.calls, 1, SUP_WAIT_MS));
    assert_true(p.first & BAD);
    /* Level-triggered: it holds, so each iteration reports it once, never twice. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 1);
    assert_int_equal(p.calls, 4);
    /* The read sees the reset (or end of stream), never data. */
    char c;
    assert_true(sup_recv(sv[0], &c, 1) <= 0);
    p.remove_on = BAD;
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 0);
    assert_int_equal(p.removed, 1);
    assert_int_equal(sup_stats(f).channels, 0);
    /* Nothing registered but the window's timer: one iteration, no CPU. */
    fq_window w = fq_run_window(f, WINDOW_MS, 1000);
    assert_int_equal(w.dispatched, 0);
    fq_assert_quiet(&w, 1);
}

static void peer_reset_is_reported_with_no_interest_at_all(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t sv[2];
    sup_new_tcp_pair(f, sv);
    fn__rec p = {0};
    p.remove_on = BAD;
    fn__add(f, sv[0], 0, &p);
    fn__reset(f, sv[1]);
    assert_true(sup_run_until_count(f, &p.calls, 1, SUP_WAIT_MS));
    assert_true(p.first & BAD);
    assert_int_equal(p.first & (REACTOR_READABLE | REACTOR_WRITABLE), 0);
    assert_int_equal(p.removed, 1);
}

/* The application is blocked on a full send buffer (WRITABLE requested) when the peer resets:
 * the fault is reported, the next send fails instead of raising SIGPIPE, nothing spins. */
static void peer_reset_while_writing_is_reported_and_the_send_fails(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t sv[2];
    sup_new_tcp_pair(f, sv);
    assert_true(sup_fill(sv[0]) > 0);
    fn__rec p = {0};
    p.remove_on = BAD;
    fn__add(f, sv[0], REACTOR_READABLE | REACTOR_WRITABLE, &p);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 1);
    assert_int_equal(p.calls, 0);
    fn__reset(f, sv[1]);
    assert_true(sup_run_until_count(f, &p.calls, 1, SUP_WAIT_MS));
    assert_true(p.first & BAD);
    assert_int_equal(p.removed, 1);
    /* The first send after a reset may still be accepted on some stacks; a few cannot be. */
    long last = 0;
    for (int i = 0; i < 4; i++)
        last = sup_send(sv[0], "x", 1);
    assert_int_equal(last, -1);
    fq_window w = fq_run_window(f, WINDOW_MS, 1000);
    assert_int_equal(w.dispatched, 0);
    fq_assert_quiet(&w, 1);
}

/* 64 connections reset at once: every channel hears of it in the same few iterations. */
static void many_resets_at_once_are_each_reported_and_removed(void **state)
{
    enum { N = 64 };
    sup_loop *f = *state;
    reactor_socket_t sv[N][2];
    fn__rec p[N];
    memset(p, 0, sizeof p);
    for (int i = 0; i < N; i++) {
        sup_new_tcp_pair(f, sv[i]);
        p[i].remove_on = BAD;
        fn__add(f, sv[i][0], REACTOR_READABLE, &p[i]);
    }
    for (int i = 0; i < N; i++)
        fn__reset(f, sv[i][1]);
    uint64_t t0 = sup_clock_ns();
    while (sup_stats(f).channels > 0 && sup_clock_ns() - t0 < SUP_WAIT_MS * 1000000ull)
        assert_true(reactor_run(f->r, REACTOR_RUN_ONCE) >= 0);
    for (int i = 0; i < N; i++) {
        assert_int_equal(p[i].removed, 1);
        assert_int_equal(p[i].calls, 1);
        assert_true(p[i].first & BAD);
    }
    assert_int_equal(sup_stats(f).channels, 0);
}

typedef struct fn__half {
    reactor_socket_t s;
    unsigned all;
    int calls;
    int eof;    /* recv returned 0 */
    size_t got; /* bytes read before end of stream */
    char buf[16];
} fn__half;

static void fn__half_cb(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    (void)r;
    (void)chn;
    fn__half *h = arg;
    h->calls++;
    h->all |= events;
    if (!(events & REACTOR_READABLE) || h->eof)
        return;
    for (;;) {
        long n = sup_recv(h->s, h->buf + h->got, sizeof h->buf - h->got);
        if (n == 0)
            h->eof = 1;
        if (n <= 0)
            return;
        h->got += (size_t)n;
    }
}

static int fn__half_done(void *ctx)
{
    const fn__half *h = ctx;
    return h->eof && (h->all & REACTOR_HALFCLOSE) && (h->all & REACTOR_WRITABLE);
}

/* shutdown(SHUT_WR) by the peer: READABLE and HALFCLOSE (requested), never HANGUP, every byte
 * sent before it still arrives, and the socket is still writable: the peer gets our reply. */
static void fn__half_close(sup_loop *f, const reactor_socket_t sv[2])
{
    fn__half h;
    memset(&h, 0, sizeof h);
    h.s = sv[0];
    reactor_chn_t chn = 0;
    assert_int_equal(sup_send(sv[1], "bye", 3), 3);
    assert_int_equal(sup_shutdown_write(sv[1]), 0);
    assert_int_equal(reactor_add(f->r, sv[0],
                                 REACTOR_READABLE | REACTOR_WRITABLE | REACTOR_HALFCLOSE,
                                 fn__half_cb, &h, &chn),
                     0);
    assert_true(sup_run_until(f, fn__half_done, &h, SUP_WAIT_MS));
    assert_true(h.all & REACTOR_READABLE);
    assert_int_equal(h.all & REACTOR_HANGUP, 0);
    assert_int_equal(h.got, 3);
    assert_memory_equal(h.buf, "bye", 3);
    assert_int_equal(h.all & REACTOR_ERROR, 0);
    /* Still writable: the half that is open carries our reply. */
    assert_int_equal(sup_send(sv[0], "reply", 5), 5);
    char back[8] = {0};
    long n = -1;
    for (int i = 0; i < 2000 && n < 5; i++) {
        long k = sup_recv(sv[1], back + (n > 0 ? n : 0), 5 - (size_t)(n > 0 ? n : 0));
        if (k > 0)
            n = (n > 0 ? n : 0) + k;
        else
            sup_sleep_ms(1);
    }
    assert_int_equal(n, 5);
    assert_memory_equal(back, "reply", 5);
    /* Asking only for WRITABLE: the half-close is not reported (reactor.h), no spin. */
    assert_int_equal(reactor_modify(f->r, chn, REACTOR_WRITABLE), 0);
    h.all = 0;
    h.calls = 0;
    for (int i = 0; i < 3; i++)
        assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 1);
    assert_int_equal(h.calls, 3);
    assert_int_equal(h.all, REACTOR_WRITABLE);
    /* With no interest at all a half-close is silent too: the loop waits. */
    assert_int_equal(reactor_modify(f->r, chn, 0), 0);
    h.all = 0;
    fq_window w = fq_run_window(f, WINDOW_MS, 1000);
    assert_int_equal(w.dispatched, 0);
    fq_assert_quiet(&w, 1);
    assert_int_equal(reactor_remove(f->r, chn), 0);
}

static void tcp_peer_half_close_reports_readable_and_halfclose_and_stays_writable(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t sv[2];
    sup_new_tcp_pair(f, sv);
    fn__half_close(f, sv);
}

static void pair_peer_half_close_reports_readable_and_halfclose_and_stays_writable(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t sv[2];
    sup_new_pair(f, sv);
    fn__half_close(f, sv);
}

/* Closed by the application without reactor_remove. poll: ERROR once, then parked. AFD:
 * LOCAL_CLOSE, ERROR once. epoll: the close dropped it from the set, so silence, and
 * reactor_modify says EBADF. Everywhere: no busy loop, and reactor_remove then works. */
static void closed_without_remove_is_reported_as_documented_without_a_busy_loop(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t sv[2];
    sup_new_pair(f, sv);
    fn__rec p = {0};
    reactor_chn_t chn = fn__add(f, sv[0], REACTOR_READABLE | REACTOR_WRITABLE, &p);
    assert_int_equal(sup_send(sv[1], "data", 4), 4); /* pending data makes no difference */
    sup_close_now(f, sv[0]);
    fq_window w = fq_run_window(f, WINDOW_MS, 1000);
    if (sup_backend() == REACTOR_BACKEND_EPOLL) {
        assert_int_equal(p.calls, 0);
        fq_assert_quiet(&w, 1);
        assert_int_equal(reactor_modify(f->r, chn, REACTOR_READABLE), REACTOR_EBADF);
    } else {
        assert_int_equal(p.calls, 1);
        assert_int_equal(p.first, REACTOR_ERROR);
        /* The report's own iteration, then the window's timer. */
        fq_assert_quiet(&w, 2);
    }
    assert_int_equal(sup_stats(f).channels, 1);
    assert_int_equal(reactor_remove(f->r, chn), 0);
    assert_int_equal(sup_stats(f).channels, 0);
    w = fq_run_window(f, WINDOW_MS, 1000);
    fq_assert_quiet(&w, 1);
    /* A new socket (on POSIX very likely with the same number) registers and works. */
    sup_assert_loop_works(f);
}

int main(int argc, char **argv)
{
    // clang-format off
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(peer_reset_is_reported_once_per_iteration_then_quiet_once_removed, sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(peer_reset_is_reported_with_no_interest_at_all, sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(peer_reset_while_writing_is_reported_and_the_send_fails, sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(many_resets_at_once_are_each_reported_and_removed, sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(tcp_peer_half_close_reports_readable_and_halfclose_and_stays_writable, sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(pair_peer_half_close_reports_readable_and_halfclose_and_stays_writable, sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(closed_without_remove_is_reported_as_documented_without_a_busy_loop, sup_setup, sup_teardown),
    };
    // clang-format on
    return sup_main(argc, argv, "faults.net", tests, sizeof tests / sizeof tests[0], 1);
}
