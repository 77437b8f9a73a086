/* afd.c - the only file that calls NT: the real rx_afd_kernel table, the base-handle lookup and
 * the AFD <-> reactor event mapping. Completion contexts are channel IDs, never pointers. */
#include "afd.h"

#include "reactor.h"

#if defined(_WIN32)
#define WIN32_NO_STATUS
#include <winsock2.h>
#include <windows.h>
#undef WIN32_NO_STATUS
#include <mswsock.h>
#include <ntstatus.h>
#include <winternl.h>

#include <stddef.h>

#define AFD__IOCTL_POLL 0x00012024u

/* mingw-w64 lacks these two; libntdll.a exports them. */
NTSTATUS NTAPI NtCancelIoFileEx(HANDLE file, PIO_STATUS_BLOCK request, PIO_STATUS_BLOCK status);
NTSTATUS NTAPI NtRemoveIoCompletionEx(HANDLE port, void *entries, ULONG count, PULONG removed,
                                      PLARGE_INTEGER timeout, BOOLEAN alertable);

/* Our mirrors must be the kernel's layouts exactly. */
_Static_assert(sizeof(rx_iosb) == sizeof(IO_STATUS_BLOCK), "IO_STATUS_BLOCK size");
_Static_assert(offsetof(rx_iosb, information) == offsetof(IO_STATUS_BLOCK, Information),
               "IO_STATUS_BLOCK layout");
_Static_assert(sizeof(rx_afd_poll_info) == 8 + 4 + 4 + sizeof(void *) + 8, "AFD_POLL_INFO size");
_Static_assert(sizeof(rx_afd_completion) == sizeof(OVERLAPPED_ENTRY), "completion size");
_Static_assert(offsetof(rx_afd_completion, context) == offsetof(OVERLAPPED_ENTRY, lpOverlapped),
               "completion layout");
_Static_assert(RX_SIO_BASE_HANDLE == SIO_BASE_HANDLE && RX_SIO_BSP_HANDLE == SIO_BSP_HANDLE &&
                   RX_SIO_BSP_HANDLE_SELECT == SIO_BSP_HANDLE_SELECT &&
                   RX_SIO_BSP_HANDLE_POLL == SIO_BSP_HANDLE_POLL,
               "SIO codes");
_Static_assert(RX_WSAENOTSOCK == WSAENOTSOCK, "WSAENOTSOCK");
_Static_assert(RX_STATUS_CANCELLED == (int32_t)STATUS_CANCELLED &&
                   RX_STATUS_NOT_FOUND == (int32_t)STATUS_NOT_FOUND &&
                   RX_STATUS_HANDLES_CLOSED == (int32_t)STATUS_HANDLES_CLOSED &&
                   RX_STATUS_PENDING == (int32_t)STATUS_PENDING &&
                   RX_STATUS_TIMEOUT == (int32_t)STATUS_TIMEOUT,
               "NTSTATUS values");
_Static_assert(RX_STATUS_INSUFFICIENT_RESOURCES == (int32_t)STATUS_INSUFFICIENT_RESOURCES &&
                   RX_STATUS_NO_MEMORY == (int32_t)STATUS_NO_MEMORY &&
                   RX_STATUS_QUOTA_EXCEEDED == (int32_t)STATUS_QUOTA_EXCEEDED &&
                   RX_STATUS_COMMITMENT_LIMIT == (int32_t)STATUS_COMMITMENT_LIMIT &&
                   RX_STATUS_BAD_DEVICE_TYPE == (int32_t)STATUS_BAD_DEVICE_TYPE &&
                   RX_STATUS_INVALID_DEVICE_REQUEST == (int32_t)STATUS_INVALID_DEVICE_REQUEST &&
                   RX_STATUS_NOT_SUPPORTED == (int32_t)STATUS_NOT_SUPPORTED,
               "NTSTATUS values (resources, refusals)");

static int32_t afd__port_open(uintptr_t *port)
{
    HANDLE h = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
    if (!h)
        return (int32_t)STATUS_UNSUCCESSFUL;
    *port = (uintptr_t)h;
    return 0;
}

