/* fixture.h - what every test shares: the backend named on the command line, a loop made with
 * the counting allocator, sockets closed at teardown, bounded waits, and the rule that every
 * test ends with the loop destroyed and zero live allocations. */
#ifndef SUP_FIXTURE_H
#define SUP_FIXTURE_H

/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "count_alloc.h"
#include "reactor.h"
#include "sock.h"
#include "thread.h"

/* One test's world. Lives on the heap so the allocator's ctx stays put. */
typedef struct sup_loop {
    sup_alloc alloc;
    reactor_t *r;
    reactor_socket_t *socks; /* closed at teardown */
    size_t nsocks, sock_cap;
} sup_loop;

/* Runs the named group. argv: [backend] [case]; backend only when per_backend is set. With a
 * case name only that test runs (and an unknown name fails). */
int sup_main(int argc, char **argv, const char *group, const struct CMUnitTest *tests, size_t n,
             int per_backend);
/* The backend named on the command line (REACTOR_BACKEND_*) and its name. */
int sup_backend(void);
const char *sup_backend_arg(void);
/* A backend that is not built on this platform (for REACTOR_ENOTSUP). */
int sup_foreign_backend(void);

/* Setup: a fixture and a loop on the command line's backend. */
int sup_setup(void **state);
/* Setup: a fixture without a loop (the test makes its own). */
int sup_setup_bare(void **state);
/* Teardown: destroys the loop if still open, asserts zero live allocations, closes sockets. */
int sup_teardown(void **state);

/* (Re)creates f->r on the command line's backend with the counting allocator. */
void sup_loop_open(sup_loop *f, reactor_wakeup_cb on_wakeup, void *arg);
/* Destroys f->r and asserts zero live blocks and bytes. */
void sup_loop_close(sup_loop *f);

/* Sockets owned by the fixture: made, tracked, closed at teardown (or early, untracked). */
void sup_new_pair(sup_loop *f, reactor_socket_t out[2]);
void sup_new_tcp_pair(sup_loop *f, reactor_socket_t out[2]);
void sup_track(sup_loop *f, reactor_socket_t s);
void sup_close_now(sup_loop *f, reactor_socket_t s);
void sup_send_byte(reactor_socket_t s);

/* Runs ONCE iterations until cond(ctx) holds or timeout_ms pass (a timer is the deadline).
 * Returns 1 when cond held. The deadline timer is stopped again when it did not fire. */
int sup_run_until(sup_loop *f, int (*cond)(void *ctx), void *ctx, uint64_t timeout_ms);
/* The same for *counter >= target. */
int sup_run_until_count(sup_loop *f, const int *counter, int target, uint64_t timeout_ms);

reactor_stats_t sup_stats(const sup_loop *f);
/* Registers a fresh pair, makes it readable, waits for the callback, removes it: the loop works. */
void sup_assert_loop_works(sup_loop *f);

/* A recording I/O callback: arg is a sup_probe. */
typedef struct sup_probe {
    int calls;
    unsigned events; /* union of all events seen */
    unsigned last;   /* events of the latest call */
    reactor_chn_t chn;
} sup_probe;
void sup_probe_cb(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg);
/* An on_wakeup callback that counts its calls in the int at arg. */
void sup_count_wakeup(reactor_t *r, void *arg);

/* Default wait bound for an event that is expected promptly. */
#define SUP_WAIT_MS 5000u

#endif
