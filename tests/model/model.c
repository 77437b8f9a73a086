/* model.c - the reference model. Plain arrays and counters: every rule here is one sentence of
 * docs/api.md, so a disagreement with the library is a bug in one of the two. */
#include "model.h"

#include <string.h>

#define MDL__MS 1000000u

void mdl_init(mdl_model *m, uint32_t nsocks)
{
    memset(m, 0, sizeof *m);
    m->nsocks = nsocks;
    m->fresh = 1;
    m->seq = 1;
}

reactor_chn_t mdl_next_chn(const mdl_model *m)
{
    /* Released numbers are reused first-in first-out, before any never-used number. */
    return m->fifo_len ? m->fifo[m->fifo_head] : (reactor_chn_t)m->fresh;
}

int mdl_chn_live(const mdl_model *m, uint32_t chn)
{
    return chn > 0 && chn < MDL_MAX_CHN && m->chan[chn].live;
}

reactor_chn_t mdl_add(mdl_model *m, uint32_t sock, unsigned interest, uint32_t run)
{
    reactor_chn_t chn = mdl_next_chn(m);
    if (m->fifo_len) {
        m->fifo_head = (m->fifo_head + 1) % MDL_MAX_CHN;
        m->fifo_len--;
    } else {
        m->fresh++;
    }
    mdl_chan *c = &m->chan[chn];
    memset(c, 0, sizeof *c);
    c->live = 1;
    c->interest = (uint8_t)(interest & MDL_RW);
    c->sock = (uint16_t)sock;
    c->added_run = run;
    m->sock[sock].chn = chn;
    m->live++;
    return chn;
}

void mdl_remove(mdl_model *m, reactor_chn_t chn)
{
    mdl_chan *c = &m->chan[chn];
    m->sock[c->sock].chn = 0;
    c->live = 0;
    m->fifo[(m->fifo_head + m->fifo_len) % MDL_MAX_CHN] = chn;
    m->fifo_len++;
    m->live--;
}

reactor_chn_t mdl_stale_chn(const mdl_model *m, uint32_t pick)
{
    if (!m->fifo_len)
        return 0;
    return m->fifo[(m->fifo_head + pick % m->fifo_len) % MDL_MAX_CHN];
}

unsigned mdl_expected(const mdl_model *m, reactor_chn_t chn)
{
    const mdl_chan *c = &m->chan[chn];
    const mdl_sock *s = &m->sock[c->sock];
    /* Small writes never fill a buffer: every socket is writable. End of stream reads. */
    unsigned ready = REACTOR_WRITABLE;
    if (s->unread || s->eof_in)
        ready |= REACTOR_READABLE;
    /* A half-close is end of stream (READABLE) and HALFCLOSE, each reported only when asked
     * for; it is never HANGUP. */
    if (s->eof_in)
        ready |= REACTOR_HALFCLOSE;
    return c->interest & ready;
}

unsigned mdl_allowed(const mdl_model *m, reactor_chn_t chn)
{
    const mdl_chan *c = &m->chan[chn];
    return c->interest;
}

int mdl_timer_find(const mdl_model *m, reactor_timer_t id)
{
    for (uint32_t i = 0; i < MDL_MAX_TIMERS; i++)
        if (m->timer[i].active && m->timer[i].id == id)
            return (int)i;
    return -1;
}

int mdl_timer_add(mdl_model *m, reactor_timer_t id, uint64_t due_lo, uint64_t due_hi,
                  uint64_t repeat_ns)
{
    for (uint32_t i = 0; i < MDL_MAX_TIMERS; i++) {
        mdl_timer *t = &m->timer[i];
        if (t->active)
            continue;
        memset(t, 0, sizeof *t);
        t->active = 1;
        t->id = id;
        t->seq = m->seq++;
        t->due_lo = due_lo;
        t->due_hi = due_hi;
        t->repeat_ns = repeat_ns;
        m->timers_active++;
        return (int)i;
    }
    return -1;
}

void mdl_timer_kill(mdl_model *m, int idx)
{
    mdl_timer *t = &m->timer[idx];
    t->active = 0;
    m->timers_active--;
    m->dead[m->dead_n++ % MDL_DEAD_IDS] = t->id;
}

static uint64_t mdl__add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

void mdl_timer_fired(mdl_model *m, int idx, uint64_t now_ms, uint32_t run)
{
    mdl_timer *t = &m->timer[idx];
    t->fired_run = run;
    t->fired_run_flag = 1;
    if (!t->repeat_ns) {
        /* A one-shot timer has expired once its callback starts. */
        mdl_timer_kill(m, idx);
        return;
    }
    /* Rescheduled at the firing iteration's loop time (known to the millisecond) + repeat. */
    t->seq = m->seq++;
    t->due_lo = mdl__add_sat(now_ms * MDL__MS, t->repeat_ns);
    t->due_hi = mdl__add_sat(now_ms * MDL__MS + MDL__MS - 1, t->repeat_ns);
}

int mdl_timer_must_precede(const mdl_timer *a, const mdl_timer *b)
{
    /* Due order, ties in start order: a first when a is surely due earlier, or surely no
     * later and started first. */
    return a->due_hi < b->due_lo || (a->due_hi <= b->due_lo && a->seq < b->seq);
}
