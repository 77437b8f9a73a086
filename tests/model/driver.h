/* driver.h - runs one operation sequence against the library and the model together and
 * compares after every step. The operations come from a source: a seeded PRNG (test_model.c)
 * or fuzzer bytes (tests/fuzz). A mismatch stops the run with a message and the recent ops. */
#ifndef MDL_DRIVER_H
#define MDL_DRIVER_H

#include "count_alloc.h"
#include "model.h"
#include "reactor.h"

#include <stddef.h>
#include <stdint.h>

/* Where the next choice comes from: a value in [0, bound). */
typedef struct mdl_source {
    uint32_t (*next)(void *ctx, uint32_t bound);
    void *ctx;
} mdl_source;

/* A seeded PRNG source (splitmix64). */
typedef struct mdl_rng {
    uint64_t state;
} mdl_rng;
uint32_t mdl_rng_next(void *rng, uint32_t bound);

/* A byte-stream source: each choice eats one or two bytes; exhausted once they run out. */
typedef struct mdl_bytes {
    const uint8_t *p;
    size_t n, at;
} mdl_bytes;
uint32_t mdl_bytes_next(void *bytes, uint32_t bound);

typedef struct mdl_world mdl_world;

typedef struct mdl_config {
    int backend;    /* REACTOR_BACKEND_* */
    uint32_t pairs; /* socket pairs, at most MDL_MAX_SOCKS / 2 */
    int eventual;   /* I/O checked as "eventually, and nothing unrequested" (AFD) */
    int inject;     /* allow the "fail the next allocation" operation */
    int trace;      /* print every operation */
    mdl_source src;
} mdl_config;

/* Creates the loop and the pairs. NULL on a set-up failure (printed). */
mdl_world *mdl_world_open(const mdl_config *cfg);
/* One operation. 0, or -1 on a mismatch (printed with the recent operations). */
int mdl_world_step(mdl_world *w);
/* Destroys the loop, checks zero live allocations, closes the sockets. 0 or -1. */
int mdl_world_close(mdl_world *w);
/* Operations run so far, and a one-line account of what they did. */
uint64_t mdl_world_ops(const mdl_world *w);
void mdl_world_summary(const mdl_world *w, char *buf, size_t n);

#endif
