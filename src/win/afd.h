/* afd.h - the NT boundary of the AFD backend: the structures the kernel reads and writes, the
 * AFD event bits, and one table of functions for every call that crosses into NT. Nothing here
 * needs <windows.h>: the layouts mirror the NT ones (checked in afd.c), so a simulated kernel
 * can stand in for the table on any OS. */
#ifndef RX_WIN_AFD_H
#define RX_WIN_AFD_H

#include <stdint.h>

/* IO_STATUS_BLOCK. */
typedef struct rx_iosb {
    union {
        int32_t status;
        void *pointer;
    } u;
    uintptr_t information;
} rx_iosb;

/* AFD_POLL_HANDLE_INFO and AFD_POLL_INFO with room for one socket. */
typedef struct rx_afd_handle_info {
    uintptr_t handle;
    uint32_t events;
    int32_t status;
} rx_afd_handle_info;

typedef struct rx_afd_poll_info {
    int64_t timeout;
    uint32_t count;
    uint32_t exclusive;
    rx_afd_handle_info handles[1];
} rx_afd_poll_info;

/* FILE_IO_COMPLETION_INFORMATION: one dequeued packet. context is the ApcContext of the poll
 * (our channel ID) or 0 for a wake-up. */
typedef struct rx_afd_completion {
    uintptr_t key;
    uintptr_t context;
    rx_iosb iosb;
} rx_afd_completion;

#define RX_AFD_POLL_RECEIVE 0x0001u
#define RX_AFD_POLL_RECEIVE_EXPEDITED 0x0002u
#define RX_AFD_POLL_SEND 0x0004u
#define RX_AFD_POLL_DISCONNECT 0x0008u
#define RX_AFD_POLL_ABORT 0x0010u
#define RX_AFD_POLL_LOCAL_CLOSE 0x0020u
#define RX_AFD_POLL_CONNECT 0x0040u
#define RX_AFD_POLL_ACCEPT 0x0080u
#define RX_AFD_POLL_CONNECT_FAIL 0x0100u

#define RX_STATUS_SUCCESS ((int32_t)0x00000000)
#define RX_STATUS_TIMEOUT ((int32_t)0x00000102)
#define RX_STATUS_PENDING ((int32_t)0x00000103)
#define RX_STATUS_HANDLES_CLOSED ((int32_t)0x8000000A)
#define RX_STATUS_CANCELLED ((int32_t)0xC0000120)
#define RX_STATUS_NOT_FOUND ((int32_t)0xC0000225)
#define RX_STATUS_INVALID_HANDLE ((int32_t)0xC0000008)
#define RX_STATUS_NO_MEMORY ((int32_t)0xC0000017)
#define RX_STATUS_INVALID_DEVICE_REQUEST ((int32_t)0xC0000010)
#define RX_STATUS_QUOTA_EXCEEDED ((int32_t)0xC0000044)
#define RX_STATUS_INSUFFICIENT_RESOURCES ((int32_t)0xC000009A)
#define RX_STATUS_NOT_SUPPORTED ((int32_t)0xC00000BB)
#define RX_STATUS_BAD_DEVICE_TYPE ((int32_t)0xC00000CB)
#define RX_STATUS_COMMITMENT_LIMIT ((int32_t)0xC000012D)

/* WSAIoctl codes for the base-handle lookup (mswsock.h values). */
#define RX_SIO_BASE_HANDLE 0x48000022u
#define RX_SIO_BSP_HANDLE 0x4800001Bu
#define RX_SIO_BSP_HANDLE_SELECT 0x4800001Cu
#define RX_SIO_BSP_HANDLE_POLL 0x4800001Du
#define RX_WSAENOTSOCK 10038

/* Every call into NT. Handles are integers. Functions return an NTSTATUS unless noted. The
 * kernel keeps `iosb` and `info` of a poll until its completion is dequeued, and hands
 * `context` back unchanged in that completion. */
typedef struct rx_afd_kernel {
    int32_t (*port_open)(uintptr_t *port);
    /* Opens a \Device\Afd helper handle associated with port under key. */
    int32_t (*helper_open)(uintptr_t port, uintptr_t key, uintptr_t *helper);
    void (*handle_close)(uintptr_t h);
    /* WSAIoctl(sock, code) returning a SOCKET in *out: 0 or the WSA error code. */
    int (*socket_ioctl)(uintptr_t sock, uint32_t code, uintptr_t *out);
    /* NtDeviceIoControlFile(IOCTL_AFD_POLL) with info as input and output. */
    int32_t (*poll)(uintptr_t helper, rx_iosb *iosb, rx_afd_poll_info *info, uintptr_t context);
    /* NtCancelIoFileEx for the request whose status block is iosb, or (iosb NULL) for every
     * request issued on helper. Its cost grows with the requests pending on helper. */
    int32_t (*cancel)(uintptr_t helper, rx_iosb *iosb);
    /* NtRemoveIoCompletionEx: up to cap packets, waiting up to timeout_ms (-1: forever).
     * STATUS_SUCCESS with *n >= 1, or STATUS_TIMEOUT with *n == 0. */
    int32_t (*dequeue)(uintptr_t port, rx_afd_completion *out, uint32_t cap, uint32_t *n,
                       int timeout_ms);
    /* Queues a packet with key and context 0. Thread-safe. */
    int32_t (*post)(uintptr_t port, uintptr_t key);
    /* A UDP socket for the probe poll at init: 0 or the WSA error code. */
    int (*socket_open)(uintptr_t *sock);
    void (*socket_close)(uintptr_t sock);
} rx_afd_kernel;

#if defined(_WIN32)
/* The real kernel: ntdll, kernel32 and ws2_32. */
extern const rx_afd_kernel rx_afd_nt;
#endif

/* The AFD events to request for REACTOR_* interest, and the REACTOR_* events an AFD result
 * means. */
uint32_t rx_afd_mask(unsigned events);
unsigned rx_afd_events(uint32_t afd);

/* Whether a poll that failed with status may succeed later: the system is short of memory or
 * quota for now, the socket is not unusable. Such polls are tried again (as mio does). */
int rx_afd_transient(int32_t status);

/* The socket's base (AFD) handle: SIO_BASE_HANDLE, else the handles layered providers hand
 * out for select and poll. 0, or REACTOR_EBADF with the last WSA error in *wsa_error (which may
 * be NULL). */
int rx_afd_base_handle(const rx_afd_kernel *k, uintptr_t sock, uintptr_t *out, int *wsa_error);

#endif
