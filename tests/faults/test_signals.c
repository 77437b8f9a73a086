/* test_signals.c - an EINTR storm (POSIX only; registered only there): a helper thread sends
 * SIGUSR1 to the loop thread (a no-op handler without SA_RESTART, so waits fail with EINTR)
 * as fast as it can while it also feeds bytes and wake-ups, and the loop runs timers and I/O.
 * Nothing is lost, nothing arrives twice or out of order, and no timer fires early. */
#include "fixture.h"

#if !defined(_WIN32)
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#define STORM_MS 400u
#define BYTES 2000
#define TIMERS 40

static atomic_long sg__caught;

static void sg__handler(int sig)
{
    (void)sig;
    atomic_fetch_add_explicit(&sg__caught, 1, memory_order_relaxed);
}

typedef struct sg__world {
    sup_loop *f;
    reactor_socket_t rx, tx;
    /* helper thread -> loop */
    atomic_int stop;        /* set by the loop thread when the storm should end */
    atomic_int done;        /* set by the helper when it has sent everything */
    atomic_long sent_bytes; /* bytes the helper sent */
    atomic_long published;  /* wake-up payload the helper published */
    atomic_long signals;
    atomic_int errors;
    /* loop thread only */
    long received, out_of_order;
    long seen; /* published value seen by the latest wake-up callback */
    int timers_fired, timers_early, timers_live, timers_started;
    uint64_t repeat_fires, repeat_early, repeat_last_ms;
} sg__world;

/* Helper thread: signals the loop thread without pause; a byte every 8 signals (until BYTES),
 * a wake-up every 32. */
static void sg__storm(void *arg)
{
    sg__world *w = arg;
    long n = 0;
    unsigned char seq = 0;
    while (!atomic_load(&w->stop)) {
        sup_interrupt_loop_thread();
        n++;
        if (n % 8 == 0 && atomic_load(&w->sent_bytes) < BYTES) {
            if (sup_send(w->tx, &seq, 1) == 1) {
                seq++;
                atomic_fetch_add(&w->sent_bytes, 1);
            }
        }
        if (n % 32 == 0) {
            atomic_fetch_add(&w->published, 1);
            if (reactor_wakeup(w->f->r) != 0)
                atomic_fetch_add(&w->errors, 1);
        }
    }
    /* Whatever the storm did not get to: the rest of the bytes and a last wake-up. */
    while (atomic_load(&w->sent_bytes) < BYTES) {
        if (sup_send(w->tx, &seq, 1) == 1) {
            seq++;
            atomic_fetch_add(&w->sent_bytes, 1);
        } else {
            sup_sleep_ms(1);
        }
    }
    atomic_fetch_add(&w->published, 1);
    if (reactor_wakeup(w->f->r) != 0)
        atomic_fetch_add(&w->errors, 1);
    atomic_store(&w->signals, n);
    atomic_store(&w->done, 1);
}

static void sg__on_wakeup(reactor_t *r, void *arg)
{
    (void)r;
    sg__world *w = arg;
    w->seen = atomic_load(&w->published);
}

static void sg__on_readable(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    (void)r;
    (void)chn;
    (void)events;
    sg__world *w = arg;
    unsigned char buf[256];
    long n;
    while ((n = sup_recv(w->rx, buf, sizeof buf)) > 0) {
        for (long i = 0; i < n; i++) {
            if (buf[i] != (unsigned char)(w->received & 0xff))
                w->out_of_order++;
            w->received++;
        }
    }
}

/* A one-shot timer: checks it is not early and starts its successor while the storm lasts. */
typedef struct sg__timer {
    sg__world *w;
    uint64_t start_ns, start_ms, timeout_ms;
} sg__timer;

static sg__timer sg__timers[TIMERS];

static void sg__on_timer(reactor_t *r, reactor_timer_t id, void *arg)
{
    (void)id;
    sg__timer *t = arg;
    sg__world *w = t->w;
    w->timers_fired++;
    w->timers_live--;
    if (sup_clock_ns() < t->start_ns + t->timeout_ms * 1000000u ||
        reactor_now(r) < t->start_ms + t->timeout_ms)
        w->timers_early++;
    if (!atomic_load(&w->stop)) {
        t->timeout_ms = 1 + (t->timeout_ms * 7 + 3) % 23;
        t->start_ms = reactor_now(r);
        t->start_ns = sup_clock_ns();
        reactor_timer_t nid;
        if (reactor_timer_start(r, t->timeout_ms, 0, sg__on_timer, t, &nid) == 0) {
            w->timers_live++;
            w->timers_started++;
        }
    }
}

