/* sim_world.c - the harness: a shim backend that runs the real AFD backend on the simulated
 * kernel and checks each poll's reports against the packets the kernel handed out, callbacks
 * that play the application, and the settle / destroy checks. */
#include "sim_world.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the allocator ---- */

struct sim_block {
    sim_block *prev, *next;
    union {
        size_t size;
        max_align_t align;
    } u;
};

static int alloc__fail(sim_alloc *a)
{
    a->calls++;
    if (a->fail_at && a->calls == a->fail_at) {
        a->failures++;
        return 1;
    }
    return 0;
}

static void alloc__link(sim_alloc *a, sim_block *b)
{
    b->prev = NULL;
    b->next = a->head;
    if (a->head)
        a->head->prev = b;
    a->head = b;
}

static void alloc__unlink(sim_alloc *a, sim_block *b)
{
    if (b->prev)
        b->prev->next = b->next;
    else
        a->head = b->next;
    if (b->next)
        b->next->prev = b->prev;
}

static void *alloc__malloc(void *ctx, size_t size)
{
    sim_alloc *a = ctx;
    if (alloc__fail(a))
        return NULL;
    sim_block *b = malloc(sizeof *b + size);
    if (!b)
        return NULL;
    b->u.size = size;
    alloc__link(a, b);
    a->live++;
    return b + 1;
}

static void *alloc__realloc(void *ctx, void *p, size_t size)
{
    sim_alloc *a = ctx;
    if (!p)
        return alloc__malloc(ctx, size);
    if (alloc__fail(a))
        return NULL;
    sim_block *old = (sim_block *)p - 1;
    alloc__unlink(a, old);
    sim_block *b = realloc(old, sizeof *b + size);
    if (!b) {
        alloc__link(a, old);
        return NULL;
    }
    b->u.size = size;
    alloc__link(a, b);
    return b + 1;
}

static void alloc__free(void *ctx, void *p)
{
    sim_alloc *a = ctx;
    if (!p)
        return;
    sim_block *b = (sim_block *)p - 1;
    alloc__unlink(a, b);
    a->live--;
    free(b);
}

void sim_alloc_init(sim_alloc *a)
{
    memset(a, 0, sizeof *a);
    a->fn.malloc = alloc__malloc;
    a->fn.realloc = alloc__realloc;
    a->fn.free = alloc__free;
    a->fn.ctx = a;
}

uint64_t sim_alloc_release(sim_alloc *a)
{
    uint64_t n = 0;
    while (a->head) {
        sim_block *b = a->head;
        alloc__unlink(a, b);
        free(b);
        n++;
    }
    a->live = 0;
    return n;
}

/* ---- failures ---- */

static world *w__cur; /* the shim's functions and callbacks find their world here */

#if defined(__GNUC__) && !defined(_WIN32) /* mingw's printf archetype rejects %zu */
__attribute__((format(printf, 2, 3)))
#endif
static int
w__fail(world *w, const char *fmt, ...);

static int w__fail(world *w, const char *fmt, ...)
{
    if (!w->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(w->why, sizeof w->why, fmt, ap);
        va_end(ap);
    }
    w->failed = 1;
    return -1;
}

static int w__live_index(const world *w, rx_id id)
{
    for (int i = 0; i < w->nlive; i++)
        if (w->live[i].id == id)
            return i;
    return -1;
}

/* ---- the shim: the real backend, on the sim, with every report checked ---- */

static int shim__init(void **be, rx_alloc *a)
{
    int err = rx_iocp_init_kernel(be, a, &w__cur->k.table);
    if (!err)
        w__cur->be = *be;
    return err;
}

static void shim__destroy(void *be)
{
    rx_iocp_destroy_report(be, &w__cur->final);
    w__cur->have_final = 1;
    w__cur->be = NULL;
}

static int shim__reserve(void *be, uint32_t capacity)
{
    return rx_afd_ops.reserve(be, capacity);
}

static int shim__add(void *be, uint32_t slot, rx_id id, reactor_socket_t s, unsigned events)
{
    world *w = w__cur;
    int err = rx_afd_ops.add(be, slot, id, s, events);
    if (!err) {
        if (w__live_index(w, id) >= 0 || w->nlive == W_SOCKS + W_FILL)
            w__fail(w, "add of ID %llx twice", (unsigned long long)id);
        else {
            w->live[w->nlive].id = id;
            w->live[w->nlive].sock = (uintptr_t)s;
            w->live[w->nlive].interest = events;
            w->nlive++;
        }
        w->last_add = id;
    }
    return err;
}

