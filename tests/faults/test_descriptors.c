/* test_descriptors.c - descriptor faults (POSIX only; registered only there): the process runs
 * out of descriptors (RLIMIT_NOFILE lowered in the test), and a socket closed while a dup of
 * it lives on. Calls fail cleanly, nothing leaks, the loop keeps working and recovers. */
#include "quiet.h"

#if !defined(_WIN32)
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#if !defined(RUNNING_ON_VALGRIND)
#define RUNNING_ON_VALGRIND 0
#endif

#define WINDOW_MS 150u

/* The descriptors taken to exhaust the process, and the limit to restore. */
typedef struct fd__fill {
    struct rlimit saved;
    int base; /* /dev/null, dup'ed to fill */
    int *fds;
    int n, cap;
} fd__fill;

static int fd__highest_open(rlim_t limit)
{
    int hi = -1;
    for (int fd = 0; fd < (int)limit && fd < 65536; fd++)
        if (fcntl(fd, F_GETFD) != -1)
            hi = fd;
    return hi;
}

/* Lowers the soft limit just above the highest open descriptor, then takes every free one. */
static void fd__exhaust(fd__fill *x)
{
    memset(x, 0, sizeof *x);
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &x->saved), 0);
    x->base = open("/dev/null", O_RDONLY | O_CLOEXEC);
    assert_true(x->base >= 0);
    struct rlimit low = x->saved;
    low.rlim_cur = (rlim_t)fd__highest_open(x->saved.rlim_cur) + 1 + 32;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    x->cap = 4096;
    x->fds = malloc((size_t)x->cap * sizeof *x->fds);
    assert_non_null(x->fds);
    for (;;) {
        int fd = fcntl(x->base, F_DUPFD_CLOEXEC, 0);
        if (fd < 0) {
            assert_int_equal(errno, EMFILE);
            break;
        }
        /* A limit that is not enforced (an emulator) would fill forever: bounded. */
        assert_true(x->n < x->cap);
        x->fds[x->n++] = fd;
    }
    assert_true(x->n >= 1);
}

/* Frees k descriptors (the most recently taken). */
static void fd__release(fd__fill *x, int k)
{
    for (; k > 0 && x->n > 0; k--)
        close(x->fds[--x->n]);
}

/* Takes k descriptors again: every one must be available. */
static void fd__retake(fd__fill *x, int k)
{
    for (int i = 0; i < k; i++) {
        int fd = fcntl(x->base, F_DUPFD_CLOEXEC, 0);
        assert_true(fd >= 0);
        x->fds[x->n++] = fd;
    }
    assert_int_equal(fcntl(x->base, F_DUPFD_CLOEXEC, 0), -1);
}

static void fd__restore(fd__fill *x)
{
    fd__release(x, x->n);
    free(x->fds);
    close(x->base);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &x->saved), 0);
}

/* With 0, 1, 2 and 3 descriptors left (epoll needs two, poll one): reactor_create either works
 * or fails with ESYS, frees every byte it took and leaks no descriptor. */
static void create_fails_cleanly_at_every_descriptor_shortfall(void **state)
{
    sup_loop *f = *state;
    fd__fill x;
    fd__exhaust(&x);
    int failed = 0;
    for (int k = 0; k <= 3; k++) {
        fd__release(&x, k);
        reactor_options_t opts;
        memset(&opts, 0, sizeof opts);
        opts.backend = sup_backend();
        opts.allocator = &f->alloc.fn;
        reactor_t *r = NULL;
        int err = reactor_create(&r, &opts);
        if (err) {
            failed++;
            assert_int_equal(err, REACTOR_ESYS);
            assert_null(r);
        } else {
            reactor_destroy(r);
        }
        assert_int_equal(f->alloc.live, 0);
        assert_int_equal(f->alloc.bytes, 0);
        fd__retake(&x, k); /* every descriptor came back */
    }
    assert_true(failed >= 1); /* at least k = 0 */
    fd__restore(&x);
    sup_loop_open(f, NULL, NULL);
    sup_assert_loop_works(f);
}

typedef struct fd__server {
    reactor_socket_t listener;
    reactor_chn_t chn;
    int accept_failures, emfile;
    reactor_socket_t accepted;
} fd__server;

static void fd__on_listener(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    fd__server *s = arg;
    (void)events;
    reactor_socket_t a;
    if (sup_accept(s->listener, &a) == 0) {
        s->accepted = a;
        return;
    }
    s->accept_failures++;
    if (errno == EMFILE || errno == ENFILE) {
        /* Level-triggered: the pending connection keeps the listener readable. Pause it
         * instead of spinning until descriptors are free again. */
        s->emfile++;
        assert_int_equal(reactor_modify(r, chn, 0), 0);
    }
}

static void fd__tick(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)r;
    (void)t;
    (*(int *)arg)++;
}

static void fd__on_wakeup(reactor_t *r, void *arg)
{
    (void)r;
    (*(int *)arg)++;
}

static int fd__accepted(void *ctx)
{
    return ((fd__server *)ctx)->accepted != REACTOR_INVALID_SOCKET;
}

