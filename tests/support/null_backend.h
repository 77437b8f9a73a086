/* null_backend.h - a backend that accepts any socket value and never reports an event, so the
 * channel table's limits can be driven through the public API without real descriptors. */
#ifndef SUP_NULL_BACKEND_H
#define SUP_NULL_BACKEND_H

#include "backend.h"
#include "fixture.h"

extern const rx_backend_ops sup_null_ops;

/* Signals the null backend was asked for, and how many of the next ones fail (ESYS). Test
 * process state: set them on the thread that runs the loop, with no other thread waking it. */
extern int sup_null_wakeup_calls;
extern int sup_null_wakeup_failures;

/* (Re)creates f->r on the null backend with the counting allocator. */
void sup_loop_open_null(sup_loop *f);

#endif
