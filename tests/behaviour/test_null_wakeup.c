/* test_null_wakeup.c - what the loop does when signalling its backend fails, on the null
 * backend (which counts the signals it is asked for and fails the ones the test says): the
 * wake-up is kept, and the next reactor_wakeup signals again. Runs once, whatever the platform;
 * the single-file build has no twin (rx_create_with is internal). */
#include "null_backend.h"

#include <string.h>

/* A signal that fails leaves the wake-up pending, and the next reactor_wakeup signals again
 * instead of coalescing behind it (a failed signal must never clear the flag: that could erase
 * a wake-up another thread sent, without a signal, while the loop was awake). */
static void a_failed_signal_is_sent_again_and_the_wakeup_kept(void **state)
{
    sup_loop *f = *state;
    int calls = 0;
    reactor_options_t opts;
    memset(&opts, 0, sizeof opts);
    opts.allocator = &f->alloc.fn;
    opts.on_wakeup = sup_count_wakeup;
    opts.wakeup_arg = &calls;
    assert_int_equal(rx_create_with(&f->r, &opts, &sup_null_ops), 0);
    sup_null_wakeup_calls = 0;
    sup_null_wakeup_failures = 1;
    assert_int_equal(reactor_wakeup(f->r), REACTOR_ESYS);
    assert_int_equal(sup_null_wakeup_calls, 1);
    assert_int_equal(reactor_wakeup(f->r), 0); /* signals again */
    assert_int_equal(sup_null_wakeup_calls, 2);
    assert_int_equal(reactor_wakeup(f->r), 0); /* now it coalesces */
    assert_int_equal(sup_null_wakeup_calls, 2);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 0);
    assert_int_equal(calls, 1);
    /* Failed and not retried: still delivered (the loop finds it pending). */
    sup_null_wakeup_failures = 1;
    assert_int_equal(reactor_wakeup(f->r), REACTOR_ESYS);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 0);
    assert_int_equal(calls, 2);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 0);
    assert_int_equal(calls, 2);
    sup_null_wakeup_failures = 0;
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_failed_signal_is_sent_again_and_the_wakeup_kept,
                                        sup_setup_bare, sup_teardown),
    };
    return sup_main(argc, argv, "behaviour.null.wakeup", tests, sizeof tests / sizeof tests[0], 0);
}
