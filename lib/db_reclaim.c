/* Dead claims and unknown messages: see db_reclaim.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "db_campaign.h"
#include "db_reclaim.h"

static void text(sqlite3_stmt *st, int i, char *buf, size_t len)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	snprintf(buf, len, "%s", s != NULL ? (const char *)s : "");
}

static void read_stale(sqlite3_stmt *st, struct mq_db_stale *s)
{
	memset(s, 0, sizeof *s);
	s->queue_id = sqlite3_column_int64(st, 0);
	s->send_log_id = sqlite3_column_int64(st, 1);
	s->lead_id = sqlite3_column_int64(st, 2);
	s->step = sqlite3_column_int(st, 3);
	s->attempts = sqlite3_column_int(st, 4);
	s->campaign_id = sqlite3_column_int64(st, 5);
	text(st, 6, s->campaign, sizeof s->campaign);
	text(st, 7, s->email, sizeof s->email);
	text(st, 8, s->phase, sizeof s->phase);
	text(st, 9, s->owner.host, sizeof s->owner.host);
	s->owner.pid = (long)sqlite3_column_int64(st, 10);
	s->owner.start = sqlite3_column_int64(st, 11);
	s->claimed_at = sqlite3_column_int64(st, 12);
}

int mq_db_stale_claims(struct mq_db *db, const char *only, time_t before,
    struct mq_db_stale **out, int *n, struct mq_err *err)
{
	static const char sql[] = "SELECT q.id, l.id, q.lead_id, q.step, "
	    "q.attempts, c.id, c.name, e.email, "
	    "q.phase, q.claim_host, q.claim_pid, q.claim_start, q.claimed_at "
	    "FROM queue q JOIN campaign c ON c.id = q.campaign_id "
	    "JOIN lead e ON e.id = q.lead_id LEFT JOIN send_log l ON "
	    "l.campaign_id = q.campaign_id AND l.lead_id = q.lead_id AND "
	    "l.step = q.step WHERE q.status = 'sending' AND q.claimed_at <= ?1 "
	    "AND (?2 IS NULL OR c.name = ?2) ORDER BY q.claimed_at";
	struct mq_db_stale *v = NULL, *more;
	sqlite3_stmt *st;
	int cap = 0, rc, sr;

	*out = NULL;
	*n = 0;
	if ((rc = mq_db_stmt(db, sql, &st, err)) != MQ_OK)
		return rc;
	mq_db_bind(st, "Is", (sqlite3_int64)before, only);
	while ((sr = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((more = realloc(v, cap * sizeof *v)) == NULL) {
				rc = mq_err_perm(err, EX_OSERR, "out of memory");
				break;
			}
			v = more;
		}
		read_stale(st, &v[(*n)++]);
	}
	if (rc == MQ_OK && sr != SQLITE_DONE)
		rc = mq_db_fail(db, sr, "read claims", err);
	mq_db_release(db, st);
	*out = v;
	return rc;
}

/* Per destination: the queue change (guarded by the dead owner), the send
 * log's state, the attempt's outcome, the lead's state (NULL: kept). */
#define DEAD "id = ?1 AND status = 'sending' AND claim_host = ?2 AND " \
	"claim_pid = ?3 AND claim_start = ?4"
static const struct {
	const char *queue, *log, *attempt, *lead;
} to_sql[] = {
	[MQ_RECLAIM_PENDING] = { "UPDATE queue SET status = 'pending', phase = "
	    "NULL, scheduled_at = ?6, last_error = 'reclaimed from a dead run', "
	    "updated_at = ?5 WHERE " DEAD, "retry", "reclaimed", NULL },
	[MQ_RECLAIM_FAILED] = { "UPDATE queue SET status = 'failed', phase = "
	    "'done', last_error = 'reclaimed from a dead run; out of retries', "
	    "updated_at = ?5 WHERE " DEAD, "failed", "reclaimed", "failed" },
	[MQ_RECLAIM_UNKNOWN] = { "UPDATE queue SET status = 'unknown', "
	    "last_error = 'the run died after the message data began', "
	    "updated_at = ?5 WHERE " DEAD, "unknown", "unknown", "unknown" },
};

static int reclaim_locked(struct mq_db *db, const struct mq_db_stale *s,
    enum mq_reclaim_to to, time_t now, time_t retry_at, int *done,
    struct mq_err *err)
{
	int rc;

