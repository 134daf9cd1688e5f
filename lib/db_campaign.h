/*
 * The campaign store: the campaign model (one struct, read by one function
 * and its list variant), the status machine's table and its one guarded
 * transition, counts by state, and the campaign-control SQL of
 * mailq-campaign (rotation, steps, reassigning threads, replies,
 * templates, leads lacking a field). What the config file says of a
 * campaign is struct mq_conf_campaign (conf.h); mailq-init turns that into
 * rows once (db_config.h), and every program reads it back as this model.
 */
#ifndef MQ_DB_CAMPAIGN_H
#define MQ_DB_CAMPAIGN_H

#include <time.h>

#include "conf.h"
#include "db.h"
#include "err.h"
#include "sched.h"

/* Campaign states (campaign.status), in the order of INTERNALS.md. */
enum mq_db_campaign_status { MQ_CAMPAIGN_DRAFT, MQ_CAMPAIGN_SCHEDULED,
       MQ_CAMPAIGN_RUNNING, MQ_CAMPAIGN_PAUSED, MQ_CAMPAIGN_STOPPED,
       MQ_CAMPAIGN_COMPLETED, MQ_CAMPAIGN_N };

/* The names stored for them: the one mapping between the two. */
extern const char *const mq_db_campaign_states[MQ_CAMPAIGN_N];

/* A campaign as every program works with it. Its strings (the schedule's
 * too) live in mem: free with mq_db_campaign_free. A copy of the struct
 * takes them along. */
struct mq_db_campaign {
	sqlite3_int64              id;
	const char                *name;
	enum mq_db_campaign_status status;
	int                        retired;
	time_t                     status_at;
	const char                *sender;
	sqlite3_int64              sender_id;
	int                        sender_limit;
	struct mq_sched            sched;        /* window, zone, holidays */
	int                        delay;        /* seconds between messages */
	int                        jitter;       /* percent */
	int                        daily_limit, buffer;
	int                        retry_attempts; /* after the first try */
	int                        backoff[MQ_CONF_RETRY_MAX]; /* seconds before
	                                            retry i + 1 */
	time_t                     next_send_at;
	char                      *mem;          /* holds every string above */
};

/* Reads campaign name into *c (free with mq_db_campaign_free). MQ_PERM with
 * EX_NOINPUT when there is no such campaign. */
int mq_db_campaign_get(struct mq_db *db, const char *name,
    struct mq_db_campaign *c, struct mq_err *err);

/* Which campaigns mq_db_campaign_list reads. */
enum mq_db_which {
	MQ_DB_ALL,           /* every one, retired last, then by name */
	MQ_DB_SENDING        /* those that may send: scheduled or running,
	                        not retired; by name */
};

/* The campaigns which says, or only the one named only (NULL: all), in
 * *out (an array of *n; free with mq_db_campaign_free_all). */
int mq_db_campaign_list(struct mq_db *db, enum mq_db_which which,
    const char *only, struct mq_db_campaign **out, int *n,
    struct mq_err *err);

/* Frees each of the n campaigns and the array. */
void mq_db_campaign_free_all(struct mq_db_campaign *v, int n);

/* A copy of src in *dst with strings of its own (free with
 * mq_db_campaign_free): MQ_OK, or MQ_TEMP out of memory. */
int mq_db_campaign_copy(struct mq_db_campaign *dst,
    const struct mq_db_campaign *src);

/* Frees the strings of c (not c itself). */
void mq_db_campaign_free(struct mq_db_campaign *c);

/* Nonzero if c's status lets it send: scheduled or running. */
int mq_db_campaign_sending(const struct mq_db_campaign *c);

/* Seconds to wait after try number tries (1 for the first) failed
 * before the next; past the configured list its last value repeats. */
int mq_db_campaign_backoff(const struct mq_db_campaign *c, int tries);

/* The status machine's moves (INTERNALS.md "States"). Each has the
 * statuses it may leave and the one it goes to: the table is in
 * db_campaign.c, and every change of a campaign's status is one of them. */
enum mq_db_move {
	MQ_MOVE_START,     /* draft, completed -> scheduled (mailq-campaign) */
	MQ_MOVE_PAUSE,     /* scheduled, running -> paused */
	MQ_MOVE_RESUME,    /* paused -> scheduled */
	MQ_MOVE_STOP,      /* draft, scheduled, running, paused -> stopped;
	                      pending messages and unfinished leads cancelled */
	MQ_MOVE_RUN,       /* scheduled -> running: a tick in the window */
	MQ_MOVE_COMPLETE,  /* scheduled, running -> completed: nothing left */
	MQ_MOVE_REOPEN,    /* completed -> running: messages to send again */
	MQ_MOVE_RETIRE,    /* any -> stopped, cancelled as by stop: the
	                      campaign left the config */
	MQ_MOVE_N
};

/* Nonzero if a campaign in status s may make move m. */
int mq_db_campaign_may(enum mq_db_move m, enum mq_db_campaign_status s);

/* The status move m goes to. */
enum mq_db_campaign_status mq_db_campaign_target(enum mq_db_move m);

/* Makes move m for campaign id if its status is still one m may leave,
 * setting status_at to now and, when next_send_at >= 0, next_send_at; *moved
 * (may be NULL) says whether it did. Runs inside the caller's transaction
 * when one is open (a move that cancels needs one). */
int mq_db_campaign_move(struct mq_db *db, sqlite3_int64 id,
    enum mq_db_move m, time_t now, time_t next_send_at, int *moved,
    struct mq_err *err);

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

/* All campaign names, retired last, in *names (an array of *n strings; free
 * each and the array). */
int mq_db_campaign_names(struct mq_db *db, char ***names, int *n,
    struct mq_err *err);

/* Counts for campaign id; sent_today counts sends at or after day_start. */
int mq_db_campaign_counts(struct mq_db *db, sqlite3_int64 id,
    time_t day_start, struct mq_db_campaign_counts *k, struct mq_err *err);

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
