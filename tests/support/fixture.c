/* fixture.c - shared test world: backend selection, counting loop, tracked sockets, waits. */
#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fixture__backend = REACTOR_BACKEND_DEFAULT;
static const char *fixture__backend_arg = "default";

static const struct {
    const char *name;
    int backend;
} fixture__backends[] = {
    {"default", REACTOR_BACKEND_DEFAULT},
    {"poll", REACTOR_BACKEND_POLL},
    {"epoll", REACTOR_BACKEND_EPOLL},
    {"afd", REACTOR_BACKEND_AFD},
};

int sup_backend(void)
{
    return fixture__backend;
}

const char *sup_backend_arg(void)
{
    return fixture__backend_arg;
}

int sup_foreign_backend(void)
{
#if defined(_WIN32)
    return REACTOR_BACKEND_EPOLL;
#else
    return REACTOR_BACKEND_AFD;
#endif
}

int sup_main(int argc, char **argv, const char *group, const struct CMUnitTest *tests, size_t n,
             int per_backend)
{
    int arg = 1;
    if (per_backend) {
        if (argc < 2) {
            fprintf(stderr, "usage: %s poll|epoll|afd|default [case]\n", argv[0]);
            return 2;
        }
        size_t i;
        for (i = 0; i < sizeof fixture__backends / sizeof fixture__backends[0]; i++)
            if (strcmp(argv[1], fixture__backends[i].name) == 0)
                break;
        if (i == sizeof fixture__backends / sizeof fixture__backends[0]) {
            fprintf(stderr, "unknown backend %s\n", argv[1]);
            return 2;
        }
        fixture__backend = fixture__backends[i].backend;
        fixture__backend_arg = fixture__backends[i].name;
        arg = 2;
    }
    if (sup_sock_startup() != 0) {
        fprintf(stderr, "socket start-up failed\n");
        return 2;
    }
    sup_mark_loop_thread();
    if (argc > arg) {
        for (size_t i = 0; i < n; i++) {
            if (tests[i].name && strcmp(tests[i].name, argv[arg]) == 0)
                return _cmocka_run_group_tests(group, &tests[i], 1, NULL, NULL);
        }
        fprintf(stderr, "%s: no test named %s\n", group, argv[arg]);
        return 2;
    }
    return _cmocka_run_group_tests(group, tests, n, NULL, NULL);
}

int sup_setup_bare(void **state)
{
    sup_loop *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    sup_alloc_init(&f->alloc);
    *state = f;
    return 0;
}

int sup_setup(void **state)
{
    if (sup_setup_bare(state) != 0)
        return -1;
    sup_loop *f = *state;
    reactor_options_t opts;
    memset(&opts, 0, sizeof opts);
    opts.backend = sup_backend();
    opts.allocator = &f->alloc.fn;
    int err = reactor_create(&f->r, &opts);
    if (err) {
        fprintf(stderr, "reactor_create(%s): %s\n", sup_backend_arg(), reactor_strerror(err));
        return -1;
    }
    return 0;
}

int sup_teardown(void **state)
{
    sup_loop *f = *state;
    if (!f)
        return 0;
    int bad = 0;
    if (f->r) {
        reactor_destroy(f->r);
        f->r = NULL;
    }
    if (f->alloc.live || f->alloc.bytes) {
        fprintf(stderr, "leak: %llu blocks, %llu bytes live after reactor_destroy\n",
                (unsigned long long)f->alloc.live, (unsigned long long)f->alloc.bytes);
        bad = 1;
    }
    for (size_t i = 0; i < f->nsocks; i++)
        sup_close(f->socks[i]);
    free(f->socks);
    free(f);
    *state = NULL;
    return bad ? -1 : 0;
}

void sup_loop_open(sup_loop *f, reactor_wakeup_cb on_wakeup, void *arg)
{
    if (f->r)
        sup_loop_close(f);
    reactor_options_t opts;
    memset(&opts, 0, sizeof opts);
    opts.backend = sup_backend();
    opts.allocator = &f->alloc.fn;
    opts.on_wakeup = on_wakeup;
    opts.wakeup_arg = arg;
    assert_int_equal(reactor_create(&f->r, &opts), 0);
}

