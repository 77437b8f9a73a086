/* echo.c - an echo server and a load client in one process and one loop, over loopback TCP.
 * Every socket is non-blocking; a side that cannot write everything asks for WRITABLE with
 * reactor_modify and drops it again once its backlog is gone (level-triggered: a WRITABLE
 * interest left on an idle socket would fire every iteration).
 *
 *   echo [--connections N] [--messages M] [--size B] [--window W] [--sockbuf B]
 *        [--deadline-ms T] [--backend poll|epoll|afd]
 *   echo --server-only [--port P]          then try: nc 127.0.0.1 P
 */
#include <reactor.h>

#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the few socket calls that differ between POSIX and Winsock ---- */
#if defined(_WIN32)
#include <winsock2.h>
#include <ws2tcpip.h>

static int net_init(void)
{
    WSADATA wsa;
    return WSAStartup(MAKEWORD(2, 2), &wsa) == 0 ? 0 : -1;
}
static void net_cleanup(void)
{
    WSACleanup();
}
static void net_close(reactor_socket_t s)
{
    closesocket((SOCKET)s);
}
static int net_nonblock(reactor_socket_t s)
{
    u_long one = 1;
    return ioctlsocket((SOCKET)s, FIONBIO, &one) == 0 ? 0 : -1;
}
static int net_err(void)
{
    return WSAGetLastError();
}
static int net_again(int err)
{
    return err == WSAEWOULDBLOCK;
}
static int net_connecting(int err)
{
    return err == WSAEWOULDBLOCK || err == WSAEINPROGRESS;
}
static long net_send(reactor_socket_t s, const void *p, size_t n)
{
    return send((SOCKET)s, (const char *)p, n > INT32_MAX ? INT32_MAX : (int)n, 0);
}
static long net_recv(reactor_socket_t s, void *p, size_t n)
{
    return recv((SOCKET)s, (char *)p, n > INT32_MAX ? INT32_MAX : (int)n, 0);
}
#else
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

static int net_init(void)
{
    signal(SIGPIPE, SIG_IGN); /* a write to a reset peer returns EPIPE instead of killing us */
    return 0;
}
static void net_cleanup(void) {}
static void net_close(reactor_socket_t s)
{
    close(s);
}
static int net_nonblock(reactor_socket_t s)
{
    int fl = fcntl(s, F_GETFL);
    return fl >= 0 && fcntl(s, F_SETFL, fl | O_NONBLOCK) == 0 ? 0 : -1;
}
static int net_err(void)
{
    return errno;
}
static int net_again(int err)
{
    return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}
static int net_connecting(int err)
{
    return err == EINPROGRESS || err == EINTR;
}
static long net_send(reactor_socket_t s, const void *p, size_t n)
{
    return (long)send(s, p, n, 0);
}
static long net_recv(reactor_socket_t s, void *p, size_t n)
{
    return (long)recv(s, p, n, 0);
}
#endif

/* ---- the program ---- */

#define ECHO_BUF 16384

typedef struct echo echo;

/* One socket. A server connection keeps what it read until it has echoed it; a client
 * connection keeps only counters, because the bytes it sends are a function of the offset. */
typedef struct conn {
    echo *app;
    struct conn *prev, *next; /* every open connection, for clean-up on error */
    reactor_socket_t sock;
    reactor_chn_t chn;
    unsigned interest;
    int client; /* client index + 1; 0 for a server connection */
    int connected;
    uint64_t sent, received; /* client: bytes of its stream sent and verified */
    size_t off, len;         /* server: buf[off, len) still to be echoed */
    unsigned char buf[ECHO_BUF];
} conn;

struct echo {
    reactor_t *loop;
    reactor_socket_t listener;
    reactor_chn_t listener_chn;
    conn *conns;
    int server_conns, clients_left;
    int server_only, failed;
    int connections, messages, sockbuf;
    size_t size, window;
    uint64_t blocked_writes; /* sends that hit a full socket and waited for WRITABLE */
    uint64_t deadline_ms, start_ms, end_ms;
};

