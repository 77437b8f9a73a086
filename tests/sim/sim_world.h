/* sim_world.h - a loop on the AFD backend on the simulated kernel, driven by scripts of
 * operations, with every report checked against what the kernel delivered and the loop checked
 * for lost events and leaks when it settles and when it is destroyed. */
#ifndef SIM_WORLD_H
#define SIM_WORLD_H

#include "backend.h"
#include "reactor.h"
#include "sim_kernel.h"
#include "win/iocp.h"
#include "win/pinned_pool.h"

#include <stddef.h>
#include <stdint.h>

/* A failing allocator that keeps every live block on a list, so blocks deliberately left to a
 * kernel that never completed are still reachable and can be released at the end. */
typedef struct sim_block sim_block;
typedef struct sim_alloc {
    reactor_allocator_t fn;
    sim_block *head;
    uint64_t live, calls, fail_at, failures;
} sim_alloc;

void sim_alloc_init(sim_alloc *a);
/* Frees every block still live; returns how many there were. */
uint64_t sim_alloc_release(sim_alloc *a);

typedef enum w_kind {
    OP_ADD,         /* reactor_add socket i (READABLE) */
    OP_REMOVE,      /* reactor_remove socket i's channel */
    OP_RUN,         /* reactor_run NOWAIT: arm pass, then every queued packet */
    OP_READY,       /* socket i becomes readable (level) */
    OP_COMPLETE,    /* the kernel completes the j-th completable poll with its ready events */
    OP_CANCEL_DONE, /* the kernel completes the j-th cancelled poll: STATUS_CANCELLED */
    OP_GROW,        /* 17 filler channels: the table, ready array and by-number array grow */
    OP_DESTROY,     /* reactor_destroy now, whatever is in flight */
    OP_CLOSE,       /* the application closes socket i without removing it: LOCAL_CLOSE */
    OP_REOPEN,      /* a new socket gets socket i's closed value (another base handle) */
    OP_FAIL,        /* the kernel completes the j-th pending poll with a failed-I/O status */
    OP_IMMEDIATE,   /* toggles: arms whose condition holds succeed at once (packet follows) */
    OP_ARMFAIL,     /* the next arm fails at once (STATUS_INSUFFICIENT_RESOURCES, no packet):
                       transient, so it is tried again */
    OP_MODIFY,      /* socket i's interest toggles READABLE <-> READABLE|WRITABLE */
    OP_WAKE,        /* reactor_wakeup: a packet with the wake key and a NULL context */
    OP_STICK,       /* the next arm is one the kernel never completes, even on cancel/close */
    OP_SETTLE,      /* the kernel completes everything it can until the loop is quiet */
    OP_ARMBAD,      /* the next arm fails at once with a status that means the handle is bad */
    OP__COUNT
} w_kind;

typedef struct w_op {
    uint8_t kind, arg;
} w_op;

#define W_SOCKS 4
#define W_FILL 17
#define W_TRACE 96

typedef struct w_chan {
    int registered, dead, calls;
    reactor_chn_t chn;
    rx_id id;
    uintptr_t base; /* the socket's base handle when it was added */
    unsigned interest, got;
} w_chan;

typedef struct world {
    sim_kernel k;
    sim_alloc alloc;
    reactor_t *r;
    void *be;
    int created, destroyed;
    uintptr_t sock[W_SOCKS];
    w_chan ch[W_SOCKS];
    reactor_chn_t fill[W_FILL];
    int nfill;
    rx_iocp_final final;
    int have_final;
    /* the shim's view: IDs the core has added and not removed */
    struct {
        rx_id id;
        uintptr_t sock;
        unsigned interest;
    } live[W_SOCKS + W_FILL];
    int nlive;
    rx_id last_add;
    uint64_t stale_expected, reports, enomem, blocks_peak;
    uint64_t
        poison_expected; /* a test wrote into a free state on purpose (checks count each time) */
    int failed;
    char why[256];
    w_op trace[W_TRACE];
    int ntrace;
} world;

/* Creates the loop (which may fail when an allocation is made to fail: w->created stays 0). */
void world_init(world *w, uint64_t fail_at);
int world_enabled(world *w, w_op op);
/* Applies op (it must be enabled) and checks the backend's reports. 0, or -1 with w->why. */
int world_step(world *w, w_op op);
/* Lets the kernel complete all it can and runs the loop until it is quiet, then checks that no
 * event was lost and nothing is left over. 0 or -1. */
int world_settle(world *w);
/* Destroys the loop (if not yet), checks nothing was freed under the kernel and nothing leaked,
 * lets the kernel finish what it held, and releases everything. 0 or -1. */
int world_finish(world *w);
/* Writes the trace ("add(0) run ...") into buf. */
void world_trace(const world *w, char *buf, size_t size);
const char *world_op_name(w_kind kind);

/* Runs ops then settles and finishes; on failure writes the trace and reason into msg. The
 * enabled ops after the prefix are written to next (if not NULL). Returns 0 or -1; *allocs
 * receives the number of allocation calls the run made. */
int world_run(const w_op *ops, int n, uint64_t fail_at, const w_op *alphabet, int nalpha,
              w_op *next, int *nnext, uint64_t *allocs, char *msg, size_t msg_size);

#endif
