/* driver.c - one operation at a time against the library and the model, compared after every
 * step (return codes, channel numbers, events per channel, timer order, counters). Callbacks
 * check on the spot and may act (remove, modify, add, start and stop timers, run, wake up). */
#include "driver.h"

#include "platform.h"
#include "sock.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DRV__MS 1000000u
#define DRV__TRACE 48u
#define DRV__OWED_NS 5000000000u /* eventual mode: an expected event may lag this long */
#define DRV__ALL                                                                                   \
    (REACTOR_READABLE | REACTOR_WRITABLE | REACTOR_HALFCLOSE | REACTOR_HANGUP | REACTOR_ERROR)

#if defined(__MINGW32__)
#define DRV__FMT(a, b) __attribute__((format(__MINGW_PRINTF_FORMAT, a, b)))
#elif defined(__GNUC__)
#define DRV__FMT(a, b) __attribute__((format(printf, a, b)))
#else
#define DRV__FMT(a, b)
#endif

typedef struct drv__sarg {
    mdl_world *w;
    uint32_t sock;
} drv__sarg;

typedef struct drv__targ {
    mdl_world *w;
    uint32_t idx;
} drv__targ;

/* Owns the loop and the sockets; mdl_world_close releases both. */
struct mdl_world {
    mdl_config cfg;
    sup_alloc alloc; /* alloc.fn.ctx points here: the world lives on the heap */
    reactor_t *r;
    mdl_model m;
    reactor_socket_t sock[MDL_MAX_SOCKS];
    drv__sarg sarg[MDL_MAX_SOCKS];
    drv__targ targ[MDL_MAX_TIMERS];
    uint64_t ops;
    int failed;
    int armed; /* the next allocation fails (this operation only) */
    /* The run in progress. */
    int in_run;
    uint32_t run;
    int pass_started;
    uint64_t pass_limit;
    mdl_timer fired[4 * MDL_MAX_TIMERS];
    uint32_t nfired;
    uint32_t io_this_run, timers_this_run, wakes_this_run;
    uint64_t wake_owed_since;
    char trace[DRV__TRACE][160];
    uint64_t trace_n;
};

/* ---- sources ---- */

uint32_t mdl_rng_next(void *rng, uint32_t bound)
{
    mdl_rng *g = rng;
    uint64_t z = (g->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return bound ? (uint32_t)(z % bound) : 0;
}

uint32_t mdl_bytes_next(void *bytes, uint32_t bound)
{
    mdl_bytes *b = bytes;
    uint32_t v = 0;
    for (uint32_t span = 1; span < bound && span < 65536u; span <<= 8) {
        v = (v << 8) | (b->at < b->n ? b->p[b->at] : 0u);
        b->at++;
    }
    return bound ? v % bound : 0;
}

static uint32_t drv__pick(mdl_world *w, uint32_t bound)
{
    return w->cfg.src.next(w->cfg.src.ctx, bound);
}

/* ---- reporting ---- */

static void drv__note(mdl_world *w, const char *fmt, ...) DRV__FMT(2, 3);
static void drv__note(mdl_world *w, const char *fmt, ...)
{
    char *line = w->trace[w->trace_n++ % DRV__TRACE];
    int n = snprintf(line, 160, "op %llu%s ", (unsigned long long)w->ops, w->in_run ? " (cb)" : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, (size_t)(160 - n), fmt, ap);
    va_end(ap);
    if (w->cfg.trace)
        fprintf(stderr, "  %s\n", line);
}

static int drv__fail(mdl_world *w, const char *fmt, ...) DRV__FMT(2, 3);
static int drv__fail(mdl_world *w, const char *fmt, ...)
{
    if (w->failed)
        return -1;
    w->failed = 1;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "MODEL MISMATCH at op %llu (backend %s): %s\n", (unsigned long long)w->ops,
            w->r ? reactor_backend_name(w->r) : "?", msg);
    uint64_t first = w->trace_n > DRV__TRACE ? w->trace_n - DRV__TRACE : 0;
    fprintf(stderr, "last operations:\n");
    for (uint64_t i = first; i < w->trace_n; i++)
        fprintf(stderr, "  %s\n", w->trace[i % DRV__TRACE]);
    return -1;
}

static const char *drv__err(int rc)
{
    return rc > 0 ? "positive" : reactor_err_name(rc);
}

static int drv__expect_rc(mdl_world *w, const char *what, int rc, int want)
{
    if (rc != want)
        return drv__fail(w, "%s returned %s (%d), the model says %s (%d)", what, drv__err(rc), rc,
                         drv__err(want), want);
    return 0;
}

