/* common.c - the harness: argument parsing, the clock, a repeatable random sequence, socket
 * helpers and the one result format the script reads. A watchdog (alarm() on POSIX, a sleeping
 * thread on Windows) turns a hung implementation into a failed run instead of a hung bench. */
#include "bench.h"
#include "bench_net.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(_WIN32)
#include <fcntl.h>
#include <io.h>
#include <windows.h>
#else
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <time.h>
#include <unistd.h>
#endif

const bench_impl *const bench_impls[] = {
#if defined(_WIN32)
    &bench_impl_raw_afd,
    &bench_impl_reactor_afd,
#else
    &bench_impl_raw_epoll,
    &bench_impl_raw_poll,
    &bench_impl_reactor_epoll,
    &bench_impl_reactor_poll,
#endif
#if defined(BENCH_HAVE_LIBUV)
    &bench_impl_libuv,
#endif
#if defined(BENCH_HAVE_LIBUV_SRC)
    &bench_impl_libuv_src,
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

#if defined(_WIN32)
static DWORD WINAPI common__watchdog(void *arg)
{
    Sleep((DWORD)(uintptr_t)arg * 1000u);
    fprintf(stderr, "watchdog: still running after %u s\n", (unsigned)(uintptr_t)arg);
    fflush(stderr);
    ExitProcess(2);
}
#endif

/* Arms the watchdog and, on Windows, starts Winsock. */
static void common__platform_start(unsigned limit_s)
{
#if defined(_WIN32)
    WSADATA wsa;
    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) {
        fprintf(stderr, "WSAStartup failed\n");
        exit(2);
    }
    HANDLE t = CreateThread(NULL, 0, common__watchdog, (void *)(uintptr_t)limit_s, 0, NULL);
    if (!t) {
        fprintf(stderr, "watchdog thread: error %lu\n", (unsigned long)GetLastError());
        exit(2);
    }
    CloseHandle(t);
#else
    alarm(limit_s); /* SIGALRM's default action ends the process: a failed run */
#endif
}

const bench_impl *bench_start(int argc, char **argv, const char *usage, bench_args *out)
{
    out->argc = argc;
    out->argv = argv;
#if defined(_WIN32)
    _setmode(_fileno(stdout), _O_BINARY); /* "\n", not "\r\n": the scripts read it */
#endif
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
            common__platform_start((unsigned)bench_arg(out, "--watchdog", 120));
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
#if defined(_WIN32)
    static LARGE_INTEGER freq; /* constant from boot; read once */
    LARGE_INTEGER c;
    if (!freq.QuadPart)
        QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&c);
    uint64_t f = (uint64_t)freq.QuadPart, t = (uint64_t)c.QuadPart;
    return t / f * 1000000000u + t % f * 1000000000u / f;
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
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

void bench_nonblock(bench_sock fd)
{
#if defined(_WIN32)
    u_long on = 1;
    if (ioctlsocket(fd, FIONBIO, &on) != 0) {
        fprintf(stderr, "ioctlsocket(FIONBIO): error %d\n", WSAGetLastError());
        exit(2);
    }
#else
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        perror("fcntl");
        exit(2);
    }
#endif
}

void bench_sock_close(bench_sock s)
{
#if defined(_WIN32)
    closesocket(s);
#else
    close(s);
#endif
}

static int common__invalid(bench_sock s)
{
#if defined(_WIN32)
    return s == INVALID_SOCKET;
#else
    return s < 0;
#endif
}

static void common__net_fail(const char *what)
{
#if defined(_WIN32)
    fprintf(stderr, "%s: Winsock error %d\n", what, WSAGetLastError());
#else
    fprintf(stderr, "%s: %s\n", what, strerror(errno));
#endif
    exit(2);
}

bench_sock bench_tcp_listen(struct sockaddr_in *addr)
{
    bench_sock lfd = socket(AF_INET, SOCK_STREAM, 0);
    socklen_t alen = sizeof *addr;
    if (common__invalid(lfd))
        common__net_fail("socket");
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)addr, sizeof *addr) != 0 || listen(lfd, 1024) != 0 ||
        getsockname(lfd, (struct sockaddr *)addr, &alen) != 0)
        common__net_fail("listen");
    return lfd;
}

void bench_tcp_pair(bench_sock lfd, const struct sockaddr_in *addr, bench_sock *client,
                    bench_sock *server)
{
    bench_sock c = socket(AF_INET, SOCK_STREAM, 0);
    if (common__invalid(c))
        common__net_fail("socket");
    if (connect(c, (const struct sockaddr *)addr, sizeof *addr) != 0)
        common__net_fail("connect");
    bench_sock s = accept(lfd, NULL, NULL);
    if (common__invalid(s))
        common__net_fail("accept");
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, (const void *)&one, sizeof one);
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const void *)&one, sizeof one);
    bench_nonblock(c);
    bench_nonblock(s);
    *client = c;
    *server = s;
}

bench_sock *bench_socketpairs(uint32_t n)
{
    bench_sock *fds = malloc((size_t)n * 2 * sizeof *fds);
    if (!fds) {
        perror("malloc");
        exit(2);
    }
#if defined(_WIN32)
    /* Windows has no socketpair: loopback TCP pairs, Nagle off (a socketpair has none). */
    struct sockaddr_in addr;
    bench_sock lfd = bench_tcp_listen(&addr);
    for (uint32_t i = 0; i < n; i++)
        bench_tcp_pair(lfd, &addr, &fds[2 * i], &fds[2 * i + 1]);
    closesocket(lfd);
#else
    for (uint32_t i = 0; i < n; i++) {
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, &fds[2 * i]) != 0) {
            fprintf(stderr, "socketpair %u of %u: %s (open-file limit?)\n", i, n, strerror(errno));
            exit(2);
        }
        bench_nonblock(fds[2 * i]);
        bench_nonblock(fds[2 * i + 1]);
    }
#endif
    return fds;
}

void bench_close_all(bench_sock *fds, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++)
        bench_sock_close(fds[i]);
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
