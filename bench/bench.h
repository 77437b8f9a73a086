/* bench.h - the one interface every implementation under test fills (a struct of function
 * pointers), and the harness helpers the workloads share. Each peer lives in its own .c file:
 * libevent's event2/event.h and libev's ev.h cannot share a translation unit (EV_READ). */
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>
#include <stdint.h>

/* A socket as the OS names it: a descriptor on POSIX, a SOCKET (a kernel handle) on Windows. */
#if defined(_WIN32)
typedef uintptr_t bench_sock;
#else
typedef int bench_sock;
#endif

#define BENCH_READ (1u << 0)
#define BENCH_WRITE (1u << 1)

typedef void (*bench_io_cb)(void *arg, unsigned events);
typedef void (*bench_timer_cb)(void *arg);
typedef void (*bench_wake_cb)(void *arg);

typedef struct bench_config {
    uint32_t max_io;       /* I/O slots 0..max_io-1 */
    uint32_t max_timers;   /* timer slots 0..max_timers-1 */
    bench_wake_cb on_wake; /* NULL when the workload sends no wake-ups */
    void *wake_arg;
} bench_config;

/* Slots are the workload's names for watchers; an implementation keeps its native handle per
 * slot. Every call returns 0 on success. A NULL timer_start or wakeup means "not offered". */
typedef struct bench_impl {
    const char *name;
    const char *floor; /* the raw loop it is compared against, NULL for a floor itself */
    void *(*create)(const bench_config *cfg);
    void (*destroy)(void *lp);
    int (*io_add)(void *lp, uint32_t slot, bench_sock fd, unsigned events, bench_io_cb cb,
                  void *arg);
    int (*io_remove)(void *lp, uint32_t slot);
    int (*timer_start)(void *lp, uint32_t slot, uint64_t ms, bench_timer_cb cb, void *arg);
    int (*timer_stop)(void *lp, uint32_t slot);
    int (*run_once)(void *lp);    /* one iteration; blocks until something happened */
    int (*run_nowait)(void *lp);  /* one iteration that never blocks */
    int (*wakeup)(void *lp);      /* thread-safe */
    long (*loop_bytes)(void *lp); /* heap bytes the loop itself holds, or -1 */
} bench_impl;

/* The implementations built into this binary, NULL-terminated; peers missing at configure
 * time are absent. */
extern const bench_impl *const bench_impls[];

extern const bench_impl bench_impl_reactor_poll;
extern const bench_impl bench_impl_reactor_epoll;
extern const bench_impl bench_impl_raw_poll;
extern const bench_impl bench_impl_raw_epoll;
extern const bench_impl bench_impl_libuv;
extern const bench_impl bench_impl_libuv_src; /* a libuv built from source (bench.sh) */
extern const bench_impl bench_impl_libevent;
extern const bench_impl bench_impl_libev;
extern const bench_impl bench_impl_reactor_afd;
extern const bench_impl bench_impl_raw_afd;

/* ---- harness ---- */

typedef struct bench_args {
    int argc;
    char **argv;
} bench_args;

/* Handles --list and --help; finds --impl (exits 2 with a message when unknown). */
const bench_impl *bench_start(int argc, char **argv, const char *usage, bench_args *out);
/* The value of --key as a number, or def. */
uint64_t bench_arg(const bench_args *a, const char *key, uint64_t def);

uint64_t bench_now_ns(void);
/* xorshift64*: the same sequence for every implementation. */
uint64_t bench_rand(uint64_t *state);

void bench_nonblock(bench_sock fd);
/* n connected stream socket pairs, both ends non-blocking: fds[2i], fds[2i+1]. AF_UNIX
 * socketpairs on POSIX; loopback TCP pairs on Windows (no socketpair there). */
bench_sock *bench_socketpairs(uint32_t n);
void bench_close_all(bench_sock *fds, uint32_t count);

/* One tab-separated line on stdout: RESULT workload case impl metric value unit. */
void bench_result(const char *workload, const char *bcase, const char *impl, const char *metric,
                  double value, const char *unit);
/* Prints "FAIL ..." on stderr and exits 2: an implementation did not do the work. */
void bench_fail(const char *impl, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3), noreturn))
#endif
    ;
/* Exits 2 if err is non-zero, naming the call. */
void bench_check(const char *impl, int err, const char *what);

#endif
