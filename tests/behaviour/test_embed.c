/* test_embed.c - what an embedder needs besides channels and timers: the bounded wait
 * (reactor_run_timeout), nesting in a foreign loop (reactor_backend_fd/_timeout), user data,
 * the socket <-> channel lookups and the OS error behind a failure. Every backend. */
#include "fixture.h"

#include <errno.h>

#if defined(_WIN32)
#include <winsock2.h>
#else
#include <poll.h>
#endif

static void em__wake_cb(reactor_t *r, void *arg)
{
    (void)r;
    (*(int *)arg)++;
}

typedef struct em__waker {
    reactor_t *r;
    int rc;
} em__waker;

static void em__wake_later(void *arg)
{
    em__waker *w = arg;
    sup_sleep_ms(50);
    w->rc = reactor_wakeup(w->r);
}

static void bounded_wait_returns_after_its_time_with_nothing_to_do(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t sv[2];
    sup_new_pair(f, sv);
    sup_probe p = {0};
    reactor_chn_t chn;
    assert_int_equal(reactor_add(f->r, sv[0], REACTOR_READABLE, sup_probe_cb, &p, &chn), 0);
    uint64_t t0 = sup_clock_ns();
    assert_int_equal(reactor_run_timeout(f->r, 30), 1);
    uint64_t ms = (sup_clock_ns() - t0) / 1000000u;
    assert_int_equal(p.calls, 0);
    /* No timer was started for the bound. */
    assert_int_equal(sup_stats(f).timers, 0);
    /* A wait that ends early (a signal, a clock tick) waits again for the rest: never less. */
    assert_true(ms >= 30);
    assert_true(ms < 5000);
    /* 0 does not wait: with nothing ready it returns at once, and an event that is there is
     * dispatched (the bounded waits below only wait for the kernel to deliver it). */
    assert_int_equal(reactor_run_timeout(f->r, 0), 1);
    assert_int_equal(p.calls, 0);
    sup_send_byte(sv[1]);
    for (int i = 0; i < 500 && !p.calls; i++)
        assert_int_equal(reactor_run_timeout(f->r, i % 2 ? 20 : 0), 1);
    assert_int_equal(p.calls, 1);
    assert_true(p.last & REACTOR_READABLE);
}

static void bounded_wait_dispatches_as_soon_as_an_event_comes(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t sv[2];
    sup_new_pair(f, sv);
    sup_probe p = {0};
    reactor_chn_t chn;
    assert_int_equal(reactor_add(f->r, sv[0], REACTOR_READABLE, sup_probe_cb, &p, &chn), 0);
    assert_int_equal(reactor_run_timeout(f->r, 0), 1); /* arms what is lazy (AFD) */
    sup_send_byte(sv[1]);
    uint64_t t0 = sup_clock_ns();
    for (int i = 0; i < 10 && !p.calls; i++)
        assert_int_equal(reactor_run_timeout(f->r, 10000), 1);
    assert_int_equal(p.calls, 1);
    assert_true((sup_clock_ns() - t0) / 1000000u < 10000);
}

static void tm__flag(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)r;
    (void)t;
    *(int *)arg = 1;
}

static void bounded_wait_fires_a_timer_due_sooner_and_never_early(void **state)
{
    sup_loop *f = *state;
    int fired = 0;
    reactor_timer_t t;
    uint64_t t0 = sup_clock_ns();
    assert_int_equal(reactor_timer_start(f->r, 20, 0, tm__flag, &fired, &t), 0);
    /* Bounded by time, not by a count of iterations: a wait may return with nothing (Wine). */
    while (!fired && sup_clock_ns() - t0 < (uint64_t)SUP_WAIT_MS * 1000000u)
        assert_true(reactor_run_timeout(f->r, 10000) >= 0);
    assert_int_equal(fired, 1);
    assert_true(sup_clock_ns() - t0 >= 20u * 1000000u);
}

static void bounded_wait_without_limit_on_an_empty_loop_ends_on_a_wakeup(void **state)
{
    sup_loop *f = *state;
    int woken = 0;
    sup_loop_open(f, em__wake_cb, &woken);
    em__waker w = {f->r, -1};
    sup_thread *th = sup_thread_start(em__wake_later, &w);
    assert_non_null(th);
    /* Nothing registered at all, and still it waits, until the wake-up. */
    assert_int_equal(reactor_run_timeout(f->r, -1), 0);
    sup_thread_join(th);
    assert_int_equal(w.rc, 0);
    assert_int_equal(woken, 1);
}

static void em__busy_cb(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    (void)chn;
    (void)events;
    *(int *)arg = reactor_run_timeout(r, 0);
}

