/* reactor_cares.c - c-ares driven by a reactor loop. c-ares's socket state callback keeps one
 * channel per open socket; one timer, re-armed after every processing step, carries the
 * timeouts. No pointer into the socket table survives an ares_process_fd call (it may close
 * sockets and reuse their numbers), and the adapter outlives it: a destroy from inside waits. */
#include "reactor_cares.h"

#include <assert.h>
#include <stdlib.h>

/* One socket c-ares has open and the channel that watches it. */
typedef struct cares_sock {
    ares_socket_t fd;
    reactor_chn_t chn;
    unsigned events; /* what c-ares asked for: REACTOR_READABLE and/or REACTOR_WRITABLE */
} cares_sock;

/* Owns socks and itself; reactor_cares_destroy frees both (or the step that defers it). */
struct reactor_cares {
    reactor_t *loop;
    ares_channel channel;
    cares_sock *socks; /* dense, unordered; a handful of entries (one UDP socket per server) */
    size_t nsocks, cap;
    reactor_timer_t timer; /* 0: none armed */
    uint64_t first_try_ms; /* the channel's first-try timeout: the longest the timer sleeps */
    int depth;             /* ares_process_fd or ares_destroy calls running */
    int doomed;            /* reactor_cares_destroy was called while depth > 0 */
    int error;             /* the first error met in a callback */
};

static void cares__note(reactor_cares_t *rc, int err)
{
    if (err && !rc->error)
        rc->error = err;
}

static size_t cares__find_fd(const reactor_cares_t *rc, ares_socket_t fd)
{
    size_t i = 0;
    while (i < rc->nsocks && rc->socks[i].fd != fd)
        i++;
    return i;
}

static size_t cares__find_chn(const reactor_cares_t *rc, reactor_chn_t chn)
{
    size_t i = 0;
    while (i < rc->nsocks && rc->socks[i].chn != chn)
        i++;
    return i;
}

static void cares__timer_cb(reactor_t *r, reactor_timer_t t, void *arg);

/* Replaces the armed timer by one due in ms (or none when ms is UINT64_MAX). */
static void cares__arm(reactor_cares_t *rc, uint64_t ms)
{
    if (rc->timer) {
        reactor_timer_stop(rc->loop, rc->timer);
        rc->timer = 0;
    }
    if (ms != UINT64_MAX)
        cares__note(rc, reactor_timer_start(rc->loop, ms, 0, cares__timer_cb, rc, &rc->timer));
}

/* The timer after a step: c-ares's next timeout, and while a socket is open never later than
 * one first-try timeout from now, so a query submitted between steps (which opens no socket and
 * tells us nothing) is never processed later than its own first timeout. */
static void cares__rearm(reactor_cares_t *rc)
{
    struct timeval tv;
    uint64_t ms = rc->nsocks ? rc->first_try_ms : UINT64_MAX;
    if (ares_timeout(rc->channel, NULL, &tv)) {
        /* ares_timeout (1.18) truncates to whole milliseconds: one more keeps the timer from
         * firing just before the deadline and spinning through 0 ms re-arms. */
        uint64_t next = (uint64_t)tv.tv_sec * 1000u + ((uint64_t)tv.tv_usec + 999u) / 1000u + 1u;
        if (next < ms)
            ms = next;
    }
    cares__arm(rc, ms);
}

static void cares__free(reactor_cares_t *rc)
{
    rc->depth++;               /* a destroy from an ARES_EDESTRUCTION callback only sets doomed */
    ares_destroy(rc->channel); /* calls the state callback with (fd, 0, 0) for each socket */
    rc->depth--;
    for (size_t i = 0; i < rc->nsocks; i++)
        reactor_remove(rc->loop, rc->socks[i].chn);
    if (rc->timer)
        reactor_timer_stop(rc->loop, rc->timer);
    free(rc->socks);
    free(rc);
}

/* One processing step. Returns with rc freed when the step's callbacks destroyed it. */
static void cares__process(reactor_cares_t *rc, ares_socket_t rfd, ares_socket_t wfd)
{
    rc->depth++;
    ares_process_fd(rc->channel, rfd, wfd);
    rc->depth--;
    if (rc->depth == 0 && rc->doomed)
        cares__free(rc);
    else if (rc->depth == 0)
        cares__rearm(rc);
}

static void cares__io_cb(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    reactor_cares_t *rc = arg;
    size_t i = cares__find_chn(rc, chn);
    (void)r;
    assert(i < rc->nsocks); /* a removed channel gets no callback */
    if (i == rc->nsocks)
        return;
    ares_socket_t fd = rc->socks[i].fd;
    /* A hang-up or an error goes to both sides, as libuv users do: c-ares's read or write then
     * fails, and it closes the socket and moves its queries on. */
    unsigned bad = REACTOR_HANGUP | REACTOR_ERROR;
    cares__process(rc, (events & (REACTOR_READABLE | bad)) ? fd : ARES_SOCKET_BAD,
                   (events & (REACTOR_WRITABLE | bad)) ? fd : ARES_SOCKET_BAD);
}

