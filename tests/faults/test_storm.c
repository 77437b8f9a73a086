/* test_storm.c - a wake-up storm: 8 threads send bursts of reactor_wakeup while the loop thread
 * adds, removes and serves channels. Each thread waits until the loop has seen its burst
 * before the next, so every burst needs at least one callback after it: a lost wake-up hangs a
 * thread (caught by its deadline), a coalesced one is fine. Run under TSan by the tsan preset. */
#include "fixture.h"
#include "quiet.h"

#include <stdatomic.h>
#include <string.h>

#define THREADS 8
#define PAIRS 16

typedef struct st__world st__world;

typedef struct st__sender {
    st__world *w;
    int index;
    int bursts;
    atomic_long published; /* wake-up calls made, each after its increment */
    atomic_long acked;     /* what the loop had seen at its latest callback */
    long calls;
    int timeouts, errors;
} st__sender;

typedef struct st__chan {
    st__world *w;
    reactor_socket_t s[2];
    reactor_chn_t chn; /* 0: not registered */
    long bytes;
} st__chan;

struct st__world {
    sup_loop *f;
    st__sender senders[THREADS];
    st__chan chans[PAIRS];
    atomic_int finished; /* senders done */
    unsigned rng;
    long adds, removes, reads, callbacks;
};

static unsigned st__rand(st__world *w)
{
    w->rng = w->rng * 1103515245u + 12345u;
    return w->rng >> 16;
}

static void st__on_io(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    st__chan *c = arg;
    st__world *w = c->w;
    (void)events;
    w->callbacks++;
    char buf[64];
    long n;
    while ((n = sup_recv(c->s[0], buf, sizeof buf)) > 0) {
        c->bytes += n;
        w->reads++;
    }
    if (st__rand(w) % 3 == 0) {
        assert_int_equal(reactor_remove(r, chn), 0);
        c->chn = 0;
        w->removes++;
    }
}

/* One step of churn: add a channel that is not registered (and make it readable), or remove
 * one that is. */
static void st__churn(st__world *w)
{
    st__chan *c = &w->chans[st__rand(w) % PAIRS];
    if (c->chn) {
        assert_int_equal(reactor_remove(w->f->r, c->chn), 0);
        c->chn = 0;
        w->removes++;
        return;
    }
    assert_int_equal(reactor_add(w->f->r, c->s[0], REACTOR_READABLE, st__on_io, c, &c->chn), 0);
    w->adds++;
    assert_int_equal(sup_send(c->s[1], "x", 1), 1);
}

static void st__on_wakeup(reactor_t *r, void *arg)
{
    (void)r;
    st__world *w = arg;
    for (int i = 0; i < THREADS; i++)
        atomic_store(&w->senders[i].acked, atomic_load(&w->senders[i].published));
    st__churn(w);
}

static void st__on_tick(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)r;
    (void)t;
    st__churn(arg);
}

/* Helper thread: bursts of 1..16 wake-ups, each waiting (bounded) for the loop to see it. */
static void st__send(void *arg)
{
    st__sender *s = arg;
    unsigned rng = 2654435761u * (unsigned)(s->index + 1);
    for (int b = 0; b < s->bursts; b++) {
        rng = rng * 1103515245u + 12345u;
        int k = 1 + (int)((rng >> 16) % 16);
        long target = 0;
        for (int i = 0; i < k; i++) {
            target = atomic_fetch_add(&s->published, 1) + 1;
            if (reactor_wakeup(s->w->f->r) != 0)
                s->errors++;
            s->calls++;
        }
        uint64_t t0 = sup_clock_ns();
        while (atomic_load(&s->acked) < target) {
            if (sup_clock_ns() - t0 > 10000000000ull) {
                s->timeouts++;
                atomic_fetch_add(&s->w->finished, 1);
                return;
            }
            sup_sleep_ms(0);
        }
    }
    atomic_fetch_add(&s->w->finished, 1);
}

static int st__all_seen(void *ctx)
{
    st__world *w = ctx;
    if (atomic_load(&w->finished) < THREADS)
        return 0;
    for (int i = 0; i < THREADS; i++)
        if (atomic_load(&w->senders[i].acked) != atomic_load(&w->senders[i].published))
            return 0;
    return 1;
}