	rc = mq_db_run(db, err, to_sql[to].queue, "IsIIII", s->queue_id,
	    s->owner.host, (sqlite3_int64)s->owner.pid, s->owner.start,
	    (sqlite3_int64)now, (sqlite3_int64)retry_at);
	if (rc != MQ_OK || !(*done = sqlite3_changes(db->h) == 1))
		return rc;
	rc = mq_db_run(db, err, "UPDATE send_log SET status = ?2 WHERE id = ?1 "
	    "AND status = 'sending'", "Is", s->send_log_id, to_sql[to].log);
	if (rc == MQ_OK)
		rc = mq_db_run(db, err, "UPDATE attempt SET outcome = ?2, "
		    "ended_at = ?3 WHERE send_log_id = ?1 AND outcome IS NULL",
		    "IsI", s->send_log_id, to_sql[to].attempt, (sqlite3_int64)now);
	if (rc == MQ_OK && to_sql[to].lead != NULL)
		rc = mq_db_run(db, err, "UPDATE campaign_lead SET status = ?3, "
		    "updated_at = ?4 WHERE lead_id = ?2 AND campaign_id = (SELECT "
		    "campaign_id FROM queue WHERE id = ?1)", "IIsI", s->queue_id,
		    s->lead_id, to_sql[to].lead, (sqlite3_int64)now);
	return rc;
}

int mq_db_reclaim(struct mq_db *db, const struct mq_db_stale *s,
    enum mq_reclaim_to to, time_t now, time_t retry_at, int *done,
    struct mq_err *err)
{
	int rc;

	*done = 0;
	if ((rc = mq_db_begin(db, err)) != MQ_OK)
		return rc;
	rc = reclaim_locked(db, s, to, now, retry_at, done, err);
	if (rc == MQ_OK && *done)
		return mq_db_commit(db, err);
	mq_db_rollback(db);
	return rc;
}

static void read_id(sqlite3_stmt *st, void *p)
{
	*(sqlite3_int64 *)p = sqlite3_column_int64(st, 0);
}

/* A completed campaign (of only, or any) that has messages to send again
 * runs again. */
static int reopen(struct mq_db *db, const char *only, time_t now,
    struct mq_err *err)
{
	sqlite3_int64 id = -1, *ids = NULL;
	int found = 1, n = 0, rc = MQ_OK;

	if (only != NULL)
		rc = mq_db_get(db, err, &id, &found, "SELECT id FROM campaign "
		    "WHERE name = ?1", "s", only);
	if (rc == MQ_OK && found)
		rc = mq_db_rows(db, "SELECT DISTINCT campaign_id FROM queue "
		    "WHERE status = 'pending' AND (?1 < 0 OR campaign_id = ?1)",
		    id, 0, sizeof *ids, read_id, (void **)&ids, &n, err);
	for (int i = 0; rc == MQ_OK && i < n; i++)
		rc = mq_db_campaign_move(db, ids[i], MQ_MOVE_REOPEN, now, -1,
		    NULL, err);
	free(ids);
	return rc;
}

static int unknown_locked(struct mq_db *db, const char *only, int resend,
    time_t now, int *n, struct mq_err *err)
{
	static const char *const sql[2][3] = { {
	    "UPDATE send_log SET status = 'dropped' WHERE status = 'unknown' "
	    "AND (?1 IS NULL OR campaign_id = (SELECT id FROM campaign WHERE "
	    "name = ?1))",
	    "UPDATE queue SET status = 'cancelled', last_error = 'unknown; "
	    "given up by the operator', updated_at = ?2 WHERE status = "
	    "'unknown' AND (?1 IS NULL OR campaign_id = (SELECT id FROM "
	    "campaign WHERE name = ?1))",
	    "UPDATE campaign_lead SET status = 'failed', updated_at = ?2 WHERE "
	    "status = 'unknown' AND (?1 IS NULL OR campaign_id = (SELECT id "
	    "FROM campaign WHERE name = ?1))" }, {
	    "UPDATE send_log SET status = 'retry' WHERE status = 'unknown' "
	    "AND (?1 IS NULL OR campaign_id = (SELECT id FROM campaign WHERE "
	    "name = ?1))",
	    "UPDATE queue SET status = 'pending', phase = NULL, scheduled_at = "
	    "?2, last_error = 'unknown; resent by the operator', updated_at = "
	    "?2 WHERE status = 'unknown' AND (?1 IS NULL OR campaign_id = "
	    "(SELECT id FROM campaign WHERE name = ?1))",
	    "UPDATE campaign_lead SET status = 'active', updated_at = ?2 WHERE "
	    "status = 'unknown' AND (?1 IS NULL OR campaign_id = (SELECT id "
	    "FROM campaign WHERE name = ?1))" } };
	int rc = MQ_OK;

	for (int i = 0; rc == MQ_OK && i < 3; i++) {
		rc = mq_db_run(db, err, sql[resend][i], "sI", only,
		    (sqlite3_int64)now);
		if (i == 1)
			*n = sqlite3_changes(db->h);
	}
	if (rc == MQ_OK && resend)
		rc = reopen(db, only, now, err);
	return rc;
}

int mq_db_unknown(struct mq_db *db, const char *only, int resend,
    int dry_run, time_t now, int *n, struct mq_err *err)
{
	int rc;

	*n = 0;
	if ((rc = mq_db_begin(db, err)) != MQ_OK)
		return rc;
	rc = unknown_locked(db, only, resend, now, n, err);
	if (rc == MQ_OK && !dry_run)
		return mq_db_commit(db, err);
	mq_db_rollback(db);
	return rc;
}
