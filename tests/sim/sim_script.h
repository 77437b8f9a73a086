/* sim_script.h - scripted scenarios on a world: one step at a time, with the checks a scenario
 * makes, and a runner that repeats the scenario with each of its allocations failing. */
#ifndef SIM_SCRIPT_H
#define SIM_SCRIPT_H

#include "sim_world.h"

/* A scenario drives a world; `checks` is 0 when an allocation was made to fail, and then only
 * the world's own checks (settle, destroy) apply. */
typedef void (*sc_fn)(world *w, int checks);

/* Applies one op if the world still runs and the op is possible now. */
void sc_step(world *w, w_kind kind, int arg);
/* Fails the cmocka test with the world's reason and trace if it failed. */
void sc_fail_if(world *w);
/* The loop's counters (zeroed once it is destroyed). */
reactor_stats_t sc_stats(world *w);
/* Runs fn clean (with its checks), then once per allocation with that allocation failing. */
void sc_run(const char *name, sc_fn fn);

#endif
