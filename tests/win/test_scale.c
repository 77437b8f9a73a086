/* test_scale.c - the AFD backend under Wine (or Windows) at scale: 4,000 loopback TCP channels
 * through ten rounds of readiness, remove/re-add churn and interest changes, then a destroy with
 * every poll pending. Every message names its channel, round and sequence number, so a lost or
 * misdelivered event fails; times per operation are printed, never asserted. */
#include <winsock2.h>
#include <ws2tcpip.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backend.h"
#include "count_alloc.h"
#include "win/iocp.h"
#include "win/pinned_pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 8,000 sockets plus the listener: under Wine each is also a Unix descriptor in this process
 * and in wineserver (hard limit 20,000 here). */
#ifndef SC_CHANNELS
#define SC_CHANNELS 4000
#endif
#define SC_ROUNDS 10
#define SC_MSG 8
#define SC_BATCH 128       /* connects in flight before they are accepted */
#define SC_DEADLINE_S 60.0 /* for one bounded run of the loop (a lost event waits for it) */
#define SC_QUIET_MS 20     /* after a round drained: time for a wrong event to show up */

#define SC_R REACTOR_READABLE
#define SC_RW (REACTOR_READABLE | REACTOR_WRITABLE)

/* This round's plan for a channel: re-added from its own callback on its first READABLE (before
 * reading), or by that callback for its partner. Cleared when done. */
enum { SC_NONE = 0, SC_SELF = 1, SC_BY_OTHER = 2 };

typedef struct sc_chan {
    SOCKET s;    /* the accepted end: registered */
    SOCKET peer; /* the connecting end: the test writes to it */
    reactor_chn_t chn;
    uint8_t interest;
    uint8_t plan;
    uint8_t writable_calls; /* WRITABLE reports since its interest became READABLE|WRITABLE */
    uint8_t rxlen;
    int partner;        /* for SC_SELF: the channel its callback re-adds too, or -1 */
    uint32_t sent, got; /* messages written to peer / read complete from s */
    unsigned char rx[SC_MSG];
} sc_chan;

typedef struct sc_world {
    reactor_t *r;
    sup_alloc alloc;
    int round;
    uint64_t readable, writable, readds, readds_in_cb, modifies_in_cb;
    int wrong;
    char why[240];
    sc_chan ch[SC_CHANNELS];
} sc_world;

static sc_world *g_w;

/* ---- clock (QueryPerformanceCounter) ---- */

static double sc_now(void)
{
    static LARGE_INTEGER freq;
    LARGE_INTEGER t;
    if (!freq.QuadPart)
        QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&t);
    return (double)t.QuadPart / (double)freq.QuadPart;
}

/* ---- the loop, with destroy reporting what it left to the kernel ---- */

static rx_iocp_final g_final;
static int g_final_set;

static void sc_destroy_hook(void *be)
{
    rx_iocp_destroy_report(be, &g_final);
    g_final_set = 1;
}

static reactor_t *sc_loop(sc_world *w)
{
    static rx_backend_ops ops;
    ops = rx_afd_ops;
    ops.destroy = sc_destroy_hook;
    sup_alloc_init(&w->alloc);
    reactor_options_t o;
    memset(&o, 0, sizeof o);
    o.allocator = &w->alloc.fn;
    reactor_t *r = NULL;
    assert_int_equal(rx_create_with(&r, &o, &ops), 0);
    assert_string_equal(reactor_backend_name(r), "afd");
    return r;
}

static reactor_stats_t sc_stats(reactor_t *r)
{
    reactor_stats_t st;
    assert_int_equal(reactor_stats(r, &st), 0);
    return st;
}

/* ---- failures seen inside callbacks: the first one is kept ---- */

static void sc_fail(sc_world *w, const char *what, int index)
{
    if (!w->wrong) {
        const sc_chan *c = &w->ch[index];
        snprintf(w->why, sizeof w->why,
                 "round %d, channel %d (number %u, interest %u, sent %u, got %u): %s", w->round,
                 index, (unsigned)c->chn, (unsigned)c->interest, (unsigned)c->sent,
                 (unsigned)c->got, what);
    }
    w->wrong++;
}

/* ---- messages: 8 bytes naming channel, round and sequence, with a check tag ---- */

