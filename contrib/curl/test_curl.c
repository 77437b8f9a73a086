/* test_curl.c - reactor_curl against a real HTTP server on loopback: python3's http.server
 * (http_server.c), started by the group set-up and killed and reaped by the group tear-down.
 * Every body is compared byte for byte; every case ends with the adapter and the loop
 * destroyed, no channel or timer left and no live allocation.
 *
 *   test_contrib_curl [poll|epoll|default] [case]
 */
#include "http_server.h"
#include "reactor_curl.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>

#include <cmocka.h>

#define DEADLINE_MS 45000

#ifndef REACTOR_CURL_PYTHON
#define REACTOR_CURL_PYTHON "/usr/bin/python3"
#endif

/* The files served; the last is the large one. */
static const size_t file_sizes[] = {0, 1, 1000, 65537, 300007, 3u * 1024 * 1024 + 7};
#define NFILES (sizeof file_sizes / sizeof file_sizes[0])
#define BIG (NFILES - 1)

static hs_server srv;
static int backend = REACTOR_BACKEND_DEFAULT;

static int group_teardown(void **state)
{
    (void)state;
    hs_stop(&srv);
    curl_global_cleanup();
    return 0;
}

static int group_setup(void **state)
{
    uint64_t seed = (uint64_t)time(NULL) * 2654435761u ^ (uint64_t)getpid();
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    signal(SIGPIPE, SIG_IGN);
    print_message("seed %llu\n", (unsigned long long)seed);
    if (hs_start(&srv, REACTOR_CURL_PYTHON, file_sizes, NFILES, seed) != 0) {
        print_error("set-up failed: files in %s, python3 http.server port %d\n", srv.dir, srv.port);
        group_teardown(state);
        return -1;
    }
    return 0;
}

/* ---- the per-case fixture: a loop on a counting allocator, an adapter, the transfers ---- */

typedef struct fix fix;

typedef struct xfer {
    fix *f;
    CURL *easy;
    const hs_file *want; /* NULL: a transfer expected to fail (refused port) */
    size_t got;
    int mismatch;
    int done;
    CURLcode result;
    size_t cancel_at;      /* cancel from a 0 ms timer after this many bytes (0: never) */
    size_t write_error_at; /* return CURL_WRITEFUNC_ERROR after this many bytes (0: never) */
    size_t destroy_at;     /* reactor_curl_destroy from the write callback (0: never) */
    int cancel_asked;
    CURLMcode cancel_inside; /* what reactor_curl_cancel said from the write callback */
} xfer;

struct fix {
    reactor_t *loop;
    reactor_curl_t *rc;
    long live;       /* the loop's blocks not yet freed */
    int fail_allocs; /* the loop's allocator returns NULL while set */
    reactor_timer_t deadline;
    int failed; /* the deadline passed, or a callback saw something wrong */
    xfer *x;
    size_t n;
    size_t finished; /* reported, cancelled or stopped by a destroy */
    size_t target;   /* the loop stops when finished reaches it */
    int port;        /* the server's port the transfers use: srv.port unless set */
    uint64_t bytes;
};

static void *count_malloc(void *ctx, size_t size)
{
    if (((fix *)ctx)->fail_allocs)
        return NULL;
    void *p = malloc(size);
    if (p)
        ((fix *)ctx)->live++;
    return p;
}
static void *count_realloc(void *ctx, void *p, size_t size)
{
    if (((fix *)ctx)->fail_allocs)
        return NULL;
    return realloc(p, size);
}
static void count_free(void *ctx, void *p)
{
    ((fix *)ctx)->live--;
    free(p);
}

static void on_deadline(reactor_t *r, reactor_timer_t t, void *arg)
{
    fix *f = arg;
    (void)t;
    f->deadline = 0;
    f->failed = 1;
    reactor_stop(r);
}

static void finish(fix *f)
{
    if (++f->finished == f->target)
        reactor_stop(f->loop);
}

/* Fails the case from a callback, where cmocka's asserts cannot unwind the loop. */
static void fail_case(fix *f, const char *what)
{
    print_error("%s\n", what);
    f->failed = 1;
    reactor_stop(f->loop);
}

