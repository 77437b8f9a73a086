/* test_timers.c - timers through the loop: order, repeat, stop from callbacks, never early,
 * a 0 ms timer restarted from its callback does not starve I/O, IDs of dead timers stay dead. */
#include "fixture.h"

#include <string.h>

#define MS 1000000ull

typedef struct tm__log {
    int order[16];
    int n;
} tm__log;

typedef struct tm__entry {
    tm__log *log;
    int tag;
} tm__entry;

static void tm__log_cb(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)r;
    (void)t;
    tm__entry *e = arg;
    assert_true(e->log->n < 16);
    e->log->order[e->log->n++] = e->tag;
}

static reactor_timer_t tm__start(sup_loop *f, uint64_t ms, uint64_t repeat, reactor_timer_cb cb,
                                 void *arg)
{
    reactor_timer_t t = 0;
    assert_int_equal(reactor_timer_start(f->r, ms, repeat, cb, arg, &t), 0);
    assert_true(t != 0);
    return t;
}

static void timers_fire_in_order_of_due_time(void **state)
{
    sup_loop *f = *state;
    tm__log log = {{0}, 0};
    const uint64_t ms[] = {30, 10, 20, 0, 15};
    const int want[] = {3, 1, 4, 2, 0};
    tm__entry e[5];
    for (int i = 0; i < 5; i++) {
        e[i].log = &log;
        e[i].tag = i;
        tm__start(f, ms[i], 0, tm__log_cb, &e[i]);
    }
    assert_int_equal(sup_stats(f).timers, 5);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_DEFAULT), 0);
    assert_int_equal(log.n, 5);
    assert_memory_equal(log.order, want, sizeof want);
    assert_int_equal(sup_stats(f).timers, 0);
    assert_int_equal(sup_stats(f).timers_fired, 5);
}

static void equal_timeouts_fire_in_start_order(void **state)
{
    sup_loop *f = *state;
    tm__log log = {{0}, 0};
    tm__entry e[8];
    for (int i = 0; i < 8; i++) {
        e[i].log = &log;
        e[i].tag = i;
        tm__start(f, 5, 0, tm__log_cb, &e[i]);
    }
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_DEFAULT), 0);
    assert_int_equal(log.n, 8);
    for (int i = 0; i < 8; i++)
        assert_int_equal(log.order[i], i);
}

typedef struct tm__early {
    uint64_t timeout_ms;
    uint64_t start_ns;  /* the test's clock just before start */
    uint64_t start_now; /* reactor_now() just before start */
    uint64_t fired_ns;
    uint64_t fired_now;
    int fired;
} tm__early;

static void tm__early_cb(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)t;
    tm__early *e = arg;
    e->fired_ns = sup_clock_ns();
    e->fired_now = reactor_now(r);
    e->fired++;
}

static void timer_never_fires_early(void **state)
{
    sup_loop *f = *state;
    const uint64_t ms[] = {1, 2, 3, 5, 8, 13, 21, 34, 55};
    enum { N = sizeof ms / sizeof ms[0] };
    tm__early e[N];
    for (int round = 0; round < 3; round++) {
        memset(e, 0, sizeof e);
        for (int i = 0; i < N; i++) {
            e[i].timeout_ms = ms[i];
            e[i].start_now = reactor_now(f->r);
            e[i].start_ns = sup_clock_ns();
            tm__start(f, ms[i], 0, tm__early_cb, &e[i]);
        }
        assert_int_equal(reactor_run(f->r, REACTOR_RUN_DEFAULT), 0);
        for (int i = 0; i < N; i++) {
            assert_int_equal(e[i].fired, 1);
            assert_true(e[i].fired_ns - e[i].start_ns >= e[i].timeout_ms * MS);
            assert_true(e[i].fired_now >= e[i].start_now + e[i].timeout_ms);
        }
    }
}

typedef struct tm__repeat {
    reactor_timer_t id;
    int fires, stop_at;
    uint64_t last_now;
    uint64_t period;
    int stop_rc;
} tm__repeat;

static void tm__repeat_cb(reactor_t *r, reactor_timer_t t, void *arg)
{
    tm__repeat *p = arg;
    assert_int_equal(t, p->id);
    uint64_t now = reactor_now(r);
    if (p->fires)
        assert_true(now >= p->last_now + p->period);
    p->last_now = now;
    if (++p->fires == p->stop_at)
        p->stop_rc = reactor_timer_stop(r, t);
}

