/* test_signals.c - waits interrupted by signals (EINTR): POSIX only, registered only there.
 * ONCE must keep waiting through interruptions and return only once something happened. */
#include "fixture.h"

static void tm__count(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)r;
    (void)t;
    (*(int *)arg)++;
}

typedef struct lp__interrupter {
    reactor_socket_t s;
    long sent;
} lp__interrupter;

/* Helper thread: interrupts the loop's wait a few times, then makes the socket readable. */
static void lp__interrupt_then_write(void *arg)
{
    lp__interrupter *in = arg;
    for (int i = 0; i < 5; i++) {
        sup_sleep_ms(10);
        sup_interrupt_loop_thread();
    }
    sup_sleep_ms(10);
    in->sent = sup_send(in->s, "x", 1);
}

static void once_keeps_waiting_through_interrupted_waits(void **state)
{
    sup_loop *f = *state;
    assert_int_equal(sup_interrupt_prepare(), 0);
    reactor_socket_t sv[2];
    sup_new_pair(f, sv);
    sup_probe p = {0};
    reactor_chn_t chn;
    assert_int_equal(reactor_add(f->r, sv[0], REACTOR_READABLE, sup_probe_cb, &p, &chn), 0);
    int deadline = 0;
    reactor_timer_t t;
    assert_int_equal(reactor_timer_start(f->r, 10000, 0, tm__count, &deadline, &t), 0);
    lp__interrupter in = {sv[1], 0};
    sup_thread *th = sup_thread_start(lp__interrupt_then_write, &in);
    assert_non_null(th);
    int rc = reactor_run(f->r, REACTOR_RUN_ONCE);
    sup_thread_join(th);
    assert_int_equal(in.sent, 1);
    assert_int_equal(rc, 1);
    /* Five EINTRs came first; ONCE returned only for the data. */
    assert_int_equal(p.calls, 1);
    assert_int_equal(deadline, 0);
    assert_int_equal(reactor_timer_stop(f->r, t), 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(once_keeps_waiting_through_interrupted_waits, sup_setup,
                                        sup_teardown),
    };
    return sup_main(argc, argv, "behaviour.signals", tests, sizeof tests / sizeof tests[0], 1);
}
