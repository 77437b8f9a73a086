/* example.c - resolves the names on its command line with c-ares on a reactor loop, all at once,
 * and prints one line per name: its addresses, or the error. The loop returns by itself once
 * every lookup has finished: c-ares then closes its sockets and the adapter stops its timer.
 *
 *   cares_resolve [--server HOST:PORT[,HOST:PORT...]] [--timeout-ms T] [--tries N] [-4|-6]
 *                 name...
 */
#include "reactor_cares.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef struct lookup {
    const char *name;
    int status; /* ARES_SUCCESS or the error; -1 while pending */
} lookup;

static void on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
    lookup *l = arg;
    (void)timeouts;
    l->status = status;
    if (status != ARES_SUCCESS) {
        printf("%s: %s\n", l->name, ares_strerror(status));
        return;
    }
    printf("%s", l->name);
    for (struct ares_addrinfo_node *n = res->nodes; n; n = n->ai_next) {
        char text[INET6_ADDRSTRLEN];
        const void *addr = n->ai_family == AF_INET
                               ? (const void *)&((struct sockaddr_in *)n->ai_addr)->sin_addr
                               : (const void *)&((struct sockaddr_in6 *)n->ai_addr)->sin6_addr;
        if (inet_ntop(n->ai_family, addr, text, sizeof text))
            printf(" %s", text);
    }
    printf("\n");
    ares_freeaddrinfo(res);
}

static int usage(void)
{
    fprintf(stderr, "usage: cares_resolve [--server HOST:PORT[,...]] [--timeout-ms T] "
                    "[--tries N] [-4|-6] name...\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *servers = NULL;
    struct ares_options opts = {0};
    int optmask = 0, family = AF_UNSPEC, first = 1;
    for (; first < argc && argv[first][0] == '-'; first++) {
        const char *a = argv[first];
        if (!strcmp(a, "-4") || !strcmp(a, "-6"))
            family = a[1] == '4' ? AF_INET : AF_INET6;
        else if (first + 1 >= argc)
            return usage();
        else if (!strcmp(a, "--server"))
            servers = argv[++first];
        else if (!strcmp(a, "--timeout-ms")) {
            opts.timeout = atoi(argv[++first]);
            optmask |= ARES_OPT_TIMEOUTMS;
        } else if (!strcmp(a, "--tries")) {
            opts.tries = atoi(argv[++first]);
            optmask |= ARES_OPT_TRIES;
        } else
            return usage();
    }
    if (first >= argc)
        return usage();

    reactor_t *r = NULL;
    reactor_cares_t *rc = NULL;
    lookup *lookups = calloc((size_t)(argc - first), sizeof *lookups);
    int err = ares_library_init(ARES_LIB_INIT_ALL);
    int failed = 0;
    if (!lookups)
        err = REACTOR_ENOMEM;
    if (!err)
        err = reactor_create(&r, NULL);
    if (!err)
        err = reactor_cares_create(r, &opts, optmask, &rc);
    if (!err && servers)
        err = ares_set_servers_ports_csv(reactor_cares_channel(rc), servers);
    if (err) {
        fprintf(stderr, "cares_resolve: %s\n", reactor_cares_strerror(err));
        failed = 1;
    } else {
        struct ares_addrinfo_hints hints = {.ai_family = family};
        for (int i = first; i < argc; i++) {
            lookup *l = &lookups[i - first];
            l->name = argv[i];
            l->status = -1;
            ares_getaddrinfo(reactor_cares_channel(rc), argv[i], NULL, &hints, on_addrinfo, l);
        }
        err = reactor_run(r, REACTOR_RUN_DEFAULT); /* until no socket and no timer is left */
        if (err < 0)
            fprintf(stderr, "cares_resolve: reactor_run: %s\n", reactor_strerror(err));
        if (reactor_cares_error(rc))
            fprintf(stderr, "cares_resolve: %s\n", reactor_cares_strerror(reactor_cares_error(rc)));
        for (int i = 0; i < argc - first; i++)
            failed |= lookups[i].status != ARES_SUCCESS;
    }
    reactor_cares_destroy(rc); /* before the loop; calls back any lookup still pending */
    reactor_destroy(r);
    ares_library_cleanup();
    free(lookups);
    return failed;
}
