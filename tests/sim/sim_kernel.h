/* sim_kernel.h - a simulated NT kernel behind the rx_afd_kernel table, in plain C. It keeps each
 * armed poll's status block and output buffer as the addresses it was handed and writes them
 * only when the script completes that poll, as the kernel would; nothing happens on its own.
 * Every operation is O(1) (hashes by socket value, base handle and status-block address,
 * intrusive lists per socket, per helper and of cancelled requests), so a script can hold
 * 65,534 sockets and polls. */
#ifndef SIM_KERNEL_H
#define SIM_KERNEL_H

#include "win/afd.h"

#include <stddef.h>
#include <stdint.h>

/* A failed-I/O status for scripted failures (STATUS_IO_DEVICE_ERROR). */
#define SIM_STATUS_IO_FAILED ((int32_t)0xC0000185)
#define SIM_STATUS_NO_RESOURCES ((int32_t)0xC000009A)

/* The Windows clock tick: waits end on one (15.625 ms by default). */
#define SIM_TICK_US 15625u

enum { SIM_PENDING = 1, SIM_QUEUED = 2 };

#define SIM_NIL UINT32_MAX
enum { SIM_L_ALL, SIM_L_SOCK, SIM_L_HELPER, SIM_L_CANCEL, SIM_L__COUNT };

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
    /* the kernel's own bookkeeping: indices into polls (SIM_NIL: none) */
    uint32_t sock;               /* its socket's record (sim_socket_at) */
    uint32_t hidx;               /* its helper's record (k->helpers) */
    uint32_t lists;              /* bit l: linked on list l */
    uint32_t prev[SIM_L__COUNT]; /* all held (oldest first); pending on its socket, on its */
    uint32_t next[SIM_L__COUNT]; /* helper; pending with a cancel requested */
} sim_poll;

typedef struct sim_list {
    uint32_t head, tail;
} sim_list;

/* One socket: a SOCKET value and its base (AFD) handle. Reopening a value makes a new record
 * (a new endpoint); sim_socket_find gives the newest. Records never move. */
typedef struct sim_socket {
    uintptr_t value, base;
    int open;
    int probe;      /* opened through the table (socket_open): the backend must close it */
    uint32_t ready; /* AFD events that hold now (level) */
    uint32_t index; /* its record number */
    size_t pending; /* polls pending on it now */
    sim_list polls; /* those polls, oldest first */
} sim_socket;

/* One \Device\Afd helper handle. */
typedef struct sim_helper {
    uintptr_t handle, key;
    int open;
    size_t outstanding;     /* polls pending on it now: what a cancel on it walks */
    size_t max_outstanding; /* the most ever pending on it at once */
    sim_list polls;         /* its pending polls, oldest first */
} sim_helper;

typedef struct sim_packet {
    uintptr_t key, context;
    rx_iosb iosb;
    uint32_t events;    /* AFD events written into the buffer, on success */
    uint32_t requested; /* AFD events the completed poll asked for */
    uint64_t seq;       /* the request it completes; 0 for a posted or injected packet */
    const rx_iosb *req; /* that request's status block */
} sim_packet;

/* What one dequeue handed out, for the harness to check reports against. */
typedef struct sim_seen {
    uintptr_t key, context;
    int32_t status;
    uint32_t events;    /* AFD events written, on success (may hold bits not requested) */
    uint32_t requested; /* AFD events the poll asked for (0 for a posted packet) */
} sim_seen;

#define SIM_LOG 256

/* A multimap of 64-bit keys to 32-bit values, open addressing (the kernel's own). */
typedef struct sim_map {
    struct sim_map_slot *slots;
    size_t cap, count;
} sim_map;

