/* test_cares.c - the c-ares adapter against a real dnsmasq the test starts on loopback, and
 * against a UDP socket that never answers. Every case ends with the adapter and the loop
 * destroyed, no live block in the loop's allocator, c-ares's own block count back where it
 * started and dnsmasq killed and reaped. argv: poll|epoll [case]. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "reactor_cares.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#define NAMES 500u      /* distinct names, each with its own --address record */
#define WINDOW 64u      /* lookups in flight at once in the bulk case */
#define SLACK_MS 2000u  /* how late a timeout may be reported (valgrind, a busy machine) */
#define WAIT_MS 60000u  /* the deadline of a run that is expected to finish */
#define START_MS 10000u /* how long dnsmasq may take to answer its first query */

static int test__backend;
static long test__ares_live; /* c-ares blocks allocated and not freed (ares_library_init_mem) */

static void *test__ares_malloc(size_t n)
{
    void *p = malloc(n);
    test__ares_live += p != NULL;
    return p;
}
static void test__ares_free(void *p)
{
    test__ares_live -= p != NULL;
    free(p);
}
static void *test__ares_realloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    test__ares_live += q != NULL && p == NULL;
    return q;
}

/* The loop's allocator: counts live blocks. */
typedef struct counter {
    reactor_allocator_t fn;
    long live;
} counter;
static void *test__malloc(void *ctx, size_t n)
{
    void *p = malloc(n);
    ((counter *)ctx)->live += p != NULL;
    return p;
}
static void *test__realloc(void *ctx, void *p, size_t n)
{
    (void)ctx;
    return realloc(p, n);
}
static void test__free(void *ctx, void *p)
{
    ((counter *)ctx)->live--;
    free(p);
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
static uint64_t now_ms(void)
{
    return now_us() / 1000u;
}

/* Name i and the address dnsmasq gives it (host order): n<i>.rx.test -> 10.20.i/200.i%200+1. */
static void name_of(unsigned i, char *buf, size_t n)
{
    snprintf(buf, n, "n%u.rx.test", i);
}
static uint32_t addr_of(unsigned i)
{
    return (10u << 24) | (20u << 16) | ((i / 200u) << 8) | (i % 200u + 1u);
}

typedef struct world world;
typedef struct batch batch;

/* What one lookup's callback saw, checked after the run (no assert runs inside c-ares). */
typedef struct answer {
    batch *b;
    unsigned index;
    int calls, status, timeouts;
    int naddrs;    /* addresses in the answer */
    uint32_t addr; /* the first, host order */
    int name_ok;   /* h_name is the name asked for */
    uint64_t at;   /* now_ms() when the callback ran */
} answer;

/* Lookups of n0..n<total-1>.rx.test, at most window in flight. */
struct batch {
    world *w;
    answer *answers;
    unsigned total, window, sent, done;
    int destroy_in_callback; /* the first callback destroys the adapter */
    uint64_t late_at;        /* when submit_late ran */
};

/* One case's world: the loop, the adapter, and the server it talks to. */
struct world {
    counter alloc;
    reactor_t *r;
    reactor_cares_t *rc;
    long ares_base; /* test__ares_live when the case started */
    pid_t dnsmasq;  /* 0: not running */
    int hole;       /* a bound UDP socket nobody reads, or -1 */
    int port;       /* the server's UDP port on 127.0.0.1 */
    int expired;    /* the deadline timer fired */
    batch b;        /* the case's lookups; its answers are freed in teardown */
};

/* ---- dnsmasq: started by fork/exec, answered before use, killed and reaped in teardown ---- */

/* A port free for both UDP and TCP on 127.0.0.1 right now (dnsmasq binds both). The TCP probe
 * uses SO_REUSEADDR, as dnsmasq's listener does: a port whose old connections sit in TIME_WAIT
 * (the other tests leave thousands) is free for it. */
static int free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int u = socket(AF_INET, SOCK_DGRAM, 0), t = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    int one = 1;
    if (t >= 0)
        (void)setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (u >= 0 && t >= 0 && bind(u, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(u, (struct sockaddr *)&sa, &len) == 0 &&
        bind(t, (struct sockaddr *)&sa, sizeof sa) == 0)
        port = ntohs(sa.sin_port);
    if (u >= 0)
        close(u);
    if (t >= 0)
        close(t);
    return port;
}

static void free_argv(char **argv)
{
    for (size_t i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
}

/* dnsmasq's command line: answers only from its --address records, on 127.0.0.1:port. */
static char **dnsmasq_argv(int port)
{
    static const char *fixed[] = {"dnsmasq",
                                  "--no-daemon",
                                  "--keep-in-foreground",
                                  "--no-resolv",
                                  "--no-hosts",
                                  "--conf-file=/dev/null",
                                  "--pid-file",
                                  "--listen-address=127.0.0.1",
                                  "--bind-interfaces"};
    size_t nfixed = sizeof fixed / sizeof fixed[0], n = 0;
    char **argv = calloc(nfixed + NAMES + 4, sizeof *argv);
    char buf[96];
    int ok = argv != NULL;
    for (size_t i = 0; ok && i < nfixed; i++)
        ok = (argv[n++] = strdup(fixed[i])) != NULL;
    snprintf(buf, sizeof buf, "--port=%d", port);
    if (ok)
        ok = (argv[n++] = strdup(buf)) != NULL;
    if (ok && getuid() == 0) /* as root it would switch to a user that may not exist */
        ok = (argv[n++] = strdup("--user=root")) != NULL;
    for (unsigned i = 0; ok && i < NAMES; i++) {
        uint32_t a = addr_of(i);
        snprintf(buf, sizeof buf, "--address=/n%u.rx.test/%u.%u.%u.%u", i, a >> 24,
                 (a >> 16) & 255u, (a >> 8) & 255u, a & 255u);
        ok = (argv[n++] = strdup(buf)) != NULL;
    }
    if (!ok) {
        free_argv(argv);
        argv = NULL;
    }
    return argv;
}

/* Starts path with argv; its stdout goes to out_fd (or /dev/null when -1), the rest to
 * /dev/null. On Linux the child dies with us, even when CTest kills us. */
static pid_t spawn(const char *path, char **argv, int out_fd)
{
    pid_t parent = getpid(), pid = fork();
    if (pid != 0)
        return pid;
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127); /* the parent died before prctl */
#else
    (void)parent;
#endif
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, 0);
        dup2(out_fd >= 0 ? out_fd : null, 1);
        dup2(null, 2);
    }
    execv(path, argv);
    _exit(127);
}

