/* test_timer_heap.c - order by (due, start order), stop from anywhere keeps the heap whole,
 * stale IDs are refused, repeat reschedules, slot reuse changes the generation, seq_limit. */
#include "fixture.h"
#include "timer_heap.h"

#include <stdlib.h>

static void heap__cb(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)r;
    (void)t;
    (void)arg;
}

typedef struct heap__env {
    rx_alloc a;
    rx_timers ts;
} heap__env;

static void heap__open(sup_loop *f, heap__env *e)
{
    rx_alloc_init(&e->a, &f->alloc.fn);
    rx_timers_init(&e->ts, &e->a);
}

static void heap__close(sup_loop *f, heap__env *e)
{
    rx_timers_free(&e->ts);
    assert_int_equal(f->alloc.live, 0);
    assert_int_equal(f->alloc.bytes, 0);
}

static reactor_timer_t heap__start(heap__env *e, uint64_t due, uint64_t repeat, void *arg)
{
    reactor_timer_t id = 0;
    assert_int_equal(rx_timers_start(&e->ts, due, repeat, heap__cb, arg, &id), 0);
    assert_true(id != 0);
    return id;
}

/* Every heap entry knows its index, and no child is earlier than its parent. */
static void heap__check(const rx_timers *ts)
{
    for (uint32_t i = 0; i < ts->len; i++) {
        const rx_timer *t = &ts->slots[ts->heap[i]];
        assert_int_equal(t->heap_index, i);
        if (i > 0) {
            const rx_timer *p = &ts->slots[ts->heap[(i - 1) / 2]];
            assert_true(p->due_ns < t->due_ns || (p->due_ns == t->due_ns && p->seq < t->seq));
        }
    }
}

typedef struct heap__fired {
    reactor_timer_t id;
    void *arg;
} heap__fired;

/* Expires everything due at now; returns how many fired. */
static size_t heap__drain(heap__env *e, uint64_t now, heap__fired *out, size_t cap)
{
    size_t n = 0;
    reactor_timer_t id;
    reactor_timer_cb cb;
    void *arg;
    while (rx_timers_expire(&e->ts, now, UINT64_MAX, &id, &cb, &arg)) {
        assert_ptr_equal(cb, heap__cb);
        assert_true(n < cap);
        out[n].id = id;
        out[n].arg = arg;
        n++;
    }
    return n;
}

static void expire_returns_timers_by_due_time_then_start_order(void **state)
{
    sup_loop *f = *state;
    heap__env e;
    heap__open(f, &e);
    enum { N = 500 };
    static uint64_t due[N];
    static heap__fired fired[N];
    srand(42);
    for (uintptr_t i = 0; i < N; i++) {
        due[i] = (uint64_t)(rand() % 50) * 1000u; /* many ties */
        heap__start(&e, due[i], 0, (void *)(i + 1));
    }
    heap__check(&e.ts);
    uint64_t min = UINT64_MAX;
    for (size_t i = 0; i < N; i++)
        min = due[i] < min ? due[i] : min;
    assert_int_equal(rx_timers_next_due(&e.ts), min);
    size_t n = heap__drain(&e, UINT64_MAX - 1, fired, N);
    assert_int_equal(n, N);
    for (size_t k = 1; k < N; k++) {
        uintptr_t prev = (uintptr_t)fired[k - 1].arg - 1, cur = (uintptr_t)fired[k].arg - 1;
        assert_true(due[prev] < due[cur] || (due[prev] == due[cur] && prev < cur));
    }
    assert_int_equal(rx_timers_next_due(&e.ts), UINT64_MAX);
    heap__close(f, &e);
}

