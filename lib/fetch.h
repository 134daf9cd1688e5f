/*
 * One run of the listening job, as cron starts it every few minutes. For
 * every mailbox with an inbox: open it, and in each of its folders read
 * what is new since the last run (by UID, or every Maildir file not yet
 * recorded), oldest first. Each message is read (network, no transaction
 * open), classified (classify.h), then recorded and applied in one short
 * transaction (db_inbound.h) that also moves the folder's cursor, so a
 * run killed anywhere loses nothing and applies nothing twice, and
 * overlapping runs apply each message once. A message that cannot be
 * read for a passing reason ends the folder's reading for this run, so
 * no later UID moves the cursor past it. Then the Sent folder, when the
 * mailbox has one: the Message-IDs of its 'unknown' messages of the last
 * MQ_FETCH_SENT_DAYS days are looked for there, and each one found
 * becomes 'sent'. Nothing in the mailbox is ever changed (inbox.h).
 */
#ifndef MQ_FETCH_H
#define MQ_FETCH_H

#include <stdio.h>

#include "classify.h"
#include "conf.h"
#include "db.h"
#include "err.h"

/* How long an 'unknown' message is looked for in the Sent folder: a
 * provider files a message there as it accepts it, so one not there
 * after this long was not accepted, or the folder is not kept. */
#define MQ_FETCH_SENT_DAYS 7

struct mq_fetch_opts {
	const char *only;       /* one mailbox, or NULL for all with an inbox */
	int         dry_run;    /* classify and say what would happen; record
	                           and change nothing */
	FILE       *out;        /* where a dry run reports */
};

struct mq_fetch_stats {
	int mailboxes;          /* read */
	int failed;             /* could not be read (logged) */
	int read;               /* messages read */
	int by_class[MQ_CLASS_COUNT + 2]; /* by MQ_CLASS_*, and: */
#define MQ_FETCH_DUPLICATE MQ_CLASS_COUNT        /* read before */
#define MQ_FETCH_TAKEN     (MQ_CLASS_COUNT + 1)  /* another run had it */
	int resolved;           /* 'unknown' messages proved delivered */
	int paused;             /* mailboxes their bounce guard paused */
};

/* Runs once. Each mailbox that cannot be read is logged and counted in
 * failed, and the run goes on with the others (a folder that does not
 * exist is logged and skipped: the mailbox's other folders are read);
 * then MQ_TEMP or MQ_PERM is returned for the first such failure (err
 * says which mailbox), after every mailbox was tried. MQ_PERM with EX_DATAERR when only names a
 * mailbox that has no inbox or is not in the config. */
int mq_fetch_run(struct mq_db *db, const struct mq_conf *conf,
    const struct mq_fetch_opts *o, struct mq_fetch_stats *st,
    struct mq_err *err);

#endif
