/* test_semantics.c - what wepoll and mio learned about AFD_POLL, each as a script on the
 * simulated kernel that fails on a backend without it: cancel only when the interest widens,
 * results masked by the interest of now (AFD sets bits nobody asked for; CONNECT is not
 * WRITABLE), one poll per socket, a revived channel asks its socket again, resource shortages
 * retried instead of parking the channel. Each scenario also runs with each allocation failing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sim_script.h"
#include "sim_world.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The pending poll of socket i's channel, or NULL. */
static sim_poll *se__poll(world *w, int i)
{
    for (size_t j = 0;; j++) {
        sim_poll *p = sim_socket_poll(&w->k, w->sock[i], j);
        if (!p || (rx_id)p->context == w->ch[i].id)
            return p;
    }
}

/* Sets socket i's interest directly (the world's own modify only toggles WRITABLE). */
static void se__interest(world *w, int i, unsigned events)
{
    if (w->failed || !w->created || w->destroyed || !w->ch[i].registered)
        return;
    if (reactor_modify(w->r, w->ch[i].chn, events) == 0)
        w->ch[i].interest = events;
}

/* ---- 1. cancel only when the interest widens ---- */

static void narrowing_keeps_the_poll(world *w, int checks)
{
    sc_step(w, OP_ADD, 0);
    sc_step(w, OP_MODIFY, 0); /* READABLE|WRITABLE before the first arm */
    w->k.wait_completes = 0;
    sc_step(w, OP_RUN, 0);
    uint64_t cancels = w->k.cancels;
    sc_step(w, OP_MODIFY, 0); /* back to READABLE: the pending wider poll serves */
    sc_step(w, OP_RUN, 0);
    sc_step(w, OP_RUN, 0);
    if (checks) {
        sc_fail_if(w);
        assert_int_equal(w->k.cancels, cancels);
        assert_int_equal(sc_stats(w).pending_polls, 1);
    }
    /* It still delivers what the channel wants, and only that. */
    if (w->created && !w->destroyed)
        sim_socket_set_ready(&w->k, w->sock[0], RX_AFD_POLL_SEND | RX_AFD_POLL_RECEIVE);
    sc_step(w, OP_COMPLETE, 0);
    sc_step(w, OP_RUN, 0);
    if (checks) {
        sc_fail_if(w);
        assert_int_equal(w->ch[0].calls, 1);
        assert_int_equal(w->ch[0].got, REACTOR_READABLE);
    }
    if (w->created && !w->destroyed)
        sim_socket_clear_ready(&w->k, w->sock[0], RX_AFD_POLL_SEND);
}

static void widening_rearms_in_the_same_call(world *w, int checks)
{
    w->k.cancel_immediate = 1; /* the cancellation's packet is queued inside the cancel call */
    sc_step(w, OP_ADD, 0);
    sc_step(w, OP_RUN, 0);
    sc_step(w, OP_MODIFY, 0); /* READABLE -> READABLE|WRITABLE: the poll must be replaced */
    sc_step(w, OP_RUN, 0);    /* cancel, its packet, the wider poll: all in this call */
    if (checks) {
        sc_fail_if(w);
        sim_poll *p = se__poll(w, 0);
        assert_non_null(p);
        assert_true(p->requested & RX_AFD_POLL_SEND);
        assert_int_equal(w->k.cancels, 1);
    }
}

static void completed_poll_is_not_cancelled(world *w, int checks)
{
    sc_step(w, OP_ADD, 0);
    sc_step(w, OP_RUN, 0);
    sc_step(w, OP_READY, 0);
    sc_step(w, OP_COMPLETE, 0); /* done: the status block says so, the packet is queued */
    sc_step(w, OP_MODIFY, 0);   /* widening, but there is nothing to cancel */
    sc_step(w, OP_RUN, 0);
    if (checks) {
        sc_fail_if(w);
        assert_int_equal(w->k.cancels, 0);
        assert_int_equal(w->ch[0].got, REACTOR_READABLE);
    }
}

static void cancel_only_when_the_interest_widens(void **state)
{
    (void)state;
    sc_run("narrowing keeps the pending poll", narrowing_keeps_the_poll);
    sc_run("widening re-arms within the same call", widening_rearms_in_the_same_call);
    sc_run("a completed poll is not cancelled", completed_poll_is_not_cancelled);
}

/* ---- 2. results masked by the interest of now ---- */