/* Byte `off` of client c's stream: depends on the offset, so lost, doubled or reordered bytes
 * (and bytes of another connection) fail the comparison. */
static unsigned char echo_byte(int c, uint64_t off)
{
    uint32_t x = (uint32_t)off * 2654435761u + (uint32_t)c * 40503u + (uint32_t)(off >> 32);
    return (unsigned char)(x >> 24);
}

static void fail(echo *app, const char *what)
{
    if (!app->failed)
        fprintf(stderr, "echo: error: %s\n", what);
    app->failed = 1;
    reactor_stop(app->loop);
}

static void fail_code(echo *app, const char *what, int err)
{
    char msg[160];
    snprintf(msg, sizeof msg, "%s: %s (%s)", what, reactor_strerror(err), reactor_err_name(err));
    fail(app, msg);
}

static void fail_os(echo *app, const char *what, int oserr)
{
    char msg[160];
    snprintf(msg, sizeof msg, "%s: OS error %d", what, oserr);
    fail(app, msg);
}

/* Unregister before close: the library never closes sockets, and a number must not outlive
 * its socket (the OS may hand the same descriptor to the next accept). */
static void conn_close(conn *c)
{
    echo *app = c->app;
    reactor_remove(app->loop, c->chn);
    net_close(c->sock);
    if (c->prev)
        c->prev->next = c->next;
    else
        app->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (!c->client)
        app->server_conns--;
    free(c);
}

/* Asks for exactly the events the connection can act on now. */
static void conn_want(conn *c, unsigned interest)
{
    if (interest == c->interest)
        return;
    int err = reactor_modify(c->app->loop, c->chn, interest);
    if (err)
        fail_code(c->app, "reactor_modify", err);
    c->interest = interest;
}

/* All clients verified and all server connections gone: stop the deadline and the listener,
 * and reactor_run returns because nothing is left to wait for. */
static void check_done(echo *app)
{
    if (app->clients_left || app->server_conns)
        return;
    app->end_ms = reactor_now(app->loop);
    reactor_remove(app->loop, app->listener_chn);
    app->listener_chn = 0; /* a removed number may be handed out again: forget it */
}

/* ---- server side ---- */

static void server_io(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    conn *c = arg;
    echo *app = c->app;
    (void)r;
    (void)chn;
    int eof = 0;
    if ((events & (REACTOR_READABLE | REACTOR_HANGUP | REACTOR_ERROR)) && c->len < ECHO_BUF) {
        /* HANGUP can come with data still unread: read until recv says end of stream. */
        long n = net_recv(c->sock, c->buf + c->len, ECHO_BUF - c->len);
        if (n > 0)
            c->len += (size_t)n;
        else if (n == 0 || !net_again(net_err()))
            eof = 1;
    }
    while (c->off < c->len) {
        long n = net_send(c->sock, c->buf + c->off, c->len - c->off);
        if (n < 0) {
            if (net_again(net_err())) {
                app->blocked_writes++;
                break; /* partial write: WRITABLE below brings us back */
            }
            eof = 1;
            break;
        }
        c->off += (size_t)n;
    }
    if (c->off == c->len)
        c->off = c->len = 0;
    if (eof) {
        conn_close(c);
        if (!app->server_only)
            check_done(app);
        return;
    }
    /* Stop reading while the buffer is full (back-pressure); write only with a backlog. */
    conn_want(c, (c->len < ECHO_BUF ? REACTOR_READABLE : 0u) |
                     (c->off < c->len ? REACTOR_WRITABLE : 0u));
}

