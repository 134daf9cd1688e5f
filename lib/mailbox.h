/*
 * A mailbox is one person's account, and behaves like one: the rule that
 * says whether a message may leave from it now. It is under its day's
 * limit; it has no more SMTP sessions open (in every run at once) than
 * max_connections, and, with max_per_minute, has started no more than
 * that in the last minute; and it is not resting. A mailbox that failed to
 * log in or to set up TLS rests, for 5 min, 15 min, 1 h and then 1 h
 * after each failure, unless what it logs in with has changed since (its
 * fingerprint): then it is tried at once. The first message a resting
 * mailbox may send again is its probe: the claim that takes it moves the
 * rest on, so that overlapping runs try one login per step, not one
 * each. A mailbox whose hard bounces passed its bounce guard is paused
 * until an operator resumes it. Pure: the store reads the state, this
 * decides.
 */
#ifndef MQ_MAILBOX_H
#define MQ_MAILBOX_H

#include <stddef.h>
#include <time.h>

#include <sqlite3.h>

/* A mailbox as a claim sees it. */
struct mq_mailbox_state {
	sqlite3_int64 id;
	char          name[64];
	int           position;        /* in the campaign's rotation */
	int           usable;          /* enabled, not retired */
	int           today, daily_limit;
	int           in_flight, max_connections;
	int           last_minute, max_per_minute;   /* 0: no cap */
	time_t        failing_since;   /* 0: not failing */
	time_t        rest_until;      /* 0: not resting */
	int           fail_count;
	char          fail_conf[17];   /* fingerprint when it last failed */
	char          last_error[200];
	char          paused_why[120]; /* "": not paused by its bounce guard */
};

enum mq_mailbox_why {
	MQ_MAILBOX_OK,
	MQ_MAILBOX_PROBE,       /* ok, and the try decides whether it rests on */
	MQ_MAILBOX_DISABLED,    /* disabled or retired */
	MQ_MAILBOX_PAUSED,      /* its bounce guard tripped: until resumed */
	MQ_MAILBOX_UNAVAILABLE, /* not this run: its OAuth2 provider was out
	                           of reach */
	MQ_MAILBOX_LIMIT,       /* at its day's limit */
	MQ_MAILBOX_BUSY,        /* max_connections sessions open */
	MQ_MAILBOX_RATE,        /* max_per_minute started in the last minute */
	MQ_MAILBOX_RESTING      /* failed; resting until rest_until */
};

/* Seconds after which a claim no longer counts as an open session (its
 * run died on another host; mailq-reclaim will see to it). A claim of a
 * run that died on this host never counts. */
#define MQ_MAILBOX_SESSION_MAX 300

/* Whether a message may leave from m at now, given the fingerprint of
 * what the run's config logs in with (NULL: unknown, taken as unchanged). */
enum mq_mailbox_why mq_mailbox_why(const struct mq_mailbox_state *m,
    time_t now, const char *fingerprint);

/* The rest after the n-th failure in a row (n >= 1): 300, 900, 3600, then
 * 3600 seconds. */
int mq_mailbox_rest(int n);

/* When a message may next leave from m, as far as m itself goes (not its
 * day limit): now, or the end of its rest, or in a moment (busy, rate). */
time_t mq_mailbox_free_at(const struct mq_mailbox_state *m,
    enum mq_mailbox_why why, time_t now);

/* A few words on why, for reports: "resting until 10:35 after 2 failures
 * (535 ...)" needs the caller's time formatting, so this says the rest:
 * "disabled", "at its day's limit (50)", "2 sessions open (max 2)", ... */
void mq_mailbox_describe(const struct mq_mailbox_state *m,
    enum mq_mailbox_why why, char *buf, size_t size);

#endif
