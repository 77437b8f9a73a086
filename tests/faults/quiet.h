/* quiet.h - "no busy loop", measured: how many iterations, callbacks and how much of the loop
 * thread's CPU a bounded window of REACTOR_RUN_ONCE takes. A spinning loop burns its CPU even
 * when a wait that returns early is retried inside one ONCE call, so CPU is the honest count. */
#ifndef FAULTS_QUIET_H
#define FAULTS_QUIET_H

#include "fixture.h"

typedef struct fq_window {
    uint64_t iterations; /* loop iterations the window took */
    uint64_t dispatched; /* I/O callbacks in it */
    uint64_t stale;      /* backend reports for removed channels, dropped */
    uint64_t cpu_ms;     /* CPU the calling (loop) thread used */
    uint64_t wall_ms;
} fq_window;

/* CPU time of the calling thread in milliseconds. */
uint64_t fq_thread_cpu_ms(void);
/* Runs ONCE iterations until a window_ms timer fires (at most max_iterations) and measures. */
fq_window fq_run_window(sup_loop *f, uint64_t window_ms, uint64_t max_iterations);
/* Asserts the window was quiet: at most `iterations` iterations, no more than a fifth of the
 * window spent on the CPU (idle waits cost nothing; a spin costs all of it). */
void fq_assert_quiet(const fq_window *w, uint64_t iterations);

#endif
