/* test_wakeup.c - reactor_wakeup from other threads: it unblocks a waiting iteration, runs the
 * callback on the loop thread, coalesces, and never loses a wake-up published after a drain. */
#include "fixture.h"

#include <stdatomic.h>
#include <string.h>

typedef struct wk__state {
    sup_loop *f;
    atomic_int published; /* work items handed over by helper threads */
    int seen;             /* what the loop thread had observed at its latest callback */
    int calls;
    int off_thread; /* callbacks that ran on another thread */
    int deadline;
    unsigned delay_ms;
    int per_thread;
    atomic_int acked; /* ping-pong: rounds the loop has acknowledged */
    atomic_int wake_errors;
} wk__state;

static void wk__on_wakeup(reactor_t *r, void *arg)
{
    (void)r;
    wk__state *w = arg;
    w->calls++;
    if (!sup_on_loop_thread())
        w->off_thread++;
    w->seen = atomic_load(&w->published);
    atomic_store(&w->acked, w->seen);
}

static void wk__deadline(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)r;
    (void)t;
    ((wk__state *)arg)->deadline = 1;
}

static void wk__init(sup_loop *f, wk__state *w, int with_callback)
{
    memset(w, 0, sizeof *w);
    w->f = f;
    atomic_init(&w->published, 0);
    atomic_init(&w->acked, 0);
    atomic_init(&w->wake_errors, 0);
    sup_loop_open(f, with_callback ? wk__on_wakeup : NULL, w);
}

/* Helper threads: no cmocka asserts, only counters the test checks after joining. */
static void wk__wake_later(void *arg)
{
    wk__state *w = arg;
    sup_sleep_ms(w->delay_ms);
    atomic_fetch_add(&w->published, 1);
    if (reactor_wakeup(w->f->r) != 0)
        atomic_fetch_add(&w->wake_errors, 1);
}

static void wakeup_from_another_thread_runs_the_callback_on_the_loop_thread(void **state)
{
    sup_loop *f = *state;
    static wk__state w;
    wk__init(f, &w, 1);
    reactor_timer_t t;
    assert_int_equal(reactor_timer_start(f->r, 10000, 0, wk__deadline, &w, &t), 0);
    w.delay_ms = 30;
    sup_thread *th = sup_thread_start(wk__wake_later, &w);
    assert_non_null(th);
    int rc = reactor_run(f->r, REACTOR_RUN_ONCE);
    sup_thread_join(th);
    assert_int_equal(rc, 1);
    assert_int_equal(atomic_load(&w.wake_errors), 0);
    assert_int_equal(w.calls, 1);
    assert_int_equal(w.off_thread, 0);
    assert_int_equal(w.seen, 1);
    assert_int_equal(w.deadline, 0);
    assert_int_equal(sup_stats(f).wakeups, 1);
    assert_int_equal(reactor_timer_stop(f->r, t), 0);
}

static void wakeup_unblocks_once_even_without_a_callback(void **state)
{
    sup_loop *f = *state;
    static wk__state w;
    wk__init(f, &w, 0);
    reactor_timer_t t;
    assert_int_equal(reactor_timer_start(f->r, 10000, 0, wk__deadline, &w, &t), 0);
    w.delay_ms = 30;
    sup_thread *th = sup_thread_start(wk__wake_later, &w);
    assert_non_null(th);
    int rc = reactor_run(f->r, REACTOR_RUN_ONCE);
    sup_thread_join(th);
    assert_int_equal(rc, 1);
    assert_int_equal(atomic_load(&w.wake_errors), 0);
    assert_int_equal(w.deadline, 0);
    assert_int_equal(sup_stats(f).wakeups, 0);
    assert_int_equal(sup_stats(f).iterations, 1);
    assert_int_equal(reactor_timer_stop(f->r, t), 0);
}

static void once_with_only_a_wakeup_callback_waits_for_a_wakeup(void **state)
{
    sup_loop *f = *state;
    static wk__state w;
    wk__init(f, &w, 1);
    w.delay_ms = 30;
    sup_thread *th = sup_thread_start(wk__wake_later, &w);
    assert_non_null(th);
    /* No channel, no timer: ONCE still waits, because a wake-up callback is set. */
    int rc = reactor_run(f->r, REACTOR_RUN_ONCE);
    sup_thread_join(th);
    assert_int_equal(rc, 0);
    assert_int_equal(w.calls, 1);
    assert_int_equal(w.seen, 1);
}

