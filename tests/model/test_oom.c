/* test_oom.c - allocation-failure injection over whole scenarios: each runs once to count its
 * N allocations, then N more times with allocation k failing (k = 1..N). Every call succeeds or
 * returns REACTOR_ENOMEM and changes nothing; the scenario then retries and carries on, so the
 * loop must stay usable; it must end in the same state as the clean run, with zero live
 * allocations after reactor_destroy. (Single calls are covered by behaviour/test_alloc.c.) */
#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OOM_PAIRS = 150, OOM_CHANNELS = 2 * OOM_PAIRS, OOM_TIMERS = 100 };

typedef struct oom_world {
    sup_alloc alloc;
    reactor_t *r;
    reactor_socket_t (*pairs)[2];
    reactor_chn_t chn[OOM_CHANNELS];
    int called[OOM_CHANNELS]; /* I/O callbacks per channel */
    int removed[OOM_CHANNELS];
    int fired, repeats, enomem;
    uint64_t failures_seen;
} oom_world;

typedef struct oom_result {
    reactor_stats_t st;
    int fired, repeats;
} oom_result;

typedef struct oom_arg {
    oom_world *w;
    int i;
} oom_arg;

static oom_arg oom__args[OOM_CHANNELS];

/* One call's result: 0, or ENOMEM caused by the injected failure (then the caller retries). */
static int oom__ok(oom_world *w, int rc)
{
    if (rc == REACTOR_ENOMEM) {
        assert_true(w->alloc.failures > w->failures_seen);
        w->failures_seen = w->alloc.failures;
        w->enomem++;
        return 0;
    }
    assert_int_equal(rc, 0);
    return 1;
}

static void oom__timer(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)r;
    (void)t;
    ((oom_world *)arg)->fired++;
}

static void oom__repeat(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)r;
    (void)t;
    ((oom_world *)arg)->repeats++;
}

static reactor_timer_t oom__start(oom_world *w, uint64_t ms, uint64_t repeat)
{
    reactor_timer_t t = 0;
    for (;;) {
        reactor_stats_t before;
        assert_int_equal(reactor_stats(w->r, &before), 0);
        int rc = reactor_timer_start(w->r, ms, repeat, repeat ? oom__repeat : oom__timer, w, &t);
        if (oom__ok(w, rc))
            return t;
        reactor_stats_t after;
        assert_int_equal(reactor_stats(w->r, &after), 0);
        assert_int_equal(t, 0);
        assert_int_equal(after.timers, before.timers);
    }
}

static void oom__io(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg);

static reactor_chn_t oom__add(oom_world *w, int i, unsigned events)
{
    reactor_socket_t s = w->pairs[i / 2][i % 2];
    for (;;) {
        reactor_stats_t before;
        assert_int_equal(reactor_stats(w->r, &before), 0);
        reactor_chn_t chn = 0;
        int rc = reactor_add(w->r, s, events, oom__io, &oom__args[i], &chn);
        if (oom__ok(w, rc))
            return chn;
        reactor_stats_t after;
        assert_int_equal(reactor_stats(w->r, &after), 0);
        assert_int_equal(chn, 0);
        assert_int_equal(after.channels, before.channels);
    }
}

/* Odd channels remove themselves from their first callback; every tenth starts a timer there
 * (the heap grows inside dispatch); every fourth odd one re-adds its socket at once. */
static void oom__io(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    oom_arg *a = arg;
    oom_world *w = a->w;
    assert_true(events & REACTOR_READABLE);
    assert_int_equal(chn, w->chn[a->i]);
    w->called[a->i]++;
    if (a->i % 10 == 0)
        (void)oom__start(w, 0, 0);
    if (a->i % 2 == 1 && !w->removed[a->i]) {
        assert_int_equal(reactor_remove(r, chn), 0);
        w->removed[a->i] = 1;
        if (a->i % 8 == 1) {
            w->chn[a->i] = oom__add(w, a->i, REACTOR_READABLE);
            w->removed[a->i] = 2;
        }
    }
}

static int oom__all_called(const oom_world *w)
{
    for (int i = 0; i < OOM_CHANNELS; i++)
        if (!w->called[i])
            return 0;
    return 1;
}