static void server_accept(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    echo *app = arg;
    (void)chn;
    (void)events;
    for (;;) {
        reactor_socket_t s = accept(app->listener, NULL, NULL);
        if (s == REACTOR_INVALID_SOCKET) {
            int e = net_err();
            if (!net_again(e))
                fail_os(app, "accept", e);
            return;
        }
        conn *c = calloc(1, sizeof *c);
        int err = c ? 0 : REACTOR_ENOMEM;
        if (!err && net_nonblock(s) != 0)
            err = REACTOR_ESYS;
        if (!err)
            err = reactor_add(r, s, REACTOR_READABLE, server_io, c, &c->chn);
        if (err) {
            free(c);
            net_close(s);
            fail_code(app, "accepting a connection", err);
            return;
        }
        c->app = app;
        c->sock = s;
        c->interest = REACTOR_READABLE;
        c->next = app->conns;
        if (c->next)
            c->next->prev = c;
        app->conns = c;
        app->server_conns++;
    }
}

/* ---- client side ---- */

static uint64_t client_total(const echo *app)
{
    return (uint64_t)app->messages * app->size;
}

/* Sends while fewer than `window` bytes are in flight. Returns 1 if the socket is full. */
static int client_send(conn *c)
{
    echo *app = c->app;
    unsigned char chunk[ECHO_BUF];
    uint64_t total = client_total(app);
    while (c->sent < total && c->sent - c->received < app->window) {
        uint64_t n = total - c->sent;
        uint64_t room = app->window - (c->sent - c->received);
        if (n > room)
            n = room;
        if (n > sizeof chunk)
            n = sizeof chunk;
        for (size_t i = 0; i < n; i++)
            chunk[i] = echo_byte(c->client, c->sent + i);
        long w = net_send(c->sock, chunk, (size_t)n);
        if (w < 0) {
            int e = net_err();
            if (net_again(e)) {
                app->blocked_writes++;
                return 1;
            }
            fail_os(app, "client send", e);
            return 0;
        }
        c->sent += (uint64_t)w; /* a partial write resumes at the offset it reached */
    }
    return 0;
}

static int client_receive(conn *c)
{
    echo *app = c->app;
    unsigned char chunk[ECHO_BUF];
    for (;;) {
        long n = net_recv(c->sock, chunk, sizeof chunk);
        if (n < 0) {
            int e = net_err();
            if (net_again(e))
                return 0;
            fail_os(app, "client recv", e);
            return -1;
        }
        if (n == 0) {
            fail(app, "server closed a connection before echoing everything");
            return -1;
        }
        if (c->received + (uint64_t)n > c->sent) {
            fail(app, "received more bytes than were sent");
            return -1;
        }
        for (long i = 0; i < n; i++) {
            if (chunk[i] != echo_byte(c->client, c->received + (uint64_t)i)) {
                char msg[120];
                snprintf(msg, sizeof msg, "connection %d: wrong byte at offset %llu", c->client - 1,
                         (unsigned long long)(c->received + (uint64_t)i));
                fail(app, msg);
                return -1;
            }
        }
        c->received += (uint64_t)n;
        if ((size_t)n < sizeof chunk)
            return 0;
    }
}

static void client_io(reactor_t *r, reactor_chn_t chn, unsigned events, void *arg)
{
    conn *c = arg;
    echo *app = c->app;
    (void)r;
    (void)chn;
    if (!c->connected) {
        /* A non-blocking connect completes as WRITABLE; SO_ERROR says whether it worked. */
        int soerr = 0;
        socklen_t len = sizeof soerr;
        if (getsockopt(c->sock, SOL_SOCKET, SO_ERROR, (char *)&soerr, &len) != 0 || soerr) {
            fail_os(app, "connect", soerr);
            return;
        }
        c->connected = 1;
    } else if (events & REACTOR_ERROR) {
        fail(app, "client socket error");
        return;
    }
    if ((events & (REACTOR_READABLE | REACTOR_HANGUP)) && client_receive(c) != 0)
        return;
    if (c->received == client_total(app)) {
        conn_close(c); /* the server sees end of stream and closes its side */
        app->clients_left--;
        check_done(app);
        return;
    }
    int full = client_send(c);
    if (app->failed)
        return;
    conn_want(c, REACTOR_READABLE | (full ? REACTOR_WRITABLE : 0u));
}

/* ---- set-up ---- */

