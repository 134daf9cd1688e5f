/*
 * One run of the sending engine, as cron starts it every minute. For every
 * campaign that may send: inside its window, plan its buffer, claim what is
 * due (one message per campaign per pass, so campaigns share the run, or
 * as many as its mailboxes' caps allow when its delay is 0; at most 64 in
 * the air per run). Each claimed message goes out on a lane of its own, a
 * thread and a database connection, outside any transaction, and its
 * outcome is recorded as soon as it lands; a lane of a campaign with
 * delay 0 then claims that campaign's next message itself. Passes go on
 * meanwhile, and the run waits for messages that fall due within its
 * horizon, so that gaps follow each campaign's delay and jitter rather
 * than cron's minute.
 */
#ifndef MQ_TICK_H
#define MQ_TICK_H

#include <stdio.h>

#include "conf.h"
#include "db.h"
#include "err.h"

struct mq_tick_opts {
	const char *only;       /* one campaign, or NULL for all */
	int         dry_run;    /* report what would go; change nothing */
	int         horizon;    /* seconds to keep sending messages that fall
	                           due; 0: what is due now; -1: to the end
	                           of the minute */
	FILE       *out;        /* where a dry run reports */
};

struct mq_tick_stats {
	int sent, retried, failed, bounced, mailbox, unknown, duplicate;
};

/* Runs once. MQ_OK when the run did its job, whatever became of single
 * messages (they are in the queue); MQ_TEMP or MQ_PERM only when the run
 * itself could not work (database unwritable, campaign named but absent). */
int mq_tick_run(struct mq_db *db, const struct mq_conf *conf,
    const struct mq_tick_opts *o, struct mq_tick_stats *st,
    struct mq_err *err);

#endif
