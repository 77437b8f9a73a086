/* test_reuse.c - a descriptor number removed, closed and handed out again (POSIX only;
 * registered only there). The new socket on the old number gets every event, the removed
 * channel none, and nothing the old registration left behind costs a rebuild of the kernel's
 * set: also when a dup keeps the old socket alive and readable, and when it all happens inside
 * one callback. A lazy EPOLL_CTL_DEL (libev's) fails the dup cases; epoll parks a removed
 * channel's watch instead (one-shot, no events), and docs/performance.md says why that is safe
 * where a lazy delete is not. */
#include "quiet.h"

#if !defined(_WIN32)
#include <unistd.h>

#define WINDOW_MS 100u

/* Puts a new socket on number `num` (free: its socket was closed), with dup2 if the fresh pair
 * did not land there. Returns the new pair's other end; both are closed at teardown. */
static reactor_socket_t ru__new_socket_on(sup_loop *f, reactor_socket_t num)
{
    reactor_socket_t nv[2];
    assert_int_equal(sup_pair(nv), 0);
    if (nv[0] != num) { /* POSIX hands out the lowest free number: often num itself */
        assert_int_equal(dup2(nv[0], num), num);
        sup_close(nv[0]);
    }
    sup_track(f, num);
    sup_track(f, nv[1]);
    return nv[1];
}

static void ru__read_byte(reactor_socket_t s)
{
    char c = 0;
    assert_int_equal(sup_recv(s, &c, 1), 1);
    assert_int_equal(c, 'x');
}

static void ru__no_rebuild(const sup_loop *f)
{
    reactor_stats_t st = sup_stats(f);
    assert_int_equal(st.backend_resets, 0);
    assert_int_equal(st.stale_completions, 0);
}

/* A new pair whose sv[0] (also in a dup when with_dup) is added for old, removed and closed;
 * a new socket takes its number and is added for neu as *b. Returns the new socket's peer. */
static reactor_socket_t ru__reuse_number(sup_loop *f, reactor_socket_t sv[2], int with_dup,
                                         sup_probe *old, sup_probe *neu, reactor_chn_t *b)
{
    sup_new_pair(f, sv);
    if (with_dup) {
        int dup_fd = dup(sv[0]);
        assert_true(dup_fd >= 0);
        sup_track(f, dup_fd);
    }
    reactor_chn_t a;
    assert_int_equal(reactor_add(f->r, sv[0], REACTOR_READABLE, sup_probe_cb, old, &a), 0);
    reactor_socket_t num = sv[0];
    assert_int_equal(reactor_remove(f->r, a), 0);
    sup_close_now(f, sv[0]);
    reactor_socket_t peer = ru__new_socket_on(f, num);
    assert_int_equal(reactor_add(f->r, num, REACTOR_READABLE, sup_probe_cb, neu, b), 0);
    return peer;
}

static void removed_closed_and_reused_number_keeps_its_events(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t sv[2];
    sup_probe old = {0}, neu = {0};
    reactor_chn_t b;
    reactor_socket_t peer = ru__reuse_number(f, sv, 0, &old, &neu, &b);
    sup_send_byte(peer);
    assert_true(sup_run_until_count(f, &neu.calls, 1, SUP_WAIT_MS));
    assert_int_equal(neu.last, REACTOR_READABLE);
    assert_int_equal(old.calls, 0);
    ru__no_rebuild(f);
    assert_int_equal(reactor_remove(f->r, b), 0);
}

