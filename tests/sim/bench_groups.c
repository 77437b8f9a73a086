/* bench_groups.c - the simulated cost curve of poll groups: the AFD backend, built with one
 * RX_AFD_GROUP (G), on the simulated kernel, which counts a cancel's cost as the requests pending
 * on its helper handle (NtCancelIoFileEx walks them all: trio #1280). For each channel count it
 * arms every channel, removes and re-adds a quarter of them, destroys, and prints one row of a
 * Markdown table: helpers open, cancel work per remove (mean, max), cancel work of the destroy.
 * Counts, not times: the same on every machine. --no-header leaves the table's head out (the
 * rows of several builds make one table). */
#include "backend.h"
#include "sim_kernel.h"
#include "win/iocp.h"
#include "win/pinned_pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BG_SOCK(i) ((uintptr_t)0x200000 + 4 * (uintptr_t)(i))
#define BG_BATCH 64u /* removes between two loop iterations, then as many re-adds */

typedef struct bg_run {
    sim_kernel k;
    void *be;
    rx_iocp_final final;
    uint64_t live;
} bg_run;

static bg_run *g_run;

static void *bg_malloc(void *ctx, size_t size)
{
    (void)ctx;
    g_run->live++;
    return malloc(size);
}

static void *bg_realloc(void *ctx, void *p, size_t size)
{
    (void)ctx;
    if (!p)
        g_run->live++;
    return realloc(p, size);
}

static void bg_free(void *ctx, void *p)
{
    (void)ctx;
    if (p)
        g_run->live--;
    free(p);
}

static int bg_init(void **be, rx_alloc *a)
{
    int err = rx_iocp_init_kernel(be, a, &g_run->k.table);
    if (!err)
        g_run->be = *be;
    return err;
}

static void bg_destroy(void *be)
{
    rx_iocp_destroy_report(be, &g_run->final);
}

static void bg_cb(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    (void)r;
    (void)chn;
    (void)events;
    (void)arg;
}

static uint64_t bg_rng(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static void bg_die(const char *what, const sim_kernel *k)
{
    fprintf(stderr, "bench_groups: %s%s%s\n", what, k && k->errors ? ": " : "",
            k && k->errors ? k->msg : "");
    exit(1);
}

static void bg_one(uint32_t n)
{
    bg_run *w = calloc(1, sizeof *w);
    reactor_chn_t *chn = calloc(n, sizeof *chn);
    uint8_t *gone = calloc(n, 1);
    uint32_t *pick = calloc(BG_BATCH, sizeof *pick);
    if (!w || !chn || !gone || !pick)
        bg_die("out of memory", NULL);
    g_run = w;
    sim_init(&w->k);
    w->k.cancel_immediate = 1; /* AFD completes a cancelled poll inside NtCancelIoFileEx */
    w->k.log_off = 1;
    reactor_allocator_t fn = {bg_malloc, bg_realloc, bg_free, NULL};
    static rx_backend_ops ops;
    ops = rx_afd_ops;
    ops.init = bg_init;
    ops.destroy = bg_destroy;
    reactor_options_t o;
    memset(&o, 0, sizeof o);
    o.allocator = &fn;
    reactor_t *r = NULL;
    if (rx_create_with(&r, &o, &ops))
        bg_die("create", &w->k);
    for (uint32_t i = 0; i < n; i++) {
        sim_socket_open(&w->k, BG_SOCK(i));
        if (reactor_add(r, (reactor_socket_t)BG_SOCK(i), REACTOR_READABLE, bg_cb, NULL, &chn[i]))
            bg_die("add", &w->k);
    }
    if (reactor_run(r, REACTOR_RUN_NOWAIT) < 0 || w->k.npending != n)
        bg_die("first arm", &w->k);

    /* Churn: a quarter of the channels removed (random, BG_BATCH per iteration) and added
     * again. The work of each remove is what its cancel walked. */
    uint64_t rng = 0x9E3779B97F4A7C15ull ^ n, removes = 0, work = 0, worst = 0;
    for (uint32_t done = 0; done < n / 4;) {
        uint32_t batch = n / 4 - done < BG_BATCH ? n / 4 - done : BG_BATCH;
        for (uint32_t j = 0; j < batch; j++) {
            uint32_t i = (uint32_t)(bg_rng(&rng) % n);
            while (gone[i])
                i = (i + 1) % n;
            uint64_t before = w->k.cancel_work;
            if (reactor_remove(r, chn[i]))
                bg_die("remove", &w->k);
            uint64_t c = w->k.cancel_work - before;
            work += c;
            worst = c > worst ? c : worst;
            removes++;
            gone[i] = 1;
            pick[j] = i;
        }
        if (reactor_run(r, REACTOR_RUN_NOWAIT) < 0)
            bg_die("run", &w->k);
        for (uint32_t j = 0; j < batch; j++) {
            if (reactor_add(r, (reactor_socket_t)BG_SOCK(pick[j]), REACTOR_READABLE, bg_cb, NULL,
                            &chn[pick[j]]))
                bg_die("re-add", &w->k);
            gone[pick[j]] = 0;
        }
        if (reactor_run(r, REACTOR_RUN_NOWAIT) < 0 || reactor_run(r, REACTOR_RUN_NOWAIT) < 0)
            bg_die("run", &w->k);
        done += batch;
    }
    reactor_stats_t st;
    reactor_stats(r, &st);
    if (w->k.npending != n)
        bg_die("churn left channels without a poll", &w->k);

    /* Destroy with every poll pending. */
    uint64_t work0 = w->k.cancel_work, cancels0 = w->k.cancels;
    w->k.cancel_work_max = 0;
    reactor_destroy(r);
    if (w->k.errors || w->final.undrained || w->live)
        bg_die("destroy", &w->k);
    printf("| %u | %u | %llu | %.1f | %llu | %llu | %llu | %llu |\n", (unsigned)RX_AFD_GROUP, n,
           (unsigned long long)st.helper_handles, removes ? (double)work / (double)removes : 0.0,
           (unsigned long long)worst, (unsigned long long)(w->k.cancels - cancels0),
           (unsigned long long)(w->k.cancel_work - work0),
           (unsigned long long)w->k.cancel_work_max);
    sim_fini(&w->k);
    if (w->k.errors)
        bg_die("fini", &w->k);
    free(pick);
    free(gone);
    free(chn);
    free(w);
    g_run = NULL;
}

int main(int argc, char **argv)
{
    static const uint32_t counts[] = {1000, 10000, 30000, 65534};
    if (argc < 2 || strcmp(argv[1], "--no-header") != 0) {
        printf("| G | channels | helpers | work per remove, mean | max | destroy: cancels | "
               "work | largest |\n");
        printf("| --- | --- | --- | --- | --- | --- | --- | --- |\n");
    }
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        bg_one(counts[i]);
    return 0;
}
