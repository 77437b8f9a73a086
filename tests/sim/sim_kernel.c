/* sim_kernel.c - the simulated kernel. Rules it keeps from the real one (issue 3, measured under
 * Wine; issue 10 for what Wine hides): a poll is held until completed; completion writes the
 * status block (and, on success only, the output buffer) and queues exactly one packet carrying
 * the ApcContext, under its helper's key; a cancel of a completed poll is STATUS_NOT_FOUND;
 * closing a helper completes its polls with STATUS_HANDLES_CLOSED; an error status returned at
 * once means no packet; a poll with a zero timeout completes at once (success with what holds,
 * else STATUS_TIMEOUT with no handle). A cancel walks every request pending on its helper
 * (trio #1280): each adds that count to cancel_work. Contract errors: a NULL context, a status
 * block or buffer handed again while held, a second poll pending on one socket, a cancel on
 * another helper than its poll's, a wait without end with nothing to come, a handle left open. */
#if !defined(_WIN32)
#define _POSIX_C_SOURCE 200809L /* clock_gettime, nanosleep */
#endif
#include "sim_kernel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(_WIN32)
#include <windows.h>
#else
#include <errno.h>
#include <time.h>
#endif

#define SIM__PORT ((uintptr_t)0x7000)
#define SIM__HELPER ((uintptr_t)0x100000)     /* + 4 * n: the n-th helper opened */
#define SIM__PROBE ((uintptr_t)0x300000)      /* + 4 * n: the n-th socket_open */
#define SIM__PROBE_BASE ((uintptr_t)0x7F0000) /* its base handle, + 4 * n */
#define SIM__WSAEINVAL 10022
#define SIM__CHUNK 1024u
#define SIM__SPAN                                                                                  \
    (sizeof(rx_iosb) > sizeof(rx_afd_poll_info) ? sizeof(rx_iosb) : sizeof(rx_afd_poll_info))

static sim_kernel *sim__k; /* the table's functions have no context argument */

static void sim__error(sim_kernel *k, const char *what, uintptr_t a)
{
    if (!k->errors++)
        snprintf(k->msg, sizeof k->msg, "sim: %s (0x%llx)", what, (unsigned long long)a);
}

static void *sim__alloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();
    return p;
}

/* ---- a multimap u64 -> u32: open addressing, linear probing, backward-shift deletion ---- */

struct sim_map_slot {
    uint64_t key;
    uint32_t val, used;
};

static size_t sim__hash(uint64_t key, size_t cap)
{
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdull;
    key ^= key >> 33;
    return (size_t)key & (cap - 1);
}

static void sim__map_put(sim_map *m, uint64_t key, uint32_t val);

static void sim__map_grow(sim_map *m)
{
    struct sim_map_slot *old = m->slots;
    size_t ocap = m->cap;
    m->cap = ocap ? ocap * 2 : 64;
    m->slots = calloc(m->cap, sizeof *m->slots);
    if (!m->slots)
        abort();
    m->count = 0;
    for (size_t i = 0; i < ocap; i++)
        if (old[i].used)
            sim__map_put(m, old[i].key, old[i].val);
    free(old);
}

static void sim__map_put(sim_map *m, uint64_t key, uint32_t val)
{
    if ((m->count + 1) * 2 > m->cap)
        sim__map_grow(m);
    size_t i = sim__hash(key, m->cap);
    while (m->slots[i].used)
        i = (i + 1) & (m->cap - 1);
    m->slots[i].key = key;
    m->slots[i].val = val;
    m->slots[i].used = 1;
    m->count++;
}

/* The slot holding (key, val), or (val SIM_NIL) the first holding key; cap when none. */
static size_t sim__map_slot(const sim_map *m, uint64_t key, uint32_t val)
{
    if (!m->cap)
        return 0;
    for (size_t i = sim__hash(key, m->cap); m->slots[i].used; i = (i + 1) & (m->cap - 1))
        if (m->slots[i].key == key && (val == SIM_NIL || m->slots[i].val == val))
            return i;
    return m->cap;
}

static uint32_t sim__map_get(const sim_map *m, uint64_t key)
{
    size_t i = sim__map_slot(m, key, SIM_NIL);
    return i < m->cap ? m->slots[i].val : SIM_NIL;
}

static void sim__map_del(sim_map *m, uint64_t key, uint32_t val)
{
    size_t i = sim__map_slot(m, key, val), mask = m->cap - 1;
    if (i >= m->cap)
        return;
    for (size_t j = (i + 1) & mask; m->slots[j].used; j = (j + 1) & mask) {
        size_t h = sim__hash(m->slots[j].key, m->cap);
        int stays = i < j ? (h > i && h <= j) : (h > i || h <= j);
        if (!stays) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i].used = 0;
    m->count--;
}

static void sim__map_set(sim_map *m, uint64_t key, uint32_t from, uint32_t to)
{
    size_t i = sim__map_slot(m, key, from);
    if (i < m->cap)
        m->slots[i].val = to;
}

static void sim__map_clear(sim_map *m)
{
    if (m->cap)
        memset(m->slots, 0, m->cap * sizeof *m->slots);
    m->count = 0;
}

static void sim__map_free(sim_map *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = m->count = 0;
}

/* ---- records ---- */

