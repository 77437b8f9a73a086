/* reactor_hiredis.h - runs hiredis's async API on a reactor loop, header-only like hiredis's own
 * adapters (adapters/libuv.h, libevent.h): one channel per redisAsyncContext, its interest set by
 * hiredis's addRead/delRead/addWrite/delWrite hooks and removed by its cleanup hook.
 *
 *     redisAsyncContext *ac = redisAsyncConnect("127.0.0.1", 6379);
 *     if (ac->err || reactor_hiredis_attach(r, ac) != 0) { redisAsyncFree(ac); ... }
 *     redisAsyncSetConnectCallback(ac, on_connect);     (after attach, as with every adapter)
 *     redisAsyncCommand(ac, on_reply, NULL, "GET %s", key);
 *     reactor_run(r, REACTOR_RUN_DEFAULT);
 *
 * Rules:
 * - hiredis owns the context: it frees it on redisAsyncFree, on a clean redisAsyncDisconnect
 *   and on any I/O error; its cleanup hook then removes the channel (before hiredis closes the
 *   socket). Free or disconnect every context before reactor_destroy: the hook calls
 *   reactor_remove on the loop.
 * - HANGUP and ERROR drive a read, so hiredis sees the end of stream or the socket error (a
 *   refused connect included) and reports it through its connect or disconnect callback.
 * - Timeouts: with hiredis >= 1.0 the scheduleTimer hook runs on a reactor timer, so the
 *   connect_timeout and command_timeout of redisAsyncConnectWithOptions apply. hiredis 0.14
 *   (Debian 12) has no such hook: enforce a deadline with reactor_timer_start and call
 *   redisAsyncFree (or redisAsyncDisconnect) from the timer's callback.
 * - The adapter's state (one small block per context) comes from calloc and is freed by the
 *   cleanup hook; the loop's own memory still goes through the loop's allocator.
 * - A reactor_modify refused by the kernel (epoll ENOMEM) keeps the channel's previous
 *   interest; the next hook call (every command asks for WRITABLE, every read for READABLE)
 *   tries again. */
#ifndef REACTOR_HIREDIS_H
#define REACTOR_HIREDIS_H

#include <reactor.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <stdint.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One context's adapter state, in ac->ev.data. calloc'd by reactor_hiredis_attach; freed by the
 * cleanup hook, or, when hiredis runs cleanup inside this adapter's own callback, by that
 * callback once hiredis has returned (the callback still reads the state after the call). */
typedef struct reactor_hiredis__state {
    reactor_t *loop;
    redisAsyncContext *ac; /* NULL once hiredis has called cleanup: the context may be gone */
    reactor_chn_t chn;
    unsigned interest; /* what chn is registered for now */
    int busy;          /* inside reactor_hiredis__on_io or __on_timer: cleanup defers the free */
#if HIREDIS_MAJOR >= 1
    reactor_timer_t timer; /* the pending scheduleTimer deadline; 0: none */
#endif
} reactor_hiredis__state;

static inline void reactor_hiredis__want(reactor_hiredis__state *st, unsigned interest)
{
    if (st->ac == NULL || interest == st->interest)
        return;
    if (reactor_modify(st->loop, st->chn, interest) == 0)
        st->interest = interest;
}

static inline void reactor_hiredis__add_read(void *privdata)
{
    reactor_hiredis__state *st = (reactor_hiredis__state *)privdata;
    reactor_hiredis__want(st, st->interest | REACTOR_READABLE);
}

static inline void reactor_hiredis__del_read(void *privdata)
{
    reactor_hiredis__state *st = (reactor_hiredis__state *)privdata;
    reactor_hiredis__want(st, st->interest & ~REACTOR_READABLE);
}

static inline void reactor_hiredis__add_write(void *privdata)
{
    reactor_hiredis__state *st = (reactor_hiredis__state *)privdata;
    reactor_hiredis__want(st, st->interest | REACTOR_WRITABLE);
}

static inline void reactor_hiredis__del_write(void *privdata)
{
    reactor_hiredis__state *st = (reactor_hiredis__state *)privdata;
    reactor_hiredis__want(st, st->interest & ~REACTOR_WRITABLE);
}

/* hiredis calls this from its free path, before it runs the disconnect callback and closes the
 * socket; possibly from inside reactor_hiredis__on_io (a read that hit EOF, a reply callback
 * that freed the context), where reactor_remove is legal too. */
static inline void reactor_hiredis__cleanup(void *privdata)
{
    reactor_hiredis__state *st = (reactor_hiredis__state *)privdata;
    redisAsyncContext *ac = st->ac;
    if (ac == NULL)
        return;
    (void)reactor_remove(st->loop, st->chn);
#if HIREDIS_MAJOR >= 1
    if (st->timer != 0)
        (void)reactor_timer_stop(st->loop, st->timer);
    st->timer = 0;
    ac->ev.scheduleTimer = NULL;
#endif
    /* hiredis >= 1.0 with REDIS_OPT_NOAUTOFREE keeps the context after cleanup: leave it no
     * hook that points at freed state. */
    ac->ev.addRead = NULL;
    ac->ev.delRead = NULL;
    ac->ev.addWrite = NULL;
    ac->ev.delWrite = NULL;
    ac->ev.cleanup = NULL;
    ac->ev.data = NULL;
    st->ac = NULL;
    if (!st->busy)
        free(st);
}

