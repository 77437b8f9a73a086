/* test_fork.c - reactor_fork: a forked child gets a kernel set and a wake-up of its own, so that
 * what it does with the loop never reaches the parent's. POSIX only, registered only there. */
#include "fixture.h"

#include <poll.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

/* The child's verdict travels in its exit status: 0 is success, anything else names the step
 * that failed (no cmocka in the child). */
static int fk__child(reactor_t *r, reactor_chn_t chn, reactor_socket_t own_rd,
                     reactor_socket_t own_wr)
{
    if (reactor_fork(r) != 0)
        return 10;
    if (reactor_remove(r, chn) != 0)
        return 11;
    /* The child keeps using the loop: a socket of its own reports. */
    sup_probe p = {0};
    reactor_chn_t mine;
    if (reactor_add(r, own_rd, REACTOR_READABLE, sup_probe_cb, &p, &mine) != 0)
        return 12;
    sup_send_byte(own_wr);
    for (int i = 0; i < 1000 && !p.calls; i++)
        if (reactor_run_timeout(r, 10) < 0)
            return 13;
    if (p.calls != 1)
        return 14;
    /* A wake-up in the child wakes the child's loop only. */
    if (reactor_wakeup(r) != 0)
        return 15;
    return 0;
}

static void fk__wake(reactor_t *r, void *arg)
{
    (void)r;
    (*(int *)arg)++;
}

static void child_removes_a_channel_the_parent_keeps_using(void **state)
{
    sup_loop *f = *state;
    int woken = 0;
    sup_loop_open(f, fk__wake, &woken);
    reactor_socket_t shared[2], own[2];
    sup_new_pair(f, shared);
    sup_new_pair(f, own);
    sup_probe p = {0};
    reactor_chn_t chn;
    assert_int_equal(reactor_add(f->r, shared[0], REACTOR_READABLE, sup_probe_cb, &p, &chn), 0);
    assert_int_equal(reactor_run(f->r, REACTOR_RUN_NOWAIT), 1);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int code = fk__child(f->r, chn, own[0], own[1]);
        reactor_destroy(f->r); /* the child's own set and wake-up after reactor_fork */
        /* Leave through exec: the child's copy of the test's memory is abandoned by design,
         * and a memory checker following the fork would call it a leak at exit. */
        char arg[8];
        snprintf(arg, sizeof arg, "%d", code);
        execl("/bin/sh", "sh", "-c", "exit \"$0\"", arg, (char *)NULL);
        _exit(code);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* Its wake-up did not reach the parent's kernel set either: with a shared eventfd the
     * parent's epoll descriptor would be readable now (the loop itself would drop the signal,
     * finding no wake-up pending, so only the descriptor can tell). */
    intptr_t fd;
    if (reactor_backend_fd(f->r, &fd) == 0) {
        struct pollfd pf = {(int)fd, POLLIN, 0};
        assert_int_equal(poll(&pf, 1, 0), 0);
    }
    /* The child's remove (and its own channel) never reached the parent's kernel set. */
    sup_send_byte(shared[1]);
    assert_true(sup_run_until_count(f, &p.calls, 1, SUP_WAIT_MS));
    assert_int_equal(p.chn, chn);
    assert_int_equal(sup_stats(f).channels, 1);
    /* Nor did its wake-up (with a shared eventfd the parent would see it here). */
    assert_int_equal(reactor_run_timeout(f->r, 50), 1);
    assert_int_equal(woken, 0);
}

static void fork_rejects_bad_input(void **state)
{
    (void)state;
    assert_int_equal(reactor_fork(NULL), REACTOR_EINVAL);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(child_removes_a_channel_the_parent_keeps_using, sup_setup,
                                        sup_teardown),
        cmocka_unit_test_setup_teardown(fork_rejects_bad_input, sup_setup, sup_teardown),
    };
    return sup_main(argc, argv, "behaviour.fork", tests, sizeof tests / sizeof tests[0], 1);
}
