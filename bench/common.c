/* common.c - the harness: argument parsing, the clock, a repeatable random sequence, socket
 * helpers and the one result format the script reads. A watchdog alarm turns a hung
 * implementation into a failed run instead of a hung bench. */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

const bench_impl *const bench_impls[] = {
    &bench_impl_raw_epoll,
    &bench_impl_raw_poll,
    &bench_impl_reactor_epoll,
    &bench_impl_reactor_poll,
#if defined(BENCH_HAVE_LIBUV)
    &bench_impl_libuv,
#endif
#if defined(BENCH_HAVE_LIBEVENT)
    &bench_impl_libevent,
#endif
#if defined(BENCH_HAVE_LIBEV)
    &bench_impl_libev,
#endif
    NULL,
};

static const char *common__value(const bench_args *a, const char *key)
{
    for (int i = 1; i + 1 < a->argc; i++)
        if (strcmp(a->argv[i], key) == 0)
            return a->argv[i + 1];
    return NULL;
}

const bench_impl *bench_start(int argc, char **argv, const char *usage, bench_args *out)
{
    out->argc = argc;
    out->argv = argv;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--list") == 0) {
            for (const bench_impl *const *p = bench_impls; *p; p++)
                printf("%s\n", (*p)->name);
            exit(0);
        }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: %s --impl NAME %s\n       %s --list\n", argv[0], usage, argv[0]);
            exit(0);
        }
    }
    const char *name = common__value(out, "--impl");
    if (!name) {
        fprintf(stderr, "usage: %s --impl NAME %s (--list names them)\n", argv[0], usage);
        exit(2);
    }
    for (const bench_impl *const *p = bench_impls; *p; p++)
        if (strcmp((*p)->name, name) == 0) {
            unsigned limit = (unsigned)bench_arg(out, "--watchdog", 120);
            alarm(limit); /* SIGALRM's default action ends the process: a failed run */
            return *p;
        }
    fprintf(stderr, "%s: implementation '%s' is not built in (see --list)\n", argv[0], name);
    exit(2);
}

uint64_t bench_arg(const bench_args *a, const char *key, uint64_t def)
{
    const char *v = common__value(a, key);
    if (!v)
        return def;
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    if (*end) {
        fprintf(stderr, "%s: not a number: %s\n", key, v);
        exit(2);
    }
    return (uint64_t)n;
}

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t bench_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

void bench_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        perror("fcntl");
        exit(2);
    }
}

int *bench_socketpairs(uint32_t n)
{
    int *fds = malloc((size_t)n * 2 * sizeof *fds);
    if (!fds) {
        perror("malloc");
        exit(2);
    }
    for (uint32_t i = 0; i < n; i++) {
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, &fds[2 * i]) != 0) {
            fprintf(stderr, "socketpair %u of %u: %s (open-file limit?)\n", i, n,
                    strerror(errno));
            exit(2);
        }
        bench_nonblock(fds[2 * i]);
        bench_nonblock(fds[2 * i + 1]);
    }
    return fds;
}

void bench_close_all(int *fds, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++)
        close(fds[i]);
    free(fds);
}

void bench_result(const char *workload, const char *bcase, const char *impl, const char *metric,
                  double value, const char *unit)
{
    printf("RESULT\t%s\t%s\t%s\t%s\t%.6g\t%s\n", workload, bcase, impl, metric, value, unit);
    fflush(stdout);
}

void bench_fail(const char *impl, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL %s: ", impl);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

void bench_check(const char *impl, int err, const char *what)
{
    if (err)
        bench_fail(impl, "%s returned %d", what, err);
}
