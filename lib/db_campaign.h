/*
 * The store's view of campaigns for control and display: one campaign's
 * settings, its counts by state, and guarded status changes.
 */
#ifndef MQ_DB_CAMPAIGN_H
#define MQ_DB_CAMPAIGN_H

#include <time.h>

#include "db.h"
#include "err.h"

struct mq_db_campaign {
	sqlite3_int64 id;
	char         *name;
	char         *status;
	char         *sender;
	char         *timezone;
	char         *holidays;
	char         *extra_holidays;
	char         *retry_backoff;
	int           retired;
	int           days, start_min, end_min;
	int           delay, jitter, daily_limit, buffer, retry_attempts;
	time_t        next_send_at;
	time_t        status_at;
	sqlite3_int64 sender_id;
	int           sender_limit;
};

/* Lead states (campaign_lead.status) and message states (send_log.status),
 * in display order. */
enum { MQ_LEAD_QUEUED, MQ_LEAD_ACTIVE, MQ_LEAD_DONE, MQ_LEAD_FAILED,
       MQ_LEAD_BOUNCED, MQ_LEAD_UNKNOWN, MQ_LEAD_REPLIED,
       MQ_LEAD_UNSUBSCRIBED, MQ_LEAD_SKIPPED, MQ_LEAD_CANCELLED, MQ_LEAD_N };
enum { MQ_MSG_SENDING, MQ_MSG_RETRY, MQ_MSG_SENT, MQ_MSG_FAILED,
       MQ_MSG_BOUNCED, MQ_MSG_UNKNOWN, MQ_MSG_DROPPED, MQ_MSG_N };

extern const char *const mq_db_lead_states[MQ_LEAD_N];
extern const char *const mq_db_msg_states[MQ_MSG_N];

struct mq_db_campaign_counts {
	int leads;                   /* all leads of the campaign */
	int lead[MQ_LEAD_N];
	int msg[MQ_MSG_N];           /* send_log rows by status */
	int pending;                 /* queue items waiting */
	int sent_today;              /* sent since day_start */
	int mailboxes;               /* in the rotation */
	int usable_mailboxes;        /* enabled, not retired */
	int mailbox_wait;            /* of msg[MQ_MSG_RETRY]: only ever held
	                                back by a failing mailbox, no try of
	                                the message's own used */
};

/* Reads campaign name into *c (free with mq_db_campaign_free). MQ_PERM with
 * EX_NOINPUT when there is no such campaign. */
int mq_db_campaign_get(struct mq_db *db, const char *name,
    struct mq_db_campaign *c, struct mq_err *err);

/* Every campaign, retired last, then by name, in *out (an array of *n;
 * free with mq_db_campaign_free_all). */
int mq_db_campaign_all(struct mq_db *db, struct mq_db_campaign **out, int *n,
    struct mq_err *err);

/* Frees each of the n campaigns and the array. */
void mq_db_campaign_free_all(struct mq_db_campaign *v, int n);

/* Frees the strings of c (not c itself). */
void mq_db_campaign_free(struct mq_db_campaign *c);

/* All campaign names, retired last, in *names (an array of *n strings; free
 * each and the array). */
int mq_db_campaign_names(struct mq_db *db, char ***names, int *n,
    struct mq_err *err);

/* Counts for campaign id; sent_today counts sends at or after day_start. */
int mq_db_campaign_counts(struct mq_db *db, sqlite3_int64 id,
    time_t day_start, struct mq_db_campaign_counts *k, struct mq_err *err);

/* Moves campaign id to status to if its status is still from, setting
 * status_at to now and, when next_send_at >= 0, next_send_at. With cancel,
 * also cancels its pending queue items and its leads not yet finished.
 * MQ_TEMP if the status changed under us (a concurrent run). Runs inside
 * the caller's transaction. */
int mq_db_campaign_set_status(struct mq_db *db, sqlite3_int64 id,
    const char *from, const char *to, time_t now, time_t next_send_at,
    int cancel, struct mq_err *err);

/* The campaign's rotation, "name (enabled)" style, for display: *names is
 * an array of *n strings "anna-1", each followed by flags; free as above. */
int mq_db_campaign_mailboxes(struct mq_db *db, sqlite3_int64 id,
    char ***names, int *n, struct mq_err *err);

/* Steps and variants, one line each ("step 1 (+3 days) B w=1: subject"),
 * for display; free as above. */
int mq_db_campaign_steps(struct mq_db *db, sqlite3_int64 id, char ***lines,
    int *n, struct mq_err *err);

/* The campaign's pending messages whose thread's mailbox may not send
 * for it (removed from the campaign, disabled, retired), by mailbox;
 * *out is malloc'd (free it). */
struct mq_db_waiting {
	char mailbox[64];
	int  n;
	char why[48];      /* "disabled", "retired", "not one of the ..." */
};
int mq_db_campaign_waiting(struct mq_db *db, sqlite3_int64 id,
    struct mq_db_waiting **out, int *n, struct mq_err *err);

/* Moves the threads of campaign id whose mailbox is called from, and that
 * still have messages to come, to the mailbox called to, inside the
 * caller's transaction; *moved gets their number. MQ_PERM with
 * EX_NOINPUT (no mailbox from), EX_DATAERR (to is not one of the
 * campaign's enabled mailboxes). */
int mq_db_campaign_reassign(struct mq_db *db, sqlite3_int64 id,
    const char *from, const char *to, int *moved, struct mq_err *err);

/* What the next send time is made of (see next_send.h): the earliest
 * pending message's due time into *due, or now when only leads wait to be
 * planned; *any = 0 when there is nothing at all. */
int mq_db_next_due(struct mq_db *db, sqlite3_int64 id, time_t now,
    time_t *due, int *any, struct mq_err *err);

/* The campaign's enabled mailboxes: limit, and when a failing one rests
 * until (0: not resting). *out is malloc'd (free it). */
struct mq_db_next_mailbox {
	sqlite3_int64 id;
	int           daily_limit;
	time_t        rest_until;
};
int mq_db_next_mailboxes(struct mq_db *db, sqlite3_int64 id,
    struct mq_db_next_mailbox **out, int *n, struct mq_err *err);

#endif
