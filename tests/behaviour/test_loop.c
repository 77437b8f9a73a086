/* test_loop.c - run modes, reactor_stop, reactor_now, EBUSY, the backend's name. DEFAULT runs
 * until nothing is left or stop, ONCE blocks until something happens, NOWAIT never blocks. */
#include "fixture.h"

#include <string.h>

#define MS 1000000ull

static void tm__count(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)r;
    (void)t;
    (*(int *)arg)++;
}

static void default_run_with_nothing_registered_returns_zero_at_once(void **state)
{
    sup_loop *f = *state;
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_DEFAULT), 0);
    assert_int_equal(sup_stats(f).iterations, 0);
}

static void once_with_nothing_registered_returns_zero_without_blocking(void **state)
{
    sup_loop *f = *state;
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_ONCE), 0);
    assert_int_equal(sup_stats(f).iterations, 0);
}

static void tm__remove_self_io(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    (void)events;
    (*(int *)arg)++;
    assert_int_equal(reactor_remove(r, chn), 0);
}

static void default_run_returns_zero_once_the_last_channel_is_removed(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t sv[2];
    sup_new_pair(f, sv);
    int calls = 0;
    reactor_chn_t chn;
    assert_int_equal(reactor_add(f->r, sv[0], REACTOR_READABLE, tm__remove_self_io, &calls, &chn),
                     0);
    sup_send_byte(sv[1]);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_DEFAULT), 0);
    assert_int_equal(calls, 1);
}

static void once_blocks_until_a_timer_fires(void **state)
{
    sup_loop *f = *state;
    int fired = 0;
    reactor_timer_t t;
    uint64_t t0 = sup_clock_ns();
    assert_int_equal(reactor_timer_start(f->r, 20, 0, tm__count, &fired, &t), 0);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_ONCE), 0);
    assert_int_equal(fired, 1);
    assert_true(sup_clock_ns() - t0 >= 20 * MS);
    assert_int_equal(sup_stats(f).iterations, 1);
}

typedef struct lp__writer {
    reactor_socket_t s;
    unsigned delay_ms;
    long sent;
} lp__writer;

/* Runs on a helper thread: no cmocka asserts here. */
static void lp__write_later(void *arg)
{
    lp__writer *w = arg;
    sup_sleep_ms(w->delay_ms);
    w->sent = sup_send(w->s, "x", 1);
}

static void once_blocks_until_io_arrives(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t sv[2];
    sup_new_pair(f, sv);
    sup_probe p = {0};
    reactor_chn_t chn;
    assert_int_equal(reactor_add(f->r, sv[0], REACTOR_READABLE, sup_probe_cb, &p, &chn), 0);
    int deadline = 0;
    reactor_timer_t t;
    assert_int_equal(reactor_timer_start(f->r, 10000, 0, tm__count, &deadline, &t), 0);
    lp__writer w = {sv[1], 30, 0};
    sup_thread *th = sup_thread_start(lp__write_later, &w);
    assert_non_null(th);
    int rc = reactor_run(f->r, REACTOR_RUN_ONCE);
    sup_thread_join(th);
    assert_int_equal(w.sent, 1);
    assert_int_equal(rc, 1);
    /* It returned because of the data, not early and not at the deadline. */
    assert_int_equal(p.calls, 1);
    assert_int_equal(deadline, 0);
    assert_int_equal(reactor_timer_stop(f->r, t), 0);
}

static void nowait_never_blocks(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t sv[2];
    sup_new_pair(f, sv);
    sup_probe p = {0};
    reactor_chn_t chn;
    assert_int_equal(reactor_add(f->r, sv[0], REACTOR_READABLE, sup_probe_cb, &p, &chn), 0);
    int fired = 0;
    reactor_timer_t t;
    assert_int_equal(reactor_timer_start(f->r, 60000, 0, tm__count, &fired, &t), 0);
    uint64_t t0 = sup_clock_ns();
    for (int i = 0; i < 100; i++)
        assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 1);
    /* 100 idle iterations with a minute-long timer: far below one second unless one blocked. */
    assert_true(sup_clock_ns() - t0 < 1000 * MS);
    assert_int_equal(sup_stats(f).iterations, 100);
    assert_int_equal(p.calls, 0);
    assert_int_equal(fired, 0);
}

static void nowait_with_nothing_registered_runs_one_iteration(void **state)
{
    sup_loop *f = *state;
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 0);
    assert_int_equal(sup_stats(f).iterations, 1);
}

typedef struct lp__stopper {
    int fires;
    int stop_at;
} lp__stopper;

static void lp__stop_cb(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)t;
    lp__stopper *s = arg;
    if (++s->fires % s->stop_at == 0)
        reactor_stop(r);
}

static void stop_from_a_callback_ends_default_run_after_that_iteration(void **state)
{
    sup_loop *f = *state;
    lp__stopper s = {0, 3};
    reactor_timer_t t;
    assert_int_equal(reactor_timer_start(f->r, 1, 1, lp__stop_cb, &s, &t), 0);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_DEFAULT), 1);
    assert_int_equal(s.fires, 3);
    /* The stop is consumed: the next run goes on until the next stop. */
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_DEFAULT), 1);
    assert_int_equal(s.fires, 6);
    assert_int_equal(reactor_timer_stop(f->r, t), 0);
}

static void lp__stop_io(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    (void)chn;
    (void)events;
    (*(int *)arg)++;
    reactor_stop(r);
}

static void stop_from_an_io_callback_ends_a_level_triggered_run(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t sv[2];
    sup_new_pair(f, sv);
    int calls = 0;
    reactor_chn_t chn;
    assert_int_equal(reactor_add(f->r, sv[0], REACTOR_READABLE, lp__stop_io, &calls, &chn), 0);
    sup_send_byte(sv[1]);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_DEFAULT), 1);
    assert_int_equal(calls, 1);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_DEFAULT), 1);
    assert_int_equal(calls, 2);
}