sim_socket *sim_socket_at(sim_kernel *k, uint32_t index)
{
    if (index >= k->nsockets)
        return NULL;
    return &k->sock_chunks[index / SIM__CHUNK][index % SIM__CHUNK];
}

/* A record known to exist. */
static sim_socket *sim__sock(sim_kernel *k, uint32_t index)
{
    return &k->sock_chunks[index / SIM__CHUNK][index % SIM__CHUNK];
}

static sim_socket *sim__by_base(sim_kernel *k, uintptr_t base)
{
    uint32_t i = sim__map_get(&k->by_base, base);
    return i == SIM_NIL ? NULL : sim__sock(k, i);
}

static uint32_t sim__helper_index(const sim_kernel *k, uintptr_t h)
{
    if (h < SIM__HELPER || (h - SIM__HELPER) % 4 || (h - SIM__HELPER) / 4 >= k->nhelpers)
        return SIM_NIL;
    return (uint32_t)((h - SIM__HELPER) / 4);
}

sim_helper *sim_helper_find(sim_kernel *k, uintptr_t handle)
{
    uint32_t i = sim__helper_index(k, handle);
    return i == SIM_NIL ? NULL : &k->helpers[i];
}

static uint64_t sim__granule(const void *p)
{
    return (uint64_t)((uintptr_t)p >> 3);
}

/* ---- intrusive lists of requests, by index ---- */

static sim_list *sim__head(sim_kernel *k, const sim_poll *p, int l)
{
    switch (l) {
    case SIM_L_SOCK:
        return &sim__sock(k, p->sock)->polls;
    case SIM_L_HELPER:
        return &k->helpers[p->hidx].polls;
    case SIM_L_CANCEL:
        return &k->cancelled;
    default:
        return &k->all;
    }
}

static void sim__link(sim_kernel *k, uint32_t idx, int l)
{
    sim_poll *p = &k->polls[idx];
    sim_list *h = sim__head(k, p, l);
    p->prev[l] = h->tail;
    p->next[l] = SIM_NIL;
    if (h->tail != SIM_NIL)
        k->polls[h->tail].next[l] = idx;
    else
        h->head = idx;
    h->tail = idx;
    p->lists |= 1u << l;
}

static void sim__unlink(sim_kernel *k, uint32_t idx, int l)
{
    sim_poll *p = &k->polls[idx];
    if (!(p->lists & (1u << l)))
        return;
    sim_list *h = sim__head(k, p, l);
    if (p->prev[l] != SIM_NIL)
        k->polls[p->prev[l]].next[l] = p->next[l];
    else
        h->head = p->next[l];
    if (p->next[l] != SIM_NIL)
        k->polls[p->next[l]].prev[l] = p->prev[l];
    else
        h->tail = p->prev[l];
    p->lists &= ~(1u << l);
}

/* The request with this status block and sequence number, or SIM_NIL. */
static uint32_t sim__find(const sim_kernel *k, const rx_iosb *iosb, uint64_t seq)
{
    const sim_map *m = &k->by_addr;
    uint64_t g = sim__granule(iosb);
    if (!m->cap)
        return SIM_NIL;
    for (size_t i = sim__hash(g, m->cap); m->slots[i].used; i = (i + 1) & (m->cap - 1)) {
        const sim_poll *p = &k->polls[m->slots[i].val];
        if (m->slots[i].key == g && p->iosb == iosb && (!seq || p->seq == seq))
            return m->slots[i].val;
    }
    return SIM_NIL;
}

/* The request leaves PENDING: off its socket's, its helper's and the cancelled list. */
static void sim__unpend(sim_kernel *k, uint32_t idx)
{
    sim_poll *p = &k->polls[idx];
    if (p->state != SIM_PENDING)
        return;
    sim__unlink(k, idx, SIM_L_SOCK);
    sim__unlink(k, idx, SIM_L_HELPER);
    sim__unlink(k, idx, SIM_L_CANCEL);
    sim__sock(k, p->sock)->pending--;
    k->helpers[p->hidx].outstanding--;
    k->npending--;
}

static void sim__forget(sim_kernel *k, uint32_t idx)
{
    sim__unpend(k, idx);
    sim__unlink(k, idx, SIM_L_ALL);
    sim_poll *p = &k->polls[idx];
    sim__map_del(&k->by_addr, sim__granule(p->iosb), idx);
    sim__map_del(&k->by_addr, sim__granule(p->info), idx);
    uint32_t last = (uint32_t)(k->npolls - 1);
    if (idx != last) {
        /* The last request takes the hole: its neighbours and hash entries follow it. */
        sim_poll *q = &k->polls[idx];
        *q = k->polls[last];
        for (int l = 0; l < SIM_L__COUNT; l++) {
            if (!(q->lists & (1u << l)))
                continue;
            sim_list *h = sim__head(k, q, l);
            if (q->prev[l] != SIM_NIL)
                k->polls[q->prev[l]].next[l] = idx;
            else
                h->head = idx;
            if (q->next[l] != SIM_NIL)
                k->polls[q->next[l]].prev[l] = idx;
            else
                h->tail = idx;
        }
        sim__map_set(&k->by_addr, sim__granule(q->iosb), last, idx);
        sim__map_set(&k->by_addr, sim__granule(q->info), last, idx);
    }
    k->npolls--;
}