/* An injected allocation failure: the call must report ENOMEM and change nothing. */
static int drv__injected(mdl_world *w, int rc, uint64_t failures_before)
{
    return w->armed && rc == REACTOR_ENOMEM && w->alloc.failures > failures_before;
}

/* ---- callbacks ---- */

static void drv__on_io(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg);
static void drv__on_timer(reactor_t *r, reactor_timer_t id, void *arg);
static void drv__act(mdl_world *w, reactor_chn_t self_chn, int self_timer);

/* ---- channels ---- */

static reactor_chn_t drv__pick_chn(mdl_world *w)
{
    mdl_model *m = &w->m;
    switch (drv__pick(w, 16)) {
    case 0:
        return 0;
    case 1:
        return 65535;
    case 2:
        return 65534;
    case 3:
        return mdl_stale_chn(m, drv__pick(w, 64));
    case 4:
        return (reactor_chn_t)m->fresh;
    case 5:
        return (reactor_chn_t)(1 + drv__pick(w, m->fresh + 2));
    default:
        if (m->live) {
            uint32_t start = drv__pick(w, m->nsocks);
            for (uint32_t i = 0; i < m->nsocks; i++) {
                uint32_t s = (start + i) % m->nsocks;
                if (m->sock[s].chn)
                    return m->sock[s].chn;
            }
        }
        return (reactor_chn_t)m->fresh;
    }
}

/* Half the time a registered socket or its peer, so that I/O meets channels. */
static uint32_t drv__pick_sock(mdl_world *w)
{
    const mdl_model *m = &w->m;
    uint32_t s = drv__pick(w, m->nsocks);
    if (m->live && drv__pick(w, 2)) {
        for (uint32_t i = 0; i < m->nsocks; i++) {
            uint32_t t = (s + i) % m->nsocks;
            if (m->sock[t].chn)
                return t ^ drv__pick(w, 2);
        }
    }
    return s;
}

static unsigned drv__pick_events(mdl_world *w)
{
    static const unsigned rw[4] = {0, REACTOR_READABLE, REACTOR_WRITABLE,
                                   REACTOR_READABLE | REACTOR_WRITABLE};
    unsigned ev = rw[drv__pick(w, 4)];
    if (drv__pick(w, 3) == 0)
        ev |= REACTOR_HALFCLOSE;
    if (drv__pick(w, 6) == 0) /* HANGUP and ERROR may be passed and are ignored */
        ev |= drv__pick(w, 2) ? REACTOR_HANGUP : REACTOR_ERROR;
    return ev;
}

static int drv__add(mdl_world *w, uint32_t s, unsigned events, uint32_t variant)
{
    mdl_model *m = &w->m;
    reactor_socket_t sock = w->sock[s];
    reactor_io_cb cb = drv__on_io;
    reactor_chn_t out = 4242, *outp = &out;
    int want;
    const char *how = "";
    if (variant == 0) {
        events |= 1u << (5 + drv__pick(w, 27));
        how = " bad-bits";
    } else if (variant == 1) {
        sock = REACTOR_INVALID_SOCKET;
        how = " invalid-socket";
    } else if (variant == 2) {
        cb = NULL;
        how = " null-cb";
    } else if (variant == 3) {
        outp = NULL;
        how = " null-out";
    }
    if (variant == 0 || variant == 2 || variant == 3)
        want = REACTOR_EINVAL;
    else if (variant == 1)
        want = REACTOR_EBADF;
    else if (m->sock[s].chn)
        want = REACTOR_EEXIST;
    else
        want = 0;
    uint64_t f0 = w->alloc.failures;
    int rc = reactor_add(w->r, sock, events, cb, &w->sarg[s], outp);
    drv__note(w, "add sock=%u ev=%#x%s -> %s chn=%u", (unsigned)s, events, how, drv__err(rc),
              (unsigned)out);
    if (drv__injected(w, rc, f0) && want == 0) {
        if (out != 4242)
            return drv__fail(w, "failed add wrote its out-parameter (%u)", (unsigned)out);
        return 0;
    }
    if (drv__expect_rc(w, "reactor_add", rc, want))
        return -1;
    if (rc != 0) {
        if (out != 4242)
            return drv__fail(w, "failed add wrote its out-parameter (%u)", (unsigned)out);
        return 0;
    }
    reactor_chn_t expect = mdl_next_chn(m);
    if (out != expect)
        return drv__fail(w, "reactor_add handed out channel %u, the model (FIFO reuse) says %u",
                         (unsigned)out, (unsigned)expect);
    mdl_add(m, s, events, w->in_run ? w->run : 0);
    return 0;
}

