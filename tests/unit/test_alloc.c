/* test_alloc.c - the loop's allocator wrappers: they count what the user's allocator holds,
 * and a failed growth leaves the array and its capacity as they were. */
#include "alloc.h"
#include "fixture.h"

#include <string.h>

static void malloc_and_free_keep_live_counts(void **state)
{
    sup_loop *f = *state;
    rx_alloc a;
    rx_alloc_init(&a, &f->alloc.fn);
    char *p = rx_malloc(&a, 100);
    char *q = rx_malloc(&a, 28);
    assert_non_null(p);
    assert_non_null(q);
    assert_int_equal(a.live, 2);
    assert_int_equal(a.bytes, 128);
    assert_int_equal(a.total, 2);
    assert_int_equal(f->alloc.live, 2);
    assert_int_equal(f->alloc.bytes, 128);
    rx_free(&a, p, 100);
    assert_int_equal(a.live, 1);
    assert_int_equal(a.bytes, 28);
    assert_int_equal(a.total, 2);
    rx_free(&a, q, 28);
    assert_int_equal(a.live, 0);
    assert_int_equal(a.bytes, 0);
    assert_int_equal(f->alloc.live, 0);
}

static void free_of_null_is_a_no_op_that_never_reaches_the_allocator(void **state)
{
    sup_loop *f = *state;
    rx_alloc a;
    rx_alloc_init(&a, &f->alloc.fn);
    rx_free(&a, NULL, 64);
    assert_int_equal(a.live, 0);
    assert_int_equal(a.bytes, 0);
    assert_int_equal(f->alloc.live, 0);
}

static void realloc_of_null_allocates_and_counts_a_block(void **state)
{
    sup_loop *f = *state;
    rx_alloc a;
    rx_alloc_init(&a, &f->alloc.fn);
    char *p = rx_realloc(&a, NULL, 0, 40);
    assert_non_null(p);
    assert_int_equal(a.live, 1);
    assert_int_equal(a.bytes, 40);
    memset(p, 7, 40);
    p = rx_realloc(&a, p, 40, 400);
    assert_non_null(p);
    assert_int_equal(p[39], 7);
    assert_int_equal(a.live, 1);
    assert_int_equal(a.bytes, 400);
    assert_int_equal(a.total, 2);
    assert_int_equal(f->alloc.bytes, 400);
    rx_free(&a, p, 400);
    assert_int_equal(f->alloc.live, 0);
}

static void failed_realloc_leaves_block_and_counts_intact(void **state)
{
    sup_loop *f = *state;
    rx_alloc a;
    rx_alloc_init(&a, &f->alloc.fn);
    char *p = rx_malloc(&a, 16);
    assert_non_null(p);
    memcpy(p, "0123456789abcde", 16);
    sup_alloc_fail_nth(&f->alloc, 1);
    assert_null(rx_realloc(&a, p, 16, 4096));
    assert_int_equal(f->alloc.failures, 1);
    assert_int_equal(a.live, 1);
    assert_int_equal(a.bytes, 16);
    assert_int_equal(a.total, 1);
    assert_string_equal(p, "0123456789abcde");
    /* The failure was one-shot: the same growth now succeeds and keeps the contents. */
    p = rx_realloc(&a, p, 16, 4096);
    assert_non_null(p);
    assert_string_equal(p, "0123456789abcde");
    rx_free(&a, p, 4096);
    assert_int_equal(f->alloc.live, 0);
}

static void grow_doubles_from_min_cap_and_is_a_no_op_when_room_exists(void **state)
{
    sup_loop *f = *state;
    rx_alloc a;
    rx_alloc_init(&a, &f->alloc.fn);
    uint32_t *arr = NULL, cap = 0;
    assert_int_equal(rx_grow(&a, (void **)&arr, &cap, 1, sizeof *arr, 16), 0);
    assert_int_equal(cap, 16);
    assert_int_equal(a.total, 1);
    assert_int_equal(rx_grow(&a, (void **)&arr, &cap, 16, sizeof *arr, 16), 0);
    assert_int_equal(cap, 16);
    assert_int_equal(a.total, 1);
    for (uint32_t i = 0; i < 16; i++)
        arr[i] = i;
    assert_int_equal(rx_grow(&a, (void **)&arr, &cap, 100, sizeof *arr, 16), 0);
    assert_int_equal(cap, 128);
    assert_int_equal(a.total, 2);
    assert_int_equal(a.bytes, 128 * sizeof *arr);
    for (uint32_t i = 0; i < 16; i++)
        assert_int_equal(arr[i], i);
    rx_free(&a, arr, (size_t)cap * sizeof *arr);
    assert_int_equal(f->alloc.live, 0);
}

