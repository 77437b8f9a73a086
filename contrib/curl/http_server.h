/* http_server.h - the test's HTTP server: python3's http.server on 127.0.0.1, on ports it
 * picks itself (one answering HTTP/1.0 and closing every connection, one HTTP/1.1 keeping them
 * open), serving random files written to a temporary directory first; and a port on which
 * connects are refused. One per process; started and stopped by the cmocka group. */
#ifndef HTTP_SERVER_H
#define HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HS_MAX_FILES 8

typedef struct hs_file {
    char name[16]; /* the URL path below / */
    unsigned char *data;
    size_t size;
} hs_file;

/* Owns its files' bytes, its temporary directory, the child and the refused socket; hs_stop
 * frees and removes them all, whatever hs_start got to. */
typedef struct hs_server {
    pid_t pid;
    int to_child;   /* the server's stdin: at end of file it exits */
    int port;       /* HTTP/1.0: the server closes each connection after its response */
    int port11;     /* HTTP/1.1: connections stay open for reuse */
    int refused_fd; /* bound, never listening: connects to its port are refused */
    int refused_port;
    char dir[64];
    hs_file files[HS_MAX_FILES];
    size_t nfiles;
} hs_server;

/* Writes nfiles files of the given sizes (random bytes from seed) and starts python (a path)
 * serving them; returns once the server accepts connections (at most 15 s), 0 or -1. Call
 * hs_stop in both cases. */
int hs_start(hs_server *s, const char *python, const size_t *sizes, size_t nfiles, uint64_t seed);
/* Kills and reaps the server, closes the refused port, removes the files. */
void hs_stop(hs_server *s);

#endif /* HTTP_SERVER_H */
