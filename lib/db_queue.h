/*
 * The queue's SQL: planning, the claim, the data phase and the outcome.
 * The claim is one BEGIN IMMEDIATE transaction that checks and advances
 * everything overlapping runs must see (the campaign's pace, the day's
 * counts of campaign, sender and mailbox, the round-robin cursor), inserts
 * the message's send_log row under its UNIQUE (campaign, lead, step) index
 * and moves the queue item to 'sending' with its owner. The outcome is a
 * second transaction, guarded by the claim it closes. No network I/O ever
 * happens inside these transactions: the caller sends between them.
 */
#ifndef MQ_DB_QUEUE_H
#define MQ_DB_QUEUE_H

#include <time.h>

#include "db.h"
#include "err.h"
#include "owner.h"


/* A campaign as the tick needs it. */
struct mq_db_run_campaign {
	sqlite3_int64 id;
	char          name[64];
	char          status[16];
	char          timezone[64];
	char          holidays[16];
	char         *extra_holidays;     /* malloc'd */
	int           days, start_min, end_min;
	int           delay, jitter, daily_limit, buffer;
	int           retry_attempts;
	int           backoff[32];        /* seconds before retry i + 1 */
	time_t        next_send_at;
};

/* Campaigns that may send (scheduled or running, not retired), or just
 * the one named only (NULL: all). *out is malloc'd (free each
 * extra_holidays and the array). */
int mq_db_run_campaigns(struct mq_db *db, const char *only,
    struct mq_db_run_campaign **out, int *n, struct mq_err *err);

/* Seconds before retry i + 1 (i from 0) in a "60,300,900" list; past its
 * end the last value repeats. */
int mq_db_backoff_at(const char *list, int i);

/* scheduled -> running. */
int mq_db_set_running(struct mq_db *db, sqlite3_int64 campaign,
    time_t now, struct mq_err *err);

/* Keeps up to buffer first-step items pending, refilling it once it is
 * half empty: queued leads get their variant (chosen once, weighted,
 * stable for a lead) and a queue item due from now; suppressed leads are
 * skipped and their items cancelled. Marks the campaign completed when
 * nothing is left. *planned gets the number of new items, *completed
 * whether it ended. One transaction, none while the buffer is over half
 * full. */
int mq_db_plan(struct mq_db *db, sqlite3_int64 campaign, time_t now,
    int *planned, int *completed, struct mq_err *err);

/* The index of the variant (0 .. n-1) a lead gets among n variants of the
 * given weights: deterministic in (campaign, lead), each variant's share
 * of many leads near its weight's share. */
int mq_db_pick_variant(const int *weight, int n, sqlite3_int64 campaign,
    sqlite3_int64 lead);

enum mq_claim_status {
	MQ_CLAIM_OK,          /* claimed: see struct mq_claim */
	MQ_CLAIM_NONE,        /* nothing due */
	MQ_CLAIM_PACE,        /* the campaign's next send time is later */
	MQ_CLAIM_LIMIT,       /* campaign or sender at the day's limit */
	MQ_CLAIM_NO_MAILBOX,  /* messages are due, but no mailbox they may go
	                         from may send now: see mq_claim.why */
	MQ_CLAIM_DUPLICATE,   /* the send log already has this message: skipped */
	MQ_CLAIM_GONE         /* the campaign is no longer scheduled or running */
};

struct mq_claim_req {
	sqlite3_int64          campaign;
	time_t                 now;
	long long              now_ms;      /* now, in milliseconds */
	time_t                 day_start;   /* local midnight in the campaign's zone */
	int                    gap_ms;      /* to the next send: delay ± jitter */
	int                    live;        /* now is the clock's: the claim
	                                       reads it again once it holds the
	                                       lock, and counts from then */
	const struct mq_owner *owner;
	/* what the run's config logs mailbox name in with (see mailbox.h),
	 * or NULL; may be NULL */
	const char          *(*fingerprint)(const char *name, const void *arg);
	const void            *fp_arg;
	/* whether the run may not use mailbox name now (its OAuth2 provider
	 * was out of reach), or NULL; called with fp_arg too */
	int                  (*unavailable)(const char *name, const void *arg);
	const void            *run_arg;
};

/* Mailboxes of one campaign the claim looks at, at most. */
#define MQ_CLAIM_MAILBOXES 64

struct mq_claim {
	sqlite3_int64 campaign;
	sqlite3_int64 queue_id, send_log_id, attempt_id;
	sqlite3_int64 lead_id, variant_id, mailbox_id;
	int           step;
	int           attempts;             /* tries so far, this one included */
	long long     next_ms;              /* MQ_CLAIM_PACE: the campaign's
	                                       next send time; NO_MAILBOX: when
	                                       a mailbox may free up (0: not by
	                                       waiting); milliseconds */
	int           mb_failing;           /* the mailbox was failing: this
	                                       message is its probe */
	char          mailbox[64];
	char          email[320];
	char          why[600];             /* MQ_CLAIM_NO_MAILBOX: each
	                                       mailbox and why it may not send */
};

