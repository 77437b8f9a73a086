/* test_bad_input.c - every public call with bad arguments returns its documented error and
 * changes nothing: the counters stay put and the channels and timers already there still work. */
#include "fixture.h"

#include <string.h>

static void tm__count(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)r;
    (void)t;
    (*(int *)arg)++;
}

/* A loop with one channel (the witness) and one long timer, to show nothing moved. */
typedef struct bad__world {
    reactor_socket_t sv[2];
    reactor_chn_t chn;
    sup_probe probe;
    reactor_timer_t timer;
    int fired;
    reactor_stats_t before;
} bad__world;

static void bad__open(sup_loop *f, bad__world *w)
{
    memset(w, 0, sizeof *w);
    sup_new_pair(f, w->sv);
    assert_int_equal(reactor_add(f->r, w->sv[0], REACTOR_READABLE, sup_probe_cb, &w->probe,
                                 &w->chn),
                     0);
    assert_int_equal(reactor_timer_start(f->r, 60000, 0, tm__count, &w->fired, &w->timer), 0);
    w->before = sup_stats(f);
}

/* Nothing changed, and the witness channel and timer still behave. */
static void bad__check(sup_loop *f, bad__world *w)
{
    reactor_stats_t now = sup_stats(f);
    assert_int_equal(now.channels, w->before.channels);
    assert_int_equal(now.timers, w->before.timers);
    assert_int_equal(now.iterations, w->before.iterations);
    assert_int_equal(now.events_dispatched, w->before.events_dispatched);
    assert_int_equal(now.timers_fired, w->before.timers_fired);
    assert_int_equal(now.allocations_live, w->before.allocations_live);
    int calls = w->probe.calls;
    sup_send_byte(w->sv[1]);
    assert_true(sup_run_until_count(f, &w->probe.calls, calls + 1, SUP_WAIT_MS));
    assert_int_equal(w->probe.chn, w->chn);
    assert_int_equal(sup_drain(w->sv[0]), 1);
    assert_int_equal(w->fired, 0);
    assert_int_equal(reactor_timer_stop(f->r, w->timer), 0);
    assert_int_equal(reactor_remove(f->r, w->chn), 0);
}

static void null_loop_is_einval_for_every_call(void **state)
{
    sup_loop *f = *state;
    bad__world w;
    bad__open(f, &w);
    reactor_chn_t chn = 7;
    reactor_timer_t t = 7;
    reactor_stats_t st;
    memset(&st, 0xAB, sizeof st);
    int fired = 0;
    assert_int_equal(reactor_add(NULL, w.sv[1], REACTOR_READABLE, sup_probe_cb, NULL, &chn),
                     REACTOR_EINVAL);
    assert_int_equal(chn, 7);
    assert_int_equal(reactor_modify(NULL, w.chn, REACTOR_WRITABLE), REACTOR_EINVAL);
    assert_int_equal(reactor_remove(NULL, w.chn), REACTOR_EINVAL);
    assert_int_equal(reactor_timer_start(NULL, 1, 0, tm__count, &fired, &t), REACTOR_EINVAL);
    assert_int_equal(t, 7);
    assert_int_equal(reactor_timer_stop(NULL, w.timer), REACTOR_EINVAL);
    assert_int_equal(reactor_run(NULL, REACTOR_RUN_NOWAIT), REACTOR_EINVAL);
    assert_int_equal(reactor_run(NULL, REACTOR_RUN_DEFAULT), REACTOR_EINVAL);
    assert_int_equal(reactor_wakeup(NULL), REACTOR_EINVAL);
    assert_int_equal(reactor_stats(NULL, &st), REACTOR_EINVAL);
    assert_null(reactor_backend_name(NULL));
    assert_int_equal(reactor_now(NULL), 0);
    reactor_stop(NULL);
    reactor_destroy(NULL);
    bad__check(f, &w);
}