static int shim__modify(void *be, uint32_t slot, rx_id id, reactor_socket_t s, unsigned events)
{
    world *w = w__cur;
    int err = rx_afd_ops.modify(be, slot, id, s, events);
    int i = w__live_index(w, id);
    if (!err && i >= 0)
        w->live[i].interest = events;
    return err;
}

static void shim__remove(void *be, uint32_t slot, uint32_t last, rx_id id, reactor_socket_t s)
{
    world *w = w__cur;
    int i = w__live_index(w, id);
    if (i < 0)
        w__fail(w, "remove of an ID never added %llx", (unsigned long long)id);
    else
        w->live[i] = w->live[--w->nlive];
    rx_afd_ops.remove(be, slot, last, id, s);
}

/* What the backend must report for one packet of a live channel with that interest (0:
 * nothing): only what the channel wants now, whatever the kernel wrote. */
static unsigned shim__expected(const sim_seen *e, unsigned interest)
{
    if (e->status == RX_STATUS_SUCCESS) {
        uint32_t afd = e->events & rx_afd_mask(interest);
        return (afd & RX_AFD_POLL_LOCAL_CLOSE) ? REACTOR_ERROR : rx_afd_events(afd);
    }
    if (e->status == RX_STATUS_CANCELLED || rx_afd_transient(e->status))
        return 0;
    return REACTOR_ERROR;
}

static int shim__poll(void *be, int timeout_ms, rx_sink *sink)
{
    world *w = w__cur;
    sim_kernel *k = &w->k;
    uint32_t n0 = sink->n;
    uint64_t stale0 = sink->stale;
    sim_log_reset(k);
    /* A refusal for want of resources (OP_ARMFAIL) is consumed by the first arm of the pass,
     * which it refuses: that one is tried again, not reported. */
    int transient = rx_afd_transient(k->arm_fail_status);
    int err = rx_afd_ops.poll(be, timeout_ms, sink);
    transient = transient && !k->arm_fail_status && k->nrefused > 0;
    uint64_t stale = 0;
    /* Every packet of a live channel that means something is reported, once, as it means. */
    for (size_t i = 0; i < k->nlog; i++) {
        const sim_seen *e = &k->log[i];
        if (e->key != k->helper_key)
            continue;
        int li = w__live_index(w, (rx_id)e->context);
        if (li < 0) {
            stale++;
            continue;
        }
        unsigned want = shim__expected(e, w->live[li].interest);
        int found = 0;
        for (uint32_t j = n0; j < sink->n; j++)
            if (rx_event_id(sink->ev[j]) == (rx_id)e->context) {
                found++;
                if (rx_event_events(sink->ev[j]) != want)
                    w__fail(w,
                            "ID %llx reported events %x, its packet (status %x, AFD %x) means %x",
                            (unsigned long long)e->context, rx_event_events(sink->ev[j]),
                            (unsigned)e->status, e->events, want);
            }
        if (found != (want ? 1 : 0))
            w__fail(w, "ID %llx reported %d times for a packet meaning %x",
                    (unsigned long long)e->context, found, want);
    }
    /* Nothing is reported without a packet or a refused arm behind it, and only for live IDs. */
    for (uint32_t j = n0; j < sink->n; j++) {
        rx_id id = rx_event_id(sink->ev[j]);
        if (w__live_index(w, id) < 0)
            w__fail(w, "report for ID %llx, which is not registered", (unsigned long long)id);
        int backed = 0;
        for (size_t i = 0; i < k->nlog; i++)
            backed += k->log[i].key == k->helper_key && (rx_id)k->log[i].context == id;
        for (size_t i = transient ? 1 : 0; i < k->nrefused; i++)
            if ((rx_id)k->refused[i] == id) {
                backed++;
                if (rx_event_events(sink->ev[j]) != REACTOR_ERROR)
                    w__fail(w, "refused arm of ID %llx reported as %x", (unsigned long long)id,
                            rx_event_events(sink->ev[j]));
            }
        if (backed != 1)
            w__fail(w, "report for ID %llx backed by %d packets or refusals",
                    (unsigned long long)id, backed);
    }
    if (sink->stale - stale0 != stale)
        w__fail(w, "backend counted %llu stale packets, the kernel delivered %llu",
                (unsigned long long)(sink->stale - stale0), (unsigned long long)stale);
    w->stale_expected += stale;
    w->reports += sink->n - n0;
    return err;
}

