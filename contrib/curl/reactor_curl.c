/* reactor_curl.c - libcurl's multi_socket interface on a reactor loop, the pattern of curl's
 * docs/examples/multi-uv.c. libcurl calls back into the adapter from inside
 * curl_multi_socket_action, which runs inside a reactor callback: the adapter never touches a
 * socket record after an action, since the action may have freed it. */
#include "reactor_curl.h"

#include <stdint.h>
#include <stdlib.h>

/* One socket libcurl asked us to watch; curl_multi_assign hands it back as socketp. Freed on
 * CURL_POLL_REMOVE, or by reactor_curl_destroy for those libcurl forgets to remove. */
typedef struct rc__sock {
    reactor_curl_t *rc;
    curl_socket_t fd;
    reactor_chn_t chn;
    unsigned interest;
    struct rc__sock *prev, *next;
} rc__sock;

/* A transfer added and not yet reported, cancelled or stopped by a destroy. */
typedef struct rc__xfer {
    CURL *easy;    /* the caller's */
    CURLcode fail; /* not CURLE_OK: the loop could not watch its socket; ends after the action */
} rc__xfer;

/* Owns its multi handle, its socket records, the transfer list (not the easy handles) and its
 * timer; reactor_curl_destroy frees them all. */
struct reactor_curl {
    reactor_t *loop;
    CURLM *multi;
    reactor_curl_done_cb on_done;
    void *arg;
    reactor_timer_t timer; /* libcurl's timeout; 0 while none is set */
    rc__sock *socks;       /* every socket watched now */
    rc__xfer *xfers;       /* every transfer running */
    size_t n_xfers, cap_xfers;
    size_t n_failing; /* xfers with a fail code */
    int timer_failed; /* the loop refused the timer libcurl asked for last */
    int depth;        /* > 0 inside the adapter's reactor callbacks (actions and on_done) */
    int in_action;    /* inside curl_multi_socket_action: libcurl callbacks may be running */
    int destroy_pending;
};

static void rc__sock_free(reactor_curl_t *rc, rc__sock *k)
{
    reactor_remove(rc->loop, k->chn); /* before libcurl closes the socket */
    if (k->prev)
        k->prev->next = k->next;
    else
        rc->socks = k->next;
    if (k->next)
        k->next->prev = k->prev;
    free(k);
}

/* easy's index in the list, or -1. Searches from the newest: O(transfers). */
static long rc__find(const reactor_curl_t *rc, CURL *easy)
{
    for (size_t i = rc->n_xfers; i-- > 0;)
        if (rc->xfers[i].easy == easy)
            return (long)i;
    return -1;
}

static void rc__drop(reactor_curl_t *rc, size_t i)
{
    if (rc->xfers[i].fail != CURLE_OK)
        rc->n_failing--;
    rc->xfers[i] = rc->xfers[--rc->n_xfers];
}

/* Takes easy off the list; -1 if it is not there. */
static int rc__forget(reactor_curl_t *rc, CURL *easy)
{
    long i = rc__find(rc, easy);
    if (i < 0)
        return -1;
    rc__drop(rc, (size_t)i);
    return 0;
}

/* Marks a transfer to end with code after the running action. */
static void rc__mark(reactor_curl_t *rc, size_t i, CURLcode code)
{
    if (rc->xfers[i].fail == CURLE_OK)
        rc->n_failing++;
    rc->xfers[i].fail = code;
}

static void rc__free(reactor_curl_t *rc)
{
    rc->destroy_pending = 1; /* the timer callback starts no new timer from here on */
    while (rc->n_xfers > 0)
        curl_multi_remove_handle(rc->multi, rc->xfers[--rc->n_xfers].easy);
    /* Closes the cached connections, calling the socket callback with CURL_POLL_REMOVE for
     * each socket still watched (and the timer callback with -1). */
    curl_multi_cleanup(rc->multi);
    while (rc->socks)
        rc__sock_free(rc, rc->socks);
    if (rc->timer)
        reactor_timer_stop(rc->loop, rc->timer);
    free(rc->xfers);
    free(rc);
}

/* Hands every finished transfer to on_done, removed from the multi handle first so the callee
 * may free or re-add it: libcurl's, then those the loop failed. */