static int drv__modify(mdl_world *w, reactor_chn_t chn, unsigned events, int bad)
{
    if (bad)
        events |= 1u << (5 + drv__pick(w, 27));
    int want = bad ? REACTOR_EINVAL : mdl_chn_live(&w->m, chn) ? 0 : REACTOR_EBADCHN;
    int rc = reactor_modify(w->r, chn, events);
    drv__note(w, "modify chn=%u ev=%#x -> %s", (unsigned)chn, events, drv__err(rc));
    if (drv__expect_rc(w, "reactor_modify", rc, want))
        return -1;
    if (rc == 0) {
        w->m.chan[chn].interest = (uint8_t)(events & MDL_RW);
        w->m.chan[chn].owed_since = 0;
        if (w->in_run)
            w->m.chan[chn].modified_run = w->run;
    }
    return 0;
}

static int drv__remove(mdl_world *w, reactor_chn_t chn)
{
    int want = mdl_chn_live(&w->m, chn) ? 0 : REACTOR_EBADCHN;
    int rc = reactor_remove(w->r, chn);
    drv__note(w, "remove chn=%u -> %s", (unsigned)chn, drv__err(rc));
    if (drv__expect_rc(w, "reactor_remove", rc, want))
        return -1;
    if (rc == 0)
        mdl_remove(&w->m, chn);
    return 0;
}

/* ---- timers ---- */

static uint64_t drv__sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t drv__ms_to_ns(uint64_t ms)
{
    return ms > UINT64_MAX / DRV__MS ? UINT64_MAX : ms * DRV__MS;
}

static int drv__timer_stop(mdl_world *w, reactor_timer_t id);

static int drv__timer_start(mdl_world *w)
{
    /* 0 ms fires in the next iteration for sure; an hour and "never" never fire here; 1-2 ms
     * fire in between: checked as never early, in due order, and surely once surely due. */
    static const uint64_t timeouts[8] = {0, 0, 0, 0, 1, 2, 3600000u, UINT64_MAX};
    static const uint64_t repeats[4] = {0, 0, 1, 7};
    mdl_model *m = &w->m;
    if (m->timers_active >= MDL_MAX_TIMERS) {
        for (uint32_t i = 0; i < MDL_MAX_TIMERS; i++)
            if (m->timer[i].active)
                return drv__timer_stop(w, m->timer[i].id);
    }
    uint64_t timeout = timeouts[drv__pick(w, 8)];
    uint64_t repeat = repeats[drv__pick(w, 4)];
    uint32_t variant = drv__pick(w, 24);
    uint32_t slot = 0;
    while (m->timer[slot].active)
        slot++;
    reactor_timer_t id = 77, *out = variant == 1 ? NULL : &id;
    reactor_timer_cb cb = variant == 0 ? NULL : drv__on_timer;
    uint64_t f0 = w->alloc.failures;
    uint64_t pre = rx_clock_ns();
    int rc = reactor_timer_start(w->r, timeout, repeat, cb, &w->targ[slot], out);
    uint64_t post = rx_clock_ns();
    drv__note(w, "timer_start %llu ms repeat %llu%s -> %s id=%#llx", (unsigned long long)timeout,
              (unsigned long long)repeat,
              variant == 0   ? " null-cb"
              : variant == 1 ? " null-out"
                             : "",
              drv__err(rc), (unsigned long long)id);
    if (drv__injected(w, rc, f0) && variant > 1) {
        if (id != 77)
            return drv__fail(w, "failed timer_start wrote its out-parameter");
        return 0;
    }
    if (drv__expect_rc(w, "reactor_timer_start", rc, variant <= 1 ? REACTOR_EINVAL : 0))
        return -1;
    if (rc != 0)
        return id == 77 ? 0 : drv__fail(w, "failed timer_start wrote its out-parameter");
    if (id == 0 || mdl_timer_find(m, id) >= 0)
        return drv__fail(w, "timer_start gave ID %#llx: zero or held by a live timer",
                         (unsigned long long)id);
    uint64_t span = drv__ms_to_ns(timeout);
    int idx = mdl_timer_add(m, id, drv__sat_add(pre, span), drv__sat_add(post, span),
                            drv__ms_to_ns(repeat));
    if (idx != (int)slot)
        return drv__fail(w, "model timer slot mismatch (driver bug)");
    return 0;
}

static reactor_timer_t drv__pick_timer(mdl_world *w)
{
    mdl_model *m = &w->m;
    uint32_t k = drv__pick(w, 8);
    if (k == 0)
        return 0;
    if (k == 1 && m->dead_n)
        return m->dead[drv__pick(w, m->dead_n < MDL_DEAD_IDS ? m->dead_n : MDL_DEAD_IDS)];
    if (k == 2)
        return ((reactor_timer_t)drv__pick(w, 4) << 32) | drv__pick(w, 80);
    if (m->timers_active) {
        uint32_t start = drv__pick(w, MDL_MAX_TIMERS);
        for (uint32_t i = 0; i < MDL_MAX_TIMERS; i++) {
            const mdl_timer *t = &m->timer[(start + i) % MDL_MAX_TIMERS];
            if (t->active)
                return t->id;
        }
    }
    return m->dead_n ? m->dead[0] : 0;
}

