/* wakeup.c - the Windows wake-up: two non-blocking loopback UDP sockets connected to each other,
 * since WSAPoll watches sockets only. A signal is one datagram: a full receive buffer drops it,
 * which is a success (a wake-up is pending there); a send that would block is retried. */
#include "wakeup.h"

#include <string.h>
#include <winsock2.h>

#ifndef WSA_FLAG_NO_HANDLE_INHERIT
#define WSA_FLAG_NO_HANDLE_INHERIT 0x80
#endif

/* Not inherited by child processes (the O_CLOEXEC of the pipe); Windows before 7 SP1 refuses
 * the flag, so it is tried without. */
static SOCKET wakeup__udp(void)
{
    SOCKET s = WSASocketW(AF_INET, SOCK_DGRAM, IPPROTO_UDP, NULL, 0, WSA_FLAG_NO_HANDLE_INHERIT);
    if (s == INVALID_SOCKET)
        s = WSASocketW(AF_INET, SOCK_DGRAM, IPPROTO_UDP, NULL, 0, 0);
    return s;
}

static int wakeup__bind(SOCKET s, struct sockaddr_in *sa)
{
    int len = sizeof *sa;
    u_long on = 1;
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)sa, sizeof *sa) != 0 ||
        getsockname(s, (struct sockaddr *)sa, &len) != 0 || ioctlsocket(s, FIONBIO, &on) != 0)
        return -1;
    return 0;
}

int rx_wakeup_open(rx_wakeup *w)
{
    WSADATA wsa;
    /* Balanced by WSACleanup in rx_wakeup_close: the loop works before the application's own
     * WSAStartup, and after its WSACleanup. */
    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0)
        return REACTOR_ESYS;
    SOCKET r = wakeup__udp(), s = wakeup__udp();
    struct sockaddr_in ra, sa;
    /* Connected both ways, so each accepts datagrams from the other only. */
    if (r == INVALID_SOCKET || s == INVALID_SOCKET || wakeup__bind(r, &ra) != 0 ||
        wakeup__bind(s, &sa) != 0 || connect(r, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        connect(s, (struct sockaddr *)&ra, sizeof ra) != 0) {
        if (r != INVALID_SOCKET)
            closesocket(r);
        if (s != INVALID_SOCKET)
            closesocket(s);
        WSACleanup();
        return REACTOR_ESYS;
    }
    w->rfd = (reactor_socket_t)r;
    w->wfd = (reactor_socket_t)s;
    return 0;
}

void rx_wakeup_close(rx_wakeup *w)
{
    closesocket((SOCKET)w->rfd);
    closesocket((SOCKET)w->wfd);
    w->rfd = w->wfd = REACTOR_INVALID_SOCKET;
    WSACleanup();
}

int rx_wakeup_signal(rx_wakeup *w)
{
    /* WSAEWOULDBLOCK from a UDP send says nothing about the receiver (a full receive buffer
     * drops the datagram instead), so it is retried, never taken for a pending wake-up. Under
     * Wine it comes when another thread's send on this socket is still completing in
     * wineserver after its datagram was already received and drained: taken for success, that
     * lost wake-ups (faults.poll.storm under load, measured). Bounded: 64 yields, then 1 ms
     * sleeps for about 200 ms. */
    for (int i = 0; i < 64 + 200; i++) {
        if (send((SOCKET)w->wfd, "", 1, 0) == 1)
            return 0;
        int err = WSAGetLastError();
        if (err != WSAEWOULDBLOCK && err != WSAENOBUFS && err != WSAEINTR)
            return REACTOR_ESYS;
        if (i < 64)
            SwitchToThread();
        else
            Sleep(1);
    }
    return REACTOR_ESYS;
}

void rx_wakeup_drain(rx_wakeup *w)
{
    char buf[64];
    /* One datagram per recv; stop at WSAEWOULDBLOCK or any other error (a connected UDP socket
     * can report an ICMP error here once, which must not make the drain spin). */
    while (recv((SOCKET)w->rfd, buf, sizeof buf, 0) > 0)
        ;
}