static void reap(pid_t *pid)
{
    if (*pid <= 0)
        return;
    kill(*pid, SIGKILL);
    while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
        ;
    *pid = 0;
}

/* Sends a query for n0.rx.test and waits up to 100 ms for the answer. */
static int dnsmasq_answers(int port)
{
    static const unsigned char query[] = {0x52, 0x58, 0x01, 0x00, 0,   1, 0,   0,   0, 0,
                                          0,    0,    2,    'n',  '0', 2, 'r', 'x', 4, 't',
                                          'e',  's',  't',  0,    0,   1, 0,   1};
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                             .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_DGRAM, 0), answered = 0;
    if (fd < 0)
        return 0;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        send(fd, query, sizeof query, 0) == (ssize_t)sizeof query) {
        /* Before dnsmasq binds, the port refuses (the error wakes poll): wait out the slot. */
        for (uint64_t end = now_ms() + 100u, t; !answered && (t = now_ms()) < end;) {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            unsigned char buf[512];
            if (poll(&p, 1, (int)(end - t)) > 0) {
                ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
                answered = n >= 12 && buf[0] == query[0] && buf[1] == query[1];
            }
        }
    }
    close(fd);
    return answered;
}

/* Starts dnsmasq on a free port and waits until it answers. 0, or -1 with nothing running. */
static int dnsmasq_start(world *w)
{
    int no_port = 0, exited = 0, status = 0;
    for (int attempt = 0; attempt < 20; attempt++) {
        int port = free_port();
        if (port <= 0) {
            no_port++;
            continue; /* the UDP port's TCP twin was taken: draw again */
        }
        char **argv = dnsmasq_argv(port);
        if (!argv)
            return -1;
        w->dnsmasq = spawn(RC_DNSMASQ, argv, -1);
        free_argv(argv);
        if (w->dnsmasq < 0) {
            w->dnsmasq = 0;
            break;
        }
        for (uint64_t end = now_ms() + START_MS; now_ms() < end;) {
            if (waitpid(w->dnsmasq, &status, WNOHANG) == w->dnsmasq) {
                w->dnsmasq = 0; /* exited: most likely the port was taken meanwhile */
                exited++;
                break;
            }
            if (dnsmasq_answers(port)) {
                w->port = port;
                return 0;
            }
        }
        reap(&w->dnsmasq);
    }
    print_error("dnsmasq (%s) did not start (%d draws found no free port, %d starts exited, the "
                "last with status %#x); scripts/setup.sh contrib installs it\n",
                RC_DNSMASQ, no_port, exited, (unsigned)status);
    return -1;
}