static void next_due_is_the_earliest_and_nothing_fires_before_it(void **state)
{
    sup_loop *f = *state;
    heap__env e;
    heap__open(f, &e);
    heap__fired fired[4];
    assert_int_equal(rx_timers_next_due(&e.ts), UINT64_MAX);
    heap__start(&e, 300, 0, NULL);
    heap__start(&e, 100, 0, NULL);
    heap__start(&e, 200, 0, NULL);
    assert_int_equal(rx_timers_next_due(&e.ts), 100);
    assert_int_equal(heap__drain(&e, 99, fired, 4), 0);
    assert_int_equal(heap__drain(&e, 100, fired, 4), 1);
    assert_int_equal(rx_timers_next_due(&e.ts), 200);
    assert_int_equal(heap__drain(&e, 250, fired, 4), 1);
    assert_int_equal(e.ts.len, 1);
    heap__close(f, &e);
}

static void stop_from_anywhere_keeps_the_heap_and_the_order(void **state)
{
    sup_loop *f = *state;
    heap__env e;
    heap__open(f, &e);
    enum { N = 400 };
    static reactor_timer_t ids[N];
    static uint64_t due[N];
    static int stopped[N];
    static heap__fired fired[N];
    srand(4242);
    for (uintptr_t i = 0; i < N; i++) {
        due[i] = (uint64_t)(rand() % 1000);
        ids[i] = heap__start(&e, due[i], 0, (void *)i);
    }
    /* Stop every third, in a scrambled order: leaves, inner nodes and the root. */
    for (size_t k = 0; k < N; k++) {
        size_t i = (k * 7919) % N;
        if (i % 3)
            continue;
        assert_int_equal(rx_timers_stop(&e.ts, ids[i]), 0);
        stopped[i] = 1;
        heap__check(&e.ts);
    }
    size_t n = heap__drain(&e, UINT64_MAX - 1, fired, N);
    assert_int_equal(n, N - (N + 2) / 3);
    for (size_t k = 0; k < n; k++) {
        uintptr_t i = (uintptr_t)fired[k].arg;
        assert_false(stopped[i]);
        assert_int_equal(fired[k].id, ids[i]);
        if (k)
            assert_true(due[(uintptr_t)fired[k - 1].arg] <= due[i]);
    }
    heap__close(f, &e);
}

static void stop_of_the_root_promotes_the_next_earliest(void **state)
{
    sup_loop *f = *state;
    heap__env e;
    heap__open(f, &e);
    reactor_timer_t a = heap__start(&e, 10, 0, NULL);
    heap__start(&e, 30, 0, NULL);
    heap__start(&e, 20, 0, NULL);
    heap__start(&e, 40, 0, NULL);
    assert_int_equal(rx_timers_stop(&e.ts, a), 0);
    assert_int_equal(rx_timers_next_due(&e.ts), 20);
    heap__check(&e.ts);
    heap__close(f, &e);
}

static void stale_stopped_expired_and_forged_ids_are_ebadtimer(void **state)
{
    sup_loop *f = *state;
    heap__env e;
    heap__open(f, &e);
    heap__fired fired[2];
    reactor_timer_t live = heap__start(&e, 1000, 0, NULL);
    reactor_timer_t stopped = heap__start(&e, 1000, 0, NULL);
    reactor_timer_t expired = heap__start(&e, 5, 0, NULL);
    assert_int_equal(rx_timers_stop(&e.ts, stopped), 0);
    assert_int_equal(heap__drain(&e, 10, fired, 2), 1);
    assert_int_equal(fired[0].id, expired);
    const reactor_timer_t bad[] = {
        0,
        stopped,
        expired,
        live ^ (1ull << 32),            /* right slot, wrong generation */
        (live & ~0xFFFFFFFFull),        /* generation only, slot 0 */
        (live & ~0xFFFFFFFFull) | 1000, /* never issued slot */
        (live & ~0xFFFFFFFFull) | 0xFFFFFFFFu,
        UINT64_MAX,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(rx_timers_stop(&e.ts, bad[i]), REACTOR_EBADTIMER);
        assert_int_equal(e.ts.len, 1);
    }
    assert_int_equal(rx_timers_stop(&e.ts, stopped), REACTOR_EBADTIMER);
    assert_int_equal(rx_timers_stop(&e.ts, live), 0);
    assert_int_equal(rx_timers_stop(&e.ts, live), REACTOR_EBADTIMER);
    assert_int_equal(e.ts.len, 0);
    heap__close(f, &e);
}

