/* thread.h - a tiny portable thread, sleep and clock for the tests (pthreads or Win32). */
#ifndef SUP_THREAD_H
#define SUP_THREAD_H

#include <stdint.h>

typedef struct sup_thread sup_thread;

/* Starts fn(arg) on a new thread; NULL on failure. */
sup_thread *sup_thread_start(void (*fn)(void *), void *arg);
/* Waits for the thread to end and frees it. */
void sup_thread_join(sup_thread *t);
/* Sleeps at least ms milliseconds (only helper threads sleep, to let the loop block first). */
void sup_sleep_ms(unsigned ms);
/* The loop's monotonic clock, in nanoseconds. */
uint64_t sup_clock_ns(void);
/* Marks the calling thread as the loop thread / asks whether the caller is it. */
void sup_mark_loop_thread(void);
int sup_on_loop_thread(void);

/* Signals that interrupt the loop thread's wait (EINTR): installs a no-op SIGUSR1 handler
 * without SA_RESTART. 0, or -1 where there are no such signals (Windows). */
int sup_interrupt_prepare(void);
/* From a helper thread: interrupts the thread marked by sup_mark_loop_thread. */
void sup_interrupt_loop_thread(void);
/* Sends sig to the thread marked with sup_mark_loop_thread (POSIX; nothing on Windows). */
void sup_interrupt_loop_thread_with(int sig);

#endif