static void wakeups_before_running_coalesce_into_one_callback(void **state)
{
    sup_loop *f = *state;
    static wk__state w;
    wk__init(f, &w, 1);
    for (int i = 0; i < 10; i++)
        assert_int_equal(reactor_wakeup(f->r), 0);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 0);
    assert_int_equal(w.calls, 1);
    /* Consumed: no further callback without a further wake-up. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 0);
    assert_int_equal(w.calls, 1);
    assert_int_equal(reactor_wakeup(f->r), 0);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 0);
    assert_int_equal(w.calls, 2);
    assert_int_equal(sup_stats(f).wakeups, 2);
}

static void wk__hammer(void *arg)
{
    wk__state *w = arg;
    for (int i = 0; i < w->per_thread; i++) {
        atomic_fetch_add(&w->published, 1);
        if (reactor_wakeup(w->f->r) != 0)
            atomic_fetch_add(&w->wake_errors, 1);
    }
}

static int wk__saw_all(void *ctx)
{
    wk__state *w = ctx;
    return w->seen == 4 * w->per_thread;
}

static void wakeups_from_many_threads_are_never_lost(void **state)
{
    sup_loop *f = *state;
    static wk__state w;
    wk__init(f, &w, 1);
    w.per_thread = 2000;
    sup_thread *th[4];
    for (int i = 0; i < 4; i++) {
        th[i] = sup_thread_start(wk__hammer, &w);
        assert_non_null(th[i]);
    }
    /* Every increment is followed by a wake-up, so a callback must eventually observe the
     * final count; a lost wake-up leaves the loop asleep until the deadline. */
    int ok = sup_run_until(f, wk__saw_all, &w, 20000);
    for (int i = 0; i < 4; i++)
        sup_thread_join(th[i]);
    assert_int_equal(atomic_load(&w.wake_errors), 0);
    assert_true(ok);
    assert_int_equal(w.off_thread, 0);
    assert_true(w.calls >= 1 && w.calls <= 4 * w.per_thread);
}

typedef struct wk__pingpong {
    wk__state *w;
    int rounds;
    int timeouts;
} wk__pingpong;

static void wk__ping(void *arg)
{
    wk__pingpong *p = arg;
    wk__state *w = p->w;
    for (int i = 1; i <= p->rounds; i++) {
        atomic_store(&w->published, i);
        if (reactor_wakeup(w->f->r) != 0)
            atomic_fetch_add(&w->wake_errors, 1);
        /* Wait (bounded) for the loop to acknowledge this round before the next. */
        uint64_t t0 = sup_clock_ns();
        while (atomic_load(&w->acked) < i) {
            if (sup_clock_ns() - t0 > 5000000000ull) {
                p->timeouts++;
                return;
            }
        }
    }
}

static int wk__acked_all(void *ctx)
{
    wk__pingpong *p = ctx;
    return atomic_load(&p->w->acked) >= p->rounds || p->timeouts;
}

static void a_wakeup_after_each_drain_is_always_delivered(void **state)
{
    sup_loop *f = *state;
    static wk__state w;
    wk__init(f, &w, 1);
    wk__pingpong p = {&w, 300, 0};
    sup_thread *th = sup_thread_start(wk__ping, &p);
    assert_non_null(th);
    int ok = sup_run_until(f, wk__acked_all, &p, 20000);
    sup_thread_join(th);
    assert_true(ok);
    assert_int_equal(p.timeouts, 0);
    assert_int_equal(atomic_load(&w.wake_errors), 0);
    assert_int_equal(w.seen, 300);
}

/* ---- a wake-up while the loop is awake needs no system call, and is never lost ---- */

typedef struct wk__self {
    int wakes, deadline;
    reactor_timer_t deadline_timer;
} wk__self;

static void wk__wake_self(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)t;
    (void)arg;
    assert_int_equal(reactor_wakeup(r), 0);
}

static void wk__self_deadline(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)t;
    ((wk__self *)arg)->deadline = 1;
    reactor_stop(r);
}

static void wk__self_woken(reactor_t *r, void *arg)
{
    ((wk__self *)arg)->wakes++;
    reactor_stop(r);
}

/* The wake-up comes from a callback, while the loop is awake: it skips the kernel, so the
 * loop must find it before it next blocks (here, for up to 10 s). */
static void a_wakeup_from_a_callback_ends_the_next_wait(void **state)
{
    sup_loop *f = *state;
    static wk__self w;
    memset(&w, 0, sizeof w);
    sup_loop_open(f, wk__self_woken, &w);
    reactor_timer_t t;
    assert_int_equal(reactor_timer_start(f->r, 0, 0, wk__wake_self, &w, &t), 0);
    assert_int_equal(reactor_timer_start(f->r, 10000, 0, wk__self_deadline, &w, &w.deadline_timer),
                     0);
    uint64_t t0 = sup_clock_ns();
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_DEFAULT), 1);
    assert_int_equal(w.wakes, 1);
    assert_int_equal(w.deadline, 0);
    assert_true(sup_clock_ns() - t0 < 5000000000ull);
    /* Consumed once: the loop then waits for its timer again, no second callback. */
    assert_int_equal(reactor_run_timeout(f->r, 0), 1);
    assert_int_equal(w.wakes, 1);
    assert_int_equal(reactor_timer_stop(f->r, w.deadline_timer), 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            wakeup_from_another_thread_runs_the_callback_on_the_loop_thread, sup_setup,
            sup_teardown),
        cmocka_unit_test_setup_teardown(wakeup_unblocks_once_even_without_a_callback, sup_setup,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(once_with_only_a_wakeup_callback_waits_for_a_wakeup,
                                        sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(wakeups_before_running_coalesce_into_one_callback,
                                        sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(wakeups_from_many_threads_are_never_lost, sup_setup,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(a_wakeup_after_each_drain_is_always_delivered, sup_setup,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(a_wakeup_from_a_callback_ends_the_next_wait, sup_setup,
                                        sup_teardown),
    };
    return sup_main(argc, argv, "behaviour.wakeup", tests, sizeof tests / sizeof tests[0], 1);
}
