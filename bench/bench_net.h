/* bench_net.h - the socket calls the portable workloads (idle, pingpong) make, spelled once for
 * POSIX and Windows: Winsock's send/recv take char buffers and int lengths, and a SOCKET is
 * closed with closesocket. The OS headers stay out of bench.h, which every peer includes. */
#ifndef BENCH_NET_H
#define BENCH_NET_H

#include "bench.h"

#include <stddef.h>

#if defined(_WIN32)
#include <winsock2.h>
#include <ws2tcpip.h>
typedef int bench_ssize;
#else
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>
typedef ssize_t bench_ssize;
#endif

static inline bench_ssize bench_send(bench_sock s, const void *buf, size_t len)
{
#if defined(_WIN32)
    return send(s, (const char *)buf, (int)len, 0);
#else
    return send(s, buf, len, 0);
#endif
}

static inline bench_ssize bench_recv(bench_sock s, void *buf, size_t len)
{
#if defined(_WIN32)
    return recv(s, (char *)buf, (int)len, 0);
#else
    return recv(s, buf, len, 0);
#endif
}

void bench_sock_close(bench_sock s);
/* A TCP listener on 127.0.0.1 and an ephemeral port (backlog 1024); exits 2 on failure. */
bench_sock bench_tcp_listen(struct sockaddr_in *addr);
/* Connects to the listener and accepts the connection: both ends TCP_NODELAY and
 * non-blocking. Exits 2 on failure. */
void bench_tcp_pair(bench_sock lfd, const struct sockaddr_in *addr, bench_sock *client,
                    bench_sock *server);

#endif
