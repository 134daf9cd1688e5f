/*
 * Planning: see db_plan.h. One short transaction, taken only when the
 * buffer is half empty.
 */
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "db_campaign.h"
#include "db_plan.h"

/* A lead's variant: weighted, chosen from a hash of campaign and lead so a
 * rerun picks the same. */
static unsigned long long mix(sqlite3_int64 a, sqlite3_int64 b)
{
	unsigned long long h = 1469598103934665603ULL;
	sqlite3_int64 v[2] = { a, b };
	const unsigned char *p = (const unsigned char *)v;

	for (size_t i = 0; i < sizeof v; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h ^ h >> 29;
}

int mq_db_pick_variant(const int *weight, int n, sqlite3_int64 campaign,
    sqlite3_int64 lead)
{
	unsigned long long total = 0, r;
	int i;

	for (i = 0; i < n; i++)
		total += (unsigned)weight[i];
	if (n <= 0 || total == 0)
		return 0;
	r = mix(campaign, lead) % total;
	for (i = 0; i < n - 1 && r >= (unsigned)weight[i]; i++)
		r -= weight[i];
	return i;
}

struct variants {
	sqlite3_int64 id[26];
	char          letter[26][4];
	int           weight[26];
	int           n, total;
};

static int load_variants(struct mq_db *db, sqlite3_int64 campaign,
    struct variants *v, struct mq_err *err)
{
	static const char sql[] = "SELECT v.id, v.letter, v.weight FROM "
	    "variant v JOIN step s ON s.id = v.step_id WHERE s.campaign_id = ?1 "
	    "AND s.number = 0 AND NOT s.retired AND NOT v.retired "
	    "ORDER BY v.letter";
	sqlite3_stmt *st;
	int rc, sr;

	memset(v, 0, sizeof *v);
	if ((rc = mq_db_stmt(db, sql, &st, err)) != MQ_OK)
		return rc;
	mq_db_bind(st, "I", campaign);
	while ((sr = sqlite3_step(st)) == SQLITE_ROW && v->n < 26) {
		v->id[v->n] = sqlite3_column_int64(st, 0);
		mq_db_text(st, 1, v->letter[v->n], sizeof v->letter[v->n]);
		v->weight[v->n] = sqlite3_column_int(st, 2);
		v->total += v->weight[v->n++];
	}
	if (sr != SQLITE_DONE && sr != SQLITE_ROW)
		rc = mq_db_fail(db, sr, "read variants", err);
	mq_db_release(db, st);
	if (rc == MQ_OK && v->n == 0)
		rc = mq_err_perm(err, EX_CONFIG, "campaign has no variant for "
		    "its first step; check the config and run mailq-init");
	return rc;
}

/* Leads that are on the suppression list leave the campaign's queue. */
static int drop_suppressed(struct mq_db *db, sqlite3_int64 campaign,
    time_t now, struct mq_err *err)
{
	int rc;

	rc = mq_db_run(db, err, "UPDATE queue SET status = 'cancelled', "
	    "last_error = 'suppressed', updated_at = ?2 WHERE campaign_id = ?1 "
	    "AND status = 'pending' AND lead_id IN (SELECT l.id FROM "
	    "suppression s CROSS JOIN lead l ON l.email = s.email)", "II", campaign,
	    (sqlite3_int64)now);
	if (rc == MQ_OK)
		rc = mq_db_run(db, err, "UPDATE campaign_lead SET status = "
		    "'skipped', updated_at = ?2 WHERE campaign_id = ?1 AND status "
		    "IN ('queued', 'active') AND lead_id IN (SELECT l.id FROM "
		    "suppression s CROSS JOIN lead l ON l.email = s.email) AND NOT EXISTS "
		    "(SELECT 1 FROM queue q WHERE q.campaign_id = ?1 AND "
		    "q.lead_id = campaign_lead.lead_id AND q.status = 'sending')",
		    "II", campaign, (sqlite3_int64)now);
	return rc;
}

/* Cross-campaign safety: the next queued leads that another campaign
 * wrote to (or may have) within the last gap days are skipped. */
static int skip_recent(struct mq_db *db, sqlite3_int64 campaign, time_t now,
    sqlite3_int64 need, struct mq_err *err)
{
	sqlite3_int64 gap = 0;
	int rc;

	rc = mq_db_get(db, err, &gap, NULL, "SELECT contact_gap_days FROM "
	    "campaign WHERE id = ?1", "I", campaign);
	if (rc != MQ_OK || gap <= 0)
		return rc;
	return mq_db_run(db, err, "UPDATE campaign_lead SET status = "
	    "'skipped', updated_at = ?2 WHERE campaign_id = ?1 AND lead_id IN "
	    "(SELECT lead_id FROM campaign_lead WHERE campaign_id = ?1 AND "
	    "status = 'queued' ORDER BY lead_id LIMIT ?4) AND EXISTS (SELECT 1 "
	    "FROM send_log s WHERE s.lead_id = campaign_lead.lead_id AND "
	    "s.campaign_id <> ?1 AND s.status IN ('sending', 'sent', 'unknown', "
	    "'bounced') AND s.claimed_at >= ?2 - ?3 * 86400)", "IIII",
	    campaign, (sqlite3_int64)now, gap, need);
}

static int plan_leads(struct mq_db *db, sqlite3_int64 campaign, time_t now,
    int need, const struct variants *v, int *planned, struct mq_err *err)
{
	static const char sql[] = "SELECT lead_id FROM campaign_lead WHERE "
	    "campaign_id = ?1 AND status = 'queued' ORDER BY lead_id LIMIT ?2";
	sqlite3_int64 *leads;
	sqlite3_stmt *st;
	int n = 0, rc, sr, i;

	if ((leads = calloc(need, sizeof *leads)) == NULL)
		return mq_err_perm(err, EX_OSERR, "out of memory");
	if ((rc = mq_db_stmt(db, sql, &st, err)) != MQ_OK)
		goto out;
	mq_db_bind(st, "Ii", campaign, need);
	while ((sr = sqlite3_step(st)) == SQLITE_ROW && n < need)
		leads[n++] = sqlite3_column_int64(st, 0);
	if (sr != SQLITE_DONE && sr != SQLITE_ROW)
		rc = mq_db_fail(db, sr, "read leads", err);
	mq_db_release(db, st);
	for (int k = 0; rc == MQ_OK && k < n; k++) {
		i = mq_db_pick_variant(v->weight, v->n, campaign, leads[k]);
		rc = mq_db_run(db, err, "INSERT INTO queue (campaign_id, lead_id, "
		    "step, variant_id, scheduled_at, updated_at) VALUES (?1, ?2, 0, "
		    "?3, ?4, ?4) ON CONFLICT DO NOTHING", "IIII", campaign,
		    leads[k], v->id[i], (sqlite3_int64)now);
		if (rc == MQ_OK)
			rc = mq_db_run(db, err, "UPDATE campaign_lead SET status = "
			    "'active', letter = ?3, updated_at = ?4 WHERE "
			    "campaign_id = ?1 AND lead_id = ?2", "IIsI", campaign,
			    leads[k], v->letter[i], (sqlite3_int64)now);
	}
	*planned = rc == MQ_OK ? n : 0;
out:
	free(leads);
	return rc;
}

static int plan_locked(struct mq_db *db, sqlite3_int64 campaign, time_t now,
    int *planned, int *completed, struct mq_err *err)
{
	sqlite3_int64 buffer = 0, left = 1;
	struct variants v;
	int rc;

	if ((rc = drop_suppressed(db, campaign, now, err)) != MQ_OK)
		return rc;
	/* the buffer holds first messages: follow-ups waiting their days
	 * must not keep new leads from being planned */
	rc = mq_db_get(db, err, &buffer, NULL, "SELECT buffer - (SELECT "
	    "count(*) FROM queue WHERE campaign_id = ?1 AND status = 'pending' "
	    "AND step = 0) FROM campaign WHERE id = ?1", "I", campaign);
	if (rc == MQ_OK && buffer > 0)
		rc = skip_recent(db, campaign, now, buffer, err);
	if (rc == MQ_OK && buffer > 0 &&
	    (rc = load_variants(db, campaign, &v, err)) == MQ_OK)
		rc = plan_leads(db, campaign, now, (int)buffer, &v, planned, err);
	if (rc == MQ_OK)
		rc = mq_db_get(db, err, &left, NULL, "SELECT EXISTS (SELECT 1 "
		    "FROM queue WHERE campaign_id = ?1 AND status = 'pending') OR "
		    "EXISTS (SELECT 1 FROM queue INDEXED BY queue_claims WHERE "
		    "campaign_id = ?1 AND status = 'sending') OR EXISTS (SELECT 1 "
		    "FROM campaign_lead WHERE "
		    "campaign_id = ?1 AND status = 'queued')", "I", campaign);
	if (rc == MQ_OK && !left)
		rc = mq_db_campaign_move(db, campaign, MQ_MOVE_COMPLETE, now, -1,
		    completed, err);
	return rc;
}

int mq_db_plan(struct mq_db *db, sqlite3_int64 campaign, time_t now,
    int *planned, int *completed, struct mq_err *err)
{
	sqlite3_int64 full = 0;
	int rc;

	*planned = *completed = 0;
	/* a buffer more than half full is left as it is, without taking the
	 * write lock: refills come in batches, not one lead per message */
	rc = mq_db_get(db, err, &full, NULL, "SELECT 2 * (SELECT count(*) "
	    "FROM queue WHERE campaign_id = ?1 AND status = 'pending' AND "
	    "step = 0) > buffer FROM campaign WHERE id = ?1", "I", campaign);
	if (rc != MQ_OK || full)
		return rc;
	if ((rc = mq_db_begin(db, err)) != MQ_OK)
		return rc;
	rc = plan_locked(db, campaign, now, planned, completed, err);
	if (rc == MQ_OK)
		return mq_db_commit(db, err);
	mq_db_rollback(db);
	return rc;
}

