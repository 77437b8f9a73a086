/* test_fallback.c - REACTOR_BACKEND_DEFAULT on Windows: AFD where the kernel has it, WSAPoll
 * where AFD is refused. The refusals are kernel tables copied from rx_afd_nt with one call
 * failing as old Wine or a sandbox fails it; every case ends with zero live allocations. */
#include "fixture.h"

#include "backend.h"
#include "win/afd.h"
#include "win/iocp.h"

#include <string.h>

/* NtCreateFile(\Device\Afd) refused: STATUS_ACCESS_DENIED, as a sandbox answers. */
#define FB_STATUS_ACCESS_DENIED ((int32_t)0xC0000022)

static rx_afd_kernel fb_kernel; /* the table the wrapped AFD backend runs on */

static int32_t fb_poll_bad_device(uintptr_t helper, rx_iosb *iosb, rx_afd_poll_info *info,
                                  uintptr_t context)
{
    (void)helper;
    (void)iosb;
    (void)info;
    (void)context;
    return RX_STATUS_BAD_DEVICE_TYPE; /* old Wine (mio #1444, tokio #4781) */
}

static int32_t fb_helper_refused(uintptr_t port, uintptr_t key, uintptr_t *helper)
{
    (void)port;
    (void)key;
    (void)helper;
    return FB_STATUS_ACCESS_DENIED;
}

static int32_t fb_port_refused(uintptr_t *port)
{
    (void)port;
    return RX_STATUS_INSUFFICIENT_RESOURCES;
}

static int fb_init(void **be, rx_alloc *alloc)
{
    return rx_iocp_init_kernel(be, alloc, &fb_kernel);
}

/* rx_afd_ops on fb_kernel. */
static const rx_backend_ops *fb_afd(void)
{
    static rx_backend_ops ops;
    ops = rx_afd_ops;
    ops.init = fb_init;
    return &ops;
}

static reactor_options_t fb_options(sup_loop *f)
{
    reactor_options_t o;
    memset(&o, 0, sizeof o);
    o.allocator = &f->alloc.fn;
    return o;
}

/* The loop reports READABLE for a loopback TCP pair: the backend it fell back to works. */
static void fb_assert_delivers(sup_loop *f)
{
    reactor_socket_t sv[2];
    sup_new_tcp_pair(f, sv);
    sup_probe p = {0, 0, 0, 0};
    reactor_chn_t chn = 0;
    assert_int_equal(reactor_add(f->r, sv[0], REACTOR_READABLE, sup_probe_cb, &p, &chn), 0);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 1);
    assert_int_equal(p.calls, 0);
    sup_send_byte(sv[1]);
    assert_true(sup_run_until_count(f, &p.calls, 1, SUP_WAIT_MS));
    assert_int_equal(p.chn, chn);
    assert_int_equal(p.last, REACTOR_READABLE);
    assert_int_equal(reactor_remove(f->r, chn), 0);
}

static void fb_falls_back(sup_loop *f)
{
    reactor_options_t o = fb_options(f);
    assert_int_equal(rx_create_fallback(&f->r, &o, fb_afd(), &rx_poll_ops), 0);
    assert_string_equal(reactor_backend_name(f->r), "poll");
    fb_assert_delivers(f);
    sup_loop_close(f);
}

static void refused_afd_poll_falls_back_to_wsapoll(void **state)
{
    fb_kernel = rx_afd_nt;
    fb_kernel.poll = fb_poll_bad_device;
    fb_falls_back(*state);
}

static void refused_helper_handle_falls_back_to_wsapoll(void **state)
{
    fb_kernel = rx_afd_nt;
    fb_kernel.helper_open = fb_helper_refused;
    fb_falls_back(*state);
}

/* Asked for by name, a refused AFD is ENOTSUP (no fallback), and the attempt leaks nothing. */
static void refused_afd_asked_for_by_name_is_enotsup(void **state)
{
    sup_loop *f = *state;
    reactor_options_t o = fb_options(f);
    fb_kernel = rx_afd_nt;
    fb_kernel.poll = fb_poll_bad_device;
    reactor_t *r = (reactor_t *)(uintptr_t)0x5eed;
    assert_int_equal(rx_create_with(&r, &o, fb_afd()), REACTOR_ENOTSUP);
    assert_ptr_equal(r, (reactor_t *)(uintptr_t)0x5eed);
    assert_int_equal(rx_create_fallback(&r, &o, fb_afd(), NULL), REACTOR_ENOTSUP);
    assert_ptr_equal(r, (reactor_t *)(uintptr_t)0x5eed);
    assert_true(f->alloc.calls > 0);
    assert_int_equal(f->alloc.live, 0);
    assert_int_equal(f->alloc.bytes, 0);
}

