/* nofile.c - runs a command with RLIMIT_NOFILE raised: `nofile N command [args...]` sets the
 * soft limit to N (at most the hard limit) and execs the command, which inherits it. POSIX. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: nofile N command [args...]\n");
        return 2;
    }
    rlim_t want = (rlim_t)strtoull(argv[1], NULL, 10);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        perror("nofile: getrlimit");
        return 2;
    }
    if (rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max) {
        fprintf(stderr, "nofile: hard limit %llu is below %llu\n", (unsigned long long)rl.rlim_max,
                (unsigned long long)want);
        return 2;
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur < want) {
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            perror("nofile: setrlimit");
            return 2;
        }
    }
    execv(argv[2], argv + 2);
    fprintf(stderr, "nofile: exec %s: %s\n", argv[2], strerror(errno));
    return 2;
}