/* Small kernel buffers make partial writes common: a test of the WRITABLE path. */
static void set_sockbuf(reactor_socket_t s, int bytes)
{
    if (bytes > 0) {
        setsockopt(s, SOL_SOCKET, SO_SNDBUF, (const char *)&bytes, sizeof bytes);
        setsockopt(s, SOL_SOCKET, SO_RCVBUF, (const char *)&bytes, sizeof bytes);
    }
}

static reactor_socket_t listen_on(uint16_t port, int sockbuf, uint16_t *bound)
{
    reactor_socket_t s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (s == REACTOR_INVALID_SOCKET)
        return s;
    set_sockbuf(s, sockbuf); /* accepted sockets inherit it */
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, (const char *)&one, sizeof one);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    socklen_t len = sizeof a;
    if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, SOMAXCONN) != 0 ||
        net_nonblock(s) != 0 || getsockname(s, (struct sockaddr *)&a, &len) != 0) {
        net_close(s);
        return REACTOR_INVALID_SOCKET;
    }
    *bound = ntohs(a.sin_port);
    return s;
}

static int start_client(echo *app, int index, uint16_t port)
{
    reactor_socket_t s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (s == REACTOR_INVALID_SOCKET)
        return REACTOR_ESYS;
    conn *c = calloc(1, sizeof *c);
    if (!c) {
        net_close(s);
        return REACTOR_ENOMEM;
    }
    int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
    set_sockbuf(s, app->sockbuf);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    int err = net_nonblock(s) == 0 ? 0 : REACTOR_ESYS;
    if (!err && connect(s, (struct sockaddr *)&a, sizeof a) != 0 && !net_connecting(net_err()))
        err = REACTOR_ESYS;
    /* WRITABLE reports the end of the connect; client_io then settles on READABLE. */
    if (!err)
        err = reactor_add(app->loop, s, REACTOR_READABLE | REACTOR_WRITABLE, client_io, c, &c->chn);
    if (err) {
        free(c);
        net_close(s);
        return err;
    }
    c->app = app;
    c->sock = s;
    c->client = index + 1;
    c->interest = REACTOR_READABLE | REACTOR_WRITABLE;
    c->next = app->conns;
    if (c->next)
        c->next->prev = c;
    app->conns = c;
    return 0;
}

