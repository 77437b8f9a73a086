/* test_alloc.c - allocation failure and the steady state: reactor_create, reactor_add and
 * reactor_timer_start fail at each allocation in turn with REACTOR_ENOMEM, change nothing and
 * leave a working loop; an iteration that adds and removes nothing allocates nothing. */
#include "fixture.h"

#include <string.h>

static void tm__count(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)r;
    (void)t;
    (*(int *)arg)++;
}

static reactor_t *const al__sentinel = (reactor_t *)(uintptr_t)0x5eed;

static void create_fails_cleanly_at_every_allocation(void **state)
{
    sup_loop *f = *state;
    uint64_t k;
    for (k = 1; k < 64; k++) {
        sup_alloc_init(&f->alloc);
        sup_alloc_fail_nth(&f->alloc, k);
        reactor_options_t opts;
        memset(&opts, 0, sizeof opts);
        opts.backend = sup_backend();
        opts.allocator = &f->alloc.fn;
        reactor_t *r = al__sentinel;
        int err = reactor_create(&r, &opts);
        sup_alloc_fail_nth(&f->alloc, 0);
        if (err == 0) {
            assert_int_equal(f->alloc.failures, 0);
            f->r = r;
            break;
        }
        assert_int_equal(err, REACTOR_ENOMEM);
        assert_int_equal(f->alloc.failures, 1);
        assert_ptr_equal(r, al__sentinel);
        assert_int_equal(f->alloc.live, 0);
        assert_int_equal(f->alloc.bytes, 0);
    }
    assert_true(k > 1 && k < 64);
    sup_assert_loop_works(f);
    sup_loop_close(f);
}

typedef struct al__world {
    reactor_socket_t (*pairs)[2];
    int base;
    sup_probe probe[20];
} al__world;

/* A fresh loop with `base` channels already registered. */
static void al__fresh_loop(sup_loop *f, al__world *w)
{
    sup_loop_open(f, NULL, NULL);
    memset(w->probe, 0, sizeof w->probe);
    for (int i = 0; i < w->base; i++) {
        reactor_chn_t chn;
        assert_int_equal(reactor_add(f->r, w->pairs[i][0], REACTOR_READABLE, sup_probe_cb,
                                     &w->probe[i], &chn),
                         0);
    }
}

static void add_fails_cleanly_at_every_allocation(void **state)
{
    sup_loop *f = *state;
    /* Empty, and on both sides of the first growth of the per-channel arrays. */
    const int bases[] = {0, 15, 16};
    reactor_socket_t pairs[18][2];
    for (int i = 0; i < 18; i++)
        sup_new_pair(f, pairs[i]);
    for (size_t b = 0; b < sizeof bases / sizeof bases[0]; b++) {
        al__world w;
        w.pairs = pairs;
        w.base = bases[b];
        reactor_socket_t *extra = pairs[17];
        uint64_t k;
        int failed = 0;
        for (k = 1; k < 64; k++) {
            al__fresh_loop(f, &w);
            reactor_stats_t before = sup_stats(f);
            sup_probe p = {0};
            reactor_chn_t chn = 4242;
            sup_alloc_fail_nth(&f->alloc, k);
            uint64_t failures = f->alloc.failures;
            int err = reactor_add(f->r, extra[0], REACTOR_READABLE, sup_probe_cb, &p, &chn);
            sup_alloc_fail_nth(&f->alloc, 0);
            if (err == 0) {
                assert_int_equal(f->alloc.failures, failures);
                assert_int_equal(chn, w.base + 1);
                break;
            }
            failed++;
            assert_int_equal(err, REACTOR_ENOMEM);
            assert_int_equal(chn, 4242);
            reactor_stats_t after = sup_stats(f);
            assert_int_equal(after.channels, before.channels);
            assert_int_equal(after.events_dispatched, before.events_dispatched);
            /* The existing channels still work... */
            if (w.base) {
                sup_send_byte(pairs[0][1]);
                assert_true(sup_run_until_count(f, &w.probe[0].calls, 1, SUP_WAIT_MS));
                assert_int_equal(sup_drain(pairs[0][0]), 1);
            }
            /* ...and the socket was not registered: adding it now succeeds and works. */
            assert_int_equal(reactor_add(f->r, extra[0], REACTOR_READABLE, sup_probe_cb, &p, &chn),
                             0);
            assert_int_equal(chn, w.base + 1);
            sup_send_byte(extra[1]);
            assert_true(sup_run_until_count(f, &p.calls, 1, SUP_WAIT_MS));
            assert_int_equal(sup_drain(extra[0]), 1);
        }
        assert_true(k < 64);
        if (w.base != 15)
            assert_true(failed >= 1);
        sup_loop_close(f);
    }
}