static uint16_t sc_tag(unsigned index, unsigned round, unsigned seq)
{
    uint32_t x = index * 2654435761u ^ (round + 1u) * 40503u ^ seq * 2246822519u;
    x ^= x >> 15;
    x *= 2246822519u;
    return (uint16_t)(x ^ (x >> 16));
}

static void sc_send(sc_world *w, int i)
{
    sc_chan *c = &w->ch[i];
    unsigned seq = c->sent & 0xFFFFu, round = (unsigned)w->round;
    uint16_t tag = sc_tag((unsigned)i, round, seq);
    unsigned char m[SC_MSG] = {(unsigned char)(0xA0u + round), (unsigned char)round,
                               (unsigned char)(i & 0xFF),      (unsigned char)(i >> 8),
                               (unsigned char)(seq & 0xFF),    (unsigned char)(seq >> 8),
                               (unsigned char)(tag & 0xFF),    (unsigned char)(tag >> 8)};
    int n = send(c->peer, (const char *)m, SC_MSG, 0);
    if (n != SC_MSG)
        fail_msg("send to channel %d: %d (error %d)", i, n, WSAGetLastError());
    c->sent++;
}

/* A complete message read from channel i: it must come from i's own peer, in this round, in
 * order. */
static void sc_check(sc_world *w, int i)
{
    sc_chan *c = &w->ch[i];
    const unsigned char *m = c->rx;
    unsigned index = m[2] | (unsigned)m[3] << 8, seq = m[4] | (unsigned)m[5] << 8;
    unsigned tag = m[6] | (unsigned)m[7] << 8;
    if (m[0] != (unsigned char)(0xA0u + m[1]) || tag != sc_tag(index, m[1], seq))
        sc_fail(w, "a corrupt message", i);
    else if (index != (unsigned)i)
        sc_fail(w, "a message written to another channel's peer", i);
    else if (m[1] != (unsigned)w->round)
        sc_fail(w, "a message of another round", i);
    else if (seq != (c->got & 0xFFFFu))
        sc_fail(w, "a message lost or out of order", i);
    else if (c->got >= c->sent)
        sc_fail(w, "more messages than were sent", i);
    c->got++;
}

static void sc_read(sc_world *w, int i)
{
    sc_chan *c = &w->ch[i];
    unsigned char buf[256];
    int total = 0;
    for (;;) {
        int n = recv(c->s, (char *)buf, sizeof buf, 0);
        if (n == 0) {
            sc_fail(w, "end of stream", i);
            return;
        }
        if (n < 0) {
            if (WSAGetLastError() != WSAEWOULDBLOCK)
                sc_fail(w, "recv failed", i);
            break;
        }
        total += n;
        for (int k = 0; k < n; k++) {
            c->rx[c->rxlen++] = buf[k];
            if (c->rxlen == SC_MSG) {
                sc_check(w, i);
                c->rxlen = 0;
            }
        }
    }
    if (!total)
        sc_fail(w, "READABLE with nothing to read", i);
}

static void sc_io(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg);

/* reactor_remove, then reactor_add of the same socket with the same interest. */
static void sc_readd(sc_world *w, int i)
{
    sc_chan *c = &w->ch[i];
    if (reactor_remove(w->r, c->chn) != 0) {
        sc_fail(w, "remove failed", i);
        return;
    }
    c->chn = 0;
    if (reactor_add(w->r, (reactor_socket_t)c->s, c->interest, sc_io, c, &c->chn) != 0)
        sc_fail(w, "re-add failed", i);
    w->readds++;
}

