/* test_scale.c - the AFD backend on the simulated kernel with every channel number in use: 65,534
 * channels armed, readiness, remove/re-add churn, interest changes, destroy. Checks the bounds
 * poll groups exist for: no cancel walks more than RX_AFD_GROUP requests (trio #1280), no helper
 * carries more, one helper per RX_AFD_GROUP channels, destroy drains every poll, and the kernel
 * saw no contract violation (no two polls pending on one socket among them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backend.h"
#include "sim_kernel.h"
#include "win/iocp.h"
#include "win/pinned_pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define SC__VALGRIND() RUNNING_ON_VALGRIND
#endif
#endif
#if !defined(SC__VALGRIND)
#define SC__VALGRIND() 0
#endif

#define SC_MAX 65534u /* every channel number */
#define SC_SOCK(i) ((uintptr_t)0x200000 + 4 * (uintptr_t)(i))

/* ---- a counting allocator ---- */

typedef struct sc_alloc {
    reactor_allocator_t fn;
    uint64_t live;
} sc_alloc;

typedef union sc_hdr {
    size_t size;
    max_align_t align;
} sc_hdr;

static void *sc_malloc(void *ctx, size_t size)
{
    sc_hdr *h = malloc(sizeof *h + size);
    if (!h)
        return NULL;
    h->size = size;
    ((sc_alloc *)ctx)->live++;
    return h + 1;
}

static void *sc_realloc(void *ctx, void *p, size_t size)
{
    if (!p)
        return sc_malloc(ctx, size);
    sc_hdr *h = realloc((sc_hdr *)p - 1, sizeof *h + size);
    if (!h)
        return NULL;
    h->size = size;
    return h + 1;
}

static void sc_free(void *ctx, void *p)
{
    if (!p)
        return;
    ((sc_alloc *)ctx)->live--;
    free((sc_hdr *)p - 1);
}

/* ---- the loop: the real backend on the sim, its destroy report kept ---- */

typedef struct sc_world {
    sim_kernel k;
    sc_alloc alloc;
    reactor_t *r;
    void *be;
    rx_iocp_final final;
    int have_final;
    uint32_t n;
    reactor_chn_t chn[SC_MAX];
    uint32_t got[SC_MAX];
    uint8_t registered[SC_MAX];
    uint64_t callbacks, wrong;
} sc_world;

static sc_world *g_w;

static int sc_init(void **be, rx_alloc *a)
{
    int err = rx_iocp_init_kernel(be, a, &g_w->k.table);
    if (!err)
        g_w->be = *be;
    return err;
}

static void sc_destroy(void *be)
{
    rx_iocp_destroy_report(be, &g_w->final);
    g_w->have_final = 1;
    g_w->be = NULL;
}

static void sc_cb(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    (void)r;
    sc_world *w = g_w;
    uint32_t i = (uint32_t)(uintptr_t)arg;
    if (i >= w->n || !w->registered[i] || w->chn[i] != chn || !(events & REACTOR_READABLE) ||
        (events & REACTOR_ERROR))
        w->wrong++;
    else
        sim_socket_clear_ready(&w->k, SC_SOCK(i), RX_AFD_POLL_RECEIVE); /* reads it all */
    if (i < w->n)
        w->got[i]++;
    w->callbacks++;
}

static void sc_check_kernel(sc_world *w, const char *when)
{
    if (w->k.errors)
        fail_msg("%s: %s", when, w->k.msg);
}

static reactor_stats_t sc_stats(sc_world *w)
{
    reactor_stats_t st;
    assert_int_equal(reactor_stats(w->r, &st), 0);
    return st;
}

static void sc_run(sc_world *w)
{
    assert_true(reactor_run(w->r, REACTOR_RUN_NOWAIT) >= 0);
}

/* Runs until every cancelled poll came back and every channel has its poll again. */
static void sc_settle(sc_world *w, const char *when)
{
    for (int round = 0; round < 8; round++) {
        sc_run(w);
        (void)sim_complete_cancelled(&w->k);
        sc_run(w);
        if (w->k.cancelled.head == SIM_NIL && w->k.npending == w->n && w->k.qlen == 0)
            break;
    }
    sc_check_kernel(w, when);
    assert_int_equal(w->k.npending, w->n);
    assert_int_equal(sc_stats(w).pending_polls, w->n);
}

