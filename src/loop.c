/* loop.c - the loop: create and destroy, channels and timers through the public API, and one
 * iteration (wait, collect, dispatch). Dispatch names channels by ID and re-looks each one up,
 * so callbacks may add, modify and remove any channel at any time. */
#include "backend.h"
#include "channel_table.h"
#include "platform.h"
#include "timer_heap.h"

#include <limits.h>
#include <stdatomic.h>
#include <string.h>

#if defined(RX_HAVE_EPOLL)
#include "posix/epoll.h"
#endif

struct reactor {
    rx_alloc alloc;
    rx_table table;
    rx_timers timers;
    const rx_backend_ops *ops;
    void *be;
    rx_sink ready; /* room for every channel (loop__reserve_ready), grown with the table */
    uint64_t now_ns;
    reactor_wakeup_cb on_wakeup;
    void *wakeup_arg;
    atomic_int wake_pending; /* a wake-up the loop has not consumed: LOOP__WAKE_* */
    atomic_int awake;        /* 1: the loop thread reads wake_pending before it next waits */
    int spin;                /* the last wait ended with a wake-up: spin before the next */
    void *data;              /* reactor_set_data */
    int os_error;            /* reactor_last_os_error */
    int running;
    int stop;
    int closing; /* reactor_destroy was called from a callback: free when reactor_run returns */
    reactor_stats_t counts;
};

#define LOOP__INTEREST (REACTOR_READABLE | REACTOR_WRITABLE | REACTOR_HALFCLOSE)
#define LOOP__VALID_EVENTS (LOOP__INTEREST | REACTOR_HANGUP | REACTOR_ERROR)
/* reactor_run_timeout's iteration: one wait, bounded by its own timeout. */
#define LOOP__BOUNDED 3
#define LOOP__MS 1000000u
/* wake_pending: none; pending (signalled, or the loop was awake and will see it); pending but
 * its signal failed, so the next reactor_wakeup must signal again. The loop treats any non-zero
 * value as pending; a failed signal never clears the flag, which could erase a wake-up that
 * skipped the kernel meanwhile. */
#define LOOP__WAKE_NONE 0
#define LOOP__WAKE_PENDING 1
#define LOOP__WAKE_UNSIGNALLED 2

/* Room in the sink for cap channels: pairs, or epoll_wait's entries plus one for the wake-up
 * (the epoll backend keeps no array of its own). rx_resize keeps what the buffer holds, so a
 * callback's add may grow it while the loop dispatches from it. */
static int loop__reserve_ready(reactor_t *r, uint32_t cap)
{
    if (cap < r->ready.cap) /* room for cap + 1 entries: every add but a growing one */
        return 0;
#if defined(RX_HAVE_EPOLL)
    if (r->ops->sink == RX_SINK_EPOLL)
        return rx_resize(&r->alloc, (void **)&r->ready.ev, &r->ready.cap, cap + 1,
                         sizeof(struct epoll_event));
#endif
    return rx_resize(&r->alloc, (void **)&r->ready.ev, &r->ready.cap, cap, sizeof *r->ready.ev);
}

static void loop__free_ready(reactor_t *r)
{
#if defined(RX_HAVE_EPOLL)
    if (r->ops->sink == RX_SINK_EPOLL) {
        rx_free(&r->alloc, r->ready.ev, (size_t)r->ready.cap * sizeof(struct epoll_event));
        return;
    }
#endif
    rx_free(&r->alloc, r->ready.ev, (size_t)r->ready.cap * sizeof *r->ready.ev);
}

static const rx_backend_ops *loop__backend(int backend)
{
    switch (backend) {
#if defined(RX_HAVE_POLL)
    case REACTOR_BACKEND_POLL:
        return &rx_poll_ops;
#endif
#if defined(RX_HAVE_EPOLL)
    case REACTOR_BACKEND_EPOLL:
        return &rx_epoll_ops;
#endif
#if defined(RX_HAVE_AFD)
    case REACTOR_BACKEND_AFD:
        return &rx_afd_ops;
#endif
    default:
        return NULL;
    }
}