static void repeat_timer_fires_every_period_until_stopped_from_its_callback(void **state)
{
    sup_loop *f = *state;
    tm__repeat p = {0, 0, 4, 0, 5, -100};
    p.id = tm__start(f, 5, 5, tm__repeat_cb, &p);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_DEFAULT), 0);
    assert_int_equal(p.fires, 4);
    assert_int_equal(p.stop_rc, 0);
    assert_int_equal(sup_stats(f).timers, 0);
    assert_int_equal(reactor_timer_stop(f->r, p.id), REACTOR_EBADTIMER);
}

typedef struct tm__self {
    int fires;
    int stop_rc;
    uint64_t timers_inside;
} tm__self;

static void tm__self_stop_cb(reactor_t *r, reactor_timer_t t, void *arg)
{
    tm__self *s = arg;
    reactor_stats_t st;
    assert_int_equal(reactor_stats(r, &st), 0);
    s->timers_inside = st.timers;
    s->fires++;
    s->stop_rc = reactor_timer_stop(r, t);
}

static void one_shot_timer_is_expired_once_its_callback_starts(void **state)
{
    sup_loop *f = *state;
    tm__self s = {0, 0, 99};
    tm__start(f, 1, 0, tm__self_stop_cb, &s);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_DEFAULT), 0);
    assert_int_equal(s.fires, 1);
    assert_int_equal(s.stop_rc, REACTOR_EBADTIMER);
    assert_int_equal(s.timers_inside, 0);
}

typedef struct tm__pair {
    reactor_timer_t other;
    int a_fires, b_fires;
    int stop_rc;
} tm__pair;

static void tm__a_cb(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)t;
    tm__pair *p = arg;
    p->a_fires++;
    p->stop_rc = reactor_timer_stop(r, p->other);
}

static void tm__b_cb(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)r;
    (void)t;
    ((tm__pair *)arg)->b_fires++;
}

static void stopping_a_due_timer_from_another_callback_keeps_it_from_firing(void **state)
{
    sup_loop *f = *state;
    tm__pair p = {0, 0, 0, -100};
    tm__start(f, 2, 0, tm__a_cb, &p);
    p.other = tm__start(f, 2, 0, tm__b_cb, &p);
    /* Wait until both are due, so that both are expired in the same pass. */
    uint64_t t0 = sup_clock_ns();
    while (sup_clock_ns() - t0 < 4 * MS)
        ;
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 0);
    assert_int_equal(p.a_fires, 1);
    assert_int_equal(p.stop_rc, 0);
    assert_int_equal(p.b_fires, 0);
    assert_int_equal(sup_stats(f).timers, 0);
}

typedef struct tm__spin {
    int fires;
    int io_calls;
} tm__spin;

static void tm__spin_cb(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)t;
    tm__spin *s = arg;
    s->fires++;
    reactor_timer_t next;
    assert_int_equal(reactor_timer_start(r, 0, 0, tm__spin_cb, s, &next), 0);
}

static void tm__spin_io(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    (void)r;
    (void)chn;
    (void)events;
    ((tm__spin *)arg)->io_calls++;
}

static void zero_ms_timer_restarted_from_its_callback_does_not_starve_io(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t sv[2];
    sup_new_pair(f, sv);
    tm__spin s = {0, 0};
    reactor_chn_t chn;
    assert_int_equal(reactor_add(f->r, sv[0], REACTOR_READABLE, tm__spin_io, &s, &chn), 0);
    tm__start(f, 0, 0, tm__spin_cb, &s);
    sup_send_byte(sv[1]);
    uint64_t t0 = sup_clock_ns();
    int runs = 0;
    while (s.io_calls == 0 && sup_clock_ns() - t0 < SUP_WAIT_MS * MS) {
        int before = s.fires;
        assert_int_equal(reactor_run(f->r, REACTOR_RUN_ONCE), 1);
        runs++;
        /* Each iteration runs the chain at most one step: the new timer waits a pass. */
        assert_true(s.fires - before <= 1);
    }
    assert_int_equal(s.io_calls, 1);
    assert_true(s.fires <= runs);
}

typedef struct tm__reuse {
    int a_fires, b_fires;
} tm__reuse;

