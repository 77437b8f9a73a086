/* test_hiredis.c - the hiredis adapter against a real redis-server that each case starts on
 * loopback (fork/exec on a port it picks; killed and reaped in teardown whatever happened).
 * Every case ends with the context freed, the loop destroyed and zero live reactor blocks;
 * ASan and valgrind check hiredis's side. Callbacks only count: the asserts run between waits,
 * never inside reactor_run. */
#include "fixture.h"
#include "reactor_hiredis.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

#define RHT_WAIT_MS 20000u /* a reactor timer bounds every wait (CTest's limit: 60 s) */
#define RHT_PIPELINE 10000 /* keys in the pipelined case: as many SETs, then as many GETs */
#define RHT_BATCH 500      /* keys per batch elsewhere: small enough to sit in socket buffers */

/* ---- the server: fork/exec, wait until it answers PING, kill and reap ---- */

typedef struct rht_server {
    pid_t pid; /* 0: not running */
    int port;
} rht_server;

/* A port nothing listens on now: bind to 0 and let the kernel choose. -1 on failure. */
static int rht__free_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    int port = -1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

static pid_t rht__spawn(int port)
{
    char path[] = RHT_REDIS_SERVER, a_port[] = "--port", a_bind[] = "--bind",
         v_bind[] = "127.0.0.1", a_save[] = "--save", v_save[] = "", a_aof[] = "--appendonly",
         v_no[] = "no", a_daemon[] = "--daemonize", a_log[] = "--loglevel", v_log[] = "warning";
    char v_port[16];
    snprintf(v_port, sizeof v_port, "%d", port);
    char *argv[] = {path,  a_port, v_port,   a_bind, v_bind, a_save, v_save,
                    a_aof, v_no,   a_daemon, v_no,   a_log,  v_log,  NULL};
    long max_fd = sysconf(_SC_OPEN_MAX);
    if (max_fd < 0 || max_fd > 1024)
        max_fd = 1024;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0)
        return pid; /* the child's pid, or -1 */
#if defined(__linux__)
    /* The server dies with the test, even when a crash or a CTest timeout skips teardown. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        _exit(127);
#else
    (void)parent;
#endif
    /* Only stdin/stdout/stderr: an inherited client socket would keep a connection open. */
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
        dup2(devnull, STDIN_FILENO);
        dup2(devnull, STDOUT_FILENO);
    }
    for (long fd = 3; fd < max_fd; fd++)
        close((int)fd);
    execv(path, argv);
    _exit(127);
}

/* 1 when the server on port answers and is process pid (INFO's process_id): not another
 * test's server that won a race for the same port. */
static int rht__answers(int port, pid_t pid)
{
    struct timeval tv = {0, 200000};
    int ok = 0;
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (c != NULL && c->err == 0) {
        redisReply *reply = (redisReply *)redisCommand(c, "INFO server");
        if (reply != NULL && reply->type == REDIS_REPLY_STRING) {
            const char *id = strstr(reply->str, "process_id:");
            ok = id != NULL && strtol(id + strlen("process_id:"), NULL, 10) == (long)pid;
        }
        if (reply != NULL)
            freeReplyObject(reply);
    }
    if (c != NULL)
        redisFree(c);
    return ok;
}

static void rht_server_stop(rht_server *s)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGKILL);
    while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
        continue;
    s->pid = 0;
}

/* Starts a server on port (0: a free one; on failure another is tried) and waits, bounded, until
 * it answers. 0 or -1. */
static int rht_server_start(rht_server *s, int port)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        s->port = port != 0 ? port : rht__free_port();
        if (s->port <= 0)
            return -1;
        s->pid = rht__spawn(s->port);
        if (s->pid < 0) {
            s->pid = 0;
            return -1;
        }
        uint64_t deadline = sup_clock_ns() + 10000000000u;
        while (sup_clock_ns() < deadline) {
            if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
                s->pid = 0; /* exited: the port was taken, or worse */
                break;
            }
            if (rht__answers(s->port, s->pid))
                return 0;
            poll(NULL, 0, 10);
        }
        rht_server_stop(s);
    }
    fprintf(stderr, "redis-server (%s) did not start\n", RHT_REDIS_SERVER);
    return -1;
}