static int drv__timer_stop(mdl_world *w, reactor_timer_t id)
{
    int idx = mdl_timer_find(&w->m, id);
    int rc = reactor_timer_stop(w->r, id);
    drv__note(w, "timer_stop id=%#llx -> %s", (unsigned long long)id, drv__err(rc));
    if (drv__expect_rc(w, "reactor_timer_stop", rc, idx >= 0 ? 0 : REACTOR_EBADTIMER))
        return -1;
    if (idx >= 0)
        mdl_timer_kill(&w->m, idx);
    return 0;
}

/* ---- sockets ---- */

static int drv__read(mdl_world *w, uint32_t s, uint32_t n)
{
    mdl_sock *ms = &w->m.sock[s];
    char buf[128];
    long rc = sup_recv(w->sock[s], buf, n);
    drv__note(w, "read sock=%u n=%u -> %ld (model: %u unread%s)", (unsigned)s, (unsigned)n, rc,
              (unsigned)ms->unread, ms->eof_in ? ", eof" : "");
    long want = ms->unread ? (long)(n < ms->unread ? n : ms->unread) : ms->eof_in ? 0 : -1;
    if (w->cfg.eventual) {
        /* Loopback TCP may deliver later: fewer bytes (or none) are fine, more are not. */
        if (rc > (long)ms->unread || (rc == 0 && (ms->unread || !ms->eof_in)))
            return drv__fail(w, "recv gave %ld bytes, the model has %u unread%s", rc,
                             (unsigned)ms->unread, ms->eof_in ? " and end of stream" : "");
    } else if (rc != want) {
        return drv__fail(w, "recv of %u gave %ld, the model says %ld", (unsigned)n, rc, want);
    }
    if (rc > 0)
        ms->unread -= (uint32_t)rc;
    if (!ms->unread)
        ms->writes = 0;
    return 0;
}

static int drv__write(mdl_world *w, uint32_t s, uint32_t n)
{
    mdl_sock *peer = &w->m.sock[s ^ 1u];
    /* Few and small writes: a socket never stops being writable (AF_UNIX charges each write's
     * buffer to the sender). */
    if (w->m.sock[s].shut_out || peer->unread + n > 512 || peer->writes >= 12)
        return drv__read(w, s ^ 1u, n);
    static const char data[64] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde";
    long rc = sup_send(w->sock[s], data, n);
    drv__note(w, "write sock=%u n=%u -> %ld", (unsigned)s, (unsigned)n, rc);
    if (rc != (long)n)
        return drv__fail(w, "send of %u bytes gave %ld", (unsigned)n, rc);
    peer->unread += n;
    peer->writes++;
    return 0;
}

static int drv__shutdown(mdl_world *w, uint32_t s)
{
    mdl_model *m = &w->m;
    if (m->sock[s].shut_out || m->sock[s ^ 1u].shut_out)
        return drv__read(w, s, 64);
    int rc = sup_shutdown_write(w->sock[s]);
    drv__note(w, "shutdown-write sock=%u -> %d", (unsigned)s, rc);
    if (rc != 0)
        return drv__fail(w, "shutdown failed");
    m->sock[s].shut_out = 1;
    m->sock[s ^ 1u].eof_in = 1;
    return 0;
}

/* Replaces pair p: its channels removed first, then both sockets closed and a new pair made. */
static int drv__recycle(mdl_world *w, uint32_t p)
{
    for (uint32_t s = 2 * p; s < 2 * p + 2; s++)
        if (w->m.sock[s].chn && drv__remove(w, w->m.sock[s].chn))
            return -1;
    sup_close(w->sock[2 * p]);
    sup_close(w->sock[2 * p + 1]);
    w->sock[2 * p] = w->sock[2 * p + 1] = REACTOR_INVALID_SOCKET;
    reactor_socket_t sv[2];
    if (sup_pair(sv) != 0)
        return drv__fail(w, "could not make a socket pair");
    w->sock[2 * p] = sv[0];
    w->sock[2 * p + 1] = sv[1];
    memset(&w->m.sock[2 * p], 0, 2 * sizeof w->m.sock[0]);
    drv__note(w, "recycle pair %u", (unsigned)p);
    return 0;
}

/* ---- wake-up and stop ---- */