static void sc_io(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    (void)r;
    sc_world *w = g_w;
    sc_chan *c = arg;
    int i = (int)(c - w->ch);
    if (chn != c->chn) {
        sc_fail(w, "a callback under a number the channel does not hold now", i);
        return;
    }
    if (events & (REACTOR_HANGUP | REACTOR_ERROR))
        sc_fail(w, "HANGUP or ERROR on a healthy connection", i);
    if (events & REACTOR_WRITABLE) {
        w->writable++;
        if (!(c->interest & REACTOR_WRITABLE)) {
            sc_fail(w, "WRITABLE reported but not requested", i);
        } else if (++c->writable_calls == 2) {
            /* Level-triggered: reported again in a later iteration. Then back to READABLE from
             * the callback, which must hold at once (no WRITABLE after this). */
            c->interest = SC_R;
            if (reactor_modify(w->r, chn, SC_R) != 0)
                sc_fail(w, "modify from the callback failed", i);
            w->modifies_in_cb++;
        }
    }
    if (!(events & REACTOR_READABLE))
        return;
    w->readable++;
    if (!(c->interest & REACTOR_READABLE)) {
        sc_fail(w, "READABLE reported but not requested", i);
        return;
    }
    if (c->got == c->sent && !c->rxlen) {
        sc_fail(w, "READABLE for a channel with nothing written to it", i);
        return;
    }
    if (c->plan == SC_SELF) {
        /* Left unread: the re-added channel must be reported for it. */
        c->plan = SC_NONE;
        sc_readd(w, i);
        w->readds_in_cb++;
        if (c->partner >= 0) {
            sc_readd(w, c->partner);
            w->readds_in_cb++;
            w->ch[c->partner].plan = SC_NONE;
        }
        return;
    }
    sc_read(w, i);
}

/* ---- running the loop until a condition, bounded ---- */

static void sc_tick(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)r;
    (void)t;
    (*(int *)arg)++;
}

typedef int (*sc_cond)(const sc_world *w, int *first);

static void sc_drive(sc_world *w, sc_cond done, const char *what)
{
    int ticks = 0, first = -1;
    reactor_timer_t t;
    assert_int_equal(reactor_timer_start(w->r, 10, 10, sc_tick, &ticks, &t), 0);
    double t0 = sc_now();
    while (!w->wrong && !done(w, &first) && sc_now() - t0 < SC_DEADLINE_S)
        assert_true(reactor_run(w->r, REACTOR_RUN_ONCE) >= 0);
    assert_int_equal(reactor_timer_stop(w->r, t), 0);
    if (w->wrong)
        fail_msg("%s: %s (%d wrong)", what, w->why, w->wrong);
    if (!done(w, &first)) {
        const sc_chan *c = &w->ch[first];
        fail_msg("%s: not done after %.0f s: channel %d (interest %u, plan %u, sent %u, got %u, "
                 "WRITABLE reports %u) is missing an event",
                 what, SC_DEADLINE_S, first, (unsigned)c->interest, (unsigned)c->plan,
                 (unsigned)c->sent, (unsigned)c->got, (unsigned)c->writable_calls);
    }
}

/* Every channel that requests READABLE has read all its messages, every one that requested
 * WRITABLE has seen it twice (and dropped it), every planned re-add from a callback happened. */
static int sc_drained(const sc_world *w, int *first)
{
    for (int i = 0; i < SC_CHANNELS; i++) {
        const sc_chan *c = &w->ch[i];
        if (c->plan != SC_NONE || (c->interest & REACTOR_WRITABLE) ||
            ((c->interest & REACTOR_READABLE) && (c->got != c->sent || c->rxlen))) {
            *first = i;
            return 0;
        }
    }
    return 1;
}

static int sc_all_pending(const sc_world *w, int *first)
{
    *first = 0;
    return sc_stats(w->r).pending_polls == SC_CHANNELS;
}

static int sc_none_pending(const sc_world *w, int *first)
{
    *first = 0;
    return sc_stats(w->r).pending_polls == 0;
}

/* Runs the loop for SC_QUIET_MS (at least three iterations): a wrong event has time to come. */
static void sc_quiet(sc_world *w, const char *what)
{
    int ticks = 0;
    reactor_timer_t t;
    assert_int_equal(reactor_timer_start(w->r, 5, 5, sc_tick, &ticks, &t), 0);
    for (int k = 0; (ticks < SC_QUIET_MS / 5 || k < 3) && !w->wrong; k++)
        assert_true(reactor_run(w->r, REACTOR_RUN_ONCE) >= 0);
    assert_int_equal(reactor_timer_stop(w->r, t), 0);
    if (w->wrong)
        fail_msg("%s: %s (%d wrong)", what, w->why, w->wrong);
}

/* ---- 4,000 connected pairs through one listener ---- */

