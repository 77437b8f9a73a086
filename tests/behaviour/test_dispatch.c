/* test_dispatch.c - modify, remove and add, from outside and from inside callbacks: removed
 * channels get no later callback, masked events stay masked, others get theirs exactly once,
 * and growth of the table during dispatch is safe. */
#include "fixture.h"

#include <string.h>

enum { NCH = 4 };

/* A set of channels whose callbacks record per-iteration calls and can run one action. */
typedef struct dsp__set dsp__set;
typedef void (*dsp__action)(dsp__set *s, int self);

typedef struct dsp__chan {
    dsp__set *set;
    reactor_socket_t sv[2];
    reactor_chn_t chn;
    int calls; /* this iteration */
    int total;
    unsigned last; /* events of the latest call */
} dsp__chan;

struct dsp__set {
    sup_loop *f;
    dsp__chan ch[NCH];
    int n;
    dsp__action action; /* run by the first callback of an armed iteration */
    int armed;
    int order[NCH]; /* channel indices in callback order, this iteration */
    int norder;
    int victim;
    reactor_chn_t extra_chn;
};

static void dsp__cb(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    (void)r;
    dsp__chan *c = arg;
    dsp__set *s = c->set;
    int self = (int)(c - s->ch);
    assert_int_equal(chn, c->chn);
    c->calls++;
    c->total++;
    c->last = events;
    s->order[s->norder++ % NCH] = self;
    if (s->armed) {
        s->armed = 0;
        s->action(s, self);
    }
}

static void dsp__open(sup_loop *f, dsp__set *s, int n, unsigned events)
{
    memset(s, 0, sizeof *s);
    s->f = f;
    s->n = n;
    s->victim = -1;
    for (int i = 0; i < n; i++) {
        s->ch[i].set = s;
        sup_new_pair(f, s->ch[i].sv);
        assert_int_equal(reactor_add(f->r, s->ch[i].sv[0], events, dsp__cb, &s->ch[i],
                                     &s->ch[i].chn),
                         0);
        sup_send_byte(s->ch[i].sv[1]);
    }
}

static int dsp__all_seen(void *ctx)
{
    dsp__set *s = ctx;
    for (int i = 0; i < s->n; i++)
        if (s->ch[i].total == 0)
            return 0;
    return 1;
}

/* Waits until every channel has been reported readable once (so the next iteration collects
 * all of them), then clears the per-iteration counts. */
static void dsp__prime(dsp__set *s)
{
    assert_true(sup_run_until(s->f, dsp__all_seen, s, SUP_WAIT_MS));
    for (int i = 0; i < s->n; i++)
        s->ch[i].calls = 0;
    s->norder = 0;
}

/* One armed NOWAIT iteration. */
static void dsp__armed_iteration(dsp__set *s, dsp__action action)
{
    for (int i = 0; i < s->n; i++)
        s->ch[i].calls = 0;
    s->norder = 0;
    s->action = action;
    s->armed = 1;
    assert_true(reactor_run(s->f->r, REACTOR_RUN_NOWAIT) >= 0);
    assert_false(s->armed);
}

static void modify_adds_and_drops_writable(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t sv[2];
    sup_new_pair(f, sv);
    sup_probe p = {0};
    reactor_chn_t chn;
    assert_int_equal(reactor_add(f->r, sv[0], REACTOR_READABLE, sup_probe_cb, &p, &chn), 0);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 1);
    assert_int_equal(p.calls, 0);
    assert_int_equal(reactor_modify(f->r, chn, REACTOR_READABLE | REACTOR_WRITABLE), 0);
    assert_true(sup_run_until_count(f, &p.calls, 1, SUP_WAIT_MS));
    assert_int_equal(p.last, REACTOR_WRITABLE);
    assert_int_equal(reactor_modify(f->r, chn, REACTOR_READABLE), 0);
    int calls = p.calls;
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 1);
    assert_int_equal(p.calls, calls);
    assert_int_equal(sup_stats(f).channels, 1);
}

static void modify_to_zero_silences_pending_data_until_asked_again(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t sv[2];
    sup_new_pair(f, sv);
    sup_probe p = {0};
    reactor_chn_t chn;
    assert_int_equal(reactor_add(f->r, sv[0], REACTOR_READABLE, sup_probe_cb, &p, &chn), 0);
    sup_send_byte(sv[1]);
    assert_true(sup_run_until_count(f, &p.calls, 1, SUP_WAIT_MS));
    assert_int_equal(reactor_modify(f->r, chn, 0), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 1);
    assert_int_equal(p.calls, 1);
    assert_int_equal(reactor_modify(f->r, chn, REACTOR_READABLE), 0);
    assert_true(sup_run_until_count(f, &p.calls, 2, SUP_WAIT_MS));
    assert_int_equal(p.last, REACTOR_READABLE);
}