static void drv__on_wakeup(reactor_t *r, void *arg)
{
    mdl_world *w = arg;
    (void)r;
    drv__note(w, "on_wakeup");
    if (!w->in_run) {
        drv__fail(w, "on_wakeup outside reactor_run");
        return;
    }
    if (!w->m.wake_pending)
        drv__fail(w, "on_wakeup with no wake-up pending");
    if (w->io_this_run || w->pass_started)
        drv__fail(w, "on_wakeup after this iteration's I/O or timer callbacks");
    w->m.wake_pending = 0;
    w->m.wake_calls++;
    w->wakes_this_run++;
    w->wake_owed_since = 0;
}

static int drv__wakeup(mdl_world *w)
{
    int rc = reactor_wakeup(w->r);
    drv__note(w, "wakeup -> %s", drv__err(rc));
    if (drv__expect_rc(w, "reactor_wakeup", rc, 0))
        return -1;
    w->m.wake_pending = 1;
    return 0;
}

/* ---- callbacks ---- */

static void drv__on_io(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    const drv__sarg *sa = arg;
    mdl_world *w = sa->w;
    mdl_model *m = &w->m;
    (void)r;
    drv__note(w, "io chn=%u sock=%u ev=%#x", (unsigned)chn, (unsigned)sa->sock, events);
    if (w->failed)
        return;
    if (!w->in_run) {
        drv__fail(w, "I/O callback outside reactor_run");
        return;
    }
    if (w->pass_started) {
        drv__fail(w, "I/O callback after the timer pass began");
        return;
    }
    if (!mdl_chn_live(m, chn)) {
        drv__fail(w, "callback for channel %u, which the model says is not registered",
                  (unsigned)chn);
        return;
    }
    mdl_chan *c = &m->chan[chn];
    if (c->sock != sa->sock) {
        drv__fail(w, "channel %u called with the arg of socket %u; it holds socket %u",
                  (unsigned)chn, (unsigned)sa->sock, (unsigned)c->sock);
        return;
    }
    if (c->added_run == w->run) {
        drv__fail(w, "channel %u reported in the iteration it was added in", (unsigned)chn);
        return;
    }
    if (c->called_run == w->run) {
        drv__fail(w, "channel %u called twice in one iteration", (unsigned)chn);
        return;
    }
    c->called_run = w->run;
    c->owed_since = 0;
    unsigned expect = mdl_expected(m, chn);
    unsigned allowed = mdl_allowed(m, chn);
    if (!events || (events & ~DRV__ALL)) {
        drv__fail(w, "channel %u called with events %#x", (unsigned)chn, events);
        return;
    }
    if (w->cfg.eventual) {
        if (events & ~allowed) {
            drv__fail(w, "channel %u got %#x; interest %#x allows only %#x", (unsigned)chn, events,
                      c->interest, allowed);
            return;
        }
    } else if (c->modified_run == w->run) {
        /* Modified in this iteration: what was collected, masked by the new interest. */
        unsigned ok = expect;
        if (events & ~ok) {
            drv__fail(w, "channel %u (modified in this iteration to %#x) got %#x, at most %#x",
                      (unsigned)chn, c->interest, events, ok);
            return;
        }
    } else if (events != expect) {
        drv__fail(w, "channel %u got events %#x, the model says %#x (interest %#x, %u unread%s)",
                  (unsigned)chn, events, expect, c->interest, (unsigned)m->sock[c->sock].unread,
                  m->sock[c->sock].eof_in ? ", peer shut down" : "");
        return;
    }
    m->io_calls++;
    w->io_this_run++;
    drv__act(w, chn, -1);
}

static void drv__on_timer(reactor_t *r, reactor_timer_t id, void *arg)
{
    const drv__targ *ta = arg;
    mdl_world *w = ta->w;
    mdl_model *m = &w->m;
    uint64_t now_ms = reactor_now(r);
    drv__note(w, "timer id=%#llx now=%llu", (unsigned long long)id, (unsigned long long)now_ms);
    if (w->failed)
        return;
    if (!w->in_run) {
        drv__fail(w, "timer callback outside reactor_run");
        return;
    }
    mdl_timer *t = &m->timer[ta->idx];
    if (!t->active || t->id != id) {
        drv__fail(w, "callback for timer %#llx, which the model says is stopped or expired",
                  (unsigned long long)id);
        return;
    }
    if (!w->pass_started) {
        w->pass_started = 1;
        w->pass_limit = m->seq;
    }
    if (t->seq >= w->pass_limit) {
        drv__fail(w, "timer %#llx fired in the pass it was started or rescheduled in",
                  (unsigned long long)id);
        return;
    }
    if (now_ms < t->due_lo / DRV__MS) {
        drv__fail(w, "timer %#llx fired early: loop time %llu ms, due no earlier than %llu ms",
                  (unsigned long long)id, (unsigned long long)now_ms,
                  (unsigned long long)(t->due_lo / DRV__MS));
        return;
    }
    if (w->nfired < sizeof w->fired / sizeof w->fired[0])
        w->fired[w->nfired++] = *t;
    m->timer_calls++;
    w->timers_this_run++;
    mdl_timer_fired(m, (int)ta->idx, now_ms, w->run);
    drv__act(w, 0, (int)ta->idx);
}