static void sc_connect_all(sc_world *w)
{
    static int by_port[65536];
    SOCKET l = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    assert_true(l != INVALID_SOCKET);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(l, SOMAXCONN), 0);
    int len = sizeof a;
    assert_int_equal(getsockname(l, (struct sockaddr *)&a, &len), 0);
    u_long one = 1;
    assert_int_equal(ioctlsocket(l, FIONBIO, &one), 0);
    for (int p = 0; p < 65536; p++)
        by_port[p] = -1;
    for (int base = 0; base < SC_CHANNELS; base += SC_BATCH) {
        int n = SC_CHANNELS - base < SC_BATCH ? SC_CHANNELS - base : SC_BATCH;
        for (int i = base; i < base + n; i++) {
            SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
            if (s == INVALID_SOCKET)
                fail_msg("socket %d: error %d", i, WSAGetLastError());
            assert_int_equal(ioctlsocket(s, FIONBIO, &one), 0);
            int nodelay = 1; /* two 8-byte messages in a row must not wait for an ACK */
            assert_int_equal(setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const char *)&nodelay,
                                        sizeof nodelay),
                             0);
            if (connect(s, (struct sockaddr *)&a, sizeof a) != 0)
                assert_int_equal(WSAGetLastError(), WSAEWOULDBLOCK);
            struct sockaddr_in local;
            int llen = sizeof local;
            assert_int_equal(getsockname(s, (struct sockaddr *)&local, &llen), 0);
            by_port[ntohs(local.sin_port)] = i;
            w->ch[i].peer = s;
        }
        double t0 = sc_now();
        for (int got = 0; got < n;) {
            struct sockaddr_in from;
            int flen = sizeof from;
            SOCKET s = accept(l, (struct sockaddr *)&from, &flen);
            if (s == INVALID_SOCKET) {
                assert_int_equal(WSAGetLastError(), WSAEWOULDBLOCK);
                if (sc_now() - t0 > SC_DEADLINE_S)
                    fail_msg("accept: %d of batch %d after %.0f s", got, base, SC_DEADLINE_S);
                fd_set set;
                FD_ZERO(&set);
                FD_SET(l, &set);
                struct timeval tv = {1, 0};
                (void)select(0, &set, NULL, NULL, &tv);
                continue;
            }
            int i = by_port[ntohs(from.sin_port)];
            assert_true(i >= base && i < base + n && w->ch[i].s == INVALID_SOCKET);
            assert_int_equal(ioctlsocket(s, FIONBIO, &one), 0);
            w->ch[i].s = s;
            got++;
        }
    }
    closesocket(l);
}

/* ---- the rounds ---- */

static uint32_t sc_mix(uint32_t i, uint32_t round)
{
    uint32_t x = i * 0x9E3779B1u + (round + 1u) * 0x85EBCA77u;
    x ^= x >> 16;
    x *= 0x7FEB352Du;
    x ^= x >> 15;
    x *= 0x846CA68Bu;
    return x ^ (x >> 16);
}

typedef struct sc_times {
    double add_first, arm_first, add_again, arm_again, remove_all, destroy;
    double churn_remove, churn_add, modify, round_sum, round_min, round_max;
    uint64_t churn_removes, churn_adds, modifies, round_events;
} sc_times;