/* A server loop at EMFILE: accept fails and is paused, socket() fails, yet registered sockets,
 * timers, wake-ups and adds of open sockets all work; once descriptors are freed the pending
 * connection is accepted and carries data. */
static void a_running_loop_survives_descriptor_exhaustion_and_recovers(void **state)
{
    sup_loop *f = *state;
    static int wakeups;
    wakeups = 0;
    sup_loop_open(f, fd__on_wakeup, &wakeups);
    fd__server srv = {REACTOR_INVALID_SOCKET, 0, 0, 0, REACTOR_INVALID_SOCKET};
    uint16_t port;
    assert_int_equal(sup_listen(&srv.listener, &port), 0);
    sup_track(f, srv.listener);
    assert_int_equal(reactor_add(f->r, srv.listener, REACTOR_READABLE, fd__on_listener, &srv,
                                 &srv.chn),
                     0);
    reactor_socket_t a[2], b[2];
    sup_new_pair(f, a);
    sup_new_pair(f, b);
    sup_probe pa = {0}, pb = {0};
    reactor_chn_t ca, cb;
    assert_int_equal(reactor_add(f->r, a[0], REACTOR_READABLE, sup_probe_cb, &pa, &ca), 0);
    int ticks = 0;
    reactor_timer_t tick;
    assert_int_equal(reactor_timer_start(f->r, 2, 2, fd__tick, &ticks, &tick), 0);
    reactor_socket_t client = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(client >= 0);
    sup_track(f, client);

    fd__fill x;
    fd__exhaust(&x);
    assert_int_equal(socket(AF_INET, SOCK_STREAM, 0), -1);
    assert_int_equal(errno, EMFILE);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0) {
        /* valgrind emulates RLIMIT_NOFILE and does not apply it to socketpair. */
        assert_true(RUNNING_ON_VALGRIND);
        close(sv[0]);
        close(sv[1]);
    }
    /* The pending connection needs no descriptor on this side until accept. */
    reactor_socket_t ignored;
    assert_int_equal(sup_connect_start(port, &ignored), -1); /* socket() fails */
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    assert_int_equal(getsockname(srv.listener, (struct sockaddr *)&ss, &len), 0);
    assert_int_equal(connect(client, (struct sockaddr *)&ss, len), 0);
    assert_true(sup_run_until(f, fd__accepted, &srv, 300) == 0);
    assert_true(srv.emfile >= 1);
    assert_int_equal(srv.accept_failures, srv.emfile);
    /* Paused: the loop waits instead of spinning on the readable listener. */
    fq_window w = fq_run_window(f, WINDOW_MS, 100000);
    assert_true(w.cpu_ms * 5 <= w.wall_ms + 5);
    /* Everything that needs no new descriptor still works at EMFILE. */
    int ticks_before = ticks;
    sup_send_byte(a[1]);
    assert_true(sup_run_until_count(f, &pa.calls, 1, SUP_WAIT_MS));
    assert_true(sup_run_until_count(f, &ticks, ticks_before + 1, SUP_WAIT_MS));
    assert_int_equal(reactor_add(f->r, b[0], REACTOR_WRITABLE, sup_probe_cb, &pb, &cb), 0);
    assert_true(sup_run_until_count(f, &pb.calls, 1, SUP_WAIT_MS));
    assert_int_equal(reactor_wakeup(f->r), 0);
    assert_true(sup_run_until_count(f, &wakeups, 1, SUP_WAIT_MS));
    /* A loop cannot be made, cleanly (its own test checks the shortfalls one by one). */
    reactor_t *r2 = NULL;
    reactor_options_t opts;
    memset(&opts, 0, sizeof opts);
    opts.backend = sup_backend();
    assert_int_equal(reactor_create(&r2, &opts), REACTOR_ESYS);

    /* Descriptors come back: resume accepting; the queued connection is served. */
    fd__restore(&x);
    if (RUNNING_ON_VALGRIND) {
        /* valgrind's emulated limit lets the kernel accept and then closes the new descriptor
         * itself, so the queued connection is gone: connect again. */
        sup_close_now(f, client);
        client = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(client >= 0);
        sup_track(f, client);
        assert_int_equal(connect(client, (struct sockaddr *)&ss, len), 0);
    }
    assert_int_equal(reactor_modify(f->r, srv.chn, REACTOR_READABLE), 0);
    assert_true(sup_run_until(f, fd__accepted, &srv, SUP_WAIT_MS));
    sup_track(f, srv.accepted);
    sup_probe pc = {0};
    reactor_chn_t cc;
    assert_int_equal(reactor_add(f->r, srv.accepted, REACTOR_READABLE, sup_probe_cb, &pc, &cc), 0);
    assert_int_equal(sup_send(client, "hi", 2), 2);
    assert_true(sup_run_until_count(f, &pc.calls, 1, SUP_WAIT_MS));
    char buf[4];
    assert_int_equal(sup_recv(srv.accepted, buf, sizeof buf), 2);
    assert_int_equal(reactor_timer_stop(f->r, tick), 0);
    sup_assert_loop_works(f);
    assert_int_equal(reactor_create(&r2, &opts), 0);
    reactor_destroy(r2);
}

