/* sim_kernel.c - the simulated kernel. Rules it keeps from the real one (issue 3, measured under
 * Wine): a poll is held until completed; completion writes the status block (and, on success
 * only, the output buffer) and queues exactly one packet carrying the ApcContext; a cancel of a
 * completed poll is STATUS_NOT_FOUND; closing the helper completes its polls with
 * STATUS_HANDLES_CLOSED; an error status returned at once means no packet. */
#include "sim_kernel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM__PORT ((uintptr_t)0x7000)
#define SIM__HELPER ((uintptr_t)0x7100)
#define SIM__WSAEINVAL 10022

static sim_kernel *sim__k; /* the table's functions have no context argument */

static void sim__error(sim_kernel *k, const char *what, uintptr_t a)
{
    if (!k->errors++)
        snprintf(k->msg, sizeof k->msg, "sim: %s (0x%llx)", what, (unsigned long long)a);
}

static sim_socket *sim__by_base(sim_kernel *k, uintptr_t base)
{
    for (size_t i = 0; i < k->nsockets; i++)
        if (k->sockets[i].base == base && k->sockets[i].open)
            return &k->sockets[i];
    return NULL;
}

static void sim__push(sim_kernel *k, sim_packet pk)
{
    if (k->qlen == k->qcap) {
        size_t cap = k->qcap ? k->qcap * 2 : 64;
        sim_packet *q = malloc(cap * sizeof *q);
        if (!q)
            abort();
        for (size_t i = 0; i < k->qlen; i++)
            q[i] = k->queue[(k->qhead + i) % k->qcap];
        free(k->queue);
        k->queue = q;
        k->qcap = cap;
        k->qhead = 0;
    }
    k->queue[(k->qhead + k->qlen++) % k->qcap] = pk;
}

static void sim__forget(sim_kernel *k, size_t idx)
{
    memmove(&k->polls[idx], &k->polls[idx + 1], (k->npolls - idx - 1) * sizeof *k->polls);
    k->npolls--;
}

static size_t sim__index(const sim_kernel *k, const sim_poll *p)
{
    return (size_t)(p - k->polls);
}

/* The kernel completes a request: it writes the caller's status block, and the buffer on
 * success, then queues one packet. These writes go to the addresses the backend handed over. */
static void sim__finish(sim_kernel *k, sim_poll *p, int32_t status, uint32_t events, int info)
{
    if (p->state != SIM_PENDING) {
        sim__error(k, "completing a request that is not pending", p->context);
        return;
    }
    p->iosb->u.status = status;
    p->iosb->information = info ? sizeof *p->info : 0;
    if (info) {
        p->info->count = 1;
        p->info->handles[0].handle = p->base;
        p->info->handles[0].events = events;
        p->info->handles[0].status = 0;
    }
    if (!k->port_open) {
        sim__forget(k, sim__index(k, p)); /* nobody can dequeue it: the kernel lets go */
        return;
    }
    p->state = SIM_QUEUED;
    sim_packet pk = {k->helper_key, p->context, {{0}, 0}, info ? events : 0, p->seq};
    pk.iosb.u.status = status;
    pk.iosb.information = info ? sizeof *p->info : 0;
    sim__push(k, pk);
    k->packets++;
}

static int sim__overlaps(const void *a, size_t an, const void *b, size_t bn)
{
    uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
    return x < y + bn && y < x + an;
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
    if (k->helper_open)
        sim__error(k, "a second helper handle", k->helper);
    k->helper = SIM__HELPER + (uintptr_t)k->helper_opens++;
    k->helper_open = 1;
    k->helper_key = key;
    *helper = k->helper;
    return RX_STATUS_SUCCESS;
}

