/* count_alloc.h - a reactor_allocator_t that counts live blocks and bytes and can fail the
 * k-th allocation on demand. Blocks carry a size header, so frees are counted exactly. */
#ifndef SUP_COUNT_ALLOC_H
#define SUP_COUNT_ALLOC_H

#include "reactor.h"

#include <stddef.h>
#include <stdint.h>

typedef struct sup_alloc {
    reactor_allocator_t fn; /* fn.ctx points back at this struct: keep it at a stable address */
    uint64_t live;          /* blocks handed out and not freed */
    uint64_t bytes;         /* bytes in those blocks */
    uint64_t calls;         /* malloc + realloc calls, failed ones included */
    uint64_t fail_at;       /* the call number that fails; 0 = never */
    uint64_t failures;      /* calls failed on purpose */
} sup_alloc;

void sup_alloc_init(sup_alloc *a);
/* Makes the k-th allocation from now (1 = the next one) fail; k = 0 disarms. */
void sup_alloc_fail_nth(sup_alloc *a, uint64_t k);

#endif
