/* test_channel_table.c - numbers 1..65534, FIFO reuse, generations, swap-remove, the socket
 * hash under churn, and failed reservations that change nothing. Checked against a model. */
#include "channel_table.h"
#include "fixture.h"

#include <stdlib.h>
#include <string.h>

static void table__cb(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    (void)r;
    (void)chn;
    (void)events;
    (void)arg;
}

/* Reserves and adds; returns the channel number. */
static reactor_chn_t table__add(rx_table *t, reactor_socket_t sock)
{
    assert_int_equal(rx_table_reserve(t), 0);
    rx_id next = rx_table_next_id(t);
    uint32_t slot = rx_table_add(t, sock, REACTOR_READABLE, table__cb, NULL);
    assert_int_equal(rx_table_id(t, slot), next);
    assert_int_equal(t->rec[slot].sock, sock);
    return t->rec[slot].chn;
}

static void table__remove_chn(rx_table *t, reactor_chn_t chn)
{
    int32_t slot = rx_table_find(t, chn);
    assert_true(slot >= 0);
    rx_table_remove(t, (uint32_t)slot);
}

/* The model: which socket each number holds (REACTOR_INVALID_SOCKET: none). */
typedef struct table__model {
    reactor_socket_t sock_of[RX_CHN_MAX + 2];
    uint32_t live;
} table__model;

static void table__check(const rx_table *t, const table__model *m, const reactor_socket_t *all,
                         size_t nall)
{
    assert_int_equal(t->count, m->live);
    uint32_t seen = 0;
    /* Numbers at or above t->fresh were never handed out; check one past them and 65535. */
    uint32_t top = t->fresh + 1 < RX_CHN_MAX + 1 ? t->fresh + 1 : RX_CHN_MAX + 1;
    assert_int_equal(rx_table_find(t, 65535), -1);
    for (uint32_t chn = 0; chn <= top; chn++) {
        int32_t slot = rx_table_find(t, (reactor_chn_t)chn);
        if (m->sock_of[chn] == REACTOR_INVALID_SOCKET) {
            assert_int_equal(slot, -1);
            continue;
        }
        seen++;
        assert_true(slot >= 0 && (uint32_t)slot < t->count);
        assert_int_equal(t->rec[slot].chn, chn);
        assert_int_equal(t->rec[slot].sock, m->sock_of[chn]);
        assert_int_equal(rx_table_find_socket(t, m->sock_of[chn]), slot);
        assert_int_equal(rx_table_find_id(t, rx_table_id(t, (uint32_t)slot)), slot);
    }
    assert_int_equal(seen, m->live);
    for (size_t i = 0; i < nall; i++) {
        int32_t slot = rx_table_find_socket(t, all[i]);
        if (slot >= 0)
            assert_int_equal(m->sock_of[t->rec[slot].chn], all[i]);
    }
}

static table__model *table__model_new(void)
{
    table__model *m = malloc(sizeof *m);
    assert_non_null(m);
    for (size_t i = 0; i < sizeof m->sock_of / sizeof m->sock_of[0]; i++)
        m->sock_of[i] = REACTOR_INVALID_SOCKET;
    m->live = 0;
    return m;
}

static void numbers_start_at_one_and_count_up(void **state)
{
    sup_loop *f = *state;
    rx_alloc a;
    rx_alloc_init(&a, &f->alloc.fn);
    rx_table t;
    rx_table_init(&t, &a);
    assert_int_equal(rx_table_find(&t, 1), -1);
    assert_int_equal(rx_table_find_socket(&t, 3), -1);
    for (int i = 0; i < 100; i++)
        assert_int_equal(table__add(&t, 1000 + i), i + 1);
    assert_int_equal(t.count, 100);
    rx_table_free(&t);
    assert_int_equal(f->alloc.live, 0);
}

