/* test_timer_heap.c - order by (due, start order), stop from anywhere keeps the heap whole,
 * stale IDs are refused, repeat reschedules, slot reuse changes the generation, seq_limit,
 * stamps renumbered before they wrap; and random operations checked against a reference. */
#include "fixture.h"
#include "timer_heap.h"

#include <stdlib.h>
#include <string.h>

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

/* Every heap node knows its index, no child is earlier than its parent, stamps order ties as
 * start order does, and the root's children (so every group of siblings) start on a 64-byte
 * line. */
static void heap__check(const rx_timers *ts)
{
    if (ts->len > 1)
        assert_int_equal((uintptr_t)&ts->heap[1] % 64, 0);
    for (uint32_t i = 0; i < ts->len; i++) {
        const rx_timer_node *t = &ts->heap[i];
        assert_true(t->slot < ts->used);
        assert_int_equal(ts->slots[t->slot].link, i);
        assert_true(t->stamp < ts->next_stamp);
        if (i > 0) {
            const rx_timer_node *p = &ts->heap[(i - 1) / 4];
            assert_true(p->due_ns < t->due_ns || (p->due_ns == t->due_ns && p->stamp < t->stamp));
            if (p->due_ns == t->due_ns)
                assert_true(ts->slots[p->slot].seq < ts->slots[t->slot].seq);
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

/* ---- property tests: random start / stop / expire sequences against a reference ---- */

typedef struct ref__timer {
    reactor_timer_t id;
    uint64_t due, seq, repeat;
    uintptr_t tag;
} ref__timer;

enum { REF__MAX = 300, REF__STALE = 64 };

/* The reference: live timers in an unordered array; the earliest is found by a scan. */
typedef struct ref__model {
    ref__timer t[REF__MAX];
    size_t n;
    uint64_t seq; /* mirrors rx_timers_seq */
    reactor_timer_t stale[REF__STALE];
    size_t nstale;
    uintptr_t next_tag;
    uint64_t rng;
} ref__model;

static uint64_t ref__rand(ref__model *m)
{
    m->rng ^= m->rng << 13;
    m->rng ^= m->rng >> 7;
    m->rng ^= m->rng << 17;
    return m->rng;
}

static size_t ref__earliest(const ref__model *m)
{
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < m->n; i++)
        if (best == SIZE_MAX || m->t[i].due < m->t[best].due ||
            (m->t[i].due == m->t[best].due && m->t[i].seq < m->t[best].seq))
            best = i;
    return best;
}

static void ref__retire(ref__model *m, size_t i)
{
    m->stale[m->nstale++ % REF__STALE] = m->t[i].id;
    m->t[i] = m->t[--m->n];
}

static void ref__agree(const heap__env *e, const ref__model *m)
{
    heap__check(&e->ts);
    assert_int_equal(e->ts.len, m->n);
    assert_int_equal(rx_timers_seq(&e->ts), m->seq);
    size_t best = ref__earliest(m);
    assert_int_equal(rx_timers_next_due(&e->ts), best == SIZE_MAX ? UINT64_MAX : m->t[best].due);
}

static void ref__start(heap__env *e, ref__model *m, uint64_t now)
{
    if (m->n == REF__MAX)
        return;
    uint64_t r = ref__rand(m);
    ref__timer *t = &m->t[m->n];
    /* Dues from a narrow window, so ties on due are common; now and then one far away. */
    t->due = r % 16 == 0 ? UINT64_MAX - (r >> 60) : now + (r >> 8) % 6;
    t->repeat = r % 5 == 0 ? 1 + (r >> 20) % 4 : (r % 97 == 0 ? UINT64_MAX - 3 : 0);
    t->tag = ++m->next_tag;
    t->seq = m->seq++;
    t->id = heap__start(e, t->due, t->repeat, (void *)t->tag);
    for (size_t i = 0; i < m->n; i++)
        assert_true(m->t[i].id != t->id);
    m->n++;
}

static void ref__stop(heap__env *e, ref__model *m)
{
    uint64_t r = ref__rand(m);
    if (m->n && r % 3) {
        size_t i = (size_t)((r >> 8) % m->n);
        assert_int_equal(rx_timers_stop(&e->ts, m->t[i].id), 0);
        ref__retire(m, i);
    } else if (m->nstale) {
        /* Stopped or expired: refused, even when a newer timer reuses the slot. */
        size_t k = (size_t)((r >> 8) % (m->nstale < REF__STALE ? m->nstale : REF__STALE));
        assert_int_equal(rx_timers_stop(&e->ts, m->stale[k]), REACTOR_EBADTIMER);
    }
}

/* One timer pass as loop.c runs it: the limit is taken first; between expiries the
 * "callbacks" start and stop timers. */
static void ref__pass(heap__env *e, ref__model *m, uint64_t now)
{
    uint64_t limit = rx_timers_seq(&e->ts);
    assert_int_equal(limit, m->seq);
    for (;;) {
        size_t best = ref__earliest(m);
        int due = best != SIZE_MAX && m->t[best].due <= now && m->t[best].seq < limit;
        reactor_timer_t id;
        reactor_timer_cb cb;
        void *arg;
        int got = rx_timers_expire(&e->ts, now, limit, &id, &cb, &arg);
        assert_int_equal(got, due);
        if (!got)
            break;
        ref__timer *t = &m->t[best];
        assert_int_equal(id, t->id);
        assert_ptr_equal(cb, heap__cb);
        assert_int_equal((uintptr_t)arg, t->tag);
        assert_true(t->due <= now); /* never early */
        if (t->repeat) {
            t->due = now + t->repeat < now ? UINT64_MAX : now + t->repeat;
            t->seq = m->seq++;
        } else {
            ref__retire(m, best);
        }
        uint64_t r = ref__rand(m);
        if (r % 4 == 0)
            ref__start(e, m, now);
        else if (r % 4 == 1)
            ref__stop(e, m);
    }
}

static void ref__run(sup_loop *f, uint64_t seed, int steps)
{
    heap__env e;
    heap__open(f, &e);
    static ref__model m;
    memset(&m, 0, sizeof m);
    m.rng = seed;
    m.seq = rx_timers_seq(&e.ts);
    uint64_t now = 1000;
    for (int step = 0; step < steps; step++) {
        uint64_t r = ref__rand(&m);
        /* Phases that fill up and drain, so the heap grows, shrinks and reuses slots. */
        int filling = (step / 500) % 2 == 0;
        switch (r % 8) {
        case 0:
        case 1:
        case 2:
            ref__start(&e, &m, now);
            if (filling)
                ref__start(&e, &m, now);
            break;
        case 3:
        case 4:
            ref__stop(&e, &m);
            break;
        default:
            now += (r >> 8) % 4;
            ref__pass(&e, &m, now);
            if (!filling)
                ref__stop(&e, &m);
            break;
        }
        if (step % 8 == 0)
            ref__agree(&e, &m);
        if (step % 700 == 350) /* stamps about to wrap: the live ones get renumbered soon */
            e.ts.next_stamp = UINT32_MAX - (uint32_t)(ref__rand(&m) % 40);
    }
    ref__agree(&e, &m);
    while (m.n) {
        assert_int_equal(rx_timers_stop(&e.ts, m.t[m.n - 1].id), 0);
        ref__retire(&m, m.n - 1);
    }
    ref__agree(&e, &m);
    heap__close(f, &e);
}

static void random_operations_agree_with_a_sorted_reference(void **state)
{
    sup_loop *f = *state;
    static const uint64_t seeds[] = {1, 2, 3, 0x9E3779B97F4A7C15ull, 12345, 777, 4242, 31337};
    for (size_t k = 0; k < sizeof seeds / sizeof seeds[0]; k++)
        ref__run(f, seeds[k], 6000);
}

static void stop_and_start_in_steady_state_never_allocate(void **state)
{
    sup_loop *f = *state;
    heap__env e;
    heap__open(f, &e);
    enum { N = 1000 };
    static reactor_timer_t ids[N];
    uint64_t rng = 99;
    for (int i = 0; i < N; i++)
        ids[i] = heap__start(&e, 1000 + (uint64_t)i * 7 % 500, i % 7 == 0 ? 3 : 0, NULL);
    uint64_t total = e.a.total, calls = f->alloc.calls;
    for (int k = 0; k < 20000; k++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        size_t i = (size_t)(rng % N);
        assert_int_equal(rx_timers_stop(&e.ts, ids[i]), 0);
        ids[i] = heap__start(&e, 1000 + (rng >> 32) % 500, (rng >> 16) % 7 == 0 ? 3 : 0, NULL);
    }
    /* Repeating timers rescheduled by expiry do not allocate either. */
    reactor_timer_t id;
    reactor_timer_cb cb;
    void *arg;
    uint64_t limit = rx_timers_seq(&e.ts);
    while (rx_timers_expire(&e.ts, 1200, limit, &id, &cb, &arg))
        ;
    assert_int_equal(e.a.total, total);
    assert_int_equal(f->alloc.calls, calls);
    heap__check(&e.ts);
    heap__close(f, &e);
}

static void stamps_are_renumbered_before_they_wrap_and_keep_the_order(void **state)
{
    sup_loop *f = *state;
    heap__env e;
    heap__open(f, &e);
    enum { N = 200 };
    static reactor_timer_t ids[N];
    static heap__fired fired[N];
    for (uintptr_t i = 0; i < N; i++) {
        if (i == N / 2)
            e.ts.next_stamp = UINT32_MAX - 3; /* wraps (renumbers) within the next four starts */
        ids[i] = heap__start(&e, (uint64_t)(i * 7 % 5), 0, (void *)i);
        heap__check(&e.ts);
    }
    assert_true(e.ts.next_stamp < N + 1);
    /* Stop some from the middle, then expire: due order, ties in start order. */
    for (size_t i = 0; i < N; i += 9)
        assert_int_equal(rx_timers_stop(&e.ts, ids[i]), 0);
    size_t n = heap__drain(&e, 10, fired, N);
    assert_int_equal(n, N - (N + 8) / 9);
    for (size_t k = 1; k < n; k++) {
        uintptr_t a = (uintptr_t)fired[k - 1].arg, b = (uintptr_t)fired[k].arg;
        assert_true(a * 7 % 5 < b * 7 % 5 || (a * 7 % 5 == b * 7 % 5 && a < b));
    }
    /* A repeating timer's reschedule takes a stamp too: renumbering with it at the root. */
    reactor_timer_t r = heap__start(&e, 1, 5, NULL);
    heap__start(&e, 6, 0, NULL);
    heap__start(&e, 6, 0, NULL);
    e.ts.next_stamp = UINT32_MAX;
    assert_int_equal(heap__drain(&e, 1, fired, N), 1);
    assert_int_equal(fired[0].id, r);
    heap__check(&e.ts);
    assert_int_equal(heap__drain(&e, 6, fired, N), 3);
    assert_int_equal(fired[2].id, r); /* due 6 too, but rescheduled after the two started */
    assert_int_equal(rx_timers_stop(&e.ts, r), 0);
    heap__close(f, &e);
}

static void generation_wraps_to_one_and_the_old_id_stays_stale(void **state)
{
    sup_loop *f = *state;
    heap__env e;
    heap__open(f, &e);
    reactor_timer_t a = heap__start(&e, 10, 0, NULL);
    uint32_t slot = (uint32_t)(a & 0xFFFFFFFFu) - 1;
    e.ts.slots[slot].gen = UINT32_MAX; /* as if the slot had been reused 2^32 - 2 times */
    reactor_timer_t old = ((reactor_timer_t)UINT32_MAX << 32) | (slot + 1);
    assert_int_equal(rx_timers_stop(&e.ts, a), REACTOR_EBADTIMER);
    assert_int_equal(rx_timers_stop(&e.ts, old), 0);
    reactor_timer_t b = heap__start(&e, 10, 0, NULL);
    assert_int_equal(b, ((reactor_timer_t)1 << 32) | (slot + 1));
    assert_int_equal(rx_timers_stop(&e.ts, old), REACTOR_EBADTIMER);
    assert_int_equal(rx_timers_stop(&e.ts, b), 0);
    heap__close(f, &e);
}

static void slot_limit_is_enomem_and_changes_nothing(void **state)
{
    sup_loop *f = *state;
    heap__env e;
    heap__open(f, &e);
    reactor_timer_t a = heap__start(&e, 10, 0, NULL);
    while (e.ts.used < e.ts.heap_cap)
        heap__start(&e, 20, 0, NULL);
    uint32_t used = e.ts.used, len = e.ts.len;
    e.ts.used = RX_TIMERS_MAX; /* pretend: no slot is free and none can be added */
    reactor_timer_t id = 7;
    assert_int_equal(rx_timers_start(&e.ts, 5, 0, heap__cb, NULL, &id), REACTOR_ENOMEM);
    assert_int_equal(id, 7);
    e.ts.used = used;
    assert_int_equal(e.ts.len, len);
    assert_int_equal(rx_timers_next_due(&e.ts), 10);
    assert_int_equal(rx_timers_stop(&e.ts, a), 0);
    heap__check(&e.ts);
    heap__close(f, &e);
}

/* An allocator whose blocks start 0, 16, 32 or 48 bytes past a 64-byte line, a different
 * offset on every call, and whose realloc always moves: the heap must re-align its nodes. */
typedef struct shift__alloc {
    reactor_allocator_t fn;
    unsigned turn;
    uint64_t live;
} shift__alloc;

typedef struct shift__hdr {
    void *raw;
    size_t size;
} shift__hdr;

static void *shift__malloc(void *ctx, size_t size)
{
    shift__alloc *a = ctx;
    char *raw = malloc(size + 64 + 64 + sizeof(shift__hdr));
    if (!raw)
        return NULL;
    uintptr_t base = ((uintptr_t)raw + sizeof(shift__hdr) + 63) & ~(uintptr_t)63;
    char *p = (char *)raw + (base - (uintptr_t)raw) + 16 * (a->turn++ % 4);
    if ((size_t)(p - raw) < sizeof(shift__hdr))
        p += 64;
    shift__hdr *h = (shift__hdr *)(void *)(p - sizeof(shift__hdr));
    h->raw = raw;
    h->size = size;
    a->live++;
    return p;
}

static void shift__free(void *ctx, void *p)
{
    shift__alloc *a = ctx;
    shift__hdr *h = (shift__hdr *)p - 1;
    a->live--;
    free(h->raw);
}

static void *shift__realloc(void *ctx, void *p, size_t size)
{
    shift__hdr *h = (shift__hdr *)p - 1;
    void *q = shift__malloc(ctx, size);
    if (!q)
        return NULL;
    memcpy(q, p, h->size < size ? h->size : size);
    shift__free(ctx, p);
    return q;
}

static void growth_on_any_block_alignment_keeps_the_heap(void **state)
{
    (void)state;
    shift__alloc sa = {{shift__malloc, shift__realloc, shift__free, NULL}, 0, 0};
    sa.fn.ctx = &sa;
    rx_alloc a;
    rx_alloc_init(&a, &sa.fn);
    rx_timers ts;
    rx_timers_init(&ts, &a);
    enum { N = 3000 };
    static reactor_timer_t ids[N];
    for (uint32_t i = 0; i < N; i++) {
        assert_int_equal(rx_timers_start(&ts, (i * 7919u) % 1000, 0, heap__cb, (void *)(uintptr_t)i,
                                         &ids[i]),
                         0);
        if ((i & (i - 1)) == 0 || i % 97 == 0)
            heap__check(&ts);
    }
    heap__check(&ts);
    for (uint32_t i = 0; i < N; i += 3)
        assert_int_equal(rx_timers_stop(&ts, ids[i]), 0);
    heap__check(&ts);
    uint64_t last = 0;
    reactor_timer_t id;
    reactor_timer_cb cb;
    void *arg;
    size_t n = 0;
    while (rx_timers_expire(&ts, UINT64_MAX - 1, UINT64_MAX, &id, &cb, &arg)) {
        uint32_t i = (uint32_t)(uintptr_t)arg;
        assert_true(i % 3 != 0);
        assert_int_equal(id, ids[i]);
        assert_true((i * 7919u) % 1000 >= last);
        last = (i * 7919u) % 1000;
        n++;
    }
    assert_int_equal(n, N - (N + 2) / 3);
    rx_timers_free(&ts);
    assert_int_equal(sa.live, 0);
    assert_int_equal(a.bytes, 0);
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
        cmocka_unit_test_setup_teardown(random_operations_agree_with_a_sorted_reference,
                                        sup_setup_bare, sup_teardown),
        cmocka_unit_test_setup_teardown(stop_and_start_in_steady_state_never_allocate,
                                        sup_setup_bare, sup_teardown),
        cmocka_unit_test_setup_teardown(stamps_are_renumbered_before_they_wrap_and_keep_the_order,
                                        sup_setup_bare, sup_teardown),
        cmocka_unit_test_setup_teardown(generation_wraps_to_one_and_the_old_id_stays_stale,
                                        sup_setup_bare, sup_teardown),
        cmocka_unit_test_setup_teardown(slot_limit_is_enomem_and_changes_nothing, sup_setup_bare,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(growth_on_any_block_alignment_keeps_the_heap,
                                        sup_setup_bare, sup_teardown),
    };
    return sup_main(argc, argv, "unit.timer_heap", tests, sizeof tests / sizeof tests[0], 0);
}
