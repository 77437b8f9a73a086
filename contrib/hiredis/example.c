/* example.c - hiredis's async API on a reactor loop: SET then GET a few keys on a Redis server,
 * all pipelined, then a clean disconnect. A reactor timer bounds the whole run (hiredis 0.14 has
 * no timeouts of its own: the timer frees the context, which fails what is still pending).
 *
 *   hiredis_example [host [port [keys]]]      defaults: 127.0.0.1 6379 5
 */
#include "reactor_hiredis.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct app {
    reactor_t *loop;
    redisAsyncContext *ac; /* NULL once hiredis has freed it */
    reactor_timer_t deadline;
    int keys, replies, failures;
} app;

static void on_get(redisAsyncContext *ac, void *r, void *privdata)
{
    app *a = (app *)ac->data;
    redisReply *reply = (redisReply *)r;
    int i = (int)(intptr_t)privdata;
    char want[32];
    snprintf(want, sizeof want, "value-%d", i);
    a->replies++;
    if (reply == NULL) {
        fprintf(stderr, "GET key:%d: no reply (%s)\n", i, ac->err ? ac->errstr : "context freed");
        a->failures++;
    } else if (reply->type != REDIS_REPLY_STRING || strcmp(reply->str, want) != 0) {
        fprintf(stderr, "GET key:%d: unexpected reply\n", i);
        a->failures++;
    } else {
        printf("GET key:%d -> %s\n", i, reply->str);
    }
    if (reply != NULL && a->replies == 2 * a->keys)
        redisAsyncDisconnect(ac); /* from a reply callback: hiredis disconnects once we return */
}

static void on_set(redisAsyncContext *ac, void *r, void *privdata)
{
    app *a = (app *)ac->data;
    redisReply *reply = (redisReply *)r;
    a->replies++;
    if (reply == NULL || reply->type != REDIS_REPLY_STATUS || strcmp(reply->str, "OK") != 0) {
        fprintf(stderr, "SET key:%d failed\n", (int)(intptr_t)privdata);
        a->failures++;
    }
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    app *a = (app *)ac->data;
    if (status == REDIS_OK)
        return;
    /* hiredis frees the context after this returns, without a disconnect callback. */
    fprintf(stderr, "connect: %s\n", ac->errstr);
    a->failures++;
    a->ac = NULL;
    (void)reactor_timer_stop(a->loop, a->deadline);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    app *a = (app *)ac->data;
    if (status != REDIS_OK) {
        fprintf(stderr, "disconnected: %s\n", ac->errstr);
        a->failures++;
    }
    a->ac = NULL;
    (void)reactor_timer_stop(a->loop, a->deadline); /* nothing is left: reactor_run returns */
}

static void on_deadline(reactor_t *r, reactor_timer_t t, void *arg)
{
    app *a = (app *)arg;
    (void)r;
    (void)t;
    fprintf(stderr, "deadline: giving up\n");
    a->failures++;
    if (a->ac != NULL) {
        redisAsyncContext *ac = a->ac;
        a->ac = NULL;
        redisAsyncFree(ac); /* pending callbacks run with a NULL reply; the channel goes */
    }
}

int main(int argc, char **argv)
{
    const char *host = argc > 1 ? argv[1] : "127.0.0.1";
    int port = argc > 2 ? atoi(argv[2]) : 6379;
    app a;
    int err;
    memset(&a, 0, sizeof a);
    a.keys = argc > 3 ? atoi(argv[3]) : 5;
    if (port <= 0 || port > 65535 || a.keys <= 0) {
        fprintf(stderr, "usage: %s [host [port [keys]]]\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN); /* hiredis writes with write(): a dead server means EPIPE */

    err = reactor_create(&a.loop, NULL);
    if (err != 0) {
        fprintf(stderr, "reactor_create: %s\n", reactor_strerror(err));
        return 1;
    }
    a.ac = redisAsyncConnect(host, port);
    if (a.ac == NULL || a.ac->err) {
        fprintf(stderr, "connect: %s\n", a.ac ? a.ac->errstr : "out of memory");
        redisAsyncFree(a.ac);
        reactor_destroy(a.loop);
        return 1;
    }
    a.ac->data = &a;
    err = reactor_hiredis_attach(a.loop, a.ac);
    if (err == 0)
        err = reactor_timer_start(a.loop, 10000, 0, on_deadline, &a, &a.deadline);
    if (err != 0) {
        fprintf(stderr, "attach: %s\n", reactor_strerror(err));
        redisAsyncFree(a.ac);
        reactor_destroy(a.loop);
        return 1;
    }
    redisAsyncSetConnectCallback(a.ac, on_connect);
    redisAsyncSetDisconnectCallback(a.ac, on_disconnect);

    /* Everything is queued at once; hiredis writes it when the socket is writable. */
    for (int i = 0; i < a.keys; i++)
        redisAsyncCommand(a.ac, on_set, (void *)(intptr_t)i, "SET key:%d value-%d", i, i);
    for (int i = 0; i < a.keys; i++)
        redisAsyncCommand(a.ac, on_get, (void *)(intptr_t)i, "GET key:%d", i);

    err = reactor_run(a.loop, REACTOR_RUN_DEFAULT); /* until the channel and the timer are gone */
    if (err < 0)
        fprintf(stderr, "reactor_run: %s\n", reactor_strerror(err));
    if (a.ac != NULL) /* only if reactor_run failed */
        redisAsyncFree(a.ac);
    reactor_destroy(a.loop);
    printf("%d replies, %d failures\n", a.replies, a.failures);
    return err < 0 || a.failures || a.replies != 2 * a.keys ? 1 : 0;
}
