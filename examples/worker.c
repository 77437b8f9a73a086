/* worker.c - worker threads hand results to the loop. Each worker computes, pushes its result
 * onto a mutex-protected queue and calls reactor_wakeup(), the one call that is safe from
 * another thread. Wake-ups coalesce, so the loop's on_wakeup callback drains the whole queue.
 *
 *   worker [--threads N] [--tasks K]      N threads x K tasks each; exits 0 when all arrived
 */
#include <reactor.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a tiny thread and mutex shim (C11 <threads.h> is missing on mingw-w64) ---- */
#if defined(_WIN32)
#include <windows.h>
typedef HANDLE thread_t;
typedef CRITICAL_SECTION mutex_t;
typedef DWORD thread_ret;
#define THREAD_CALL WINAPI
static int thread_start(thread_t *t, thread_ret(THREAD_CALL *fn)(void *), void *arg)
{
    *t = CreateThread(NULL, 0, fn, arg, 0, NULL);
    return *t ? 0 : -1;
}
static void thread_join(thread_t t)
{
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);
}
static void mutex_init(mutex_t *m)
{
    InitializeCriticalSection(m);
}
static void mutex_lock(mutex_t *m)
{
    EnterCriticalSection(m);
}
static void mutex_unlock(mutex_t *m)
{
    LeaveCriticalSection(m);
}
static void mutex_destroy(mutex_t *m)
{
    DeleteCriticalSection(m);
}
#else
#include <pthread.h>
typedef pthread_t thread_t;
typedef pthread_mutex_t mutex_t;
typedef void *thread_ret;
#define THREAD_CALL
static int thread_start(thread_t *t, thread_ret (*fn)(void *), void *arg)
{
    return pthread_create(t, NULL, fn, arg);
}
static void thread_join(thread_t t)
{
    pthread_join(t, NULL);
}
static void mutex_init(mutex_t *m)
{
    pthread_mutex_init(m, NULL);
}
static void mutex_lock(mutex_t *m)
{
    pthread_mutex_lock(m);
}
static void mutex_unlock(mutex_t *m)
{
    pthread_mutex_unlock(m);
}
static void mutex_destroy(mutex_t *m)
{
    pthread_mutex_destroy(m);
}
#endif

/* ---- the program ---- */

typedef struct result {
    struct result *next;
    int task;
    uint64_t value;
} result;

typedef struct shared {
    reactor_t *loop;
    mutex_t lock;
    result *head, *tail; /* the queue: workers push at the tail, the loop takes it all */
    int wakeup_errors;   /* written under lock */
} shared;

typedef struct worker {
    shared *sh;
    thread_t thread;
    int first, count; /* tasks [first, first + count) */
} worker;

typedef struct app {
    shared sh;
    reactor_timer_t deadline;
    int total, received, wrong, timed_out;
    unsigned char *seen; /* seen[task]: arrived once */
} app;

/* The work: steps of the Collatz sequence from task + 1, computed slowly on purpose. */
static uint64_t compute(int task)
{
    uint64_t n = (uint64_t)task + 1, steps = 0;
    while (n != 1) {
        n = (n & 1) ? 3 * n + 1 : n / 2;
        steps++;
    }
    return steps;
}

static thread_ret THREAD_CALL worker_main(void *arg)
{
    worker *w = arg;
    shared *sh = w->sh;
    for (int i = 0; i < w->count; i++) {
        result *res = malloc(sizeof *res);
        if (!res)
            abort();
        res->next = NULL;
        res->task = w->first + i;
        res->value = compute(res->task);
        mutex_lock(&sh->lock);
        if (sh->tail)
            sh->tail->next = res;
        else
            sh->head = res;
        sh->tail = res;
        mutex_unlock(&sh->lock);
        /* After the push, so the loop's drain is sure to see this result. */
        if (reactor_wakeup(sh->loop) != 0) {
            mutex_lock(&sh->lock);
            sh->wakeup_errors++;
            mutex_unlock(&sh->lock);
        }
    }
    return 0;
}

