/* sim_kernel.h - a simulated NT kernel behind the rx_afd_kernel table, in plain C. It keeps each
 * armed poll's status block and output buffer as the addresses it was handed and writes them
 * only when the script completes that poll, as the kernel would; nothing happens on its own. */
#ifndef SIM_KERNEL_H
#define SIM_KERNEL_H

#include "win/afd.h"

#include <stddef.h>
#include <stdint.h>

/* A failed-I/O status for scripted failures (STATUS_IO_DEVICE_ERROR). */
#define SIM_STATUS_IO_FAILED ((int32_t)0xC0000185)
#define SIM_STATUS_NO_RESOURCES ((int32_t)0xC000009A)

enum { SIM_PENDING = 1, SIM_QUEUED = 2 };

/* One request the kernel holds (PENDING) or has completed but whose packet is not yet dequeued
 * (QUEUED). Dequeued requests are forgotten. */
typedef struct sim_poll {
    rx_iosb *iosb; /* as handed: written only at completion */
    rx_afd_poll_info *info;
    uintptr_t context, helper, base;
    uint32_t requested; /* AFD events asked for */
    int state;
    int cancel_requested;
    int stuck; /* never completes, whatever happens */
    uint64_t seq;
} sim_poll;

typedef struct sim_socket {
    uintptr_t value, base;
    int open;
    uint32_t ready; /* AFD events that hold now (level) */
} sim_socket;

typedef struct sim_packet {
    uintptr_t key, context;
    rx_iosb iosb;
    uint32_t events; /* AFD events written into the buffer, on success */
    uint64_t seq;    /* the request it completes; 0 for a posted or injected packet */
} sim_packet;

/* What one dequeue handed out, for the harness to check reports against. */
typedef struct sim_seen {
    uintptr_t key, context;
    int32_t status;
    uint32_t events; /* AFD events written, on success */
} sim_seen;

#define SIM_SOCKETS 64
#define SIM_LOG 256

typedef struct sim_kernel {
    rx_afd_kernel table; /* hand this to rx_iocp_init_kernel */
    /* handles */
    uintptr_t port, helper, helper_key;
    int port_open, helper_open, port_opens, helper_opens;
    /* requests, oldest first; the packet queue */
    sim_poll *polls;
    size_t npolls, polls_cap;
    sim_packet *queue;
    size_t qhead, qlen, qcap;
    uint64_t seq;
    sim_socket sockets[SIM_SOCKETS];
    size_t nsockets;
    /* script knobs */
    int fail_port_open, fail_helper_open;
    int arm_immediate;       /* a poll whose condition holds completes inside the arm call */
    int32_t arm_fail_status; /* the next arm fails with this status at once (no packet) */
    int stick_next;          /* the next arm never completes */
    int cancel_immediate;    /* a cancel completes its poll inside the cancel call */
    int wait_completes;      /* a dequeue that would wait lets pending cancels complete */
    int close_completes;     /* closing the helper completes its polls (HANDLES_CLOSED) */
    /* what the backend did */
    uint64_t arms, arms_refused, cancels, cancels_late, packets, dequeued, posts, waits;
    uint64_t waited_ms; /* virtual time the backend asked to wait with nothing to come */
    uint64_t max_outstanding;
    /* per dequeue call since sim_log_reset: packets handed out, and arms refused */
    sim_seen log[SIM_LOG];
    size_t nlog;
    uintptr_t refused[SIM_LOG];
    size_t nrefused;
    /* contract violations seen; the first one described */
    int errors;
    char msg[256];
} sim_kernel;

/* Makes k the current simulated kernel (the table's functions find it there). */
void sim_init(sim_kernel *k);
/* Forgets every request and packet; checks every handle was closed. Frees the sim's memory. */
void sim_fini(sim_kernel *k);

/* Sockets: value -> base handle (value + 0x10000 + 0x100 * reopen count). */
uintptr_t sim_socket_open(sim_kernel *k, uintptr_t value);
sim_socket *sim_socket_find(sim_kernel *k, uintptr_t value);
/* The application closes the socket: its pending polls complete with LOCAL_CLOSE. */
void sim_socket_close(sim_kernel *k, uintptr_t value);
void sim_socket_set_ready(sim_kernel *k, uintptr_t value, uint32_t afd_events);
void sim_socket_clear_ready(sim_kernel *k, uintptr_t value, uint32_t afd_events);

/* The i-th pending request matching a filter, or NULL. */
enum { SIM_ANY = 0, SIM_COMPLETABLE = 1, SIM_CANCELLING = 2 };
sim_poll *sim_nth(sim_kernel *k, int filter, size_t i);
size_t sim_count(const sim_kernel *k, int state, uintptr_t context);
/* Completes a pending request: success with the socket's ready events, cancelled, or status. */
void sim_complete_ready(sim_kernel *k, sim_poll *p);
void sim_complete_status(sim_kernel *k, sim_poll *p, int32_t status);
/* Completes every request that can complete (cancelled ones, ready ones); returns how many. */
size_t sim_complete_all(sim_kernel *k);
/* Queues a packet as if from nowhere (a foreign key or a stale context). */
void sim_inject(sim_kernel *k, uintptr_t key, uintptr_t context);
/* After the backend is gone: the kernel finally completes what it held, writing each request's
 * status block and buffer. Their memory must still be allocated. Returns how many. */
size_t sim_release_stuck(sim_kernel *k);
void sim_log_reset(sim_kernel *k);

#endif