static void sc_round(sc_world *w, sc_times *tm)
{
    int churn_out = 0, churn_self = 0, partners = 0, to_rw = 0, to_zero = 0, written = 0;
    int n_out = 0;
    static int out[SC_CHANNELS], toggled[SC_CHANNELS];
    int n_toggled = 0;
    double t_round = sc_now();
    /* Plans: 20% churned (a quarter of them from their own callback, with a partner when it is
     * free); a quarter of the channels toggled (two in three to READABLE|WRITABLE, one to 0). */
    for (int i = 0; i < SC_CHANNELS; i++) {
        sc_chan *c = &w->ch[i];
        uint32_t h = sc_mix((uint32_t)i, (uint32_t)w->round);
        assert_int_equal(c->interest, SC_R);
        c->plan = SC_NONE;
        c->partner = -1;
        c->writable_calls = 0;
        if (h % 5 == 0) {
            if ((h / 5) % 4 == 0) {
                c->plan = SC_SELF;
                churn_self++;
            } else {
                out[n_out++] = i;
            }
        }
    }
    for (int i = 0; i < SC_CHANNELS; i++) {
        sc_chan *c = &w->ch[i];
        int j = (i + SC_CHANNELS / 2) % SC_CHANNELS;
        if (c->plan == SC_SELF && w->ch[j].plan == SC_NONE && (sc_mix((uint32_t)i, 99) & 1)) {
            c->partner = j;
            w->ch[j].plan = SC_BY_OTHER;
            partners++;
        }
    }
    /* Outside callbacks: half get a message first, so data is pending at the remove (its poll
     * may have completed, its packet queued) and must be reported after the re-add. */
    for (int k = 0; k < n_out; k++)
        if ((sc_mix((uint32_t)out[k], (uint32_t)w->round) / 20) % 2)
            sc_send(w, out[k]);
    double t0 = sc_now();
    for (int k = 0; k < n_out; k++) {
        sc_chan *c = &w->ch[out[k]];
        assert_int_equal(reactor_remove(w->r, c->chn), 0);
        c->chn = 0;
    }
    double t1 = sc_now();
    for (int k = 0; k < n_out; k++) {
        sc_chan *c = &w->ch[out[k]];
        assert_int_equal(reactor_add(w->r, (reactor_socket_t)c->s, c->interest, sc_io, c, &c->chn),
                         0);
        w->readds++;
    }
    double t2 = sc_now();
    churn_out = n_out;
    tm->churn_remove += t1 - t0;
    tm->churn_add += t2 - t1;
    tm->churn_removes += (uint64_t)n_out;
    tm->churn_adds += (uint64_t)n_out;
    for (int i = 0; i < SC_CHANNELS; i++) {
        uint32_t h = sc_mix((uint32_t)i, (uint32_t)w->round);
        if ((h >> 10) % 4 == 0) {
            /* A channel re-added from its own callback needs its READABLE: never paused. */
            int zero = (h >> 12) % 3 == 0 && w->ch[i].plan != SC_SELF;
            w->ch[i].interest = zero ? 0u : SC_RW;
            toggled[n_toggled++] = i;
            if (zero)
                to_zero++;
            else
                to_rw++;
        }
    }
    t0 = sc_now();
    for (int k = 0; k < n_toggled; k++) {
        sc_chan *c = &w->ch[toggled[k]];
        assert_int_equal(reactor_modify(w->r, c->chn, c->interest), 0);
    }
    tm->modify += sc_now() - t0;
    tm->modifies += (uint64_t)n_toggled;
    /* The readiness round: a chosen 40% (and every channel planned to re-add from its callback,
     * and every paused one) get a message, some two; the loop runs until all are read. */
    uint64_t ev0 = w->readable + w->writable;
    double t_ready = sc_now();
    for (int i = 0; i < SC_CHANNELS; i++) {
        uint32_t h = sc_mix((uint32_t)i, (uint32_t)w->round);
        if ((h >> 16) % 5 < 2 || w->ch[i].plan == SC_SELF || w->ch[i].interest == 0) {
            sc_send(w, i);
            written++;
            if ((h >> 20) % 4 == 0)
                sc_send(w, i);
        }
    }
    double t_written = sc_now();
    sc_drive(w, sc_drained, "readiness round");
    double dt = sc_now() - t_ready;
    tm->round_sum += dt;
    tm->round_min = w->round == 0 || dt < tm->round_min ? dt : tm->round_min;
    tm->round_max = dt > tm->round_max ? dt : tm->round_max;
    uint64_t events = w->readable + w->writable - ev0;
    tm->round_events += events;
    /* Paused channels hold unread messages: nothing may be reported for them, and nothing for a
     * drained one. */
    sc_quiet(w, "quiet window");
    int n_paused = 0;
    for (int k = 0; k < n_toggled; k++) {
        const sc_chan *c = &w->ch[toggled[k]];
        if (c->interest == 0 && c->got == c->sent)
            fail_msg("round %d: paused channel %d had nothing pending", w->round, toggled[k]);
        if (c->interest == SC_R && c->writable_calls != 2)
            fail_msg("round %d: channel %d had %u WRITABLE reports, not 2", w->round, toggled[k],
                     (unsigned)c->writable_calls);
        if (c->interest == 0)
            toggled[n_paused++] = toggled[k];
    }
    /* And back: paused channels must now report what they held. */
    t0 = sc_now();
    for (int k = 0; k < n_paused; k++) {
        sc_chan *c = &w->ch[toggled[k]];
        c->interest = SC_R;
        assert_int_equal(reactor_modify(w->r, c->chn, SC_R), 0);
    }
    tm->modify += sc_now() - t0;
    tm->modifies += (uint64_t)n_paused;
    sc_drive(w, sc_drained, "after un-pausing");
    sc_quiet(w, "quiet window after un-pausing");
    for (int i = 0; i < SC_CHANNELS; i++)
        assert_int_equal(w->ch[i].got, w->ch[i].sent);
    assert_int_equal(sc_stats(w->r).channels, SC_CHANNELS);
    print_message(
        "scale round %d: %d re-added outside callbacks, %d from their own callback "
        "(+%d partners), %d to READABLE|WRITABLE (back from the callback), %d to 0 and back, %d "
        "channels written; readiness %.1f ms (writing %.1f ms, %llu events), whole round %.1f ms\n",
        w->round, churn_out, churn_self, partners, to_rw, to_zero, written, dt * 1e3,
        (t_written - t_ready) * 1e3, (unsigned long long)events, (sc_now() - t_round) * 1e3);
    fflush(stdout); /* shown even if a later round hangs and CTest kills the test */
}

