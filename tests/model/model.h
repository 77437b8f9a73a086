/* model.h - the plain reference model of a loop: channel numbers (FIFO reuse), channels and
 * their sockets' readiness, timers as due-time intervals, wake-up and stop flags. It knows
 * nothing of the library; driver.c runs both and compares. */
#ifndef MDL_MODEL_H
#define MDL_MODEL_H

#include "reactor.h"

#include <stdint.h>

#define MDL_MAX_SOCKS 128u
#define MDL_MAX_CHN 256u /* numbers never exceed the peak channel count: at most MDL_MAX_SOCKS */
#define MDL_MAX_TIMERS 64u
#define MDL_DEAD_IDS 16u
#define MDL_RW (REACTOR_READABLE | REACTOR_WRITABLE | REACTOR_HALFCLOSE)

/* One socket of a pair; socket i's peer is i ^ 1. */
typedef struct mdl_sock {
    uint32_t unread;  /* bytes the peer wrote that this socket has not read */
    uint32_t writes;  /* peer writes since unread was last 0 (bounds kernel buffer use) */
    uint8_t eof_in;   /* the peer shut down its sending side */
    uint8_t shut_out; /* this socket shut down its sending side */
    uint16_t chn;     /* registered as this channel, 0 if not */
} mdl_sock;

typedef struct mdl_chan {
    uint8_t live;
    uint8_t interest; /* REACTOR_READABLE | REACTOR_WRITABLE | REACTOR_HALFCLOSE */
    uint16_t sock;
    uint32_t added_run;    /* the run it was added in (from a callback), else 0 */
    uint32_t modified_run; /* the last run a callback modified it in */
    uint32_t called_run;   /* the last run it got a callback in */
    uint64_t owed_since;   /* eventual mode: clock when an expected event was first missed */
} mdl_chan;

typedef struct mdl_timer {
    reactor_timer_t id;
    uint8_t active;
    uint8_t fired_run_flag;
    uint32_t fired_run;
    uint64_t seq;            /* start (or reschedule) order, as the library counts it */
    uint64_t due_lo, due_hi; /* the due time lies in [due_lo, due_hi] (ns, the loop's clock) */
    uint64_t repeat_ns;
} mdl_timer;

typedef struct mdl_model {
    mdl_sock sock[MDL_MAX_SOCKS];
    uint32_t nsocks;
    mdl_chan chan[MDL_MAX_CHN];
    uint16_t fifo[MDL_MAX_CHN]; /* released numbers, oldest first */
    uint32_t fifo_head, fifo_len;
    uint32_t fresh; /* lowest number never handed out */
    uint32_t live;
    mdl_timer timer[MDL_MAX_TIMERS];
    uint32_t timers_active;
    uint64_t seq;
    reactor_timer_t dead[MDL_DEAD_IDS]; /* stopped or expired IDs */
    uint32_t dead_n;
    int wake_pending, stop_flag;
    /* What reactor_stats must say. */
    uint64_t io_calls, timer_calls, wake_calls, iterations;
} mdl_model;

void mdl_init(mdl_model *m, uint32_t nsocks);

/* Channels. */
reactor_chn_t mdl_next_chn(const mdl_model *m);
int mdl_chn_live(const mdl_model *m, uint32_t chn);
reactor_chn_t mdl_add(mdl_model *m, uint32_t sock, unsigned interest, uint32_t run);
void mdl_remove(mdl_model *m, reactor_chn_t chn);
/* A released number that has not been handed out again, or 0. */
reactor_chn_t mdl_stale_chn(const mdl_model *m, uint32_t pick);
/* Exactly what a poll/epoll backend reports for chn now (level-triggered). */
unsigned mdl_expected(const mdl_model *m, reactor_chn_t chn);
/* What any backend may report for chn now (a superset: AFD reports late and may report a
 * READABLE whose data was read in between). */
unsigned mdl_allowed(const mdl_model *m, reactor_chn_t chn);

/* Timers. */
int mdl_timer_find(const mdl_model *m, reactor_timer_t id);
int mdl_timer_add(mdl_model *m, reactor_timer_t id, uint64_t due_lo, uint64_t due_hi,
                  uint64_t repeat_ns);
void mdl_timer_kill(mdl_model *m, int idx);
/* A timer fired at loop time now_ms: one-shots expire, repeating ones are rescheduled. */
void mdl_timer_fired(mdl_model *m, int idx, uint64_t now_ms, uint32_t run);
/* a must fire before b when both are due in one pass. */
int mdl_timer_must_precede(const mdl_timer *a, const mdl_timer *b);

#endif
