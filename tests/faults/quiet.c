/* quiet.c - measuring that a loop with nothing to do waits instead of spinning. */
#include "quiet.h"

#include <stdio.h>

#if defined(_WIN32)
#include <windows.h>
#else
#include <time.h>
#endif

uint64_t fq_thread_cpu_ms(void)
{
#if defined(_WIN32)
    FILETIME created, exited, kernel, user;
    if (!GetThreadTimes(GetCurrentThread(), &created, &exited, &kernel, &user))
        return 0;
    ULARGE_INTEGER k, u;
    k.LowPart = kernel.dwLowDateTime;
    k.HighPart = kernel.dwHighDateTime;
    u.LowPart = user.dwLowDateTime;
    u.HighPart = user.dwHighDateTime;
    return (k.QuadPart + u.QuadPart) / 10000u; /* 100 ns units */
#else
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
#endif
}

static void quiet__flag(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)r;
    (void)t;
    *(int *)arg = 1;
}

fq_window fq_run_window(sup_loop *f, uint64_t window_ms, uint64_t max_iterations)
{
    fq_window w = {0, 0, 0, 0, 0};
    int done = 0;
    reactor_timer_t t;
    assert_int_equal(reactor_timer_start(f->r, window_ms, 0, quiet__flag, &done, &t), 0);
    reactor_stats_t before = sup_stats(f);
    uint64_t cpu0 = fq_thread_cpu_ms(), wall0 = sup_clock_ns();
    for (uint64_t i = 0; !done && i < max_iterations; i++) {
        int rc = reactor_run(f->r, REACTOR_RUN_ONCE);
        if (rc < 0)
            fail_msg("reactor_run: %s", reactor_err_name(rc));
    }
    w.cpu_ms = fq_thread_cpu_ms() - cpu0;
    w.wall_ms = (sup_clock_ns() - wall0) / 1000000u;
    if (!done)
        assert_int_equal(reactor_timer_stop(f->r, t), 0);
    reactor_stats_t after = sup_stats(f);
    w.iterations = after.iterations - before.iterations;
    w.dispatched = after.events_dispatched - before.events_dispatched;
    w.stale = after.stale_completions - before.stale_completions;
    return w;
}

void fq_assert_quiet(const fq_window *w, uint64_t iterations)
{
    if (w->iterations > iterations || w->cpu_ms * 5 > w->wall_ms + 5) {
        fail_msg("not quiet: %llu iterations (allowed %llu), %llu callbacks, %llu stale reports, "
                 "%llu ms CPU in %llu ms",
                 (unsigned long long)w->iterations, (unsigned long long)iterations,
                 (unsigned long long)w->dispatched, (unsigned long long)w->stale,
                 (unsigned long long)w->cpu_ms, (unsigned long long)w->wall_ms);
    }
}