/* On the loop thread, after one or more wake-ups: take the whole queue, then work unlocked. */
static void on_wakeup(reactor_t *r, void *arg)
{
    app *a = arg;
    mutex_lock(&a->sh.lock);
    result *res = a->sh.head;
    a->sh.head = a->sh.tail = NULL;
    mutex_unlock(&a->sh.lock);
    while (res) {
        result *next = res->next;
        if (res->task < 0 || res->task >= a->total || a->seen[res->task] ||
            res->value != compute(res->task))
            a->wrong++;
        else
            a->seen[res->task] = 1;
        a->received++;
        free(res);
        res = next;
    }
    /* All in: stopping the deadline leaves nothing to wait for, so reactor_run returns. */
    if (a->received == a->total)
        reactor_timer_stop(r, a->deadline);
}

static void on_deadline(reactor_t *r, reactor_timer_t t, void *arg)
{
    app *a = arg;
    (void)t;
    a->timed_out = 1;
    reactor_stop(r);
}

static int arg_int(int argc, char **argv, const char *flag, int def)
{
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], flag))
            return atoi(argv[i + 1]);
    return def;
}

int main(int argc, char **argv)
{
    int threads = arg_int(argc, argv, "--threads", 4);
    int tasks = arg_int(argc, argv, "--tasks", 2000);
    if (threads < 1 || threads > 256 || tasks < 1 || tasks > 10000000) {
        fprintf(stderr, "usage: worker [--threads 1..256] [--tasks 1..10000000]\n");
        return 2;
    }
    app a;
    memset(&a, 0, sizeof a);
    a.total = threads * tasks;
    a.seen = calloc((size_t)a.total, 1);
    worker *w = calloc((size_t)threads, sizeof *w);
    if (!a.seen || !w) {
        fprintf(stderr, "worker: out of memory\n");
        return 1;
    }
    mutex_init(&a.sh.lock);

    reactor_options_t opts;
    memset(&opts, 0, sizeof opts);
    opts.on_wakeup = on_wakeup;
    opts.wakeup_arg = &a;
    int err = reactor_create(&a.sh.loop, &opts);
    if (!err)
        err = reactor_timer_start(a.sh.loop, 30000, 0, on_deadline, &a, &a.deadline);
    if (err) {
        fprintf(stderr, "worker: %s\n", reactor_strerror(err));
        return 1;
    }

    int started = 0;
    for (; started < threads; started++) {
        w[started].sh = &a.sh;
        w[started].first = started * tasks;
        w[started].count = tasks;
        if (thread_start(&w[started].thread, worker_main, &w[started]) != 0) {
            fprintf(stderr, "worker: cannot start thread %d\n", started);
            a.wrong++;
            break;
        }
    }
    /* Runs until the deadline timer is gone: stopped by on_wakeup, or fired. No channel is
     * needed; a loop with only on_wakeup could instead call REACTOR_RUN_ONCE in a loop. */
    if (started == threads)
        err = reactor_run(a.sh.loop, REACTOR_RUN_DEFAULT);
    for (int i = 0; i < started; i++)
        thread_join(w[i].thread);
    /* Anything pushed after the loop ended (never, when all went well) is drained here. */
    on_wakeup(a.sh.loop, &a);

    reactor_stats_t st;
    reactor_stats(a.sh.loop, &st);
    reactor_destroy(a.sh.loop);
    mutex_destroy(&a.sh.lock);
    free(w);
    free(a.seen);

    int ok = err >= 0 && !a.timed_out && !a.wrong && !a.sh.wakeup_errors && a.received == a.total;
    printf("worker: %d threads x %d tasks: %d results (%d wrong) in %llu wake-up callbacks "
           "for %d reactor_wakeup calls%s\n",
           threads, tasks, a.received, a.wrong, (unsigned long long)st.wakeups, a.total,
           a.timed_out ? ", DEADLINE PASSED" : "");
    if (err < 0)
        fprintf(stderr, "worker: reactor_run: %s\n", reactor_strerror(err));
    return ok ? 0 : 1;
}