static void repeat_timer_is_rescheduled_at_now_plus_period(void **state)
{
    sup_loop *f = *state;
    heap__env e;
    heap__open(f, &e);
    heap__fired fired[2];
    reactor_timer_t id = heap__start(&e, 100, 50, NULL);
    assert_int_equal(heap__drain(&e, 120, fired, 2), 1);
    assert_int_equal(fired[0].id, id);
    assert_int_equal(rx_timers_next_due(&e.ts), 170);
    assert_int_equal(heap__drain(&e, 169, fired, 2), 0);
    assert_int_equal(heap__drain(&e, 170, fired, 2), 1);
    assert_int_equal(fired[0].id, id);
    assert_int_equal(rx_timers_next_due(&e.ts), 220);
    /* Still the same timer, still stoppable. */
    assert_int_equal(rx_timers_stop(&e.ts, id), 0);
    assert_int_equal(rx_timers_next_due(&e.ts), UINT64_MAX);
    heap__close(f, &e);
}

static void repeat_near_the_end_of_time_saturates(void **state)
{
    sup_loop *f = *state;
    heap__env e;
    heap__open(f, &e);
    heap__fired fired[2];
    reactor_timer_t id = heap__start(&e, 10, UINT64_MAX - 5, NULL);
    assert_int_equal(heap__drain(&e, 20, fired, 2), 1);
    assert_int_equal(rx_timers_next_due(&e.ts), UINT64_MAX);
    assert_int_equal(rx_timers_stop(&e.ts, id), 0);
    heap__close(f, &e);
}

static void reused_slot_gets_a_new_generation(void **state)
{
    sup_loop *f = *state;
    heap__env e;
    heap__open(f, &e);
    heap__fired fired[2];
    reactor_timer_t a = heap__start(&e, 10, 0, NULL);
    assert_int_equal(rx_timers_stop(&e.ts, a), 0);
    reactor_timer_t b = heap__start(&e, 10, 0, NULL);
    assert_int_equal(b & 0xFFFFFFFFu, a & 0xFFFFFFFFu);
    assert_true(b != a);
    assert_int_equal(rx_timers_stop(&e.ts, a), REACTOR_EBADTIMER);
    assert_int_equal(e.ts.len, 1);
    /* Expiry releases the slot too. */
    assert_int_equal(heap__drain(&e, 10, fired, 2), 1);
    reactor_timer_t c = heap__start(&e, 10, 0, NULL);
    assert_int_equal(c & 0xFFFFFFFFu, a & 0xFFFFFFFFu);
    assert_true(c != a && c != b);
    assert_int_equal(rx_timers_stop(&e.ts, b), REACTOR_EBADTIMER);
    assert_int_equal(rx_timers_stop(&e.ts, c), 0);
    heap__close(f, &e);
}

static void timers_started_at_or_after_seq_limit_wait_for_the_next_pass(void **state)
{
    sup_loop *f = *state;
    heap__env e;
    heap__open(f, &e);
    reactor_timer_t id;
    reactor_timer_cb cb;
    void *arg;
    reactor_timer_t a = heap__start(&e, 10, 0, NULL);
    uint64_t limit = rx_timers_seq(&e.ts);
    /* Started "during the pass": due as early as a, but later in start order. */
    reactor_timer_t b = heap__start(&e, 10, 0, NULL);
    assert_int_equal(rx_timers_expire(&e.ts, 100, limit, &id, &cb, &arg), 1);
    assert_int_equal(id, a);
    assert_int_equal(rx_timers_expire(&e.ts, 100, limit, &id, &cb, &arg), 0);
    assert_int_equal(e.ts.len, 1);
    assert_int_equal(rx_timers_expire(&e.ts, 100, rx_timers_seq(&e.ts), &id, &cb, &arg), 1);
    assert_int_equal(id, b);
    /* A repeating timer is rescheduled with a fresh sequence: one fire per pass at most. */
    reactor_timer_t r = heap__start(&e, 10, 1, NULL);
    limit = rx_timers_seq(&e.ts);
    assert_int_equal(rx_timers_expire(&e.ts, 100, limit, &id, &cb, &arg), 1);
    assert_int_equal(id, r);
    assert_int_equal(rx_timers_expire(&e.ts, 1000, limit, &id, &cb, &arg), 0);
    assert_int_equal(rx_timers_expire(&e.ts, 1000, rx_timers_seq(&e.ts), &id, &cb, &arg), 1);
    assert_int_equal(id, r);
    heap__close(f, &e);
}