static void null_out_pointers_and_callbacks_are_einval(void **state)
{
    sup_loop *f = *state;
    bad__world w;
    bad__open(f, &w);
    reactor_socket_t other[2];
    sup_new_pair(f, other);
    reactor_chn_t chn = 7;
    reactor_timer_t t = 7;
    int fired = 0;
    assert_int_equal(reactor_create(NULL, NULL), REACTOR_EINVAL);
    assert_int_equal(reactor_add(f->r, other[0], REACTOR_READABLE, NULL, NULL, &chn),
                     REACTOR_EINVAL);
    assert_int_equal(chn, 7);
    assert_int_equal(reactor_add(f->r, other[0], REACTOR_READABLE, sup_probe_cb, NULL, NULL),
                     REACTOR_EINVAL);
    assert_int_equal(reactor_timer_start(f->r, 1, 0, NULL, NULL, &t), REACTOR_EINVAL);
    assert_int_equal(t, 7);
    assert_int_equal(reactor_timer_start(f->r, 1, 0, tm__count, &fired, NULL), REACTOR_EINVAL);
    assert_int_equal(reactor_stats(f->r, NULL), REACTOR_EINVAL);
    bad__check(f, &w);
    /* The refused socket was never registered. */
    sup_probe p = {0};
    assert_int_equal(reactor_add(f->r, other[0], REACTOR_READABLE, sup_probe_cb, &p, &chn), 0);
}

static void bad_channel_numbers_are_ebadchn(void **state)
{
    sup_loop *f = *state;
    bad__world w;
    reactor_socket_t gone[2];
    sup_new_pair(f, gone);
    sup_probe gp = {0};
    reactor_chn_t removed;
    assert_int_equal(reactor_add(f->r, gone[0], REACTOR_READABLE, sup_probe_cb, &gp, &removed), 0);
    assert_int_equal(reactor_remove(f->r, removed), 0);
    bad__open(f, &w);
    /* w.chn reused `removed` (FIFO, the only free number): the removed number is live again, so
     * use a second one that stays removed. */
    assert_int_equal(w.chn, removed);
    reactor_socket_t gone2[2];
    sup_new_pair(f, gone2);
    reactor_chn_t removed2;
    assert_int_equal(reactor_add(f->r, gone2[0], REACTOR_READABLE, sup_probe_cb, &gp, &removed2),
                     0);
    assert_int_equal(reactor_remove(f->r, removed2), 0);
    w.before = sup_stats(f);
    const reactor_chn_t bad[] = {0, 65535, 500, 65534, (reactor_chn_t)(removed2 + 1), removed2};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(reactor_modify(f->r, bad[i], REACTOR_READABLE), REACTOR_EBADCHN);
        assert_int_equal(reactor_modify(f->r, bad[i], 0), REACTOR_EBADCHN);
        assert_int_equal(reactor_remove(f->r, bad[i]), REACTOR_EBADCHN);
    }
    sup_send_byte(gone2[1]);
    bad__check(f, &w);
    assert_int_equal(gp.calls, 0);
}

static void reused_number_names_the_new_channel_only(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t a[2], b[2];
    sup_new_pair(f, a);
    sup_new_pair(f, b);
    sup_probe pa = {0}, pb = {0};
    reactor_chn_t ca, cb;
    assert_int_equal(reactor_add(f->r, a[0], REACTOR_READABLE, sup_probe_cb, &pa, &ca), 0);
    assert_int_equal(reactor_remove(f->r, ca), 0);
    assert_int_equal(reactor_add(f->r, b[0], REACTOR_READABLE, sup_probe_cb, &pb, &cb), 0);
    assert_int_equal(cb, ca); /* the only free number comes back */
    /* The old owner's socket is not watched any more; the number now means b. */
    sup_send_byte(a[1]);
    sup_send_byte(b[1]);
    assert_true(sup_run_until_count(f, &pb.calls, 1, SUP_WAIT_MS));
    assert_int_equal(pa.calls, 0);
    assert_int_equal(reactor_modify(f->r, ca, 0), 0);
    int calls = pb.calls;
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 1);
    assert_int_equal(pb.calls, calls);
    assert_int_equal(reactor_remove(f->r, ca), 0);
    assert_int_equal(reactor_remove(f->r, ca), REACTOR_EBADCHN);
    assert_int_equal(pa.calls, 0);
}