/* ---- fixtures ---- */

static world *world_new(void)
{
    world *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->alloc.fn = (reactor_allocator_t){test__malloc, test__realloc, test__free, &w->alloc};
    w->ares_base = test__ares_live;
    w->hole = -1;
    return w;
}

static int world_loop(world *w)
{
    reactor_options_t opts = {.backend = test__backend, .allocator = &w->alloc.fn};
    int err = reactor_create(&w->r, &opts);
    if (err)
        print_error("reactor_create: %s\n", reactor_strerror(err));
    return err ? -1 : 0;
}

/* Destroys the adapter (its ARES_EDESTRUCTION callbacks still see w->b), then the loop; kills
 * and reaps dnsmasq; frees w. Returns the loop's live blocks and c-ares's leaked ones. */
static void world_free(world *w, long *loop_live, long *ares_leaked)
{
    reactor_cares_destroy(w->rc);
    free(w->b.answers);
    *loop_live = 0;
    if (w->r) {
        reactor_destroy(w->r);
        *loop_live = w->alloc.live;
    }
    reap(&w->dnsmasq);
    if (w->hole >= 0)
        close(w->hole);
    *ares_leaked = test__ares_live - w->ares_base;
    free(w);
}

static int setup_dnsmasq(void **state)
{
    world *w = world_new();
    long live, leaked;
    if (!w)
        return -1;
    if (world_loop(w) != 0 || dnsmasq_start(w) != 0) {
        world_free(w, &live, &leaked);
        return -1;
    }
    *state = w;
    return 0;
}

/* A server that never answers: a UDP socket bound on loopback that nobody reads until the end
 * (a bound port sends no ICMP refusal, so c-ares can only time out). */
static int setup_hole(void **state)
{
    world *w = world_new();
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    long live, leaked;
    if (!w)
        return -1;
    w->hole = socket(AF_INET, SOCK_DGRAM, 0);
    if (w->hole < 0 || bind(w->hole, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(w->hole, (struct sockaddr *)&sa, &len) != 0 || world_loop(w) != 0) {
        print_error("setup_hole: %s\n", strerror(errno));
        world_free(w, &live, &leaked);
        return -1;
    }
    w->port = ntohs(sa.sin_port);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    long loop_live, ares_leaked;
    if (!*state)
        return 0;
    world_free(*state, &loop_live, &ares_leaked);
    *state = NULL;
    assert_int_equal(loop_live, 0);
    assert_int_equal(ares_leaked, 0);
    return 0;
}

/* The adapter on w's server: first-try timeout timeout_ms, tries attempts, DNS only, no search
 * domains, so one lookup is one query. */
static void world_resolver(world *w, int timeout_ms, int tries, int flags)
{
    char lookups[] = "b";
    char csv[32];
    struct ares_options o = {.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | flags,
                             .timeout = timeout_ms,
                             .tries = tries,
                             .lookups = lookups};
    int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS |
               ARES_OPT_DOMAINS;
    assert_int_equal(reactor_cares_create(w->r, &o, mask, &w->rc), 0);
    snprintf(csv, sizeof csv, "127.0.0.1:%d", w->port);
    assert_int_equal(ares_set_servers_ports_csv(reactor_cares_channel(w->rc), csv), ARES_SUCCESS);
}

static void on_deadline(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)r;
    (void)t;
    ((world *)arg)->expired = 1;
}