int reactor_create(reactor_t **out, const reactor_options_t *opts)
{
    if (!out)
        return REACTOR_EINVAL;
    int backend = opts ? opts->backend : REACTOR_BACKEND_DEFAULT;
    if (backend < REACTOR_BACKEND_DEFAULT || backend > REACTOR_BACKEND_AFD)
        return REACTOR_EINVAL;
    if (backend == REACTOR_BACKEND_DEFAULT) {
#if defined(RX_FALLBACK_BACKEND)
        return rx_create_fallback(out, opts, loop__backend(RX_DEFAULT_BACKEND),
                                  loop__backend(RX_FALLBACK_BACKEND));
#else
        backend = RX_DEFAULT_BACKEND;
#endif
    }
    const rx_backend_ops *ops = loop__backend(backend);
    if (!ops)
        return REACTOR_ENOTSUP;
    return rx_create_with(out, opts, ops);
}

int rx_create_fallback(reactor_t **out, const reactor_options_t *opts, const rx_backend_ops *first,
                       const rx_backend_ops *second)
{
    /* A refused first backend has freed all it took (rx_create_with frees the loop), so the
     * second try starts from a clean allocator. */
    int err = rx_create_with(out, opts, first);
    if (err == REACTOR_ENOTSUP && second)
        err = rx_create_with(out, opts, second);
    return err;
}

int rx_create_with(reactor_t **out, const reactor_options_t *opts, const rx_backend_ops *ops)
{
    if (!out || !ops)
        return REACTOR_EINVAL;
    const reactor_allocator_t *user = opts ? opts->allocator : NULL;
    if (user && (!user->malloc || !user->realloc || !user->free))
        return REACTOR_EINVAL;
    rx_alloc alloc;
    rx_alloc_init(&alloc, user);
    reactor_t *r = rx_malloc(&alloc, sizeof *r);
    if (!r)
        return REACTOR_ENOMEM;
    memset(r, 0, sizeof *r);
    r->alloc = alloc;
    rx_table_init(&r->table, &r->alloc);
    rx_timers_init(&r->timers, &r->alloc);
    r->ops = ops;
    r->on_wakeup = opts ? opts->on_wakeup : NULL;
    r->wakeup_arg = opts ? opts->wakeup_arg : NULL;
    atomic_init(&r->wake_pending, LOOP__WAKE_NONE);
    atomic_init(&r->awake, 0);
    int err = ops->init(&r->be, &r->alloc);
    if (err)
        goto fail_init;
    /* epoll_wait needs room for one entry (the wake-up) before any channel exists. */
    if (ops->sink != RX_SINK_PAIRS) {
        err = loop__reserve_ready(r, 0);
        if (err)
            goto fail_ready;
    }
    r->now_ns = rx_clock_ns();
    *out = r;
    return 0;
fail_ready:
    ops->destroy(r->be);
fail_init:
    /* Copy the counts back so the caller's allocator sees a balanced free. */
    alloc = r->alloc;
    rx_free(&alloc, r, sizeof *r);
    return err;
}

static void loop__free(reactor_t *r)
{
    r->ops->destroy(r->be);
    rx_table_free(&r->table);
    rx_timers_free(&r->timers);
    loop__free_ready(r);
    rx_alloc alloc = r->alloc;
    rx_free(&alloc, r, sizeof *r);
}

void reactor_destroy(reactor_t *r)
{
    if (!r)
        return;
    if (r->running) {
        /* From a callback: no further callback runs, and reactor_run frees the loop. */
        r->closing = 1;
        r->stop = 1;
        return;
    }
    loop__free(r);
}

/* Records the OS error behind a backend call's ESYS or EBADF for reactor_last_os_error. */
static int loop__failed(reactor_t *r, int err)
{
    if (err == REACTOR_ESYS || err == REACTOR_EBADF)
        r->os_error = r->ops->os_error ? r->ops->os_error(r->be) : 0;
    return err;
}

/* ---- channels ---- */

