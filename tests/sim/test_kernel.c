/* test_kernel.c - the simulated kernel's own rules, through its table as the backend calls it:
 * helper handles and their keys, the cost of a cancel (trio #1280), cancel-all, mixed immediate
 * and late cancels, two polls on one socket (trio #52), results with bits nobody asked for,
 * reused base handles, waits that end on a clock tick, the probe socket and zero-timeout polls,
 * a refused AFD. A sim that lied here would make every other sim test meaningless. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backend.h"
#include "platform.h"
#include "sim_kernel.h"
#include "win/iocp.h"

#include <stdlib.h>
#include <string.h>

#define KT_N 16

typedef struct kt {
    sim_kernel k;
    uintptr_t port;
    rx_iosb iosb[KT_N];
    rx_afd_poll_info info[KT_N];
    rx_afd_completion out[KT_N];
} kt;

static kt *kt_new(void)
{
    kt *t = calloc(1, sizeof *t);
    assert_non_null(t);
    sim_init(&t->k);
    assert_int_equal(t->k.table.port_open(&t->port), RX_STATUS_SUCCESS);
    return t;
}

static void kt_free(kt *t, int errors)
{
    t->k.table.handle_close(t->port);
    sim_fini(&t->k);
    if (!errors && t->k.errors)
        fail_msg("%s", t->k.msg);
    assert_int_equal(!!t->k.errors, !!errors);
    free(t);
}

static uintptr_t kt_helper(kt *t, uintptr_t key)
{
    uintptr_t h = 0;
    assert_int_equal(t->k.table.helper_open(t->port, key, &h), RX_STATUS_SUCCESS);
    return h;
}

static int32_t kt_poll(kt *t, int i, uintptr_t helper, uintptr_t base, uint32_t events,
                       int64_t timeout)
{
    t->info[i].timeout = timeout;
    t->info[i].count = 1;
    t->info[i].exclusive = 0;
    t->info[i].handles[0].handle = base;
    t->info[i].handles[0].events = events;
    t->info[i].handles[0].status = 0;
    return t->k.table.poll(helper, &t->iosb[i], &t->info[i], (uintptr_t)(100 + i));
}

static uint32_t kt_take(kt *t)
{
    uint32_t n = 0;
    int32_t st = t->k.table.dequeue(t->port, t->out, KT_N, &n, 0);
    assert_true(st == RX_STATUS_SUCCESS || st == RX_STATUS_TIMEOUT);
    return n;
}

static void helpers_have_their_own_keys_counts_and_lifetimes(void **state)
{
    (void)state;
    kt *t = kt_new();
    uintptr_t a = kt_helper(t, 1), b = kt_helper(t, 7);
    assert_true(a != b);
    assert_int_equal(t->k.helper_open, 2);
    uintptr_t base = sim_socket_open(&t->k, 40);
    uintptr_t base2 = sim_socket_open(&t->k, 44);
    assert_int_equal(kt_poll(t, 0, a, base, RX_AFD_POLL_RECEIVE, INT64_MAX), RX_STATUS_PENDING);
    assert_int_equal(kt_poll(t, 1, b, base2, RX_AFD_POLL_RECEIVE, INT64_MAX), RX_STATUS_PENDING);
    assert_int_equal(sim_helper_find(&t->k, a)->outstanding, 1);
    assert_int_equal(sim_helper_find(&t->k, b)->outstanding, 1);
    /* Closing b completes its poll, under b's key. */
    t->k.table.handle_close(b);
    assert_int_equal(t->k.helper_open, 1);
    assert_int_equal(kt_take(t), 1);
    assert_int_equal(t->out[0].key, 7);
    assert_int_equal(t->out[0].context, 101);
    assert_int_equal(t->out[0].iosb.u.status, RX_STATUS_HANDLES_CLOSED);
    /* A poll on a closed or unknown helper is refused, with no packet. */
    assert_int_equal(kt_poll(t, 2, b, base2, RX_AFD_POLL_RECEIVE, INT64_MAX),
                     RX_STATUS_INVALID_HANDLE);
    assert_int_equal(kt_poll(t, 3, 0x4242, base2, RX_AFD_POLL_RECEIVE, INT64_MAX),
                     RX_STATUS_INVALID_HANDLE);
    assert_int_equal(kt_take(t), 0);
    /* Helper a is left open: fini says so. */
    kt_free(t, 1);
}