static int dsp__first_other(const dsp__set *s, int self)
{
    for (int i = 0; i < s->n; i++)
        if (i != self && s->ch[i].calls == 0)
            return i;
    return -1;
}

static void dsp__narrow_other_to_writable(dsp__set *s, int self)
{
    s->victim = dsp__first_other(s, self);
    assert_true(s->victim >= 0);
    assert_int_equal(reactor_modify(s->f->r, s->ch[s->victim].chn, REACTOR_WRITABLE), 0);
}

static void modify_from_callback_masks_events_already_collected(void **state)
{
    sup_loop *f = *state;
    dsp__set s;
    dsp__open(f, &s, 2, REACTOR_READABLE | REACTOR_WRITABLE);
    dsp__prime(&s);
    dsp__armed_iteration(&s, dsp__narrow_other_to_writable);
    /* Both were readable and writable when collected; the victim's READABLE was withdrawn
     * before its callback ran. */
    int v = s.victim;
    assert_int_equal(s.ch[v].calls, 1);
    assert_int_equal(s.ch[v].last, REACTOR_WRITABLE);
    assert_int_equal(s.ch[1 - v].calls, 1);
    assert_int_equal(s.ch[1 - v].last, REACTOR_READABLE | REACTOR_WRITABLE);
}

static void dsp__silence_other(dsp__set *s, int self)
{
    s->victim = dsp__first_other(s, self);
    assert_int_equal(reactor_modify(s->f->r, s->ch[s->victim].chn, 0), 0);
}

static void modify_to_zero_from_callback_suppresses_a_collected_event(void **state)
{
    sup_loop *f = *state;
    dsp__set s;
    dsp__open(f, &s, 3, REACTOR_READABLE);
    dsp__prime(&s);
    dsp__armed_iteration(&s, dsp__silence_other);
    for (int i = 0; i < 3; i++)
        assert_int_equal(s.ch[i].calls, i == s.victim ? 0 : 1);
}

static void dsp__remove_self(dsp__set *s, int self)
{
    assert_int_equal(reactor_remove(s->f->r, s->ch[self].chn), 0);
    assert_int_equal(reactor_remove(s->f->r, s->ch[self].chn), REACTOR_EBADCHN);
    s->victim = self;
}

static void remove_own_channel_from_callback_stops_its_events(void **state)
{
    sup_loop *f = *state;
    dsp__set s;
    dsp__open(f, &s, 1, REACTOR_READABLE);
    dsp__prime(&s);
    dsp__armed_iteration(&s, dsp__remove_self);
    assert_int_equal(s.ch[0].calls, 1);
    assert_int_equal(sup_stats(f).channels, 0);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_DEFAULT), 0);
    assert_int_equal(s.ch[0].calls, 1);
}

static void dsp__remove_other(dsp__set *s, int self)
{
    s->victim = dsp__first_other(s, self);
    assert_true(s->victim >= 0);
    assert_int_equal(reactor_remove(s->f->r, s->ch[s->victim].chn), 0);
}

static void remove_from_callback_skips_later_events(void **state)
{
    sup_loop *f = *state;
    dsp__set s;
    dsp__open(f, &s, NCH, REACTOR_READABLE);
    dsp__prime(&s);
    reactor_stats_t before = sup_stats(f);
    dsp__armed_iteration(&s, dsp__remove_other);
    reactor_stats_t after = sup_stats(f);
    for (int i = 0; i < NCH; i++)
        assert_int_equal(s.ch[i].calls, i == s.victim ? 0 : 1);
    assert_int_equal(after.events_dispatched - before.events_dispatched, NCH - 1);
    /* The victim's collected event was dropped as stale, not delivered. */
    assert_int_equal(after.stale_completions - before.stale_completions, 1);
    assert_int_equal(after.channels, NCH - 1);
    for (int k = 0; k < 3; k++)
        assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 1);
    assert_int_equal(s.ch[s.victim].total, 1); /* only the priming call */
}

static void dsp__remove_all(dsp__set *s, int self)
{
    (void)self;
    for (int i = 0; i < s->n; i++)
        assert_int_equal(reactor_remove(s->f->r, s->ch[i].chn), 0);
}

static void removing_every_channel_from_one_callback_ends_the_loop(void **state)
{
    sup_loop *f = *state;
    dsp__set s;
    dsp__open(f, &s, NCH, REACTOR_READABLE);
    dsp__prime(&s);
    dsp__armed_iteration(&s, dsp__remove_all);
    int calls = 0;
    for (int i = 0; i < NCH; i++)
        calls += s.ch[i].calls;
    assert_int_equal(calls, 1);
    assert_int_equal(sup_stats(f).channels, 0);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_DEFAULT), 0);
}