static uint64_t sc_rng(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* Makes `count` channels readable, completes their polls, runs: each is called back once. */
static void sc_ready(sc_world *w, uint32_t first, uint32_t step, uint32_t count)
{
    uint64_t calls = w->callbacks;
    for (uint32_t j = 0; j < count; j++) {
        uint32_t i = (first + j * step) % w->n;
        w->got[i] = 0;
        sim_socket_set_ready(&w->k, SC_SOCK(i), RX_AFD_POLL_RECEIVE);
        sim_poll *p = sim_socket_poll(&w->k, SC_SOCK(i), 0);
        assert_non_null(p);
        sim_complete_ready(&w->k, p);
    }
    sc_run(w);
    sc_run(w);
    sc_check_kernel(w, "readiness");
    assert_int_equal(w->wrong, 0);
    assert_int_equal(w->callbacks - calls, count);
    for (uint32_t j = 0; j < count; j++)
        assert_int_equal(w->got[(first + j * step) % w->n], 1);
}

static void every_channel_number_in_use_stays_within_its_group(void **state)
{
    (void)state;
    const uint32_t G = RX_AFD_GROUP;
    sc_world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    g_w = w;
    w->n = SC_MAX;
    const uint32_t churn = w->n / 4, rounds = SC__VALGRIND() ? 2u : 4u;
    if (SC__VALGRIND())
        print_message("scale: under valgrind, %u rounds of churn instead of 4\n", rounds);
    clock_t t0 = clock();
    sim_init(&w->k);
    /* Every other cancel completes inside the call, the rest when the test says so. */
    w->k.cancel_immediate_mask = 0x55555555u;
    w->k.log_off = 1;
    w->alloc.fn.malloc = sc_malloc;
    w->alloc.fn.realloc = sc_realloc;
    w->alloc.fn.free = sc_free;
    w->alloc.fn.ctx = &w->alloc;
    static rx_backend_ops ops;
    ops = rx_afd_ops;
    ops.init = sc_init;
    ops.destroy = sc_destroy;
    reactor_options_t o;
    memset(&o, 0, sizeof o);
    o.allocator = &w->alloc.fn;
    assert_int_equal(rx_create_with(&w->r, &o, &ops), 0);
    sc_check_kernel(w, "create (probe)");

    /* Every channel armed. */
    for (uint32_t i = 0; i < w->n; i++) {
        sim_socket_open(&w->k, SC_SOCK(i));
        assert_int_equal(reactor_add(w->r, (reactor_socket_t)SC_SOCK(i), REACTOR_READABLE, sc_cb,
                                     (void *)(uintptr_t)i, &w->chn[i]),
                         0);
        w->registered[i] = 1;
    }
    sc_run(w);
    sc_check_kernel(w, "first arm");
    reactor_stats_t st = sc_stats(w);
    uint64_t groups = (w->n + G - 1) / G;
    assert_int_equal(w->k.npending, w->n);
    assert_int_equal(st.pending_polls, w->n);
    assert_int_equal(st.helper_handles, groups);
    assert_int_equal(w->k.helper_open, groups);
    assert_true(w->k.helper_max_outstanding <= G);
    sc_ready(w, 0, 7, w->n / 7);
    sc_settle(w, "after readiness");

    /* Churn: remove a quarter (random, distinct), add the same sockets again at once (their old
     * polls' cancels half pending: the new channels wait for those packets), interest widened
     * and narrowed on another quarter. */
    uint64_t rng = 0x9E3779B97F4A7C15ull, removes = 0, modifies = 0, worst = 0;
    uint32_t *pick = malloc(churn * sizeof *pick);
    assert_non_null(pick);
    for (uint32_t round = 0; round < rounds; round++) {
        for (uint32_t j = 0; j < churn; j++) {
            uint32_t i = (uint32_t)(sc_rng(&rng) % w->n);
            while (!w->registered[i])
                i = (i + 1) % w->n;
            pick[j] = i;
            uint64_t before = w->k.cancel_work;
            assert_int_equal(reactor_remove(w->r, w->chn[i]), 0);
            uint64_t work = w->k.cancel_work - before;
            worst = work > worst ? work : worst;
            assert_true(work <= G);
            w->registered[i] = 0;
            removes++;
        }
        if (round % 2)
            sc_run(w); /* some orphans' packets arrive before the re-adds */
        for (uint32_t j = 0; j < churn; j++) {
            uint32_t i = pick[j];
            assert_int_equal(reactor_add(w->r, (reactor_socket_t)SC_SOCK(i), REACTOR_READABLE,
                                         sc_cb, (void *)(uintptr_t)i, &w->chn[i]),
                             0);
            w->registered[i] = 1;
        }
        sc_settle(w, "after churn");
        for (uint32_t j = 0; j < churn; j++) {
            uint32_t i = (uint32_t)(sc_rng(&rng) % w->n);
            uint64_t before = w->k.cancel_work;
            assert_int_equal(reactor_modify(w->r, w->chn[i], REACTOR_READABLE | REACTOR_WRITABLE),
                             0);
            sc_run(w); /* widened: its poll is cancelled in the arm pass */
            assert_int_equal(reactor_modify(w->r, w->chn[i], REACTOR_READABLE), 0);
            uint64_t work = w->k.cancel_work - before;
            worst = work > worst ? work : worst;
            assert_true(work <= G);
            modifies++;
        }
        sc_settle(w, "after interest changes");
        sc_ready(w, round, 13, w->n / 13);
        sc_settle(w, "after readiness");
        /* Orphans held states while their sockets were added again: the blocks the new states
         * came from stay, partly used, each with its helper (the pool does not compact). */
        st = sc_stats(w);
        if (round == 0 || round == rounds - 1)
            print_message("scale: round %u: %llu helpers, %llu blocks for %u channels\n", round,
                          (unsigned long long)st.helper_handles,
                          (unsigned long long)st.pinned_blocks, w->n);
        assert_true(st.helper_handles >= groups && st.helper_handles <= st.pinned_blocks);
        assert_int_equal(w->k.helper_open, st.helper_handles);
        assert_true(w->k.helper_max_outstanding <= G);
        assert_true(w->k.cancel_work_max <= G);
    }
    free(pick);
    uint64_t helpers = sc_stats(w).helper_handles;

    /* Destroy with every poll pending: one cancel per group, everything drained. */
    uint64_t work0 = w->k.cancel_work, cancels0 = w->k.cancels;
    w->k.cancel_work_max = 0;
    reactor_destroy(w->r);
    w->r = NULL;
    assert_true(w->have_final);
    sc_check_kernel(w, "destroy");
    assert_int_equal(w->final.undrained, 0);
    assert_int_equal(w->final.poison_hits, 0);
    assert_int_equal(w->k.npending, 0);
    assert_int_equal(w->k.helper_open, 0);
    assert_true(w->k.cancel_work_max <= G);
    assert_true(w->k.cancels - cancels0 <= helpers);
    assert_int_equal(w->alloc.live, 0);
    assert_int_equal(w->k.two_polls, 0);
    print_message("scale: %u channels, G = %u: %llu helpers; %llu removes and %llu interest "
                  "widenings, cancel work at most %llu per call (%llu most per helper); destroy: "
                  "%llu cancels walking %llu requests; %.1f s\n",
                  w->n, G, (unsigned long long)helpers, (unsigned long long)removes,
                  (unsigned long long)modifies, (unsigned long long)worst,
                  (unsigned long long)w->k.helper_max_outstanding,
                  (unsigned long long)(w->k.cancels - cancels0),
                  (unsigned long long)(w->k.cancel_work - work0),
                  (double)(clock() - t0) / CLOCKS_PER_SEC);
    sim_fini(&w->k);
    sc_check_kernel(w, "fini");
    g_w = NULL;
    free(w);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_channel_number_in_use_stays_within_its_group),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("sim.scale", tests, NULL, NULL);
}