static void a_cancel_walks_every_request_pending_on_its_helper(void **state)
{
    (void)state;
    kt *t = kt_new();
    uintptr_t a = kt_helper(t, 1), b = kt_helper(t, 1);
    for (int i = 0; i < 10; i++)
        kt_poll(t, i, i < 7 ? a : b, sim_socket_open(&t->k, (uintptr_t)(200 + 4 * i)),
                RX_AFD_POLL_RECEIVE, INT64_MAX);
    assert_int_equal(t->k.table.cancel(a, &t->iosb[0]), RX_STATUS_SUCCESS);
    assert_int_equal(t->k.cancel_work_last, 7);
    assert_int_equal(t->k.table.cancel(b, &t->iosb[8]), RX_STATUS_SUCCESS);
    assert_int_equal(t->k.cancel_work_last, 3);
    assert_int_equal(t->k.cancel_work, 10);
    assert_int_equal(t->k.cancel_work_max, 7);
    assert_int_equal(t->k.helper_max_outstanding, 7);
    /* Not immediate: both still pending, cancelled; they complete later, oldest first. */
    assert_int_equal(sim_complete_cancelled(&t->k), 2);
    assert_int_equal(kt_take(t), 2);
    assert_int_equal(t->out[0].context, 100);
    assert_int_equal(t->out[0].iosb.u.status, RX_STATUS_CANCELLED);
    assert_int_equal(t->out[1].context, 108);
    /* A cancel of a completed request: NOT_FOUND, still a walk of the 6 left on a. */
    assert_int_equal(t->k.table.cancel(a, &t->iosb[0]), RX_STATUS_NOT_FOUND);
    assert_int_equal(t->k.cancel_work_last, 6);
    assert_int_equal(t->k.cancels_late, 1);
    /* Cancel-all on a: one call walks 6 and cancels them all; half complete inside the call. */
    t->k.cancel_immediate_mask = 0x55555555u;
    assert_int_equal(t->k.table.cancel(a, NULL), RX_STATUS_SUCCESS);
    assert_int_equal(t->k.cancel_work_last, 6);
    assert_int_equal(t->k.cancels_all, 1);
    assert_int_equal(sim_helper_find(&t->k, a)->outstanding, 3);
    assert_int_equal(kt_take(t), 3);
    assert_int_equal(sim_complete_cancelled(&t->k), 3);
    assert_int_equal(kt_take(t), 3);
    assert_int_equal(sim_helper_find(&t->k, a)->outstanding, 0);
    /* The request is on b, the cancel names a: a contract error (the poll is never found). */
    assert_int_equal(t->k.table.cancel(a, &t->iosb[9]), RX_STATUS_NOT_FOUND);
    assert_int_equal(t->k.errors, 1);
    t->k.errors = 0;
    t->k.table.handle_close(a);
    t->k.table.handle_close(b);
    kt_take(t);
    kt_free(t, 0);
}

static void two_polls_on_one_socket_are_an_error_and_complete_each_other(void **state)
{
    (void)state;
    kt *t = kt_new();
    uintptr_t h = kt_helper(t, 1), base = sim_socket_open(&t->k, 40);
    kt_poll(t, 0, h, base, RX_AFD_POLL_SEND, INT64_MAX);
    kt_poll(t, 1, h, base, RX_AFD_POLL_RECEIVE, INT64_MAX);
    assert_int_equal(t->k.errors, 1);
    assert_string_equal(t->k.msg, "sim: two polls pending on one socket (0x10028)");
    t->k.errors = 0;
    /* The demonstration: the error turned off, the kernel completes the other poll. */
    t->k.two_polls_ok = 1;
    t->k.cross_complete = 1;
    sim_socket_set_ready(&t->k, 40, RX_AFD_POLL_RECEIVE);
    sim_complete_ready(&t->k, sim_socket_poll(&t->k, 40, 1)); /* the RECEIVE poll is ready */
    assert_int_equal(kt_take(t), 1);
    assert_int_equal(t->out[0].context, 100); /* but the SEND poll completed */
    assert_int_equal(t->info[0].handles[0].events, RX_AFD_POLL_RECEIVE);
    assert_int_equal(t->k.cross_completions, 1);
    assert_int_equal(t->k.two_polls, 1);
    t->k.table.handle_close(h);
    kt_take(t);
    kt_free(t, 0);
}

static void results_carry_bits_nobody_asked_for(void **state)
{
    (void)state;
    kt *t = kt_new();
    uintptr_t h = kt_helper(t, 1), base = sim_socket_open(&t->k, 40);
    t->k.unrequested = RX_AFD_POLL_SEND | RX_AFD_POLL_CONNECT;
    kt_poll(t, 0, h, base, RX_AFD_POLL_RECEIVE, INT64_MAX);
    sim_socket_set_ready(&t->k, 40, RX_AFD_POLL_RECEIVE);
    sim_complete_ready(&t->k, sim_nth(&t->k, SIM_COMPLETABLE, 0));
    assert_int_equal(kt_take(t), 1);
    assert_int_equal(t->info[0].handles[0].events,
                     RX_AFD_POLL_RECEIVE | RX_AFD_POLL_SEND | RX_AFD_POLL_CONNECT);
    assert_int_equal(t->k.log[0].requested, RX_AFD_POLL_RECEIVE);
    t->k.table.handle_close(h);
    kt_free(t, 0);
}

