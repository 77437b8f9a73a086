/* platform.h - the one core header that knows the OS: which backends are built, which one
 * DEFAULT picks (and falls back to), and the monotonic clock. Backend files hold the rest of the
 * platform code. */
#ifndef RX_PLATFORM_H
#define RX_PLATFORM_H

#include <stdint.h>

#if defined(_WIN32)
#define RX_HAVE_AFD 1
#define RX_HAVE_POLL 1 /* WSAPoll */
#define RX_DEFAULT_BACKEND REACTOR_BACKEND_AFD
/* DEFAULT falls back to it where AFD is refused (old Wine, some sandboxes). */
#define RX_FALLBACK_BACKEND REACTOR_BACKEND_POLL
#include <windows.h>
#else
#define RX_HAVE_POLL 1
#if defined(__linux__) && defined(RX_BUILD_EPOLL)
#define RX_HAVE_EPOLL 1
#define RX_DEFAULT_BACKEND REACTOR_BACKEND_EPOLL
#else
#define RX_DEFAULT_BACKEND REACTOR_BACKEND_POLL
#endif
#include <time.h>
#endif

/* Monotonic nanoseconds from an arbitrary origin. */
static inline uint64_t rx_clock_ns(void)
{
#if defined(_WIN32)
    LARGE_INTEGER freq, now;
    QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&now);
    uint64_t f = (uint64_t)freq.QuadPart, c = (uint64_t)now.QuadPart;
    return (c / f) * 1000000000u + (c % f) * 1000000000u / f;
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
}

/* A hint inside a spin-wait: lets the sibling hyperthread run and eases the memory order
 * machinery. Nothing where no hint is known. */
static inline void rx_cpu_relax(void)
{
#if defined(_MSC_VER)
    YieldProcessor();
#elif (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
    __builtin_ia32_pause();
#elif (defined(__GNUC__) || defined(__clang__)) && defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#endif
