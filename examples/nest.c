/* nest.c - reactor nested in a host program's own poll() loop, as libuv's uv_backend_fd and
 * uv_backend_timeout allow: the host waits on its own descriptors plus reactor's backend
 * descriptor, no longer than reactor's next timer, and hands reactor a non-blocking iteration
 * whenever that descriptor is readable or the time is up.
 *
 * Inside reactor: a timer every 5 ms sends a byte over a socketpair, and a channel reads them.
 * After 20 bytes the channel tells the host through a pipe the host watches, and the host
 * loop ends. Exit status 0 when all of it happened in order.
 *
 * Usage: nest [--rounds N]   (Linux: the epoll backend; reactor's poll backend keeps no kernel
 * set, so reactor_backend_fd says REACTOR_ENOTSUP there.) */
#include <reactor.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct nest {
    int sv[2];     /* the socketpair reactor owns a channel on */
    int host[2];   /* the pipe the host loop watches */
    int target;    /* bytes to receive */
    int sent, got; /* counted by the timer and the channel */
    reactor_timer_t tick;
} nest;

static void on_tick(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)r;
    (void)t;
    nest *n = arg;
    if (n->sent < n->target && send(n->sv[1], "x", 1, 0) == 1)
        n->sent++;
}

static void on_data(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    nest *n = arg;
    char buf[64];
    if (events & REACTOR_READABLE) {
        ssize_t k = recv(n->sv[0], buf, sizeof buf, 0);
        if (k > 0)
            n->got += (int)k;
    }
    if (n->got >= n->target) {
        /* Done: reactor's part is over; tell the host. */
        reactor_remove(r, chn);
        reactor_timer_stop(r, n->tick);
        if (write(n->host[1], "!", 1) != 1)
            perror("write");
    }
}

int main(int argc, char **argv)
{
    nest n;
    memset(&n, 0, sizeof n);
    n.target = argc > 2 && !strcmp(argv[1], "--rounds") ? atoi(argv[2]) : 20;
    if (n.target <= 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, n.sv) != 0 || pipe(n.host) != 0) {
        fprintf(stderr, "nest: setup failed\n");
        return 1;
    }
    reactor_t *r;
    reactor_chn_t chn;
    intptr_t fd;
    int err = reactor_create(&r, NULL);
    if (!err)
        err = reactor_backend_fd(r, &fd);
    if (!err)
        err = reactor_add(r, n.sv[0], REACTOR_READABLE, on_data, &n, &chn);
    if (!err)
        err = reactor_timer_start(r, 5, 5, on_tick, &n, &n.tick);
    if (err) {
        fprintf(stderr, "nest: %s\n", reactor_strerror(err));
        return 1;
    }

    /* The host's loop: its own pipe, and reactor's descriptor. */
    int host_done = 0, wakes = 0;
    while (!host_done) {
        /* A non-blocking iteration first: it also arms what changed in reactor. */
        if (reactor_run_timeout(r, 0) < 0)
            return 1;
        struct pollfd pfd[2] = {{n.host[0], POLLIN, 0}, {(int)fd, POLLIN, 0}};
        int got = poll(pfd, 2, reactor_backend_timeout(r));
        if (got < 0 && errno != EINTR) {
            perror("poll");
            return 1;
        }
        if (pfd[1].revents)
            wakes++;
        if (pfd[0].revents)
            host_done = 1;
    }
    printf("nest: reactor got %d of %d bytes inside a host poll() loop (%d wake-ups by its "
           "descriptor)\n",
           n.got, n.sent, wakes);
    reactor_destroy(r);
    close(n.sv[0]);
    close(n.sv[1]);
    close(n.host[0]);
    close(n.host[1]);
    return n.got == n.target && n.sent == n.target && wakes > 0 ? 0 : 1;
}
