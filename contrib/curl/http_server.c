/* http_server.c - python3's http.server as a child process for the tests. The server binds
 * port 0 (twice) and prints the ports it got on a pipe, so no other process can take a port
 * between choosing and binding. It exits when its stdin (a pipe from us) reaches end of file,
 * removing the files' directory, so it also goes when the test dies without its tear-down
 * (ctest would otherwise wait for it). */
#include "http_server.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char hs__script[] =
    "import functools, http.server, os, shutil, sys, threading\n"
    "class H(http.server.SimpleHTTPRequestHandler):\n"
    "    def log_message(self, *a):\n"
    "        pass\n"
    "class H11(H):\n"
    "    protocol_version = 'HTTP/1.1'\n"
    "class S(http.server.ThreadingHTTPServer):\n"
    "    request_queue_size = 1024\n" /* 5 by default: SYNs of 200 clients would be dropped */
    "    daemon_threads = True\n"
    "s = S(('127.0.0.1', 0), functools.partial(H, directory=sys.argv[1]))\n"
    "s11 = S(('127.0.0.1', 0), functools.partial(H11, directory=sys.argv[1]))\n"
    "threading.Thread(target=s11.serve_forever, daemon=True).start()\n"
    "print(s.server_address[1], s11.server_address[1], flush=True)\n"
    "def watch():\n"
    "    sys.stdin.read()\n"
    "    shutil.rmtree(sys.argv[1], ignore_errors=True)\n"
    "    os._exit(0)\n"
    "threading.Thread(target=watch, daemon=True).start()\n"
    "s.serve_forever()\n";

static uint64_t hs__next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static int hs__write(hs_server *s, size_t i, size_t size, uint64_t *rng)
{
    hs_file *f = &s->files[i];
    char path[128];
    snprintf(f->name, sizeof f->name, "f%u", (unsigned)i);
    if (snprintf(path, sizeof path, "%s/%s", s->dir, f->name) >= (int)sizeof path)
        return -1;
    f->size = size;
    f->data = malloc(size ? size : 1);
    if (!f->data)
        return -1;
    for (size_t k = 0; k < size; k++)
        f->data[k] = (unsigned char)(hs__next(rng) >> 32);
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return -1;
    size_t n = fwrite(f->data, 1, size, fp);
    return fclose(fp) == 0 && n == size ? 0 : -1;
}

static void hs__cloexec(int fd)
{
    fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static long hs__ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)((t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000);
}

/* Reads the line "port port11" from fd within 15 s; -1 when none came. */
static int hs__read_ports(hs_server *s, int fd)
{
    char line[40];
    size_t len = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (len < sizeof line - 1 && !memchr(line, '\n', len)) {
        long left = 15000 - hs__ms_since(&t0);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int rv = left > 0 ? poll(&p, 1, (int)left) : 0;
        if (rv < 0 && errno == EINTR)
            continue;
        if (rv <= 0)
            break;
        ssize_t n = read(fd, line + len, sizeof line - 1 - len);
        if (n <= 0)
            break; /* python3 died */
        len += (size_t)n;
    }
    line[len] = '\0';
    char *end;
    long port = strtol(line, &end, 10);
    long port11 = strtol(end, &end, 10);
    if (*end != '\n' || port <= 0 || port >= 65536 || port11 <= 0 || port11 >= 65536)
        return -1;
    s->port = (int)port;
    s->port11 = (int)port11;
    return 0;
}

static int hs__spawn(hs_server *s, const char *python)
{
    int in[2], out[2];
    if (pipe(in) != 0)
        return -1;
    if (pipe(out) != 0) {
        close(in[0]);
        close(in[1]);
        return -1;
    }
    hs__cloexec(in[1]);
    hs__cloexec(out[0]);
    s->pid = fork();
    if (s->pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(in[0], 0);
        dup2(out[1], 1);
        if (null >= 0)
            dup2(null, 2);
        execl(python, "python3", "-c", hs__script, s->dir, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    s->to_child = in[1];
    int rv = s->pid > 0 ? hs__read_ports(s, out[0]) : -1;
    close(out[0]);
    return rv;
}

/* The server listens before it prints its ports: one connect must succeed at once. */
static int hs__accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    return ok ? 0 : -1;
}

static int hs__bind_refused(hs_server *s)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof a;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->refused_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (s->refused_fd < 0 || bind(s->refused_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(s->refused_fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    hs__cloexec(s->refused_fd);
    s->refused_port = ntohs(a.sin_port);
    return 0;
}

int hs_start(hs_server *s, const char *python, const size_t *sizes, size_t nfiles, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    s->pid = -1;
    s->to_child = -1;
    s->refused_fd = -1;
    if (nfiles > HS_MAX_FILES)
        return -1;
    strcpy(s->dir, "/tmp/reactor_curl.XXXXXX");
    if (!mkdtemp(s->dir)) {
        s->dir[0] = '\0';
        return -1;
    }
    uint64_t rng = seed ? seed : 1;
    for (; s->nfiles < nfiles; s->nfiles++)
        if (hs__write(s, s->nfiles, sizes[s->nfiles], &rng) != 0)
            return -1;
    if (hs__spawn(s, python) != 0 || hs__accepts(s->port) != 0 || hs__accepts(s->port11) != 0)
        return -1;
    return hs__bind_refused(s);
}

void hs_stop(hs_server *s)
{
    if (s->to_child >= 0)
        close(s->to_child);
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR) {
        }
    }
    if (s->refused_fd >= 0)
        close(s->refused_fd);
    for (size_t i = 0; i < HS_MAX_FILES; i++) {
        char path[128];
        if (s->files[i].name[0] &&
            snprintf(path, sizeof path, "%s/%s", s->dir, s->files[i].name) < (int)sizeof path)
            unlink(path);
        free(s->files[i].data);
    }
    if (s->dir[0])
        rmdir(s->dir);
    memset(s, 0, sizeof *s);
    s->pid = -1;
    s->to_child = -1;
    s->refused_fd = -1;
}
