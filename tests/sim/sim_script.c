/* sim_script.c - the scenario runner shared by the scenario files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sim_script.h"

#include <stdlib.h>
#include <string.h>

void sc_step(world *w, w_kind kind, int arg)
{
    w_op op = {(uint8_t)kind, (uint8_t)arg};
    if (!w->failed && world_enabled(w, op))
        world_step(w, op);
}

void sc_fail_if(world *w)
{
    if (w->failed) {
        char trace[2048];
        world_trace(w, trace, sizeof trace);
        fail_msg("%s\n  after: %s", w->why, trace);
    }
}

reactor_stats_t sc_stats(world *w)
{
    reactor_stats_t st;
    memset(&st, 0, sizeof st);
    if (w->r)
        assert_int_equal(reactor_stats(w->r, &st), 0);
    return st;
}

void sc_run(const char *name, sc_fn fn)
{
    world *w = malloc(sizeof *w);
    assert_non_null(w);
    world_init(w, 0);
    fn(w, 1);
    sc_fail_if(w);
    if (!w->failed)
        world_settle(w);
    world_finish(w);
    sc_fail_if(w);
    uint64_t allocs = w->alloc.calls;
    for (uint64_t k = 1; k <= allocs; k++) {
        world_init(w, k);
        fn(w, 0);
        if (!w->failed)
            world_settle(w);
        world_finish(w);
        if (w->failed) {
            char trace[2048];
            world_trace(w, trace, sizeof trace);
            fail_msg("%s, allocation %llu failing: %s\n  after: %s", name, (unsigned long long)k,
                     w->why, trace);
        }
    }
    print_message("%s: passed, and with each of its %llu allocations failing\n", name,
                  (unsigned long long)allocs);
    free(w);
}