static void sim__push(sim_kernel *k, sim_packet pk)
{
    if (k->qlen == k->qcap) {
        size_t cap = k->qcap ? k->qcap * 2 : 64;
        sim_packet *q = sim__alloc(cap * sizeof *q);
        for (size_t i = 0; i < k->qlen; i++)
            q[i] = k->queue[(k->qhead + i) % k->qcap];
        free(k->queue);
        k->queue = q;
        k->qcap = cap;
        k->qhead = 0;
    }
    k->queue[(k->qhead + k->qlen++) % k->qcap] = pk;
}

/* How a completion fills the buffer. */
enum { SIM__NO_INFO, SIM__ONE_HANDLE, SIM__NO_HANDLE };

/* The kernel completes a request: it writes the caller's status block, and the buffer on
 * success, then queues one packet under its helper's key. These writes go to the addresses the
 * backend handed over. */
static void sim__finish(sim_kernel *k, uint32_t idx, int32_t status, uint32_t events, int how)
{
    sim_poll *p = &k->polls[idx];
    if (p->state != SIM_PENDING) {
        sim__error(k, "completing a request that is not pending", p->context);
        return;
    }
    uintptr_t information = how == SIM__ONE_HANDLE  ? sizeof *p->info
                            : how == SIM__NO_HANDLE ? offsetof(rx_afd_poll_info, handles)
                                                    : 0;
    p->iosb->u.status = status;
    p->iosb->information = information;
    if (how == SIM__ONE_HANDLE) {
        p->info->count = 1;
        p->info->handles[0].handle = p->base;
        p->info->handles[0].events = events;
        p->info->handles[0].status = 0;
    } else if (how == SIM__NO_HANDLE) {
        p->info->count = 0;
    }
    sim__unpend(k, idx);
    if (!k->port_open) {
        sim__forget(k, idx); /* nobody can dequeue it: the kernel lets go */
        return;
    }
    p->state = SIM_QUEUED;
    sim_packet pk;
    memset(&pk, 0, sizeof pk);
    pk.key = k->helpers[p->hidx].key;
    pk.context = p->context;
    pk.iosb.u.status = status;
    pk.iosb.information = information;
    pk.events = how == SIM__ONE_HANDLE ? events : 0;
    pk.requested = p->requested;
    pk.seq = p->seq;
    pk.req = p->iosb;
    sim__push(k, pk);
    k->packets++;
}

/* A request named by status block and sequence number, collected before completing several:
 * a completion may move requests (a dequeue-less one is forgotten at once). */
typedef struct sim__ref {
    uint64_t seq;
    const rx_iosb *iosb;
} sim__ref;

static int sim__by_seq(const void *a, const void *b)
{
    uint64_t x = ((const sim__ref *)a)->seq, y = ((const sim__ref *)b)->seq;
    return x < y ? -1 : x > y;
}

/* The non-stuck pending requests of a list, in its order; *n receives how many. */
static sim__ref *sim__collect(sim_kernel *k, const sim_list *h, int l, size_t *n)
{
    size_t cap = 16;
    sim__ref *r = sim__alloc(cap * sizeof *r);
    *n = 0;
    for (uint32_t i = h->head; i != SIM_NIL; i = k->polls[i].next[l]) {
        const sim_poll *p = &k->polls[i];
        if (p->state != SIM_PENDING || p->stuck)
            continue;
        if (*n == cap) {
            cap *= 2;
            sim__ref *g = realloc(r, cap * sizeof *r);
            if (!g)
                abort();
            r = g;
        }
        r[*n].seq = p->seq;
        r[(*n)++].iosb = p->iosb;
    }
    return r;
}

static uint32_t sim__events(sim_kernel *k, const sim_socket *s, uint32_t requested)
{
    uint32_t ev = s && s->open ? s->ready & requested : 0;
    return ev ? ev | k->unrequested : 0;
}

/* Status block and buffer of a new request must not overlap any the kernel holds: a held range
 * starts within SIM__SPAN bytes before the new one, so its start granule is among a few. */
static void sim__check_range(sim_kernel *k, const void *ptr, size_t n)
{
    const sim_map *m = &k->by_addr;
    uintptr_t a = (uintptr_t)ptr;
    uintptr_t lo = a >= SIM__SPAN ? a - SIM__SPAN + 1 : 0;
    if (!m->cap)
        return;
    for (uint64_t g = (uint64_t)(lo >> 3); g <= (uint64_t)((a + n - 1) >> 3); g++)
        for (size_t i = sim__hash(g, m->cap); m->slots[i].used; i = (i + 1) & (m->cap - 1)) {
            if (m->slots[i].key != g)
                continue;
            const sim_poll *p = &k->polls[m->slots[i].val];
            uintptr_t s1 = (uintptr_t)p->iosb, s2 = (uintptr_t)p->info;
            if ((a < s1 + sizeof *p->iosb && s1 < a + n) ||
                (a < s2 + sizeof *p->info && s2 < a + n))
                sim__error(k,
                           p->state == SIM_PENDING
                               ? "status block or buffer handed again while the kernel holds it"
                               : "status block or buffer reused before its packet was dequeued",
                           p->context);
        }
}

/* ---- time, for waits that end on a clock tick ---- */

static uint64_t sim__now_us(void)
{
#if defined(_WIN32)
    LARGE_INTEGER f, c;
    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&c);
    return (uint64_t)(c.QuadPart / f.QuadPart) * 1000000u +
           (uint64_t)(c.QuadPart % f.QuadPart) * 1000000u / (uint64_t)f.QuadPart;
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
#endif
}