static void shim__wakeup_none(reactor_t *r, void *arg)
{
    (void)r;
    (void)arg;
}

static int shim__wakeup(void *be)
{
    return rx_afd_ops.wakeup(be);
}

static void shim__stats(const void *be, reactor_stats_t *out)
{
    rx_afd_ops.stats(be, out);
}

static const rx_backend_ops shim_ops = {
    .name = "afd-sim",
    .init = shim__init,
    .destroy = shim__destroy,
    .reserve = shim__reserve,
    .add = shim__add,
    .modify = shim__modify,
    .remove = shim__remove,
    .poll = shim__poll,
    .wakeup = shim__wakeup,
    .stats = shim__stats,
};

/* ---- the application ---- */

static void w__cb(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    (void)r;
    world *w = w__cur;
    int i = (int)(intptr_t)arg;
    if (i >= 100) {
        /* A filler is never ready: only an error may reach it. */
        if (events != REACTOR_ERROR)
            w__fail(w, "filler %d got events %x", i - 100, events);
        return;
    }
    w_chan *c = &w->ch[i];
    if (!c->registered || c->chn != chn)
        w__fail(w, "socket %d's callback called for channel %u (its own: %u, registered %d)", i,
                chn, c->chn, c->registered);
    if (events & REACTOR_READABLE)
        sim_socket_clear_ready(&w->k, w->sock[i], RX_AFD_POLL_RECEIVE); /* reads it all */
    if (events & REACTOR_ERROR)
        c->dead = 1; /* the backend stops polling it until modified */
    c->got |= events;
    c->calls++;
}

/* ---- the world ---- */

static const char *const w__names[OP__COUNT] = {"add",      "remove",      "run",  "ready",
                                                "complete", "cancel_done", "grow", "destroy",
                                                "close",    "reopen",      "fail", "immediate",
                                                "armfail",  "modify",      "wake", "stick",
                                                "settle",   "armbad"};

const char *world_op_name(w_kind kind)
{
    return kind < OP__COUNT ? w__names[kind] : "?";
}

void world_trace(const world *w, char *buf, size_t size)
{
    size_t at = 0;
    buf[0] = 0;
    for (int i = 0; i < w->ntrace && at + 24 < size; i++) {
        w_op op = w->trace[i];
        at += (size_t)snprintf(buf + at, size - at, "%s%s(%u)", i ? " " : "",
                               world_op_name((w_kind)op.kind), op.arg);
    }
}

void world_init(world *w, uint64_t fail_at)
{
    memset(w, 0, sizeof *w);
    w__cur = w;
    sim_init(&w->k);
    sim_alloc_init(&w->alloc);
    for (int i = 0; i < W_SOCKS; i++) {
        w->sock[i] = (uintptr_t)(100 + 4 * i);
        sim_socket_open(&w->k, w->sock[i]);
    }
    w->alloc.fail_at = fail_at;
    reactor_options_t o;
    memset(&o, 0, sizeof o);
    o.allocator = &w->alloc.fn;
    o.on_wakeup = shim__wakeup_none;
    int err = rx_create_with(&w->r, &o, &shim_ops);
    if (err && err != REACTOR_ENOMEM)
        w__fail(w, "create: %s", reactor_strerror(err));
    w->created = !err;
}

