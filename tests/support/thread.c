/* thread.c - pthreads on POSIX, CreateThread on Windows. */
#include "thread.h"

#include "platform.h"

#include <stdlib.h>

#if defined(_WIN32)
#include <windows.h>
#else
#include <pthread.h>
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
}

int sup_on_loop_thread(void)
{
    return thread__is_loop;
}