static void dsp__remove_other_and_add(dsp__set *s, int self)
{
    dsp__remove_other(s, self);
    dsp__chan *v = &s->ch[s->victim];
    /* A new socket with data already waiting takes the released number (the only free one). */
    dsp__chan *c = &s->ch[s->n];
    c->set = s;
    sup_new_pair(s->f, c->sv);
    sup_send_byte(c->sv[1]);
    assert_int_equal(reactor_add(s->f->r, c->sv[0], REACTOR_READABLE, dsp__cb, c, &c->chn), 0);
    assert_int_equal(c->chn, v->chn);
    s->extra_chn = c->chn;
}

static void number_reused_inside_a_callback_never_gets_the_old_event(void **state)
{
    sup_loop *f = *state;
    dsp__set s;
    dsp__open(f, &s, 3, REACTOR_READABLE);
    dsp__prime(&s);
    s.n = 3; /* ch[3] is filled by the action */
    dsp__armed_iteration(&s, dsp__remove_other_and_add);
    assert_int_equal(s.ch[s.victim].calls, 0);
    /* The new channel's events were not collected in this iteration. */
    assert_int_equal(s.ch[3].calls, 0);
    s.n = 4;
    assert_true(sup_run_until_count(f, &s.ch[3].total, 1, SUP_WAIT_MS));
    assert_int_equal(s.ch[3].last, REACTOR_READABLE);
    assert_int_equal(s.ch[s.victim].total, 1);
}

static void dsp__remove_and_readd_self(dsp__set *s, int self)
{
    dsp__chan *c = &s->ch[self];
    reactor_chn_t old = c->chn;
    assert_int_equal(reactor_remove(s->f->r, c->chn), 0);
    assert_int_equal(reactor_add(s->f->r, c->sv[0], REACTOR_READABLE, dsp__cb, c, &c->chn), 0);
    s->extra_chn = old;
    s->victim = self;
}

static void socket_removed_and_added_again_in_its_callback_keeps_its_events(void **state)
{
    sup_loop *f = *state;
    dsp__set s;
    dsp__open(f, &s, 2, REACTOR_READABLE);
    dsp__prime(&s);
    dsp__armed_iteration(&s, dsp__remove_and_readd_self);
    dsp__chan *c = &s.ch[s.victim];
    assert_int_equal(c->calls, 1);
    /* The data is still unread, so the new registration must report it (wepoll #35 lost it). */
    int total = c->total;
    assert_true(sup_run_until_count(f, &c->total, total + 1, SUP_WAIT_MS));
    assert_int_equal(c->last, REACTOR_READABLE);
    assert_int_equal(sup_stats(f).channels, 2);
}

/* Adds enough channels from inside a callback to grow every table during dispatch. */
enum { GROW_OLD = 3, GROW_NEW = 300 };

typedef struct dsp__grow dsp__grow;
typedef struct dsp__gslot {
    dsp__grow *g;
    reactor_chn_t chn;
    int calls; /* this iteration */
    int total;
} dsp__gslot;

struct dsp__grow {
    sup_loop *f;
    dsp__gslot old[GROW_OLD];
    dsp__gslot add[GROW_NEW];
    int armed;
};

static void dsp__grow_cb(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    dsp__gslot *s = arg;
    dsp__grow *g = s->g;
    assert_int_equal(chn, s->chn);
    assert_int_equal(events, REACTOR_READABLE);
    s->calls++;
    s->total++;
    if (!g->armed)
        return;
    g->armed = 0;
    for (int i = 0; i < GROW_NEW; i++) {
        reactor_socket_t sv[2];
        sup_new_pair(g->f, sv);
        sup_send_byte(sv[1]);
        g->add[i].g = g;
        assert_int_equal(reactor_add(r, sv[0], REACTOR_READABLE, dsp__grow_cb, &g->add[i],
                                     &g->add[i].chn),
                         0);
    }
}

static int dsp__grow_all_seen(void *ctx)
{
    dsp__grow *g = ctx;
    for (int i = 0; i < GROW_NEW; i++)
        if (!g->add[i].total)
            return 0;
    return 1;
}