static void stop_before_run_makes_the_next_run_return_at_once(void **state)
{
    sup_loop *f = *state;
    int fired = 0;
    reactor_timer_t t;
    assert_int_equal(reactor_timer_start(f->r, 0, 0, tm__count, &fired, &t), 0);
    reactor_stop(f->r);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_DEFAULT), 1);
    assert_int_equal(sup_stats(f).iterations, 0);
    assert_int_equal(fired, 0);
    /* Only that one run: the next one works. */
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_DEFAULT), 0);
    assert_int_equal(fired, 1);
}

typedef struct lp__nested {
    int rc[3];
    int calls;
} lp__nested;

static void lp__nested_cb(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)t;
    lp__nested *n = arg;
    n->rc[0] = reactor_run(r, REACTOR_RUN_DEFAULT);
    n->rc[1] = reactor_run(r, REACTOR_RUN_ONCE);
    n->rc[2] = reactor_run(r, REACTOR_RUN_NOWAIT);
    n->calls++;
}

static void lp__nested_io(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    (void)events;
    lp__nested *n = arg;
    n->rc[0] = reactor_run(r, REACTOR_RUN_NOWAIT);
    n->calls++;
    assert_int_equal(reactor_remove(r, chn), 0);
}

static void run_from_a_callback_is_ebusy(void **state)
{
    sup_loop *f = *state;
    lp__nested n = {{1, 1, 1}, 0};
    reactor_timer_t t;
    assert_int_equal(reactor_timer_start(f->r, 0, 0, lp__nested_cb, &n, &t), 0);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_DEFAULT), 0);
    assert_int_equal(n.calls, 1);
    for (int i = 0; i < 3; i++)
        assert_int_equal(n.rc[i], REACTOR_EBUSY);
    assert_int_equal(sup_stats(f).iterations, 1);
    reactor_socket_t sv[2];
    sup_new_pair(f, sv);
    lp__nested m = {{1, 1, 1}, 0};
    reactor_chn_t chn;
    assert_int_equal(reactor_add(f->r, sv[0], REACTOR_WRITABLE, lp__nested_io, &m, &chn), 0);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_DEFAULT), 0);
    assert_int_equal(m.calls, 1);
    assert_int_equal(m.rc[0], REACTOR_EBUSY);
}

static void now_advances_with_the_clock_and_never_goes_back(void **state)
{
    sup_loop *f = *state;
    uint64_t before = reactor_now(f->r);
    int fired = 0;
    reactor_timer_t t;
    assert_int_equal(reactor_timer_start(f->r, 15, 0, tm__count, &fired, &t), 0);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_ONCE), 0);
    assert_int_equal(fired, 1);
    uint64_t after = reactor_now(f->r);
    assert_true(after >= before + 15);
    uint64_t prev = after;
    for (int i = 0; i < 200; i++) {
        reactor_run(f->r, REACTOR_RUN_NOWAIT);
        uint64_t now = reactor_now(f->r);
        assert_true(now >= prev);
        prev = now;
    }
}

static void now_is_cached_between_iterations(void **state)
{
    sup_loop *f = *state;
    reactor_run(f->r, REACTOR_RUN_NOWAIT);
    uint64_t now = reactor_now(f->r);
    uint64_t t0 = sup_clock_ns();
    while (sup_clock_ns() - t0 < 3 * MS)
        ;
    assert_int_equal(reactor_now(f->r), now);
    reactor_run(f->r, REACTOR_RUN_NOWAIT);
    assert_true(reactor_now(f->r) >= now + 3);
}

static void backend_name_is_the_one_requested(void **state)
{
    sup_loop *f = *state;
    const char *name = reactor_backend_name(f->r);
    assert_non_null(name);
    if (sup_backend() != REACTOR_BACKEND_DEFAULT)
        assert_string_equal(name, sup_backend_arg());
}

static void run_returns_one_while_a_channel_or_timer_remains(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t sv[2];
    sup_new_pair(f, sv);
    sup_probe p = {0};
    reactor_chn_t chn;
    assert_int_equal(reactor_add(f->r, sv[0], REACTOR_WRITABLE, sup_probe_cb, &p, &chn), 0);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_ONCE), 1);
    assert_true(p.calls >= 1);
    assert_int_equal(reactor_remove(f->r, chn), 0);
    int fired = 0;
    reactor_timer_t t;
    assert_int_equal(reactor_timer_start(f->r, 60000, 0, tm__count, &fired, &t), 0);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 1);
    assert_int_equal(reactor_timer_stop(f->r, t), 0);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(default_run_with_nothing_registered_returns_zero_at_once,
                                        sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(once_with_nothing_registered_returns_zero_without_blocking,
                                        sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(default_run_returns_zero_once_the_last_channel_is_removed,
                                        sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(once_blocks_until_a_timer_fires, sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(once_blocks_until_io_arrives, sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(nowait_never_blocks, sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(nowait_with_nothing_registered_runs_one_iteration,
                                        sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(stop_from_a_callback_ends_default_run_after_that_iteration,
                                        sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(stop_from_an_io_callback_ends_a_level_triggered_run,
                                        sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(stop_before_run_makes_the_next_run_return_at_once,
                                        sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(run_from_a_callback_is_ebusy, sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(now_advances_with_the_clock_and_never_goes_back, sup_setup,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(now_is_cached_between_iterations, sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(backend_name_is_the_one_requested, sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(run_returns_one_while_a_channel_or_timer_remains, sup_setup,
                                        sup_teardown),
    };
    return sup_main(argc, argv, "behaviour.loop", tests, sizeof tests / sizeof tests[0], 1);
}