int reactor_add(reactor_t *r, reactor_socket_t s, unsigned events, reactor_io_cb cb, void *arg,
                reactor_chn_t *out_chn)
{
    if (!r || !cb || !out_chn || (events & ~LOOP__VALID_EVENTS))
        return REACTOR_EINVAL;
    if (s == REACTOR_INVALID_SOCKET) {
        r->os_error = 0;
        return REACTOR_EBADF;
    }
#if !defined(_WIN32)
    if (s < 0) {
        r->os_error = 0;
        return REACTOR_EBADF;
    }
#endif
    events &= LOOP__INTEREST;
    if (rx_table_find_socket(&r->table, s) >= 0)
        return REACTOR_EEXIST;
    int err = rx_table_reserve(&r->table);
    if (err)
        return err;
    uint32_t cap = r->table.cap;
    err = loop__reserve_ready(r, cap);
    if (err)
        return err;
    err = r->ops->reserve(r->be, cap);
    if (err)
        return err;
    uint32_t slot = r->table.count;
    err = r->ops->add(r->be, slot, rx_table_next_id(&r->table), s, events);
    if (err)
        return loop__failed(r, err);
    rx_table_add(&r->table, s, events, cb, arg);
    *out_chn = r->table.rec[slot].chn;
    return 0;
}

int reactor_modify(reactor_t *r, reactor_chn_t chn, unsigned events)
{
    if (!r || (events & ~LOOP__VALID_EVENTS))
        return REACTOR_EINVAL;
    int32_t slot = rx_table_find(&r->table, chn);
    if (slot < 0)
        return REACTOR_EBADCHN;
    events &= LOOP__INTEREST;
    rx_record *rec = &r->table.rec[slot];
    int err = r->ops->modify(r->be, (uint32_t)slot, rx_table_id(&r->table, (uint32_t)slot),
                             rec->sock, events);
    if (err)
        return loop__failed(r, err);
    rec->events = (uint8_t)events;
    return 0;
}

int reactor_remove(reactor_t *r, reactor_chn_t chn)
{
    if (!r)
        return REACTOR_EINVAL;
    int32_t slot = rx_table_find(&r->table, chn);
    if (slot < 0)
        return REACTOR_EBADCHN;
    rx_record *rec = &r->table.rec[slot];
    r->ops->remove(r->be, (uint32_t)slot, r->table.count - 1,
                   rx_table_id(&r->table, (uint32_t)slot), rec->sock);
    rx_table_remove(&r->table, (uint32_t)slot);
    return 0;
}

/* ---- timers ---- */

int reactor_timer_start(reactor_t *r, uint64_t timeout_ms, uint64_t repeat_ms, reactor_timer_cb cb,
                        void *arg, reactor_timer_t *out)
{
    if (!r || !cb || !out)
        return REACTOR_EINVAL;
    /* Measured from now, not from the cached loop time, so it never fires early. */
    uint64_t now = rx_clock_ns();
    uint64_t span = timeout_ms > (UINT64_MAX - now) / LOOP__MS ? UINT64_MAX - now
                                                               : timeout_ms * LOOP__MS;
    uint64_t repeat = repeat_ms > UINT64_MAX / LOOP__MS ? UINT64_MAX : repeat_ms * LOOP__MS;
    return rx_timers_start(&r->timers, now + span, repeat, cb, arg, out);
}

int reactor_timer_stop(reactor_t *r, reactor_timer_t t)
{
    if (!r)
        return REACTOR_EINVAL;
    return rx_timers_stop(&r->timers, t);
}

/* ---- the loop ---- */

static int loop__alive(const reactor_t *r)
{
    return r->table.count > 0 || r->timers.len > 0;
}

