/*
 * What mailq-stats shows, collected once into plain structs from one read
 * snapshot of the store, then rendered three ways (stats_fmt.h): a
 * terminal table, JSON and Prometheus metrics, so the three always agree.
 * Times are UTC epoch seconds; each campaign's window, day and next send
 * are judged in its own time zone, the mailboxes' and senders' days in
 * the default one (the config's).
 */
#ifndef MQ_STATS_H
#define MQ_STATS_H

#include <time.h>

#include "db.h"
#include "db_campaign.h"
#include "db_stats.h"
#include "err.h"
#include "sched.h"

struct mq_stats_campaign {
	struct mq_db_campaign     c;          /* settings and status */
	struct mq_db_stats_counts k;          /* leads, messages, queue */
	int                       leads;      /* all leads */
	int                       today;      /* counted against daily_limit */
	time_t                    next_send;  /* 0: not sending */
	int                       window_open;
	char                      window[96]; /* "open", "closed until Mon
	                                         09:00", "holiday: ..." */
	double                    progress;   /* % of leads finished */
	struct mq_db_waiting     *waiting;    /* threads waiting for a mailbox
	                                         that may not send for it */
	int                       n_waiting;
};

struct mq_stats_mailbox {
	struct mq_db_stats_mailbox m;
	int                        today;
	int                        bounced;  /* hard bounces of its last */
	int                        window;   /* bounce_window sends, as its
	                                        bounce guard counts them */
};

struct mq_stats_sender {
	struct mq_db_stats_sender s;
	int                       today;
};

struct mq_stats_upcoming {
	time_t at;            /* projected send time, 0 if not sending */
	char   lead[320];
	int    step;
};

/* One campaign in detail (--campaign). */
struct mq_stats_detail {
	int                         index;     /* into mq_stats.campaigns */
	struct mq_db_stats_step    *steps;
	int                         n_steps;
	struct mq_db_stats_failure *failures;
	int                         n_failures;
	struct mq_stats_upcoming   *upcoming;
	int                         n_upcoming;
	struct mq_db_stats_send    *recent;
	int                         n_recent;
};

struct mq_stats_health {
	int stuck;              /* claims 'sending' for stuck_after or longer */
	int unknown;            /* messages whose delivery is unknown */
	int duplicates;         /* must be 0 */
	int mailboxes_failing;  /* not retired, failing (auth, TLS) */
};

struct mq_stats {
	time_t                    now;
	const char               *timezone;   /* the request's (not owned) */
	int                       stuck_after;
	struct mq_stats_campaign *campaigns;
	int                       n_campaigns;
	struct mq_stats_mailbox  *mailboxes;
	int                       n_mailboxes;
	struct mq_stats_sender   *senders;
	int                       n_senders;
	struct mq_stats_health    health;
	struct mq_stats_detail   *detail;     /* NULL without a campaign */
	int                       inbox_asked;/* the request's inbox > 0 */
	struct mq_db_stats_inbound *inbox;    /* unmatched first, then newest */
	int                       n_inbox;
};

struct mq_stats_req {
	time_t      now;
	const char *timezone;     /* the mailboxes' and senders' day */
	const char *campaign;     /* detail for this one, or NULL */
	int         recent;       /* recent attempts in the detail */
	int         stuck_after;  /* seconds; a claim that old is stuck */
	int         inbox;        /* list this many inbound messages; 0: none */
};

/* Collects everything into *st (free with mq_stats_free) from one read
 * snapshot. MQ_PERM (EX_NOINPUT) when req->campaign does not exist. */
int mq_stats_collect(struct mq_db *db, const struct mq_stats_req *req,
    struct mq_stats *st, struct mq_err *err);

/* part as a percentage of whole, 0 when whole is 0: a reply rate, a
 * bounce rate, progress. */
double mq_stats_percent(int part, int whole);

/* Frees what st holds (not st itself). */
void mq_stats_free(struct mq_stats *st);

/* The campaign's window at now, as shown: *open and "open", "closed until
 * Mon 09:00" (a date when over a week away) or "holiday: NAME". */
void mq_stats_window(const struct mq_sched *s, time_t now, int *open,
    char *buf, size_t len);

/* Projects the send times of n due items (due[i]: their scheduled_at, in
 * the order the claim takes them) into at[i]: the first at the later of
 * next_send_at and now, each next one delay seconds on (never before it
 * is due), every one moved into the window, and no more than daily_limit
 * (of which sent_today are used) in one local day. MQ_PERM when the
 * window never opens. */
int mq_stats_project(const struct mq_sched *s, time_t next_send_at,
    time_t now, int delay, int daily_limit, int sent_today,
    const time_t *due, int n, time_t *at, struct mq_err *err);

#endif
