/*
 * The claim, and what composing the claimed message needs. The claim is
 * one BEGIN IMMEDIATE transaction that checks and advances everything
 * overlapping runs must see (the campaign's pace, the day's counts of
 * campaign, sender and mailbox, the round-robin cursor), inserts the
 * message's send_log row under its UNIQUE (campaign, lead, step) index
 * and moves the queue item to 'sending' with its owner. No network I/O
 * happens inside it: the caller sends after it commits, and records the
 * outcome with db_outcome.h. Used by the tick and the delivery.
 */
#ifndef MQ_DB_CLAIM_H
#define MQ_DB_CLAIM_H

#include <time.h>

#include "db.h"
#include "err.h"
#include "owner.h"

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
	int           next_wait;            /* days from this step to the
	                                       next, or -1: the last step */
	int           attempts;             /* tries so far, this one included */
	long long     next_ms;              /* MQ_CLAIM_PACE: the campaign's
	                                       next send time; NO_MAILBOX: when
	                                       a mailbox may free up (0: not by
	                                       waiting); milliseconds */
	int           mb_failing;           /* the mailbox was failing: this
	                                       message is its probe */
	int           thread_set;           /* the lead's thread had its
	                                       mailbox at the claim */
	char          mailbox[64];
	char          email[320];
	char          why[600];             /* MQ_CLAIM_NO_MAILBOX: each
	                                       mailbox and why it may not send */
};

/* What a claimed message is made of, for composing it. All strings
 * malloc'd; free with mq_db_parts_free. */
struct mq_db_parts {
	char  *subject, *text, *html;        /* the variant's templates */
	char **names, **values;              /* the lead's fields, email included */
	int    n_fields;
	char  *prev_message_id;              /* previous step's, or NULL */
	char  *prev_subject;                 /* previous step's as sent, or NULL */
	char  *salt;                         /* this database's Message-ID salt */
	char  *campaign_name;
};

/* The claim (see above). With dry_run the transaction is rolled back: the
 * result says what would have been claimed and nothing changes. With
 * parts, a claimed message comes with everything composing it needs,
 * read under the claim's lock (free with mq_db_parts_free; zeroed when
 * nothing was claimed). */
int mq_db_claim(struct mq_db *db, const struct mq_claim_req *req, int dry_run,
    enum mq_claim_status *status, struct mq_claim *c, struct mq_db_parts *parts,
    struct mq_err *err);

/* Frees what p holds (not p); a zeroed p is fine. */
void mq_db_parts_free(struct mq_db_parts *p);

#endif