/* Only a refusal falls back: any other failure of AFD is the caller's to see. */
static void other_afd_failures_do_not_fall_back(void **state)
{
    sup_loop *f = *state;
    reactor_options_t o = fb_options(f);
    fb_kernel = rx_afd_nt;
    fb_kernel.port_open = fb_port_refused;
    reactor_t *r = NULL;
    assert_int_equal(rx_create_fallback(&r, &o, fb_afd(), &rx_poll_ops), REACTOR_ESYS);
    assert_null(r);
    assert_int_equal(f->alloc.live, 0);
    fb_kernel = rx_afd_nt;
    fb_kernel.poll = fb_poll_bad_device;
    sup_alloc_fail_nth(&f->alloc, 1); /* the loop itself: ENOMEM before AFD is asked */
    assert_int_equal(rx_create_fallback(&r, &o, fb_afd(), &rx_poll_ops), REACTOR_ENOMEM);
    assert_null(r);
    assert_int_equal(f->alloc.live, 0);
}

/* Every allocation of the refused attempt and of the fallback failing in turn: ENOMEM and
 * nothing live, or a working poll loop. */
static void allocation_failure_anywhere_in_the_fallback_leaks_nothing(void **state)
{
    sup_loop *f = *state;
    reactor_options_t o = fb_options(f);
    fb_kernel = rx_afd_nt;
    fb_kernel.poll = fb_poll_bad_device;
    int done = 0, refused = 0;
    for (uint64_t k = 1; k < 100 && !done; k++) {
        uint64_t failures = f->alloc.failures;
        sup_alloc_fail_nth(&f->alloc, k);
        reactor_t *r = NULL;
        int err = rx_create_fallback(&r, &o, fb_afd(), &rx_poll_ops);
        if (err) {
            assert_int_equal(err, REACTOR_ENOMEM);
            assert_null(r);
            assert_int_equal(f->alloc.live, 0);
            refused++;
            continue;
        }
        assert_string_equal(reactor_backend_name(r), "poll");
        done = f->alloc.failures == failures; /* the k-th allocation was never reached */
        f->r = r;
        sup_alloc_fail_nth(&f->alloc, 0);
        fb_assert_delivers(f);
        sup_loop_close(f);
    }
    assert_true(done);
    assert_true(refused >= 4); /* the loop and AFD's state, then the loop and poll's state */
}

/* The real kernel under Wine (and Windows) has AFD: DEFAULT picks it. */
static void default_is_afd_where_the_kernel_has_it(void **state)
{
    sup_loop *f = *state;
    reactor_options_t o = fb_options(f);
    assert_int_equal(reactor_create(&f->r, &o), 0);
    assert_string_equal(reactor_backend_name(f->r), "afd");
    fb_assert_delivers(f);
    sup_loop_close(f);
    o.backend = REACTOR_BACKEND_POLL;
    assert_int_equal(reactor_create(&f->r, &o), 0);
    assert_string_equal(reactor_backend_name(f->r), "poll");
    sup_loop_close(f);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(refused_afd_poll_falls_back_to_wsapoll, sup_setup_bare,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(refused_helper_handle_falls_back_to_wsapoll, sup_setup_bare,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(refused_afd_asked_for_by_name_is_enotsup, sup_setup_bare,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(other_afd_failures_do_not_fall_back, sup_setup_bare,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(allocation_failure_anywhere_in_the_fallback_leaks_nothing,
                                        sup_setup_bare, sup_teardown),
        cmocka_unit_test_setup_teardown(default_is_afd_where_the_kernel_has_it, sup_setup_bare,
                                        sup_teardown),
    };
    return sup_main(argc, argv, "win.fallback", tests, sizeof tests / sizeof tests[0], 0);
}