/* A callback's own actions: remove, modify, add, timers, nested run (EBUSY), wake-up, stop. */
static void drv__act(mdl_world *w, reactor_chn_t self_chn, int self_timer)
{
    mdl_model *m = &w->m;
    switch (drv__pick(w, 40)) {
    case 0:
        if (self_chn)
            (void)drv__remove(w, self_chn);
        else if (self_timer >= 0)
            (void)drv__timer_stop(w, m->timer[self_timer].active
                                         ? m->timer[self_timer].id
                                         : m->dead[(m->dead_n - 1) % MDL_DEAD_IDS]);
        break;
    case 1:
        (void)drv__remove(w, drv__pick_chn(w));
        break;
    case 2:
        if (self_chn) {
            (void)drv__modify(w, self_chn, drv__pick_events(w), 0);
            break;
        }
        /* fall through */
    case 3:
        (void)drv__modify(w, drv__pick_chn(w), drv__pick_events(w), drv__pick(w, 16) == 0);
        break;
    case 4:
    case 5:
        (void)drv__add(w, drv__pick(w, m->nsocks), drv__pick_events(w), 4 + drv__pick(w, 20));
        break;
    case 6:
        (void)drv__timer_start(w);
        break;
    case 7:
        (void)drv__timer_stop(w, drv__pick_timer(w));
        break;
    case 8: {
        int rc = reactor_run(w->r, REACTOR_RUN_NOWAIT);
        drv__note(w, "nested run -> %s", drv__err(rc));
        (void)drv__expect_rc(w, "reactor_run from a callback", rc, REACTOR_EBUSY);
        break;
    }
    case 9:
        (void)drv__wakeup(w);
        break;
    case 10:
        /* Stop from a callback: the rest of this iteration still runs; nothing to model. */
        drv__note(w, "stop");
        reactor_stop(w->r);
        break;
    default:
        break;
    }
}

/* ---- running ---- */

/* ONCE only when it cannot block for long: something is ready, due soon, or pending. */
static int drv__once_is_safe(const mdl_world *w)
{
    const mdl_model *m = &w->m;
    if (m->stop_flag || m->wake_pending)
        return 1;
    for (uint32_t s = 0; s < m->nsocks; s++)
        if (m->sock[s].chn && mdl_expected(m, m->sock[s].chn))
            return 1;
    uint64_t soon = rx_clock_ns() + 20u * DRV__MS;
    for (uint32_t i = 0; i < MDL_MAX_TIMERS; i++)
        if (m->timer[i].active && m->timer[i].due_hi <= soon)
            return 1;
    return 0;
}

static int drv__run_checks(mdl_world *w, reactor_run_mode mode, int wake_before)
{
    mdl_model *m = &w->m;
    uint64_t now_ms = reactor_now(w->r);
    uint64_t clock = rx_clock_ns();
    /* I/O: every channel that held an expected event when the iteration began got it. */
    for (uint32_t s = 0; s < m->nsocks; s++) {
        reactor_chn_t chn = m->sock[s].chn;
        if (!chn)
            continue;
        mdl_chan *c = &m->chan[chn];
        unsigned expect = mdl_expected(m, chn);
        if (c->added_run == w->run || c->modified_run == w->run || !expect ||
            c->called_run == w->run) {
            c->owed_since = 0;
            continue;
        }
        if (!w->cfg.eventual)
            return drv__fail(w, "channel %u (sock %u) holds %#x but got no callback", (unsigned)chn,
                             (unsigned)s, expect);
        if (!c->owed_since)
            c->owed_since = clock;
        else if (clock - c->owed_since > DRV__OWED_NS)
            return drv__fail(w, "channel %u (sock %u) held %#x for 5 s without a callback",
                             (unsigned)chn, (unsigned)s, expect);
    }
    if (wake_before && !w->wakes_this_run) {
        if (!w->cfg.eventual)
            return drv__fail(w, "a wake-up was pending but on_wakeup was not called");
        if (!w->wake_owed_since)
            w->wake_owed_since = clock;
        else if (clock - w->wake_owed_since > DRV__OWED_NS)
            return drv__fail(w, "a wake-up pending for 5 s was never delivered");
    }
    /* Timers: every one surely due by this iteration's time fired, in due order. */
    for (uint32_t i = 0; i < MDL_MAX_TIMERS; i++) {
        const mdl_timer *t = &m->timer[i];
        if (!t->active || (t->fired_run_flag && t->fired_run == w->run))
            continue;
        if (t->seq < w->pass_limit && t->due_hi <= now_ms * DRV__MS)
            return drv__fail(w, "timer %#llx was due by %llu ms, loop time %llu ms, not fired",
                             (unsigned long long)t->id, (unsigned long long)(t->due_hi / DRV__MS),
                             (unsigned long long)now_ms);
    }
    for (uint32_t i = 0; i < w->nfired; i++)
        for (uint32_t j = i + 1; j < w->nfired; j++)
            if (mdl_timer_must_precede(&w->fired[j], &w->fired[i]))
                return drv__fail(w, "timer %#llx fired before %#llx, which was due first",
                                 (unsigned long long)w->fired[i].id,
                                 (unsigned long long)w->fired[j].id);
    if (mode == REACTOR_RUN_ONCE && !w->cfg.eventual &&
        !(w->io_this_run + w->timers_this_run + w->wakes_this_run))
        return drv__fail(w, "RUN_ONCE returned with no callback at all");
    return 0;
}