static void a_closed_sockets_base_handle_is_handed_out_again(void **state)
{
    (void)state;
    kt *t = kt_new();
    uintptr_t h = kt_helper(t, 1), base = sim_socket_open(&t->k, 40), got = 0;
    sim_socket_close(&t->k, 40);
    assert_int_equal(sim_socket_open_base(&t->k, 80, base), base);
    assert_int_equal(t->k.table.socket_ioctl(80, RX_SIO_BASE_HANDLE, &got), 0);
    assert_int_equal(got, base);
    assert_int_equal(t->k.table.socket_ioctl(40, RX_SIO_BASE_HANDLE, &got), RX_WSAENOTSOCK);
    assert_int_equal(kt_poll(t, 0, h, base, RX_AFD_POLL_RECEIVE, INT64_MAX), RX_STATUS_PENDING);
    assert_int_equal(sim_socket_find(&t->k, 80)->pending, 1);
    /* A base handle an open socket has cannot be handed out again. */
    sim_socket_open_base(&t->k, 84, base);
    assert_int_equal(t->k.errors, 1);
    t->k.errors = 0;
    t->k.table.handle_close(h);
    kt_take(t);
    kt_free(t, 0);
}

static void waits_end_on_a_clock_tick_up_to_one_early(void **state)
{
    (void)state;
    kt *t = kt_new();
    uint32_t n;
    t->k.wait_tick_us = SIM_TICK_US;
    t->k.wait_phase_us = 14000; /* 1.625 ms before the next tick */
    assert_int_equal(t->k.table.dequeue(t->port, t->out, KT_N, &n, 5), RX_STATUS_TIMEOUT);
    assert_int_equal(t->k.slept_us, 1625); /* 5 ms asked: back on the next tick */
    assert_int_equal(t->k.waits_early, 1);
    assert_int_equal(t->k.table.dequeue(t->port, t->out, KT_N, &n, 20), RX_STATUS_TIMEOUT);
    assert_int_equal(t->k.slept_us, 1625 + 31250 - 14000); /* 17.25 ms for 20 */
    assert_int_equal(t->k.waits_early, 2);
    t->k.wait_phase_us = 0; /* on a tick: never early */
    assert_int_equal(t->k.table.dequeue(t->port, t->out, KT_N, &n, 20), RX_STATUS_TIMEOUT);
    assert_int_equal(t->k.waits_early, 2);
    assert_int_equal(t->k.table.dequeue(t->port, t->out, KT_N, &n, 0), RX_STATUS_TIMEOUT);
    assert_int_equal(t->k.waits, 3);
    assert_int_equal(t->k.waited_ms, 45);
    kt_free(t, 0);
}

static void the_probe_socket_answers_a_zero_timeout_poll_at_once(void **state)
{
    (void)state;
    kt *t = kt_new();
    uintptr_t h = kt_helper(t, 1), sock = 0, base = 0;
    assert_int_equal(t->k.table.socket_open(&sock), 0);
    assert_int_equal(t->k.table.socket_ioctl(sock, RX_SIO_BASE_HANDLE, &base), 0);
    /* A fresh UDP socket can send: success at once, and a packet follows. */
    assert_int_equal(kt_poll(t, 0, h, base, RX_AFD_POLL_SEND | RX_AFD_POLL_RECEIVE, 0),
                     RX_STATUS_SUCCESS);
    /* Nothing to receive: STATUS_TIMEOUT at once, no handle in the buffer, a packet too. */
    assert_int_equal(kt_poll(t, 1, h, base, RX_AFD_POLL_RECEIVE, 0), RX_STATUS_TIMEOUT);
    assert_int_equal(kt_take(t), 2);
    assert_int_equal(t->out[0].iosb.u.status, RX_STATUS_SUCCESS);
    assert_int_equal(t->info[0].handles[0].events, RX_AFD_POLL_SEND);
    assert_int_equal(t->out[1].iosb.u.status, RX_STATUS_TIMEOUT);
    assert_int_equal(t->info[1].count, 0);
    assert_int_equal(t->k.timeouts, 1);
    t->k.table.socket_close(sock);
    /* Old Wine: every AFD_POLL refused at once, no packet. */
    t->k.refuse_afd = 1;
    assert_int_equal(kt_poll(t, 2, h, base, RX_AFD_POLL_SEND, 0), RX_STATUS_BAD_DEVICE_TYPE);
    assert_int_equal(kt_take(t), 0);
    t->k.fail_socket_open = 10055; /* WSAENOBUFS */
    assert_int_equal(t->k.table.socket_open(&sock), 10055);
    t->k.table.handle_close(h);
    kt_free(t, 0);
    /* A probe socket left open is a leak fini reports. */
    t = kt_new();
    assert_int_equal(t->k.table.socket_open(&sock), 0);
    kt_free(t, 1);
}