/* ---- one case's world ---- */

typedef struct rht {
    sup_loop *f; /* the loop, on the command line's backend, with the counting allocator */
    rht_server srv;
    redisAsyncContext *ac; /* NULL once hiredis has freed it */
    int connect_status;    /* 0: no connect callback yet; 1: REDIS_OK; -1: REDIS_ERR */
    int disconnects;
    int disconnect_status;
    int disconnect_err; /* ac->err at the disconnect callback */
    long replies;       /* reply callbacks with the expected reply */
    long nulls;         /* reply callbacks with NULL: the context failed or was freed */
    long bad;           /* reply callbacks with anything else */
    long free_at;       /* redisAsyncFree from the reply callback that makes replies reach this */
    long target;        /* what rht_wait_answered waits for */
} rht;

static void rht__count(rht *t, redisAsyncContext *ac, int ok, int null)
{
    if (null)
        t->nulls++;
    else if (ok)
        t->replies++;
    else
        t->bad++;
    if (t->free_at != 0 && t->replies == t->free_at) {
        t->free_at = 0;
        redisAsyncFree(ac); /* deferred by hiredis until this callback returns */
    }
}

static void rht__on_set(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply *reply = (redisReply *)r;
    (void)privdata;
    rht__count((rht *)ac->data, ac,
               reply != NULL && reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "OK") == 0,
               reply == NULL);
}

static void rht__value(char *buf, size_t n, long i)
{
    snprintf(buf, n, "value-%ld-%08lx", i, (unsigned long)i * 2654435761u);
}

static void rht__on_get(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply *reply = (redisReply *)r;
    char want[64];
    rht__value(want, sizeof want, (long)(intptr_t)privdata);
    rht__count((rht *)ac->data, ac,
               reply != NULL && reply->type == REDIS_REPLY_STRING && strcmp(reply->str, want) == 0,
               reply == NULL);
}

static void rht__on_connect(const redisAsyncContext *ac, int status)
{
    rht *t = (rht *)ac->data;
    t->connect_status = status == REDIS_OK ? 1 : -1;
    if (status != REDIS_OK)
        t->ac = NULL; /* hiredis frees it after this returns, with no disconnect callback */
}

static void rht__on_disconnect(const redisAsyncContext *ac, int status)
{
    rht *t = (rht *)ac->data;
    t->disconnects++;
    t->disconnect_status = status;
    t->disconnect_err = ac->err;
    t->ac = NULL;
}

static int rht_setup(void **state)
{
    void *fs = NULL;
    if (sup_setup(&fs) != 0)
        return -1;
    rht *t = calloc(1, sizeof *t);
    if (t == NULL || rht_server_start(&t->srv, 0) != 0) {
        free(t);
        sup_teardown(&fs);
        return -1;
    }
    t->f = (sup_loop *)fs;
    *state = t;
    return 0;
}

static int rht_teardown(void **state)
{
    rht *t = (rht *)*state;
    if (t->ac != NULL)
        redisAsyncFree(t->ac); /* before the loop goes: the cleanup hook removes the channel */
    rht_server_stop(&t->srv);
    void *fs = t->f;
    free(t);
    *state = NULL;
    return sup_teardown(&fs);
}

static void rht_connect(rht *t)
{
    t->connect_status = 0;
    t->disconnects = 0;
    t->ac = redisAsyncConnect("127.0.0.1", t->srv.port);
    assert_non_null(t->ac);
    assert_int_equal(t->ac->err, 0);
    t->ac->data = t;
    assert_int_equal(reactor_hiredis_attach(t->f->r, t->ac), 0);
    assert_int_equal(redisAsyncSetConnectCallback(t->ac, rht__on_connect), REDIS_OK);
    assert_int_equal(redisAsyncSetDisconnectCallback(t->ac, rht__on_disconnect), REDIS_OK);
}