/* The old socket stays open in a dup and becomes readable after its number was reused. */
static void reused_number_while_a_dup_keeps_the_old_socket_readable(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t sv[2];
    sup_probe old = {0}, neu = {0};
    reactor_chn_t b;
    reactor_socket_t peer = ru__reuse_number(f, sv, 1, &old, &neu, &b);
    reactor_socket_t num = sv[0]; /* the number, now the new socket's */
    sup_send_byte(sv[1]);         /* towards the old socket, alive in the dup */
    sup_send_byte(peer);
    assert_true(sup_run_until_count(f, &neu.calls, 1, SUP_WAIT_MS));
    assert_int_equal(old.calls, 0);
    ru__read_byte(num);
    /* Only the old socket, watched by nobody, is readable now. */
    fq_window w = fq_run_window(f, WINDOW_MS, 1000);
    assert_int_equal(w.stale, 0);
    assert_int_equal(w.dispatched, 0);
    fq_assert_quiet(&w, 1);
    assert_int_equal(old.calls, 0);
    ru__no_rebuild(f);
    assert_int_equal(reactor_remove(f->r, b), 0);
}

typedef struct ru__swap {
    sup_loop *f;
    reactor_socket_t old_sock, old_peer, new_peer;
    reactor_chn_t old_chn, new_chn;
    int dup_fd;
    sup_probe old, neu;
    int done;
} ru__swap;

/* Inside one callback: remove the old channel, close its descriptor (a dup lives on), put a new
 * socket on the number and add it; both sockets have a byte waiting. */
static void ru__swap_cb(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    (void)chn;
    (void)events;
    ru__swap *s = arg;
    if (s->done++)
        return;
    assert_int_equal(reactor_remove(r, s->old_chn), 0);
    reactor_socket_t num = s->old_sock;
    sup_close_now(s->f, s->old_sock);
    s->new_peer = ru__new_socket_on(s->f, num);
    sup_send_byte(s->old_peer);
    sup_send_byte(s->new_peer);
    assert_int_equal(reactor_add(r, num, REACTOR_READABLE, sup_probe_cb, &s->neu, &s->new_chn), 0);
}

static void remove_close_reuse_and_add_inside_one_callback(void **state)
{
    sup_loop *f = *state;
    ru__swap s = {.f = f};
    reactor_socket_t sv[2], trigger[2];
    sup_new_pair(f, sv);
    sup_new_pair(f, trigger);
    s.old_sock = sv[0];
    s.old_peer = sv[1];
    s.dup_fd = dup(sv[0]);
    assert_true(s.dup_fd >= 0);
    sup_track(f, s.dup_fd);
    assert_int_equal(reactor_add(f->r, sv[0], REACTOR_READABLE, sup_probe_cb, &s.old, &s.old_chn),
                     0);
    reactor_chn_t t;
    assert_int_equal(reactor_add(f->r, trigger[0], REACTOR_READABLE, ru__swap_cb, &s, &t), 0);
    sup_send_byte(trigger[1]);
    assert_true(sup_run_until_count(f, &s.neu.calls, 1, SUP_WAIT_MS));
    assert_int_equal(s.neu.last, REACTOR_READABLE);
    assert_int_equal(s.old.calls, 0);
    assert_int_equal(reactor_remove(f->r, t), 0);
    ru__read_byte(s.old_sock); /* the new socket, on the old number */
    fq_window w = fq_run_window(f, WINDOW_MS, 1000);
    assert_int_equal(w.stale, 0);
    assert_int_equal(w.dispatched, 0);
    fq_assert_quiet(&w, 1);
    assert_int_equal(s.old.calls, 0);
    ru__no_rebuild(f);
    assert_int_equal(reactor_remove(f->r, s.new_chn), 0);
}
/* Removed, still open, and added again: the new channel hears it, the old one never does, and
 * the kernel's set is not rebuilt (epoll re-arms the parked watch: ADD says EEXIST, then MOD). */