static long parse(const char *flag, const char *val, long lo, long hi)
{
    char *end;
    long v = val ? strtol(val, &end, 10) : 0;
    if (!val || *end || v < lo || v > hi) {
        fprintf(stderr, "echo: %s needs a number in %ld..%ld\n", flag, lo, hi);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    echo app;
    memset(&app, 0, sizeof app);
    app.connections = 20;
    app.messages = 1000;
    app.size = 256;
    app.deadline_ms = 10000;
    long port = 7777, window = 0;
    reactor_options_t opts;
    memset(&opts, 0, sizeof opts); /* zeroed: defaults, REACTOR_BACKEND_DEFAULT */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--server-only")) {
            app.server_only = 1;
            continue;
        }
        if (!strcmp(a, "--connections"))
            app.connections = (int)parse(a, v, 1, 60000);
        else if (!strcmp(a, "--messages"))
            app.messages = (int)parse(a, v, 1, 100000000);
        else if (!strcmp(a, "--size"))
            app.size = (size_t)parse(a, v, 1, 1 << 24);
        else if (!strcmp(a, "--window"))
            window = parse(a, v, 1, 1 << 30);
        else if (!strcmp(a, "--sockbuf"))
            app.sockbuf = (int)parse(a, v, 0, 1 << 24);
        else if (!strcmp(a, "--deadline-ms"))
            app.deadline_ms = (uint64_t)parse(a, v, 1, 86400000);
        else if (!strcmp(a, "--backend") && v && !strcmp(v, "poll"))
            opts.backend = REACTOR_BACKEND_POLL;
        else if (!strcmp(a, "--backend") && v && !strcmp(v, "epoll"))
            opts.backend = REACTOR_BACKEND_EPOLL;
        else if (!strcmp(a, "--backend") && v && !strcmp(v, "afd"))
            opts.backend = REACTOR_BACKEND_AFD;
        else if (!strcmp(a, "--port"))
            port = parse(a, v, 0, 65535);
        else {
            fprintf(stderr, "usage: echo [--connections N] [--messages M] [--size B] "
                            "[--window W] [--sockbuf B] [--deadline-ms T]\n"
                            "            [--backend poll|epoll|afd]\n"
                            "       echo --server-only [--port P]\n");
            return 2;
        }
        i++;
    }
    /* By default one message is in flight per connection: send, wait for the echo, repeat. */
    app.window = window ? (size_t)window : app.size;

    if (net_init() != 0) {
        fprintf(stderr, "echo: socket start-up failed\n");
        return 1;
    }
    int err = reactor_create(&app.loop, &opts);
    if (err) {
        fprintf(stderr, "echo: reactor_create: %s\n", reactor_strerror(err));
        net_cleanup();
        return 1;
    }
    uint16_t bound = 0;
    app.listener = listen_on(app.server_only ? (uint16_t)port : 0, app.sockbuf, &bound);
    if (app.listener == REACTOR_INVALID_SOCKET) {
        fprintf(stderr, "echo: cannot listen on 127.0.0.1:%ld\n", app.server_only ? port : 0L);
        reactor_destroy(app.loop);
        net_cleanup();
        return 1;
    }
    err = reactor_add(app.loop, app.listener, REACTOR_READABLE, server_accept, &app,
                      &app.listener_chn);
    if (err)
        fail_code(&app, "reactor_add(listener)", err);

    if (app.server_only && !app.failed) {
        printf("echo: listening on 127.0.0.1:%u (%s backend); try: nc 127.0.0.1 %u\n", bound,
               reactor_backend_name(app.loop), bound);
        fflush(stdout);
        err = reactor_run(app.loop, REACTOR_RUN_DEFAULT);
    } else if (!app.failed) {
        app.start_ms = reactor_now(app.loop);
        for (int i = 0; i < app.connections && !app.failed; i++) {
            err = start_client(&app, i, bound);
            if (err)
                fail_code(&app, "starting a client", err);
            else
                app.clients_left++;
        }
        /* Bounded waits up to the deadline: no timer to start and stop for it. Returns 0 once
         * nothing is registered any more: every connection is done and the listener removed. */
        uint64_t until = app.start_ms + app.deadline_ms;
        while (!app.failed) {
            uint64_t now = reactor_now(app.loop);
            if (now >= until) {
                char msg[160];
                snprintf(msg, sizeof msg,
                         "deadline of %llu ms passed with %d of %d connections unfinished",
                         (unsigned long long)app.deadline_ms, app.clients_left, app.connections);
                fail(&app, msg);
                break;
            }
            uint64_t left = until - now;
            err = reactor_run_timeout(app.loop, left > INT_MAX ? INT_MAX : (int)left);
            if (err <= 0)
                break;
        }
    }
    if (err < 0)
        fail_code(&app, "reactor_run", err);

    int status = 0;
    if (app.failed || app.clients_left || app.server_conns) {
        status = 1;
    } else if (!app.server_only) {
        double secs = (double)(app.end_ms > app.start_ms ? app.end_ms - app.start_ms : 1) / 1e3;
        double msgs = (double)app.connections * app.messages;
        double bytes = msgs * (double)app.size;
        printf("echo: %d connections x %d messages x %zu bytes over %s: all %.0f bytes came back\n",
               app.connections, app.messages, app.size, reactor_backend_name(app.loop), bytes);
        printf("echo: %.3f s, %.0f messages/s, %.1f MB/s each way, %llu writes waited for "
               "WRITABLE\n",
               secs, msgs / secs, bytes / secs / 1e6, (unsigned long long)app.blocked_writes);
    }
    /* Whatever is still open after a failure: unregister, then close. */
    while (app.conns)
        conn_close(app.conns);
    if (app.listener_chn)
        reactor_remove(app.loop, app.listener_chn);
    net_close(app.listener);
    reactor_destroy(app.loop);
    net_cleanup();
    return status;
}
