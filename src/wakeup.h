/* wakeup.h - a pollable descriptor another thread can signal: eventfd on Linux, a non-blocking
 * self-pipe elsewhere. Shared by the poll and epoll backends. */
#ifndef RX_POSIX_WAKEUP_H
#define RX_POSIX_WAKEUP_H

typedef struct rx_wakeup {
    int rfd; /* watched for POLLIN */
    int wfd; /* written by rx_wakeup_signal; == rfd for eventfd */
} rx_wakeup;

int rx_wakeup_open(rx_wakeup *w);
void rx_wakeup_close(rx_wakeup *w);
/* Thread-safe. 0 or REACTOR_ESYS. */
int rx_wakeup_signal(rx_wakeup *w);
/* Empties the descriptor so it stops polling readable. */
void rx_wakeup_drain(rx_wakeup *w);

#endif