/* Queues n SETs, then n GETs of the same keys, without waiting for any reply. */
static void rht_issue(rht *t, long first, long n)
{
    char value[64];
    for (long i = first; i < first + n; i++) {
        rht__value(value, sizeof value, i);
        assert_int_equal(redisAsyncCommand(t->ac, rht__on_set, (void *)(intptr_t)i,
                                           "SET key:%ld %s", i, value),
                         REDIS_OK);
    }
    for (long i = first; i < first + n; i++)
        assert_int_equal(redisAsyncCommand(t->ac, rht__on_get, (void *)(intptr_t)i, "GET key:%ld",
                                           i),
                         REDIS_OK);
}

static int rht__answered(void *ctx)
{
    rht *t = (rht *)ctx;
    return t->replies + t->nulls + t->bad >= t->target;
}

static int rht__gone(void *ctx)
{
    return ((rht *)ctx)->ac == NULL;
}

static int rht__written(void *ctx)
{
    rht *t = (rht *)ctx;
    return t->ac == NULL || sdslen(t->ac->c.obuf) == 0;
}

static int rht__connected(void *ctx)
{
    return ((rht *)ctx)->connect_status != 0;
}

/* Runs the loop until callbacks have answered `total` commands in all (bounded). */
static void rht_wait_answered(rht *t, long total)
{
    t->target = total;
    assert_true(sup_run_until(t->f, rht__answered, t, RHT_WAIT_MS));
}

static void rht_wait_gone(rht *t)
{
    assert_true(sup_run_until(t->f, rht__gone, t, RHT_WAIT_MS));
}

static uint64_t rht_channels(rht *t)
{
    return sup_stats(t->f).channels;
}

/* An idle connection reports nothing: WRITABLE was dropped once the output was written (a
 * level-triggered WRITABLE left on would fire in every iteration). */
static void rht_assert_idle(rht *t)
{
    uint64_t before = sup_stats(t->f).events_dispatched;
    for (int i = 0; i < 3; i++)
        assert_true(reactor_run(t->f->r, REACTOR_RUN_NOWAIT) >= 0);
    assert_int_equal(sup_stats(t->f).events_dispatched, before);
}

/* Disconnects cleanly (every pending reply first) and waits for the disconnect callback. */
static void rht_disconnect(rht *t)
{
    redisAsyncDisconnect(t->ac);
    rht_wait_gone(t);
    assert_int_equal(t->disconnects, 1);
    assert_int_equal(t->disconnect_status, REDIS_OK);
    assert_int_equal(rht_channels(t), 0);
}

/* ---- the cases ---- */

static void pipelined_set_then_get_checks_every_value(void **state)
{
    rht *t = (rht *)*state;
    rht_connect(t);
    uint64_t start = sup_clock_ns();
    rht_issue(t, 0, RHT_PIPELINE);
    rht_wait_answered(t, 2 * RHT_PIPELINE);
    uint64_t ns = sup_clock_ns() - start;
    assert_int_equal(t->replies, 2 * RHT_PIPELINE);
    assert_int_equal(t->nulls, 0);
    assert_int_equal(t->bad, 0);
    assert_int_equal(t->connect_status, 1);
    printf("contrib.hiredis.%s: %d pipelined commands (SET then GET) in %.1f ms: %.0f commands/s\n",
           sup_backend_arg(), 2 * RHT_PIPELINE, (double)ns / 1e6,
           2.0 * RHT_PIPELINE / ((double)(ns ? ns : 1) / 1e9));
    fflush(stdout);
    rht_assert_idle(t);
    rht_disconnect(t);
}

