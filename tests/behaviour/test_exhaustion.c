/* test_exhaustion.c - all 65534 channel numbers through the public API on the null backend
 * (no real descriptors): then REACTOR_ENOSPC that changes nothing, then FIFO reuse. */
#include "null_backend.h"

#include <stdlib.h>

static void ex__cb(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    (void)r;
    (void)chn;
    (void)events;
    (void)arg;
}

static reactor_socket_t ex__sock(uint32_t i)
{
    return (reactor_socket_t)(1000 + i);
}

static void ex__fill(sup_loop *f)
{
    unsigned char *seen = calloc(65536, 1);
    assert_non_null(seen);
    uint32_t i = 0;
    int err = 0;
    reactor_chn_t chn = 0;
    for (; i < 65534; i++) {
        err = reactor_add(f->r, ex__sock(i), REACTOR_READABLE, ex__cb, NULL, &chn);
        if (err != 0 || chn == 0 || chn == 65535 || seen[chn])
            break;
        seen[chn] = 1;
    }
    free(seen);
    if (i != 65534)
        fail_msg("add %u: %s, chn %u", (unsigned)i, reactor_err_name(err), (unsigned)chn);
    assert_int_equal(sup_stats(f).channels, 65534);
}

static void all_numbers_then_enospc_then_reuse_after_remove(void **state)
{
    sup_loop *f = *state;
    sup_loop_open_null(f);
    ex__fill(f);
    reactor_stats_t before = sup_stats(f);
    for (int i = 0; i < 3; i++) {
        reactor_chn_t chn = 7;
        assert_int_equal(reactor_add(f->r, ex__sock(70000), REACTOR_READABLE, ex__cb, NULL, &chn),
                         REACTOR_ENOSPC);
        assert_int_equal(chn, 7);
    }
    reactor_stats_t after = sup_stats(f);
    assert_int_equal(after.channels, before.channels);
    assert_int_equal(after.allocations_total, before.allocations_total);
    assert_int_equal(after.allocations_live, before.allocations_live);
    /* A registered socket is still EEXIST, not ENOSPC: the duplicate check comes first. */
    reactor_chn_t chn;
    assert_int_equal(reactor_add(f->r, ex__sock(5), REACTOR_READABLE, ex__cb, NULL, &chn),
                     REACTOR_EEXIST);
    /* Everything else still works on a full table. */
    assert_int_equal(reactor_modify(f->r, 65534, REACTOR_WRITABLE), 0);
    assert_int_equal(reactor_modify(f->r, 65535, REACTOR_WRITABLE), REACTOR_EBADCHN);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 1);
    /* Remove one: exactly that number comes back. */
    assert_int_equal(reactor_remove(f->r, 777), 0);
    assert_int_equal(reactor_add(f->r, ex__sock(70000), REACTOR_READABLE, ex__cb, NULL, &chn), 0);
    assert_int_equal(chn, 777);
    assert_int_equal(reactor_add(f->r, ex__sock(70001), REACTOR_READABLE, ex__cb, NULL, &chn),
                     REACTOR_ENOSPC);
    /* Remove two: they come back in the order they were released. */
    assert_int_equal(reactor_remove(f->r, 60000), 0);
    assert_int_equal(reactor_remove(f->r, 5), 0);
    assert_int_equal(reactor_add(f->r, ex__sock(70001), REACTOR_READABLE, ex__cb, NULL, &chn), 0);
    assert_int_equal(chn, 60000);
    assert_int_equal(reactor_add(f->r, ex__sock(70002), REACTOR_READABLE, ex__cb, NULL, &chn), 0);
    assert_int_equal(chn, 5);
    /* Destroying a full loop frees everything (checked at teardown too). */
    sup_loop_close(f);
}

static void removing_everything_from_a_full_table_leaves_it_reusable(void **state)
{
    sup_loop *f = *state;
    sup_loop_open_null(f);
    ex__fill(f);
    for (uint32_t chn = 1; chn <= 65534; chn++)
        assert_int_equal(reactor_remove(f->r, (reactor_chn_t)chn), 0);
    assert_int_equal(sup_stats(f).channels, 0);
    assert_int_equal(reactor_remove(f->r, 1), REACTOR_EBADCHN);
    /* The numbers come back in release order: 1, 2, 3, ... */
    for (uint32_t i = 0; i < 100; i++) {
        reactor_chn_t chn;
        assert_int_equal(reactor_add(f->r, ex__sock(i), REACTOR_READABLE, ex__cb, NULL, &chn), 0);
        assert_int_equal(chn, i + 1);
    }
    sup_loop_close(f);
}

static void released_numbers_are_handed_out_in_release_order(void **state)
{
    sup_loop *f = *state;
    sup_loop_open_null(f);
    enum { N = 5000 };
    for (uint32_t i = 0; i < N; i++) {
        reactor_chn_t chn;
        assert_int_equal(reactor_add(f->r, ex__sock(i), 0, ex__cb, NULL, &chn), 0);
    }
    /* Release every number in a scrambled order (7 is coprime with N). */
    static reactor_chn_t order[N];
    for (uint32_t k = 0; k < N; k++) {
        order[k] = (reactor_chn_t)((k * 7u) % N + 1);
        assert_int_equal(reactor_remove(f->r, order[k]), 0);
    }
    /* Released numbers are preferred to fresh ones, oldest release first. */
    for (uint32_t k = 0; k < N; k++) {
        reactor_chn_t chn;
        assert_int_equal(reactor_add(f->r, ex__sock(N + k), 0, ex__cb, NULL, &chn), 0);
        assert_int_equal(chn, order[k]);
    }
    reactor_chn_t chn;
    assert_int_equal(reactor_add(f->r, ex__sock(3 * N), 0, ex__cb, NULL, &chn), 0);
    assert_int_equal(chn, N + 1);
    sup_loop_close(f);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(all_numbers_then_enospc_then_reuse_after_remove,
                                        sup_setup_bare, sup_teardown),
        cmocka_unit_test_setup_teardown(removing_everything_from_a_full_table_leaves_it_reusable,
                                        sup_setup_bare, sup_teardown),
        cmocka_unit_test_setup_teardown(released_numbers_are_handed_out_in_release_order,
                                        sup_setup_bare, sup_teardown),
    };
    return sup_main(argc, argv, "behaviour.null.exhaustion", tests, sizeof tests / sizeof tests[0],
                    0);
}