static void failed_start_changes_nothing(void **state)
{
    sup_loop *f = *state;
    heap__env e;
    heap__open(f, &e);
    /* Empty (first growth of both arrays) and full at the minimum capacity. */
    for (int round = 0; round < 2; round++) {
        while (round == 1 && e.ts.used < 16)
            heap__start(&e, 500 + e.ts.used, 0, NULL);
        uint32_t len = e.ts.len;
        uint64_t next_due = rx_timers_next_due(&e.ts);
        uint64_t seq = rx_timers_seq(&e.ts);
        uint64_t k;
        for (k = 1;; k++) {
            reactor_timer_t id = 12345;
            sup_alloc_fail_nth(&f->alloc, k);
            int err = rx_timers_start(&e.ts, 1, 0, heap__cb, NULL, &id);
            sup_alloc_fail_nth(&f->alloc, 0);
            if (err == 0)
                break;
            assert_int_equal(err, REACTOR_ENOMEM);
            assert_int_equal(id, 12345);
            assert_int_equal(e.ts.len, len);
            assert_int_equal(rx_timers_next_due(&e.ts), next_due);
            assert_int_equal(rx_timers_seq(&e.ts), seq);
            heap__check(&e.ts);
            assert_true(k < 10);
        }
        assert_true(k > 1); /* at least one allocation was there to fail */
        assert_int_equal(e.ts.len, len + 1);
        assert_int_equal(rx_timers_next_due(&e.ts), 1);
        heap__check(&e.ts);
    }
    heap__close(f, &e);
}

static void free_with_live_timers_releases_everything(void **state)
{
    sup_loop *f = *state;
    heap__env e;
    heap__open(f, &e);
    for (int i = 0; i < 1000; i++)
        heap__start(&e, (uint64_t)i, (uint64_t)(i % 3), NULL);
    assert_true(f->alloc.live > 0);
    heap__close(f, &e);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(expire_returns_timers_by_due_time_then_start_order,
                                        sup_setup_bare, sup_teardown),
        cmocka_unit_test_setup_teardown(next_due_is_the_earliest_and_nothing_fires_before_it,
                                        sup_setup_bare, sup_teardown),
        cmocka_unit_test_setup_teardown(stop_from_anywhere_keeps_the_heap_and_the_order,
                                        sup_setup_bare, sup_teardown),
        cmocka_unit_test_setup_teardown(stop_of_the_root_promotes_the_next_earliest, sup_setup_bare,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(stale_stopped_expired_and_forged_ids_are_ebadtimer,
                                        sup_setup_bare, sup_teardown),
        cmocka_unit_test_setup_teardown(repeat_timer_is_rescheduled_at_now_plus_period,
                                        sup_setup_bare, sup_teardown),
        cmocka_unit_test_setup_teardown(repeat_near_the_end_of_time_saturates, sup_setup_bare,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(reused_slot_gets_a_new_generation, sup_setup_bare,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(timers_started_at_or_after_seq_limit_wait_for_the_next_pass,
                                        sup_setup_bare, sup_teardown),
        cmocka_unit_test_setup_teardown(failed_start_changes_nothing, sup_setup_bare, sup_teardown),
        cmocka_unit_test_setup_teardown(free_with_live_timers_releases_everything, sup_setup_bare,
                                        sup_teardown),
    };
    return sup_main(argc, argv, "unit.timer_heap", tests, sizeof tests / sizeof tests[0], 0);
}