static void released_numbers_are_reused_first_in_first_out(void **state)
{
    sup_loop *f = *state;
    rx_alloc a;
    rx_alloc_init(&a, &f->alloc.fn);
    rx_table t;
    rx_table_init(&t, &a);
    for (int i = 0; i < 10; i++)
        table__add(&t, i);
    table__remove_chn(&t, 3);
    table__remove_chn(&t, 7);
    table__remove_chn(&t, 5);
    assert_int_equal(table__add(&t, 100), 3);
    table__remove_chn(&t, 9);
    assert_int_equal(table__add(&t, 101), 7);
    assert_int_equal(table__add(&t, 102), 5);
    assert_int_equal(table__add(&t, 103), 9);
    assert_int_equal(table__add(&t, 104), 11);
    rx_table_free(&t);
    assert_int_equal(f->alloc.live, 0);
}

static void generation_advances_and_old_ids_are_rejected(void **state)
{
    sup_loop *f = *state;
    rx_alloc a;
    rx_alloc_init(&a, &f->alloc.fn);
    rx_table t;
    rx_table_init(&t, &a);
    table__add(&t, 10);
    reactor_chn_t chn = table__add(&t, 11);
    rx_id ids[6];
    ids[0] = rx_table_id(&t, (uint32_t)rx_table_find(&t, chn));
    for (int i = 1; i < 6; i++) {
        table__remove_chn(&t, chn);
        assert_int_equal(rx_table_find_id(&t, ids[i - 1]), -1);
        /* The only free number comes straight back, one generation on. */
        assert_int_equal(table__add(&t, 20 + i), chn);
        ids[i] = rx_table_id(&t, (uint32_t)rx_table_find(&t, chn));
        assert_int_equal(rx_id_chn(ids[i]), chn);
        assert_int_equal(ids[i] >> 16, (ids[i - 1] >> 16) + 1);
        for (int j = 0; j < i; j++)
            assert_int_equal(rx_table_find_id(&t, ids[j]), -1);
        assert_int_equal(rx_table_find_id(&t, ids[i]), rx_table_find(&t, chn));
    }
    /* An ID is never 0: number 0 is never handed out. */
    assert_int_equal(rx_table_find_id(&t, 0), -1);
    rx_table_free(&t);
    assert_int_equal(f->alloc.live, 0);
}

static void find_rejects_zero_max_never_used_and_released_numbers(void **state)
{
    sup_loop *f = *state;
    rx_alloc a;
    rx_alloc_init(&a, &f->alloc.fn);
    rx_table t;
    rx_table_init(&t, &a);
    for (int i = 0; i < 10; i++)
        table__add(&t, 50 + i);
    /* Released numbers hold FIFO links in their slot field; 3 links to 2, which is a valid
     * slot index: the lookup must still say "not live". */
    table__remove_chn(&t, 3);
    table__remove_chn(&t, 2);
    table__remove_chn(&t, 9);
    assert_int_equal(rx_table_find(&t, 0), -1);
    assert_int_equal(rx_table_find(&t, 65535), -1);
    assert_int_equal(rx_table_find(&t, 11), -1);
    assert_int_equal(rx_table_find(&t, 500), -1);
    assert_int_equal(rx_table_find(&t, 3), -1);
    assert_int_equal(rx_table_find(&t, 2), -1);
    assert_int_equal(rx_table_find(&t, 9), -1);
    assert_int_equal(rx_table_find_socket(&t, 52), -1);
    assert_int_equal(rx_table_find_socket(&t, 51), -1);
    assert_int_equal(rx_table_find_socket(&t, 58), -1);
    for (reactor_chn_t chn = 1; chn <= 10; chn++) {
        if (chn == 2 || chn == 3 || chn == 9)
            continue;
        int32_t slot = rx_table_find(&t, chn);
        assert_true(slot >= 0);
        assert_int_equal(t.rec[slot].sock, 50 + chn - 1);
    }
    rx_table_free(&t);
    assert_int_equal(f->alloc.live, 0);
}