/* Milliseconds until the next timer is due: -1 for none, 0 when due, else rounded up. */
static int loop__timer_ms(const reactor_t *r, uint64_t now)
{
    uint64_t due = rx_timers_next_due(&r->timers);
    if (due == UINT64_MAX)
        return -1;
    if (due <= now)
        return 0;
    uint64_t ms = (due - now + LOOP__MS - 1) / LOOP__MS;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* Milliseconds to wait: 0 when stopping or a timer is due, -1 for none, else rounded up, and
 * no more than bound (-1: none). */
static int loop__timeout(const reactor_t *r, int mode, int bound)
{
    if (mode == REACTOR_RUN_NOWAIT || r->stop)
        return 0;
    int ms = loop__timer_ms(r, r->now_ns);
    return bound >= 0 && (ms < 0 || bound < ms) ? bound : ms;
}

/* A report that names no live channel before any callback of the iteration ran can only come
 * from a watch the backend could not delete (epoll: the application closed the descriptor while
 * a dup kept the socket open). Level-triggered, it would come back every wait: rebuild the
 * backend's set from the table. */
static void loop__readd(reactor_t *r)
{
    for (uint32_t slot = 0; slot < r->table.count; slot++) {
        const rx_record *rec = &r->table.rec[slot];
        /* A descriptor closed without reactor_remove fails here and stays unwatched, as the
         * kernel had already left it. */
        (void)r->ops->add(r->be, slot, rx_table_id(&r->table, slot), rec->sock, rec->events);
    }
}

static void loop__rebuild(reactor_t *r)
{
    if (r->ops->reset(r->be) != 0)
        return;
    r->counts.backend_resets++;
    loop__readd(r);
}

/* One report: the callback of the live channel id names, with events masked by its current
 * interest. A report naming no live channel is stale; while *fresh (no callback has run yet in
 * this iteration) it can only be a ghost watch. */
static inline void loop__deliver(reactor_t *r, rx_id id, unsigned events, int *fresh, int *ghost)
{
    int32_t slot = rx_table_find_id(&r->table, id);
    if (slot < 0) {
        r->counts.stale_completions++;
        *ghost |= *fresh;
        return;
    }
    const rx_record *rec = &r->table.rec[slot];
    events &= rec->events | REACTOR_HANGUP | REACTOR_ERROR;
    if (!events)
        return;
    r->counts.events_dispatched++;
    *fresh = 0;
    rec->cb(r, rec->chn, events, rec->arg);
}

/* One pass over the sink. Each entry is read afresh from r->ready (a callback's add may grow,
 * and so move, the buffer) and each ID looked up again (a callback may remove or add any
 * channel). */
static void loop__dispatch_io(reactor_t *r, int fresh)
{
    uint32_t n = r->ready.n;
    int ghost = 0;
#if defined(RX_HAVE_EPOLL)
    if (r->ops->sink == RX_SINK_EPOLL) {
        for (uint32_t i = 0; i < n && !r->closing; i++) {
            const struct epoll_event *e = &rx_sink_kev(&r->ready)[i];
            loop__deliver(r, rx_epoll_id(e), rx_epoll_events(e), &fresh, &ghost);
        }
    } else
#endif
    {
        for (uint32_t i = 0; i < n && !r->closing; i++) {
            rx_event ev = r->ready.ev[i];
            loop__deliver(r, rx_event_id(ev), rx_event_events(ev), &fresh, &ghost);
        }
    }
    r->ready.n = 0;
    if (ghost && r->ops->reset && !r->closing)
        loop__rebuild(r);
}

static void loop__run_timers(reactor_t *r)
{
    /* Timers started by these callbacks wait for the next pass, so a 0 ms timer restarted
     * from its own callback cannot starve I/O. */
    uint64_t limit = rx_timers_seq(&r->timers);
    reactor_timer_t id;
    reactor_timer_cb cb;
    void *arg;
    while (!r->closing && rx_timers_expire(&r->timers, r->now_ns, limit, &id, &cb, &arg)) {
        r->counts.timers_fired++;
        cb(r, id, arg);
    }
}

/* After a wait that a wake-up ended, the next wait that may block first watches wake_pending
 * this long, still awake (so a waker makes no system call): a thread handing work to the loop
 * one item at a time then costs neither side a system call or a context switch. At most this
 * much CPU per wake-up delivered; a loop that is not woken never spins. */
#define LOOP__SPIN_NS 2000u

/* 1 if a wake-up came within LOOP__SPIN_NS. */
static int loop__spin_for_wakeup(reactor_t *r)
{
    uint64_t t0 = rx_clock_ns();
    do {
        for (int i = 0; i < 16; i++) {
            if (atomic_load_explicit(&r->wake_pending, memory_order_relaxed))
                return 1;
            rx_cpu_relax();
        }
    } while (rx_clock_ns() - t0 < LOOP__SPIN_NS);
    return 0;
}

/* Before a wait that may block: the loop announces it is going to sleep, then looks for a
 * wake-up that skipped the kernel because the loop was awake (reactor_wakeup). Both sides store
 * then load with sequential consistency, so at least one of them sees the other: either the
 * waker signals the backend, or the loop does not block. Returns the timeout to use. */
static int loop__before_wait(reactor_t *r, int timeout)
{
    if (timeout == 0)
        return 0;
    if (r->spin && loop__spin_for_wakeup(r))
        return 0;
    atomic_store(&r->awake, 0);
    return atomic_load(&r->wake_pending) ? 0 : timeout;
}

/* Consumes a pending wake-up: 1 if there was one. The backend's report alone is not enough (a
 * wake-up the loop already took through loop__before_wait can still leave the kernel's signal
 * behind), nor needed (a waker that saw the loop awake sent none). An exchange, not a store: it
 * acquires what every coalesced waker published. */
static int loop__take_wakeup(reactor_t *r)
{
    if (!r->ready.woken && !atomic_load_explicit(&r->wake_pending, memory_order_relaxed))
        return 0;
    return atomic_exchange(&r->wake_pending, LOOP__WAKE_NONE) != LOOP__WAKE_NONE;
}

/* A signal of the backend failed: the wake-up stays pending, and the next reactor_wakeup signals
 * again (unless the loop took it meanwhile). */
static void loop__signal_failed(reactor_t *r)
{
    int expected = LOOP__WAKE_PENDING;
    atomic_compare_exchange_strong(&r->wake_pending, &expected, LOOP__WAKE_UNSIGNALLED);
}

/* mode: a reactor_run_mode, or LOOP__BOUNDED (waits at most bound ms, once). */
static int loop__iterate(reactor_t *r, int mode, int bound)
{
    /* Awake from here to the next loop__before_wait: a wake-up meanwhile needs no system call
     * (loop__finish cleared this when the last run returned). */
    atomic_store_explicit(&r->awake, 1, memory_order_relaxed);
    r->now_ns = rx_clock_ns();
    uint64_t until = bound > 0 ? r->now_ns + (uint64_t)bound * LOOP__MS : r->now_ns;
    int timeout = loop__timeout(r, mode, bound);
    int woke = 0;
    for (;;) {
        r->ready.n = 0;
        r->ready.woken = 0;
        timeout = loop__before_wait(r, timeout);
        int err = r->ops->poll(r->be, timeout, &r->ready);
        /* Awake until the next loop__before_wait or the end of the run: a wake-up meanwhile
         * needs no system call. */
        atomic_store_explicit(&r->awake, 1, memory_order_relaxed);
        r->counts.stale_completions += r->ready.stale;
        r->ready.stale = 0;
        if (err)
            return loop__failed(r, err);
        r->now_ns = rx_clock_ns();
        woke = loop__take_wakeup(r);
        r->spin = woke;
        /* A wait can end before its time (a signal; Windows waits by clock tick; a wake-up
         * signal already consumed): ONCE waits again until something happened, a bounded wait
         * until its time is up. */
        int again = mode == REACTOR_RUN_ONCE || (mode == LOOP__BOUNDED && bound != 0);
        if (!again || timeout == 0 || r->ready.n || woke || r->stop ||
            rx_timers_next_due(&r->timers) <= r->now_ns)
            break;
        if (mode == LOOP__BOUNDED && bound > 0) {
            if (r->now_ns >= until)
                break;
            bound = (int)((until - r->now_ns + LOOP__MS - 1) / LOOP__MS);
        }
        timeout = loop__timeout(r, mode, mode == LOOP__BOUNDED ? bound : -1);
    }
    r->counts.iterations++;
    int fresh = 1;
    if (woke && r->on_wakeup) {
        r->counts.wakeups++;
        fresh = 0;
        r->on_wakeup(r, r->wakeup_arg);
    }
    loop__dispatch_io(r, fresh);
    loop__run_timers(r);
    return 0;
}

/* The end of a run: the stop request is used up, and a destroy from a callback happens now. */
static int loop__finish(reactor_t *r, int err)
{
    r->stop = 0;
    r->running = 0;
    if (r->closing) {
        loop__free(r);
        return 0;
    }
    /* Asleep from now on as far as wakers know: the application may wait on reactor_backend_fd.
     * A wake-up that came while the loop was awake skipped the kernel; signal it now, so that
     * wait ends (the next run delivers it). */
    atomic_store(&r->awake, 0);
    if (atomic_load(&r->wake_pending) && r->ops->wakeup(r->be) != 0)
        loop__signal_failed(r);
    return err ? err : loop__alive(r);
}

int reactor_run(reactor_t *r, reactor_run_mode mode)
{
    if (!r || mode < REACTOR_RUN_DEFAULT || mode > REACTOR_RUN_NOWAIT)
        return REACTOR_EINVAL;
    if (r->running)
        return REACTOR_EBUSY;
    r->running = 1;
    int err = 0;
    if (mode == REACTOR_RUN_DEFAULT) {
        while (!r->stop && loop__alive(r) && !(err = loop__iterate(r, mode, -1)))
            ;
    } else if (!r->stop && (loop__alive(r) || mode == REACTOR_RUN_NOWAIT || r->on_wakeup)) {
        err = loop__iterate(r, mode, -1);
    }
    return loop__finish(r, err);
}

int reactor_run_timeout(reactor_t *r, int timeout_ms)
{
    if (!r || timeout_ms < -1)
        return REACTOR_EINVAL;
    if (r->running)
        return REACTOR_EBUSY;
    r->running = 1;
    int err = r->stop ? 0 : loop__iterate(r, LOOP__BOUNDED, timeout_ms);
    return loop__finish(r, err);
}

void reactor_stop(reactor_t *r)
{
    if (r)
        r->stop = 1;
}

uint64_t reactor_now(const reactor_t *r)
{
    return r ? r->now_ns / LOOP__MS : 0;
}

/* Async-signal-safe: lock-free atomics and at most one write (which keeps errno, see wakeup.c). */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "reactor_wakeup must stay async-signal-safe");