static void timer_start_fails_cleanly_at_every_allocation(void **state)
{
    sup_loop *f = *state;
    const int bases[] = {0, 16};
    for (size_t b = 0; b < sizeof bases / sizeof bases[0]; b++) {
        uint64_t k;
        int fired = 0;
        for (k = 1; k < 64; k++) {
            sup_loop_open(f, NULL, NULL);
            fired = 0;
            for (int i = 0; i < bases[b]; i++) {
                reactor_timer_t t;
                assert_int_equal(reactor_timer_start(f->r, 0, 0, tm__count, &fired, &t), 0);
            }
            reactor_stats_t before = sup_stats(f);
            reactor_timer_t t = 99;
            sup_alloc_fail_nth(&f->alloc, k);
            int err = reactor_timer_start(f->r, 0, 0, tm__count, &fired, &t);
            sup_alloc_fail_nth(&f->alloc, 0);
            if (err == 0)
                break;
            assert_int_equal(err, REACTOR_ENOMEM);
            assert_int_equal(t, 99);
            assert_int_equal(sup_stats(f).timers, before.timers);
            /* The loop still runs the timers it has, and starts new ones. */
            assert_int_equal(reactor_timer_start(f->r, 0, 0, tm__count, &fired, &t), 0);
            assert_int_equal(reactor_run(f->r, REACTOR_RUN_DEFAULT), 0);
            assert_int_equal(fired, bases[b] + 1);
        }
        assert_true(k > 1 && k < 64);
        assert_int_equal(reactor_run(f->r, REACTOR_RUN_DEFAULT), 0);
        assert_int_equal(fired, bases[b] + 1);
        sup_loop_close(f);
    }
}

typedef struct al__inner {
    sup_loop *f;
    reactor_socket_t s;
    sup_probe p;
    int rc_failed, rc_retry;
    reactor_chn_t chn;
} al__inner;

static void al__add_in_timer(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)t;
    al__inner *in = arg;
    sup_alloc_fail_nth(&in->f->alloc, 1);
    in->chn = 31337;
    in->rc_failed = reactor_add(r, in->s, REACTOR_READABLE, sup_probe_cb, &in->p, &in->chn);
    sup_alloc_fail_nth(&in->f->alloc, 0);
    assert_int_equal(in->chn, 31337);
    in->rc_retry = reactor_add(r, in->s, REACTOR_READABLE, sup_probe_cb, &in->p, &in->chn);
}

static void failed_add_inside_a_callback_changes_nothing(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t sv[2];
    sup_new_pair(f, sv);
    sup_send_byte(sv[1]);
    al__inner in;
    memset(&in, 0, sizeof in);
    in.f = f;
    in.s = sv[0];
    reactor_timer_t t;
    assert_int_equal(reactor_timer_start(f->r, 0, 0, al__add_in_timer, &in, &t), 0);
    assert_true(sup_run_until_count(f, &in.p.calls, 1, SUP_WAIT_MS));
    assert_int_equal(in.rc_failed, REACTOR_ENOMEM);
    assert_int_equal(in.rc_retry, 0);
    assert_int_equal(in.p.chn, in.chn);
    assert_int_equal(sup_stats(f).channels, 1);
}

