/* iocp.h - the AFD backend's hooks for tests: run it on another rx_afd_kernel (a fault
 * injector or a simulated kernel) and read its pool's poison checks. */
#ifndef RX_WIN_IOCP_H
#define RX_WIN_IOCP_H

#include "afd.h"
#include "alloc.h"
#include "backend.h"

#include <stdint.h>

/* rx_afd_ops.init on kernel k instead of the real one. */
int rx_iocp_init_kernel(void **be, rx_alloc *alloc, const rx_afd_kernel *k);
/* Free pinned states found written to since init. */
uint64_t rx_iocp_poison_hits(void *be);
/* Pinned blocks ever allocated by this backend. */
uint64_t rx_iocp_blocks_total(const void *be);

#endif