int world_enabled(world *w, w_op op)
{
    if (!w->created || w->destroyed)
        return 0;
    int i = op.arg < W_SOCKS ? op.arg : 0;
    sim_socket *s = sim_socket_find(&w->k, w->sock[i]);
    switch ((w_kind)op.kind) {
    case OP_ADD:
        return !w->ch[i].registered && s->open;
    case OP_REMOVE:
    case OP_MODIFY:
        return w->ch[i].registered;
    case OP_RUN:
    case OP_DESTROY:
    case OP_WAKE:
    case OP_IMMEDIATE:
    case OP_SETTLE:
        return 1;
    case OP_READY:
        return s->open && !(s->ready & RX_AFD_POLL_RECEIVE);
    case OP_COMPLETE:
        return sim_nth(&w->k, SIM_COMPLETABLE, op.arg) != NULL;
    case OP_CANCEL_DONE:
        return sim_nth(&w->k, SIM_CANCELLING, op.arg) != NULL;
    case OP_FAIL:
        return sim_nth(&w->k, SIM_ANY, op.arg) != NULL;
    case OP_GROW:
        return w->nfill == 0;
    case OP_CLOSE:
        return s->open;
    case OP_REOPEN:
        return !s->open;
    case OP_ARMFAIL:
    case OP_ARMBAD:
        return !w->k.arm_fail_status;
    case OP_STICK:
        return !w->k.stick_next;
    default:
        return 0;
    }
}

static int w__add(world *w, int i, uintptr_t sock, reactor_chn_t *chn, void *arg)
{
    int err = reactor_add(w->r, (reactor_socket_t)sock, REACTOR_READABLE, w__cb, arg, chn);
    if (err == REACTOR_ENOMEM && w->alloc.failures) {
        w->enomem++;
        return err;
    }
    if (err)
        return w__fail(w, "add of socket %d: %s", i, reactor_strerror(err));
    return 0;
}

static int w__run(world *w)
{
    int rc = reactor_run(w->r, REACTOR_RUN_NOWAIT);
    if (rc < 0)
        return w__fail(w, "run: %s", reactor_strerror(rc));
    reactor_stats_t st;
    reactor_stats(w->r, &st);
    if (st.pinned_blocks > w->blocks_peak)
        w->blocks_peak = st.pinned_blocks;
    return 0;
}

static int w__destroy(world *w)
{
    reactor_destroy(w->r);
    w->r = NULL;
    w->destroyed = 1;
    return 0;
}

int world_step(world *w, w_op op)
{
    if (w->ntrace < W_TRACE)
        w->trace[w->ntrace++] = op;
    int i = op.arg < W_SOCKS ? op.arg : 0;
    w_chan *c = &w->ch[i];
    sim_kernel *k = &w->k;
    switch ((w_kind)op.kind) {
    case OP_ADD:
        if (!w__add(w, i, w->sock[i], &c->chn, (void *)(intptr_t)i)) {
            c->registered = 1;
            c->dead = 0;
            c->interest = REACTOR_READABLE;
            c->id = w->last_add;
            c->base = sim_socket_find(k, w->sock[i])->base;
        }
        break;
    case OP_REMOVE:
        if (reactor_remove(w->r, c->chn))
            w__fail(w, "remove of socket %d failed", i);
        c->registered = 0;
        break;
    case OP_RUN:
        w__run(w);
        break;
    case OP_READY:
        sim_socket_set_ready(k, w->sock[i], RX_AFD_POLL_RECEIVE);
        break;
    case OP_COMPLETE:
        sim_complete_ready(k, sim_nth(k, SIM_COMPLETABLE, op.arg));
        break;
    case OP_CANCEL_DONE:
        sim_complete_status(k, sim_nth(k, SIM_CANCELLING, op.arg), RX_STATUS_CANCELLED);
        break;
    case OP_FAIL:
        sim_complete_status(k, sim_nth(k, SIM_ANY, op.arg), SIM_STATUS_IO_FAILED);
        break;
    case OP_GROW:
        for (int f = 0; f < W_FILL; f++) {
            uintptr_t s = (uintptr_t)(1000 + 4 * f);
            if (!sim_socket_find(k, s))
                sim_socket_open(k, s);
            if (w__add(w, 100 + f, s, &w->fill[w->nfill], (void *)(intptr_t)(100 + f)))
                break;
            w->nfill++;
        }
        break;
    case OP_DESTROY:
        w__destroy(w);
        break;
    case OP_CLOSE:
        sim_socket_close(k, w->sock[i]);
        break;
    case OP_REOPEN:
        sim_socket_open(k, w->sock[i]);
        break;
    case OP_IMMEDIATE:
        k->arm_immediate = !k->arm_immediate;
        break;
    case OP_ARMFAIL:
        k->arm_fail_status = SIM_STATUS_NO_RESOURCES;
        break;
    case OP_ARMBAD:
        k->arm_fail_status = RX_STATUS_INVALID_HANDLE;
        break;
    case OP_MODIFY: {
        unsigned want = c->interest == REACTOR_READABLE ? REACTOR_READABLE | REACTOR_WRITABLE
                                                        : REACTOR_READABLE;
        sim_socket *so = sim_socket_find(k, w->sock[i]);
        int err = reactor_modify(w->r, c->chn, want);
        if (c->dead && !so->open) {
            /* Parked, and its socket is gone: the channel cannot be revived. */
            if (err != REACTOR_EBADF)
                w__fail(w, "modify of socket %d, parked and closed: %s, not EBADF", i,
                        err ? reactor_strerror(err) : "success");
            break;
        }
        if (err) {
            w__fail(w, "modify of socket %d failed: %s", i, reactor_strerror(err));
            break;
        }
        c->interest = want;
        if (c->dead)
            c->base = so->base; /* revived: polled on the socket's handle of now */
        c->dead = 0;
        break;
    }
    case OP_WAKE:
        if (reactor_wakeup(w->r))
            w__fail(w, "wakeup failed");
        break;
    case OP_STICK:
        k->stick_next = 1;
        break;
    case OP_SETTLE:
        return world_settle(w);
    default:
        return w__fail(w, "unknown op %u", op.kind);
    }
    if (k->errors)
        w__fail(w, "%s", k->msg);
    return w->failed ? -1 : 0;
}

