/** @file
 * reactor.h - the one public header of reactor, an embeddable socket event loop.
 * Sockets are registered as channels named by a 16-bit number; readiness is level-triggered.
 * Every call returns 0 (or a count) on success and a negative REACTOR_E* code on failure; a
 * failed call changes nothing and never calls a callback. Only reactor_wakeup() is thread-safe. */
#ifndef REACTOR_H
#define REACTOR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @def REACTOR_API
 * Marks the exported functions: dllexport/dllimport on Windows (define REACTOR_STATIC when
 * linking the static library there), default visibility elsewhere (the library hides the rest). */
#if defined(_WIN32) && !defined(REACTOR_STATIC)
#if defined(REACTOR_BUILDING)
#define REACTOR_API __declspec(dllexport)
#else
#define REACTOR_API __declspec(dllimport)
#endif
#elif defined(__GNUC__)
#define REACTOR_API __attribute__((visibility("default")))
#else
#define REACTOR_API
#endif

#define REACTOR_VERSION_MAJOR 0 /**< This header's version: major (incompatible changes). */
#define REACTOR_VERSION_MINOR 2 /**< This header's version: minor (additions). */
#define REACTOR_VERSION_PATCH 0 /**< This header's version: patch (fixes). */

/** An event loop. Opaque; create with reactor_create(), free with reactor_destroy(). */
typedef struct reactor reactor_t;

/** A channel number, 1..65534. 0 and 65535 are never handed out. */
typedef uint16_t reactor_chn_t;

/** A socket: a file descriptor on POSIX, a SOCKET (pointer-sized) on Windows. */
#if defined(_WIN32)
typedef uintptr_t reactor_socket_t;
#define REACTOR_INVALID_SOCKET (~(reactor_socket_t)0) /**< Not a socket (INVALID_SOCKET). */
#else
typedef int reactor_socket_t;
#define REACTOR_INVALID_SOCKET (-1) /**< Not a socket. */
#endif

/** A timer: an ID with a generation. 0 is never a valid timer. */
typedef uint64_t reactor_timer_t;

/* Events. READABLE, WRITABLE and HALFCLOSE are requested; HANGUP and ERROR need no request. */
/** Data, a pending connection, or end of stream (a read returns 0). */
#define REACTOR_READABLE (1u << 0)
/** The socket can be written, or a non-blocking connect completed. */
#define REACTOR_WRITABLE (1u << 1)
/** The connection is closed in both directions or reset (POLLHUP, EPOLLHUP, AFD_POLL_ABORT). */
#define REACTOR_HANGUP (1u << 2)
/** The socket has a pending error or a connect failed; on the poll backend and on Windows also
 * a socket the application closed without reactor_remove (reported once). */
#define REACTOR_ERROR (1u << 3)
/** Opt-in: the peer shut down its sending side (a half-close: POLLRDHUP, EPOLLRDHUP,
 * AFD_POLL_DISCONNECT); the socket may still be written. Reported only while requested, and
 * level-triggered like the others (libuv's UV_DISCONNECT, libevent's EV_CLOSED). Without it a
 * half-close shows as READABLE (end of stream) only. On the Windows poll (WSAPoll) backend a
 * half-close and the peer's full close look the same: both are HALFCLOSE. */
#define REACTOR_HALFCLOSE (1u << 4)

/** Error codes: X(name, value, message). Values are ours and the same on every OS. */
#define REACTOR_ERRNO_MAP(X)                                                                       \
    X(EINVAL, -1, "invalid argument")                                                              \
    X(ENOMEM, -2, "out of memory")                                                                 \
    X(EBADCHN, -3, "unknown or removed channel")                                                   \
    X(ENOSPC, -4, "all 65534 channel numbers are in use")                                          \
    X(EEXIST, -5, "socket is already registered")                                                  \
    X(EBADF, -6, "invalid or closed socket")                                                       \
    X(ENOTSUP, -7, "backend not available on this platform")                                       \
    X(ESYS, -8, "operating system error")                                                          \
    X(EBADTIMER, -9, "unknown, stopped or expired timer")                                          \
    X(EBUSY, -10, "the loop is already running")

/** Error codes (negative; 0 is success). */
enum reactor_errno {
#define REACTOR__ERRNO_ENUM(name, value, msg) REACTOR_##name = (value),
    REACTOR_ERRNO_MAP(REACTOR__ERRNO_ENUM)
#undef REACTOR__ERRNO_ENUM
};

/** Backends. DEFAULT picks the best one built for this platform; on Windows AFD, or POLL where
 * the system refuses AFD (reactor_backend_name() tells which). */
enum reactor_backend {
    REACTOR_BACKEND_DEFAULT = 0,
    REACTOR_BACKEND_POLL = 1,  /**< poll(): every POSIX system; WSAPoll on Windows */
    REACTOR_BACKEND_EPOLL = 2, /**< epoll: Linux */
    REACTOR_BACKEND_AFD = 3    /**< AFD_POLL on an I/O completion port: Windows */
};

