/* sock.c - POSIX sockets or Winsock behind one set of helpers; tests stay free of #ifdef. */
#include "sock.h"

#if defined(_WIN32)
#include <winsock2.h>
#include <ws2tcpip.h>
typedef int sock__len;
#else
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>
typedef socklen_t sock__len;
#endif

#include <string.h>

#if defined(MSG_NOSIGNAL)
#define SOCK__SEND_FLAGS MSG_NOSIGNAL
#else
#define SOCK__SEND_FLAGS 0
#endif

int sup_sock_startup(void)
{
#if defined(_WIN32)
    static int done;
    if (!done) {
        WSADATA wsa;
        if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0)
            return -1;
        done = 1;
    }
#endif
    return 0;
}

static int sock__nonblock(reactor_socket_t s)
{
#if defined(_WIN32)
    u_long on = 1;
    return ioctlsocket((SOCKET)s, FIONBIO, &on) == 0 ? 0 : -1;
#else
    int fl = fcntl(s, F_GETFL);
    return fl >= 0 && fcntl(s, F_SETFL, fl | O_NONBLOCK) == 0 ? 0 : -1;
#endif
}

static reactor_socket_t sock__tcp(void)
{
#if defined(_WIN32)
    SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    return s == INVALID_SOCKET ? REACTOR_INVALID_SOCKET : (reactor_socket_t)s;
#else
    return socket(AF_INET, SOCK_STREAM, 0);
#endif
}

void sup_close(reactor_socket_t s)
{
    if (s == REACTOR_INVALID_SOCKET)
        return;
#if defined(_WIN32)
    closesocket((SOCKET)s);
#else
    close(s);
#endif
}

static void sock__loopback(struct sockaddr_in *sa, uint16_t port)
{
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa->sin_port = htons(port);
}

int sup_listen(reactor_socket_t *out, uint16_t *port)
{
    reactor_socket_t l = sock__tcp();
    if (l == REACTOR_INVALID_SOCKET)
        return -1;
    struct sockaddr_in sa;
    sock__len len = sizeof sa;
    sock__loopback(&sa, 0);
    if (bind(l, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(l, 64) != 0 ||
        getsockname(l, (struct sockaddr *)&sa, &len) != 0 || sock__nonblock(l) != 0) {
        sup_close(l);
        return -1;
    }
    *port = ntohs(sa.sin_port);
    *out = l;
    return 0;
}

int sup_connect_start(uint16_t port, reactor_socket_t *out)
{
    reactor_socket_t s = sock__tcp();
    if (s == REACTOR_INVALID_SOCKET)
        return -1;
    struct sockaddr_in sa;
    sock__loopback(&sa, port);
    if (sock__nonblock(s) != 0)
        goto fail;
    if (connect(s, (struct sockaddr *)&sa, sizeof sa) != 0) {
#if defined(_WIN32)
        if (WSAGetLastError() != WSAEWOULDBLOCK)
            goto fail;
#else
        if (errno != EINPROGRESS)
            goto fail;
#endif
    }
    *out = s;
    return 0;
fail:
    sup_close(s);
    return -1;
}

int sup_accept(reactor_socket_t listener, reactor_socket_t *out)
{
#if defined(_WIN32)
    SOCKET a = accept((SOCKET)listener, NULL, NULL);
    if (a == INVALID_SOCKET)
        return -1;
    reactor_socket_t s = (reactor_socket_t)a;
#else
    reactor_socket_t s = accept(listener, NULL, NULL);
    if (s < 0)
        return -1;
#endif
    if (sock__nonblock(s) != 0) {
        sup_close(s);
        return -1;
    }
    *out = s;
    return 0;
}

int sup_tcp_pair(reactor_socket_t out[2])
{
    reactor_socket_t l, c = REACTOR_INVALID_SOCKET, a = REACTOR_INVALID_SOCKET;
    uint16_t port;
    if (sup_listen(&l, &port) != 0)
        return -1;
    if (sup_connect_start(port, &c) != 0)
        goto fail;
    /* A loopback connect completes in the kernel without the application: wait for the
     * accept queue and for the connect to finish, bounded by a retry count. */
    for (int i = 0; i < 2000 && sup_accept(l, &a) != 0; i++) {
#if defined(_WIN32)
        Sleep(1);
#else
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
#endif
    }
    if (a == REACTOR_INVALID_SOCKET)
        goto fail;
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
    setsockopt(a, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
    sup_close(l);
    out[0] = c;
    out[1] = a;
    return 0;
fail:
    sup_close(c);
    sup_close(l);
    return -1;
}

int sup_pair(reactor_socket_t out[2])
{
#if defined(_WIN32)
    return sup_tcp_pair(out);
#else
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0)
        return -1;
    if (sock__nonblock(fds[0]) != 0 || sock__nonblock(fds[1]) != 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    out[0] = fds[0];
    out[1] = fds[1];
    return 0;
#endif
}

long sup_send(reactor_socket_t s, const void *buf, size_t n)
{
#if defined(_WIN32)
    int r = send((SOCKET)s, (const char *)buf, (int)n, 0);
    return r == SOCKET_ERROR ? -1 : (long)r;
#else
    ssize_t r = send(s, buf, n, SOCK__SEND_FLAGS);
    return r < 0 ? -1 : (long)r;
#endif
}

long sup_recv(reactor_socket_t s, void *buf, size_t n)
{
#if defined(_WIN32)
    int r = recv((SOCKET)s, (char *)buf, (int)n, 0);
    return r == SOCKET_ERROR ? -1 : (long)r;
#else
    ssize_t r = recv(s, buf, n, 0);
    return r < 0 ? -1 : (long)r;
#endif
}

size_t sup_fill(reactor_socket_t s)
{
    static const char chunk[16384];
    size_t total = 0;
    for (;;) {
        long n = sup_send(s, chunk, sizeof chunk);
        if (n <= 0)
            return total;
        total += (size_t)n;
    }
}

size_t sup_drain(reactor_socket_t s)
{
    char buf[16384];
    size_t total = 0;
    for (;;) {
        long n = sup_recv(s, buf, sizeof buf);
        if (n <= 0)
            return total;
        total += (size_t)n;
    }
}

int sup_linger0(reactor_socket_t s)
{
    struct linger lg;
    lg.l_onoff = 1;
    lg.l_linger = 0;
    return setsockopt(s, SOL_SOCKET, SO_LINGER, (const char *)&lg, sizeof lg) == 0 ? 0 : -1;
}

int sup_shutdown_write(reactor_socket_t s)
{
#if defined(_WIN32)
    return shutdown((SOCKET)s, SD_SEND) == 0 ? 0 : -1;
#else
    return shutdown(s, SHUT_WR) == 0 ? 0 : -1;
#endif
}

int sup_sock_error(reactor_socket_t s)
{
    int err = 0;
    sock__len len = sizeof err;
    if (getsockopt(s, SOL_SOCKET, SO_ERROR, (char *)&err, &len) != 0)
        return -1;
    return err;
}