/* A registered channel that is not dead has exactly one poll in the kernel, for its own ID, on
 * the base handle it was added with, asking for its interest. */
static void w__check_channel(world *w, const char *who, rx_id id, int dead, uintptr_t base,
                             unsigned interest)
{
    sim_kernel *k = &w->k;
    size_t n = 0;
    for (size_t j = 0; j < k->npolls; j++) {
        const sim_poll *p = &k->polls[j];
        if ((rx_id)p->context != id)
            continue;
        n++;
        if (p->state != SIM_PENDING)
            w__fail(w, "%s: its packet is still queued after settling", who);
        if (base && p->base != base)
            w__fail(w, "%s: polled on base %llx, added with %llx", who, (unsigned long long)p->base,
                    (unsigned long long)base);
        /* Narrowing keeps the pending poll (its results are masked); stuck: its cancel too. */
        if (!p->stuck && (rx_afd_mask(interest) & ~p->requested))
            w__fail(w, "%s: polls for AFD %x, interest %x means %x", who, p->requested, interest,
                    rx_afd_mask(interest));
    }
    /* Behind a removed channel's poll that the kernel never gives back, a channel on the same
     * socket waits (two polls on one socket would complete each other). */
    int behind_stuck = 0;
    for (size_t j = 0; j < k->npolls; j++)
        behind_stuck |= k->polls[j].stuck && k->polls[j].base == base &&
                        (rx_id)k->polls[j].context != id;
    if (!n && behind_stuck && !dead)
        return;
    if (n != (dead ? 0u : 1u))
        w__fail(w, "%s: %zu polls in the kernel, %s", who, n,
                dead ? "after ERROR none" : "events would be lost");
}

int world_settle(world *w)
{
    if (!w->created || w->destroyed)
        return w->failed ? -1 : 0;
    sim_kernel *k = &w->k;
    int quiet = 0;
    for (int round = 0; round < 32 && !quiet && !w->failed; round++) {
        uint64_t arms = k->arms, dequeued = k->dequeued, reports = w->reports;
        w__run(w);
        size_t done = sim_complete_all(k);
        w__run(w);
        quiet = !done && k->arms == arms && k->dequeued == dequeued && w->reports == reports;
    }
    if (k->errors)
        w__fail(w, "%s", k->msg);
    if (!quiet)
        return w__fail(w, "the loop never became quiet");
    char who[48];
    for (int i = 0; i < W_SOCKS; i++) {
        const w_chan *c = &w->ch[i];
        if (!c->registered)
            continue;
        snprintf(who, sizeof who, "socket %d", i);
        w__check_channel(w, who, c->id, c->dead, c->base, c->interest);
    }
    for (size_t j = 0; j < k->npolls; j++) {
        const sim_poll *p = &k->polls[j];
        if (!p->stuck && w__live_index(w, (rx_id)p->context) < 0)
            w__fail(w, "a poll of removed ID %llx is still in the kernel after settling",
                    (unsigned long long)p->context);
    }
    reactor_stats_t st;
    reactor_stats(w->r, &st);
    if (st.pending_polls != sim_count(k, SIM_PENDING, 0) + sim_count(k, SIM_QUEUED, 0))
        w__fail(w, "stats: %llu pending polls, the kernel holds %zu",
                (unsigned long long)st.pending_polls, k->npolls);
    if (st.stale_completions != w->stale_expected)
        w__fail(w, "stats: %llu stale completions, %llu expected",
                (unsigned long long)st.stale_completions, (unsigned long long)w->stale_expected);
    /* States in use: live channels and orphans the kernel still holds. Every block but one
     * spare holds one of them (states never move, so the blocks need not be packed). */
    uint64_t in_use = (uint64_t)w->nlive + k->npolls;
    if (st.pinned_blocks > in_use + 1 ||
        (RX_PIN_PER_BLOCK >= W_SOCKS + W_FILL && st.pinned_blocks > 2))
        w__fail(w, "stats: %llu pinned blocks for %llu states in use",
                (unsigned long long)st.pinned_blocks, (unsigned long long)in_use);
    if (w->be && !rx_iocp_poison_hits(w->be) != !w->poison_expected)
        w__fail(w, "a free pinned state was written to");
    return w->failed ? -1 : 0;
}