/** How reactor_run() runs. */
typedef enum reactor_run_mode {
    REACTOR_RUN_DEFAULT = 0, /**< until reactor_stop() or no channel and no timer is left */
    REACTOR_RUN_ONCE = 1,    /**< one iteration; blocks until an event, a timer or a wake-up */
    REACTOR_RUN_NOWAIT = 2   /**< one iteration that never blocks */
} reactor_run_mode;

/** Called on the loop thread with the events that hold for channel chn. */
typedef void (*reactor_io_cb)(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg);
/** Called on the loop thread when timer t expires. */
typedef void (*reactor_timer_cb)(reactor_t *r, reactor_timer_t t, void *arg);
/** Called on the loop thread after one or more reactor_wakeup() calls. */
typedef void (*reactor_wakeup_cb)(reactor_t *r, void *arg);

/** A custom allocator. realloc must leave ptr intact when it fails; free(ctx, NULL) is never
 * called. All memory a loop uses goes through it. */
typedef struct reactor_allocator {
    void *(*malloc)(void *ctx, size_t size);             /**< size bytes, or NULL */
    void *(*realloc)(void *ctx, void *ptr, size_t size); /**< ptr is never NULL */
    void (*free)(void *ctx, void *ptr);                  /**< ptr is never NULL */
    void *ctx;                                           /**< passed to all three */
} reactor_allocator_t;

/** Options for reactor_create(). A zeroed struct means defaults. */
typedef struct reactor_options {
    int backend;                          /**< an enum reactor_backend value */
    const reactor_allocator_t *allocator; /**< NULL: the C library's; copied at create */
    reactor_wakeup_cb on_wakeup;          /**< may be NULL */
    void *wakeup_arg;                     /**< passed to on_wakeup */
} reactor_options_t;

/** Counters read by tests and users; a snapshot. */
typedef struct reactor_stats {
    uint64_t channels;          /**< channels registered now */
    uint64_t timers;            /**< timers started and not yet stopped or expired */
    uint64_t iterations;        /**< loop iterations run */
    uint64_t events_dispatched; /**< I/O callbacks called */
    uint64_t timers_fired;      /**< timer callbacks called */
    uint64_t wakeups;           /**< wake-up callbacks called */
    uint64_t allocations_live;  /**< blocks allocated through the allocator and not freed */
    uint64_t bytes_live;        /**< bytes in those blocks */
    uint64_t allocations_total; /**< allocations ever made */
    uint64_t stale_completions; /**< backend reports for removed or reused channels, dropped */
    uint64_t pending_polls;     /**< kernel polls in flight (AFD backend; 0 elsewhere) */
    uint64_t pinned_blocks;     /**< pinned state blocks allocated (AFD backend; 0 elsewhere) */
    uint64_t undrained_polls;   /**< polls the kernel never finished at destroy (AFD) */
    uint64_t backend_resets;    /**< kernel sets rebuilt to drop a watch that outlived its
                                     channel (epoll, after a close while a dup was open) */
    uint64_t helper_handles;    /**< \\Device\\Afd helper handles open now: one per group of
                                     polls (AFD backend; 0 elsewhere) */
} reactor_stats_t;

/** Creates a loop in *out. opts may be NULL. Errors: EINVAL, ENOMEM, ENOTSUP, ESYS. */
REACTOR_API int reactor_create(reactor_t **out, const reactor_options_t *opts);
/** Frees the loop, its channels and timers; never closes sockets. From a callback, no further
 * callback runs and the loop is freed when reactor_run() returns. */
REACTOR_API void reactor_destroy(reactor_t *r);

/** Registers socket s for events (READABLE, WRITABLE, HALFCLOSE, or 0 for HANGUP/ERROR only);
 * its number goes to *out_chn. A loop holds at most 65534 channels (ENOSPC): run one loop per
 * thread for more. Errors: EINVAL, EBADF, EEXIST (s, or on Windows its base socket, is
 * registered already), ENOSPC, ENOMEM, ESYS. */
REACTOR_API int reactor_add(reactor_t *r, reactor_socket_t s, unsigned events, reactor_io_cb cb,
                            void *arg, reactor_chn_t *out_chn);
/** Changes the events chn is watched for; takes effect at once, also for events already
 * collected in this iteration. Also revives a channel the backend stopped watching after an
 * ERROR. Errors: EINVAL, EBADCHN, EBADF (its socket is gone), ENOMEM, ESYS. */
REACTOR_API int reactor_modify(reactor_t *r, reactor_chn_t chn, unsigned events);
/** Unregisters chn (never closes its socket); no callback for it runs after this returns.
 * Legal from any callback. Errors: EINVAL, EBADCHN. */
REACTOR_API int reactor_remove(reactor_t *r, reactor_chn_t chn);

/** Starts a timer firing after timeout_ms, then every repeat_ms (0: once). Never fires early.
 * Errors: EINVAL, ENOMEM. */
REACTOR_API int reactor_timer_start(reactor_t *r, uint64_t timeout_ms, uint64_t repeat_ms,
                                    reactor_timer_cb cb, void *arg, reactor_timer_t *out);
