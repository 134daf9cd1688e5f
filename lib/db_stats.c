/*
 * The SQL of mailq-stats: see db_stats.h. Only SELECTs, inside the one read
 * transaction the caller opens; cached statements, since a view runs some
 * of them once per campaign or mailbox.
 */
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "db_stats.h"

/* Attempts that count against a day's limit, as the claim counts them
 * (db_queue.c): those that reached, or may have reached, the server. */
#define COUNTED "(outcome IS NULL OR outcome IN " \
	"('sent', 'unknown', 'bounced', 'permanent'))"


/* Copies column i into buf, cut at a UTF-8 character boundary. */
static void col_copy(sqlite3_stmt *st, int i, char *buf, size_t len)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	size_t n = s != NULL ? strlen((const char *)s) : 0;

	if (n >= len) {
		n = len - 1;
		while (n > 0 && (s[n] & 0xc0) == 0x80)
			n--;
	}
	if (n > 0)
		memcpy(buf, s, n);
	buf[n] = '\0';
}

int mq_db_stats_begin(struct mq_db *db, struct mq_err *err)
{
	return mq_db_exec(db, "BEGIN", err);
}

void mq_db_stats_end(struct mq_db *db)
{
	if (!sqlite3_get_autocommit(db->h) &&
	    mq_db_exec(db, "COMMIT", NULL) != MQ_OK)
		mq_db_exec(db, "ROLLBACK", NULL);
}

static int find(const sqlite3_int64 *ids, int n, sqlite3_int64 id)
{
	for (int i = 0; i < n; i++)
		if (ids[i] == id)
			return i;
	return -1;
}

static int state(const char *const *names, int n, const unsigned char *s)
{
	for (int i = 0; s != NULL && i < n; i++)
		if (strcmp(names[i], (const char *)s) == 0)
			return i;
	return -1;
}

/* One grouped pass: rows of (campaign_id, status, count) added to the
 * lead (msg = 0) or message (msg = 1) counts. */
static int grouped(struct mq_db *db, const char *sql, int msg,
    const sqlite3_int64 *ids, int n, struct mq_db_stats_counts *k,
    struct mq_err *err)
{
	sqlite3_stmt *st;
	int rc, sr, i, s;

	if ((rc = mq_db_stmt(db, sql, &st, err)) != MQ_OK)
		return rc;
	while ((sr = sqlite3_step(st)) == SQLITE_ROW) {
		if ((i = find(ids, n, sqlite3_column_int64(st, 0))) < 0)
			continue;
		s = state(msg ? mq_db_msg_states : mq_db_lead_states,
		    msg ? MQ_MSG_N : MQ_LEAD_N, sqlite3_column_text(st, 1));
		if (s >= 0 && msg)
			k[i].msg[s] += sqlite3_column_int(st, 2);
		else if (s >= 0)
			k[i].lead[s] += sqlite3_column_int(st, 2);
	}
	if (sr != SQLITE_DONE)
		rc = mq_db_fail(db, sr, "count", err);
	mq_db_release(db, st);
	return rc;
}

/* The queue of one campaign: waiting, claimed, and claimed too long. */
static int queue_counts(struct mq_db *db, sqlite3_int64 id,
    time_t stuck_before, struct mq_db_stats_counts *k, struct mq_err *err)
{
	static const char sql[] = "SELECT (SELECT count(*) FROM queue WHERE "
	    "campaign_id = ?1 AND status = 'pending'), (SELECT count(*) FROM "
	    "queue WHERE campaign_id = ?1 AND status = 'sending'), (SELECT "
	    "count(*) FROM queue WHERE campaign_id = ?1 AND status = 'sending' "
	    "AND claimed_at <= ?2)";
	sqlite3_stmt *st;
	int rc, sr;

	if ((rc = mq_db_stmt(db, sql, &st, err)) != MQ_OK)
		return rc;
	mq_db_bind(st, "II", id, (sqlite3_int64)stuck_before);
	if ((sr = sqlite3_step(st)) == SQLITE_ROW) {
		k->pending = sqlite3_column_int(st, 0);
		k->sending = sqlite3_column_int(st, 1);
		k->stuck = sqlite3_column_int(st, 2);
	} else {
		rc = mq_db_fail(db, sr, "count the queue", err);
	}
	mq_db_release(db, st);
	return rc;
}