static void removed_and_added_again_while_open_hears_only_the_new_channel(void **state)
{
    sup_loop *f = *state;
    reactor_socket_t sv[2];
    sup_new_pair(f, sv);
    sup_probe old = {0}, neu = {0};
    reactor_chn_t a, b;
    assert_int_equal(reactor_add(f->r, sv[0], REACTOR_READABLE, sup_probe_cb, &old, &a), 0);
    assert_int_equal(reactor_remove(f->r, a), 0);
    sup_send_byte(sv[1]); /* while nobody watches */
    fq_window w = fq_run_window(f, 20, 1000);
    assert_int_equal(w.dispatched, 0);
    fq_assert_quiet(&w, 1);
    assert_int_equal(reactor_add(f->r, sv[0], REACTOR_READABLE | REACTOR_WRITABLE, sup_probe_cb,
                                 &neu, &b),
                     0);
    assert_true(sup_run_until_count(f, &neu.calls, 1, SUP_WAIT_MS));
    assert_int_equal(neu.last, REACTOR_READABLE | REACTOR_WRITABLE);
    assert_int_equal(old.calls, 0);
    ru__read_byte(sv[0]);
    /* Added a third time with a different interest: that interest, nothing else. */
    assert_int_equal(reactor_remove(f->r, b), 0);
    assert_int_equal(reactor_add(f->r, sv[0], REACTOR_READABLE, sup_probe_cb, &neu, &b), 0);
    w = fq_run_window(f, 20, 1000);
    assert_int_equal(w.dispatched, 0); /* writable, but not asked */
    sup_send_byte(sv[1]);
    int was = neu.calls;
    assert_true(sup_run_until_count(f, &neu.calls, was + 1, SUP_WAIT_MS));
    assert_int_equal(neu.last, REACTOR_READABLE);
    ru__no_rebuild(f);
    assert_int_equal(reactor_remove(f->r, b), 0);
}

/* A removed socket stays open (also only in a dup) and its peer goes away: no callback, no
 * rebuild, no spin. epoll's parked watch reports that hang-up once, and the backend drops it. */
static void ru__peer_gone_after_remove(void **state, int with_dup)
{
    sup_loop *f = *state;
    reactor_socket_t sv[2];
    sup_new_pair(f, sv);
    sup_probe p = {0};
    reactor_chn_t a;
    assert_int_equal(reactor_add(f->r, sv[0], REACTOR_READABLE, sup_probe_cb, &p, &a), 0);
    assert_int_equal(reactor_remove(f->r, a), 0);
    if (with_dup) {
        int dup_fd = dup(sv[0]);
        assert_true(dup_fd >= 0);
        sup_track(f, dup_fd);
        sup_close_now(f, sv[0]);
    }
    sup_send_byte(sv[1]);
    sup_close_now(f, sv[1]);
    fq_window w = fq_run_window(f, WINDOW_MS, 1000);
    assert_int_equal(p.calls, 0);
    assert_int_equal(w.dispatched, 0);
    fq_assert_quiet(&w, 1);
    reactor_stats_t st = sup_stats(f);
    assert_int_equal(st.backend_resets, 0);
    assert_true(st.stale_completions <= 1);
    sup_assert_loop_works(f);
}

static void a_removed_socket_whose_peer_goes_away_stays_quiet(void **state)
{
    ru__peer_gone_after_remove(state, 0);
}

static void a_removed_socket_closed_in_a_dup_whose_peer_goes_away_stays_quiet(void **state)
{
    ru__peer_gone_after_remove(state, 1);
}
#endif /* !_WIN32 */

int main(int argc, char **argv)
{
#if defined(_WIN32)
    (void)argc;
    (void)argv;
    return 0; /* POSIX only: not registered on Windows */
#else
    // clang-format off
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(removed_closed_and_reused_number_keeps_its_events, sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(reused_number_while_a_dup_keeps_the_old_socket_readable, sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(remove_close_reuse_and_add_inside_one_callback, sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(removed_and_added_again_while_open_hears_only_the_new_channel, sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(a_removed_socket_whose_peer_goes_away_stays_quiet, sup_setup, sup_teardown),
        cmocka_unit_test_setup_teardown(a_removed_socket_closed_in_a_dup_whose_peer_goes_away_stays_quiet, sup_setup, sup_teardown),
    };
    // clang-format on
    return sup_main(argc, argv, "faults.reuse", tests, sizeof tests / sizeof tests[0], 1);
#endif
}