static void sim__handle_close(uintptr_t h)
{
    sim_kernel *k = sim__k;
    if (k->helper_open && h == k->helper) {
        k->helper_open = 0;
        if (k->close_completes)
            for (size_t i = 0; i < k->npolls; i++) {
                sim_poll *p = &k->polls[i];
                if (p->state == SIM_PENDING && !p->stuck && p->helper == h) {
                    size_t before = k->npolls;
                    sim__finish(k, p, RX_STATUS_HANDLES_CLOSED, 0, 0);
                    if (k->npolls < before)
                        i--;
                }
            }
    } else if (k->port_open && h == k->port) {
        k->port_open = 0;
        /* Queued packets vanish with the port; the kernel is done with their requests. */
        for (size_t i = 0; i < k->npolls;)
            if (k->polls[i].state == SIM_QUEUED)
                sim__forget(k, i);
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
    for (size_t i = 0; i < k->npolls; i++) {
        const sim_poll *p = &k->polls[i];
        if (sim__overlaps(iosb, sizeof *iosb, p->iosb, sizeof *p->iosb) ||
            sim__overlaps(iosb, sizeof *iosb, p->info, sizeof *p->info) ||
            sim__overlaps(info, sizeof *info, p->iosb, sizeof *p->iosb) ||
            sim__overlaps(info, sizeof *info, p->info, sizeof *p->info))
            sim__error(k,
                       p->state == SIM_PENDING
                           ? "status block or buffer handed again while the kernel holds it"
                           : "status block or buffer reused before its packet was dequeued",
                       p->context);
    }
    if (!k->helper_open || helper != k->helper)
        return sim__refuse(k, context, RX_STATUS_INVALID_HANDLE);
    iosb->u.status = RX_STATUS_PENDING; /* as the real table does before the call */
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
    if (k->npolls == k->polls_cap) {
        size_t cap = k->polls_cap ? k->polls_cap * 2 : 64;
        sim_poll *n = realloc(k->polls, cap * sizeof *n);
        if (!n)
            abort();
        k->polls = n;
        k->polls_cap = cap;
    }
    sim_poll *p = &k->polls[k->npolls++];
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
    k->stick_next = 0;
    size_t out = 0;
    for (size_t i = 0; i < k->npolls; i++)
        out += k->polls[i].state == SIM_PENDING;
    if (out > k->max_outstanding)
        k->max_outstanding = out;
    if (k->arm_immediate && !p->stuck && (s->ready & p->requested)) {
        sim__finish(k, p, RX_STATUS_SUCCESS, s->ready & p->requested, 1);
        return RX_STATUS_SUCCESS; /* and a packet follows: the skip-on-success mode is unset */
    }
    return RX_STATUS_PENDING;
}

static int32_t sim__cancel(uintptr_t helper, rx_iosb *iosb)
{
    sim_kernel *k = sim__k;
    k->cancels++;
    for (size_t i = 0; i < k->npolls; i++) {
        sim_poll *p = &k->polls[i];
        if (p->iosb != iosb || p->helper != helper || p->state != SIM_PENDING)
            continue;
        if (p->stuck || p->cancel_requested)
            return RX_STATUS_SUCCESS;
        p->cancel_requested = 1;
        if (k->cancel_immediate)
            sim__finish(k, p, RX_STATUS_CANCELLED, 0, 0);
        return RX_STATUS_SUCCESS;
    }
    k->cancels_late++;
    return RX_STATUS_NOT_FOUND;
}

static size_t sim__complete_cancels(sim_kernel *k)
{
    size_t n = 0;
    for (size_t i = 0; i < k->npolls;) {
        sim_poll *p = &k->polls[i];
        size_t before = k->npolls;
        if (p->state == SIM_PENDING && !p->stuck && p->cancel_requested) {
            sim__finish(k, p, RX_STATUS_CANCELLED, 0, 0);
            n++;
        }
        if (k->npolls == before)
            i++;
    }
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
            (void)sim__complete_cancels(k);
        if (!k->qlen) {
            if (timeout_ms < 0)
                sim__error(k, "a wait without end with nothing to deliver: a real loop hangs here",
                           0);
            else
                k->waited_ms += (uint64_t)timeout_ms;
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
        sim_seen seen = {pk.key, pk.context, pk.iosb.u.status, pk.events};
        for (size_t i = 0; pk.seq && i < k->npolls; i++)
            if (k->polls[i].seq == pk.seq) {
                sim__forget(k, i);
                break;
            }
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
    sim_packet pk = {key, 0, {{0}, 0}, 0, 0};
    sim__push(k, pk);
    k->posts++;
    return RX_STATUS_SUCCESS;
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
    k->wait_completes = 1;
    k->close_completes = 1;
    sim__k = k;
}

void sim_fini(sim_kernel *k)
{
    if (k->port_open || k->helper_open)
        sim__error(k, "a handle left open", k->port_open ? k->port : k->helper);
    free(k->polls);
    free(k->queue);
    k->polls = NULL;
    k->queue = NULL;
    k->npolls = k->polls_cap = k->qlen = k->qcap = 0;
    if (sim__k == k)
        sim__k = NULL;
}

sim_socket *sim_socket_find(sim_kernel *k, uintptr_t value)
{
    for (size_t i = 0; i < k->nsockets; i++)
        if (k->sockets[i].value == value)
            return &k->sockets[i];
    return NULL;
}

uintptr_t sim_socket_open(sim_kernel *k, uintptr_t value)
{
    sim_socket *s = sim_socket_find(k, value);
    if (s && s->open)
        sim__error(k, "socket value already open", value);
    if (!s) {
        if (k->nsockets == SIM_SOCKETS)
            abort();
        s = &k->sockets[k->nsockets++];
        s->value = value;
        s->base = value + 0x10000;
    } else {
        s->base += 0x100; /* the same SOCKET value, a different endpoint (wepoll #34) */
    }
    s->open = 1;
    s->ready = 0;
    return s->base;
}

void sim_socket_close(sim_kernel *k, uintptr_t value)
{
    sim_socket *s = sim_socket_find(k, value);
    if (!s || !s->open) {
        sim__error(k, "closing a socket that is not open", value);
        return;
    }
    /* closesocket with polls pending: status 0, events LOCAL_CLOSE (measured under Wine). */
    for (size_t i = 0; i < k->npolls;) {
        sim_poll *p = &k->polls[i];
        size_t before = k->npolls;
        if (p->state == SIM_PENDING && !p->stuck && p->base == s->base)
            sim__finish(k, p, RX_STATUS_SUCCESS, RX_AFD_POLL_LOCAL_CLOSE, 1);
        if (k->npolls == before)
            i++;
    }
    s->open = 0;
    s->ready = 0;
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

static int sim__completable(sim_kernel *k, const sim_poll *p)
{
    const sim_socket *s = sim__by_base(k, p->base);
    return s && (s->ready & p->requested);
}

sim_poll *sim_nth(sim_kernel *k, int filter, size_t i)
{
    for (size_t j = 0; j < k->npolls; j++) {
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
    const sim_socket *s = sim__by_base(k, p->base);
    uint32_t ev = s ? s->ready & p->requested : 0;
    sim__finish(k, p, RX_STATUS_SUCCESS, ev, 1);
}

void sim_complete_status(sim_kernel *k, sim_poll *p, int32_t status)
{
    sim__finish(k, p, status, 0, 0);
}

size_t sim_complete_all(sim_kernel *k)
{
    size_t n = sim__complete_cancels(k);
    for (size_t i = 0; i < k->npolls;) {
        sim_poll *p = &k->polls[i];
        size_t before = k->npolls;
        if (p->state == SIM_PENDING && !p->stuck && sim__completable(k, p)) {
            sim_complete_ready(k, p);
            n++;
        }
        if (k->npolls == before)
            i++;
    }
    return n;
}

void sim_inject(sim_kernel *k, uintptr_t key, uintptr_t context)
{
    sim_packet pk = {key, context, {{0}, 0}, 0, 0};
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
    k->npolls = 0;
    return n;
}

void sim_log_reset(sim_kernel *k)
{
    k->nlog = 0;
    k->nrefused = 0;
}