static int32_t afd__helper_open(uintptr_t port, uintptr_t key, uintptr_t *helper)
{
    /* Any name under \Device\Afd opens an AFD endpoint that is not a socket; polls issued on
     * it may name any socket's base handle. */
    WCHAR name[] = L"\\Device\\Afd\\Reactor";
    UNICODE_STRING us = {(USHORT)(sizeof name - sizeof name[0]), (USHORT)sizeof name, name};
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &us, 0, NULL, NULL);
    IO_STATUS_BLOCK iosb;
    HANDLE h;
    NTSTATUS st = NtCreateFile(&h, SYNCHRONIZE, &oa, &iosb, NULL, 0,
                               FILE_SHARE_READ | FILE_SHARE_WRITE, FILE_OPEN, 0, NULL, 0);
    if (st != STATUS_SUCCESS)
        return (int32_t)st;
    if (!CreateIoCompletionPort(h, (HANDLE)port, (ULONG_PTR)key, 0)) {
        CloseHandle(h);
        return (int32_t)STATUS_UNSUCCESSFUL;
    }
    /* Nobody waits on the handle itself: skip signalling it on every completion (wepoll and
     * mio do the same). FILE_SKIP_COMPLETION_PORT_ON_SUCCESS stays unset on purpose: every
     * accepted poll, including one that succeeds at once, posts exactly one packet (iocp.c). */
    if (!SetFileCompletionNotificationModes(h, FILE_SKIP_SET_EVENT_ON_HANDLE)) {
        CloseHandle(h);
        return (int32_t)STATUS_UNSUCCESSFUL;
    }
    *helper = (uintptr_t)h;
    return 0;
}

static void afd__handle_close(uintptr_t h)
{
    CloseHandle((HANDLE)h);
}

static int afd__socket_ioctl(uintptr_t sock, uint32_t code, uintptr_t *out)
{
    SOCKET res = INVALID_SOCKET;
    DWORD bytes = 0;
    /* Wine answers SIO_BASE_HANDLE with the value given, even a closed one: ask the socket
     * layer first whether it is a socket at all. */
    int type = 0, len = sizeof type;
    if (getsockopt((SOCKET)sock, SOL_SOCKET, SO_TYPE, (char *)&type, &len) == SOCKET_ERROR &&
        WSAGetLastError() == WSAENOTSOCK)
        return WSAENOTSOCK;
    if (WSAIoctl((SOCKET)sock, code, NULL, 0, &res, sizeof res, &bytes, NULL, NULL) == SOCKET_ERROR)
        return WSAGetLastError();
    *out = (uintptr_t)res;
    return 0;
}

static int32_t afd__poll(uintptr_t helper, rx_iosb *iosb, rx_afd_poll_info *info, uintptr_t context)
{
    iosb->u.status = (int32_t)STATUS_PENDING;
    return (int32_t)NtDeviceIoControlFile((HANDLE)helper, NULL, NULL, (PVOID)context,
                                          (PIO_STATUS_BLOCK)iosb, AFD__IOCTL_POLL, info,
                                          sizeof *info, info, sizeof *info);
}

static int32_t afd__cancel(uintptr_t helper, rx_iosb *iosb)
{
    IO_STATUS_BLOCK res; /* written before the call returns */
    return (int32_t)NtCancelIoFileEx((HANDLE)helper, (PIO_STATUS_BLOCK)iosb, &res);
}

/* The probe may run before the application started Winsock: hold a reference of our own
 * (WSAStartup counts) for the socket's life. */
static int afd__socket_open(uintptr_t *sock)
{
    WSADATA wsa;
    int err = WSAStartup(MAKEWORD(2, 2), &wsa);
    if (err)
        return err;
    SOCKET s = WSASocketW(AF_INET, SOCK_DGRAM, IPPROTO_UDP, NULL, 0, WSA_FLAG_NO_HANDLE_INHERIT);
    if (s == INVALID_SOCKET) {
        err = WSAGetLastError();
        WSACleanup();
        return err;
    }
    *sock = (uintptr_t)s;
    return 0;
}

static void afd__socket_close(uintptr_t sock)
{
    closesocket((SOCKET)sock);
    WSACleanup();
}

static int32_t afd__dequeue(uintptr_t port, rx_afd_completion *out, uint32_t cap, uint32_t *n,
                            int timeout_ms)
{
    LARGE_INTEGER due;
    due.QuadPart = -(LONGLONG)timeout_ms * 10000; /* relative, in 100 ns units */
    ULONG got = 0;
    NTSTATUS st = NtRemoveIoCompletionEx((HANDLE)port, out, cap, &got, timeout_ms < 0 ? NULL : &due,
                                         FALSE);
    *n = st == STATUS_SUCCESS ? got : 0;
    return st == STATUS_SUCCESS && got == 0 ? (int32_t)STATUS_TIMEOUT : (int32_t)st;
}