static int drv__run(mdl_world *w)
{
    mdl_model *m = &w->m;
    if (drv__pick(w, 64) == 0) {
        int rc = reactor_run(w->r, (reactor_run_mode)3);
        drv__note(w, "run mode 3 -> %s", drv__err(rc));
        return drv__expect_rc(w, "reactor_run(mode 3)", rc, REACTOR_EINVAL);
    }
    reactor_run_mode mode = REACTOR_RUN_NOWAIT;
    if (drv__pick(w, 3) == 0 && drv__once_is_safe(w))
        mode = REACTOR_RUN_ONCE;
    int stopped = m->stop_flag, wake_before = m->wake_pending;
    drv__note(w, "run %s", mode == REACTOR_RUN_ONCE ? "ONCE" : "NOWAIT");
    w->run++;
    w->in_run = 1;
    w->pass_started = 0;
    w->nfired = 0;
    w->io_this_run = w->timers_this_run = w->wakes_this_run = 0;
    int rc = reactor_run(w->r, mode);
    w->in_run = 0;
    drv__note(w, "run returned %d", rc);
    if (w->failed)
        return -1;
    if (!w->pass_started)
        w->pass_limit = m->seq;
    int alive = m->live > 0 || m->timers_active > 0;
    if (drv__expect_rc(w, "reactor_run", rc, alive))
        return -1;
    if (stopped) {
        /* reactor_stop while not running: the next run returns at once, no iteration. */
        m->stop_flag = 0;
        if (w->io_this_run + w->timers_this_run + w->wakes_this_run)
            return drv__fail(w, "a run after reactor_stop called callbacks");
        return 0;
    }
    m->iterations++;
    return drv__run_checks(w, mode, wake_before);
}

/* ---- the world ---- */

