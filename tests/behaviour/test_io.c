/* test_io.c - readiness on socket pairs and loopback TCP: readable, writable, accept, connect
 * completion, hang-ups and errors, level-triggered repetition, many channels at once. */
#include "fixture.h"

#include <stdlib.h>
#include <string.h>

#define WANT_BAD (REACTOR_HANGUP | REACTOR_ERROR)

static reactor_chn_t io__add(sup_loop *f, reactor_socket_t s, unsigned events, sup_probe *p)
{
    reactor_chn_t chn = 0;
    assert_int_equal(reactor_add(f->r, s, events, sup_probe_cb, p, &chn), 0);
    assert_true(chn != 0 && chn != 65535);
    return chn;
}

static void peer_write_makes_channel_readable(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t sv[2];
    sup_new_pair(f, sv);
    sup_probe p = {0};
    reactor_chn_t chn = io__add(f, sv[0], REACTOR_READABLE, &p);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 1);
    assert_int_equal(p.calls, 0);
    sup_send_byte(sv[1]);
    assert_true(sup_run_until_count(f, &p.calls, 1, SUP_WAIT_MS));
    assert_int_equal(p.chn, chn);
    assert_int_equal(p.last, REACTOR_READABLE);
    char c = 0;
    assert_int_equal(sup_recv(sv[0], &c, 1), 1);
    assert_int_equal(c, 'x');
}

static void readable_repeats_every_iteration_until_drained(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t sv[2];
    sup_new_pair(f, sv);
    sup_probe p = {0};
    io__add(f, sv[0], REACTOR_READABLE, &p);
    assert_int_equal(sup_send(sv[1], "hello", 5), 5);
    assert_true(sup_run_until_count(f, &p.calls, 1, SUP_WAIT_MS));
    for (int i = 0; i < 3; i++)
        assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 1);
    assert_int_equal(p.calls, 4);
    assert_int_equal(sup_drain(sv[0]), 5);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 1);
    assert_int_equal(p.calls, 4);
}

static void empty_send_buffer_reports_writable(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t sv[2];
    sup_new_pair(f, sv);
    sup_probe p = {0};
    io__add(f, sv[0], REACTOR_WRITABLE, &p);
    assert_true(sup_run_until_count(f, &p.calls, 1, SUP_WAIT_MS));
    assert_int_equal(p.last, REACTOR_WRITABLE);
}

static void full_send_buffer_withholds_writable_until_the_peer_reads(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t sv[2];
    sup_new_pair(f, sv);
    assert_true(sup_fill(sv[0]) > 0);
    sup_probe p = {0};
    io__add(f, sv[0], REACTOR_WRITABLE, &p);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 1);
    assert_int_equal(p.calls, 0);
    /* Drain the peer until the writer has room again (bounded by the deadline). */
    for (int round = 0; round < 100 && p.calls == 0; round++) {
        sup_drain(sv[1]);
        sup_run_until_count(f, &p.calls, 1, 50);
    }
    assert_true(p.calls >= 1);
    assert_int_equal(p.last, REACTOR_WRITABLE);
}

static void listener_reports_readable_for_a_pending_connection(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t l, c, a;
    uint16_t port = 0;
    assert_int_equal(sup_listen(&l, &port), 0);
    sup_track(f, l);
    sup_probe p = {0};
    io__add(f, l, REACTOR_READABLE, &p);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 1);
    assert_int_equal(p.calls, 0);
    assert_int_equal(sup_accept(l, &a), -1);
    assert_int_equal(sup_connect_start(port, &c), 0);
    sup_track(f, c);
    assert_true(sup_run_until_count(f, &p.calls, 1, SUP_WAIT_MS));
    assert_true(p.last & REACTOR_READABLE);
    assert_int_equal(sup_accept(l, &a), 0);
    sup_track(f, a);
}

static void nonblocking_connect_completes_as_writable(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t l, c, a;
    uint16_t port = 0;
    assert_int_equal(sup_listen(&l, &port), 0);
    sup_track(f, l);
    assert_int_equal(sup_connect_start(port, &c), 0);
    sup_track(f, c);
    sup_probe p = {0};
    io__add(f, c, REACTOR_WRITABLE, &p);
    assert_true(sup_run_until_count(f, &p.calls, 1, SUP_WAIT_MS));
    assert_true(p.last & REACTOR_WRITABLE);
    assert_false(p.last & WANT_BAD);
    assert_int_equal(sup_sock_error(c), 0);
    /* The connection is real: a byte crosses it. */
    sup_probe lp = {0};
    io__add(f, l, REACTOR_READABLE, &lp);
    assert_true(sup_run_until_count(f, &lp.calls, 1, SUP_WAIT_MS));
    assert_int_equal(sup_accept(l, &a), 0);
    sup_track(f, a);
    sup_probe ap = {0};
    io__add(f, a, REACTOR_READABLE, &ap);
    sup_send_byte(c);
    assert_true(sup_run_until_count(f, &ap.calls, 1, SUP_WAIT_MS));
    assert_int_equal(ap.last, REACTOR_READABLE);
}