/* Runs ONCE iterations until *count reaches target or ms pass. Returns 1 when it did. */
static int run_until(world *w, const unsigned *count, unsigned target, uint64_t ms)
{
    reactor_timer_t deadline;
    w->expired = 0;
    assert_int_equal(reactor_timer_start(w->r, ms, 0, on_deadline, w, &deadline), 0);
    while (*count < target && !w->expired)
        assert_true(reactor_run(w->r, REACTOR_RUN_ONCE) >= 0);
    if (!w->expired)
        assert_int_equal(reactor_timer_stop(w->r, deadline), 0);
    return *count >= target;
}

static reactor_stats_t stats(const world *w)
{
    reactor_stats_t s;
    assert_int_equal(reactor_stats(w->r, &s), 0);
    return s;
}

/* ---- lookups: submitted in windows, checked after the run ---- */

static void submit(batch *b);

static void on_host(void *arg, int status, int timeouts, struct hostent *h)
{
    answer *a = arg;
    batch *b = a->b;
    char name[32];
    a->calls++;
    a->status = status;
    a->timeouts = timeouts;
    a->at = now_ms();
    if (status == ARES_SUCCESS && h && h->h_addrtype == AF_INET && h->h_length == 4) {
        struct in_addr in;
        while (h->h_addr_list[a->naddrs])
            a->naddrs++;
        if (a->naddrs > 0) {
            memcpy(&in, h->h_addr_list[0], sizeof in);
            a->addr = ntohl(in.s_addr);
        }
        name_of(a->index, name, sizeof name);
        a->name_ok = h->h_name && strcmp(h->h_name, name) == 0;
    }
    b->done++;
    if (b->destroy_in_callback && b->w->rc) {
        reactor_cares_destroy(b->w->rc); /* deferred to the end of this step */
        b->w->rc = NULL;
    }
    if (status != ARES_EDESTRUCTION && b->w->rc)
        submit(b); /* keeps the window full: a query from inside a step */
}

/* Submits lookups until window are in flight or all are sent. */
static void submit(batch *b)
{
    while (b->sent < b->total && b->sent - b->done < b->window) {
        answer *a = &b->answers[b->sent];
        char name[32];
        a->b = b;
        a->index = b->sent++;
        name_of(a->index, name, sizeof name);
        ares_gethostbyname(reactor_cares_channel(b->w->rc), name, AF_INET, on_host, a);
    }
}

static void batch_init(batch *b, world *w, unsigned total, unsigned window)
{
    *b = (batch){.w = w, .total = total, .window = window};
    b->answers = calloc(total, sizeof *b->answers);
    assert_non_null(b->answers);
}

/* ---- the cases ---- */

/* NAMES lookups, WINDOW in flight, over UDP or (ARES_FLAG_USEVC) one TCP connection. */
static void lookups_of_distinct_names(world *w, int flags, const char *how)
{
    batch *b = &w->b;
    int retried = 0;
    world_resolver(w, 2000, 3, flags);
    batch_init(b, w, NAMES, WINDOW);
    uint64_t t0 = now_us();
    submit(b);
    int finished = run_until(w, &b->done, NAMES, WAIT_MS);
    uint64_t us = now_us() - t0;
    for (unsigned i = 0; finished && i < NAMES; i++) {
        answer *a = &b->answers[i];
        if (a->calls != 1 || a->status != ARES_SUCCESS || a->naddrs != 1 || a->addr != addr_of(i) ||
            !a->name_ok)
            print_error("n%u.rx.test: calls %d, %s, %d addresses, first %08x (want %08x)\n", i,
                        a->calls, ares_strerror(a->status), a->naddrs, (unsigned)a->addr,
                        (unsigned)addr_of(i));
        assert_int_equal(a->calls, 1);
        assert_int_equal(a->status, ARES_SUCCESS);
        assert_int_equal(a->naddrs, 1);
        assert_int_equal(a->addr, addr_of(i));
        assert_true(a->name_ok);
        retried += a->timeouts > 0;
    }
    assert_true(finished);
    print_message("contrib.cares.%s: %u lookups over %s (%u in flight) in %.1f ms: %.0f "
                  "lookups/s, %d retried after a timeout\n",
                  reactor_backend_name(w->r), NAMES, how, WINDOW, (double)us / 1000.0,
                  NAMES * 1e6 / (double)(us ? us : 1), retried);
    /* Idle again: c-ares closed its socket (no ARES_FLAG_STAYOPEN) and the timer is stopped. */
    reactor_stats_t s = stats(w);
    assert_int_equal(s.channels, 0);
    assert_int_equal(s.timers, 0);
    assert_int_equal(reactor_cares_error(w->rc), 0);
}