/* The channel's callback. After each hiredis call the context may have been freed (hiredis
 * frees on EOF, on errors and when a reply callback freed it): only st->ac says whether it
 * still exists. */
static inline void reactor_hiredis__on_io(reactor_t *r, reactor_chn_t chn, unsigned events,
                                          void *arg)
{
    reactor_hiredis__state *st = (reactor_hiredis__state *)arg;
    (void)r;
    (void)chn;
    st->busy = 1;
    if (events & (REACTOR_READABLE | REACTOR_HANGUP | REACTOR_ERROR))
        redisAsyncHandleRead(st->ac);
    if (st->ac != NULL && (events & REACTOR_WRITABLE) && (st->interest & REACTOR_WRITABLE))
        redisAsyncHandleWrite(st->ac);
    st->busy = 0;
    if (st->ac == NULL)
        free(st);
}

#if HIREDIS_MAJOR >= 1
static inline void reactor_hiredis__on_timer(reactor_t *r, reactor_timer_t t, void *arg)
{
    reactor_hiredis__state *st = (reactor_hiredis__state *)arg;
    (void)r;
    (void)t;
    st->timer = 0; /* a one-shot timer has expired once its callback starts */
    st->busy = 1;
    redisAsyncHandleTimeout(st->ac);
    st->busy = 0;
    if (st->ac == NULL)
        free(st);
}

/* hiredis re-arms its timeout on every addRead/addWrite while a timeout is set: a new one-shot
 * timer replaces the pending one. If the new timer cannot be started the earlier deadline is
 * kept: a timeout that comes early rather than none. */
static inline void reactor_hiredis__schedule_timer(void *privdata, struct timeval tv)
{
    reactor_hiredis__state *st = (reactor_hiredis__state *)privdata;
    uint64_t ms = 0;
    reactor_timer_t t;
    if (st->ac == NULL)
        return;
    if (tv.tv_sec > 0)
        ms = (uint64_t)tv.tv_sec * 1000u;
    if (tv.tv_usec > 0)
        ms += ((uint64_t)tv.tv_usec + 999u) / 1000u;
    if (reactor_timer_start(st->loop, ms, 0, reactor_hiredis__on_timer, st, &t) != 0)
        return;
    if (st->timer != 0)
        (void)reactor_timer_stop(st->loop, st->timer);
    st->timer = t;
}
#endif

/* Attaches ac to loop r: registers its socket as a channel and installs the hooks. Returns 0,
 * or a negative REACTOR_E* code and changes nothing: EINVAL (r or ac NULL, ac has an error, or
 * is already attached to an event library), ENOMEM, or what reactor_add returns (EBADF, EEXIST,
 * ENOSPC, ESYS). While ac is still connecting the channel asks for WRITABLE, so the connect
 * callback runs whether it was set before or after attaching, even with no command issued. */
static inline int reactor_hiredis_attach(reactor_t *r, redisAsyncContext *ac)
{
    reactor_hiredis__state *st;
    unsigned interest = 0;
    int err;
    if (r == NULL || ac == NULL || ac->err != 0 || ac->ev.data != NULL)
        return REACTOR_EINVAL;
    st = (reactor_hiredis__state *)calloc(1, sizeof *st);
    if (st == NULL)
        return REACTOR_ENOMEM;
    /* Commands issued before attaching sit in obuf with nobody asking to write them. */
    if (!(ac->c.flags & REDIS_CONNECTED) || (ac->c.obuf != NULL && sdslen(ac->c.obuf) > 0))
        interest = REACTOR_WRITABLE;
    st->loop = r;
    st->ac = ac;
    st->interest = interest;
    err = reactor_add(r, (reactor_socket_t)ac->c.fd, interest, reactor_hiredis__on_io, st,
                      &st->chn);
    if (err != 0) {
        free(st);
        return err;
    }
#if HIREDIS_MAJOR >= 1
    /* The connect timeout hiredis would have armed through a hook it could not call yet. */
    if (!(ac->c.flags & REDIS_CONNECTED) && ac->c.connect_timeout != NULL &&
        (ac->c.connect_timeout->tv_sec > 0 || ac->c.connect_timeout->tv_usec > 0)) {
        reactor_hiredis__schedule_timer(st, *ac->c.connect_timeout);
        if (st->timer == 0) {
            (void)reactor_remove(r, st->chn);
            free(st);
            return REACTOR_ENOMEM;
        }
    }
    ac->ev.scheduleTimer = reactor_hiredis__schedule_timer;
#endif
    ac->ev.addRead = reactor_hiredis__add_read;
    ac->ev.delRead = reactor_hiredis__del_read;
    ac->ev.addWrite = reactor_hiredis__add_write;
    ac->ev.delWrite = reactor_hiredis__del_write;
    ac->ev.cleanup = reactor_hiredis__cleanup;
    ac->ev.data = st;
    return 0;
}

#ifdef __cplusplus
}
#endif

#endif /* REACTOR_HIREDIS_H */