static void connect_to_a_closed_port_reports_an_error_or_hangup(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t l, c;
    uint16_t port = 0;
    /* A port that was just listening and is closed now: the connect is refused. */
    assert_int_equal(sup_listen(&l, &port), 0);
    sup_close(l);
    if (sup_connect_start(port, &c) != 0)
        return; /* refused synchronously: nothing for the loop to report */
    sup_track(f, c);
    sup_probe p = {0};
    io__add(f, c, REACTOR_WRITABLE, &p);
    assert_true(sup_run_until_count(f, &p.calls, 1, SUP_WAIT_MS));
    assert_true(p.events & WANT_BAD);
    assert_true(sup_sock_error(c) != 0);
}

typedef struct io__echo {
    reactor_socket_t s;
    char got[64];
    size_t n;
    int calls;
} io__echo;

static void io__read_cb(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    (void)r;
    (void)chn;
    io__echo *e = arg;
    e->calls++;
    assert_true(events & REACTOR_READABLE);
    long n = sup_recv(e->s, e->got + e->n, sizeof e->got - e->n);
    if (n > 0)
        e->n += (size_t)n;
}

static int io__both_have(void *ctx)
{
    io__echo *e = ctx;
    return e[0].n >= 5 && e[1].n >= 5;
}

static void loopback_tcp_carries_data_both_ways(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t sv[2];
    sup_new_tcp_pair(f, sv);
    io__echo e[2];
    memset(e, 0, sizeof e);
    reactor_chn_t chn[2];
    for (int i = 0; i < 2; i++) {
        e[i].s = sv[i];
        assert_int_equal(reactor_add(f->r, sv[i], REACTOR_READABLE, io__read_cb, &e[i], &chn[i]),
                         0);
    }
    assert_int_not_equal(chn[0], chn[1]);
    assert_int_equal(sup_send(sv[0], "ping!", 5), 5);
    assert_int_equal(sup_send(sv[1], "pong!", 5), 5);
    assert_true(sup_run_until(f, io__both_have, e, SUP_WAIT_MS));
    assert_memory_equal(e[1].got, "ping!", 5);
    assert_memory_equal(e[0].got, "pong!", 5);
}

static void peer_close_reports_hangup(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t sv[2];
    sup_new_pair(f, sv);
    sup_probe p = {0};
    io__add(f, sv[0], REACTOR_READABLE | REACTOR_HALFCLOSE, &p);
    sup_close_now(f, sv[1]);
    assert_true(sup_run_until_count(f, &p.calls, 1, SUP_WAIT_MS));
    /* A socketpair closes both ways at once: HANGUP. A TCP peer's close is a FIN, which the
     * receiving side cannot tell from a half-close (the pair is TCP on Windows): HALFCLOSE. */
    assert_true(p.events & (REACTOR_HANGUP | REACTOR_HALFCLOSE));
    assert_true(p.events & REACTOR_READABLE);
    /* End of stream reads as 0. */
    char c;
    assert_int_equal(sup_recv(sv[0], &c, 1), 0);
}

static void hangup_is_reported_without_being_requested(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t sv[2];
    sup_new_pair(f, sv);
    sup_probe p = {0};
    io__add(f, sv[0], 0, &p);
    sup_send_byte(sv[1]); /* data that must not be reported: READABLE was not asked for */
    assert_int_equal(sup_linger0(sv[1]), 0);
    sup_close_now(f, sv[1]);
    assert_true(sup_run_until_count(f, &p.calls, 1, SUP_WAIT_MS));
    assert_true(p.events & REACTOR_HANGUP);
    assert_false(p.events & (REACTOR_READABLE | REACTOR_WRITABLE));
}

static int io__saw_hangup(void *ctx)
{
    return (((sup_probe *)ctx)->events & REACTOR_HANGUP) != 0;
}

static int io__saw_halfclose(void *ctx)
{
    return (((sup_probe *)ctx)->events & REACTOR_HALFCLOSE) != 0;
}