/* POSIX: the descriptor is closed but its socket lives on in a dup (or a forked child). The
 * application removes the channel and keeps the dup: the loop must not keep reporting the
 * dead registration, neither to a callback nor as a spin of dropped reports. */
/* A new pair whose sv[0] also lives in a dup (closed at teardown), registered for READABLE. */
static void fd__add_with_a_dup(sup_loop *f, reactor_socket_t sv[2], sup_probe *p,
                               reactor_chn_t *chn)
{
    sup_new_pair(f, sv);
    int dup_fd = dup(sv[0]);
    assert_true(dup_fd >= 0);
    sup_track(f, dup_fd);
    assert_int_equal(reactor_add(f->r, sv[0], REACTOR_READABLE, sup_probe_cb, p, chn), 0);
}

static void closed_and_removed_while_a_dup_lives_leaves_the_loop_quiet(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t sv[2];
    sup_probe p = {0};
    reactor_chn_t chn;
    fd__add_with_a_dup(f, sv, &p, &chn);
    /* A bystander channel, idle during the window: it must survive a rebuild of the set. */
    reactor_socket_t other[2];
    sup_new_pair(f, other);
    sup_probe q = {0};
    reactor_chn_t other_chn;
    assert_int_equal(reactor_add(f->r, other[0], REACTOR_READABLE, sup_probe_cb, &q, &other_chn),
                     0);
    assert_int_equal(sup_send(sv[1], "data", 4), 4); /* readable, and stays so */
    sup_close_now(f, sv[0]);
    assert_int_equal(reactor_remove(f->r, chn), 0);
    fq_window w = fq_run_window(f, WINDOW_MS, 1000);
    assert_int_equal(p.calls, 0);
    assert_int_equal(w.dispatched, 0);
    /* epoll keeps the watch (it is keyed on the open file, which the dup keeps alive): its
     * first report names a removed channel, and the loop rebuilds the set once. */
    if (sup_backend() == REACTOR_BACKEND_EPOLL) {
        assert_int_equal(sup_stats(f).backend_resets, 1);
        assert_int_equal(w.stale, 1);
        fq_assert_quiet(&w, 2); /* the iteration that met the stale report, then the window's */
    } else {
        assert_int_equal(sup_stats(f).backend_resets, 0);
        fq_assert_quiet(&w, 1);
    }
    assert_int_equal(q.calls, 0);
    assert_int_equal(sup_send(other[1], "x", 1), 1);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_ONCE), 1);
    assert_int_equal(q.calls, 1);
    assert_int_equal(reactor_remove(f->r, other_chn), 0);
}
/* The ghost rebuild makes a new set and adds the wake-up descriptor to it again; a wake-up the
 * loop consumed long before must not be delivered a second time (epoll's eventfd is never read
 * back, so the new set finds it signalled). */
static void a_rebuilt_set_delivers_no_wakeup_twice(void **state)
{
    sup_loop *f = *state;
    int wakes = 0;
    sup_loop_open(f, sup_count_wakeup, &wakes);
    assert_int_equal(reactor_wakeup(f->r), 0);
    assert_int_equal(reactor_run_timeout(f->r, 1000), 0);
    assert_int_equal(wakes, 1);
    reactor_socket_t sv[2];
    sup_probe p = {0};
    reactor_chn_t chn;
    fd__add_with_a_dup(f, sv, &p, &chn);
    assert_int_equal(sup_send(sv[1], "data", 4), 4);
    sup_close_now(f, sv[0]);
    assert_int_equal(reactor_remove(f->r, chn), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(reactor_run_timeout(f->r, 10), 0);
    if (sup_backend() == REACTOR_BACKEND_EPOLL)
        assert_int_equal(sup_stats(f).backend_resets, 1);
    assert_int_equal(p.calls, 0);
    assert_int_equal(wakes, 1);
    assert_int_equal(sup_stats(f).wakeups, 1);
    /* And the loop still hears the next one. */
    assert_int_equal(reactor_wakeup(f->r), 0);
    assert_int_equal(reactor_run_timeout(f->r, 1000), 0);
    assert_int_equal(wakes, 2);
}
#endif /* !_WIN32 */

int main(int argc, char **argv)
{
#if defined(_WIN32)
    (void)argc;
    (void)argv;
    return 0; /* POSIX only: not registered on Windows */
#else
    // clang-format off
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(create_fails_cleanly_at_every_descriptor_shortfall, sup_setup_bare, sup_teardown),
        cmocka_unit_test_setup_teardown(a_running_loop_survives_descriptor_exhaustion_and_recovers, sup_setup_bare, sup_teardown),
        cmocka_unit_test_setup_teardown(closed_and_removed_while_a_dup_lives_leaves_the_loop_quiet, sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(a_rebuilt_set_delivers_no_wakeup_twice, sup_setup, sup_teardown),
    };
    // clang-format on
    return sup_main(argc, argv, "faults.descriptors", tests, sizeof tests / sizeof tests[0], 1);
#endif
}
