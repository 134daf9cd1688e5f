/*
 * Recovery of claims left by runs that died. A claim whose owner is alive
 * is left alone, however old. A dead one (same host: the pid is gone or
 * was reused; another host: by age alone) is decided by how far SMTP got:
 * before the data phase the server cannot have the message, so it returns
 * to the queue (the attempt counts, backoff applies; out of retries it
 * fails); at or after it, it may have been delivered and becomes unknown,
 * never resent unless the operator asks.
 */
#ifndef MQ_RECLAIM_H
#define MQ_RECLAIM_H

#include <time.h>

#include "db.h"
#include "err.h"

enum mq_reclaim_what { MQ_RECLAIM_CLAIMS, MQ_RECLAIM_RESEND, MQ_RECLAIM_DROP };

struct mq_reclaim_opts {
	const char          *only;        /* a campaign, or NULL for all */
	int                  older_than;  /* seconds */
	int                  dry_run;
	enum mq_reclaim_what what;
};

struct mq_reclaim_stats {
	int requeued, failed, unknown, alive, resent, dropped;
};

/* Called for each claim looked at: what was decided ("requeued",
 * "failed", "unknown", "alive") and the claim's campaign, address, step,
 * phase and owner pid. */
typedef void (*mq_reclaim_fn)(void *arg, const char *what,
    const char *campaign, const char *email, int step, const char *phase,
    long pid);

/* Runs once at time now. fn may be NULL. */
int mq_reclaim_run(struct mq_db *db, const struct mq_reclaim_opts *o,
    time_t now, struct mq_reclaim_stats *st, mq_reclaim_fn fn, void *arg,
    struct mq_err *err);

#endif
