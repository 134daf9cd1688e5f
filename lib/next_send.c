/* When a campaign's next message can go: see next_send.h. */
#include <stdlib.h>
#include <string.h>

#include "db_stats.h"
#include "next_send.h"
#include "sched.h"

/* Moves *t to the next local midnight when the day's count of what
 * (campaign, sender or mailbox id) has reached limit on t's day. Counts
 * of a later day than now's are 0. */
static int day_limit(struct mq_db *db, const char *tz,
    enum mq_db_stats_by what, sqlite3_int64 id, int limit, time_t now,
    time_t *t, struct mq_err *err)
{
	time_t day0, day1, today0;
	char d[16];
	int n = 0, rc;

	if ((rc = mq_sched_local_day(tz, *t, d, sizeof d, &day0, &day1,
	    err)) != MQ_OK ||
	    (rc = mq_sched_local_day(tz, now, d, sizeof d, &today0, NULL,
	    err)) != MQ_OK)
		return rc;
	if (day0 == today0 && (rc = mq_db_stats_today(db, what, id, day0, &n,
	    err)) != MQ_OK)
		return rc;
	if (n >= limit)
		*t = day1;
	return MQ_OK;
}

/* The earliest moment from *t on that one of the campaign's mailboxes
 * may send: not resting, not at its limit; 0 if none is usable. */
static int mailboxes(struct mq_db *db, const struct mq_db_campaign *c,
    time_t now, time_t *t, struct mq_err *err)
{
	struct mq_db_next_mailbox *m;
	time_t best = 0, at;
	int n, rc;

	if ((rc = mq_db_next_mailboxes(db, c->id, &m, &n, err)) != MQ_OK)
		return rc;
	for (int i = 0; rc == MQ_OK && i < n; i++) {
		at = m[i].rest_until > *t ? m[i].rest_until : *t;
		rc = day_limit(db, c->sched.timezone, MQ_DB_STATS_MAILBOX,
		    m[i].id, m[i].daily_limit, now, &at, err);
		if (best == 0 || at < best)
			best = at;
	}
	free(m);
	*t = best;
	return rc;
}

int mq_next_send(struct mq_db *db, const struct mq_db_campaign *c,
    time_t now, time_t *at, struct mq_err *err)
{
	time_t t, due = 0;
	int any, rc;

	*at = 0;
	if (!mq_db_campaign_sending(c))
		return MQ_OK;
	if ((rc = mq_db_next_due(db, c->id, now, &due, &any, err)) != MQ_OK ||
	    !any)
		return rc;
	t = due > now ? due : now;
	if (c->next_send_at > t)
		t = c->next_send_at;
	/* a limit or a rest can move t to a later day, a window to later
	 * still; each step only moves it on, and twice is enough */
	for (int pass = 0; pass < 2 && t != 0; pass++) {
		if ((rc = day_limit(db, c->sched.timezone, MQ_DB_STATS_CAMPAIGN,
		    c->id, c->daily_limit, now, &t, err)) != MQ_OK ||
		    (rc = day_limit(db, c->sched.timezone, MQ_DB_STATS_SENDER,
		    c->sender_id, c->sender_limit, now, &t, err)) != MQ_OK ||
		    (rc = mailboxes(db, c, now, &t, err)) != MQ_OK)
			return rc;
		if (t != 0 && mq_sched_next_open(&c->sched, t, &t, NULL) != MQ_OK)
			t = 0;
	}
	*at = t;
	return MQ_OK;
}