typedef struct sim_kernel {
    rx_afd_kernel table; /* hand this to rx_iocp_init_kernel */
    /* handles: helper and helper_key are the last helper opened; helper_open counts the helpers
     * open now, helper_opens those ever opened */
    uintptr_t port, helper, helper_key;
    int port_open, helper_open, port_opens, helper_opens;
    sim_helper *helpers; /* every helper ever opened, in order */
    size_t nhelpers, helpers_cap;
    /* requests held, in no particular order (a dequeued one's place is taken by the last);
     * sim_nth walks them oldest first. The packet queue. */
    sim_poll *polls;
    size_t npolls, polls_cap;
    size_t npending;    /* of them PENDING */
    sim_list all;       /* every held request, oldest first */
    sim_list cancelled; /* pending requests with a cancel requested (never stuck ones) */
    uint64_t cancel_n;  /* requests cancelled so far (cancel_immediate_mask's n) */
    sim_packet *queue;
    size_t qhead, qlen, qcap;
    uint64_t seq;
    /* sockets: records in chunks that never move */
    sim_socket **sock_chunks;
    size_t nsockets, sock_chunks_cap;
    size_t probes_open, probe_opens;
    sim_map by_value, by_base, by_addr;
    /* script knobs */
    int fail_port_open, fail_helper_open;
    int fail_socket_open;    /* socket_open fails with this WSA error */
    int refuse_afd;          /* every AFD_POLL is refused at once: STATUS_BAD_DEVICE_TYPE (old
                                Wine, no IOCTL_AFD_POLL); the backend's probe sees it */
    int arm_immediate;       /* a poll whose condition holds completes inside the arm call */
    int32_t arm_fail_status; /* the next arm fails with this status at once (no packet) */
    int stick_next;          /* the next arm never completes */
    int cancel_immediate;    /* a cancel completes its poll inside the cancel call */
    uint32_t cancel_immediate_mask; /* the n-th request cancelled completes inside the call when
                                       bit n % 32 is set (0x55555555: every other one) */
    int wait_completes;             /* a dequeue that would wait lets pending cancels complete */
    int close_completes;            /* closing a helper completes its polls (HANDLES_CLOSED) */
    uint32_t unrequested;  /* AFD bits added to every successful readiness result, asked for or
                              not (trio #52: AFD returns bits nobody requested) */
    int two_polls_ok;      /* a second poll pending on one socket is not a contract error */
    int cross_complete;    /* with two polls pending on a socket, completing one completes the
                              other instead, with the first one's events (trio #52) */
    uint32_t wait_tick_us; /* nonzero: a dequeue that waits with nothing to deliver really sleeps,
                              ending on a clock tick of this length, up to a tick early
                              (SIM_TICK_US as on Windows) */
    int32_t wait_phase_us; /* with wait_tick_us: where in its tick a wait starts; -1: the clock */
    /* what the backend did */
    uint64_t arms, arms_refused, cancels, cancels_late, packets, dequeued, posts, waits;
    uint64_t cancels_all; /* cancels with a NULL status block (every request of a helper) */
    uint64_t cancel_work; /* requests walked by cancels: each adds its helper's outstanding */
    uint64_t cancel_work_max, cancel_work_last; /* the largest single cancel's work; the last */
    uint64_t waited_ms;       /* virtual time the backend asked to wait with nothing to come */
    uint64_t slept_us;        /* real time slept by waits with wait_tick_us */
    uint64_t waits_early;     /* waits that returned before their timeout (wait_tick_us) */
    uint64_t max_outstanding; /* the most polls ever pending at once, all helpers */
    uint64_t helper_max_outstanding; /* the most ever pending on one helper at once */
    uint64_t two_polls;              /* arms on a socket that already had a poll pending */
    uint64_t cross_completions;      /* polls completed with another poll's events */
    uint64_t timeouts;               /* zero-timeout polls that completed with STATUS_TIMEOUT */
    /* per dequeue call since sim_log_reset: packets handed out, and arms refused (unless
     * log_off: for scripts that do not read it, so it cannot overflow) */
    int log_off;
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
/* Forgets every request and packet; checks the port, every helper and every probe socket was
 * closed. Frees the sim's memory. */
void sim_fini(sim_kernel *k);

/* Sockets: value -> base handle (value + 0x10000 + 0x100 * reopen count). */
uintptr_t sim_socket_open(sim_kernel *k, uintptr_t value);
/* A socket whose base handle is a given value, e.g. one a closed socket had (Windows reuses
 * handle values at once). */
uintptr_t sim_socket_open_base(sim_kernel *k, uintptr_t value, uintptr_t base);
/* The newest socket with that value, open or closed, or NULL. */
sim_socket *sim_socket_find(sim_kernel *k, uintptr_t value);
sim_socket *sim_socket_at(sim_kernel *k, uint32_t index);
/* The application closes the socket: its pending polls complete with LOCAL_CLOSE. */
void sim_socket_close(sim_kernel *k, uintptr_t value);
void sim_socket_set_ready(sim_kernel *k, uintptr_t value, uint32_t afd_events);
void sim_socket_clear_ready(sim_kernel *k, uintptr_t value, uint32_t afd_events);
/* The i-th poll pending on the socket (oldest first), or NULL. */
sim_poll *sim_socket_poll(sim_kernel *k, uintptr_t value, size_t i);
/* The helper record of a handle, open or closed, or NULL. */
sim_helper *sim_helper_find(sim_kernel *k, uintptr_t handle);

/* The i-th pending request matching a filter, oldest first, or NULL. */
enum { SIM_ANY = 0, SIM_COMPLETABLE = 1, SIM_CANCELLING = 2 };
sim_poll *sim_nth(sim_kernel *k, int filter, size_t i);
size_t sim_count(const sim_kernel *k, int state, uintptr_t context);
/* Completes a pending request: success with the socket's ready events, cancelled, or status.
 * A returned pointer into polls is valid until the next dequeue or completion. */
void sim_complete_ready(sim_kernel *k, sim_poll *p);
void sim_complete_status(sim_kernel *k, sim_poll *p, int32_t status);
/* Completes every cancelled request (oldest first); returns how many. */
size_t sim_complete_cancelled(sim_kernel *k);
/* Completes every request that can complete (cancelled ones, ready ones); returns how many. */
size_t sim_complete_all(sim_kernel *k);
/* Queues a packet as if from nowhere (a foreign key or a stale context). */
void sim_inject(sim_kernel *k, uintptr_t key, uintptr_t context);
/* After the backend is gone: the kernel finally completes what it held, writing each request's
 * status block and buffer. Their memory must still be allocated. Returns how many. */
size_t sim_release_stuck(sim_kernel *k);
void sim_log_reset(sim_kernel *k);
/* Zeroes the "what the backend did" counters (not the state). */
void sim_counters_reset(sim_kernel *k);

#endif