static void interest_zero_hears_no_half_close(world *w, int checks)
{
    sc_step(w, OP_ADD, 0);
    sc_step(w, OP_RUN, 0);
    se__interest(w, 0, 0); /* narrowing: the READABLE poll stays pending */
    if (w->created && !w->destroyed)
        sim_socket_set_ready(&w->k, w->sock[0], RX_AFD_POLL_DISCONNECT); /* the peer's FIN */
    sc_step(w, OP_COMPLETE, 0);
    sc_step(w, OP_RUN, 0);
    sc_step(w, OP_RUN, 0);
    if (checks) {
        sc_fail_if(w);
        assert_int_equal(w->ch[0].calls, 0);
        /* polled again, for what interest 0 watches (errors, resets, a local close) */
        sim_poll *p = se__poll(w, 0);
        assert_non_null(p);
        assert_false(p->requested & RX_AFD_POLL_DISCONNECT);
    }
}

static void unrequested_bits_are_dropped(world *w, int checks)
{
    if (w->created)
        w->k.unrequested = RX_AFD_POLL_CONNECT | RX_AFD_POLL_SEND;
    sc_step(w, OP_ADD, 0);
    sc_step(w, OP_RUN, 0);
    sc_step(w, OP_READY, 0);
    sc_step(w, OP_COMPLETE, 0);
    sc_step(w, OP_RUN, 0);
    if (checks) {
        sc_fail_if(w);
        assert_int_equal(w->ch[0].got, REACTOR_READABLE);
    }
}

static void connect_is_not_writable(world *w, int checks)
{
    /* A connected socket keeps CONNECT set; with READABLE|WRITABLE asked and the send buffer
     * full, data arriving must not read as writable. */
    if (w->created)
        w->k.unrequested = RX_AFD_POLL_CONNECT;
    sc_step(w, OP_ADD, 0);
    sc_step(w, OP_MODIFY, 0);
    sc_step(w, OP_RUN, 0);
    sc_step(w, OP_READY, 0);
    sc_step(w, OP_COMPLETE, 0);
    sc_step(w, OP_RUN, 0);
    if (checks) {
        sc_fail_if(w);
        assert_int_equal(w->ch[0].calls, 1);
        assert_int_equal(w->ch[0].got, REACTOR_READABLE);
    }
}

static void results_are_masked_by_the_interest_of_now(void **state)
{
    (void)state;
    sc_run("interest 0 is not told about a half-close", interest_zero_hears_no_half_close);
    sc_run("bits nobody asked for are dropped", unrequested_bits_are_dropped);
    sc_run("AFD_POLL_CONNECT is not WRITABLE", connect_is_not_writable);
}

/* ---- 3. one poller per socket ---- */

static void twin_cb(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    (void)r;
    (void)chn;
    (void)events;
    (*(int *)arg)++;
}

/* Another SOCKET value for socket 0's endpoint (a duplicated handle, a layered provider): the
 * kernel's base-handle query answers with socket 0's base handle. */
#define SE__TWIN ((uintptr_t)900)
static int (*se__ioctl)(uintptr_t sock, uint32_t code, uintptr_t *out);
static uintptr_t se__twin_base;

static int se__twin_ioctl(uintptr_t sock, uint32_t code, uintptr_t *out)
{
    if (sock == SE__TWIN && code == RX_SIO_BASE_HANDLE) {
        *out = se__twin_base;
        return 0;
    }
    return se__ioctl(sock, code, out);
}

static void second_channel_is_eexist(world *w, int checks)
{
    sc_step(w, OP_ADD, 0);
    sc_step(w, OP_RUN, 0);
    if (!w->created || w->destroyed || !w->ch[0].registered)
        return;
    se__ioctl = w->k.table.socket_ioctl;
    se__twin_base = sim_socket_find(&w->k, w->sock[0])->base;
    w->k.table.socket_ioctl = se__twin_ioctl; /* the backend calls through this table */
    static int calls;
    reactor_chn_t chn;
    reactor_stats_t before = sc_stats(w);
    int err = reactor_add(w->r, (reactor_socket_t)SE__TWIN, REACTOR_READABLE, twin_cb, &calls,
                          &chn);
    if (checks) {
        assert_int_equal(err, REACTOR_EEXIST);
        assert_int_equal(sc_stats(w).channels, before.channels);
    } else if (err == 0) {
        (void)reactor_remove(w->r, chn);
    }
    /* Once the first channel is removed and its poll is back, the twin may come in. */
    sc_step(w, OP_REMOVE, 0);
    sc_step(w, OP_CANCEL_DONE, 0);
    sc_step(w, OP_RUN, 0);
    if (w->created && !w->destroyed && !w->failed) {
        err = reactor_add(w->r, (reactor_socket_t)SE__TWIN, REACTOR_READABLE, twin_cb, &calls,
                          &chn);
        if (checks)
            assert_int_equal(err, 0);
        if (err == 0)
            (void)reactor_remove(w->r, chn);
    }
    sc_step(w, OP_RUN, 0);
    if (checks)
        sc_fail_if(w);
}