static void add_from_callback_grows_the_table_during_dispatch(void **state)
{
    sup_loop *f = *state;
    static dsp__grow g;
    memset(&g, 0, sizeof g);
    g.f = f;
    for (int i = 0; i < GROW_OLD; i++) {
        reactor_socket_t sv[2];
        sup_new_pair(f, sv);
        sup_send_byte(sv[1]);
        g.old[i].g = &g;
        assert_int_equal(reactor_add(f->r, sv[0], REACTOR_READABLE, dsp__grow_cb, &g.old[i],
                                     &g.old[i].chn),
                         0);
    }
    for (int i = 0; i < GROW_OLD; i++)
        assert_true(sup_run_until_count(f, &g.old[i].total, 1, SUP_WAIT_MS));
    for (int i = 0; i < GROW_OLD; i++)
        g.old[i].calls = 0;
    g.armed = 1;
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 1);
    assert_false(g.armed);
    /* Each collected event was delivered once, to its own channel, across the growth; the
     * new channels' events were not collected yet. */
    for (int i = 0; i < GROW_OLD; i++)
        assert_int_equal(g.old[i].calls, 1);
    for (int i = 0; i < GROW_NEW; i++)
        assert_int_equal(g.add[i].calls, 0);
    assert_int_equal(sup_stats(f).channels, GROW_OLD + GROW_NEW);
    assert_true(sup_run_until(f, dsp__grow_all_seen, &g, SUP_WAIT_MS));
    for (int i = 0; i < GROW_OLD; i++)
        g.old[i].calls = 0;
    for (int i = 0; i < GROW_NEW; i++)
        g.add[i].calls = 0;
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 1);
    for (int i = 0; i < GROW_OLD; i++)
        assert_int_equal(g.old[i].calls, 1);
    for (int i = 0; i < GROW_NEW; i++)
        assert_int_equal(g.add[i].calls, 1);
}

/* Channels removed from the middle of the dense array: every survivor must keep watching its
 * own socket, and data on a removed channel's socket must reach nobody. */
enum { CHURN = 48 };

typedef struct dsp__churn {
    reactor_socket_t sv[CHURN][2];
    reactor_chn_t chn[CHURN];
    int live[CHURN];
    int calls[CHURN];
} dsp__churn;

static void dsp__churn_cb(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    (void)r;
    (void)events;
    int *calls = arg;
    (void)chn;
    (*calls)++;
}

static void dsp__churn_expect_only(sup_loop *f, dsp__churn *c, int who)
{
    for (int i = 0; i < CHURN; i++)
        c->calls[i] = 0;
    sup_send_byte(c->sv[who][1]);
    assert_true(sup_run_until_count(f, &c->calls[who], 1, SUP_WAIT_MS));
    for (int i = 0; i < CHURN; i++)
        if (i != who)
            assert_int_equal(c->calls[i], 0);
    assert_int_equal(sup_drain(c->sv[who][0]), 1);
}

static void each_channel_keeps_its_own_socket_across_removals(void **state)
{
    sup_loop *f = *state;
    static dsp__churn c;
    memset(&c, 0, sizeof c);
    for (int i = 0; i < CHURN; i++) {
        sup_new_pair(f, c.sv[i]);
        assert_int_equal(reactor_add(f->r, c.sv[i][0], REACTOR_READABLE, dsp__churn_cb, &c.calls[i],
                                     &c.chn[i]),
                         0);
        c.live[i] = 1;
    }
    /* Remove in a scrambled order; removed sockets get data that must reach nobody. */
    for (int k = 0; k < CHURN / 2; k++) {
        int i = (k * 29 + 5) % CHURN;
        assert_int_equal(reactor_remove(f->r, c.chn[i]), 0);
        c.live[i] = 0;
        sup_send_byte(c.sv[i][1]);
        for (int j = 0; j < CHURN; j += 7)
            if (c.live[j])
                dsp__churn_expect_only(f, &c, j);
    }
    for (int i = 0; i < CHURN; i++)
        if (c.live[i])
            dsp__churn_expect_only(f, &c, i);
    assert_int_equal(sup_stats(f).channels, CHURN - CHURN / 2);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(modify_adds_and_drops_writable, sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(modify_to_zero_silences_pending_data_until_asked_again,
                                        sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(modify_from_callback_masks_events_already_collected,
                                        sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(modify_to_zero_from_callback_suppresses_a_collected_event,
                                        sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(remove_own_channel_from_callback_stops_its_events,
                                        sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(remove_from_callback_skips_later_events, sup_setup,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(removing_every_channel_from_one_callback_ends_the_loop,
                                        sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(number_reused_inside_a_callback_never_gets_the_old_event,
                                        sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(
            socket_removed_and_added_again_in_its_callback_keeps_its_events, sup_setup,
            sup_teardown),
        cmocka_unit_test_setup_teardown(add_from_callback_grows_the_table_during_dispatch,
                                        sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(each_channel_keeps_its_own_socket_across_removals,
                                        sup_setup, sup_teardown),
    };
    return sup_main(argc, argv, "behaviour.dispatch", tests, sizeof tests / sizeof tests[0], 1);
}