static void sc_per(const char *what, double s, uint64_t n)
{
    print_message("scale time: %-34s %9.2f ms total, %7.2f us each (%llu)\n", what, s * 1e3,
                  n ? s * 1e6 / (double)n : 0.0, (unsigned long long)n);
}

static void
channels_4000_lose_no_event_through_churn_and_interest_changes_and_destroy_clean(void **state)
{
    (void)state;
    sc_world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    g_w = w;
    sc_times tm;
    memset(&tm, 0, sizeof tm);
    for (int i = 0; i < SC_CHANNELS; i++)
        w->ch[i].s = w->ch[i].peer = INVALID_SOCKET;
    double t0 = sc_now();
    sc_connect_all(w);
    double setup = sc_now() - t0;
    w->r = sc_loop(w);

    t0 = sc_now();
    for (int i = 0; i < SC_CHANNELS; i++) {
        sc_chan *c = &w->ch[i];
        c->interest = SC_R;
        assert_int_equal(reactor_add(w->r, (reactor_socket_t)c->s, SC_R, sc_io, c, &c->chn), 0);
    }
    tm.add_first = sc_now() - t0;
    /* One iteration issues every poll; nothing is ready, so it never waits. */
    t0 = sc_now();
    assert_int_equal(reactor_run(w->r, REACTOR_RUN_NOWAIT), 1);
    tm.arm_first = sc_now() - t0;
    sc_drive(w, sc_all_pending, "first arm");
    const uint64_t groups = (SC_CHANNELS + RX_AFD_GROUP - 1) / RX_AFD_GROUP;
    reactor_stats_t st = sc_stats(w->r);
    assert_int_equal(st.helper_handles, groups); /* a fresh loop fills its blocks */

    for (w->round = 0; w->round < SC_ROUNDS; w->round++)
        sc_round(w, &tm);
    assert_int_equal(w->wrong, 0);
    assert_true(w->readds >= (uint64_t)SC_ROUNDS * SC_CHANNELS / 5);

    /* States never move: after churn the groups may be part empty, never fewer. */
    sc_drive(w, sc_all_pending, "all armed after the rounds");
    st = sc_stats(w->r);
    uint64_t churned_helpers = st.helper_handles;
    assert_true(churned_helpers >= groups && churned_helpers <= st.pinned_blocks);

    /* Every channel removed (cancels in flight), the pool back to one spare block. */
    t0 = sc_now();
    for (int i = 0; i < SC_CHANNELS; i++) {
        assert_int_equal(reactor_remove(w->r, w->ch[i].chn), 0);
        w->ch[i].chn = 0;
    }
    tm.remove_all = sc_now() - t0;
    sc_drive(w, sc_none_pending, "cancellations of removed channels");
    st = sc_stats(w->r);
    assert_int_equal(st.channels, 0);
    assert_true(st.pinned_blocks <= 1);

    /* Then all added again at once: whole groups, all armed, nothing ready. */
    t0 = sc_now();
    for (int i = 0; i < SC_CHANNELS; i++) {
        sc_chan *c = &w->ch[i];
        assert_int_equal(reactor_add(w->r, (reactor_socket_t)c->s, SC_R, sc_io, c, &c->chn), 0);
    }
    tm.add_again = sc_now() - t0;
    t0 = sc_now();
    assert_int_equal(reactor_run(w->r, REACTOR_RUN_NOWAIT), 1);
    tm.arm_again = sc_now() - t0;
    sc_drive(w, sc_all_pending, "second arm");
    st = sc_stats(w->r);
    assert_int_equal(st.channels, SC_CHANNELS);
    assert_int_equal(st.pending_polls, SC_CHANNELS);
    print_message("scale: group %u, %llu helper handles (%llu after the rounds), %llu pinned "
                  "blocks, %llu stale "
                  "completions, %llu iterations, %llu callbacks (%llu READABLE, %llu "
                  "WRITABLE), %llu re-adds (%llu from callbacks), %llu modifies from callbacks\n",
                  (unsigned)RX_AFD_GROUP, (unsigned long long)st.helper_handles,
                  (unsigned long long)churned_helpers, (unsigned long long)st.pinned_blocks,
                  (unsigned long long)st.stale_completions, (unsigned long long)st.iterations,
                  (unsigned long long)st.events_dispatched, (unsigned long long)w->readable,
                  (unsigned long long)w->writable, (unsigned long long)w->readds,
                  (unsigned long long)w->readds_in_cb, (unsigned long long)w->modifies_in_cb);
    assert_int_equal(st.helper_handles, groups);

    /* Destroy with every poll pending: each drained, every block freed. */
    g_final_set = 0;
    t0 = sc_now();
    reactor_destroy(w->r);
    tm.destroy = sc_now() - t0;
    w->r = NULL;
    assert_true(g_final_set);
    assert_int_equal(g_final.undrained, 0);
    assert_int_equal(g_final.blocks_kept, 0);
    assert_int_equal(g_final.poison_hits, 0);
    assert_int_equal(w->alloc.live, 0);
    assert_int_equal(w->alloc.bytes, 0);

    t0 = sc_now();
    for (int i = 0; i < SC_CHANNELS; i++) {
        closesocket(w->ch[i].s);
        closesocket(w->ch[i].peer);
    }
    double closing = sc_now() - t0;

    print_message("scale time: %d pairs connected in %.2f s, closed in %.2f s\n", SC_CHANNELS,
                  setup, closing);
    sc_per("add (fresh loop)", tm.add_first, SC_CHANNELS);
    sc_per("first arm (one iteration)", tm.arm_first, SC_CHANNELS);
    sc_per("remove (churn)", tm.churn_remove, tm.churn_removes);
    sc_per("add (churn re-add)", tm.churn_add, tm.churn_adds);
    sc_per("modify", tm.modify, tm.modifies);
    print_message("scale time: readiness round (write + run until read) %.1f ms average, %.1f "
                  "min, %.1f max; %.2f us per event (%llu events)\n",
                  tm.round_sum * 1e3 / SC_ROUNDS, tm.round_min * 1e3, tm.round_max * 1e3,
                  tm.round_events ? tm.round_sum * 1e6 / (double)tm.round_events : 0.0,
                  (unsigned long long)tm.round_events);
    sc_per("remove (all)", tm.remove_all, SC_CHANNELS);
    sc_per("add (all again)", tm.add_again, SC_CHANNELS);
    sc_per("arm again (one iteration)", tm.arm_again, SC_CHANNELS);
    sc_per("destroy, every poll pending", tm.destroy, SC_CHANNELS);
    free(w);
}

int main(int argc, char **argv)
{
    WSADATA wsa;
    if (WSAStartup(MAKEWORD(2, 2), &wsa))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            channels_4000_lose_no_event_through_churn_and_interest_changes_and_destroy_clean),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    int failed = cmocka_run_group_tests_name("win.scale", tests, NULL, NULL);
    WSACleanup();
    return failed;
}