static int drv__stats(mdl_world *w)
{
    reactor_stats_t st;
    if (reactor_stats(w->r, &st) != 0)
        return drv__fail(w, "reactor_stats failed");
    const mdl_model *m = &w->m;
    struct {
        const char *name;
        uint64_t got, want;
    } c[] = {
        {"channels", st.channels, m->live},
        {"timers", st.timers, m->timers_active},
        {"iterations", st.iterations, m->iterations},
        {"events_dispatched", st.events_dispatched, m->io_calls},
        {"timers_fired", st.timers_fired, m->timer_calls},
        {"wakeups", st.wakeups, m->wake_calls},
        {"allocations_live", st.allocations_live, w->alloc.live},
        {"bytes_live", st.bytes_live, w->alloc.bytes},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        if (c[i].got != c[i].want)
            return drv__fail(w, "stats.%s is %llu, the model says %llu", c[i].name,
                             (unsigned long long)c[i].got, (unsigned long long)c[i].want);
    return 0;
}

mdl_world *mdl_world_open(const mdl_config *cfg)
{
    if (cfg->pairs == 0 || cfg->pairs * 2 > MDL_MAX_SOCKS || sup_sock_startup() != 0)
        return NULL;
    mdl_world *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->cfg = *cfg;
    sup_alloc_init(&w->alloc);
    mdl_init(&w->m, cfg->pairs * 2);
    for (uint32_t s = 0; s < MDL_MAX_SOCKS; s++) {
        w->sock[s] = REACTOR_INVALID_SOCKET;
        w->sarg[s].w = w;
        w->sarg[s].sock = s;
    }
    for (uint32_t i = 0; i < MDL_MAX_TIMERS; i++) {
        w->targ[i].w = w;
        w->targ[i].idx = i;
    }
    reactor_options_t opts;
    memset(&opts, 0, sizeof opts);
    opts.backend = cfg->backend;
    opts.allocator = &w->alloc.fn;
    opts.on_wakeup = drv__on_wakeup;
    opts.wakeup_arg = w;
    int err = reactor_create(&w->r, &opts);
    if (err) {
        fprintf(stderr, "reactor_create: %s\n", reactor_strerror(err));
        free(w);
        return NULL;
    }
    for (uint32_t p = 0; p < cfg->pairs; p++) {
        reactor_socket_t sv[2];
        if (sup_pair(sv) != 0) {
            fprintf(stderr, "could not make socket pair %u\n", (unsigned)p);
            (void)mdl_world_close(w);
            return NULL;
        }
        w->sock[2 * p] = sv[0];
        w->sock[2 * p + 1] = sv[1];
    }
    return w;
}

int mdl_world_step(mdl_world *w)
{
    if (w->failed)
        return -1;
    w->ops++;
    mdl_model *m = &w->m;
    int rc = 0;
    uint32_t op = drv__pick(w, 100);
    if (op < 14) {
        rc = drv__add(w, drv__pick(w, m->nsocks), drv__pick_events(w), drv__pick(w, 24));
    } else if (op < 22) {
        rc = drv__modify(w, drv__pick_chn(w), drv__pick_events(w), drv__pick(w, 16) == 0);
    } else if (op < 30) {
        rc = drv__remove(w, drv__pick_chn(w));
    } else if (op < 38) {
        rc = drv__timer_start(w);
    } else if (op < 43) {
        rc = drv__timer_stop(w, drv__pick_timer(w));
    } else if (op < 57) {
        uint32_t s = drv__pick_sock(w);
        rc = drv__write(w, s, 1 + drv__pick(w, 48));
    } else if (op < 66) {
        uint32_t s = drv__pick_sock(w);
        rc = drv__read(w, s, 1 + drv__pick(w, 64));
    } else if (op < 89) {
        rc = drv__run(w);
    } else if (op < 92) {
        rc = drv__wakeup(w);
    } else if (op < 94) {
        drv__note(w, "stop (not running)");
        reactor_stop(w->r);
        m->stop_flag = 1;
    } else if (op < 95) {
        rc = drv__shutdown(w, drv__pick_sock(w));
    } else if (op < 96) {
        rc = drv__recycle(w, drv__pick(w, m->nsocks / 2));
    } else if (op < 97) {
        reactor_stats_t st;
        int a = reactor_stats(w->r, NULL), b = reactor_stats(NULL, &st);
        drv__note(w, "stats(NULL) -> %s %s", drv__err(a), drv__err(b));
        if (drv__expect_rc(w, "reactor_stats(r, NULL)", a, REACTOR_EINVAL) ||
            drv__expect_rc(w, "reactor_stats(NULL, out)", b, REACTOR_EINVAL))
            rc = -1;
    } else if (w->cfg.inject) {
        /* The next allocation fails, wherever this next operation makes it. */
        drv__note(w, "fail the next allocation");
        w->armed = 1;
        sup_alloc_fail_nth(&w->alloc, 1);
        rc = mdl_world_step(w);
        sup_alloc_fail_nth(&w->alloc, 0);
        w->armed = 0;
        return rc || w->failed ? -1 : 0;
    } else {
        rc = drv__run(w);
    }
    if (rc || w->failed)
        return -1;
    return drv__stats(w);
}

uint64_t mdl_world_ops(const mdl_world *w)
{
    return w->ops;
}

void mdl_world_summary(const mdl_world *w, char *buf, size_t n)
{
    const mdl_model *m = &w->m;
    snprintf(buf, n,
             "%llu iterations, %llu I/O callbacks, %llu timer callbacks, %llu wake-ups, "
             "peak channel number %u",
             (unsigned long long)m->iterations, (unsigned long long)m->io_calls,
             (unsigned long long)m->timer_calls, (unsigned long long)m->wake_calls,
             (unsigned)(m->fresh - 1));
}

int mdl_world_close(mdl_world *w)
{
    int bad = w->failed ? -1 : 0;
    if (w->r) {
        reactor_destroy(w->r);
        w->r = NULL;
    }
    if (w->alloc.live || w->alloc.bytes) {
        fprintf(stderr, "leak: %llu blocks, %llu bytes live after reactor_destroy\n",
                (unsigned long long)w->alloc.live, (unsigned long long)w->alloc.bytes);
        bad = -1;
    }
    for (uint32_t s = 0; s < MDL_MAX_SOCKS; s++)
        sup_close(w->sock[s]);
    free(w);
    return bad;
}