void sup_loop_close(sup_loop *f)
{
    reactor_destroy(f->r);
    f->r = NULL;
    assert_int_equal(f->alloc.live, 0);
    assert_int_equal(f->alloc.bytes, 0);
}

void sup_track(sup_loop *f, reactor_socket_t s)
{
    if (f->nsocks == f->sock_cap) {
        size_t cap = f->sock_cap ? f->sock_cap * 2 : 16;
        reactor_socket_t *p = realloc(f->socks, cap * sizeof *p);
        assert_non_null(p);
        f->socks = p;
        f->sock_cap = cap;
    }
    f->socks[f->nsocks++] = s;
}

void sup_close_now(sup_loop *f, reactor_socket_t s)
{
    for (size_t i = 0; i < f->nsocks; i++) {
        if (f->socks[i] == s) {
            f->socks[i] = f->socks[--f->nsocks];
            sup_close(s);
            return;
        }
    }
    fail_msg("closing a socket the fixture does not own");
}

void sup_new_pair(sup_loop *f, reactor_socket_t out[2])
{
    assert_int_equal(sup_pair(out), 0);
    sup_track(f, out[0]);
    sup_track(f, out[1]);
}

void sup_new_tcp_pair(sup_loop *f, reactor_socket_t out[2])
{
    assert_int_equal(sup_tcp_pair(out), 0);
    sup_track(f, out[0]);
    sup_track(f, out[1]);
}

void sup_send_byte(reactor_socket_t s)
{
    assert_int_equal(sup_send(s, "x", 1), 1);
}

static void fixture__deadline(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)r;
    (void)t;
    *(int *)arg = 1;
}

int sup_run_until(sup_loop *f, int (*cond)(void *ctx), void *ctx, uint64_t timeout_ms)
{
    int expired = 0;
    reactor_timer_t deadline;
    assert_int_equal(reactor_timer_start(f->r, timeout_ms, 0, fixture__deadline, &expired,
                                         &deadline),
                     0);
    while (!cond(ctx) && !expired) {
        int rc = reactor_run(f->r, REACTOR_RUN_ONCE);
        if (rc < 0)
            fail_msg("reactor_run: %s", reactor_err_name(rc));
    }
    if (!expired)
        assert_int_equal(reactor_timer_stop(f->r, deadline), 0);
    /* Reached only when the deadline fired is not reached in time: a lost wake-up or event
     * would otherwise pass, late, in the iteration the deadline ended. */
    return cond(ctx) && !expired;
}

typedef struct fixture__count {
    const int *counter;
    int target;
} fixture__count;

static int fixture__count_reached(void *ctx)
{
    const fixture__count *c = ctx;
    return *c->counter >= c->target;
}

int sup_run_until_count(sup_loop *f, const int *counter, int target, uint64_t timeout_ms)
{
    fixture__count c = {counter, target};
    return sup_run_until(f, fixture__count_reached, &c, timeout_ms);
}

reactor_stats_t sup_stats(const sup_loop *f)
{
    reactor_stats_t s;
    assert_int_equal(reactor_stats(f->r, &s), 0);
    return s;
}

void sup_probe_cb(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    (void)r;
    sup_probe *p = arg;
    p->calls++;
    p->events |= events;
    p->last = events;
    p->chn = chn;
}

void sup_count_wakeup(reactor_t *r, void *arg)
{
    (void)r;
    (*(int *)arg)++;
}

void sup_assert_loop_works(sup_loop *f)
{
    reactor_socket_t sv[2];
    assert_int_equal(sup_pair(sv), 0);
    sup_probe p = {0, 0, 0, 0};
    reactor_chn_t chn = 0;
    assert_int_equal(reactor_add(f->r, sv[0], REACTOR_READABLE, sup_probe_cb, &p, &chn), 0);
    sup_send_byte(sv[1]);
    int ok = sup_run_until_count(f, &p.calls, 1, SUP_WAIT_MS);
    int removed = reactor_remove(f->r, chn);
    sup_close(sv[0]);
    sup_close(sv[1]);
    assert_true(ok);
    assert_int_equal(removed, 0);
    assert_int_equal(p.chn, chn);
    assert_true(p.events & REACTOR_READABLE);
}
