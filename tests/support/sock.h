/* sock.h - portable socket helpers for the tests: connected pairs, a loopback listener,
 * non-blocking connect, send/recv that never block. Every socket they make is non-blocking.
 * The one place (with sock.c) where the tests know POSIX from Winsock. */
#ifndef SUP_SOCK_H
#define SUP_SOCK_H

#include "reactor.h"

#include <stddef.h>
#include <stdint.h>

/* Once per process (WSAStartup on Windows). 0 or -1. */
int sup_sock_startup(void);
/* A connected stream pair: socketpair(AF_UNIX) on POSIX, loopback TCP on Windows. 0 or -1. */
int sup_pair(reactor_socket_t out[2]);
/* A connected loopback TCP pair on every platform. 0 or -1. */
int sup_tcp_pair(reactor_socket_t out[2]);
/* A listener on 127.0.0.1 and an ephemeral port, returned in *port. 0 or -1. */
int sup_listen(reactor_socket_t *out, uint16_t *port);
/* Starts a non-blocking connect to 127.0.0.1:port. 0 (in progress or done) or -1. */
int sup_connect_start(uint16_t port, reactor_socket_t *out);
/* Accepts one pending connection (made non-blocking). 0, or -1 when none is pending. */
int sup_accept(reactor_socket_t listener, reactor_socket_t *out);
void sup_close(reactor_socket_t s);
/* Bytes sent, or -1 (would block or error). Never raises SIGPIPE. */
long sup_send(reactor_socket_t s, const void *buf, size_t n);
/* Bytes received, 0 at end of stream, -1 (would block or error). */
long sup_recv(reactor_socket_t s, void *buf, size_t n);
/* Sends until the socket would block; returns the bytes sent. */
size_t sup_fill(reactor_socket_t s);
/* Receives until the socket would block or the stream ends; returns the bytes received. */
size_t sup_drain(reactor_socket_t s);
/* SO_LINGER {1, 0}: a close then resets the connection. 0 or -1. */
int sup_linger0(reactor_socket_t s);
/* shutdown(SHUT_WR / SD_SEND). 0 or -1. */
int sup_shutdown_write(reactor_socket_t s);
/* The socket's pending error (SO_ERROR), 0 for none. */
int sup_sock_error(reactor_socket_t s);

#endif