static void sg__on_repeat(reactor_t *r, reactor_timer_t id, void *arg)
{
    (void)id;
    sg__world *w = arg;
    uint64_t now = reactor_now(r);
    /* Rescheduled at the firing iteration's loop time plus the period: never sooner. */
    if (w->repeat_fires && now < w->repeat_last_ms + 3)
        w->repeat_early++;
    w->repeat_last_ms = now;
    w->repeat_fires++;
}

static int sg__finished(void *ctx)
{
    sg__world *w = ctx;
    return atomic_load(&w->done) && w->received == BYTES && w->seen == atomic_load(&w->published) &&
           w->timers_live == 0;
}

static void sg__stop_storm(reactor_t *r, reactor_timer_t id, void *arg)
{
    (void)r;
    (void)id;
    atomic_store(&((sg__world *)arg)->stop, 1);
}

static void eintr_storm_loses_no_byte_timer_or_wakeup_and_fires_no_timer_early(void **state)
{
    sup_loop *f = *state;
    static sg__world w;
    memset(&w, 0, sizeof w);
    w.f = f;
    sup_loop_open(f, sg__on_wakeup, &w);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = sg__handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: poll()/epoll_wait() fail with EINTR */
    assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
    atomic_store(&sg__caught, 0);

    reactor_socket_t sv[2];
    sup_new_pair(f, sv);
    w.rx = sv[0];
    w.tx = sv[1];
    reactor_chn_t chn;
    assert_int_equal(reactor_add(f->r, w.rx, REACTOR_READABLE, sg__on_readable, &w, &chn), 0);
    for (int i = 0; i < TIMERS; i++) {
        sg__timer *t = &sg__timers[i];
        t->w = &w;
        t->timeout_ms = 1 + (uint64_t)i % 17;
        t->start_ms = reactor_now(f->r);
        t->start_ns = sup_clock_ns();
        reactor_timer_t id;
        assert_int_equal(reactor_timer_start(f->r, t->timeout_ms, 0, sg__on_timer, t, &id), 0);
        w.timers_live++;
        w.timers_started++;
    }
    reactor_timer_t repeat, stopper;
    assert_int_equal(reactor_timer_start(f->r, 3, 3, sg__on_repeat, &w, &repeat), 0);
    assert_int_equal(reactor_timer_start(f->r, STORM_MS, 0, sg__stop_storm, &w, &stopper), 0);

    sup_thread *th = sup_thread_start(sg__storm, &w);
    assert_non_null(th);
    int ok = sup_run_until(f, sg__finished, &w, 30000);
    atomic_store(&w.stop, 1);
    sup_thread_join(th);
    assert_int_equal(reactor_timer_stop(f->r, repeat), 0);

    long caught = atomic_load(&sg__caught);
    print_message("EINTR storm: %ld signals sent, %ld caught, %d timers fired, %llu repeats, "
                  "%ld bytes, %ld wake-ups published, %llu iterations\n",
                  atomic_load(&w.signals), caught, w.timers_fired,
                  (unsigned long long)w.repeat_fires, w.received, atomic_load(&w.published),
                  (unsigned long long)sup_stats(f).iterations);
    assert_true(ok);
    assert_int_equal(atomic_load(&w.errors), 0);
    assert_true(caught >= 100); /* the storm really interrupted the loop thread */
    assert_int_equal(w.received, BYTES);
    assert_int_equal(w.out_of_order, 0);
    assert_int_equal(w.seen, atomic_load(&w.published));
    assert_int_equal(w.timers_early, 0);
    assert_int_equal(w.timers_fired, w.timers_started);
    assert_true(w.repeat_fires >= 10);
    assert_int_equal(w.repeat_early, 0);
    assert_int_equal(reactor_remove(f->r, chn), 0);
    sa.sa_handler = SIG_IGN;
    assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
}
#endif /* !_WIN32 */

int main(int argc, char **argv)
{
#if defined(_WIN32)
    (void)argc;
    (void)argv;
    return 0; /* POSIX only: not registered on Windows */
#else
    // clang-format off
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(eintr_storm_loses_no_byte_timer_or_wakeup_and_fires_no_timer_early, sup_setup_bare, sup_teardown),
    };
    // clang-format on
    return sup_main(argc, argv, "faults.signals", tests, sizeof tests / sizeof tests[0], 1);
#endif
}