static reactor_allocator_t kt_alloc = {NULL, NULL, NULL, NULL};

static void *kt_malloc(void *ctx, size_t size)
{
    (void)ctx;
    return malloc(size);
}

static void *kt_realloc(void *ctx, void *p, size_t size)
{
    (void)ctx;
    return realloc(p, size);
}

static void kt_release(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

static void the_backend_refuses_to_start_where_afd_is_refused(void **state)
{
    (void)state;
    sim_kernel *k = calloc(1, sizeof *k);
    assert_non_null(k);
    sim_init(k);
    k->refuse_afd = 1;
    kt_alloc.malloc = kt_malloc;
    kt_alloc.realloc = kt_realloc;
    kt_alloc.free = kt_release;
    rx_alloc ra;
    rx_alloc_init(&ra, &kt_alloc);
    void *be = NULL;
    assert_int_equal(rx_iocp_init_kernel(&be, &ra, &k->table), REACTOR_ENOTSUP);
    assert_int_equal(k->arms_refused, 1);
    sim_fini(k); /* the port, the helper and the probe socket were all closed */
    if (k->errors)
        fail_msg("%s", k->msg);
    free(k);
}

/* ---- the loop on waits that end up to a tick early ---- */

static sim_kernel *g_tk;

static int kt_init(void **be, rx_alloc *a)
{
    return rx_iocp_init_kernel(be, a, &g_tk->table);
}

typedef struct kt_timer {
    uint64_t start_ns, due_ms, fired_ns;
} kt_timer;

static void kt_fire(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)r;
    (void)t;
    ((kt_timer *)arg)->fired_ns = rx_clock_ns();
}

static void timers_never_fire_early_when_waits_end_a_tick_early(void **state)
{
    (void)state;
    sim_kernel *k = calloc(1, sizeof *k);
    assert_non_null(k);
    sim_init(k);
    g_tk = k;
    k->wait_tick_us = SIM_TICK_US;
    k->wait_phase_us = 14000; /* every wait starts 1.625 ms before a tick: all end early */
    kt_alloc.malloc = kt_malloc;
    kt_alloc.realloc = kt_realloc;
    kt_alloc.free = kt_release;
    static rx_backend_ops ops;
    ops = rx_afd_ops;
    ops.init = kt_init;
    reactor_options_t o;
    memset(&o, 0, sizeof o);
    o.allocator = &kt_alloc;
    reactor_t *r = NULL;
    assert_int_equal(rx_create_with(&r, &o, &ops), 0);
    static const uint64_t due[] = {1, 5, 20, 33};
    kt_timer t[4];
    reactor_timer_t id[4];
    for (int i = 0; i < 4; i++) {
        t[i].due_ms = due[i];
        t[i].fired_ns = 0;
        t[i].start_ns = rx_clock_ns();
        assert_int_equal(reactor_timer_start(r, due[i], 0, kt_fire, &t[i], &id[i]), 0);
    }
    int rc = reactor_run(r, REACTOR_RUN_DEFAULT);
    if (rc != 0)
        fail_msg("run: %s (%s)", reactor_strerror(rc), k->errors ? k->msg : "");
    for (int i = 0; i < 4; i++) {
        assert_true(t[i].fired_ns != 0);
        assert_true(t[i].fired_ns - t[i].start_ns >= t[i].due_ms * 1000000u);
    }
    assert_true(k->waits_early >= 1);
    print_message("timers: %llu waits, %llu of them early, %.1f ms slept; none fired early\n",
                  (unsigned long long)k->waits, (unsigned long long)k->waits_early,
                  (double)k->slept_us / 1000.0);
    reactor_destroy(r);
    sim_fini(k);
    if (k->errors)
        fail_msg("%s", k->msg);
    free(k);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(helpers_have_their_own_keys_counts_and_lifetimes),
        cmocka_unit_test(a_cancel_walks_every_request_pending_on_its_helper),
        cmocka_unit_test(two_polls_on_one_socket_are_an_error_and_complete_each_other),
        cmocka_unit_test(results_carry_bits_nobody_asked_for),
        cmocka_unit_test(a_closed_sockets_base_handle_is_handed_out_again),
        cmocka_unit_test(waits_end_on_a_clock_tick_up_to_one_early),
        cmocka_unit_test(the_probe_socket_answers_a_zero_timeout_poll_at_once),
        cmocka_unit_test(the_backend_refuses_to_start_where_afd_is_refused),
        cmocka_unit_test(timers_never_fire_early_when_waits_end_a_tick_early),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("sim.kernel", tests, NULL, NULL);
}