int world_finish(world *w)
{
    sim_kernel *k = &w->k;
    if (w->created && !w->destroyed)
        w__destroy(w);
    if (w->created) {
        size_t held = sim_count(k, SIM_PENDING, 0);
        if (!w->have_final)
            w__fail(w, "destroy did not report");
        else if (w->final.undrained != held)
            w__fail(w, "destroy: %llu undrained, the kernel holds %zu",
                    (unsigned long long)w->final.undrained, held);
        else if (!w->final.poison_hits != !w->poison_expected)
            w__fail(w, "destroy: a free pinned state was written to");
        else if (!held && w->alloc.live)
            w__fail(w, "destroy: %llu allocations live", (unsigned long long)w->alloc.live);
        else if (held && (w->alloc.live != w->final.blocks_kept || !w->final.blocks_kept))
            w__fail(w, "destroy: %llu allocations live, %llu blocks kept for %zu polls",
                    (unsigned long long)w->alloc.live, (unsigned long long)w->final.blocks_kept,
                    held);
        /* The drain is bounded: 2 s for the cancels, 0.5 s after closing the helper. */
        if (k->waited_ms > 2500 + 10)
            w__fail(w, "destroy waited %llu ms", (unsigned long long)k->waited_ms);
    } else if (w->alloc.live) {
        w__fail(w, "failed create left %llu allocations", (unsigned long long)w->alloc.live);
    }
    /* The kernel finally lets go of what it held: these writes must land in memory the backend
     * left allocated (ASan and valgrind report them otherwise). */
    (void)sim_release_stuck(k);
    if (k->errors)
        w__fail(w, "%s", k->msg);
    sim_fini(k);
    if (k->errors)
        w__fail(w, "%s", k->msg);
    (void)sim_alloc_release(&w->alloc);
    w__cur = NULL;
    return w->failed ? -1 : 0;
}

int world_run(const w_op *ops, int n, uint64_t fail_at, const w_op *alphabet, int nalpha,
              w_op *next, int *nnext, uint64_t *allocs, char *msg, size_t msg_size)
{
    world *w = malloc(sizeof *w);
    if (!w)
        abort();
    world_init(w, fail_at);
    for (int i = 0; i < n && !w->failed && w->created && !w->destroyed; i++) {
        if (!world_enabled(w, ops[i]))
            continue; /* an earlier allocation failure changed what is possible */
        world_step(w, ops[i]);
    }
    if (nnext) {
        *nnext = 0;
        for (int a = 0; a < nalpha && !w->failed; a++)
            if (world_enabled(w, alphabet[a]))
                next[(*nnext)++] = alphabet[a];
    }
    if (!w->failed)
        world_settle(w);
    world_finish(w);
    if (allocs)
        *allocs = w->alloc.calls;
    int rc = w->failed ? -1 : 0;
    if (rc && msg) {
        char trace[1024];
        world_trace(w, trace, sizeof trace);
        snprintf(msg, msg_size, "%s\n  after: %s%s", w->why, trace,
                 fail_at ? " (with an allocation failing)" : "");
    }
    free(w);
    return rc;
}