static void lookups_of_500_names_are_all_answered(void **state)
{
    lookups_of_distinct_names(*state, 0, "UDP");
}

/* TCP: the socket is watched for WRITABLE while c-ares connects and has queries queued, then
 * modified back to READABLE. */
static void lookups_over_tcp_are_all_answered(void **state)
{
    lookups_of_distinct_names(*state, ARES_FLAG_USEVC, "TCP");
}

static void unanswered_query_times_out_on_schedule(void **state)
{
    world *w = *state;
    const unsigned timeout_ms = 100, tries = 3;
    batch *b = &w->b;
    /* c-ares doubles the timeout on each round through the servers (ares__send_query): with
     * one server, timeout * (1 + 2 + 4). The least it may take is timeout * tries. */
    uint64_t floor_ms = (uint64_t)timeout_ms * tries;
    uint64_t schedule_ms = (uint64_t)timeout_ms * ((1u << tries) - 1u);
    world_resolver(w, (int)timeout_ms, (int)tries, 0);
    batch_init(b, w, 1, 1);
    uint64_t t0 = now_ms(), iterations = stats(w).iterations;
    submit(b); /* from outside the loop: the adapter arms its timer from the state callback */
    assert_int_equal(stats(w).channels, 1);
    assert_true(run_until(w, &b->done, 1, schedule_ms + SLACK_MS + 5000u));
    answer a = b->answers[0];
    uint64_t elapsed = a.at - t0;
    print_message("contrib.cares.%s: ETIMEOUT after %llu ms (timeout %u ms, %u tries: at least "
                  "%llu, c-ares 1.18's schedule %llu)\n",
                  reactor_backend_name(w->r), (unsigned long long)elapsed, timeout_ms, tries,
                  (unsigned long long)floor_ms, (unsigned long long)schedule_ms);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.status, ARES_ETIMEOUT);
    assert_int_equal(a.timeouts, (int)tries);
    assert_true(elapsed >= floor_ms);
    int version = 0;
    ares_version(&version);
    if (version < 0x011400) /* the doubling as read in c-ares 1.18's source */
        assert_true(elapsed >= schedule_ms);
    assert_true(elapsed <= schedule_ms + SLACK_MS);
    /* One datagram per try reached the server. */
    unsigned char buf[512];
    unsigned datagrams = 0;
    while (recv(w->hole, buf, sizeof buf, MSG_DONTWAIT) > 0)
        datagrams++;
    assert_int_equal(datagrams, tries);
    reactor_stats_t s = stats(w);
    assert_int_equal(s.channels, 0);
    assert_int_equal(s.timers, 0);
    /* The timer slept between timeouts: a handful of iterations, not a spin. */
    assert_true(s.iterations - iterations < 100);
}

static void submit_late(reactor_t *r, reactor_timer_t t, void *arg)
{
    batch *b = arg;
    (void)r;
    (void)t;
    b->late_at = now_ms();
    b->total = 2;
    submit(b); /* between steps: from a timer that is not the adapter's */
}

/* A query submitted between steps while another one is deep in its retries: it opens no socket
 * and c-ares's next timeout is the old query's, far away. The adapter's timer never sleeps
 * longer than one first-try timeout while a socket is open, so the new query still times out
 * on its own schedule. */