static void readd_never_polls_one_socket_twice(world *w, int checks)
{
    /* The sim fails the run if a second poll is armed on a socket that has one pending. */
    sc_step(w, OP_ADD, 0);
    sc_step(w, OP_RUN, 0);
    sc_step(w, OP_REMOVE, 0);
    sc_step(w, OP_ADD, 0);
    sc_step(w, OP_READY, 0);
    sc_step(w, OP_RUN, 0);
    sc_step(w, OP_RUN, 0);
    if (checks) {
        sc_fail_if(w);
        assert_int_equal(w->k.two_polls, 0);
    }
    sc_step(w, OP_CANCEL_DONE, 0); /* the old poll's packet lets the new channel poll */
    sc_step(w, OP_RUN, 0);
    sc_step(w, OP_COMPLETE, 0);
    sc_step(w, OP_RUN, 0);
    if (checks) {
        sc_fail_if(w);
        assert_int_equal(w->k.two_polls, 0);
        assert_int_equal(w->ch[0].calls, 1);
        assert_int_equal(w->ch[0].got, REACTOR_READABLE);
    }
}

static void one_poller_per_socket(void **state)
{
    (void)state;
    sc_run("a second channel on one base handle is EEXIST", second_channel_is_eexist);
    sc_run("remove and re-add never polls one socket twice", readd_never_polls_one_socket_twice);
}

/* ---- 4. a revived channel asks its socket again ---- */

static void revive_after_reuse(world *w, int checks)
{
    sc_step(w, OP_ADD, 0);
    sc_step(w, OP_RUN, 0);
    uintptr_t old_base = 0;
    if (w->created && !w->destroyed)
        old_base = sim_socket_find(&w->k, w->sock[0])->base;
    sc_step(w, OP_CLOSE, 0); /* closed without remove: ERROR, parked */
    sc_step(w, OP_RUN, 0);
    if (!w->created || w->destroyed || w->failed)
        return;
    /* Windows hands the freed handle value to the next socket at once. */
    uintptr_t stranger = 901;
    if (!sim_socket_find(&w->k, stranger))
        sim_socket_open_base(&w->k, stranger, old_base);
    sc_step(w, OP_REOPEN, 0); /* the application's value comes back with another endpoint */
    sc_step(w, OP_MODIFY, 0); /* revive: must poll the new endpoint, not the stranger */
    sc_step(w, OP_RUN, 0);
    if (checks) {
        sc_fail_if(w);
        assert_int_equal(w->ch[0].got, REACTOR_ERROR);
        sim_poll *p = se__poll(w, 0);
        assert_non_null(p);
        assert_true(p->base == sim_socket_find(&w->k, w->sock[0])->base);
        assert_true(p->base != old_base);
        assert_null(sim_socket_poll(&w->k, stranger, 0));
    }
}

static void revive_of_a_closed_socket_is_ebadf(world *w, int checks)
{
    sc_step(w, OP_ADD, 0);
    sc_step(w, OP_RUN, 0);
    sc_step(w, OP_CLOSE, 0);
    sc_step(w, OP_RUN, 0);
    sc_step(w, OP_MODIFY, 0); /* the world expects EBADF here and fails otherwise */
    sc_step(w, OP_RUN, 0);
    if (checks) {
        sc_fail_if(w);
        assert_int_equal(sc_stats(w).pending_polls, 0);
    }
}

static void revived_channel_resolves_its_socket_again(void **state)
{
    (void)state;
    sc_run("revive after the handle value was reused", revive_after_reuse);
    sc_run("revive of a closed socket is EBADF", revive_of_a_closed_socket_is_ebadf);
}

/* ---- 5. resource shortages are retried, not parked ---- */

