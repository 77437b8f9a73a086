/* reactor_curl.h - runs libcurl's multi interface on a reactor loop: every socket libcurl
 * watches is a channel, libcurl's one timeout is a reactor timer, and each finished transfer is
 * handed to a callback once, already removed from the multi handle.
 *
 * All calls are made on the loop's thread. libcurl's own rule holds: no reactor_curl_* call
 * from inside a libcurl callback (write, read, header, progress...) except
 * reactor_curl_destroy, which then takes effect when libcurl returns. */
#ifndef REACTOR_CURL_H
#define REACTOR_CURL_H

#include <curl/curl.h>
#include <reactor.h>

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** An adapter: one libcurl multi handle driven by one reactor loop. Opaque. */
typedef struct reactor_curl reactor_curl_t;

/** Called on the loop thread when a transfer ends, with libcurl's result (CURLE_OK, or why it
 * failed; CURLE_OUT_OF_MEMORY when the loop could not watch one of its sockets or could not
 * start libcurl's timer, CURLE_ABORTED_BY_CALLBACK when it refused a socket otherwise). The
 * adapter has already removed easy from the multi handle: the callee owns it again and may
 * inspect it (curl_easy_getinfo), free it (curl_easy_cleanup), or add it again. Any
 * reactor_curl_* call is legal here. */
typedef void (*reactor_curl_done_cb)(reactor_curl_t *rc, CURL *easy, CURLcode result, void *arg);

/** Creates an adapter on loop r in *out; on_done gets every finished transfer with arg.
 * curl_global_init must have been called. Returns 0, or REACTOR_EINVAL (a NULL argument),
 * REACTOR_ENOMEM (no memory, or curl_multi_init failed). */
int reactor_curl_create(reactor_curl_t **out, reactor_t *r, reactor_curl_done_cb on_done,
                        void *arg);

/** Stops every transfer still running (removed from the multi handle, no on_done: the caller
 * still owns those easy handles), removes the adapter's channels and timer, and frees it; call
 * it before reactor_destroy of its loop. Never closes a socket itself: libcurl closes its own.
 * From on_done or a libcurl callback it takes effect when the adapter's current reactor
 * callback returns, and no further on_done runs. NULL is ignored. */
void reactor_curl_destroy(reactor_curl_t *rc);

/** The multi handle, for curl_multi_setopt (CURLMOPT_MAXCONNECTS, CURLMOPT_MAX_HOST_CONNECTIONS,
 * ...). CURLMOPT_SOCKETFUNCTION, CURLMOPT_SOCKETDATA, CURLMOPT_TIMERFUNCTION and
 * CURLMOPT_TIMERDATA belong to the adapter; do not add or remove easy handles directly. */
CURLM *reactor_curl_multi(const reactor_curl_t *rc);

/** Starts transfer easy (set up with curl_easy_setopt); it runs as the loop runs and ends in
 * on_done. Returns CURLM_OK or libcurl's error (the transfer is then not started and on_done is
 * never called for it); CURLM_OUT_OF_MEMORY when the adapter's list cannot grow or the loop
 * cannot start libcurl's timer, CURLM_BAD_HANDLE for a NULL rc or after reactor_curl_destroy
 * from a callback, CURLM_RECURSIVE_API_CALL from inside a libcurl callback. */
CURLMcode reactor_curl_add(reactor_curl_t *rc, CURL *easy);

/** Stops transfer easy mid-way: it is removed from the multi handle when this returns, its
 * connection is closed, and on_done is not called for it; the caller owns easy again. Returns
 * CURLM_OK, CURLM_BAD_EASY_HANDLE (not a running transfer of this adapter: unknown, finished
 * or already cancelled), CURLM_BAD_HANDLE (rc NULL) or CURLM_RECURSIVE_API_CALL (from inside a
 * libcurl callback: return CURL_WRITEFUNC_ERROR from the write callback instead, which ends
 * the transfer with CURLE_WRITE_ERROR, or cancel from a 0 ms reactor timer). */
CURLMcode reactor_curl_cancel(reactor_curl_t *rc, CURL *easy);

/** The number of transfers added and not yet reported to on_done or cancelled. */
size_t reactor_curl_running(const reactor_curl_t *rc);

#ifdef __cplusplus
}
#endif

#endif /* REACTOR_CURL_H */