static void wakeup_storm_from_8_threads_while_channels_churn_loses_no_wakeup(void **state)
{
    sup_loop *f = *state;
    static st__world w;
    memset(&w, 0, sizeof w);
    w.f = f;
    w.rng = 12345u;
    sup_loop_open(f, st__on_wakeup, &w);
    for (int i = 0; i < PAIRS; i++) {
        w.chans[i].w = &w;
        sup_new_pair(f, w.chans[i].s);
    }
    reactor_timer_t tick;
    assert_int_equal(reactor_timer_start(f->r, 1, 1, st__on_tick, &w, &tick), 0);
    int bursts = 300;
    sup_thread *th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w.senders[i].w = &w;
        w.senders[i].index = i;
        w.senders[i].bursts = bursts;
        th[i] = sup_thread_start(st__send, &w.senders[i]);
        assert_non_null(th[i]);
    }
    int ok = sup_run_until(f, st__all_seen, &w, 60000);
    for (int i = 0; i < THREADS; i++)
        sup_thread_join(th[i]);
    reactor_stats_t st = sup_stats(f);
    long calls = 0;
    for (int i = 0; i < THREADS; i++)
        calls += w.senders[i].calls;
    print_message("wake-up storm: %ld wake-up calls, %llu callbacks, %ld adds, %ld removes, "
                  "%ld I/O callbacks, %llu iterations\n",
                  calls, (unsigned long long)st.wakeups, w.adds, w.removes, w.callbacks,
                  (unsigned long long)st.iterations);
    assert_true(ok);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(w.senders[i].errors, 0);
        assert_int_equal(w.senders[i].timeouts, 0);
        assert_int_equal(atomic_load(&w.senders[i].acked), atomic_load(&w.senders[i].published));
    }
    /* Each thread's bursts are sequential and each needs a callback that starts after it. */
    assert_true(st.wakeups >= (uint64_t)bursts);
    assert_true(st.wakeups <= (uint64_t)calls); /* coalesced, never invented */
    assert_true(w.adds >= 100 && w.removes >= 50);
    assert_int_equal(reactor_timer_stop(f->r, tick), 0);
    for (int i = 0; i < PAIRS; i++)
        if (w.chans[i].chn)
            assert_int_equal(reactor_remove(f->r, w.chans[i].chn), 0);
    assert_int_equal(sup_stats(f).channels, 0);
}

/* ---- after a run of wake-ups, the loop sleeps again ---- */

typedef struct st__pong {
    sup_loop *f;
    atomic_int acked;
    int rounds, timeouts, errors;
} st__pong;

static void st__pong_cb(reactor_t *r, void *arg)
{
    (void)r;
    st__pong *p = arg;
    atomic_fetch_add(&p->acked, 1);
}

/* One wake-up at a time, each after the loop acknowledged the last: the loop spins briefly
 * after each before it blocks (loop.c, LOOP__SPIN_NS), which is what makes this handshake cheap. */
static void st__ping(void *arg)
{
    st__pong *p = arg;
    for (int i = 1; i <= p->rounds; i++) {
        if (reactor_wakeup(p->f->r) != 0)
            p->errors++;
        uint64_t t0 = sup_clock_ns();
        while (atomic_load(&p->acked) < i) {
            if (sup_clock_ns() - t0 > 5000000000ull) {
                p->timeouts++;
                return;
            }
        }
    }
}

static int st__pong_done(void *ctx)
{
    st__pong *p = ctx;
    return atomic_load(&p->acked) >= p->rounds || p->timeouts;
}

/* The spin that follows a wake-up is bounded: with no further wake-up the loop blocks, and a
 * window of waiting costs it no CPU. */
static void after_a_run_of_wakeups_the_loop_sleeps_again(void **state)
{
    sup_loop *f = *state;
    static st__pong p;
    memset(&p, 0, sizeof p);
    p.f = f;
    p.rounds = 2000;
    atomic_init(&p.acked, 0);
    sup_loop_open(f, st__pong_cb, &p);
    sup_thread *th = sup_thread_start(st__ping, &p);
    assert_non_null(th);
    int ok = sup_run_until(f, st__pong_done, &p, 20000);
    sup_thread_join(th);
    assert_true(ok);
    assert_int_equal(p.timeouts, 0);
    assert_int_equal(p.errors, 0);
    assert_int_equal(atomic_load(&p.acked), p.rounds);
    fq_window w = fq_run_window(f, 200, 1000);
    fq_assert_quiet(&w, 1);
    assert_int_equal(atomic_load(&p.acked), p.rounds); /* none invented */
}

int main(int argc, char **argv)
{
    // clang-format off
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(wakeup_storm_from_8_threads_while_channels_churn_loses_no_wakeup, sup_setup_bare, sup_teardown),
        cmocka_unit_test_setup_teardown(after_a_run_of_wakeups_the_loop_sleeps_again, sup_setup_bare, sup_teardown),
    };
    // clang-format on
    return sup_main(argc, argv, "faults.storm", tests, sizeof tests / sizeof tests[0], 1);
}
