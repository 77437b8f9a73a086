/* thread.c - pthreads on POSIX, CreateThread on Windows. */
#include "thread.h"

#include "platform.h"

#include <stdlib.h>

#if defined(_WIN32)
#include <windows.h>
#else
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#endif

struct sup_thread {
    void (*fn)(void *);
    void *arg;
#if defined(_WIN32)
    HANDLE h;
#else
    pthread_t t;
#endif
};

static _Thread_local int thread__is_loop;
#if !defined(_WIN32)
static pthread_t thread__loop;
#endif

#if defined(_WIN32)
static DWORD WINAPI thread__main(LPVOID p)
{
    sup_thread *t = p;
    t->fn(t->arg);
    return 0;
}
#else
static void *thread__main(void *p)
{
    sup_thread *t = p;
    t->fn(t->arg);
    return NULL;
}
#endif

sup_thread *sup_thread_start(void (*fn)(void *), void *arg)
{
    sup_thread *t = malloc(sizeof *t);
    if (!t)
        return NULL;
    t->fn = fn;
    t->arg = arg;
#if defined(_WIN32)
    t->h = CreateThread(NULL, 0, thread__main, t, 0, NULL);
    if (!t->h) {
        free(t);
        return NULL;
    }
#else
    if (pthread_create(&t->t, NULL, thread__main, t) != 0) {
        free(t);
        return NULL;
    }
#endif
    return t;
}

void sup_thread_join(sup_thread *t)
{
#if defined(_WIN32)
    WaitForSingleObject(t->h, INFINITE);
    CloseHandle(t->h);
#else
    pthread_join(t->t, NULL);
#endif
    free(t);
}

void sup_sleep_ms(unsigned ms)
{
#if defined(_WIN32)
    Sleep(ms);
#else
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
#endif
}

uint64_t sup_clock_ns(void)
{
    return rx_clock_ns();
}

void sup_mark_loop_thread(void)
{
    thread__is_loop = 1;
#if !defined(_WIN32)
    thread__loop = pthread_self();
#endif
}

int sup_on_loop_thread(void)
{
    return thread__is_loop;
}

#if !defined(_WIN32)
static void thread__on_signal(int sig)
{
    (void)sig;
}
#endif

int sup_interrupt_prepare(void)
{
#if defined(_WIN32)
    return -1;
#else
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = thread__on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: a blocked poll()/epoll_wait() fails with EINTR */
    return sigaction(SIGUSR1, &sa, NULL) == 0 ? 0 : -1;
#endif
}

void sup_interrupt_loop_thread(void)
{
#if !defined(_WIN32)
    sup_interrupt_loop_thread_with(SIGUSR1);
#endif
}

void sup_interrupt_loop_thread_with(int sig)
{
#if !defined(_WIN32)
    pthread_kill(thread__loop, sig);
#else
    (void)sig;
#endif
}