/** Stops timer t. A one-shot timer is expired once its callback starts. Errors: EINVAL,
 * EBADTIMER (unknown, stopped or expired). */
REACTOR_API int reactor_timer_stop(reactor_t *r, reactor_timer_t t);

/** Runs the loop. Returns 1 while channels or timers remain, 0 when none do, or a negative
 * error (EINVAL, EBUSY when called from a callback, ESYS). */
REACTOR_API int reactor_run(reactor_t *r, reactor_run_mode mode);
/** Makes reactor_run() return after the current iteration (or at once if not running). */
REACTOR_API void reactor_stop(reactor_t *r);
/** The loop's cached monotonic time in milliseconds, updated every iteration. */
REACTOR_API uint64_t reactor_now(const reactor_t *r);

/** Runs one iteration that waits at most timeout_ms for an event (-1: without limit, 0: not
 * at all), and less when a timer is due sooner; returns after that even if nothing happened.
 * "Without limit" holds on an empty loop too, so that a reactor_wakeup() can end it. No timer
 * is started for the bound. Returns as reactor_run(): 1 while channels or timers remain, 0
 * when none do, or a negative error (EINVAL, EBUSY from a callback, ESYS). */
REACTOR_API int reactor_run_timeout(reactor_t *r, int timeout_ms);
/** The descriptor a foreign loop can wait on to nest this loop in it, in *out: the epoll
 * descriptor (readable when an event is ready) or, on Windows, the I/O completion port handle.
 * Before waiting on it, call reactor_run_timeout(r, 0), which also arms what changed, and
 * wait no longer than reactor_backend_timeout(). Errors: EINVAL, ENOTSUP (the poll backend
 * keeps no kernel set). */
REACTOR_API int reactor_backend_fd(const reactor_t *r, intptr_t *out);
/** Milliseconds until the next timer is due, rounded up: -1 when there is no timer, 0 when one
 * is due. For a foreign loop that nests this one; -1 for NULL. */
REACTOR_API int reactor_backend_timeout(const reactor_t *r);

/** Stores a pointer for the application (libuv's loop->data, libev's ev_userdata). */
REACTOR_API void reactor_set_data(reactor_t *r, void *data);
/** The pointer stored by reactor_set_data(), or NULL. */
REACTOR_API void *reactor_get_data(const reactor_t *r);

/** The socket of channel chn, in *out. O(1). Errors: EINVAL, EBADCHN. */
REACTOR_API int reactor_chn_socket(const reactor_t *r, reactor_chn_t chn, reactor_socket_t *out);
/** The channel registered for socket s, in *out. O(1) expected. Errors: EINVAL, EBADCHN (no
 * channel has that socket). */
REACTOR_API int reactor_socket_chn(const reactor_t *r, reactor_socket_t s, reactor_chn_t *out);

/** The operating system's error behind the last call on r that returned REACTOR_ESYS or
 * REACTOR_EBADF: errno on POSIX; on Windows the WSAGetLastError() code, or the NTSTATUS of an
 * NT call (negative as an int). 0 when none is known. A kernel ENOSPC (epoll's
 * max_user_watches) is REACTOR_ESYS with ENOSPC here, not REACTOR_ENOSPC. */
REACTOR_API int reactor_last_os_error(const reactor_t *r);

/** After fork(), in the child: gives the loop a kernel set and a wake-up of its own (the
 * parent's are left untouched) and registers every channel again, so that the child may go
 * on using the loop while the parent does (libev's ev_loop_fork, libuv's uv_loop_fork). Call
 * it in the child before any other call on r. Errors: EINVAL, ENOTSUP (Windows), ENOMEM,
 * ESYS. */
REACTOR_API int reactor_fork(reactor_t *r);

/** Wakes a blocked iteration; the on_wakeup callback then runs on the loop thread. Wake-ups
 * coalesce. The only call that is safe from another thread, and it is async-signal-safe: a
 * signal handler may call it (set a flag, wake the loop, act on the flag in on_wakeup). It
 * leaves errno as it found it. Errors: EINVAL, ESYS. */
REACTOR_API int reactor_wakeup(reactor_t *r);

/** A static message for an error code; "unknown error" for other values. */
REACTOR_API const char *reactor_strerror(int err);
/** The error code's name, such as "REACTOR_EBADCHN". */
REACTOR_API const char *reactor_err_name(int err);
/** The backend's name: "poll", "epoll" or "afd". */
REACTOR_API const char *reactor_backend_name(const reactor_t *r);
/** Fills *out with the loop's counters. Errors: EINVAL. */
REACTOR_API int reactor_stats(const reactor_t *r, reactor_stats_t *out);

/** The library's version as (major << 16) | (minor << 8) | patch. */
REACTOR_API unsigned reactor_version(void);
/** The library's version as a string, "major.minor.patch". */
REACTOR_API const char *reactor_version_string(void);

#ifdef __cplusplus
}
#endif

#endif /* REACTOR_H */