static int io__saw_readable(void *ctx)
{
    return (((sup_probe *)ctx)->events & REACTOR_READABLE) != 0;
}

static void tcp_peer_shutdown_reports_halfclose_when_requested(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t sv[2];
    sup_new_tcp_pair(f, sv);
    sup_probe p = {0};
    io__add(f, sv[0], REACTOR_READABLE | REACTOR_HALFCLOSE, &p);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 1);
    assert_int_equal(p.calls, 0);
    assert_int_equal(sup_shutdown_write(sv[1]), 0);
    assert_true(sup_run_until(f, io__saw_halfclose, &p, SUP_WAIT_MS));
    assert_true(p.events & REACTOR_READABLE);
    /* A half-close is not a hang-up; our side can still send to the peer. */
    assert_false(p.events & REACTOR_HANGUP);
    sup_send_byte(sv[0]);
}

static void tcp_peer_shutdown_is_only_readable_without_halfclose(void **state)
{
    /* HALFCLOSE is opt-in (libuv's UV_DISCONNECT, libevent's EV_CLOSED): without it the FIN
     * shows as end of stream only. */
    sup_loop *f = *state;
    reactor_socket_t sv[2];
    sup_new_tcp_pair(f, sv);
    sup_probe p = {0};
    io__add(f, sv[0], REACTOR_READABLE, &p);
    assert_int_equal(sup_shutdown_write(sv[1]), 0);
    assert_true(sup_run_until(f, io__saw_readable, &p, SUP_WAIT_MS));
    assert_false(p.events & (REACTOR_HALFCLOSE | REACTOR_HANGUP));
}

static void halfclose_alone_is_reported_without_readable(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t sv[2];
    sup_new_tcp_pair(f, sv);
    sup_probe p = {0};
    io__add(f, sv[0], REACTOR_HALFCLOSE, &p);
    assert_int_equal(sup_shutdown_write(sv[1]), 0);
    assert_true(sup_run_until(f, io__saw_halfclose, &p, SUP_WAIT_MS));
    assert_false(p.events & (REACTOR_READABLE | REACTOR_HANGUP));
}

static void tcp_peer_reset_reports_hangup(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t sv[2];
    sup_new_tcp_pair(f, sv);
    sup_probe p = {0};
    io__add(f, sv[0], REACTOR_READABLE, &p);
    assert_int_equal(sup_linger0(sv[1]), 0);
    sup_close_now(f, sv[1]);
    assert_true(sup_run_until(f, io__saw_hangup, &p, SUP_WAIT_MS));
}

static void tm__flag(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)r;
    (void)t;
    *(int *)arg = 1;
}

static void socket_closed_without_remove_is_reported_once_where_documented(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t sv[2];
    sup_new_pair(f, sv);
    sup_probe p = {0};
    reactor_chn_t chn = io__add(f, sv[0], REACTOR_READABLE, &p);
    sup_close_now(f, sv[0]);
    if (sup_backend() == REACTOR_BACKEND_EPOLL) {
        /* reactor.h: only poll and Windows report it; closing the last descriptor drops it
         * from the epoll set, so the channel goes quiet (and must not spin or crash). */
        int done = 0;
        reactor_timer_t t;
        assert_int_equal(reactor_timer_start(f->r, 20, 0, tm__flag, &done, &t), 0);
        while (!done)
            assert_int_equal(reactor_run(f->r, REACTOR_RUN_ONCE), 1);
        assert_int_equal(p.calls, 0);
    } else {
        assert_true(sup_run_until_count(f, &p.calls, 1, SUP_WAIT_MS));
        assert_true(p.events & REACTOR_ERROR);
        /* Reported once: afterwards the loop does not spin on the dead descriptor. */
        for (int i = 0; i < 3; i++)
            assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 1);
        assert_int_equal(p.calls, 1);
    }
    assert_int_equal(reactor_remove(f->r, chn), 0);
    assert_int_equal(sup_stats(f).channels, 0);
}