static void connect_callback_runs_without_commands(void **state)
{
    rht *t = (rht *)*state;
    rht_connect(t);
    assert_int_equal(rht_channels(t), 1);
    assert_true(sup_run_until(t->f, rht__connected, t, RHT_WAIT_MS));
    assert_int_equal(t->connect_status, 1);
    rht_assert_idle(t);
    rht_disconnect(t);
}

static void server_killed_with_commands_in_flight_reports_error_then_reconnects(void **state)
{
    rht *t = (rht *)*state;
    rht_connect(t);
    rht_issue(t, 0, RHT_BATCH);
    rht_wait_answered(t, 2 * RHT_BATCH);
    assert_int_equal(t->replies, 2 * RHT_BATCH);

    /* A stopped server takes the next batch into its socket and answers nothing. */
    assert_int_equal(kill(t->srv.pid, SIGSTOP), 0);
    rht_issue(t, RHT_BATCH, RHT_BATCH);
    assert_true(sup_run_until(t->f, rht__written, t, RHT_WAIT_MS));
    assert_non_null(t->ac);
    int port = t->srv.port;
    rht_server_stop(&t->srv); /* SIGKILL with our commands unread: the kernel resets */
    rht_wait_gone(t);
    assert_int_equal(t->disconnects, 1);
    assert_int_equal(t->disconnect_status, REDIS_ERR);
    assert_int_equal(t->nulls, 2 * RHT_BATCH); /* every command in flight failed, once */
    assert_int_equal(t->replies, 2 * RHT_BATCH);
    assert_int_equal(t->bad, 0);
    assert_int_equal(rht_channels(t), 0);

    /* The same port again (a restart), a new context, and on. */
    assert_int_equal(rht_server_start(&t->srv, port), 0);
    rht_connect(t);
    rht_issue(t, 2 * RHT_BATCH, RHT_BATCH);
    rht_wait_answered(t, 6 * RHT_BATCH);
    assert_int_equal(t->replies, 4 * RHT_BATCH);
    assert_int_equal(t->nulls, 2 * RHT_BATCH);
    assert_int_equal(t->bad, 0);
    rht_disconnect(t);
}

static void server_killed_between_batches_reports_error_then_reconnects(void **state)
{
    rht *t = (rht *)*state;
    rht_connect(t);
    rht_issue(t, 0, RHT_BATCH);
    rht_wait_answered(t, 2 * RHT_BATCH);
    int port = t->srv.port;
    rht_server_stop(&t->srv); /* an idle connection: the end of stream is all there is */
    rht_wait_gone(t);
    assert_int_equal(t->disconnects, 1);
    assert_int_equal(t->disconnect_status, REDIS_ERR);
    assert_int_equal(t->nulls, 0);
    assert_int_equal(rht_channels(t), 0);

    assert_int_equal(rht_server_start(&t->srv, port), 0);
    rht_connect(t);
    rht_issue(t, RHT_BATCH, RHT_BATCH);
    rht_wait_answered(t, 4 * RHT_BATCH);
    assert_int_equal(t->replies, 4 * RHT_BATCH);
    assert_int_equal(t->nulls, 0);
    assert_int_equal(t->bad, 0);
    rht_disconnect(t);
}

static void free_with_commands_in_flight_fails_them_and_leaks_nothing(void **state)
{
    rht *t = (rht *)*state;
    rht_connect(t);
    assert_int_equal(kill(t->srv.pid, SIGSTOP), 0);
    rht_issue(t, 0, RHT_BATCH);
    assert_true(sup_run_until(t->f, rht__written, t, RHT_WAIT_MS));
    redisAsyncContext *ac = t->ac;
    assert_non_null(ac);
    redisAsyncFree(ac); /* outside any callback: freed at once */
    assert_null(t->ac);
    assert_int_equal(t->disconnects, 1);
    assert_int_equal(t->disconnect_status, REDIS_OK); /* a free is never an error */
    assert_int_equal(t->nulls, 2 * RHT_BATCH);
    assert_int_equal(rht_channels(t), 0);
    sup_assert_loop_works(t->f);
}