/* create; add 300 channels; start timers; modify; remove half from callbacks; run; destroy. */
static void oom__lifecycle(oom_world *w, uint64_t fail_at, oom_result *out)
{
    sup_alloc_init(&w->alloc);
    sup_alloc_fail_nth(&w->alloc, fail_at);
    w->failures_seen = 0;
    reactor_options_t opts;
    memset(&opts, 0, sizeof opts);
    opts.backend = sup_backend();
    opts.allocator = &w->alloc.fn;
    for (;;) {
        reactor_t *r = (reactor_t *)(uintptr_t)0x5eed;
        int rc = reactor_create(&r, &opts);
        if (oom__ok(w, rc)) {
            w->r = r;
            break;
        }
        assert_ptr_equal(r, (reactor_t *)(uintptr_t)0x5eed);
        assert_int_equal(w->alloc.live, 0);
    }
    for (int i = 0; i < OOM_CHANNELS; i++) {
        oom__args[i].w = w;
        oom__args[i].i = i;
        w->chn[i] = oom__add(w, i, REACTOR_READABLE);
        assert_int_equal(w->chn[i], i + 1);
    }
    reactor_timer_t keep[OOM_TIMERS / 2];
    for (int i = 0; i < OOM_TIMERS; i++) {
        reactor_timer_t t = oom__start(w, i % 2 ? 0 : 3600000u, i % 4 == 0 ? 3600000u : 0);
        if (i % 2 == 0)
            keep[i / 2] = t;
    }
    for (int i = 0; i < OOM_TIMERS / 2; i += 2)
        assert_int_equal(reactor_timer_stop(w->r, keep[i]), 0);
    for (int i = 0; i < OOM_CHANNELS; i++)
        assert_int_equal(reactor_modify(w->r, w->chn[i], i % 3 ? REACTOR_READABLE : 0), 0);
    for (int i = 0; i < OOM_CHANNELS; i++)
        if (i % 3 == 0)
            assert_int_equal(reactor_modify(w->r, w->chn[i], REACTOR_READABLE), 0);
    /* Every socket gets a byte from its peer: all 300 channels are readable. */
    for (int p = 0; p < OOM_PAIRS; p++) {
        sup_send_byte(w->pairs[p][0]);
        sup_send_byte(w->pairs[p][1]);
    }
    for (int tries = 0; tries < 10000 && !oom__all_called(w); tries++)
        assert_true(reactor_run(w->r, REACTOR_RUN_ONCE) >= 0);
    assert_true(oom__all_called(w));
    for (int p = 0; p < OOM_PAIRS; p++) {
        assert_int_equal(sup_drain(w->pairs[p][0]), 1);
        assert_int_equal(sup_drain(w->pairs[p][1]), 1);
    }
    /* The 0 ms timers (those started in callbacks too) all fire in the next iterations. */
    for (int tries = 0; tries < 10 && w->fired < OOM_TIMERS / 2 + OOM_CHANNELS / 10; tries++)
        assert_true(reactor_run(w->r, REACTOR_RUN_NOWAIT) >= 0);
    assert_int_equal(w->fired, OOM_TIMERS / 2 + OOM_CHANNELS / 10);
    assert_int_equal(reactor_stats(w->r, &out->st), 0);
    out->fired = w->fired;
    out->repeats = w->repeats;
    /* Still usable: a new channel works, and an add of a removed socket succeeds. */
    sup_loop f;
    memset(&f, 0, sizeof f);
    f.r = w->r;
    sup_assert_loop_works(&f);
    reactor_destroy(w->r);
    w->r = NULL;
    assert_int_equal(w->alloc.live, 0);
    assert_int_equal(w->alloc.bytes, 0);
}

static void oom__reset(oom_world *w)
{
    memset(w->chn, 0, sizeof w->chn);
    memset(w->called, 0, sizeof w->called);
    memset(w->removed, 0, sizeof w->removed);
    w->fired = w->repeats = w->enomem = 0;
}

static void lifecycle_survives_a_failure_at_every_allocation(void **state)
{
    sup_loop *f = *state;
    oom_world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    reactor_socket_t(*pairs)[2] = calloc(OOM_PAIRS, sizeof *pairs);
    assert_non_null(pairs);
    for (int p = 0; p < OOM_PAIRS; p++)
        sup_new_pair(f, pairs[p]);
    w->pairs = pairs;
    oom_result clean, got;
    oom__reset(w);
    oom__lifecycle(w, 0, &clean);
    assert_int_equal(w->enomem, 0);
    uint64_t n = w->alloc.calls;
    assert_true(n > 10);
    for (uint64_t k = 1; k <= n; k++) {
        oom__reset(w);
        oom__lifecycle(w, k, &got);
        if (w->enomem != 1 || w->alloc.failures != 1)
            fail_msg("allocation %llu of %llu: %d ENOMEM results, %llu failures injected",
                     (unsigned long long)k, (unsigned long long)n, w->enomem,
                     (unsigned long long)w->alloc.failures);
        /* The same end state as the clean run. */
        assert_int_equal(got.st.channels, clean.st.channels);
        assert_int_equal(got.st.timers, clean.st.timers);
        assert_int_equal(got.st.events_dispatched, clean.st.events_dispatched);
        assert_int_equal(got.st.timers_fired, clean.st.timers_fired);
        assert_int_equal(got.fired, clean.fired);
    }
    print_message("[ INFO     ] %s: %llu allocations, each failed once: %llu injected runs\n",
                  sup_backend_arg(), (unsigned long long)n, (unsigned long long)n);
    free(pairs);
    free(w);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(lifecycle_survives_a_failure_at_every_allocation,
                                        sup_setup_bare, sup_teardown),
    };
    return sup_main(argc, argv, "model.oom", tests, sizeof tests / sizeof tests[0], 1);
}
