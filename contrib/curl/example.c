/* example.c - fetches every URL given on the command line at once, on one reactor loop through
 * reactor_curl, and prints each one's status, size and time as it finishes. Bodies are counted
 * and dropped. Exit status 0 when every transfer got a response, 1 otherwise.
 *
 *   curl_fetch URL...          e.g. curl_fetch https://example.com/ https://curl.se/
 */
#include "reactor_curl.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct fetch {
    const char *url;
    size_t bytes;
} fetch;

typedef struct app {
    reactor_t *loop;
    int left, failed;
} app;

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
    fetch *ft = arg;
    (void)p;
    ft->bytes += size * nmemb;
    return size * nmemb;
}

static void on_done(reactor_curl_t *rc, CURL *easy, CURLcode result, void *arg)
{
    app *a = arg;
    char *priv = NULL;
    long status = 0;
    double secs = 0;
    (void)rc;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME, &secs);
    fetch *ft = (fetch *)(void *)priv;
    if (result == CURLE_OK)
        printf("%ld %10zu bytes %8.1f ms  %s\n", status, ft->bytes, secs * 1000, ft->url);
    else
        printf("error: %s (%zu bytes)  %s\n", curl_easy_strerror(result), ft->bytes, ft->url);
    fflush(stdout);
    a->failed |= result != CURLE_OK;
    curl_easy_cleanup(easy); /* the adapter has removed it: ours to free */
    if (--a->left == 0)
        reactor_stop(a->loop); /* libcurl may keep idle connections watched */
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s URL...\n", argv[0]);
        return 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "curl_global_init failed\n");
        return 1;
    }
    app a = {0};
    reactor_curl_t *rc = NULL;
    fetch *fetches = calloc((size_t)argc - 1, sizeof *fetches);
    int err = fetches ? reactor_create(&a.loop, NULL) : REACTOR_ENOMEM;
    if (!err)
        err = reactor_curl_create(&rc, a.loop, on_done, &a);
    if (err) {
        fprintf(stderr, "start-up: %s\n", reactor_strerror(err));
        reactor_destroy(a.loop);
        free(fetches);
        curl_global_cleanup();
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        fetch *ft = &fetches[i - 1];
        CURL *easy = curl_easy_init();
        ft->url = argv[i];
        if (!easy) {
            fprintf(stderr, "curl_easy_init failed: %s\n", argv[i]);
            a.failed = 1;
            continue;
        }
        curl_easy_setopt(easy, CURLOPT_URL, argv[i]);
        curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, 20L);
        curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(easy, CURLOPT_WRITEDATA, ft);
        curl_easy_setopt(easy, CURLOPT_PRIVATE, (char *)ft);
        CURLMcode mc = reactor_curl_add(rc, easy);
        if (mc != CURLM_OK) {
            fprintf(stderr, "%s: %s\n", argv[i], curl_multi_strerror(mc));
            curl_easy_cleanup(easy);
            a.failed = 1;
            continue;
        }
        a.left++;
    }
    if (a.left > 0) {
        err = reactor_run(a.loop, REACTOR_RUN_DEFAULT);
        if (err < 0) {
            fprintf(stderr, "reactor_run: %s\n", reactor_strerror(err));
            a.failed = 1;
        }
    }
    reactor_curl_destroy(rc); /* no transfer is left running here */
    reactor_destroy(a.loop);
    free(fetches);
    curl_global_cleanup();
    return a.failed ? 1 : 0;
}