static void modify_and_remove_never_allocate(void **state)
{
    sup_loop *f = *state;
    enum { N = 20 };
    reactor_chn_t chn[N];
    sup_probe p[N];
    memset(p, 0, sizeof p);
    for (int i = 0; i < N; i++) {
        reactor_socket_t sv[2];
        sup_new_pair(f, sv);
        assert_int_equal(reactor_add(f->r, sv[0], REACTOR_READABLE, sup_probe_cb, &p[i], &chn[i]),
                         0);
    }
    uint64_t calls = f->alloc.calls;
    uint64_t total = sup_stats(f).allocations_total;
    for (int i = 0; i < N; i++)
        assert_int_equal(reactor_modify(f->r, chn[i], REACTOR_READABLE | REACTOR_WRITABLE), 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(reactor_modify(f->r, chn[i], 0), 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(reactor_remove(f->r, chn[i]), 0);
    assert_int_equal(f->alloc.calls, calls);
    assert_int_equal(sup_stats(f).allocations_total, total);
}

typedef struct al__steady {
    int wakeups;
    int restarts;
    int repeats;
} al__steady;

static void al__on_wakeup(reactor_t *r, void *arg)
{
    (void)r;
    ((al__steady *)arg)->wakeups++;
}

static void al__restart(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)t;
    al__steady *s = arg;
    s->restarts++;
    reactor_timer_t next;
    assert_int_equal(reactor_timer_start(r, 0, 0, al__restart, s, &next), 0);
}

static void al__repeat(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)r;
    (void)t;
    ((al__steady *)arg)->repeats++;
}

static void steady_state_iterations_allocate_nothing(void **state)
{
    sup_loop *f = *state;
    al__steady st = {0, 0, 0};
    sup_loop_open(f, al__on_wakeup, &st);
    enum { N = 8 };
    sup_probe p[N];
    memset(p, 0, sizeof p);
    for (int i = 0; i < N; i++) {
        reactor_socket_t sv[2];
        reactor_chn_t chn;
        sup_new_pair(f, sv);
        assert_int_equal(reactor_add(f->r, sv[0], REACTOR_READABLE | REACTOR_WRITABLE, sup_probe_cb,
                                     &p[i], &chn),
                         0);
        sup_send_byte(sv[1]);
    }
    reactor_timer_t t1, t2;
    assert_int_equal(reactor_timer_start(f->r, 0, 0, al__restart, &st, &t1), 0);
    assert_int_equal(reactor_timer_start(f->r, 1, 1, al__repeat, &st, &t2), 0);
    for (int i = 0; i < 50; i++) {
        assert_int_equal(reactor_wakeup(f->r), 0);
        assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 1);
    }
    reactor_stats_t before = sup_stats(f);
    uint64_t calls = f->alloc.calls;
    uint64_t t0 = sup_clock_ns();
    int iterations = 0;
    /* At least 500 iterations, and long enough for the 1 ms repeat timer to fire a few times. */
    while (iterations < 500 || sup_clock_ns() - t0 < 20000000u) {
        assert_int_equal(reactor_wakeup(f->r), 0);
        assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 1);
        iterations++;
    }
    reactor_stats_t after = sup_stats(f);
    assert_int_equal(after.allocations_total, before.allocations_total);
    assert_int_equal(f->alloc.calls, calls);
    assert_int_equal(after.allocations_live, before.allocations_live);
    /* It was not idle: I/O, both timers and wake-ups ran in those iterations. */
    assert_true(after.events_dispatched - before.events_dispatched >= (uint64_t)iterations * N);
    assert_true(after.timers_fired - before.timers_fired >= (uint64_t)iterations);
    assert_true(after.wakeups - before.wakeups >= (uint64_t)iterations);
    assert_true(st.repeats >= 2);
    print_message("[ INFO     ] %s: %d iterations, %llu callbacks, 0 allocations\n",
                  sup_backend_arg(), iterations,
                  (unsigned long long)(after.events_dispatched - before.events_dispatched));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(create_fails_cleanly_at_every_allocation, sup_setup_bare,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(add_fails_cleanly_at_every_allocation, sup_setup_bare,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(timer_start_fails_cleanly_at_every_allocation,
                                        sup_setup_bare, sup_teardown),
        cmocka_unit_test_setup_teardown(failed_add_inside_a_callback_changes_nothing, sup_setup,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(modify_and_remove_never_allocate, sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(steady_state_iterations_allocate_nothing, sup_setup,
                                        sup_teardown),
    };
    return sup_main(argc, argv, "behaviour.alloc", tests, sizeof tests / sizeof tests[0], 1);
}
