/* Recovery of dead claims: see reclaim.h. */
#include <stdlib.h>
#include <string.h>

#include "db_campaign.h"
#include "db_reclaim.h"
#include "owner.h"
#include "reclaim.h"

static int decide(struct mq_db *db, const struct mq_db_stale *s,
    const struct mq_db_campaign *c, const struct mq_reclaim_opts *o,
    time_t now, struct mq_reclaim_stats *st, const char **what,
    struct mq_err *err)
{
	enum mq_reclaim_to to;
	int done = 1, rc = MQ_OK;

	if (mq_owner_alive(&s->owner) == 1) {
		st->alive++;
		*what = "alive";
		return MQ_OK;
	}
	if (strcmp(s->phase, "claimed") != 0)
		to = MQ_RECLAIM_UNKNOWN;
	else if (s->attempts > c->retry_attempts)
		to = MQ_RECLAIM_FAILED;
	else
		to = MQ_RECLAIM_PENDING;
	if (!o->dry_run)
		rc = mq_db_reclaim(db, s, to, now, now +
		    mq_db_campaign_backoff(c, s->attempts), &done, err);
	if (rc != MQ_OK || !done) {
		*what = NULL;     /* it changed meanwhile: nothing to tell */
		return rc;
	}
	switch (to) {
	case MQ_RECLAIM_UNKNOWN:
		st->unknown++;
		*what = "unknown";
		break;
	case MQ_RECLAIM_FAILED:
		st->failed++;
		*what = "failed";
		break;
	default:
		st->requeued++;
		*what = "requeued";
	}
	return MQ_OK;
}

/* The campaign a claim belongs to (its retries and their backoff). */
static const struct mq_db_campaign *campaign_of(
    const struct mq_db_campaign *cs, int n, const struct mq_db_stale *s)
{
	for (int i = 0; i < n; i++)
		if (cs[i].id == s->campaign_id)
			return &cs[i];
	return NULL;
}

static int claims(struct mq_db *db, const struct mq_reclaim_opts *o,
    time_t now, struct mq_reclaim_stats *st, mq_reclaim_fn fn, void *arg,
    struct mq_err *err)
{
	struct mq_db_campaign *cs = NULL;
	struct mq_db_stale *v = NULL;
	const char *what;
	int n = 0, nc = 0, rc;

	rc = mq_db_stale_claims(db, o->only, now - o->older_than, &v, &n, err);
	if (rc == MQ_OK && n > 0)
		rc = mq_db_campaign_list(db, MQ_DB_ALL, o->only, &cs, &nc, err);
	for (int i = 0; rc == MQ_OK && i < n; i++) {
		const struct mq_db_campaign *c = campaign_of(cs, nc, &v[i]);

		what = NULL;
		if (c != NULL)
			rc = decide(db, &v[i], c, o, now, st, &what, err);
		if (rc == MQ_OK && what != NULL && fn != NULL)
			fn(arg, what, v[i].campaign, v[i].email, v[i].step,
			    v[i].phase, v[i].owner.pid);
	}
	mq_db_campaign_free_all(cs, nc);
	free(v);
	return rc;
}

int mq_reclaim_run(struct mq_db *db, const struct mq_reclaim_opts *o,
    time_t now, struct mq_reclaim_stats *st, mq_reclaim_fn fn, void *arg,
    struct mq_err *err)
{
	memset(st, 0, sizeof *st);
	if (o->what == MQ_RECLAIM_CLAIMS)
		return claims(db, o, now, st, fn, arg, err);
	return mq_db_unknown(db, o->only, o->what == MQ_RECLAIM_RESEND,
	    o->dry_run, now, o->what == MQ_RECLAIM_RESEND ? &st->resent :
	    &st->dropped, err);
}
