/* stats.c - what reactor_stats() tells you: the memory an idle channel costs (bytes_live with
 * N channels minus the empty loop, over N) and the allocations a steady-state iteration makes
 * (allocations_total across iterations that add and remove nothing: must be 0). POSIX only:
 * the channels are socketpairs.
 *
 *   stats [--backend poll|epoll] [N...]    default: 1000 8000 channels; exits 1 if an
 *                                          iteration allocated
 */
#include <reactor.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static void on_io(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    (void)r;
    (void)chn;
    (void)events;
    (*(uint64_t *)arg)++;
}

static void on_tick(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)r;
    (void)t;
    (void)arg;
}

static uint64_t bytes_live(const reactor_t *r)
{
    reactor_stats_t st;
    reactor_stats(r, &st);
    return st.bytes_live;
}

static uint64_t allocations(const reactor_t *r)
{
    reactor_stats_t st;
    reactor_stats(r, &st);
    return st.allocations_total;
}

/* Registers n socket ends (n / 2 socketpairs, both ends), measures, iterates, tears down. */
static int measure(const reactor_options_t *opts, int n, uint64_t *steady_allocs)
{
    reactor_t *r;
    int err = reactor_create(&r, opts);
    if (err) {
        fprintf(stderr, "stats: reactor_create: %s\n", reactor_strerror(err));
        return -1;
    }
    uint64_t empty = bytes_live(r);
    int *fds = malloc((size_t)n * sizeof *fds);
    reactor_chn_t *chn = malloc((size_t)n * sizeof *chn);
    uint64_t calls = 0;
    int added = 0;
    if (!fds || !chn)
        err = -1;
    for (; !err && added < n; added += 2) {
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds + added) != 0) {
            perror("socketpair");
            err = -1;
            break;
        }
        err = reactor_add(r, fds[added], REACTOR_READABLE, on_io, &calls, &chn[added]);
        if (!err)
            err = reactor_add(r, fds[added + 1], REACTOR_READABLE, on_io, &calls, &chn[added + 1]);
        if (err) {
            fprintf(stderr, "stats: reactor_add: %s\n", reactor_strerror(err));
            close(fds[added]);
            close(fds[added + 1]);
            break;
        }
    }
    if (!err) {
        uint64_t full = bytes_live(r);
        printf("%-5s %6d channels: %8llu bytes live, empty loop %llu: %.1f bytes per idle "
               "channel\n",
               reactor_backend_name(r), n, (unsigned long long)full, (unsigned long long)empty,
               (double)(full - empty) / n);

        /* Steady state: some channels readable, a repeating timer, modify back and forth. */
        reactor_timer_t t;
        reactor_timer_start(r, 0, 1, on_tick, NULL, &t);
        for (int i = 0; i < n && i < 64; i += 2)
            (void)!write(fds[i], "x", 1);
        reactor_run(r, REACTOR_RUN_NOWAIT); /* warm-up */
        uint64_t before = allocations(r);
        for (int i = 0; i < 1000; i++) {
            reactor_modify(r, chn[i % n], REACTOR_READABLE | REACTOR_WRITABLE);
            reactor_run(r, REACTOR_RUN_NOWAIT);
            reactor_modify(r, chn[i % n], REACTOR_READABLE);
        }
        *steady_allocs = allocations(r) - before;
        printf("%-5s %6d channels: %llu allocations in 1000 iterations (%llu callbacks)\n",
               reactor_backend_name(r), n, (unsigned long long)*steady_allocs,
               (unsigned long long)calls);
        reactor_timer_stop(r, t);
    }
    for (int i = 0; i < added; i++) {
        reactor_remove(r, chn[i]);
        close(fds[i]);
    }
    reactor_destroy(r);
    free(fds);
    free(chn);
    return err ? -1 : 0;
}

int main(int argc, char **argv)
{
    /* 8000 channels need 8000 descriptors: raise the soft limit to the hard one. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    reactor_options_t opts = {0};
    int first = 1;
    if (argc > 2 && !strcmp(argv[1], "--backend")) {
        opts.backend = !strcmp(argv[2], "epoll") ? REACTOR_BACKEND_EPOLL : REACTOR_BACKEND_POLL;
        first = 3;
    }
    static const int defaults[] = {1000, 8000};
    int count = argc > first ? argc - first : 2;
    int bad = 0;
    for (int i = 0; i < count; i++) {
        int n = argc > first ? atoi(argv[first + i]) : defaults[i];
        if (n < 2 || n > 65534 || n % 2) {
            fprintf(stderr, "usage: stats [--backend poll|epoll] [even N in 2..65534 ...]\n");
            return 2;
        }
        uint64_t steady = 0;
        if (measure(&opts, n, &steady) != 0)
            return 1;
        bad |= steady != 0;
    }
    return bad;
}
