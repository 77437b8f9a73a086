/* wakeup.h - a pollable socket or descriptor another thread can signal, for the backends that
 * wait in poll(), epoll or WSAPoll: eventfd on Linux, a self-pipe on other POSIX systems
 * (src/posix/wakeup.c), a connected pair of loopback UDP sockets on Windows (src/win/wakeup.c). */
#ifndef RX_WAKEUP_H
#define RX_WAKEUP_H

#include "reactor.h"

typedef struct rx_wakeup {
    reactor_socket_t rfd; /* watched for readability */
    reactor_socket_t wfd; /* written by rx_wakeup_signal; == rfd for eventfd */
} rx_wakeup;

/* 0 or REACTOR_ESYS; on failure nothing is left open. */
int rx_wakeup_open(rx_wakeup *w);
void rx_wakeup_close(rx_wakeup *w);
/* Thread-safe. 0 or REACTOR_ESYS. A signal that finds one already pending is a success. */
int rx_wakeup_signal(rx_wakeup *w);
/* Empties it so it stops polling readable. */
void rx_wakeup_drain(rx_wakeup *w);

#endif