static void bounded_wait_checks_its_arguments(void **state)
{
    sup_loop *f = *state;
    assert_int_equal(reactor_run_timeout(NULL, 0), REACTOR_EINVAL);
    assert_int_equal(reactor_run_timeout(f->r, -2), REACTOR_EINVAL);
    reactor_socket_t sv[2];
    sup_new_pair(f, sv);
    int inner = 0;
    reactor_chn_t chn;
    assert_int_equal(reactor_add(f->r, sv[0], REACTOR_WRITABLE, em__busy_cb, &inner, &chn), 0);
    for (int i = 0; i < 500 && !inner; i++)
        (void)reactor_run_timeout(f->r, 10);
    assert_int_equal(inner, REACTOR_EBUSY);
}

/* ---- nesting in a foreign loop ---- */

static void backend_timeout_follows_the_next_timer(void **state)
{
    sup_loop *f = *state;
    assert_int_equal(reactor_backend_timeout(NULL), -1);
    assert_int_equal(reactor_backend_timeout(f->r), -1);
    int fired = 0;
    reactor_timer_t t;
    assert_int_equal(reactor_timer_start(f->r, 200, 0, tm__flag, &fired, &t), 0);
    int ms = reactor_backend_timeout(f->r);
    assert_true(ms > 0 && ms <= 200);
    assert_int_equal(reactor_timer_stop(f->r, t), 0);
    assert_int_equal(reactor_timer_start(f->r, 0, 0, tm__flag, &fired, &t), 0);
    sup_sleep_ms(1);
    assert_int_equal(reactor_backend_timeout(f->r), 0);
}

/* Waits (bounded) until the loop's backend descriptor says something is ready. */
static int em__fd_ready(intptr_t fd, int ms)
{
#if defined(_WIN32)
    (void)fd;
    (void)ms;
    return 1; /* a completion port is not a waitable object: nothing to poll */
#else
    struct pollfd p = {(int)fd, POLLIN, 0};
    return poll(&p, 1, ms) == 1;
#endif
}

static void backend_fd_lets_a_foreign_loop_wait_for_the_loop(void **state)
{
    sup_loop *f = *state;
    intptr_t fd = -1;
    assert_int_equal(reactor_backend_fd(NULL, &fd), REACTOR_EINVAL);
    assert_int_equal(reactor_backend_fd(f->r, NULL), REACTOR_EINVAL);
    int rc = reactor_backend_fd(f->r, &fd);
    if (sup_backend() == REACTOR_BACKEND_POLL) {
        assert_int_equal(rc, REACTOR_ENOTSUP); /* poll() keeps no kernel set */
        return;
    }
    assert_int_equal(rc, 0);
    assert_true(fd != -1 && fd != 0);
    reactor_socket_t sv[2];
    sup_new_pair(f, sv);
    sup_probe p = {0};
    reactor_chn_t chn;
    assert_int_equal(reactor_add(f->r, sv[0], REACTOR_READABLE, sup_probe_cb, &p, &chn), 0);
    assert_int_equal(reactor_run_timeout(f->r, 0), 1);
#if !defined(_WIN32)
    assert_false(em__fd_ready(fd, 0)); /* nothing ready: the foreign loop would sleep */
#endif
    sup_send_byte(sv[1]);
    assert_true(em__fd_ready(fd, (int)SUP_WAIT_MS));
    for (int i = 0; i < 500 && !p.calls; i++)
        assert_int_equal(reactor_run_timeout(f->r, i ? 20 : 0), 1);
    assert_int_equal(p.calls, 1);
}

static void em__wake_from_timer(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)t;
    (void)arg;
    assert_int_equal(reactor_wakeup(r), 0);
}

/* A wake-up sent while the loop runs callbacks skips the kernel; when the run returns, the
 * application may wait on the backend descriptor, so it must be readable then. */
static void a_wakeup_from_a_callback_wakes_a_foreign_loop(void **state)
{
    sup_loop *f = *state;
    int woken = 0;
    sup_loop_open(f, em__wake_cb, &woken);
    reactor_timer_t t;
    assert_int_equal(reactor_timer_start(f->r, 0, 0, em__wake_from_timer, NULL, &t), 0);
    for (int i = 0; i < 500 && sup_stats(f).timers; i++)
        assert_true(reactor_run_timeout(f->r, i ? 5 : 0) >= 0);
    assert_int_equal(sup_stats(f).timers, 0);
    assert_int_equal(woken, 0);
    intptr_t fd = -1;
    if (reactor_backend_fd(f->r, &fd) == 0) {
        assert_true(em__fd_ready(fd, 0));
    }
    assert_int_equal(reactor_run_timeout(f->r, 1000), 0);
    assert_int_equal(woken, 1);
#if !defined(_WIN32)
    if (fd != -1) {
        assert_false(em__fd_ready(fd, 0)); /* consumed: the foreign loop sleeps again */
    }
#endif
}

/* ---- user data and lookups ---- */

static void user_data_is_kept_for_the_application(void **state)
{
    sup_loop *f = *state;
    int mine;
    assert_null(reactor_get_data(f->r));
    reactor_set_data(f->r, &mine);
    assert_ptr_equal(reactor_get_data(f->r), &mine);
    reactor_set_data(NULL, &mine); /* ignored */
    assert_null(reactor_get_data(NULL));
}