static void released_numbers_come_back_first_in_first_out(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t s[5][2];
    reactor_chn_t c[5];
    sup_probe p = {0};
    for (int i = 0; i < 5; i++) {
        sup_new_pair(f, s[i]);
        assert_int_equal(reactor_add(f->r, s[i][0], REACTOR_READABLE, sup_probe_cb, &p, &c[i]), 0);
    }
    assert_int_equal(reactor_remove(f->r, c[3]), 0);
    assert_int_equal(reactor_remove(f->r, c[1]), 0);
    assert_int_equal(reactor_remove(f->r, c[4]), 0);
    reactor_chn_t n;
    assert_int_equal(reactor_add(f->r, s[4][0], REACTOR_READABLE, sup_probe_cb, &p, &n), 0);
    assert_int_equal(n, c[3]);
    assert_int_equal(reactor_add(f->r, s[3][0], REACTOR_READABLE, sup_probe_cb, &p, &n), 0);
    assert_int_equal(n, c[1]);
    assert_int_equal(reactor_add(f->r, s[1][0], REACTOR_READABLE, sup_probe_cb, &p, &n), 0);
    assert_int_equal(n, c[4]);
}

static void bad_timer_ids_are_ebadtimer(void **state)
{
    sup_loop *f = *state;
    bad__world w;
    int fired = 0;
    reactor_timer_t expired, stopped;
    assert_int_equal(reactor_timer_start(f->r, 0, 0, tm__count, &fired, &expired), 0);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_DEFAULT), 0);
    assert_int_equal(fired, 1);
    assert_int_equal(reactor_timer_start(f->r, 60000, 0, tm__count, &fired, &stopped), 0);
    assert_int_equal(reactor_timer_stop(f->r, stopped), 0);
    bad__open(f, &w);
    const reactor_timer_t bad[] = {
        0,
        expired,
        stopped,
        w.timer ^ (1ull << 32),               /* the live timer's slot, another generation */
        (w.timer & ~0xFFFFFFFFull) | 0xFFFFu, /* never issued */
        UINT64_MAX,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(reactor_timer_stop(f->r, bad[i]), REACTOR_EBADTIMER);
    bad__check(f, &w);
}

static void invalid_and_closed_sockets_are_ebadf(void **state)
{
    sup_loop *f = *state;
    bad__world w;
    bad__open(f, &w);
    reactor_chn_t chn = 7;
    sup_probe p = {0};
    assert_int_equal(reactor_add(f->r, REACTOR_INVALID_SOCKET, REACTOR_READABLE, sup_probe_cb, &p,
                                 &chn),
                     REACTOR_EBADF);
    assert_int_equal(chn, 7);
    reactor_socket_t dead[2];
    assert_int_equal(sup_pair(dead), 0);
    sup_close(dead[0]);
    sup_close(dead[1]);
    assert_int_equal(reactor_add(f->r, dead[0], REACTOR_READABLE, sup_probe_cb, &p, &chn),
                     REACTOR_EBADF);
    assert_int_equal(chn, 7);
    bad__check(f, &w);
    assert_int_equal(p.calls, 0);
}

static void socket_already_registered_is_eexist(void **state)
{
    sup_loop *f = *state;
    bad__world w;
    bad__open(f, &w);
    reactor_chn_t chn = 7;
    sup_probe p = {0};
    assert_int_equal(reactor_add(f->r, w.sv[0], REACTOR_READABLE, sup_probe_cb, &p, &chn),
                     REACTOR_EEXIST);
    assert_int_equal(reactor_add(f->r, w.sv[0], REACTOR_WRITABLE, sup_probe_cb, &p, &chn),
                     REACTOR_EEXIST);
    assert_int_equal(reactor_add(f->r, w.sv[0], 0, sup_probe_cb, &p, &chn), REACTOR_EEXIST);
    assert_int_equal(chn, 7);
    reactor_socket_t s = w.sv[0];
    bad__check(f, &w); /* removes the witness */
    assert_int_equal(p.calls, 0);
    assert_int_equal(reactor_add(f->r, s, REACTOR_READABLE, sup_probe_cb, &p, &chn), 0);
}

static void bad_event_bits_are_einval(void **state)
{
    sup_loop *f = *state;
    bad__world w;
    bad__open(f, &w);
    reactor_socket_t other[2];
    sup_new_pair(f, other);
    const unsigned bad[] = {1u << 5, 1u << 31, REACTOR_READABLE | (1u << 6), ~0u};
    reactor_chn_t chn = 7;
    sup_probe p = {0};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(reactor_add(f->r, other[0], bad[i], sup_probe_cb, &p, &chn),
                         REACTOR_EINVAL);
        assert_int_equal(chn, 7);
        assert_int_equal(reactor_modify(f->r, w.chn, bad[i]), REACTOR_EINVAL);
    }
    /* The witness keeps its READABLE interest (checked by bad__check). */
    bad__check(f, &w);
    assert_int_equal(reactor_add(f->r, other[0], REACTOR_READABLE, sup_probe_cb, &p, &chn), 0);
}