static void tm__reuse_a(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)r;
    (void)t;
    ((tm__reuse *)arg)->a_fires++;
}

static void tm__reuse_b(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)r;
    (void)t;
    ((tm__reuse *)arg)->b_fires++;
}

static void ids_of_expired_and_stopped_timers_never_touch_their_successors(void **state)
{
    sup_loop *f = *state;
    tm__reuse u = {0, 0};
    reactor_timer_t a = tm__start(f, 0, 0, tm__reuse_a, &u);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_DEFAULT), 0);
    assert_int_equal(u.a_fires, 1);
    reactor_timer_t b = tm__start(f, 1, 0, tm__reuse_b, &u);
    assert_true(b != a);
    assert_int_equal(reactor_timer_stop(f->r, a), REACTOR_EBADTIMER);
    assert_int_equal(sup_stats(f).timers, 1);
    assert_int_equal(reactor_timer_stop(f->r, b), 0);
    reactor_timer_t c = tm__start(f, 1, 0, tm__reuse_b, &u);
    assert_true(c != a && c != b);
    assert_int_equal(reactor_timer_stop(f->r, b), REACTOR_EBADTIMER);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_DEFAULT), 0);
    assert_int_equal(u.b_fires, 1);
    assert_int_equal(u.a_fires, 1);
}

static void tm__never(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)r;
    (void)t;
    (void)arg;
    fail_msg("a timer that should never fire fired");
}

static void huge_timeouts_neither_overflow_nor_fire(void **state)
{
    sup_loop *f = *state;
    reactor_timer_t a = tm__start(f, UINT64_MAX, UINT64_MAX, tm__never, NULL);
    reactor_timer_t b = tm__start(f, UINT64_MAX / 1000, 0, tm__never, NULL);
    for (int i = 0; i < 3; i++)
        assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 1);
    assert_int_equal(sup_stats(f).timers_fired, 0);
    assert_int_equal(reactor_timer_stop(f->r, a), 0);
    assert_int_equal(reactor_timer_stop(f->r, b), 0);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 0);
}

typedef struct tm__nested {
    int outer, inner;
    uint64_t outer_iter;
    uint64_t inner_iter;
} tm__nested;

static void tm__inner_cb(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)t;
    tm__nested *n = arg;
    reactor_stats_t st;
    assert_int_equal(reactor_stats(r, &st), 0);
    n->inner_iter = st.iterations;
    n->inner++;
}

static void tm__outer_cb(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)t;
    tm__nested *n = arg;
    reactor_stats_t st;
    assert_int_equal(reactor_stats(r, &st), 0);
    n->outer_iter = st.iterations;
    n->outer++;
    reactor_timer_t id;
    assert_int_equal(reactor_timer_start(r, 0, 0, tm__inner_cb, n, &id), 0);
}

static void timer_started_from_a_timer_callback_fires_in_a_later_iteration(void **state)
{
    sup_loop *f = *state;
    tm__nested n = {0, 0, 0, 0};
    tm__start(f, 0, 0, tm__outer_cb, &n);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_DEFAULT), 0);
    assert_int_equal(n.outer, 1);
    assert_int_equal(n.inner, 1);
    assert_true(n.inner_iter > n.outer_iter);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(timers_fire_in_order_of_due_time, sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(equal_timeouts_fire_in_start_order, sup_setup,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(timer_never_fires_early, sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(
            repeat_timer_fires_every_period_until_stopped_from_its_callback, sup_setup,
            sup_teardown),
        cmocka_unit_test_setup_teardown(one_shot_timer_is_expired_once_its_callback_starts,
                                        sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(
            stopping_a_due_timer_from_another_callback_keeps_it_from_firing, sup_setup,
            sup_teardown),
        cmocka_unit_test_setup_teardown(
            zero_ms_timer_restarted_from_its_callback_does_not_starve_io, sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(
            ids_of_expired_and_stopped_timers_never_touch_their_successors, sup_setup,
            sup_teardown),
        cmocka_unit_test_setup_teardown(huge_timeouts_neither_overflow_nor_fire, sup_setup,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(
            timer_started_from_a_timer_callback_fires_in_a_later_iteration, sup_setup,
            sup_teardown),
    };
    return sup_main(argc, argv, "behaviour.timers", tests, sizeof tests / sizeof tests[0], 1);
}