/* The claim (see above). With dry_run the transaction is rolled back: the
 * result says what would have been claimed and nothing changes. */
int mq_db_claim(struct mq_db *db, const struct mq_claim_req *req, int dry_run,
    enum mq_claim_status *status, struct mq_claim *c, struct mq_err *err);

/* What a claimed message is made of, read outside any transaction. All
 * strings malloc'd; free with mq_db_parts_free. */
struct mq_db_parts {
	char  *subject, *text, *html;        /* the variant's templates */
	char **names, **values;              /* the lead's fields, email included */
	int    n_fields;
	char  *prev_message_id;              /* previous step's, or NULL */
	char  *prev_subject;                 /* previous step's as sent, or NULL */
	char  *salt;                         /* this database's Message-ID salt */
	char  *campaign_name;
};
int mq_db_parts(struct mq_db *db, const struct mq_claim *c,
    sqlite3_int64 campaign, struct mq_db_parts *p, struct mq_err *err);
void mq_db_parts_free(struct mq_db_parts *p);

/* The next step after step, if any: *wait_days >= 0, else -1. */
int mq_db_next_step(struct mq_db *db, sqlite3_int64 campaign, int step,
    int *wait_days, struct mq_err *err);

/* Just before the first body byte: phase 'data', the Message-ID and the
 * rendered subject, in a transaction of its own, guarded by the claim,
 * committed to disk (synchronous = FULL) so that a power cut cannot undo
 * it. MQ_PERM if the claim is no longer ours; the caller must then not
 * send. */
int mq_db_phase_data(struct mq_db *db, const struct mq_claim *c,
    const struct mq_owner *owner, const char *message_id,
    const char *subject, time_t now, struct mq_err *err);

enum mq_outcome {
	MQ_OUT_SENT,       /* delivered */
	MQ_OUT_RETRY,      /* temporary: back to pending at retry_at */
	MQ_OUT_FAILED,     /* permanent, or out of retries */
	MQ_OUT_BOUNCED,    /* recipient refused: suppressed, follow-ups cancelled */
	MQ_OUT_MAILBOX,    /* the mailbox failed: back to pending, not counted */
	MQ_OUT_UNKNOWN     /* may have been delivered: never resent automatically */
};

struct mq_result {
	enum mq_outcome outcome;
	int             code;          /* SMTP reply code or 0 */
	const char     *reply;         /* reply or error text */
	time_t          now;
	time_t          retry_at;      /* MQ_OUT_RETRY */
	time_t          followup_at;   /* MQ_OUT_SENT: next step due, 0 if none */
	int             exhausted;     /* MQ_OUT_FAILED: out of retries */
	const char     *fingerprint;   /* MQ_OUT_MAILBOX: the mailbox's, or
	                                  NULL */
	int             transient;     /* MQ_OUT_MAILBOX: only this time (its
	                                  token server was out of reach): the
	                                  mailbox is not marked failing */
};

/* What recording an outcome did beyond the message. */
struct mq_recorded {
	int stale;          /* the claim was no longer ours (someone reclaimed
	                       it): nothing changed */
	int mailbox_failed; /* the mailbox was not failing and now is */
	int mailbox_back;   /* the mailbox was failing and works again */
	int mailbox_paused; /* a bounce tripped the mailbox's bounce guard */
};

/* Records the outcome of claim c in one transaction, guarded by the claim
 * still being ours, and says what it did in *rec. MQ_OUT_MAILBOX also
 * marks the mailbox failing with the reply (never a secret) and sets it
 * resting (mailbox.h), under the fingerprint r->fingerprint; MQ_OUT_SENT
 * clears that mark. A message that reached the lead (sent, unknown,
 * bounced) fixes the mailbox of the lead's thread if it had none. */
int mq_db_record(struct mq_db *db, const struct mq_claim *c,
    const struct mq_owner *owner, const struct mq_result *r,
    struct mq_recorded *rec, struct mq_err *err);

enum mq_db_reply {
	MQ_DB_REPLY_MARKED,   /* now replied; pending follow-ups cancelled */
	MQ_DB_REPLY_KEPT,     /* already replied, bounced, unsubscribed, ... */
	MQ_DB_REPLY_UNKNOWN   /* not a lead of the campaign */
};

/* Marks email's lead in campaign replied and cancels its pending
 * messages, inside the caller's transaction. */
int mq_db_replied(struct mq_db *db, sqlite3_int64 campaign,
    const char *email, time_t now, enum mq_db_reply *res,
    struct mq_err *err);

/* Calls fn with every template (subject, text, HTML) of the campaign's
 * current variants; stops at fn's first result other than MQ_OK. */
int mq_db_templates(struct mq_db *db, sqlite3_int64 campaign,
    int (*fn)(const char *tmpl, void *arg), void *arg, struct mq_err *err);

/* Leads of the campaign still to write to whose field is absent or empty:
 * *count of them, the first max addresses into emails. */
int mq_db_lacking(struct mq_db *db, sqlite3_int64 campaign,
    const char *field, char (*emails)[320], int max, int *count,
    struct mq_err *err);

#endif