int mq_db_stats_counts(struct mq_db *db, const sqlite3_int64 *ids, int n,
    time_t stuck_before, struct mq_db_stats_counts *k, struct mq_err *err)
{
	int rc;

	memset(k, 0, n * sizeof *k);
	rc = grouped(db, "SELECT campaign_id, status, count(*) FROM "
	    "campaign_lead GROUP BY campaign_id, status", 0, ids, n, k, err);
	if (rc == MQ_OK)
		rc = grouped(db, "SELECT campaign_id, status, count(*) FROM "
		    "send_log GROUP BY campaign_id, status", 1, ids, n, k, err);
	for (int i = 0; rc == MQ_OK && i < n; i++)
		rc = queue_counts(db, ids[i], stuck_before, &k[i], err);
	return rc;
}

int mq_db_stats_today(struct mq_db *db, enum mq_db_stats_by by,
    sqlite3_int64 id, time_t since, int *n, struct mq_err *err)
{
	static const char *const sql[] = {
		[MQ_DB_STATS_CAMPAIGN] = "SELECT count(*) FROM attempt WHERE "
		    "campaign_id = ?1 AND started_at >= ?2 AND " COUNTED,
		[MQ_DB_STATS_MAILBOX] = "SELECT count(*) FROM attempt WHERE "
		    "mailbox_id = ?1 AND started_at >= ?2 AND " COUNTED,
		[MQ_DB_STATS_SENDER] = "SELECT count(*) FROM attempt WHERE "
		    "sender_id = ?1 AND started_at >= ?2 AND " COUNTED,
	};
	sqlite3_int64 v = 0;
	int rc;

	rc = mq_db_get(db, err, &v, NULL, sql[by], "II", id,
	    (sqlite3_int64)since);
	*n = (int)v;
	return rc;
}

static void read_mailbox(sqlite3_stmt *st, void *p)
{
	struct mq_db_stats_mailbox *m = p;

	m->id = sqlite3_column_int64(st, 0);
	col_copy(st, 1, m->name, sizeof m->name);
	col_copy(st, 2, m->sender, sizeof m->sender);
	col_copy(st, 3, m->address, sizeof m->address);
	col_copy(st, 4, m->last_error, sizeof m->last_error);
	m->daily_limit = sqlite3_column_int(st, 5);
	m->enabled = sqlite3_column_int(st, 6);
	m->retired = sqlite3_column_int(st, 7);
	m->failing_since = sqlite3_column_int64(st, 8);
	m->sent = sqlite3_column_int(st, 9);
	m->rest_until = sqlite3_column_int64(st, 10);
	m->failures = sqlite3_column_int(st, 11);
}

int mq_db_stats_mailboxes(struct mq_db *db, struct mq_db_stats_mailbox **out,
    int *n, struct mq_err *err)
{
	return mq_db_rows(db, "SELECT m.id, m.name, s.name, m.address, "
	    "m.last_error, m.daily_limit, m.enabled, m.retired, "
	    "coalesce(m.failing_since, 0), (SELECT count(*) FROM send_log l "
	    "WHERE l.mailbox_id = m.id AND l.status = 'sent'), "
	    "coalesce(m.rest_until, 0), m.fail_count FROM mailbox m "
	    "JOIN sender s ON s.id = m.sender_id ORDER BY m.retired, m.name",
	    0, 0, sizeof **out, read_mailbox, (void **)out, n, err);
}

static void read_sender(sqlite3_stmt *st, void *p)
{
	struct mq_db_stats_sender *s = p;

	s->id = sqlite3_column_int64(st, 0);
	col_copy(st, 1, s->name, sizeof s->name);
	s->daily_limit = sqlite3_column_int(st, 2);
	s->retired = sqlite3_column_int(st, 3);
	s->mailboxes = sqlite3_column_int(st, 4);
	s->campaigns = sqlite3_column_int(st, 5);
}

int mq_db_stats_senders(struct mq_db *db, struct mq_db_stats_sender **out,
    int *n, struct mq_err *err)
{
	return mq_db_rows(db, "SELECT s.id, s.name, s.daily_limit, s.retired, "
	    "(SELECT count(*) FROM mailbox m WHERE m.sender_id = s.id AND NOT "
	    "m.retired), (SELECT count(*) FROM campaign c WHERE c.sender_id = "
	    "s.id AND NOT c.retired) FROM sender s ORDER BY s.retired, s.name",
	    0, 0, sizeof **out, read_sender, (void **)out, n, err);
}

int mq_db_stats_duplicates(struct mq_db *db, int *n, struct mq_err *err)
{
	sqlite3_int64 v = 0;
	int rc;

	rc = mq_db_get(db, err, &v, NULL, "SELECT count(*) FROM (SELECT 1 "
	    "FROM send_log GROUP BY campaign_id, lead_id, step HAVING "
	    "count(*) > 1)", "");
	*n = (int)v;
	return rc;
}

