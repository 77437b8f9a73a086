/* test_explore.c - every interleaving of loop operations and kernel completions up to a depth,
 * then random ones beyond it (seed printed; REACTOR_SIM_SEED and REACTOR_SIM_RUNS replay one),
 * each ended by settling (no lost event, nothing left over) and destroying (nothing leaked,
 * nothing freed under the kernel). Allocation failure is tried at every allocation of the
 * shorter ones. REACTOR_SIM_DEPTH overrides the exhaustive depth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sim_world.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define EX__VALGRIND() RUNNING_ON_VALGRIND
#endif
#endif
#if !defined(EX__VALGRIND)
#define EX__VALGRIND() 0
#endif

/* Two sockets: enough for number reuse, swap-removes and two polls on one base handle. */
static const w_op core_ops[] = {
    {OP_ADD, 0},         {OP_ADD, 1},   {OP_REMOVE, 0},   {OP_REMOVE, 1},   {OP_RUN, 0},
    {OP_READY, 0},       {OP_READY, 1}, {OP_COMPLETE, 0}, {OP_COMPLETE, 1}, {OP_CANCEL_DONE, 0},
    {OP_CANCEL_DONE, 1}, {OP_GROW, 0},  {OP_DESTROY, 0},
};

/* One socket, and what the kernel and the application can do wrong to it. */
static const w_op fault_ops[] = {
    {OP_ADD, 0},       {OP_REMOVE, 0},      {OP_RUN, 0},    {OP_READY, 0},  {OP_COMPLETE, 0},
    {OP_COMPLETE, 1},  {OP_CANCEL_DONE, 0}, {OP_FAIL, 0},   {OP_CLOSE, 0},  {OP_REOPEN, 0},
    {OP_IMMEDIATE, 0}, {OP_ARMFAIL, 0},     {OP_ARMBAD, 0}, {OP_MODIFY, 0}, {OP_WAKE, 0},
    {OP_STICK, 0},     {OP_DESTROY, 0},
};

/* Everything, for the random walks. */
static const w_op all_ops[] = {
    {OP_ADD, 0},         {OP_ADD, 1},      {OP_ADD, 2},      {OP_REMOVE, 0},    {OP_REMOVE, 1},
    {OP_REMOVE, 2},      {OP_RUN, 0},      {OP_RUN, 0},      {OP_READY, 0},     {OP_READY, 1},
    {OP_READY, 2},       {OP_COMPLETE, 0}, {OP_COMPLETE, 1}, {OP_COMPLETE, 2},  {OP_CANCEL_DONE, 0},
    {OP_CANCEL_DONE, 1}, {OP_FAIL, 0},     {OP_FAIL, 1},     {OP_GROW, 0},      {OP_CLOSE, 0},
    {OP_CLOSE, 1},       {OP_REOPEN, 0},   {OP_REOPEN, 1},   {OP_IMMEDIATE, 0}, {OP_ARMFAIL, 0},
    {OP_ARMBAD, 0},      {OP_MODIFY, 0},   {OP_MODIFY, 2},   {OP_WAKE, 0},      {OP_STICK, 0},
    {OP_SETTLE, 0},      {OP_DESTROY, 0},
};

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

static long ex__env(const char *name, long fallback)
{
    const char *v = getenv(name);
    return v && *v ? strtol(v, NULL, 0) : fallback;
}

typedef struct ex_state {
    const w_op *alpha;
    int nalpha, depth, sweep_depth;
    uint64_t runs, alloc_runs, by_len[16];
    char msg[2048];
} ex_state;

static void ex__dfs(ex_state *e, w_op *prefix, int len)
{
    w_op next[64];
    int nnext = 0;
    uint64_t allocs = 0;
    if (world_run(prefix, len, 0, e->alpha, e->nalpha, next, &nnext, &allocs, e->msg,
                  sizeof e->msg))
        fail_msg("%s", e->msg);
    e->runs++;
    e->by_len[len]++;
    if (len <= e->sweep_depth)
        for (uint64_t k = 1; k <= allocs; k++, e->alloc_runs++)
            if (world_run(prefix, len, k, NULL, 0, NULL, NULL, NULL, e->msg, sizeof e->msg))
                fail_msg("allocation %llu of %llu failing: %s", (unsigned long long)k,
                         (unsigned long long)allocs, e->msg);
    if (len == e->depth)
        return;
    for (int i = 0; i < nnext; i++) {
        prefix[len] = next[i];
        ex__dfs(e, prefix, len + 1);
    }
}