static void sim__sleep_us(uint64_t us)
{
#if defined(_WIN32)
    Sleep((DWORD)(us / 1000u)); /* rounded down: Sleep itself ends on a tick */
#else
    struct timespec ts = {(time_t)(us / 1000000u), (long)(us % 1000000u) * 1000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
#endif
}

/* The kernel reads its interrupt time, which advances only on ticks: a wait of t ends on the
 * first tick at least t after the last tick before it started, so up to one tick early. */
static void sim__tick_wait(sim_kernel *k, int timeout_ms)
{
    uint64_t tick = k->wait_tick_us, t = (uint64_t)timeout_ms * 1000u;
    uint64_t phase = k->wait_phase_us >= 0 ? (uint64_t)k->wait_phase_us % tick
                                           : sim__now_us() % tick;
    uint64_t d = (t + tick - 1) / tick * tick - phase;
    sim__sleep_us(d);
    k->slept_us += d;
    k->waits_early += d < t;
}

/* ---- the table ---- */

static int32_t sim__port_open(uintptr_t *port)
{
    sim_kernel *k = sim__k;
    if (k->fail_port_open)
        return SIM_STATUS_NO_RESOURCES;
    if (k->port_open)
        sim__error(k, "a second port", k->port);
    k->port = SIM__PORT + (uintptr_t)k->port_opens++;
    k->port_open = 1;
    *port = k->port;
    return RX_STATUS_SUCCESS;
}

static int32_t sim__helper_open(uintptr_t port, uintptr_t key, uintptr_t *helper)
{
    sim_kernel *k = sim__k;
    if (!k->port_open || port != k->port)
        return RX_STATUS_INVALID_HANDLE;
    if (k->fail_helper_open)
        return SIM_STATUS_NO_RESOURCES;
    if (k->nhelpers == k->helpers_cap) {
        size_t cap = k->helpers_cap ? k->helpers_cap * 2 : 16;
        sim_helper *h = realloc(k->helpers, cap * sizeof *h);
        if (!h)
            abort();
        k->helpers = h;
        k->helpers_cap = cap;
    }
    sim_helper *h = &k->helpers[k->nhelpers];
    memset(h, 0, sizeof *h);
    h->handle = SIM__HELPER + 4 * (uintptr_t)k->nhelpers++;
    h->key = key;
    h->open = 1;
    h->polls.head = h->polls.tail = SIM_NIL;
    k->helper = h->handle;
    k->helper_key = key;
    k->helper_open++;
    k->helper_opens++;
    *helper = h->handle;
    return RX_STATUS_SUCCESS;
}

static void sim__handle_close(uintptr_t h)
{
    sim_kernel *k = sim__k;
    uint32_t hi = sim__helper_index(k, h);
    if (hi != SIM_NIL && k->helpers[hi].open) {
        k->helpers[hi].open = 0;
        k->helper_open--;
        if (k->close_completes) {
            size_t n;
            sim__ref *r = sim__collect(k, &k->helpers[hi].polls, SIM_L_HELPER, &n);
            for (size_t i = 0; i < n; i++) {
                uint32_t idx = sim__find(k, r[i].iosb, r[i].seq);
                if (idx != SIM_NIL)
                    sim__finish(k, idx, RX_STATUS_HANDLES_CLOSED, 0, SIM__NO_INFO);
            }
            free(r);
        }
    } else if (k->port_open && h == k->port) {
        k->port_open = 0;
        /* Queued packets vanish with the port; the kernel is done with their requests. */
        for (size_t i = 0; i < k->npolls;)
            if (k->polls[i].state == SIM_QUEUED)
                sim__forget(k, (uint32_t)i);
            else
                i++;
        k->qlen = 0;
    } else {
        sim__error(k, "closing a handle that is not open", h);
    }
}

static int sim__socket_ioctl(uintptr_t sock, uint32_t code, uintptr_t *out)
{
    sim_socket *s = sim_socket_find(sim__k, sock);
    if (!s || !s->open)
        return RX_WSAENOTSOCK;
    if (code != RX_SIO_BASE_HANDLE)
        return SIM__WSAEINVAL;
    *out = s->base;
    return 0;
}

static int32_t sim__refuse(sim_kernel *k, uintptr_t context, int32_t status)
{
    k->arms_refused++;
    if (k->nrefused < SIM_LOG)
        k->refused[k->nrefused++] = context;
    return status;
}

static int32_t sim__poll(uintptr_t helper, rx_iosb *iosb, rx_afd_poll_info *info, uintptr_t context)
{
    sim_kernel *k = sim__k;
    k->arms++;
    if (!context)
        sim__error(k, "poll armed with a NULL context: it would post no packet", 0);
    /* One request per status block and buffer: a second one while the first is held is the
     * shared-status-block bug; while its packet is queued, the state was reused too early. */
    sim__check_range(k, iosb, sizeof *iosb);
    sim__check_range(k, info, sizeof *info);
    uint32_t hi = sim__helper_index(k, helper);
    if (hi == SIM_NIL || !k->helpers[hi].open)
        return sim__refuse(k, context, RX_STATUS_INVALID_HANDLE);
    iosb->u.status = RX_STATUS_PENDING; /* as the real table does before the call */
    if (k->refuse_afd)
        return sim__refuse(k, context, RX_STATUS_BAD_DEVICE_TYPE);
    if (k->arm_fail_status) {
        int32_t st = k->arm_fail_status;
        k->arm_fail_status = 0;
        return sim__refuse(k, context, st);
    }
    if (info->count != 1) {
        sim__error(k, "poll without exactly one handle", info->count);
        return sim__refuse(k, context, RX_STATUS_INVALID_HANDLE);
    }
    sim_socket *s = sim__by_base(k, info->handles[0].handle);
    if (!s)
        return sim__refuse(k, context, RX_STATUS_INVALID_HANDLE);
    if (s->pending) {
        /* The backend's contract: one poll per base handle (two complete each other). */
        k->two_polls++;
        if (!k->two_polls_ok)
            sim__error(k, "two polls pending on one socket", s->base);
    }
    if (k->npolls == k->polls_cap) {
        size_t cap = k->polls_cap ? k->polls_cap * 2 : 64;
        sim_poll *n = realloc(k->polls, cap * sizeof *n);
        if (!n)
            abort();
        k->polls = n;
        k->polls_cap = cap;
    }
    uint32_t idx = (uint32_t)k->npolls++;
    sim_poll *p = &k->polls[idx];
    memset(p, 0, sizeof *p);
    p->iosb = iosb;
    p->info = info;
    p->context = context;
    p->helper = helper;
    p->base = s->base;
    p->requested = info->handles[0].events;
    p->state = SIM_PENDING;
    p->stuck = k->stick_next;
    p->seq = ++k->seq;
    p->sock = s->index;
    p->hidx = hi;
    k->stick_next = 0;
    sim__link(k, idx, SIM_L_ALL);
    sim__link(k, idx, SIM_L_SOCK);
    sim__link(k, idx, SIM_L_HELPER);
    sim__map_put(&k->by_addr, sim__granule(iosb), idx);
    sim__map_put(&k->by_addr, sim__granule(info), idx);
    sim_helper *h = &k->helpers[hi];
    s->pending++;
    k->npending++;
    if (++h->outstanding > h->max_outstanding)
        h->max_outstanding = h->outstanding;
    if (h->outstanding > k->helper_max_outstanding)
        k->helper_max_outstanding = h->outstanding;
    if (k->npending > k->max_outstanding)
        k->max_outstanding = k->npending;
    uint32_t ev = sim__events(k, s, p->requested);
    if (!p->stuck && info->timeout == 0) {
        /* A zero timeout: answered at once, and a packet follows either way. */
        if (ev) {
            sim__finish(k, idx, RX_STATUS_SUCCESS, ev, SIM__ONE_HANDLE);
            return RX_STATUS_SUCCESS;
        }
        k->timeouts++;
        sim__finish(k, idx, RX_STATUS_TIMEOUT, 0, SIM__NO_HANDLE);
        return RX_STATUS_TIMEOUT;
    }
    if (k->arm_immediate && !p->stuck && ev) {
        sim__finish(k, idx, RX_STATUS_SUCCESS, ev, SIM__ONE_HANDLE);
        return RX_STATUS_SUCCESS; /* and a packet follows: the skip-on-success mode is unset */
    }
    return RX_STATUS_PENDING;
}

/* Whether the next request cancelled completes inside the cancel call. */
static int sim__cancel_now(sim_kernel *k)
{
    uint64_t n = k->cancel_n++;
    return k->cancel_immediate || ((k->cancel_immediate_mask >> (n % 32)) & 1u);
}

static int32_t sim__cancel_all(sim_kernel *k, uint32_t hi)
{
    size_t n, now = 0;
    sim__ref *r = sim__collect(k, &k->helpers[hi].polls, SIM_L_HELPER, &n);
    k->cancels_all++;
    for (size_t i = 0; i < n; i++) {
        uint32_t idx = sim__find(k, r[i].iosb, r[i].seq);
        if (k->polls[idx].cancel_requested)
            continue;
        k->polls[idx].cancel_requested = 1;
        sim__link(k, idx, SIM_L_CANCEL);
        if (sim__cancel_now(k))
            r[now++] = r[i];
    }
    for (size_t i = 0; i < now; i++) {
        uint32_t idx = sim__find(k, r[i].iosb, r[i].seq);
        if (idx != SIM_NIL)
            sim__finish(k, idx, RX_STATUS_CANCELLED, 0, SIM__NO_INFO);
    }
    free(r);
    return k->helpers[hi].outstanding || n ? RX_STATUS_SUCCESS : RX_STATUS_NOT_FOUND;
}

static int32_t sim__cancel(uintptr_t helper, rx_iosb *iosb)
{
    sim_kernel *k = sim__k;
    k->cancels++;
    uint32_t hi = sim__helper_index(k, helper);
    if (hi == SIM_NIL || !k->helpers[hi].open)
        return RX_STATUS_INVALID_HANDLE;
    /* NtCancelIoFileEx walks every request pending on the handle (trio #1280). */
    uint64_t work = k->helpers[hi].outstanding;
    k->cancel_work += work;
    k->cancel_work_last = work;
    if (work > k->cancel_work_max)
        k->cancel_work_max = work;
    if (!iosb)
        return sim__cancel_all(k, hi);
    uint32_t idx = SIM_NIL;
    const sim_map *m = &k->by_addr;
    for (size_t i = m->cap ? sim__hash(sim__granule(iosb), m->cap) : 0; m->cap && m->slots[i].used;
         i = (i + 1) & (m->cap - 1)) {
        const sim_poll *p = &k->polls[m->slots[i].val];
        if (p->iosb == iosb && p->state == SIM_PENDING && (idx == SIM_NIL || p->helper == helper))
            idx = m->slots[i].val;
    }
    if (idx != SIM_NIL && k->polls[idx].helper != helper) {
        sim__error(k, "cancel issued on another helper than its poll's", k->polls[idx].context);
        idx = SIM_NIL;
    }
    if (idx == SIM_NIL) {
        k->cancels_late++;
        return RX_STATUS_NOT_FOUND;
    }
    sim_poll *p = &k->polls[idx];
    if (p->stuck || p->cancel_requested)
        return RX_STATUS_SUCCESS;
    p->cancel_requested = 1;
    sim__link(k, idx, SIM_L_CANCEL);
    if (sim__cancel_now(k))
        sim__finish(k, idx, RX_STATUS_CANCELLED, 0, SIM__NO_INFO);
    return RX_STATUS_SUCCESS;
}

size_t sim_complete_cancelled(sim_kernel *k)
{
    size_t n;
    sim__ref *r = sim__collect(k, &k->cancelled, SIM_L_CANCEL, &n);
    qsort(r, n, sizeof *r, sim__by_seq); /* oldest first, whatever order they were cancelled in */
    for (size_t i = 0; i < n; i++) {
        uint32_t idx = sim__find(k, r[i].iosb, r[i].seq);
        if (idx != SIM_NIL)
            sim__finish(k, idx, RX_STATUS_CANCELLED, 0, SIM__NO_INFO);
    }
    free(r);
    return n;
}

static int32_t sim__dequeue(uintptr_t port, rx_afd_completion *out, uint32_t cap, uint32_t *n,
                            int timeout_ms)
{
    sim_kernel *k = sim__k;
    *n = 0;
    if (!k->port_open || port != k->port)
        return RX_STATUS_INVALID_HANDLE;
    if (!k->qlen && timeout_ms != 0) {
        k->waits++;
        if (k->wait_completes)
            (void)sim_complete_cancelled(k);
        if (!k->qlen) {
            if (timeout_ms < 0) {
                sim__error(k, "a wait without end with nothing to deliver: a real loop hangs here",
                           0);
            } else {
                k->waited_ms += (uint64_t)timeout_ms;
                if (k->wait_tick_us)
                    sim__tick_wait(k, timeout_ms);
            }
            return RX_STATUS_TIMEOUT;
        }
    }
    if (!k->qlen)
        return RX_STATUS_TIMEOUT;
    while (*n < cap && k->qlen) {
        sim_packet pk = k->queue[k->qhead];
        k->qhead = (k->qhead + 1) % k->qcap;
        k->qlen--;
        out[*n].key = pk.key;
        out[*n].context = pk.context;
        out[*n].iosb = pk.iosb;
        (*n)++;
        k->dequeued++;
        sim_seen seen = {pk.key, pk.context, pk.iosb.u.status, pk.events, pk.requested};
        if (pk.seq) {
            uint32_t idx = sim__find(k, pk.req, pk.seq);
            if (idx != SIM_NIL)
                sim__forget(k, idx);
        }
        if (k->log_off)
            continue;
        if (k->nlog < SIM_LOG)
            k->log[k->nlog++] = seen;
        else
            sim__error(k, "dequeue log overflow", k->nlog);
    }
    return RX_STATUS_SUCCESS;
}

static int32_t sim__post(uintptr_t port, uintptr_t key)
{
    sim_kernel *k = sim__k;
    if (!k->port_open || port != k->port)
        return RX_STATUS_INVALID_HANDLE;
    sim_packet pk;
    memset(&pk, 0, sizeof pk);
    pk.key = key;
    sim__push(k, pk);
    k->posts++;
    return RX_STATUS_SUCCESS;
}

static uint32_t sim__socket_new(sim_kernel *k, uintptr_t value, uintptr_t base);

static int sim__socket_open(uintptr_t *sock)
{
    sim_kernel *k = sim__k;
    if (k->fail_socket_open)
        return k->fail_socket_open;
    uintptr_t n = (uintptr_t)k->probe_opens++;
    sim_socket *s = sim__sock(k, sim__socket_new(k, SIM__PROBE + 4 * n, SIM__PROBE_BASE + 4 * n));
    s->probe = 1;
    s->ready = RX_AFD_POLL_SEND; /* a fresh UDP socket can send */
    k->probes_open++;
    *sock = s->value;
    return 0;
}

static void sim__socket_close(uintptr_t sock)
{
    sim_socket_close(sim__k, sock);
}

/* ---- the script's side ---- */

void sim_init(sim_kernel *k)
{
    memset(k, 0, sizeof *k);
    k->table.port_open = sim__port_open;
    k->table.helper_open = sim__helper_open;
    k->table.handle_close = sim__handle_close;
    k->table.socket_ioctl = sim__socket_ioctl;
    k->table.poll = sim__poll;
    k->table.cancel = sim__cancel;
    k->table.dequeue = sim__dequeue;
    k->table.post = sim__post;
    k->table.socket_open = sim__socket_open;
    k->table.socket_close = sim__socket_close;
    k->wait_completes = 1;
    k->close_completes = 1;
    k->wait_phase_us = -1;
    k->all.head = k->all.tail = SIM_NIL;
    k->cancelled.head = k->cancelled.tail = SIM_NIL;
    sim__k = k;
}

void sim_fini(sim_kernel *k)
{
    if (k->port_open)
        sim__error(k, "a handle left open", k->port);
    for (size_t i = 0; i < k->nhelpers; i++)
        if (k->helpers[i].open)
            sim__error(k, "a helper handle left open", k->helpers[i].handle);
    if (k->probes_open)
        for (uint32_t i = 0; i < k->nsockets; i++)
            if (sim__sock(k, i)->probe && sim__sock(k, i)->open)
                sim__error(k, "a socket from socket_open left open", sim__sock(k, i)->value);
    free(k->polls);
    free(k->queue);
    free(k->helpers);
    for (size_t i = 0; i * SIM__CHUNK < k->nsockets; i++)
        free(k->sock_chunks[i]);
    free(k->sock_chunks);
    sim__map_free(&k->by_value);
    sim__map_free(&k->by_base);
    sim__map_free(&k->by_addr);
    k->polls = NULL;
    k->queue = NULL;
    k->helpers = NULL;
    k->sock_chunks = NULL;
    k->npolls = k->polls_cap = k->qlen = k->qcap = k->npending = 0;
    k->nhelpers = k->helpers_cap = k->nsockets = k->sock_chunks_cap = 0;
    k->all.head = k->all.tail = k->cancelled.head = k->cancelled.tail = SIM_NIL;
    if (sim__k == k)
        sim__k = NULL;
}

sim_socket *sim_socket_find(sim_kernel *k, uintptr_t value)
{
    uint32_t i = sim__map_get(&k->by_value, value);
    return i == SIM_NIL ? NULL : sim__sock(k, i);
}

static uint32_t sim__socket_new(sim_kernel *k, uintptr_t value, uintptr_t base)
{
    sim_socket *old = sim_socket_find(k, value);
    if (old && old->open)
        sim__error(k, "socket value already open", value);
    if (sim__by_base(k, base))
        sim__error(k, "base handle of an open socket handed out again", base);
    uint32_t idx = (uint32_t)k->nsockets;
    if (idx % SIM__CHUNK == 0) {
        size_t c = idx / SIM__CHUNK;
        if (c == k->sock_chunks_cap) {
            size_t cap = k->sock_chunks_cap ? k->sock_chunks_cap * 2 : 8;
            sim_socket **g = realloc(k->sock_chunks, cap * sizeof *g);
            if (!g)
                abort();
            k->sock_chunks = g;
            k->sock_chunks_cap = cap;
        }
        k->sock_chunks[c] = sim__alloc(SIM__CHUNK * sizeof(sim_socket));
    }
    k->nsockets++;
    sim_socket *s = sim__sock(k, idx);
    memset(s, 0, sizeof *s);
    s->value = value;
    s->base = base;
    s->open = 1;
    s->index = idx;
    s->polls.head = s->polls.tail = SIM_NIL;
    if (old)
        sim__map_set(&k->by_value, value, old->index, idx);
    else
        sim__map_put(&k->by_value, value, idx);
    sim__map_del(&k->by_base, base, sim__map_get(&k->by_base, base));
    sim__map_put(&k->by_base, base, idx);
    return idx;
}

uintptr_t sim_socket_open(sim_kernel *k, uintptr_t value)
{
    sim_socket *old = sim_socket_find(k, value);
    /* The same SOCKET value again is a different endpoint (wepoll #34). */
    uintptr_t base = old ? old->base + 0x100 : value + 0x10000;
    return sim__sock(k, sim__socket_new(k, value, base))->base;
}

uintptr_t sim_socket_open_base(sim_kernel *k, uintptr_t value, uintptr_t base)
{
    return sim__sock(k, sim__socket_new(k, value, base))->base;
}

void sim_socket_close(sim_kernel *k, uintptr_t value)
{
    sim_socket *s = sim_socket_find(k, value);
    if (!s || !s->open) {
        sim__error(k, "closing a socket that is not open", value);
        return;
    }
    /* closesocket with polls pending: status 0, events LOCAL_CLOSE (measured under Wine). */
    size_t n;
    sim__ref *r = sim__collect(k, &s->polls, SIM_L_SOCK, &n);
    for (size_t i = 0; i < n; i++) {
        uint32_t idx = sim__find(k, r[i].iosb, r[i].seq);
        if (idx != SIM_NIL)
            sim__finish(k, idx, RX_STATUS_SUCCESS, RX_AFD_POLL_LOCAL_CLOSE, SIM__ONE_HANDLE);
    }
    free(r);
    s->open = 0;
    s->ready = 0;
    sim__map_del(&k->by_base, s->base, s->index);
    if (s->probe)
        k->probes_open--;
}

void sim_socket_set_ready(sim_kernel *k, uintptr_t value, uint32_t afd_events)
{
    sim_socket *s = sim_socket_find(k, value);
    if (s && s->open)
        s->ready |= afd_events;
}

void sim_socket_clear_ready(sim_kernel *k, uintptr_t value, uint32_t afd_events)
{
    sim_socket *s = sim_socket_find(k, value);
    if (s)
        s->ready &= ~afd_events;
}

sim_poll *sim_socket_poll(sim_kernel *k, uintptr_t value, size_t i)
{
    sim_socket *s = sim_socket_find(k, value);
    for (uint32_t j = s ? s->polls.head : SIM_NIL; j != SIM_NIL; j = k->polls[j].next[SIM_L_SOCK])
        if (i-- == 0)
            return &k->polls[j];
    return NULL;
}

static int sim__completable(sim_kernel *k, const sim_poll *p)
{
    const sim_socket *s = sim__sock(k, p->sock);
    return s->open && (s->ready & p->requested);
}

sim_poll *sim_nth(sim_kernel *k, int filter, size_t i)
{
    for (uint32_t j = k->all.head; j != SIM_NIL; j = k->polls[j].next[SIM_L_ALL]) {
        sim_poll *p = &k->polls[j];
        if (p->state != SIM_PENDING || p->stuck)
            continue;
        if (filter == SIM_COMPLETABLE && !sim__completable(k, p))
            continue;
        if (filter == SIM_CANCELLING && !p->cancel_requested)
            continue;
        if (i-- == 0)
            return p;
    }
    return NULL;
}

size_t sim_count(const sim_kernel *k, int state, uintptr_t context)
{
    size_t n = 0;
    for (size_t i = 0; i < k->npolls; i++)
        n += (!state || k->polls[i].state == state) && (!context || k->polls[i].context == context);
    return n;
}

void sim_complete_ready(sim_kernel *k, sim_poll *p)
{
    uint32_t idx = (uint32_t)(p - k->polls);
    sim_socket *s = sim__sock(k, p->sock);
    uint32_t ev = sim__events(k, s, p->requested);
    if (k->cross_complete && s->pending >= 2) {
        /* Two polls on one socket: the other one completes, with this one's events. */
        for (uint32_t j = s->polls.head; j != SIM_NIL; j = k->polls[j].next[SIM_L_SOCK])
            if (j != idx && !k->polls[j].stuck) {
                k->cross_completions++;
                sim__finish(k, j, RX_STATUS_SUCCESS, ev, SIM__ONE_HANDLE);
                return;
            }
    }
    sim__finish(k, idx, RX_STATUS_SUCCESS, ev, SIM__ONE_HANDLE);
}

void sim_complete_status(sim_kernel *k, sim_poll *p, int32_t status)
{
    sim__finish(k, (uint32_t)(p - k->polls), status, 0, SIM__NO_INFO);
}

size_t sim_complete_all(sim_kernel *k)
{
    size_t n = sim_complete_cancelled(k), m;
    sim__ref *r = sim__collect(k, &k->all, SIM_L_ALL, &m);
    for (size_t i = 0; i < m; i++) {
        uint32_t idx = sim__find(k, r[i].iosb, r[i].seq);
        if (idx != SIM_NIL && k->polls[idx].state == SIM_PENDING &&
            sim__completable(k, &k->polls[idx])) {
            sim_complete_ready(k, &k->polls[idx]);
            n++;
        }
    }
    free(r);
    return n;
}

void sim_inject(sim_kernel *k, uintptr_t key, uintptr_t context)
{
    sim_packet pk;
    memset(&pk, 0, sizeof pk);
    pk.key = key;
    pk.context = context;
    pk.iosb.u.status = RX_STATUS_SUCCESS;
    sim__push(k, pk);
}

size_t sim_release_stuck(sim_kernel *k)
{
    size_t n = 0;
    for (size_t i = 0; i < k->npolls; i++) {
        sim_poll *p = &k->polls[i];
        if (p->state != SIM_PENDING)
            continue;
        p->iosb->u.status = RX_STATUS_CANCELLED;
        p->iosb->information = 0;
        p->info->handles[0].events = 0;
        n++;
    }
    /* The kernel holds nothing any more. */
    k->npolls = k->npending = 0;
    k->all.head = k->all.tail = k->cancelled.head = k->cancelled.tail = SIM_NIL;
    sim__map_clear(&k->by_addr);
    for (uint32_t i = 0; i < k->nsockets; i++) {
        sim_socket *s = sim__sock(k, i);
        s->pending = 0;
        s->polls.head = s->polls.tail = SIM_NIL;
    }
    for (size_t i = 0; i < k->nhelpers; i++) {
        k->helpers[i].outstanding = 0;
        k->helpers[i].polls.head = k->helpers[i].polls.tail = SIM_NIL;
    }
    return n;
}

void sim_log_reset(sim_kernel *k)
{
    k->nlog = 0;
    k->nrefused = 0;
}

void sim_counters_reset(sim_kernel *k)
{
    k->arms = k->arms_refused = k->cancels = k->cancels_late = k->packets = 0;
    k->dequeued = k->posts = k->waits = k->cancels_all = 0;
    k->cancel_work = k->cancel_work_max = k->cancel_work_last = 0;
    k->waited_ms = k->slept_us = k->waits_early = 0;
    k->max_outstanding = k->npending;
    k->helper_max_outstanding = 0;
    for (size_t i = 0; i < k->nhelpers; i++) {
        k->helpers[i].max_outstanding = k->helpers[i].outstanding;
        if (k->helpers[i].outstanding > k->helper_max_outstanding)
            k->helper_max_outstanding = k->helpers[i].outstanding;
    }
    k->two_polls = k->cross_completions = k->timeouts = 0;
}
