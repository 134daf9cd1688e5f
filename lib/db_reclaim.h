/*
 * The store's side of mailq-reclaim: claims left in 'sending', and the
 * guarded transitions that return them to the queue or mark them unknown;
 * and the operator's knowing resend or drop of unknown messages.
 */
#ifndef MQ_DB_RECLAIM_H
#define MQ_DB_RECLAIM_H

#include <time.h>

#include "db.h"
#include "owner.h"
#include "err.h"

struct mq_db_stale {
	sqlite3_int64   queue_id, send_log_id, lead_id;
	int             step, attempts;
	sqlite3_int64   campaign_id;
	char            campaign[64];
	char            email[320];
	char            phase[16];         /* 'claimed' or 'data' */
	struct mq_owner owner;
	time_t          claimed_at;
};

/* Claims in 'sending' claimed at or before `before`, of campaign only (or
 * all). *v malloc'd (free it). */
int mq_db_stale_claims(struct mq_db *db, const char *only, time_t before,
    struct mq_db_stale **v, int *n, struct mq_err *err);

enum mq_reclaim_to { MQ_RECLAIM_PENDING, MQ_RECLAIM_FAILED,
    MQ_RECLAIM_UNKNOWN };

/* Moves one dead claim, in one transaction guarded by its owner and
 * status: back to pending at retry_at (attempt counted), failed (out of
 * retries), or unknown. *done = 0 if the claim changed meanwhile. */
int mq_db_reclaim(struct mq_db *db, const struct mq_db_stale *s,
    enum mq_reclaim_to to, time_t now, time_t retry_at, int *done,
    struct mq_err *err);

/* Unknown messages of campaign only (or all): resend puts them back to
 * pending (due now), drop gives them up (send log 'dropped'). *n gets how
 * many. With dry_run only counts. */
int mq_db_unknown(struct mq_db *db, const char *only, int resend,
    int dry_run, time_t now, int *n, struct mq_err *err);

#endif
