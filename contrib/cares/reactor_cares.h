/* reactor_cares.h - c-ares on a reactor loop: every socket c-ares opens becomes a channel and
 * its timeouts one timer, so name lookups run inside reactor_run() with nothing else to call.
 * Functions return 0, a negative REACTOR_E* code, or a positive ARES_E* code from c-ares. The
 * timer follows ares_timeout() after every processing step and, while c-ares has a socket open,
 * never sleeps longer than the channel's first-try timeout: a query submitted between steps
 * times out on its own schedule, never early. Not thread-safe: use it on the loop's thread. */
#ifndef REACTOR_CARES_H
#define REACTOR_CARES_H

/* ares.h (1.18) uses fd_set and struct timeval without declaring them on Linux. */
#if !defined(_WIN32)
#include <sys/select.h>
#include <sys/time.h>
#endif

#include <ares.h>
#include <reactor.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The adapter: one c-ares channel driven by one reactor loop. Opaque. */
typedef struct reactor_cares reactor_cares_t;

/** Creates a c-ares channel with ares_init_options(opts, optmask) and drives it from loop:
 * queries submitted on it complete inside reactor_run(). The adapter sets ARES_OPT_SOCK_STATE_CB
 * itself (any sock_state_cb in opts is ignored); opts may be NULL when optmask is 0. The
 * application calls ares_library_init() first, as c-ares asks. The adapter's few blocks come
 * from malloc (the loop's allocator is not reachable from outside), c-ares's from its own.
 * Errors: REACTOR_EINVAL, REACTOR_ENOMEM, or the ARES_E* code of ares_init_options. */
int reactor_cares_create(reactor_t *loop, const struct ares_options *opts, int optmask,
                         reactor_cares_t **out);

/** The c-ares channel: submit queries on it (ares_getaddrinfo, ares_gethostbyname, ares_query,
 * ...), also from query callbacks, and change its servers; never ares_destroy it. */
ares_channel reactor_cares_channel(const reactor_cares_t *rc);

/** The first error the adapter met inside a c-ares or reactor callback, where it could not be
 * returned (reactor_add, reactor_modify or reactor_timer_start failing), or 0. A socket that
 * could not be watched leaves its queries to time out on c-ares's schedule. */
int reactor_cares_error(const reactor_cares_t *rc);

/** Destroys the c-ares channel (ares_destroy: every pending query's callback runs with
 * ARES_EDESTRUCTION and must not submit new queries), removes every channel and the timer,
 * and frees the adapter. From a query callback run by the adapter's processing, destruction is
 * deferred to the end of that step: queries answered in the step still get their answers, the
 * rest ARES_EDESTRUCTION then. Never call it from a query callback that c-ares runs inside a call
 * of yours (ares_gethostbyname answering from the hosts file, say): c-ares still uses the
 * channel when that callback returns. Destroy the adapter before its loop. NULL is ignored. */
void reactor_cares_destroy(reactor_cares_t *rc);

/** A static message for a code returned here: reactor_strerror() for negative codes,
 * ares_strerror() for positive ones, "success" for 0. */
const char *reactor_cares_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* REACTOR_CARES_H */
