/*
 * Campaign control: the operator's commands over the status machine
 * (mailq-campaign(8), INTERNALS.md "States"). draft -> scheduled (start)
 * -> running (a tick, inside the window) -> completed; paused and
 * resumed; stopped for good, its queue cancelled. The machine's table
 * (which status each move may leave, where it goes) and its one guarded
 * transition are the store's (db_campaign.h), so that the tick, planning,
 * mailq-reclaim and mailq-init move a campaign the same way; here each
 * command checks what it needs (leads, mailboxes, a window that opens)
 * and makes its move in one short write transaction, guarded by the
 * status it was checked against, so that it cannot cross a concurrent
 * tick. Also the other commands of mailq-campaign: replied, reassign.
 */
#ifndef MQ_CAMPAIGN_H
#define MQ_CAMPAIGN_H

#include <stdio.h>
#include <time.h>

#include "db.h"
#include "db_campaign.h"
#include "err.h"
#include "reclaim.h"

enum mq_campaign_action {
	MQ_CAMPAIGN_START, MQ_CAMPAIGN_PAUSE, MQ_CAMPAIGN_RESUME,
	MQ_CAMPAIGN_STOP
};

struct mq_campaign_result {
	enum mq_db_campaign_status from; /* status before */
	enum mq_db_campaign_status to;   /* status after (== from when
	                                    nothing changed) */
	int    changed;      /* 0: it already was there; nothing was done */
	time_t first_send;   /* start/resume: the first moment a message may go */
	int    open_now;     /* start/resume: the window is open now */
	char   timezone[64]; /* the campaign's, for showing first_send */
	struct mq_reclaim_stats reclaimed; /* resume: dead claims it returned */
};

/* Parses "start", "pause", "resume", "stop"; -1 for anything else. */
int mq_campaign_action(const char *word);

/* Applies action to campaign name at time now. Resume first reclaims the
 * campaign's claims whose runs are dead, whatever their age. Start checks
 * that every lead to write to has the fields the templates use without a
 * fallback. MQ_PERM with EX_NOINPUT (no such campaign), EX_DATAERR (not
 * allowed from its status, no leads, leads lacking template fields),
 * EX_CONFIG (no usable mailbox, window never opens); MQ_TEMP if busy. */
int mq_campaign_control(struct mq_db *db, const char *name,
    enum mq_campaign_action action, time_t now,
    struct mq_campaign_result *res, struct mq_err *err);

/* The fields campaign id's templates use without a fallback ("email"
 * aside: every lead has it), at most max, into names; *n of them. */
int mq_campaign_fields(struct mq_db *db, sqlite3_int64 id,
    char (*names)[64], int max, int *n, struct mq_err *err);

/* Which leads of campaign id still to write to lack a field its templates
 * use without a fallback: "3 leads without 'company': a@x.pl, ...; ..."
 * into buf (cut to size), or "" when none does. Reads only, inside the
 * caller's transaction if one is open. MQ_TEMP/MQ_PERM on a database
 * error. */
int mq_campaign_lacking(struct mq_db *db, sqlite3_int64 id, char *buf,
    size_t size, struct mq_err *err);

struct mq_replied_opts {
	const char *const *emails;   /* addresses; "-" reads them from in */
	int                n;
	FILE              *in;       /* one address a line; '#' comments */
	/* told about every address that is not a lead of the campaign; may
	 * be NULL (the library prints nothing) */
	void             (*note)(void *arg, const char *email, const char *why);
	void              *note_arg;
};

struct mq_replied {
	int marked;      /* now replied, their follow-ups cancelled */
	int kept;        /* already finished otherwise: replied, bounced, ... */
	int unknown;     /* not leads of the campaign */
};

/* Marks the leads of campaign name with these addresses as replied and
 * cancels their pending messages, in one transaction. MQ_PERM with
 * EX_NOINPUT (no such campaign); MQ_TEMP if busy. */
int mq_campaign_replied(struct mq_db *db, const char *name,
    const struct mq_replied_opts *o, time_t now, struct mq_replied *r,
    struct mq_err *err);

/* Moves the threads of campaign name that wait for mailbox from (its
 * follow-ups, which leave from the mailbox of the lead's first message)
 * to mailbox to, one of the campaign's: their next messages leave from
 * to, still as replies in the thread. One transaction; *moved gets the
 * number of leads. MQ_PERM with EX_NOINPUT (no such campaign or mailbox
 * from), EX_DATAERR (to is not an enabled mailbox of the campaign);
 * MQ_TEMP if busy. */
int mq_campaign_reassign(struct mq_db *db, const char *name,
    const char *from, const char *to, int *moved, struct mq_err *err);

#endif
