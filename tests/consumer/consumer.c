/* consumer.c - a program built the way an outside project builds against reactor: it sees only
 * <reactor.h> and the library. Checks that header, library and build system agree on the
 * version, runs a loop with one timer, and reads an error name. Exit 0 means all held. */
#include <reactor.h>

#include <stdio.h>
#include <string.h>

static int failures;

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "consumer: FAILED: %s\n", what);
        failures++;
    }
}

static void on_timer(reactor_t *r, reactor_timer_t t, void *arg)
{
    (void)r;
    (void)t;
    ++*(int *)arg;
}

int main(void)
{
    char header[32];
    snprintf(header, sizeof header, "%d.%d.%d", REACTOR_VERSION_MAJOR, REACTOR_VERSION_MINOR,
             REACTOR_VERSION_PATCH);
    unsigned packed = ((unsigned)REACTOR_VERSION_MAJOR << 16) |
                      ((unsigned)REACTOR_VERSION_MINOR << 8) | (unsigned)REACTOR_VERSION_PATCH;
    check(reactor_version() == packed, "reactor_version() matches the header's macros");
    check(strcmp(reactor_version_string(), header) == 0,
          "reactor_version_string() matches the header's macros");
#ifdef CONSUMER_EXPECT_VERSION
    check(strcmp(header, CONSUMER_EXPECT_VERSION) == 0,
          "the header's version is the build system's (project(VERSION))");
#endif

    reactor_t *r = NULL;
    int err = reactor_create(&r, NULL);
    check(err == 0, "reactor_create");
    if (err)
        return 1;
    int fired = 0;
    reactor_timer_t t = 0;
    check(reactor_timer_start(r, 1, 0, on_timer, &fired, &t) == 0, "reactor_timer_start");
    check(reactor_run(r, REACTOR_RUN_DEFAULT) == 0, "reactor_run returns 0 once nothing is left");
    check(fired == 1, "the timer fired once");
    reactor_stats_t st;
    check(reactor_stats(r, &st) == 0 && st.timers_fired == 1 && st.timers == 0, "reactor_stats");
    check(reactor_remove(r, 1) == REACTOR_EBADCHN, "removing an unknown channel is EBADCHN");
    check(strcmp(reactor_err_name(REACTOR_EBADCHN), "REACTOR_EBADCHN") == 0, "reactor_err_name");
    const char *backend = reactor_backend_name(r);
    check(backend != NULL, "reactor_backend_name");
    printf("consumer: reactor %s, %s backend: %s\n", reactor_version_string(),
           backend ? backend : "?", failures ? "FAILED" : "ok");
    reactor_destroy(r);
    return failures ? 1 : 0;
}