static void rc__report(reactor_curl_t *rc)
{
    CURLMsg *msg;
    int left;
    while (!rc->destroy_pending && (msg = curl_multi_info_read(rc->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *easy = msg->easy_handle; /* msg dies with curl_multi_remove_handle */
        CURLcode result = msg->data.result;
        rc__forget(rc, easy);
        curl_multi_remove_handle(rc->multi, easy);
        rc->on_done(rc, easy, result, rc->arg);
    }
    while (!rc->destroy_pending && rc->n_failing > 0) {
        size_t i = rc->n_xfers;
        while (rc->xfers[--i].fail == CURLE_OK) {
        }
        CURL *easy = rc->xfers[i].easy;
        CURLcode result = rc->xfers[i].fail;
        rc__drop(rc, i);
        curl_multi_remove_handle(rc->multi, easy);
        rc->on_done(rc, easy, result, rc->arg);
    }
}

/* One action on fd (or CURL_SOCKET_TIMEOUT), then the reports. Our callbacks do not return -1
 * when the loop refuses a socket or the timer: libcurl 7.88 then marks the whole multi handle
 * dead for good, and its transfers wait for an action nobody calls (tried: they hang). A
 * refused socket fails its own transfer, a refused timer every transfer, here, once libcurl
 * has returned. */
static void rc__act(reactor_curl_t *rc, curl_socket_t fd, int bits)
{
    int running;
    rc->depth++;
    rc->in_action = 1;
    curl_multi_socket_action(rc->multi, fd, bits, &running);
    rc->in_action = 0;
    if (rc->timer_failed) {
        for (size_t i = 0; i < rc->n_xfers; i++)
            rc__mark(rc, i, CURLE_OUT_OF_MEMORY);
    }
    rc->timer_failed = 0;
    rc__report(rc);
    if (--rc->depth == 0 && rc->destroy_pending)
        rc__free(rc);
}

static void rc__on_io(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    rc__sock *k = arg;
    int bits = 0;
    (void)r;
    (void)chn;
    if (events & REACTOR_READABLE)
        bits |= CURL_CSELECT_IN;
    if (events & REACTOR_WRITABLE)
        bits |= CURL_CSELECT_OUT;
    if (events & (REACTOR_ERROR | REACTOR_HANGUP)) {
        /* As libcurl's own poll maps them (Curl_socket_check in select.c): POLLERR and POLLHUP
         * are readable on a socket it reads, so its recv meets the end of the stream or the real
         * error; CURL_CSELECT_ERR alone would fail the transfer with a generic "select/poll
         * returned error" (CURLE_SEND_ERROR) while data is still unread. */
        bits |= CURL_CSELECT_ERR;
        if (k->interest & REACTOR_READABLE)
            bits |= CURL_CSELECT_IN;
    }
    rc__act(k->rc, k->fd, bits); /* may free k */
}

static void rc__on_timer(reactor_t *r, reactor_timer_t t, void *arg)
{
    reactor_curl_t *rc = arg;
    (void)r;
    if (rc->timer == t)
        rc->timer = 0; /* a one-shot timer has expired once its callback runs */
    rc__act(rc, CURL_SOCKET_TIMEOUT, 0);
}

/* CURLMOPT_TIMERFUNCTION: -1 stops, 0 means "act soon". A 0 ms reactor timer fires from the
 * loop, never inside this call, so libcurl is not re-entered from its own callback. */
static int rc__timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    reactor_curl_t *rc = userp;
    (void)multi;
    rc->timer_failed = 0;
    if (rc->timer) {
        reactor_timer_stop(rc->loop, rc->timer);
        rc->timer = 0;
    }
    if (timeout_ms < 0 || rc->destroy_pending)
        return 0;
    if (reactor_timer_start(rc->loop, (uint64_t)timeout_ms, 0, rc__on_timer, rc, &rc->timer) != 0) {
        rc->timer = 0;
        rc->timer_failed = 1; /* rc__act or reactor_curl_add deals with it */
    }
    return 0;
}

static unsigned rc__interest(int what)
{
    unsigned interest = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        interest |= REACTOR_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        interest |= REACTOR_WRITABLE;
    return interest;
}

/* The loop refused to watch a socket of easy (err): inside an action, easy ends after it. */
static int rc__refused(reactor_curl_t *rc, CURL *easy, int err)
{
    long i = rc->in_action ? rc__find(rc, easy) : -1;
    if (i < 0)
        return -1;
    rc__mark(rc, (size_t)i,
             err == REACTOR_ENOMEM || err == REACTOR_ENOSPC ? CURLE_OUT_OF_MEMORY
                                                            : CURLE_ABORTED_BY_CALLBACK);
    return 0;
}

/* CURLMOPT_SOCKETFUNCTION. Called from socket_action, add_handle, remove_handle and
 * multi_cleanup; libcurl says CURL_POLL_REMOVE before it closes the socket, and may re-add the
 * same descriptor in the same action, which then is a new reactor_add. */
static int rc__socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    reactor_curl_t *rc = userp;
    rc__sock *k = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (k) {
            rc__sock_free(rc, k);
            curl_multi_assign(rc->multi, s, NULL);
        }
        return 0;
    }
    unsigned interest = rc__interest(what);
    if (k) {
        if (interest != k->interest) {
            int err = reactor_modify(rc->loop, k->chn, interest);
            if (err != 0)
                return rc__refused(rc, easy, err);
            k->interest = interest;
        }
        return 0;
    }
    k = calloc(1, sizeof *k);
    if (!k)
        return rc__refused(rc, easy, REACTOR_ENOMEM);
    int err = reactor_add(rc->loop, s, interest, rc__on_io, k, &k->chn);
    if (err == REACTOR_EEXIST) {
        /* A record left for this descriptor: libcurl closed it without CURL_POLL_REMOVE and
         * the number came back. The old watch is stale; drop it and register the new socket. */
        rc__sock *old = rc->socks;
        while (old && old->fd != s)
            old = old->next;
        if (old) {
            rc__sock_free(rc, old);
            err = reactor_add(rc->loop, s, interest, rc__on_io, k, &k->chn);
        }
    }
    if (err != 0) {
        free(k);
        return rc__refused(rc, easy, err);
    }
    k->rc = rc;
    k->fd = s;
    k->interest = interest;
    k->next = rc->socks;
    if (rc->socks)
        rc->socks->prev = k;
    rc->socks = k;
    curl_multi_assign(rc->multi, s, k);
    return 0;
}