static void swap_remove_keeps_number_and_socket_lookups_right(void **state)
{
    sup_loop *f = *state;
    rx_alloc a;
    rx_alloc_init(&a, &f->alloc.fn);
    rx_table t;
    rx_table_init(&t, &a);
    table__model *m = table__model_new();
    reactor_socket_t all[300];
    for (int i = 0; i < 300; i++)
        all[i] = 7 + 3 * i;
    srand(12345);
    for (int step = 0; step < 4000; step++) {
        reactor_socket_t s = all[rand() % 300];
        int32_t slot = rx_table_find_socket(&t, s);
        if (slot >= 0) {
            reactor_chn_t chn = t.rec[slot].chn;
            rx_table_remove(&t, (uint32_t)slot);
            m->sock_of[chn] = REACTOR_INVALID_SOCKET;
            m->live--;
        } else {
            reactor_chn_t chn = table__add(&t, s);
            assert_true(chn >= 1 && chn <= RX_CHN_MAX);
            assert_true(m->sock_of[chn] == REACTOR_INVALID_SOCKET);
            m->sock_of[chn] = s;
            m->live++;
        }
        if (step % 97 == 0)
            table__check(&t, m, all, 300);
    }
    table__check(&t, m, all, 300);
    free(m);
    rx_table_free(&t);
    assert_int_equal(f->alloc.live, 0);
}

/* The table's hash, copied here only to pick sockets that collide; if it changes, the test
 * still checks the table against the model, with less targeted clusters. */
static uint32_t table__home(reactor_socket_t sock, uint32_t mask)
{
    uint64_t h = (uint64_t)sock * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> 40) & mask;
}

static void socket_hash_survives_churn_with_colliding_sockets(void **state)
{
    sup_loop *f = *state;
    rx_alloc a;
    rx_alloc_init(&a, &f->alloc.fn);
    rx_table t;
    rx_table_init(&t, &a);
    table__add(&t, 1);
    uint32_t mask = t.hash_cap - 1;
    table__remove_chn(&t, 1);
    /* 48 sockets whose home buckets are the last two and the first of the table: clusters
     * that wrap around the end, where backward-shift deletion is easiest to get wrong. */
    reactor_socket_t all[48];
    size_t n = 0;
    for (reactor_socket_t s = 2; n < 48; s++) {
        uint32_t h = table__home(s, mask);
        if (h == mask || h == mask - 1 || h == 0)
            all[n++] = s;
    }
    table__model *m = table__model_new();
    srand(777);
    /* Stay at or below the live count that keeps the hash at this size. */
    uint32_t max_live = t.hash_cap / 2 - 1;
    for (int step = 0; step < 20000; step++) {
        reactor_socket_t s = all[rand() % 48];
        int32_t slot = rx_table_find_socket(&t, s);
        if (slot >= 0) {
            reactor_chn_t chn = t.rec[slot].chn;
            rx_table_remove(&t, (uint32_t)slot);
            m->sock_of[chn] = REACTOR_INVALID_SOCKET;
            m->live--;
        } else if (m->live < max_live) {
            reactor_chn_t chn = table__add(&t, s);
            m->sock_of[chn] = s;
            m->live++;
        }
        assert_int_equal(t.hash_cap, mask + 1);
        table__check(&t, m, all, 48);
    }
    free(m);
    rx_table_free(&t);
    assert_int_equal(f->alloc.live, 0);
}

/* What a failed reservation must leave alone. */
typedef struct table__view {
    uint32_t count;
    rx_id next;
    int32_t find[40];
    int32_t by_sock[40];
} table__view;

static void table__view_of(const rx_table *t, table__view *v, int have_room)
{
    memset(v, 0, sizeof *v);
    v->count = t->count;
    v->next = have_room ? rx_table_next_id(t) : 0;
    for (int i = 0; i < 40; i++) {
        v->find[i] = rx_table_find(t, (reactor_chn_t)i);
        v->by_sock[i] = rx_table_find_socket(t, 100 + i);
    }
}