static void sockets_and_channels_look_each_other_up(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t sv[2], other[2];
    sup_new_pair(f, sv);
    sup_new_pair(f, other);
    sup_probe p = {0};
    reactor_chn_t chn, back = 0;
    assert_int_equal(reactor_add(f->r, sv[0], REACTOR_READABLE, sup_probe_cb, &p, &chn), 0);
    reactor_socket_t s = REACTOR_INVALID_SOCKET;
    assert_int_equal(reactor_chn_socket(f->r, chn, &s), 0);
    assert_true(s == sv[0]);
    assert_int_equal(reactor_socket_chn(f->r, sv[0], &back), 0);
    assert_int_equal(back, chn);
    assert_int_equal(reactor_socket_chn(f->r, other[0], &back), REACTOR_EBADCHN);
    assert_int_equal(reactor_chn_socket(f->r, (reactor_chn_t)(chn + 1), &s), REACTOR_EBADCHN);
    assert_int_equal(reactor_chn_socket(NULL, chn, &s), REACTOR_EINVAL);
    assert_int_equal(reactor_chn_socket(f->r, chn, NULL), REACTOR_EINVAL);
    assert_int_equal(reactor_socket_chn(NULL, sv[0], &back), REACTOR_EINVAL);
    assert_int_equal(reactor_socket_chn(f->r, sv[0], NULL), REACTOR_EINVAL);
    assert_int_equal(reactor_remove(f->r, chn), 0);
    assert_int_equal(reactor_chn_socket(f->r, chn, &s), REACTOR_EBADCHN);
    assert_int_equal(reactor_socket_chn(f->r, sv[0], &back), REACTOR_EBADCHN);
}

/* ---- the OS error behind a failure ---- */

static void the_os_error_behind_ebadf_is_kept(void **state)
{
    sup_loop *f = *state;
    assert_int_equal(reactor_last_os_error(NULL), 0);
    assert_int_equal(reactor_last_os_error(f->r), 0);
    reactor_socket_t sv[2];
    assert_int_equal(sup_pair(sv), 0);
    sup_close(sv[0]);
    sup_close(sv[1]);
    sup_probe p = {0};
    reactor_chn_t chn;
    assert_int_equal(reactor_add(f->r, sv[0], REACTOR_READABLE, sup_probe_cb, &p, &chn),
                     REACTOR_EBADF);
#if defined(_WIN32)
    assert_int_equal(reactor_last_os_error(f->r), WSAENOTSOCK);
#else
    assert_int_equal(reactor_last_os_error(f->r), EBADF);
#endif
    /* A failure the library finds itself has no OS error behind it. */
    assert_int_equal(reactor_add(f->r, REACTOR_INVALID_SOCKET, REACTOR_READABLE, sup_probe_cb, &p,
                                 &chn),
                     REACTOR_EBADF);
    assert_int_equal(reactor_last_os_error(f->r), 0);
}

/* fork() is POSIX: there the fork area tests it (behaviour.<b>.fork); on Windows it says so. */
static void fork_is_enotsup_where_there_is_no_fork(void **state)
{
    sup_loop *f = *state;
    assert_int_equal(reactor_fork(NULL), REACTOR_EINVAL);
#if defined(_WIN32)
    assert_int_equal(reactor_fork(f->r), REACTOR_ENOTSUP);
#else
    /* In the parent itself it is harmless: a new set and wake-up, every channel added again. */
    reactor_socket_t sv[2];
    sup_new_pair(f, sv);
    sup_probe p = {0};
    reactor_chn_t chn;
    assert_int_equal(reactor_add(f->r, sv[0], REACTOR_READABLE, sup_probe_cb, &p, &chn), 0);
    assert_int_equal(reactor_fork(f->r), 0);
    sup_send_byte(sv[1]);
    assert_true(sup_run_until_count(f, &p.calls, 1, SUP_WAIT_MS));
#endif
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(bounded_wait_returns_after_its_time_with_nothing_to_do,
                                        sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(bounded_wait_dispatches_as_soon_as_an_event_comes,
                                        sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(bounded_wait_fires_a_timer_due_sooner_and_never_early,
                                        sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(
            bounded_wait_without_limit_on_an_empty_loop_ends_on_a_wakeup, sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(bounded_wait_checks_its_arguments, sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(backend_timeout_follows_the_next_timer, sup_setup,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(a_wakeup_from_a_callback_wakes_a_foreign_loop, sup_setup,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(backend_fd_lets_a_foreign_loop_wait_for_the_loop, sup_setup,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(user_data_is_kept_for_the_application, sup_setup,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(sockets_and_channels_look_each_other_up, sup_setup,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(the_os_error_behind_ebadf_is_kept, sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(fork_is_enotsup_where_there_is_no_fork, sup_setup,
                                        sup_teardown),
    };
    return sup_main(argc, argv, "behaviour.embed", tests, sizeof tests / sizeof tests[0], 1);
}