static void query_submitted_between_steps_times_out_on_its_own_schedule(void **state)
{
    world *w = *state;
    const unsigned timeout_ms = 100, tries = 5, late_ms = 1550;
    /* One server: rounds of 100, 200, 400, 800 and 1600 ms, 3100 in all. The second query starts
     * during the first one's last round (1500..3100): without the cap its first timeout would
     * wait for 3100, 1450 ms late. */
    uint64_t schedule_ms = (uint64_t)timeout_ms * ((1u << tries) - 1u);
    reactor_timer_t t;
    batch *b = &w->b;
    world_resolver(w, (int)timeout_ms, (int)tries, 0);
    batch_init(b, w, 2, 2);
    b->total = 1; /* the second once submit_late runs */
    uint64_t t0 = now_ms();
    submit(b);
    assert_int_equal(reactor_timer_start(w->r, late_ms, 0, submit_late, b, &t), 0);
    assert_true(run_until(w, &b->done, 2, 2 * schedule_ms + SLACK_MS + 5000u));
    answer first = b->answers[0], second = b->answers[1];
    uint64_t sent_at = b->late_at, e1 = first.at - t0, e2 = second.at - sent_at;
    print_message("contrib.cares.%s: ETIMEOUT after %llu ms, and for the query sent %llu ms "
                  "later after %llu ms (schedule %llu)\n",
                  reactor_backend_name(w->r), (unsigned long long)e1,
                  (unsigned long long)(sent_at - t0), (unsigned long long)e2,
                  (unsigned long long)schedule_ms);
    assert_int_equal(first.status, ARES_ETIMEOUT);
    assert_int_equal(second.status, ARES_ETIMEOUT);
    assert_int_equal(second.timeouts, (int)tries);
    assert_true(e1 >= (uint64_t)timeout_ms * tries && e2 >= (uint64_t)timeout_ms * tries);
    assert_true(e1 <= schedule_ms + SLACK_MS);
    assert_true(e2 <= schedule_ms + 1000u); /* the bug this guards against makes it >= 1450 late */
}

static void destroy_with_queries_in_flight_leaks_nothing(void **state)
{
    world *w = *state;
    const unsigned n = 20;
    const unsigned never = 1;
    unsigned zero = 0;
    batch *b = &w->b;
    world_resolver(w, 5000, 2, 0);
    batch_init(b, w, n, n);
    submit(b);
    assert_int_equal(stats(w).channels, 1);
    /* Let the loop run the adapter for a while: every query is sent and none can finish. */
    assert_false(run_until(w, &zero, never, 100));
    assert_int_equal(b->done, 0);
    reactor_stats_t s = stats(w);
    assert_int_equal(s.channels, 1);
    assert_int_equal(s.timers, 1);
    reactor_cares_destroy(w->rc);
    w->rc = NULL;
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(b->answers[i].calls, 1);
        assert_int_equal(b->answers[i].status, ARES_EDESTRUCTION);
    }
    s = stats(w);
    assert_int_equal(s.channels, 0);
    assert_int_equal(s.timers, 0);
    unsigned char buf[512];
    unsigned datagrams = 0;
    while (recv(w->hole, buf, sizeof buf, MSG_DONTWAIT) > 0)
        datagrams++;
    assert_int_equal(datagrams, n);
    /* teardown checks the loop's blocks and c-ares's */
}

static void destroy_from_a_query_callback_is_deferred(void **state)
{
    world *w = *state;
    const unsigned n = 10;
    batch *b = &w->b;
    world_resolver(w, 2000, 3, 0);
    batch_init(b, w, n, n);
    b->destroy_in_callback = 1;
    submit(b);
    int finished = run_until(w, &b->done, n, WAIT_MS);
    int ok = 0, destroyed = 0, once = 1;
    for (unsigned i = 0; i < n; i++) {
        ok += b->answers[i].status == ARES_SUCCESS;
        destroyed += b->answers[i].status == ARES_EDESTRUCTION;
        once &= b->answers[i].calls == 1;
    }
    print_message("contrib.cares.%s: destroyed in the first of %u callbacks: %d answered in that "
                  "step, %d ARES_EDESTRUCTION after it\n",
                  reactor_backend_name(w->r), n, ok, destroyed);
    assert_true(finished);
    assert_true(once);
    assert_true(ok >= 1);
    assert_int_equal(ok + destroyed, (int)n);
    assert_null(w->rc);
    reactor_stats_t s = stats(w);
    assert_int_equal(s.channels, 0);
    assert_int_equal(s.timers, 0);
}