static void table__fail_every_reserve_allocation(sup_loop *f, rx_table *t)
{
    table__view before, after;
    table__view_of(t, &before, 0);
    for (uint64_t k = 1;; k++) {
        sup_alloc_fail_nth(&f->alloc, k);
        uint64_t failures = f->alloc.failures;
        int err = rx_table_reserve(t);
        sup_alloc_fail_nth(&f->alloc, 0);
        table__view_of(t, &after, 0);
        assert_memory_equal(&before, &after, sizeof before);
        if (err == 0) {
            assert_int_equal(f->alloc.failures, failures);
            return;
        }
        assert_int_equal(err, REACTOR_ENOMEM);
        assert_int_equal(f->alloc.failures, failures + 1);
        assert_true(k < 10);
    }
}

static void failed_reserve_changes_nothing(void **state)
{
    sup_loop *f = *state;
    rx_alloc a;
    rx_alloc_init(&a, &f->alloc.fn);
    rx_table t;
    rx_table_init(&t, &a);
    /* Empty, at the first growth boundary, and with a free list. */
    for (int round = 0; round < 3; round++) {
        int target = round == 0 ? 0 : 16;
        while ((int)t.count < target)
            table__add(&t, 100 + (reactor_socket_t)t.count);
        if (round == 2) {
            table__remove_chn(&t, 4);
            table__remove_chn(&t, 16);
        }
        table__fail_every_reserve_allocation(f, &t);
        rx_id next = rx_table_next_id(&t);
        reactor_chn_t chn = table__add(&t, 99);
        assert_int_equal(chn, rx_id_chn(next));
        /* Round 1 released 17 before round 2 released 4 and 16: FIFO hands 17 out first. */
        assert_int_equal(chn, round == 0 ? 1 : 17);
        table__remove_chn(&t, chn);
    }
    rx_table_free(&t);
    assert_int_equal(f->alloc.live, 0);
    assert_int_equal(f->alloc.bytes, 0);
}

static void all_65534_numbers_then_enospc_and_fifo_reuse(void **state)
{
    sup_loop *f = *state;
    rx_alloc a;
    rx_alloc_init(&a, &f->alloc.fn);
    rx_table t;
    rx_table_init(&t, &a);
    for (uint32_t i = 1; i <= RX_CHN_MAX; i++)
        assert_int_equal(table__add(&t, (reactor_socket_t)(i * 2)), i);
    assert_int_equal(rx_table_reserve(&t), REACTOR_ENOSPC);
    assert_int_equal(t.count, RX_CHN_MAX);
    assert_int_equal(rx_table_find(&t, 65535), -1);
    assert_int_equal(rx_table_find(&t, 0), -1);
    table__remove_chn(&t, 40000);
    table__remove_chn(&t, 1);
    assert_int_equal(table__add(&t, 1), 40000);
    assert_int_equal(table__add(&t, 3), 1);
    assert_int_equal(rx_table_reserve(&t), REACTOR_ENOSPC);
    assert_int_equal(rx_table_find_socket(&t, 3), rx_table_find(&t, 1));
    assert_int_equal(rx_table_find_socket(&t, 2 * 65534), rx_table_find(&t, 65534));
    rx_table_free(&t);
    assert_int_equal(f->alloc.live, 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(numbers_start_at_one_and_count_up, sup_setup_bare,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(released_numbers_are_reused_first_in_first_out,
                                        sup_setup_bare, sup_teardown),
        cmocka_unit_test_setup_teardown(generation_advances_and_old_ids_are_rejected,
                                        sup_setup_bare, sup_teardown),
        cmocka_unit_test_setup_teardown(find_rejects_zero_max_never_used_and_released_numbers,
                                        sup_setup_bare, sup_teardown),
        cmocka_unit_test_setup_teardown(swap_remove_keeps_number_and_socket_lookups_right,
                                        sup_setup_bare, sup_teardown),
        cmocka_unit_test_setup_teardown(socket_hash_survives_churn_with_colliding_sockets,
                                        sup_setup_bare, sup_teardown),
        cmocka_unit_test_setup_teardown(failed_reserve_changes_nothing, sup_setup_bare,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(all_65534_numbers_then_enospc_and_fifo_reuse,
                                        sup_setup_bare, sup_teardown),
    };
    return sup_main(argc, argv, "unit.channel_table", tests, sizeof tests / sizeof tests[0], 0);
}