static void bad_run_modes_are_einval(void **state)
{
    sup_loop *f = *state;
    bad__world w;
    bad__open(f, &w);
    sup_send_byte(w.sv[1]); /* something to dispatch if a bad mode ran an iteration */
    const int bad[] = {-1, 3, 100};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(reactor_run(f->r, (reactor_run_mode)bad[i]), REACTOR_EINVAL);
    assert_int_equal(sup_drain(w.sv[0]), 1);
    bad__check(f, &w);
}

static void bad_backends_and_allocators_are_refused_before_allocating(void **state)
{
    sup_loop *f = *state;
    const int bad[] = {-1, 4, 99};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0] + 1; i++) {
        reactor_options_t opts;
        memset(&opts, 0, sizeof opts);
        opts.allocator = &f->alloc.fn;
        opts.backend = i < sizeof bad / sizeof bad[0] ? bad[i] : sup_foreign_backend();
        reactor_t *r = (reactor_t *)(uintptr_t)0x5eed;
        int want = i < sizeof bad / sizeof bad[0] ? REACTOR_EINVAL : REACTOR_ENOTSUP;
        assert_int_equal(reactor_create(&r, &opts), want);
        assert_ptr_equal(r, (reactor_t *)(uintptr_t)0x5eed);
    }
    reactor_allocator_t partial = f->alloc.fn;
    for (int which = 0; which < 3; which++) {
        reactor_allocator_t a = partial;
        if (which == 0)
            a.malloc = NULL;
        else if (which == 1)
            a.realloc = NULL;
        else
            a.free = NULL;
        reactor_options_t opts;
        memset(&opts, 0, sizeof opts);
        opts.backend = sup_backend();
        opts.allocator = &a;
        reactor_t *r = NULL;
        assert_int_equal(reactor_create(&r, &opts), REACTOR_EINVAL);
        assert_null(r);
    }
    assert_int_equal(f->alloc.calls, 0);
    assert_int_equal(f->alloc.live, 0);
}

static void remove_twice_and_modify_after_remove_are_ebadchn(void **state)
{
    sup_loop *f = *state;
    bad__world w;
    bad__open(f, &w);
    reactor_socket_t other[2];
    sup_new_pair(f, other);
    sup_probe p = {0};
    reactor_chn_t chn;
    assert_int_equal(reactor_add(f->r, other[0], REACTOR_READABLE, sup_probe_cb, &p, &chn), 0);
    assert_int_equal(reactor_remove(f->r, chn), 0);
    assert_int_equal(reactor_remove(f->r, chn), REACTOR_EBADCHN);
    assert_int_equal(reactor_modify(f->r, chn, REACTOR_READABLE), REACTOR_EBADCHN);
    sup_send_byte(other[1]);
    w.before = sup_stats(f);
    bad__check(f, &w);
    assert_int_equal(p.calls, 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(null_loop_is_einval_for_every_call, sup_setup,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(null_out_pointers_and_callbacks_are_einval, sup_setup,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(bad_channel_numbers_are_ebadchn, sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(reused_number_names_the_new_channel_only, sup_setup,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(released_numbers_come_back_first_in_first_out, sup_setup,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(bad_timer_ids_are_ebadtimer, sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(invalid_and_closed_sockets_are_ebadf, sup_setup,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(socket_already_registered_is_eexist, sup_setup,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(bad_event_bits_are_einval, sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(bad_run_modes_are_einval, sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(bad_backends_and_allocators_are_refused_before_allocating,
                                        sup_setup_bare, sup_teardown),
        cmocka_unit_test_setup_teardown(remove_twice_and_modify_after_remove_are_ebadchn, sup_setup,
                                        sup_teardown),
    };
    return sup_main(argc, argv, "behaviour.bad_input", tests, sizeof tests / sizeof tests[0], 1);
}