static void example_resolves_the_names_on_its_command_line(void **state)
{
    world *w = *state;
    char server[32], out[4096];
    size_t len = 0;
    int pipefd[2], status = -1;
    snprintf(server, sizeof server, "127.0.0.1:%d", w->port);
    char path[] = RC_EXAMPLE, opt[] = "--server", v4[] = "-4", n1[] = "n1.rx.test",
         n499[] = "n499.rx.test";
    char *argv[] = {path, opt, server, v4, n1, n499, NULL};
    assert_int_equal(pipe(pipefd), 0);
    pid_t pid = spawn(RC_EXAMPLE, argv, pipefd[1]);
    close(pipefd[1]);
    assert_true(pid > 0);
    for (uint64_t end = now_ms() + WAIT_MS, t; (t = now_ms()) < end && len < sizeof out - 1;) {
        struct pollfd p = {.fd = pipefd[0], .events = POLLIN};
        if (poll(&p, 1, (int)(end - t)) <= 0)
            continue;
        ssize_t got = read(pipefd[0], out + len, sizeof out - 1 - len);
        if (got <= 0)
            break; /* end of output: the example exited */
        len += (size_t)got;
    }
    close(pipefd[0]);
    out[len] = '\0';
    kill(pid, SIGKILL); /* a no-op when it exited, as it should have */
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    print_message("%s", out);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_non_null(strstr(out, "n1.rx.test 10.20.0.2\n"));
    assert_non_null(strstr(out, "n499.rx.test 10.20.2.100\n"));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(lookups_of_500_names_are_all_answered, setup_dnsmasq,
                                        teardown),
        cmocka_unit_test_setup_teardown(lookups_over_tcp_are_all_answered, setup_dnsmasq, teardown),
        cmocka_unit_test_setup_teardown(unanswered_query_times_out_on_schedule, setup_hole,
                                        teardown),
        cmocka_unit_test_setup_teardown(query_submitted_between_steps_times_out_on_its_own_schedule,
                                        setup_hole, teardown),
        cmocka_unit_test_setup_teardown(destroy_with_queries_in_flight_leaks_nothing, setup_hole,
                                        teardown),
        cmocka_unit_test_setup_teardown(destroy_from_a_query_callback_is_deferred, setup_dnsmasq,
                                        teardown),
        cmocka_unit_test_setup_teardown(example_resolves_the_names_on_its_command_line,
                                        setup_dnsmasq, teardown),
    };
    size_t n = sizeof tests / sizeof tests[0];
    if (argc < 2 || (strcmp(argv[1], "poll") != 0 && strcmp(argv[1], "epoll") != 0)) {
        fprintf(stderr, "usage: %s poll|epoll [case]\n", argv[0]);
        return 2;
    }
    test__backend = strcmp(argv[1], "poll") == 0 ? REACTOR_BACKEND_POLL : REACTOR_BACKEND_EPOLL;
    signal(SIGPIPE, SIG_IGN);
    if (ares_library_init_mem(ARES_LIB_INIT_ALL, test__ares_malloc, test__ares_free,
                              test__ares_realloc) != ARES_SUCCESS) {
        fprintf(stderr, "ares_library_init_mem failed\n");
        return 2;
    }
    int rc = -1;
    if (argc > 2) {
        for (size_t i = 0; i < n; i++)
            if (strcmp(tests[i].name, argv[2]) == 0)
                rc = _cmocka_run_group_tests("contrib.cares", &tests[i], 1, NULL, NULL);
        if (rc < 0)
            fprintf(stderr, "contrib.cares: no test named %s\n", argv[2]);
    } else {
        rc = _cmocka_run_group_tests("contrib.cares", tests, n, NULL, NULL);
    }
    ares_library_cleanup();
    return rc < 0 ? 2 : rc;
}
