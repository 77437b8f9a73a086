/* impl_raw_afd.c - the Windows floor: what a hand-written AFD loop does and nothing more. One
 * completion port, one \Device\Afd helper handle on it, one IOCTL_AFD_POLL per watched socket;
 * an AFD poll reports once, so a socket whose packet came is polled again in one pass before the
 * next wait (as wepoll does); no timers, no reactor code. A slot's status block and poll info
 * belong to the kernel until the poll's packet is dequeued, so the slot array is allocated once
 * (max_io) and never moves. ApcContext is slot + 1. */
#include "bench.h"

#define WIN32_NO_STATUS
#include <winsock2.h>
#include <windows.h>
#undef WIN32_NO_STATUS
#include <mswsock.h>
#include <ntstatus.h>
#include <winternl.h>

#include <stdlib.h>

#define RAFD__IOCTL_POLL 0x00012024u /* IOCTL_AFD_POLL: afd.sys, not in the SDK */
#define RAFD__KEY_AFD 1u
#define RAFD__KEY_WAKE 2u
#define RAFD__BATCH 256u

/* AFD_POLL_* event bits. */
#define RAFD__RECEIVE 0x0001u
#define RAFD__SEND 0x0004u
#define RAFD__DISCONNECT 0x0008u
#define RAFD__ABORT 0x0010u
#define RAFD__LOCAL_CLOSE 0x0020u
#define RAFD__ACCEPT 0x0080u
#define RAFD__CONNECT_FAIL 0x0100u

/* AFD_POLL_HANDLE_INFO and AFD_POLL_INFO with room for one socket. */
typedef struct rafd__handle_info {
    HANDLE handle;
    ULONG events;
    NTSTATUS status;
} rafd__handle_info;

typedef struct rafd__poll_info {
    LARGE_INTEGER timeout;
    ULONG count;
    ULONG exclusive;
    rafd__handle_info handles[1];
} rafd__poll_info;

/* mingw-w64 does not declare it; ntdll exports it. */
NTSTATUS NTAPI NtCancelIoFileEx(HANDLE file, PIO_STATUS_BLOCK request, PIO_STATUS_BLOCK status);

typedef struct rafd__slot {
    IO_STATUS_BLOCK iosb; /* the kernel's while pending */
    rafd__poll_info info; /* the kernel's while pending */
    HANDLE base;
    ULONG mask;
    bench_io_cb cb;
    void *arg;
    int live, pending, queued;
} rafd__slot;

/* Owns slot, rearm and both handles; destroy cancels what is pending, waits for the packets, then
 * closes and frees. */
typedef struct rafd {
    HANDLE port, helper;
    rafd__slot *slot;
    uint32_t *rearm; /* slots whose packet came: polled again before the next wait */
    uint32_t cap, pending, nrearm;
    bench_wake_cb on_wake;
    void *wake_arg;
    OVERLAPPED_ENTRY batch[RAFD__BATCH];
} rafd;

static int rafd__arm(rafd *p, uint32_t i)
{
    rafd__slot *s = &p->slot[i];
    s->info.timeout.QuadPart = INT64_MAX;
    s->info.count = 1;
    s->info.exclusive = FALSE;
    s->info.handles[0].handle = s->base;
    s->info.handles[0].events = s->mask;
    s->info.handles[0].status = 0;
    s->iosb.Status = STATUS_PENDING;
    NTSTATUS st = NtDeviceIoControlFile(p->helper, NULL, NULL, (PVOID)(uintptr_t)(i + 1), &s->iosb,
                                        RAFD__IOCTL_POLL, &s->info, sizeof s->info, &s->info,
                                        sizeof s->info);
    /* An error status (severity 3) queues no packet; anything else completes through the port
     * (FILE_SKIP_COMPLETION_PORT_ON_SUCCESS is not set). */
    if (((ULONG)st >> 30) == 3u)
        return -1;
    s->pending = 1;
    p->pending++;
    return 0;
}

static void *rafd__create(const bench_config *cfg)
{
    rafd *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->cap = cfg->max_io ? cfg->max_io : 1;
    p->slot = calloc(p->cap, sizeof *p->slot);
    p->rearm = calloc(p->cap, sizeof *p->rearm);
    p->on_wake = cfg->on_wake;
    p->wake_arg = cfg->wake_arg;
    p->port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
    if (!p->slot || !p->rearm || !p->port)
        return NULL; /* the harness exits on NULL */
    /* Any name under \Device\Afd opens an AFD endpoint that is no socket; its polls may name
     * any socket's base handle. */
    WCHAR name[] = L"\\Device\\Afd\\BenchFloor";
    UNICODE_STRING us = {(USHORT)(sizeof name - sizeof name[0]), (USHORT)sizeof name, name};
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &us, 0, NULL, NULL);
    IO_STATUS_BLOCK iosb;
    if (NtCreateFile(&p->helper, SYNCHRONIZE, &oa, &iosb, NULL, 0,
                     FILE_SHARE_READ | FILE_SHARE_WRITE, FILE_OPEN, 0, NULL, 0) != STATUS_SUCCESS)
        return NULL;
    if (!CreateIoCompletionPort(p->helper, p->port, RAFD__KEY_AFD, 0))
        return NULL;
    return p;
}