static void free_from_reply_callback_fails_the_rest_and_leaks_nothing(void **state)
{
    rht *t = (rht *)*state;
    rht_connect(t);
    t->free_at = 10;
    rht_issue(t, 0, RHT_BATCH);
    rht_wait_gone(t);
    assert_int_equal(t->replies, 10);
    assert_int_equal(t->nulls, 2 * RHT_BATCH - 10);
    assert_int_equal(t->bad, 0);
    assert_int_equal(t->disconnects, 1);
    assert_int_equal(t->disconnect_status, REDIS_OK);
    assert_int_equal(rht_channels(t), 0);
    sup_assert_loop_works(t->f);
}

static void free_before_connecting_fails_queued_commands(void **state)
{
    rht *t = (rht *)*state;
    rht_connect(t);
    rht_issue(t, 0, RHT_BATCH);
    redisAsyncContext *ac = t->ac;
    t->ac = NULL; /* never connected: no disconnect callback will clear it */
    redisAsyncFree(ac);
    assert_int_equal(t->nulls, 2 * RHT_BATCH);
    assert_int_equal(t->connect_status, 0);
    assert_int_equal(t->disconnects, 0);
    assert_int_equal(rht_channels(t), 0);
    sup_assert_loop_works(t->f);
}

static void refused_connect_reported_through_connect_callback(void **state)
{
    rht *t = (rht *)*state;
    int port = t->srv.port;
    rht_server_stop(&t->srv); /* nothing listens there now */
    t->ac = redisAsyncConnect("127.0.0.1", port);
    assert_non_null(t->ac);
    if (t->ac->err != 0) { /* refused within connect(2) itself: nothing for the adapter */
        assert_int_equal(reactor_hiredis_attach(t->f->r, t->ac), REACTOR_EINVAL);
        redisAsyncFree(t->ac);
        t->ac = NULL;
        return;
    }
    t->ac->data = t;
    assert_int_equal(reactor_hiredis_attach(t->f->r, t->ac), 0);
    assert_int_equal(redisAsyncSetConnectCallback(t->ac, rht__on_connect), REDIS_OK);
    assert_int_equal(redisAsyncSetDisconnectCallback(t->ac, rht__on_disconnect), REDIS_OK);
    assert_int_equal(redisAsyncCommand(t->ac, rht__on_set, NULL, "SET a b"), REDIS_OK);
    assert_true(sup_run_until(t->f, rht__connected, t, RHT_WAIT_MS));
    assert_int_equal(t->connect_status, -1);
    assert_null(t->ac);
    assert_int_equal(t->nulls, 1);
    assert_int_equal(t->disconnects, 0);
    assert_int_equal(rht_channels(t), 0);
}

static void attach_rejects_bad_arguments_and_changes_nothing(void **state)
{
    rht *t = (rht *)*state;
    redisAsyncContext *ac = redisAsyncConnect("127.0.0.1", t->srv.port);
    assert_non_null(ac);
    assert_int_equal(ac->err, 0);
    assert_int_equal(reactor_hiredis_attach(NULL, ac), REACTOR_EINVAL);
    assert_int_equal(reactor_hiredis_attach(t->f->r, NULL), REACTOR_EINVAL);
    assert_null(ac->ev.data);
    assert_int_equal(rht_channels(t), 0);
    assert_int_equal(reactor_hiredis_attach(t->f->r, ac), 0);
    void *attached = ac->ev.data;
    assert_non_null(attached);
    assert_int_equal(reactor_hiredis_attach(t->f->r, ac), REACTOR_EINVAL); /* already attached */
    assert_ptr_equal(ac->ev.data, attached);
    assert_int_equal(rht_channels(t), 1);
    redisAsyncFree(ac);
    assert_int_equal(rht_channels(t), 0);
}

static void rht__free_on_timer(reactor_t *r, reactor_timer_t timer, void *arg)
{
    rht *t = (rht *)arg;
    (void)r;
    (void)timer;
    if (t->ac != NULL)
        redisAsyncFree(t->ac);
}