int reactor_wakeup(reactor_t *r)
{
    if (!r)
        return REACTOR_EINVAL;
    /* Coalesce: only the first wake-up since the loop last consumed one can reach the kernel,
     * and not even that one while the loop is awake: it looks at wake_pending before it waits
     * (loop__before_wait) and before a run returns (loop__finish). */
    if (atomic_exchange(&r->wake_pending, LOOP__WAKE_PENDING) == LOOP__WAKE_PENDING)
        return 0;
    if (atomic_load(&r->awake))
        return 0;
    int err = r->ops->wakeup(r->be);
    if (err)
        loop__signal_failed(r);
    return err;
}

int reactor_backend_fd(const reactor_t *r, intptr_t *out)
{
    if (!r || !out)
        return REACTOR_EINVAL;
    return r->ops->fd ? r->ops->fd(r->be, out) : REACTOR_ENOTSUP;
}

int reactor_backend_timeout(const reactor_t *r)
{
    return r ? loop__timer_ms(r, rx_clock_ns()) : -1;
}

void reactor_set_data(reactor_t *r, void *data)
{
    if (r)
        r->data = data;
}

void *reactor_get_data(const reactor_t *r)
{
    return r ? r->data : NULL;
}

int reactor_chn_socket(const reactor_t *r, reactor_chn_t chn, reactor_socket_t *out)
{
    if (!r || !out)
        return REACTOR_EINVAL;
    int32_t slot = rx_table_find(&r->table, chn);
    if (slot < 0)
        return REACTOR_EBADCHN;
    *out = r->table.rec[slot].sock;
    return 0;
}

