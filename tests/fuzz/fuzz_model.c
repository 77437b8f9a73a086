/* fuzz_model.c - libFuzzer harness: the input's bytes are an operation sequence for the same
 * model and driver as tests/model (each choice eats one or two bytes). A disagreement with the
 * model, a leak after reactor_destroy or a sanitizer report is a crash. Byte 0 picks the
 * backend; 8 socket pairs per input; at most 4,000 operations. */
#include "driver.h"

#include <stdio.h>
#include <stdlib.h>

#define FZ__MAX_OPS 4000u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    mdl_bytes bytes = {data + 1, size - 1, 0};
    mdl_config cfg = {0};
#if defined(__linux__)
    cfg.backend = data[0] & 1 ? REACTOR_BACKEND_EPOLL : REACTOR_BACKEND_POLL;
#else
    cfg.backend = REACTOR_BACKEND_POLL;
#endif
    cfg.pairs = 8;
    cfg.inject = 1;
    cfg.trace = getenv("REACTOR_FUZZ_TRACE") != NULL;
    cfg.src.next = mdl_bytes_next;
    cfg.src.ctx = &bytes;
    mdl_world *w = mdl_world_open(&cfg);
    if (!w)
        abort(); /* out of descriptors or sockets: the machine, not the library */
    int bad = 0;
    for (unsigned i = 0; i < FZ__MAX_OPS && bytes.at < bytes.n && !bad; i++)
        bad = mdl_world_step(w);
    if (mdl_world_close(w) != 0 || bad) {
        fprintf(stderr, "fuzz_model: model mismatch or leak (REACTOR_FUZZ_TRACE=1 prints ops)\n");
        abort();
    }
    return 0;
}