static void cares__timer_cb(reactor_t *r, reactor_timer_t t, void *arg)
{
    reactor_cares_t *rc = arg;
    (void)r;
    (void)t;
    rc->timer = 0; /* a one-shot timer has expired once its callback runs */
    cares__process(rc, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
}

/* A socket c-ares opened: a channel for it. */
static void cares__watch(reactor_cares_t *rc, ares_socket_t fd, unsigned events)
{
    if (rc->nsocks == rc->cap) {
        size_t cap = rc->cap ? rc->cap * 2 : 4;
        cares_sock *socks = realloc(rc->socks, cap * sizeof *socks);
        if (!socks) {
            cares__note(rc, REACTOR_ENOMEM);
            return;
        }
        rc->socks = socks;
        rc->cap = cap;
    }
    reactor_chn_t chn;
    int err = reactor_add(rc->loop, (reactor_socket_t)fd, events, cares__io_cb, rc, &chn);
    if (err) {
        cares__note(rc, err);
        return;
    }
    rc->socks[rc->nsocks++] = (cares_sock){.fd = fd, .chn = chn, .events = events};
}

/* c-ares's socket state callback: called from ares_send (a first query opens a socket), from
 * inside ares_process_fd, from ares_set_servers* and from ares_destroy; always before it closes
 * a socket, so a number it reuses within one call is removed before it is added again. */
static void cares__state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
    reactor_cares_t *rc = data;
    unsigned events = (readable ? REACTOR_READABLE : 0u) | (writable ? REACTOR_WRITABLE : 0u);
    size_t i = cares__find_fd(rc, fd);
    if (i < rc->nsocks) {
        if (events == 0) {
            reactor_remove(rc->loop, rc->socks[i].chn);
            rc->socks[i] = rc->socks[--rc->nsocks];
        } else if (events != rc->socks[i].events) {
            int err = reactor_modify(rc->loop, rc->socks[i].chn, events);
            cares__note(rc, err);
            if (!err)
                rc->socks[i].events = events;
        }
    } else if (events != 0) {
        cares__watch(rc, fd, events);
    }
    /* Outside a step the query that opened or wrote to this socket has no timeout yet (ares_send
     * sets it after the callback returns): look again in the next iteration. */
    if (events != 0 && rc->depth == 0)
        cares__arm(rc, 0);
}

int reactor_cares_create(reactor_t *loop, const struct ares_options *opts, int optmask,
                         reactor_cares_t **out)
{
    struct ares_options o = {0};
    struct ares_options saved;
    int savedmask;
    int err;
    if (!loop || !out || (optmask && !opts))
        return REACTOR_EINVAL;
    reactor_cares_t *rc = calloc(1, sizeof *rc);
    if (!rc)
        return REACTOR_ENOMEM;
    rc->loop = loop;
    if (opts)
        o = *opts;
    o.sock_state_cb = cares__state_cb;
    o.sock_state_cb_data = rc;
    err = ares_init_options(&rc->channel, &o, optmask | ARES_OPT_SOCK_STATE_CB);
    if (err != ARES_SUCCESS)
        goto fail_init;
    /* The first-try timeout as c-ares settled it: from opts, resolv.conf or its default. */
    err = ares_save_options(rc->channel, &saved, &savedmask);
    rc->first_try_ms = saved.timeout > 0 ? (uint64_t)saved.timeout : 1000u;
    ares_destroy_options(&saved); /* also what a failed save had copied */
    if (err != ARES_SUCCESS)
        goto fail_save;
    *out = rc;
    return 0;

fail_save:
    ares_destroy(rc->channel); /* no socket is open yet: no state callback runs */
fail_init:
    free(rc);
    return err;
}

ares_channel reactor_cares_channel(const reactor_cares_t *rc)
{
    return rc ? rc->channel : NULL;
}

int reactor_cares_error(const reactor_cares_t *rc)
{
    return rc ? rc->error : REACTOR_EINVAL;
}

void reactor_cares_destroy(reactor_cares_t *rc)
{
    if (!rc)
        return;
    if (rc->depth > 0)
        rc->doomed = 1;
    else
        cares__free(rc);
}

const char *reactor_cares_strerror(int err)
{
    if (err < 0)
        return reactor_strerror(err);
    if (err > 0)
        return ares_strerror(err);
    return "success";
}