static void on_done(reactor_curl_t *rc, CURL *easy, CURLcode result, void *arg)
{
    fix *f = arg;
    char *priv = NULL;
    (void)rc;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
    xfer *x = (xfer *)(void *)priv;
    if (!x || x->f != f || x->done || !f->rc) {
        fail_case(f, "on_done: unknown or repeated transfer, or after reactor_curl_destroy");
        return;
    }
    x->done = 1;
    x->result = result;
    finish(f);
}

static void on_cancel_timer(reactor_t *r, reactor_timer_t t, void *arg)
{
    xfer *x = arg;
    (void)r;
    (void)t;
    CURLMcode mc = reactor_curl_cancel(x->f->rc, x->easy);
    if (mc != CURLM_OK) {
        fail_case(x->f, curl_multi_strerror(mc));
        return;
    }
    /* A second cancel finds no such transfer. */
    if (reactor_curl_cancel(x->f->rc, x->easy) != CURLM_BAD_EASY_HANDLE)
        fail_case(x->f, "a second reactor_curl_cancel did not say CURLM_BAD_EASY_HANDLE");
    curl_easy_cleanup(x->easy); /* ours again */
    x->easy = NULL;
    x->done = 1;
    x->result = CURLE_ABORTED_BY_CALLBACK;
    finish(x->f);
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *arg)
{
    xfer *x = arg;
    fix *f = x->f;
    size_t n = size * nmemb;
    if (x->write_error_at && x->got + n >= x->write_error_at)
        return CURL_WRITEFUNC_ERROR;
    if (!x->want || x->got + n > x->want->size || memcmp(x->want->data + x->got, p, n) != 0)
        x->mismatch = 1;
    x->got += n;
    f->bytes += n;
    if (x->cancel_at && x->got >= x->cancel_at && !x->cancel_asked) {
        reactor_timer_t t;
        x->cancel_asked = 1;
        x->cancel_inside = reactor_curl_cancel(f->rc, x->easy); /* libcurl forbids this */
        if (reactor_timer_start(f->loop, 0, 0, on_cancel_timer, x, &t) != 0)
            fail_case(f, "reactor_timer_start failed");
    }
    if (x->destroy_at && x->got >= x->destroy_at && f->rc) {
        reactor_curl_destroy(f->rc); /* takes effect when curl_multi_socket_action returns */
        f->rc = NULL;
        reactor_stop(f->loop);
    }
    return n;
}