int reactor_socket_chn(const reactor_t *r, reactor_socket_t s, reactor_chn_t *out)
{
    if (!r || !out)
        return REACTOR_EINVAL;
    int32_t slot = rx_table_find_socket(&r->table, s);
    if (slot < 0)
        return REACTOR_EBADCHN;
    *out = r->table.rec[slot].chn;
    return 0;
}

int reactor_last_os_error(const reactor_t *r)
{
    return r ? r->os_error : 0;
}

int reactor_fork(reactor_t *r)
{
    if (!r)
        return REACTOR_EINVAL;
    if (!r->ops->fork)
        return REACTOR_ENOTSUP;
    int err = r->ops->fork(r->be);
    if (err)
        return loop__failed(r, err);
    /* A wake-up the parent had pending stays the parent's. */
    atomic_store(&r->wake_pending, LOOP__WAKE_NONE);
    atomic_store(&r->awake, 0);
    loop__readd(r);
    return 0;
}

const char *reactor_backend_name(const reactor_t *r)
{
    return r ? r->ops->name : NULL;
}

int reactor_stats(const reactor_t *r, reactor_stats_t *out)
{
    if (!r || !out)
        return REACTOR_EINVAL;
    *out = r->counts;
    out->channels = r->table.count;
    out->timers = r->timers.len;
    out->allocations_live = r->alloc.live;
    out->bytes_live = r->alloc.bytes;
    out->allocations_total = r->alloc.total;
    if (r->ops->stats)
        r->ops->stats(r->be, out);
    return 0;
}