/* What the adapter documents for hiredis 0.14, which has no timeouts: a reactor timer frees a
 * context whose server stopped answering. */
static void deadline_timer_frees_a_stalled_context(void **state)
{
    rht *t = (rht *)*state;
    reactor_timer_t timer;
    rht_connect(t);
    assert_true(sup_run_until(t->f, rht__connected, t, RHT_WAIT_MS));
    assert_int_equal(kill(t->srv.pid, SIGSTOP), 0);
    rht_issue(t, 0, RHT_BATCH);
    assert_int_equal(reactor_timer_start(t->f->r, 100, 0, rht__free_on_timer, t, &timer), 0);
    rht_wait_gone(t);
    assert_int_equal(t->nulls, 2 * RHT_BATCH);
    assert_int_equal(t->disconnects, 1);
    assert_int_equal(t->disconnect_status, REDIS_OK);
    assert_int_equal(rht_channels(t), 0);
}

/* hiredis >= 1.0: the scheduleTimer hook on a reactor timer. */
static void command_timeout_fails_a_stalled_command(void **state)
{
#if HIREDIS_MAJOR >= 1
    rht *t = (rht *)*state;
    redisOptions opt;
    struct timeval tv = {0, 200000};
    memset(&opt, 0, sizeof opt);
    REDIS_OPTIONS_SET_TCP(&opt, "127.0.0.1", t->srv.port);
    opt.command_timeout = &tv;
    t->ac = redisAsyncConnectWithOptions(&opt);
    assert_non_null(t->ac);
    assert_int_equal(t->ac->err, 0);
    t->ac->data = t;
    assert_int_equal(reactor_hiredis_attach(t->f->r, t->ac), 0);
    assert_int_equal(redisAsyncSetConnectCallback(t->ac, rht__on_connect), REDIS_OK);
    assert_int_equal(redisAsyncSetDisconnectCallback(t->ac, rht__on_disconnect), REDIS_OK);
    rht_issue(t, 0, RHT_BATCH);
    rht_wait_answered(t, 2 * RHT_BATCH); /* the timeout re-arms on every read: no false alarm */
    assert_int_equal(t->replies, 2 * RHT_BATCH);
    assert_int_equal(kill(t->srv.pid, SIGSTOP), 0);
    assert_int_equal(redisAsyncCommand(t->ac, rht__on_set, NULL, "SET a b"), REDIS_OK);
    rht_wait_gone(t);
    assert_int_equal(t->nulls, 1);
    assert_int_equal(t->disconnects, 1);
    assert_int_equal(t->disconnect_status, REDIS_ERR);
    assert_int_equal(t->disconnect_err, REDIS_ERR_TIMEOUT);
    assert_int_equal(rht_channels(t), 0);
    assert_int_equal(sup_stats(t->f).timers, 0);
#else
    (void)state;
    skip(); /* hiredis 0.14 has no scheduleTimer hook */
#endif
}

/* hiredis >= 1.0: a connect that hangs (the listener's accept queue is full, so the kernel
 * drops our SYN) fails after connect_timeout, armed by the attach itself. */
