/*
 * The store's side of mailq-stats: read-only counts over every campaign,
 * mailbox and sender, the health checks, and one campaign in detail. The
 * counts of all campaigns come from one grouped pass per table over its
 * (campaign_id, status) index, so that the default view stays fast on a
 * million leads. Everything is read inside one deferred read transaction
 * (mq_db_stats_begin), so that all figures come from the same snapshot;
 * nothing here writes or takes a write lock.
 */
#ifndef MQ_DB_STATS_H
#define MQ_DB_STATS_H

#include <time.h>

#include "db.h"
#include "db_campaign.h"
#include "err.h"

/* Starts one read snapshot (BEGIN, deferred: no write lock). */
int mq_db_stats_begin(struct mq_db *db, struct mq_err *err);

/* Ends it; never fails. */
void mq_db_stats_end(struct mq_db *db);

/* The classes of inbound messages, as the inbound table names them. */
enum { MQ_IN_OWN, MQ_IN_HARD_BOUNCE, MQ_IN_SOFT_BOUNCE, MQ_IN_AUTO_REPLY,
       MQ_IN_UNSUBSCRIBE, MQ_IN_REPLY, MQ_IN_UNMATCHED, MQ_IN_DUPLICATE,
       MQ_IN_N };
extern const char *const mq_db_inbound_classes[MQ_IN_N];

/* Leads of step 0's variant letter whose first message left (sent,
 * bounced or unknown), and how many of them replied (campaign_lead
 * status 'replied': by mail, or marked by mailq-campaign replied). */
struct mq_db_stats_variant {
	char letter[16];
	int  contacted, replied;
};

#define MQ_DB_STATS_VARIANTS 26

/* One campaign's counts. */
struct mq_db_stats_counts {
	int lead[MQ_LEAD_N];        /* campaign_lead by status */
	int msg[MQ_MSG_N];          /* send_log by status */
	int pending;                /* queue items waiting */
	int sending;                /* queue items claimed */
	int stuck;                  /* claimed before the stuck limit */
	int inbound[MQ_IN_N];       /* inbound messages matched to it */
	int resolved;               /* 'unknown' messages proved delivered:
	                               inbound rows marked resolved, and
	                               messages found in a Sent folder */
	int contacted, replied;     /* the sum of its variants' */
	struct mq_db_stats_variant variant[MQ_DB_STATS_VARIANTS];
	int n_variants;             /* step 0's, by letter; with leads of a
	                               letter no longer in step 0 */
};

/* Fills k[i] for the campaign ids[i], i < n (k zeroed first): one grouped
 * query per table (campaign_lead, send_log, inbound, the attempts that
 * hold Sent-folder evidence, and step 0's leads by letter). Claims older
 * than stuck_before are stuck. */
int mq_db_stats_counts(struct mq_db *db, const sqlite3_int64 *ids, int n,
    time_t stuck_before, struct mq_db_stats_counts *k, struct mq_err *err);

enum mq_db_stats_by { MQ_DB_STATS_CAMPAIGN, MQ_DB_STATS_MAILBOX,
    MQ_DB_STATS_SENDER };

/* Attempts of campaign, mailbox or sender id since `since` that count
 * against a daily limit (in flight, sent, unknown, bounced, refused), the
 * way the claim counts them, in *n. */
int mq_db_stats_today(struct mq_db *db, enum mq_db_stats_by by,
    sqlite3_int64 id, time_t since, int *n, struct mq_err *err);

struct mq_db_stats_mailbox {
	sqlite3_int64 id;
	char          name[128];
	char          sender[128];
	char          address[320];
	char          last_error[256];     /* "" when none */
	int           daily_limit, enabled, retired;
	time_t        failing_since;       /* 0 when not failing */
	time_t        rest_until;          /* failing: tried again then */
	int           failures;            /* failures in a row */
	int           sent;                /* messages sent, ever */
	int           bounce_rate;         /* % of bounce_window that pauses
	                                      it; 0: never */
	time_t        paused_at;           /* 0: not paused by its bounce
	                                      guard */
	char          paused_why[200];
	time_t        fetched_at;          /* last folder opened by
	                                      mailq-fetch; 0: never */
	char          fetch_error[256];    /* "FOLDER: error; ...", "" */
	int           inbound[MQ_IN_N];    /* messages read, by class */
	int           read;                /* all messages read */
};

/* Every mailbox, retired last, then by name; *out is malloc'd (free it).
 * The inbound counts come from one grouped query over inbound. */
int mq_db_stats_mailboxes(struct mq_db *db, struct mq_db_stats_mailbox **out,
    int *n, struct mq_err *err);

struct mq_db_stats_sender {
	sqlite3_int64 id;
	char          name[128];
	int           daily_limit, retired;
	int           mailboxes, campaigns;     /* not retired */
};

/* Every sender, retired last, then by name; *out is malloc'd (free it). */
int mq_db_stats_senders(struct mq_db *db, struct mq_db_stats_sender **out,
    int *n, struct mq_err *err);

/* Messages (campaign, lead, step) with more than one send-log row, in *n:
 * counted with a GROUP BY over the send log, never assumed from
 * its UNIQUE index. Must be 0. */
int mq_db_stats_duplicates(struct mq_db *db, int *n, struct mq_err *err);

/* One campaign in detail. */
struct mq_db_stats_step {
	int  step;
	char letter[16];
	int  msg[MQ_MSG_N];     /* send_log by status for this step and variant */
};

struct mq_db_stats_failure {
	int  code;              /* SMTP code, 0 when there was none */
	int  count;             /* attempts */
	char reply[256];        /* the latest reply with that code */
};

struct mq_db_stats_item {
	char   lead[320];
	int    step;
	time_t due;             /* scheduled_at */
};

struct mq_db_stats_send {
	time_t at;              /* the attempt's start */
	char   lead[320];
	char   mailbox[128];
	int    step;
	char   letter[16];
	char   outcome[16];     /* attempt outcome, "sending" while open */
	int    code;
	char   reply[256];
};

/* An inbound message as mailq-fetch decided it. */
struct mq_db_stats_inbound {
	time_t read_at;
	char   mailbox[128];
	char   folder[128];
	char   from[320];
	char   subject[200];
	char   cls[16];         /* a name of mq_db_inbound_classes */
	char   reason[400];
	char   lead[320];       /* what it matched, or "" */
	char   campaign[128];
	int    resolved;        /* proved an 'unknown' message delivered */
};

/* Up to limit inbound messages: the unmatched ones first (they need a
 * human), newest first, then the others, newest first. */
int mq_db_stats_inbox(struct mq_db *db, int limit,
    struct mq_db_stats_inbound **out, int *n, struct mq_err *err);

/* Steps and variants with their message counts, by step then letter. */
int mq_db_stats_steps(struct mq_db *db, sqlite3_int64 id,
    struct mq_db_stats_step **out, int *n, struct mq_err *err);

/* Attempts that did not send, grouped by SMTP code, most frequent first. */
int mq_db_stats_failures(struct mq_db *db, sqlite3_int64 id,
    struct mq_db_stats_failure **out, int *n, struct mq_err *err);

/* Up to limit pending items in the order the claim takes them. */
int mq_db_stats_pending(struct mq_db *db, sqlite3_int64 id, int limit,
    struct mq_db_stats_item **out, int *n, struct mq_err *err);

/* The limit latest attempts, newest first. */
int mq_db_stats_recent(struct mq_db *db, sqlite3_int64 id, int limit,
    struct mq_db_stats_send **out, int *n, struct mq_err *err);

#endif