static void rafd__destroy(void *lp)
{
    rafd *p = lp;
    for (uint32_t i = 0; i < p->cap; i++)
        if (p->slot[i].pending) {
            IO_STATUS_BLOCK res;
            NtCancelIoFileEx(p->helper, &p->slot[i].iosb, &res);
        }
    /* The kernel writes a cancelled poll's status block when it completes: wait for every
     * packet before freeing the slots (bounded: 2 s without a packet gives up). */
    while (p->pending) {
        ULONG n = 0;
        if (!GetQueuedCompletionStatusEx(p->port, p->batch, RAFD__BATCH, &n, 2000, FALSE))
            break;
        for (ULONG k = 0; k < n; k++)
            if (p->batch[k].lpCompletionKey == RAFD__KEY_AFD) {
                p->slot[(uintptr_t)p->batch[k].lpOverlapped - 1].pending = 0;
                p->pending--;
            }
    }
    CloseHandle(p->helper);
    CloseHandle(p->port);
    if (!p->pending)
        free(p->slot); /* else leaked on purpose: the kernel may still write it */
    free(p->rearm);
    free(p);
}

static int rafd__io_add(void *lp, uint32_t slot, bench_sock fd, unsigned events, bench_io_cb cb,
                        void *arg)
{
    rafd *p = lp;
    rafd__slot *s = &p->slot[slot];
    if (s->pending)
        return -1; /* a removed slot's cancelled poll is still out: not reused here */
    SOCKET base = INVALID_SOCKET;
    DWORD bytes = 0;
    if (WSAIoctl((SOCKET)fd, SIO_BASE_HANDLE, NULL, 0, &base, sizeof base, &bytes, NULL, NULL) ==
        SOCKET_ERROR)
        return -1;
    s->base = (HANDLE)base;
    /* The same events reactor asks for: errors and closes always, hang-up with readable. */
    s->mask = RAFD__ABORT | RAFD__CONNECT_FAIL | RAFD__LOCAL_CLOSE;
    if (events & BENCH_READ)
        s->mask |= RAFD__RECEIVE | RAFD__ACCEPT | RAFD__DISCONNECT;
    if (events & BENCH_WRITE)
        s->mask |= RAFD__SEND;
    s->cb = cb;
    s->arg = arg;
    s->live = 1;
    return rafd__arm(p, slot);
}

static int rafd__io_remove(void *lp, uint32_t slot)
{
    rafd *p = lp;
    rafd__slot *s = &p->slot[slot];
    s->live = 0;
    if (s->pending) {
        IO_STATUS_BLOCK res;
        NtCancelIoFileEx(p->helper, &s->iosb, &res); /* its packet is dropped when it comes */
    }
    return 0;
}

static int rafd__run(rafd *p, DWORD timeout_ms)
{
    /* Under Wine, polling each socket again right after its callback, between that batch's
     * other callbacks, made A = 100 idle iterations 1.5-2x slower than this one pass. */
    for (uint32_t k = 0; k < p->nrearm; k++) {
        rafd__slot *s = &p->slot[p->rearm[k]];
        s->queued = 0;
        if (s->live && !s->pending && rafd__arm(p, p->rearm[k]) != 0)
            return -1;
    }
    p->nrearm = 0;
    ULONG n = 0;
    if (!GetQueuedCompletionStatusEx(p->port, p->batch, RAFD__BATCH, &n, timeout_ms, FALSE))
        return GetLastError() == WAIT_TIMEOUT ? 0 : -1;
    for (ULONG k = 0; k < n; k++) {
        if (p->batch[k].lpCompletionKey == RAFD__KEY_WAKE) {
            p->on_wake(p->wake_arg);
            continue;
        }
        uint32_t i = (uint32_t)((uintptr_t)p->batch[k].lpOverlapped - 1);
        rafd__slot *s = &p->slot[i];
        s->pending = 0;
        p->pending--;
        if (!s->live)
            continue;
        ULONG afd = NT_SUCCESS(s->iosb.Status) && s->info.count ? s->info.handles[0].events : 0;
        unsigned ev = 0;
        if (afd & (RAFD__RECEIVE | RAFD__ACCEPT | RAFD__DISCONNECT | RAFD__ABORT |
                   RAFD__CONNECT_FAIL | RAFD__LOCAL_CLOSE))
            ev |= BENCH_READ;
        if (afd & RAFD__SEND)
            ev |= BENCH_WRITE;
        if (ev)
            s->cb(s->arg, ev);
        /* Level-triggered like every other loop here: polled again before the next wait; if
         * the socket is still ready the kernel completes that poll at once. */
        if (!s->queued) {
            s->queued = 1;
            p->rearm[p->nrearm++] = i;
        }
    }
    return 0;
}

static int rafd__run_once(void *lp)
{
    return rafd__run(lp, INFINITE);
}

static int rafd__run_nowait(void *lp)
{
    return rafd__run(lp, 0);
}

static int rafd__wakeup(void *lp)
{
    rafd *p = lp;
    return PostQueuedCompletionStatus(p->port, 0, RAFD__KEY_WAKE, NULL) ? 0 : -1;
}

const bench_impl bench_impl_raw_afd = {
    .name = "raw-afd",
    .floor = NULL,
    .create = rafd__create,
    .destroy = rafd__destroy,
    .io_add = rafd__io_add,
    .io_remove = rafd__io_remove,
    .timer_start = NULL,
    .timer_stop = NULL,
    .run_once = rafd__run_once,
    .run_nowait = rafd__run_nowait,
    .wakeup = rafd__wakeup,
    .loop_bytes = NULL,
};