static void failed_grow_leaves_array_and_capacity_unchanged(void **state)
{
    sup_loop *f = *state;
    rx_alloc a;
    rx_alloc_init(&a, &f->alloc.fn);
    uint32_t *arr = NULL, cap = 0;
    sup_alloc_fail_nth(&f->alloc, 1);
    assert_int_equal(rx_grow(&a, (void **)&arr, &cap, 1, sizeof *arr, 16), REACTOR_ENOMEM);
    assert_null(arr);
    assert_int_equal(cap, 0);
    assert_int_equal(a.live, 0);
    assert_int_equal(rx_grow(&a, (void **)&arr, &cap, 1, sizeof *arr, 16), 0);
    uint32_t *before = arr;
    arr[3] = 42;
    sup_alloc_fail_nth(&f->alloc, 1);
    assert_int_equal(rx_grow(&a, (void **)&arr, &cap, 17, sizeof *arr, 16), REACTOR_ENOMEM);
    assert_ptr_equal(arr, before);
    assert_int_equal(cap, 16);
    assert_int_equal(arr[3], 42);
    assert_int_equal(a.bytes, 16 * sizeof *arr);
    rx_free(&a, arr, (size_t)cap * sizeof *arr);
    assert_int_equal(f->alloc.live, 0);
}

static void resize_grows_to_exactly_n_and_never_shrinks(void **state)
{
    sup_loop *f = *state;
    rx_alloc a;
    rx_alloc_init(&a, &f->alloc.fn);
    uint64_t *arr = NULL;
    uint32_t cap = 0;
    assert_int_equal(rx_resize(&a, (void **)&arr, &cap, 17, sizeof *arr), 0);
    assert_int_equal(cap, 17);
    assert_int_equal(a.bytes, 17 * sizeof *arr);
    arr[16] = 99;
    assert_int_equal(rx_resize(&a, (void **)&arr, &cap, 5, sizeof *arr), 0);
    assert_int_equal(cap, 17);
    assert_int_equal(a.total, 1);
    sup_alloc_fail_nth(&f->alloc, 1);
    uint64_t *before = arr;
    assert_int_equal(rx_resize(&a, (void **)&arr, &cap, 33, sizeof *arr), REACTOR_ENOMEM);
    assert_ptr_equal(arr, before);
    assert_int_equal(cap, 17);
    assert_int_equal(rx_resize(&a, (void **)&arr, &cap, 33, sizeof *arr), 0);
    assert_int_equal(cap, 33);
    assert_int_equal(arr[16], 99);
    assert_int_equal(a.bytes, 33 * sizeof *arr);
    rx_free(&a, arr, (size_t)cap * sizeof *arr);
    assert_int_equal(f->alloc.live, 0);
    assert_int_equal(f->alloc.bytes, 0);
}

static void null_user_allocator_means_the_c_library(void **state)
{
    (void)state;
    rx_alloc a;
    rx_alloc_init(&a, NULL);
    assert_non_null(a.fn.malloc);
    assert_non_null(a.fn.realloc);
    assert_non_null(a.fn.free);
    void *p = rx_malloc(&a, 32);
    assert_non_null(p);
    p = rx_realloc(&a, p, 32, 64);
    assert_non_null(p);
    assert_int_equal(a.live, 1);
    assert_int_equal(a.bytes, 64);
    rx_free(&a, p, 64);
    assert_int_equal(a.live, 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(malloc_and_free_keep_live_counts, sup_setup_bare,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(free_of_null_is_a_no_op_that_never_reaches_the_allocator,
                                        sup_setup_bare, sup_teardown),
        cmocka_unit_test_setup_teardown(realloc_of_null_allocates_and_counts_a_block,
                                        sup_setup_bare, sup_teardown),
        cmocka_unit_test_setup_teardown(failed_realloc_leaves_block_and_counts_intact,
                                        sup_setup_bare, sup_teardown),
        cmocka_unit_test_setup_teardown(grow_doubles_from_min_cap_and_is_a_no_op_when_room_exists,
                                        sup_setup_bare, sup_teardown),
        cmocka_unit_test_setup_teardown(failed_grow_leaves_array_and_capacity_unchanged,
                                        sup_setup_bare, sup_teardown),
        cmocka_unit_test_setup_teardown(resize_grows_to_exactly_n_and_never_shrinks, sup_setup_bare,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(null_user_allocator_means_the_c_library, sup_setup_bare,
                                        sup_teardown),
    };
    return sup_main(argc, argv, "unit.alloc", tests, sizeof tests / sizeof tests[0], 0);
}