static void refused_for_resources(world *w, int checks)
{
    sc_step(w, OP_ARMFAIL, 0); /* STATUS_INSUFFICIENT_RESOURCES at once */
    sc_step(w, OP_ADD, 0);
    sc_step(w, OP_RUN, 0);
    if (checks) {
        sc_fail_if(w);
        assert_int_equal(w->ch[0].calls, 0); /* no ERROR for a shortage */
    }
    sc_step(w, OP_RUN, 0); /* tried again */
    sc_step(w, OP_READY, 0);
    sc_step(w, OP_COMPLETE, 0);
    sc_step(w, OP_RUN, 0);
    if (checks) {
        sc_fail_if(w);
        assert_int_equal(w->ch[0].calls, 1);
        assert_int_equal(w->ch[0].got, REACTOR_READABLE);
    }
}

static void completed_with_a_shortage(world *w, int checks)
{
    sc_step(w, OP_ADD, 0);
    sc_step(w, OP_RUN, 0);
    if (w->created && !w->destroyed && se__poll(w, 0))
        sim_complete_status(&w->k, se__poll(w, 0), RX_STATUS_INSUFFICIENT_RESOURCES);
    sc_step(w, OP_RUN, 0);
    if (checks) {
        sc_fail_if(w);
        assert_int_equal(w->ch[0].calls, 0);
        assert_non_null(se__poll(w, 0)); /* polled again at once */
    }
    sc_step(w, OP_READY, 0);
    sc_step(w, OP_COMPLETE, 0);
    sc_step(w, OP_RUN, 0);
    if (checks) {
        sc_fail_if(w);
        assert_int_equal(w->ch[0].got, REACTOR_READABLE);
    }
}

static void resource_shortages_are_retried_not_parked(void **state)
{
    (void)state;
    sc_run("arm refused for resources", refused_for_resources);
    sc_run("poll completed with a resource shortage", completed_with_a_shortage);
}

/* ---- 6. smaller costs ---- */

static int32_t (*se__dequeue)(uintptr_t port, rx_afd_completion *out, uint32_t cap, uint32_t *n,
                              int timeout_ms);
static unsigned se__dequeues;

static int32_t se__count_dequeue(uintptr_t port, rx_afd_completion *out, uint32_t cap, uint32_t *n,
                                 int timeout_ms)
{
    se__dequeues++;
    return se__dequeue(port, out, cap, n, timeout_ms);
}

/* 100 channels ready at once are taken off the port in one dequeue: the batch follows the
 * table's size (it was a fixed 64 entries, so a second call and a second pass). */
static void dequeue_batch_follows_the_table(void **state)
{
    (void)state;
    enum { N = 100 };
    sim_kernel *k = calloc(1, sizeof *k);
    assert_non_null(k);
    sim_init(k);
    k->log_off = 1;
    se__dequeue = k->table.dequeue;
    k->table.dequeue = se__count_dequeue;
    sim_alloc a;
    sim_alloc_init(&a);
    rx_alloc ra;
    rx_alloc_init(&ra, &a.fn);
    void *be = NULL;
    assert_int_equal(rx_iocp_init_kernel(&be, &ra, &k->table), 0);
    rx_event ev[N];
    rx_sink sink = {ev, 0, N, 0, 0};
    assert_int_equal(rx_afd_ops.reserve(be, N), 0);
    for (uint32_t i = 0; i < N; i++) {
        sim_socket_open(k, 4000 + 4 * i);
        assert_int_equal(rx_afd_ops.add(be, i, 0x10000u + i + 1, 4000 + 4 * i, REACTOR_READABLE),
                         0);
    }
    assert_int_equal(rx_afd_ops.poll(be, 0, &sink), 0); /* every poll armed */
    for (uint32_t i = 0; i < N; i++)
        sim_socket_set_ready(k, 4000 + 4 * i, RX_AFD_POLL_RECEIVE);
    assert_int_equal(sim_complete_all(k), N);
    se__dequeues = 0;
    sink.n = 0;
    assert_int_equal(rx_afd_ops.poll(be, 0, &sink), 0);
    assert_int_equal(sink.n, N);
    assert_int_equal(se__dequeues, 1);
    rx_iocp_final fin;
    rx_iocp_destroy_report(be, &fin);
    assert_int_equal(fin.undrained, 0);
    sim_fini(k);
    assert_int_equal(k->errors, 0);
    assert_int_equal(a.live, 0);
    free(k);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cancel_only_when_the_interest_widens),
        cmocka_unit_test(results_are_masked_by_the_interest_of_now),
        cmocka_unit_test(one_poller_per_socket),
        cmocka_unit_test(revived_channel_resolves_its_socket_again),
        cmocka_unit_test(resource_shortages_are_retried_not_parked),
        cmocka_unit_test(dequeue_batch_follows_the_table),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("sim.semantics", tests, NULL, NULL);
}
