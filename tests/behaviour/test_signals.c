/* test_signals.c - waits interrupted by signals (EINTR): POSIX only, registered only there.
 * ONCE must keep waiting through interruptions and return only once something happened. */
#include "fixture.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

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

/* ---- reactor_wakeup from a real signal handler ---- */

static reactor_t *sg__loop;
static volatile sig_atomic_t sg__flag;
static volatile sig_atomic_t sg__rc = 1;

/* The documented pattern: set a flag, wake the loop; the loop acts on the flag. */
static void sg__handler(int sig)
{
    (void)sig;
    int saved = errno; /* a handler leaves errno as it found it */
    sg__flag = 1;
    errno = 4242;                      /* reactor_wakeup must not change it either */
    sg__rc = reactor_wakeup(sg__loop); /* async-signal-safe */
    if (errno != 4242)
        sg__rc = 99;
    errno = saved;
}

/* Installs sg__handler for SIGUSR2; *old gets the previous action back to restore. */
static void sg__install(int flags, struct sigaction *old)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = sg__handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = flags;
    assert_int_equal(sigaction(SIGUSR2, &sa, old), 0);
}

static void sg__on_wakeup(reactor_t *r, void *arg)
{
    (void)r;
    if (sg__flag)
        (*(int *)arg)++;
}

static void sg__raise_later(void *arg)
{
    (void)arg;
    sup_sleep_ms(30);
    sup_interrupt_loop_thread_with(SIGUSR2);
}

static void a_signal_handler_wakes_the_loop(void **state)
{
    sup_loop *f = *state;
    int handled = 0;
    sup_loop_open(f, sg__on_wakeup, &handled);
    sg__loop = f->r;
    sg__flag = 0;
    struct sigaction old;
    /* SA_RESTART: epoll_wait and poll still end with EINTR, and the loop then finds the
     * wake-up pending (the next case needs the signal itself). */
    sg__install(SA_RESTART, &old);
    sup_mark_loop_thread();
    sup_thread *th = sup_thread_start(sg__raise_later, NULL);
    assert_non_null(th);
    /* Nothing registered: only the wake-up can end this wait. */
    int rc = reactor_run_timeout(f->r, -1);
    sup_thread_join(th);
    assert_int_equal(sigaction(SIGUSR2, &old, NULL), 0);
    assert_int_equal(rc, 0);
    assert_int_equal(sg__rc, 0);
    assert_int_equal(handled, 1);
}

/* Blocks SIGUSR2 where it runs and raises it in a thread that does not: the handler, and so
 * reactor_wakeup, run there, and the loop thread's wait is not interrupted. */
static void sg__raise_in_this_thread(void *arg)
{
    (void)arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    sup_sleep_ms(30);
    raise(SIGUSR2); /* to the calling thread */
}

/* The handler runs on another thread while the loop thread sleeps: no EINTR ends the wait, so
 * only the signal reactor_wakeup sends to the kernel can. */
static void a_signal_handled_on_another_thread_wakes_the_loop(void **state)
{
    sup_loop *f = *state;
    int handled = 0;
    sup_loop_open(f, sg__on_wakeup, &handled);
    sg__loop = f->r;
    sg__flag = 0;
    sg__rc = 1;
    struct sigaction old;
    sg__install(0, &old);
    sigset_t set, was;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    assert_int_equal(pthread_sigmask(SIG_BLOCK, &set, &was), 0);
    sup_thread *th = sup_thread_start(sg__raise_in_this_thread, NULL);
    assert_non_null(th);
    reactor_timer_t t;
    int deadline = 0;
    assert_int_equal(reactor_timer_start(f->r, 10000, 0, tm__count, &deadline, &t), 0);
    int rc = reactor_run(f->r, REACTOR_RUN_ONCE);
    sup_thread_join(th);
    assert_int_equal(pthread_sigmask(SIG_SETMASK, &was, NULL), 0);
    assert_int_equal(sigaction(SIGUSR2, &old, NULL), 0);
    assert_int_equal(rc, 1);
    assert_int_equal(sg__rc, 0);
    assert_int_equal(handled, 1);
    assert_int_equal(deadline, 0);
    assert_int_equal(reactor_timer_stop(f->r, t), 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_signal_handler_wakes_the_loop, sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(a_signal_handled_on_another_thread_wakes_the_loop,
                                        sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(once_keeps_waiting_through_interrupted_waits, sup_setup,
                                        sup_teardown),
    };
    return sup_main(argc, argv, "behaviour.signals", tests, sizeof tests / sizeof tests[0], 1);
}