int reactor_curl_create(reactor_curl_t **out, reactor_t *r, reactor_curl_done_cb on_done, void *arg)
{
    if (!out || !r || !on_done)
        return REACTOR_EINVAL;
    reactor_curl_t *rc = calloc(1, sizeof *rc);
    if (!rc)
        return REACTOR_ENOMEM;
    rc->multi = curl_multi_init();
    if (!rc->multi) {
        free(rc);
        return REACTOR_ENOMEM;
    }
    rc->loop = r;
    rc->on_done = on_done;
    rc->arg = arg;
    curl_multi_setopt(rc->multi, CURLMOPT_SOCKETFUNCTION, rc__socket_cb);
    curl_multi_setopt(rc->multi, CURLMOPT_SOCKETDATA, rc);
    curl_multi_setopt(rc->multi, CURLMOPT_TIMERFUNCTION, rc__timer_cb);
    curl_multi_setopt(rc->multi, CURLMOPT_TIMERDATA, rc);
    *out = rc;
    return 0;
}

void reactor_curl_destroy(reactor_curl_t *rc)
{
    if (!rc)
        return;
    if (rc->depth > 0) {
        rc->destroy_pending = 1; /* rc__act frees it when the callback unwinds */
        return;
    }
    rc__free(rc);
}

CURLM *reactor_curl_multi(const reactor_curl_t *rc)
{
    return rc ? rc->multi : NULL;
}

CURLMcode reactor_curl_add(reactor_curl_t *rc, CURL *easy)
{
    if (!rc || rc->destroy_pending)
        return CURLM_BAD_HANDLE;
    if (!easy)
        return CURLM_BAD_EASY_HANDLE;
    if (rc->in_action)
        return CURLM_RECURSIVE_API_CALL;
    if (rc->n_xfers == rc->cap_xfers) {
        size_t cap = rc->cap_xfers ? 2 * rc->cap_xfers : 16;
        rc__xfer *grown = cap <= SIZE_MAX / sizeof *grown ? realloc(rc->xfers, cap * sizeof *grown)
                                                          : NULL;
        if (!grown)
            return CURLM_OUT_OF_MEMORY;
        rc->xfers = grown;
        rc->cap_xfers = cap;
    }
    CURLMcode mc = curl_multi_add_handle(rc->multi, easy);
    if (mc != CURLM_OK)
        return mc;
    if (rc->timer_failed) {
        /* No timer, so nothing would ever start the transfer: refuse it. */
        rc->timer_failed = 0;
        curl_multi_remove_handle(rc->multi, easy);
        return CURLM_OUT_OF_MEMORY;
    }
    rc->xfers[rc->n_xfers++] = (rc__xfer){easy, CURLE_OK};
    return CURLM_OK;
}

CURLMcode reactor_curl_cancel(reactor_curl_t *rc, CURL *easy)
{
    if (!rc || rc->destroy_pending)
        return CURLM_BAD_HANDLE;
    if (rc->in_action)
        return CURLM_RECURSIVE_API_CALL;
    if (!easy || rc__forget(rc, easy) != 0)
        return CURLM_BAD_EASY_HANDLE;
    return curl_multi_remove_handle(rc->multi, easy);
}

size_t reactor_curl_running(const reactor_curl_t *rc)
{
    return rc ? rc->n_xfers : 0;
}
