/* iocp.h - the AFD backend's hooks for tests: run it on another rx_afd_kernel (a fault
 * injector or a simulated kernel) and read its pool's poison checks. */
#ifndef RX_WIN_IOCP_H
#define RX_WIN_IOCP_H

#include "afd.h"
#include "alloc.h"
#include "backend.h"

#include <stdint.h>

#if !defined(_WIN32)
/* Elsewhere the backend is built only for tests, on a simulated kernel (tests/sim). */
extern const rx_backend_ops rx_afd_ops;
#endif

/* What destroy had to leave to the kernel. */
typedef struct rx_iocp_final {
    uint64_t undrained;   /* polls never completed: their states were not freed */
    uint64_t blocks_kept; /* pinned blocks left allocated for them */
    uint64_t poison_hits; /* free states found written to over the backend's life */
} rx_iocp_final;

/* rx_afd_ops.destroy, reporting into *out (which may be NULL). */
void rx_iocp_destroy_report(void *be, rx_iocp_final *out);
/* rx_afd_ops.init on kernel k instead of the real one. */
int rx_iocp_init_kernel(void **be, rx_alloc *alloc, const rx_afd_kernel *k);
/* Free pinned states found written to since init. */
uint64_t rx_iocp_poison_hits(void *be);
/* Pinned blocks ever allocated by this backend. */
uint64_t rx_iocp_blocks_total(const void *be);

#endif