static int setup(void **state)
{
    fix *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    reactor_allocator_t a = {count_malloc, count_realloc, count_free, f};
    reactor_options_t o = {.backend = backend, .allocator = &a};
    if (reactor_create(&f->loop, &o) != 0 || reactor_curl_create(&f->rc, f->loop, on_done, f) ||
        reactor_timer_start(f->loop, DEADLINE_MS, 0, on_deadline, f, &f->deadline) != 0) {
        reactor_curl_destroy(f->rc);
        if (f->loop)
            reactor_destroy(f->loop);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

/* Destroys the adapter first (it stops what still runs), then frees the easy handles, then the
 * loop, and checks nothing was left behind. */
static int teardown(void **state)
{
    fix *f = *state;
    reactor_stats_t st;
    reactor_curl_destroy(f->rc);
    for (size_t i = 0; i < f->n; i++)
        if (f->x[i].easy)
            curl_easy_cleanup(f->x[i].easy);
    free(f->x);
    if (f->deadline)
        reactor_timer_stop(f->loop, f->deadline);
    int leftover = reactor_stats(f->loop, &st) != 0 || st.channels != 0 || st.timers != 0;
    if (leftover)
        print_error("left behind: %llu channels, %llu timers\n", (unsigned long long)st.channels,
                    (unsigned long long)st.timers);
    reactor_destroy(f->loop);
    long live = f->live;
    free(f);
    if (live != 0)
        print_error("%ld of the loop's blocks not freed\n", live);
    return leftover || live != 0 ? -1 : 0;
}

/* Makes n transfers; transfer i fetches file pick(i), or the refused port when pick is -1. */
static void make_xfers(fix *f, size_t n, int (*pick)(size_t i))
{
    f->x = calloc(n, sizeof *f->x);
    assert_non_null(f->x);
    f->n = n;
    f->target = n;
    for (size_t i = 0; i < n; i++) {
        xfer *x = &f->x[i];
        char url[128];
        int b = pick(i);
        x->f = f;
        x->want = b >= 0 ? &srv.files[b] : NULL;
        int port = x->want ? (f->port ? f->port : srv.port) : srv.refused_port;
        int len = snprintf(url, sizeof url, "http://127.0.0.1:%d/%s", port,
                           x->want ? x->want->name : "");
        assert_true(len > 0 && len < (int)sizeof url);
        x->easy = curl_easy_init();
        assert_non_null(x->easy);
        curl_easy_setopt(x->easy, CURLOPT_URL, url);
        curl_easy_setopt(x->easy, CURLOPT_NOPROXY, "*");
        curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, on_write);
        curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
        curl_easy_setopt(x->easy, CURLOPT_PRIVATE, (char *)x);
    }
}

static void add_range(fix *f, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        assert_int_equal(reactor_curl_add(f->rc, f->x[i].easy), CURLM_OK);
    assert_int_equal(reactor_curl_running(f->rc), to - from);
}

static void add_all(fix *f)
{
    add_range(f, 0, f->n);
}

static void run_until_finished(fix *f)
{
    int rv = reactor_run(f->loop, REACTOR_RUN_DEFAULT);
    assert_true(rv >= 0);
    assert_false(f->failed);
}

/* Once every transfer has ended libcurl has closed its sockets (HTTP/1.0: the server closes
 * each connection) and stopped its timer: the loop holds the deadline only. */
static void assert_idle(const fix *f)
{
    reactor_stats_t st;
    assert_int_equal(reactor_stats(f->loop, &st), 0);
    assert_int_equal(st.channels, 0);
    assert_int_equal(st.timers, 1);
}

static long status_of(CURL *easy)
{
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

static void assert_fetched(const xfer *x)
{
    if (x->result != CURLE_OK || x->mismatch || x->got != x->want->size)
        print_error("%s: %s, %zu of %zu bytes%s\n", x->want->name, curl_easy_strerror(x->result),
                    x->got, x->want->size, x->mismatch ? ", different bytes" : "");
    assert_int_equal(x->result, CURLE_OK);
    assert_int_equal(status_of(x->easy), 200);
    assert_false(x->mismatch);
    assert_int_equal(x->got, x->want->size);
}

/* 4 of the 200 fetch the large file; the rest cycle through the small ones. */
static int pick_mixed(size_t i)
{
    return i % 50 == 0 ? (int)BIG : (int)(i % BIG);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void transfers(void **state)
{
    fix *f = *state;
    make_xfers(f, 200, pick_mixed);
    double t0 = now_s();
    add_all(f);
    run_until_finished(f);
    double secs = now_s() - t0;
    assert_int_equal(f->finished, f->n);
    assert_int_equal(reactor_curl_running(f->rc), 0);
    for (size_t i = 0; i < f->n; i++)
        assert_fetched(&f->x[i]);
    assert_idle(f);
    print_message("%zu transfers, %.1f MB in %.3f s: %.0f transfers/s (%s)\n", f->n,
                  (double)f->bytes / 1e6, secs, (double)f->n / secs, reactor_backend_name(f->loop));
}

/* 20 transfers; 0 is cancelled mid-way, 1 fails from its write callback, the rest complete. */
static int pick_cancel(size_t i)
{
    return i < 2 ? (int)BIG : (int)(i % BIG);
}

static void cancel(void **state)
{
    fix *f = *state;
    make_xfers(f, 20, pick_cancel);
    f->x[0].cancel_at = 100000;
    f->x[1].write_error_at = 50000;
    /* Loopback can deliver the whole file in one action: at 1 MB/s in 4 KiB reads, transfer 0
     * is still running when its cancel timer fires, and curl's rate-limit timers get used. */
    curl_easy_setopt(f->x[0].easy, CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t)1000000);
    curl_easy_setopt(f->x[0].easy, CURLOPT_BUFFERSIZE, 4096L);
    add_all(f);
    run_until_finished(f);
    assert_int_equal(f->finished, f->n);
    assert_int_equal(reactor_curl_running(f->rc), 0);
    xfer *c = &f->x[0];
    assert_int_equal(c->cancel_inside, CURLM_RECURSIVE_API_CALL);
    assert_null(c->easy); /* cancelled and freed by on_cancel_timer, never reported */
    assert_int_equal(c->result, CURLE_ABORTED_BY_CALLBACK);
    assert_true(c->got >= c->cancel_at && c->got < c->want->size);
    assert_false(c->mismatch);
    assert_int_equal(f->x[1].result, CURLE_WRITE_ERROR);
    assert_false(f->x[1].mismatch);
    for (size_t i = 2; i < f->n; i++)
        assert_fetched(&f->x[i]);
    assert_idle(f);
}

/* One transfer to a port nothing listens on, among ten good ones. */
static int pick_refused(size_t i)
{
    return i == 0 ? -1 : (int)(i % NFILES);
}

static void refused(void **state)
{
    fix *f = *state;
    make_xfers(f, 11, pick_refused);
    add_all(f);
    run_until_finished(f);
    assert_int_equal(f->finished, f->n);
    assert_int_equal(f->x[0].result, CURLE_COULDNT_CONNECT);
    assert_int_equal(status_of(f->x[0].easy), 0);
    assert_int_equal(f->x[0].got, 0);
    for (size_t i = 1; i < f->n; i++)
        assert_fetched(&f->x[i]);
    assert_idle(f);
}

/* reactor_curl_destroy from a write callback while 8 large transfers run: the adapter goes when
 * the action returns, taking its channels and timer with it; the easy handles stay ours. */
static int pick_big(size_t i)
{
    (void)i;
    return (int)BIG;
}

static void destroy_mid_transfer(void **state)
{
    fix *f = *state;
    make_xfers(f, 8, pick_big);
    f->x[3].destroy_at = 200000;
    add_all(f);
    run_until_finished(f);
    assert_null(f->rc);
    assert_false(f->x[3].done); /* no on_done after the destroy (on_done checks it too) */
    reactor_stats_t st;
    assert_int_equal(reactor_stats(f->loop, &st), 0);
    assert_int_equal(st.channels, 0);
    assert_int_equal(st.timers, 1); /* the deadline only */
}

/* The loop's allocator fails while the first three transfers connect: the loop cannot register
 * their sockets, so each ends with CURLE_OUT_OF_MEMORY instead of hanging (libcurl would mark
 * the whole multi handle dead had the socket callback returned -1). With memory back, the
 * adapter runs the next three. */
static void loop_refuses_sockets(void **state)
{
    fix *f = *state;
    make_xfers(f, 6, pick_mixed);
    f->target = 3;
    add_range(f, 0, 3);
    f->fail_allocs = 1;
    run_until_finished(f);
    f->fail_allocs = 0;
    assert_int_equal(f->finished, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_true(f->x[i].done);
        assert_int_equal(f->x[i].result, CURLE_OUT_OF_MEMORY);
        assert_int_equal(f->x[i].got, 0);
    }
    f->target = 6;
    add_range(f, 3, 6);
    run_until_finished(f);
    for (size_t i = 3; i < 6; i++)
        assert_fetched(&f->x[i]);
    assert_idle(f);
}

static int pick_small(size_t i)
{
    return (int)(i % BIG);
}

/* CURLMOPT_MAX_TOTAL_CONNECTIONS 1: 30 transfers queue for one connection at a time, each
 * closed by the server (HTTP/1.0), its descriptor number coming back for the next: a
 * CURL_POLL_REMOVE and a new channel for the same number, over and over. */
static void one_connection_at_a_time(void **state)
{
    fix *f = *state;
    make_xfers(f, 30, pick_small);
    assert_int_equal(curl_multi_setopt(reactor_curl_multi(f->rc), CURLMOPT_MAX_TOTAL_CONNECTIONS,
                                       1L),
                     CURLM_OK);
    add_all(f);
    run_until_finished(f);
    for (size_t i = 0; i < f->n; i++)
        assert_fetched(&f->x[i]);
    assert_idle(f);
}

/* HTTP/1.1: 12 transfers on at most 2 connections, which stay open and are reused. libcurl
 * stops watching a connection while it idles in its cache (no channel once all are done);
 * curl_multi_cleanup in reactor_curl_destroy (the tear-down) closes them. */
static void keepalive(void **state)
{
    fix *f = *state;
    long connects = 0;
    f->port = srv.port11;
    make_xfers(f, 12, pick_small);
    assert_int_equal(curl_multi_setopt(reactor_curl_multi(f->rc), CURLMOPT_MAX_TOTAL_CONNECTIONS,
                                       2L),
                     CURLM_OK);
    add_all(f);
    run_until_finished(f);
    for (size_t i = 0; i < f->n; i++) {
        long n = 0;
        assert_fetched(&f->x[i]);
        curl_easy_getinfo(f->x[i].easy, CURLINFO_NUM_CONNECTS, &n);
        connects += n;
    }
    assert_true(connects >= 1 && connects <= 2);
    assert_idle(f);
}

static void never(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)r;
    (void)t;
    (void)arg;
}

/* With the loop's timer heap full and its allocator failing, libcurl's timer cannot start, so
 * nothing would ever start the transfer: reactor_curl_add refuses it and changes nothing. */
static void loop_refuses_timer(void **state)
{
    fix *f = *state;
    reactor_timer_t fill[64];
    size_t nfill = 0;
    make_xfers(f, 1, pick_mixed);
    f->fail_allocs = 1;
    while (nfill < 64 && reactor_timer_start(f->loop, 3600000, 0, never, NULL, &fill[nfill]) == 0)
        nfill++;
    assert_true(nfill < 64); /* the heap is full */
    assert_int_equal(reactor_curl_add(f->rc, f->x[0].easy), CURLM_OUT_OF_MEMORY);
    assert_int_equal(reactor_curl_running(f->rc), 0);
    f->fail_allocs = 0;
    for (size_t i = 0; i < nfill; i++)
        assert_int_equal(reactor_timer_stop(f->loop, fill[i]), 0);
    add_all(f);
    run_until_finished(f);
    assert_fetched(&f->x[0]);
    assert_idle(f);
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int backend;
    } backends[] = {{"default", REACTOR_BACKEND_DEFAULT},
                    {"poll", REACTOR_BACKEND_POLL},
                    {"epoll", REACTOR_BACKEND_EPOLL}};
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(transfers, setup, teardown),
        cmocka_unit_test_setup_teardown(cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(refused, setup, teardown),
        cmocka_unit_test_setup_teardown(destroy_mid_transfer, setup, teardown),
        cmocka_unit_test_setup_teardown(one_connection_at_a_time, setup, teardown),
        cmocka_unit_test_setup_teardown(keepalive, setup, teardown),
        cmocka_unit_test_setup_teardown(loop_refuses_sockets, setup, teardown),
        cmocka_unit_test_setup_teardown(loop_refuses_timer, setup, teardown),
    };
    int arg = 1;
    for (size_t i = 0; argc > arg && i < sizeof backends / sizeof backends[0]; i++) {
        if (strcmp(argv[arg], backends[i].name) == 0) {
            backend = backends[i].backend;
            arg++;
        }
    }
    if (argc > arg) {
        for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
            if (strcmp(tests[i].name, argv[arg]) == 0)
                return _cmocka_run_group_tests("contrib.curl", &tests[i], 1, group_setup,
                                               group_teardown);
        fprintf(stderr, "contrib.curl: no test named %s\n", argv[arg]);
        return 2;
    }
    return cmocka_run_group_tests_name("contrib.curl", tests, group_setup, group_teardown);
}