static void read_step(sqlite3_stmt *st, void *p)
{
	struct mq_db_stats_step *s = p;
	int i;

	s->step = sqlite3_column_int(st, 0);
	col_copy(st, 1, s->letter, sizeof s->letter);
	for (i = 0; i < MQ_MSG_N; i++)
		s->msg[i] = sqlite3_column_int(st, 2 + i);
}

int mq_db_stats_steps(struct mq_db *db, sqlite3_int64 id,
    struct mq_db_stats_step **out, int *n, struct mq_err *err)
{
	/* the columns follow mq_db_msg_states */
	return mq_db_rows(db, "SELECT s.number, v.letter, "
	    "count(*) FILTER (WHERE l.status = 'sending'), "
	    "count(*) FILTER (WHERE l.status = 'retry'), "
	    "count(*) FILTER (WHERE l.status = 'sent'), "
	    "count(*) FILTER (WHERE l.status = 'failed'), "
	    "count(*) FILTER (WHERE l.status = 'bounced'), "
	    "count(*) FILTER (WHERE l.status = 'unknown'), "
	    "count(*) FILTER (WHERE l.status = 'dropped') "
	    "FROM step s JOIN variant v ON v.step_id = s.id LEFT JOIN send_log l "
	    "ON l.campaign_id = s.campaign_id AND l.step = s.number AND "
	    "l.variant_id = v.id WHERE s.campaign_id = ?1 "
	    "GROUP BY s.number, v.letter ORDER BY s.number, v.letter",
	    id, 0, sizeof **out, read_step, (void **)out, n, err);
}

static void read_failure(sqlite3_stmt *st, void *p)
{
	struct mq_db_stats_failure *f = p;

	f->code = sqlite3_column_int(st, 0);
	f->count = sqlite3_column_int(st, 1);
	col_copy(st, 3, f->reply, sizeof f->reply);
}

int mq_db_stats_failures(struct mq_db *db, sqlite3_int64 id,
    struct mq_db_stats_failure **out, int *n, struct mq_err *err)
{
	/* max(id) makes the bare column the latest attempt's reply */
	return mq_db_rows(db, "SELECT coalesce(smtp_code, 0), count(*), max(id), "
	    "coalesce(detail, outcome) FROM attempt WHERE campaign_id = ?1 AND "
	    "outcome IS NOT NULL AND outcome <> 'sent' GROUP BY 1 "
	    "ORDER BY 2 DESC, 1", id, 0, sizeof **out, read_failure,
	    (void **)out, n, err);
}

static void read_item(sqlite3_stmt *st, void *p)
{
	struct mq_db_stats_item *q = p;

	col_copy(st, 0, q->lead, sizeof q->lead);
	q->step = sqlite3_column_int(st, 1);
	q->due = sqlite3_column_int64(st, 2);
}

int mq_db_stats_pending(struct mq_db *db, sqlite3_int64 id, int limit,
    struct mq_db_stats_item **out, int *n, struct mq_err *err)
{
	return mq_db_rows(db, "SELECT l.email, q.step, q.scheduled_at FROM queue q "
	    "JOIN lead l ON l.id = q.lead_id WHERE q.campaign_id = ?1 AND "
	    "q.status = 'pending' ORDER BY q.scheduled_at, q.id LIMIT ?2", id,
	    limit, sizeof **out, read_item, (void **)out, n, err);
}

static void read_send(sqlite3_stmt *st, void *p)
{
	struct mq_db_stats_send *s = p;

	s->at = sqlite3_column_int64(st, 0);
	col_copy(st, 1, s->lead, sizeof s->lead);
	col_copy(st, 2, s->mailbox, sizeof s->mailbox);
	s->step = sqlite3_column_int(st, 3);
	col_copy(st, 4, s->letter, sizeof s->letter);
	col_copy(st, 5, s->outcome, sizeof s->outcome);
	s->code = sqlite3_column_int(st, 6);
	col_copy(st, 7, s->reply, sizeof s->reply);
}

int mq_db_stats_recent(struct mq_db *db, sqlite3_int64 id, int limit,
    struct mq_db_stats_send **out, int *n, struct mq_err *err)
{
	return mq_db_rows(db, "SELECT a.started_at, l.email, m.name, s.step, "
	    "v.letter, coalesce(a.outcome, 'sending'), coalesce(a.smtp_code, 0), "
	    "a.detail FROM attempt a JOIN send_log s ON s.id = a.send_log_id "
	    "JOIN lead l ON l.id = s.lead_id LEFT JOIN mailbox m ON m.id = "
	    "a.mailbox_id LEFT JOIN variant v ON v.id = s.variant_id WHERE "
	    "a.campaign_id = ?1 ORDER BY a.started_at DESC, a.id DESC LIMIT ?2",
	    id, limit, sizeof **out, read_send, (void **)out, n, err);
}
