/* Campaign status changes: see campaign.h. */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "campaign.h"
#include "db_campaign.h"
#include "reclaim.h"
#include "sched.h"

/* Per action: the statuses it moves from, where it goes, and the statuses
 * in which it is already done. */
static const struct rule {
	const char *word;
	const char *from[4];
	const char *to;
	const char *done[3];
} rules[] = {
	[MQ_CAMPAIGN_START]  = { "start", { "draft", "completed" }, "scheduled",
	                         { "scheduled", "running" } },
	[MQ_CAMPAIGN_PAUSE]  = { "pause", { "scheduled", "running" }, "paused",
	                         { "paused" } },
	[MQ_CAMPAIGN_RESUME] = { "resume", { "paused" }, "scheduled",
	                         { "scheduled", "running" } },
	[MQ_CAMPAIGN_STOP]   = { "stop", { "draft", "scheduled", "running",
	                         "paused" }, "stopped", { "stopped", "completed" } },
};

static const char *const hints[] = {
	[MQ_CAMPAIGN_START] = "a paused campaign is resumed with 'resume'; "
	    "a stopped one cannot be started again",
	[MQ_CAMPAIGN_PAUSE] = "only a scheduled or running campaign can be paused",
	[MQ_CAMPAIGN_RESUME] = "only a paused campaign can be resumed",
	[MQ_CAMPAIGN_STOP] = "",
};

int mq_campaign_action(const char *word)
{
	for (size_t i = 0; i < sizeof rules / sizeof *rules; i++)
		if (strcmp(word, rules[i].word) == 0)
			return (int)i;
	return -1;
}

static int among(const char *s, const char *const *set, int n)
{
	for (int i = 0; i < n && set[i] != NULL; i++)
		if (strcmp(s, set[i]) == 0)
			return 1;
	return 0;
}

/* Before sending can begin: leads to send to, a mailbox to send from, and
 * a window that opens. Sets res->first_send. */
static int ready(struct mq_db *db, const struct mq_db_campaign *c,
    enum mq_campaign_action action, time_t now,
    struct mq_campaign_result *res, struct mq_err *err)
{
	struct mq_sched s = { c->timezone, c->days, c->start_min, c->end_min,
	    c->holidays, c->extra_holidays };
	struct mq_db_campaign_counts k;
	time_t from;
	int rc;

	if ((rc = mq_db_campaign_counts(db, c->id, 0, &k, err)) != MQ_OK)
		return rc;
	if (action == MQ_CAMPAIGN_START &&
	    k.lead[MQ_LEAD_QUEUED] + k.lead[MQ_LEAD_ACTIVE] == 0)
		return mq_err_perm(err, EX_DATAERR, "campaign '%s': no leads "
		    "to send to; add some with mailq-import", c->name);
	if (k.usable_mailboxes == 0)
		return mq_err_perm(err, EX_CONFIG, "campaign '%s': no usable "
		    "mailbox (%d in rotation, all disabled or retired)",
		    c->name, k.mailboxes);
	/* not before the pace allows: a resumed campaign keeps its gap */
	from = c->next_send_at > now ? c->next_send_at : now;
	if ((rc = mq_sched_next_open(&s, from, &res->first_send, err)) != MQ_OK) {
		mq_err_prefix(err, "campaign '%s'", c->name);
		return rc;
	}
	res->open_now = res->first_send == now;
	return MQ_OK;
}

static int control(struct mq_db *db, const struct mq_db_campaign *c,
    enum mq_campaign_action action, time_t now,
    struct mq_campaign_result *res, struct mq_err *err)
{
	const struct rule *r = &rules[action];
	int rc;

	snprintf(res->from, sizeof res->from, "%s", c->status);
	snprintf(res->to, sizeof res->to, "%s", c->status);
	snprintf(res->timezone, sizeof res->timezone, "%s", c->timezone);
	if (among(c->status, r->done, 3))
		return MQ_OK;
	if (c->retired || !among(c->status, r->from, 4))
		return mq_err_perm(err, EX_DATAERR, "campaign '%s' is %s%s; "
		    "cannot %s it (%s)", c->name, c->retired ? "retired and " :
		    "", c->status, r->word, hints[action]);
	if (action == MQ_CAMPAIGN_START || action == MQ_CAMPAIGN_RESUME)
		if ((rc = ready(db, c, action, now, res, err)) != MQ_OK)
			return rc;
	rc = mq_db_campaign_set_status(db, c->id, c->status, r->to, now,
	    action == MQ_CAMPAIGN_START ? res->first_send : -1,
	    action == MQ_CAMPAIGN_STOP, err);
	if (rc == MQ_OK) {
		snprintf(res->to, sizeof res->to, "%s", r->to);
		res->changed = 1;
	}
	return rc;
}

int mq_campaign_control(struct mq_db *db, const char *name,
    enum mq_campaign_action action, time_t now,
    struct mq_campaign_result *res, struct mq_err *err)
{
	struct mq_db_campaign c;
	int rc;

	memset(res, 0, sizeof *res);
	if (action == MQ_CAMPAIGN_RESUME) {
		/* messages in flight when it was paused, whose runs have since
		 * died, go back to the queue first (or become unknown) */
		struct mq_reclaim_opts o = { name, 0, 0, MQ_RECLAIM_CLAIMS };

		rc = mq_reclaim_run(db, &o, now, &res->reclaimed, NULL, NULL, err);
		if (rc != MQ_OK)
			return rc;
	}
	if ((rc = mq_db_begin(db, err)) != MQ_OK)
		return rc;
	if ((rc = mq_db_campaign_get(db, name, &c, err)) == MQ_OK) {
		rc = control(db, &c, action, now, res, err);
		mq_db_campaign_free(&c);
	}
	if (rc == MQ_OK)
		return mq_db_commit(db, err);
	mq_db_rollback(db);
	return rc;
}
