/* test_model.c - model-based random testing: seeded random operation sequences run against the
 * library and the reference model together (driver.c), compared after every step. A mismatch
 * prints its seed; `test_model <backend> --seed=S --ops=N` reproduces it (--trace prints every
 * operation). Defaults: seeds 1..4, 25,000 operations each (CTest passes its own counts);
 * REACTOR_MODEL_SEED / REACTOR_MODEL_OPS override. */
#include "driver.h"
#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long long tm__seed = 1, tm__seeds = 4, tm__ops = 25000;
static int tm__trace, tm__pairs = 64, tm__strict, tm__eventual;

/* Backends whose readiness may lag the operation behind it: AFD, and on Windows WSAPoll too
 * (under Wine both ask wineserver, which takes in a peer's shutdown asynchronously: measured, a
 * half-close seen one wait late on poll). */
static int tm__backend_lags(void)
{
#if defined(_WIN32)
    return 1;
#else
    return sup_backend() == REACTOR_BACKEND_AFD;
#endif
}

static void random_operations_match_the_model(void **state)
{
    (void)state;
    unsigned long long total = 0;
    for (unsigned long long seed = tm__seed; seed < tm__seed + tm__seeds; seed++) {
        mdl_rng rng = {seed};
        mdl_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.backend = sup_backend();
        cfg.pairs = (uint32_t)tm__pairs;
        cfg.eventual = tm__eventual || (tm__backend_lags() && !tm__strict);
        cfg.inject = 1;
        cfg.trace = tm__trace;
        cfg.src.next = mdl_rng_next;
        cfg.src.ctx = &rng;
        mdl_world *w = mdl_world_open(&cfg);
        assert_non_null(w);
        int bad = 0;
        for (unsigned long long i = 0; i < tm__ops && !bad; i++)
            bad = mdl_world_step(w);
        unsigned long long done = mdl_world_ops(w);
        char summary[200];
        mdl_world_summary(w, summary, sizeof summary);
        print_message("[ INFO     ] %s seed %llu: %llu operations: %s\n", sup_backend_arg(), seed,
                      done, summary);
        total += done;
        if (mdl_world_close(w) != 0)
            bad = 1;
        if (bad) {
            fprintf(stderr,
                    "FAILED: seed %llu after %llu operations; reproduce with:\n"
                    "  test_model %s --seed=%llu --ops=%llu --trace\n",
                    seed, done, sup_backend_arg(), seed, done);
            fail_msg("model mismatch (seed %llu)", seed);
        }
    }
    print_message("[ INFO     ] %s: %llu random operations, seeds %llu..%llu, %d socket pairs\n",
                  sup_backend_arg(), total, tm__seed, tm__seed + tm__seeds - 1, tm__pairs);
}

static int tm__option(const char *arg, const char *name, unsigned long long *out)
{
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0)
        return 0;
    *out = strtoull(arg + n, NULL, 0);
    return 1;
}

int main(int argc, char **argv)
{
    const char *env = getenv("REACTOR_MODEL_SEED");
    if (env) {
        tm__seed = strtoull(env, NULL, 0);
        tm__seeds = 1;
    }
    env = getenv("REACTOR_MODEL_OPS");
    if (env)
        tm__ops = strtoull(env, NULL, 0);
    /* Our options out, the backend and the case name left for sup_main. */
    int n = 0;
    for (int i = 0; i < argc; i++) {
        unsigned long long v;
        if (tm__option(argv[i], "--seed=", &v)) {
            tm__seed = v;
            tm__seeds = 1;
        } else if (tm__option(argv[i], "--seeds=", &v)) {
            tm__seeds = v;
        } else if (tm__option(argv[i], "--ops=", &v)) {
            tm__ops = v;
        } else if (tm__option(argv[i], "--pairs=", &v)) {
            tm__pairs = v < 1 ? 1 : v > MDL_MAX_SOCKS / 2 ? (int)(MDL_MAX_SOCKS / 2) : (int)v;
        } else if (strcmp(argv[i], "--strict") == 0) {
            tm__strict = 1; /* exact per-iteration I/O checks on AFD too */
        } else if (strcmp(argv[i], "--eventual") == 0) {
            tm__eventual = 1; /* AFD's looser I/O checks on any backend */
        } else if (strcmp(argv[i], "--trace") == 0) {
            tm__trace = 1;
        } else {
            argv[n++] = argv[i];
        }
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_operations_match_the_model),
    };
    return sup_main(n, argv, "model.random", tests, sizeof tests / sizeof tests[0], 1);
}