static void connect_timeout_fails_a_connect_that_hangs(void **state)
{
#if HIREDIS_MAJOR >= 1
    rht *t = (rht *)*state;
    reactor_socket_t listener, filler;
    uint16_t port;
    redisOptions opt;
    struct timeval tv = {0, 200000};
    assert_int_equal(sup_listen(&listener, &port), 0);
    sup_track(t->f, listener);
    assert_int_equal(listen(listener, 0), 0); /* an accept queue of one */
    assert_int_equal(sup_connect_start(port, &filler), 0);
    sup_track(t->f, filler);
    struct pollfd pfd = {filler, POLLOUT, 0};
    assert_int_equal(poll(&pfd, 1, 5000), 1); /* connected: it holds the one place */
    memset(&opt, 0, sizeof opt);
    REDIS_OPTIONS_SET_TCP(&opt, "127.0.0.1", port);
    opt.connect_timeout = &tv;
    t->ac = redisAsyncConnectWithOptions(&opt);
    assert_non_null(t->ac);
    assert_int_equal(t->ac->err, 0);
    t->ac->data = t;
    assert_int_equal(reactor_hiredis_attach(t->f->r, t->ac), 0);
    assert_int_equal(sup_stats(t->f).timers, 1);
    assert_int_equal(redisAsyncSetConnectCallback(t->ac, rht__on_connect), REDIS_OK);
    assert_true(sup_run_until(t->f, rht__connected, t, RHT_WAIT_MS));
    assert_int_equal(t->connect_status, -1);
    assert_null(t->ac);
    assert_int_equal(rht_channels(t), 0);
    assert_int_equal(sup_stats(t->f).timers, 0);
#else
    (void)state;
    skip(); /* hiredis 0.14 has no scheduleTimer hook */
#endif
}

/* test_contrib_hiredis --with-server PROGRAM [ARGS...]: starts a server, runs
 * PROGRAM 127.0.0.1 PORT ARGS... and stops the server again; PROGRAM's exit status. The
 * example's smoke test. */
static int rht_with_server(int argc, char **argv)
{
    rht_server srv = {0, 0};
    char host[] = "127.0.0.1", port[16];
    int status = 0;
    if (argc < 3)
        return 2;
    char **args = calloc((size_t)argc + 1, sizeof *args);
    if (args == NULL || rht_server_start(&srv, 0) != 0) {
        free(args);
        return 2;
    }
    snprintf(port, sizeof port, "%d", srv.port);
    args[0] = argv[2];
    args[1] = host;
    args[2] = port;
    for (int i = 3; i < argc; i++)
        args[i] = argv[i];
    pid_t pid = fork();
    if (pid == 0) {
        execv(args[0], args);
        _exit(127);
    }
    while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
        continue;
    rht_server_stop(&srv);
    free(args);
    return pid > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN); /* hiredis writes with write(): a killed server means EPIPE */
    if (argc > 1 && strcmp(argv[1], "--with-server") == 0)
        return rht_with_server(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(pipelined_set_then_get_checks_every_value, rht_setup,
                                        rht_teardown),
        cmocka_unit_test_setup_teardown(connect_callback_runs_without_commands, rht_setup,
                                        rht_teardown),
        cmocka_unit_test_setup_teardown(
            server_killed_with_commands_in_flight_reports_error_then_reconnects, rht_setup,
            rht_teardown),
        cmocka_unit_test_setup_teardown(server_killed_between_batches_reports_error_then_reconnects,
                                        rht_setup, rht_teardown),
        cmocka_unit_test_setup_teardown(free_with_commands_in_flight_fails_them_and_leaks_nothing,
                                        rht_setup, rht_teardown),
        cmocka_unit_test_setup_teardown(free_from_reply_callback_fails_the_rest_and_leaks_nothing,
                                        rht_setup, rht_teardown),
        cmocka_unit_test_setup_teardown(free_before_connecting_fails_queued_commands, rht_setup,
                                        rht_teardown),
        cmocka_unit_test_setup_teardown(refused_connect_reported_through_connect_callback,
                                        rht_setup, rht_teardown),
        cmocka_unit_test_setup_teardown(attach_rejects_bad_arguments_and_changes_nothing, rht_setup,
                                        rht_teardown),
        cmocka_unit_test_setup_teardown(deadline_timer_frees_a_stalled_context, rht_setup,
                                        rht_teardown),
        cmocka_unit_test_setup_teardown(command_timeout_fails_a_stalled_command, rht_setup,
                                        rht_teardown),
        cmocka_unit_test_setup_teardown(connect_timeout_fails_a_connect_that_hangs, rht_setup,
                                        rht_teardown),
    };
    return sup_main(argc, argv, "contrib.hiredis", tests, sizeof tests / sizeof tests[0], 1);
}