static int32_t afd__post(uintptr_t port, uintptr_t key)
{
    if (!PostQueuedCompletionStatus((HANDLE)port, 0, (ULONG_PTR)key, NULL))
        return (int32_t)STATUS_UNSUCCESSFUL;
    return 0;
}

const rx_afd_kernel rx_afd_nt = {
    .port_open = afd__port_open,
    .helper_open = afd__helper_open,
    .handle_close = afd__handle_close,
    .socket_ioctl = afd__socket_ioctl,
    .poll = afd__poll,
    .cancel = afd__cancel,
    .dequeue = afd__dequeue,
    .post = afd__post,
    .socket_open = afd__socket_open,
    .socket_close = afd__socket_close,
};
#endif /* _WIN32 */

uint32_t rx_afd_mask(unsigned events)
{
    /* Errors, resets and an application close are always watched. A graceful close (the
     * peer's FIN, level-triggered) only with READABLE, where it reads as end of stream, or
     * HALFCLOSE: watching it otherwise would complete the poll at once every iteration. */
    uint32_t m = RX_AFD_POLL_ABORT | RX_AFD_POLL_CONNECT_FAIL | RX_AFD_POLL_LOCAL_CLOSE;
    if (events & REACTOR_READABLE)
        m |= RX_AFD_POLL_RECEIVE | RX_AFD_POLL_ACCEPT | RX_AFD_POLL_DISCONNECT;
    if (events & REACTOR_HALFCLOSE)
        m |= RX_AFD_POLL_DISCONNECT;
    if (events & REACTOR_WRITABLE)
        m |= RX_AFD_POLL_SEND;
    return m;
}

unsigned rx_afd_events(uint32_t afd)
{
    unsigned ev = 0;
    if (afd & (RX_AFD_POLL_RECEIVE | RX_AFD_POLL_ACCEPT))
        ev |= REACTOR_READABLE;
    /* CONNECT is not WRITABLE: it stays set on a connected socket, so an outgoing connection
     * would read as writable forever (wepoll and mio dropped it for that). A finished
     * connect shows as SEND. */
    if (afd & RX_AFD_POLL_SEND)
        ev |= REACTOR_WRITABLE;
    if (afd & RX_AFD_POLL_DISCONNECT)
        ev |= REACTOR_READABLE | REACTOR_HALFCLOSE; /* end of stream reads as 0 */
    if (afd & RX_AFD_POLL_ABORT)
        ev |= REACTOR_HANGUP | REACTOR_ERROR;
    if (afd & (RX_AFD_POLL_CONNECT_FAIL | RX_AFD_POLL_LOCAL_CLOSE))
        ev |= REACTOR_ERROR;
    return ev;
}

int rx_afd_transient(int32_t status)
{
    switch (status) {
    case RX_STATUS_NO_MEMORY:
    case RX_STATUS_INSUFFICIENT_RESOURCES:
    case RX_STATUS_QUOTA_EXCEEDED:
    case RX_STATUS_COMMITMENT_LIMIT:
        return 1;
    default:
        return 0;
    }
}

int rx_afd_base_handle(const rx_afd_kernel *k, uintptr_t sock, uintptr_t *out, int *wsa_error)
{
    static const uint32_t below[] = {RX_SIO_BSP_HANDLE_SELECT, RX_SIO_BSP_HANDLE_POLL,
                                     RX_SIO_BSP_HANDLE};
    const uintptr_t invalid = ~(uintptr_t)0;
    int last = 0;
    /* Some layered providers refuse SIO_BASE_HANDLE but still answer the select/poll queries
     * with the handle one layer down; walk down (bounded) and ask again there. */
    for (int depth = 0; depth < 8; depth++) {
        uintptr_t h = invalid;
        int err = k->socket_ioctl(sock, RX_SIO_BASE_HANDLE, &h);
        if (!err && h != invalid) {
            *out = h;
            return 0;
        }
        last = err;
        if (err == RX_WSAENOTSOCK)
            break;
        uintptr_t next = invalid;
        for (size_t i = 0; i < sizeof below / sizeof below[0] && next == invalid; i++) {
            h = invalid;
            if (!k->socket_ioctl(sock, below[i], &h) && h != invalid && h != sock)
                next = h;
        }
        if (next == invalid)
            break;
        sock = next;
    }
    if (wsa_error)
        *wsa_error = last;
    return REACTOR_EBADF;
}