static void a_reused_socket_value_inherits_nothing(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t sv[2], nv[2];
    sup_new_pair(f, sv);
    sup_probe old = {0}, neu = {0};
    reactor_chn_t chn = io__add(f, sv[0], REACTOR_READABLE | REACTOR_WRITABLE, &old);
    assert_int_equal(reactor_remove(f->r, chn), 0);
    sup_close_now(f, sv[0]);
    sup_close_now(f, sv[1]);
    /* POSIX hands out the lowest free descriptor: the new pair very likely reuses the value. */
    sup_new_pair(f, nv);
    io__add(f, nv[0], REACTOR_READABLE, &neu);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 1);
    assert_int_equal(neu.calls, 0); /* not WRITABLE: the old interest is gone */
    sup_send_byte(nv[1]);
    assert_true(sup_run_until_count(f, &neu.calls, 1, SUP_WAIT_MS));
    assert_int_equal(neu.last, REACTOR_READABLE);
    assert_int_equal(old.calls, 0);
}

static void removed_socket_stays_open_and_can_be_added_again(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t sv[2];
    sup_new_pair(f, sv);
    sup_probe p = {0};
    reactor_chn_t chn = io__add(f, sv[0], REACTOR_READABLE, &p);
    assert_int_equal(reactor_remove(f->r, chn), 0);
    sup_send_byte(sv[1]);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 0);
    assert_int_equal(p.calls, 0);
    char c = 0;
    sup_probe q = {0};
    io__add(f, sv[0], REACTOR_READABLE, &q);
    assert_true(sup_run_until_count(f, &q.calls, 1, SUP_WAIT_MS));
    assert_int_equal(sup_recv(sv[0], &c, 1), 1);
    assert_int_equal(c, 'x');
    assert_int_equal(p.calls, 0);
}

typedef struct io__many {
    int *calls;
    int n;
    int ready;
} io__many;

static void io__count_cb(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    (void)r;
    (void)chn;
    assert_int_equal(events, REACTOR_READABLE);
    int *c = arg;
    (*c)++;
}

static int io__all_called(void *ctx)
{
    io__many *m = ctx;
    for (; m->ready < m->n; m->ready++)
        if (m->calls[m->ready] == 0)
            return 0;
    return 1;
}

static void every_ready_channel_gets_one_callback_per_iteration(void **state)
{
    sup_loop *f = *state;
    enum { N = 1000 };
    io__many m = {calloc(N, sizeof(int)), N, 0};
    assert_non_null(m.calls);
    for (int i = 0; i < N; i++) {
        reactor_socket_t sv[2];
        reactor_chn_t chn;
        sup_new_pair(f, sv);
        assert_int_equal(reactor_add(f->r, sv[0], REACTOR_READABLE, io__count_cb, &m.calls[i],
                                     &chn),
                         0);
        sup_send_byte(sv[1]);
    }
    int ok = sup_run_until(f, io__all_called, &m, 10000);
    reactor_stats_t before = sup_stats(f);
    for (int i = 0; i < N; i++)
        m.calls[i] = 0;
    int rc = reactor_run(f->r, REACTOR_RUN_NOWAIT);
    reactor_stats_t after = sup_stats(f);
    int wrong = 0;
    for (int i = 0; i < N; i++)
        wrong += m.calls[i] != 1;
    free(m.calls);
    assert_true(ok);
    assert_int_equal(rc, 1);
    assert_int_equal(wrong, 0);
    assert_int_equal(after.events_dispatched - before.events_dispatched, N);
    assert_int_equal(after.iterations - before.iterations, 1);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(peer_write_makes_channel_readable, sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(readable_repeats_every_iteration_until_drained, sup_setup,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(empty_send_buffer_reports_writable, sup_setup,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(full_send_buffer_withholds_writable_until_the_peer_reads,
                                        sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(listener_reports_readable_for_a_pending_connection,
                                        sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(nonblocking_connect_completes_as_writable, sup_setup,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(connect_to_a_closed_port_reports_an_error_or_hangup,
                                        sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(loopback_tcp_carries_data_both_ways, sup_setup,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(peer_close_reports_hangup, sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(hangup_is_reported_without_being_requested, sup_setup,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(tcp_peer_shutdown_reports_halfclose_when_requested,
                                        sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(tcp_peer_shutdown_is_only_readable_without_halfclose,
                                        sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(halfclose_alone_is_reported_without_readable, sup_setup,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(tcp_peer_reset_reports_hangup, sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(
            socket_closed_without_remove_is_reported_once_where_documented, sup_setup,
            sup_teardown),
        cmocka_unit_test_setup_teardown(a_reused_socket_value_inherits_nothing, sup_setup,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(removed_socket_stays_open_and_can_be_added_again, sup_setup,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(every_ready_channel_gets_one_callback_per_iteration,
                                        sup_setup, sup_teardown),
    };
    return sup_main(argc, argv, "behaviour.io", tests, sizeof tests / sizeof tests[0], 1);
}