static void ex__exhaustive(const char *name, const w_op *alpha, int nalpha, int depth,
                           int sweep_depth)
{
    ex_state *e = calloc(1, sizeof *e);
    assert_non_null(e);
    e->alpha = alpha;
    e->nalpha = nalpha;
    e->depth = (int)ex__env("REACTOR_SIM_DEPTH", depth);
    if (e->depth > 15)
        e->depth = 15;
    e->sweep_depth = sweep_depth < e->depth ? sweep_depth : e->depth;
#if defined(__SANITIZE_ADDRESS__)
    e->depth = e->depth > 3 ? e->depth - 1 : e->depth; /* ~3x slower: one level less */
#endif
    if (EX__VALGRIND()) {
        e->depth = e->depth > 3 ? e->depth - 2 : e->depth;
        e->sweep_depth = e->sweep_depth > 2 ? 2 : e->sweep_depth;
    }
    clock_t t0 = clock();
    w_op prefix[16];
    ex__dfs(e, prefix, 0);
    double s = (double)(clock() - t0) / CLOCKS_PER_SEC;
    print_message("%s: %llu interleavings explored (every one up to depth %d), %llu more runs "
                  "with one allocation failing (every allocation, depth <= %d); %.1f s\n",
                  name, (unsigned long long)e->runs, e->depth, (unsigned long long)e->alloc_runs,
                  e->sweep_depth, s);
    print_message("%s: by length:", name);
    for (int i = 0; i <= e->depth; i++)
        print_message(" %d:%llu", i, (unsigned long long)e->by_len[i]);
    print_message("\n");
    free(e);
}

static void every_interleaving_of_loop_and_kernel_steps_up_to_depth(void **state)
{
    (void)state;
    ex__exhaustive("core", core_ops, N_OF(core_ops), 7, 4);
}

static void every_interleaving_with_faults_up_to_depth(void **state)
{
    (void)state;
    ex__exhaustive("faults", fault_ops, N_OF(fault_ops), 6, 4);
}

static uint64_t ex__next(uint64_t *s)
{
    /* xorshift64* */
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static void random_interleavings_beyond_the_depth(void **state)
{
    (void)state;
    uint64_t seed = (uint64_t)ex__env("REACTOR_SIM_SEED", 0);
    if (!seed)
        seed = ((uint64_t)time(NULL) << 16) ^ (uint64_t)clock() ^ 0x9E3779B97F4A7C15ull;
    long runs = ex__env("REACTOR_SIM_RUNS", EX__VALGRIND() ? 150 : 3000);
    enum { LEN = 40 };
    print_message("random: seed %llu, %ld walks of %d steps (replay one: REACTOR_SIM_SEED=<seed "
                  "of the walk> REACTOR_SIM_RUNS=1)\n",
                  (unsigned long long)seed, runs, LEN);
    clock_t t0 = clock();
    uint64_t steps = 0, failing_alloc = 0;
    world *w = malloc(sizeof *w);
    assert_non_null(w);
    for (long r = 0; r < runs; r++) {
        uint64_t s = seed + (uint64_t)r, rng = s * 0x9E3779B97F4A7C15ull | 1;
        /* One walk in four makes one of its first 60 allocations fail. */
        uint64_t fail_at = ex__next(&rng) % 4 == 0 ? 1 + ex__next(&rng) % 60 : 0;
        failing_alloc += fail_at != 0;
        world_init(w, fail_at);
        for (int i = 0; i < LEN && !w->failed && w->created && !w->destroyed; i++) {
            w_op en[N_OF(all_ops)];
            int n = 0;
            for (int a = 0; a < N_OF(all_ops); a++)
                if (world_enabled(w, all_ops[a]))
                    en[n++] = all_ops[a];
            if (!n)
                break;
            w_op op = en[ex__next(&rng) % (uint64_t)n];
            if (op.kind == OP_DESTROY && i < LEN / 2)
                op.kind = OP_RUN; /* walks are long: destroy only in their second half */
            world_step(w, op);
            steps++;
        }
        if (!w->failed)
            world_settle(w);
        world_finish(w);
        if (w->failed) {
            char trace[2048];
            world_trace(w, trace, sizeof trace);
            fail_msg("random walk with seed %llu%s: %s\n  after: %s", (unsigned long long)s,
                     fail_at ? " (an allocation failing)" : "", w->why, trace);
        }
    }
    free(w);
    print_message("random: %ld interleavings (%llu steps, %llu with an allocation failing); "
                  "%.1f s\n",
                  runs, (unsigned long long)steps, (unsigned long long)failing_alloc,
                  (double)(clock() - t0) / CLOCKS_PER_SEC);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_interleaving_of_loop_and_kernel_steps_up_to_depth),
        cmocka_unit_test(every_interleaving_with_faults_up_to_depth),
        cmocka_unit_test(random_interleavings_beyond_the_depth),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("sim.explore", tests, NULL, NULL);
}
