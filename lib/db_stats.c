/*
 * The SQL of mailq-stats: see db_stats.h. Only SELECTs, inside the one read
 * transaction the caller opens; cached statements, since a view runs some
 * of them once per campaign or mailbox.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "day_count.h"
#include "db_inbound.h"
#include "db_stats.h"
#include "text.h"

const char *const mq_db_inbound_classes[MQ_IN_N] = { "own", "hard_bounce",
    "soft_bounce", "auto_reply", "unsubscribe", "reply", "unmatched",
    "duplicate" };

/* Copies column i into buf, cut at a UTF-8 character boundary. */
static void col_copy(sqlite3_stmt *st, int i, char *buf, size_t len)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	size_t n = s != NULL ? strlen((const char *)s) : 0;

	if (n >= len)
		n = mq_text_cut((const char *)s, len - 1);
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
	    "queue INDEXED BY queue_claims WHERE campaign_id = ?1 AND status = "
	    "'sending'), (SELECT count(*) FROM queue INDEXED BY queue_claims "
	    "WHERE campaign_id = ?1 AND status = 'sending' AND claimed_at <= ?2)";
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

/* Where rows of a grouped query go: the campaigns or mailboxes ids[i]. */
struct into {
	const sqlite3_int64        *ids;
	int                         n;
	struct mq_db_stats_counts  *k;
	struct mq_db_stats_mailbox *m;
};

/* Runs sql (with text s as ?1, when not NULL) and hands every row whose
 * first column is one of to's ids to fn, with its index. */
static int walk(struct mq_db *db, const char *sql, const char *s,
    void (*fn)(sqlite3_stmt *, const struct into *, int),
    const struct into *to, struct mq_err *err)
{
	sqlite3_stmt *st;
	int rc, sr, i;

	if ((rc = mq_db_stmt(db, sql, &st, err)) != MQ_OK)
		return rc;
	if (s != NULL)
		mq_db_bind(st, "s", s);
	while ((sr = sqlite3_step(st)) == SQLITE_ROW)
		if ((i = find(to->ids, to->n, sqlite3_column_int64(st, 0))) >= 0)
			fn(st, to, i);
	if (sr != SQLITE_DONE)
		rc = mq_db_fail(db, sr, "count", err);
	mq_db_release(db, st);
	return rc;
}

/* (campaign, class, messages, of them resolving) */
static void add_inbound(sqlite3_stmt *st, const struct into *to, int i)
{
	int c = state(mq_db_inbound_classes, MQ_IN_N,
	    sqlite3_column_text(st, 1));

	if (c >= 0)
		to->k[i].inbound[c] += sqlite3_column_int(st, 2);
	to->k[i].resolved += sqlite3_column_int(st, 3);
}

/* (campaign, messages found in a Sent folder) */
static void add_found(sqlite3_stmt *st, const struct into *to, int i)
{
	to->k[i].resolved += sqlite3_column_int(st, 1);
}

/* The variant of k with this letter, added when new; NULL when full. */
static struct mq_db_stats_variant *variant(struct mq_db_stats_counts *k,
    const unsigned char *letter)
{
	struct mq_db_stats_variant *v;

	for (int i = 0; i < k->n_variants; i++)
		if (strcmp(k->variant[i].letter, (const char *)letter) == 0)
			return &k->variant[i];
	if (k->n_variants == MQ_DB_STATS_VARIANTS)
		return NULL;
	v = &k->variant[k->n_variants++];
	snprintf(v->letter, sizeof v->letter, "%s", (const char *)letter);
	return v;
}

/* (campaign, letter): a variant of step 0 */
static void add_letter(sqlite3_stmt *st, const struct into *to, int i)
{
	if (sqlite3_column_text(st, 1) != NULL)
		variant(&to->k[i], sqlite3_column_text(st, 1));
}

/* (campaign, letter, contacted, replied) */
static void add_replied(sqlite3_stmt *st, const struct into *to, int i)
{
	struct mq_db_stats_counts *k = &to->k[i];
	struct mq_db_stats_variant *v = NULL;
	int contacted = sqlite3_column_int(st, 2);
	int replied = sqlite3_column_int(st, 3);

	k->contacted += contacted;
	k->replied += replied;
	if (sqlite3_column_text(st, 1) != NULL)
		v = variant(k, sqlite3_column_text(st, 1));
	if (v != NULL) {
		v->contacted += contacted;
		v->replied += replied;
	}
}

static int by_letter(const void *a, const void *b)
{
	return strcmp(((const struct mq_db_stats_variant *)a)->letter,
	    ((const struct mq_db_stats_variant *)b)->letter);
}

/* What came back for every campaign: inbound messages by class, the
 * unknown messages resolved, and step 0's reply rate by variant. */
static int answer_counts(struct mq_db *db, const struct into *to,
    struct mq_err *err)
{
	int rc;

	rc = walk(db, "SELECT campaign_id, class, count(*), count(*) FILTER "
	    "(WHERE resolved) FROM inbound WHERE campaign_id IS NOT NULL "
	    "GROUP BY campaign_id, class", NULL, add_inbound, to, err);
	/* the attempt a Sent folder resolved is its message's last: the
	 * evidence is written into it, and a sent message gets no other */
	if (rc == MQ_OK)
		rc = walk(db, "SELECT a.campaign_id, count(*) FROM attempt a "
		    "WHERE substr(a.detail, 1, length(?1)) = ?1 AND a.id = "
		    "(SELECT max(b.id) FROM attempt b WHERE b.send_log_id = "
		    "a.send_log_id) GROUP BY a.campaign_id", MQ_DB_SENT_EVIDENCE,
		    add_found, to, err);
	if (rc == MQ_OK)
		rc = walk(db, "SELECT s.campaign_id, v.letter FROM step s JOIN "
		    "variant v ON v.step_id = s.id WHERE s.number = 0 ORDER BY "
		    "s.campaign_id, v.letter", NULL, add_letter, to, err);
	if (rc == MQ_OK)
		rc = walk(db, "SELECT s.campaign_id, cl.letter, count(*), "
		    "count(*) FILTER (WHERE cl.status = 'replied') FROM send_log s "
		    "JOIN campaign_lead cl ON cl.campaign_id = s.campaign_id AND "
		    "cl.lead_id = s.lead_id WHERE s.step = 0 AND s.status IN "
		    "('sent', 'bounced', 'unknown') GROUP BY s.campaign_id, "
		    "cl.letter", NULL, add_replied, to, err);
	for (int i = 0; i < to->n; i++)
		qsort(to->k[i].variant, to->k[i].n_variants,
		    sizeof to->k[i].variant[0], by_letter);
	return rc;
}

int mq_db_stats_counts(struct mq_db *db, const sqlite3_int64 *ids, int n,
    time_t stuck_before, struct mq_db_stats_counts *k, struct mq_err *err)
{
	struct into to = { ids, n, k, NULL };
	int rc;

	memset(k, 0, n * sizeof *k);
	rc = grouped(db, "SELECT campaign_id, status, count(*) FROM "
	    "campaign_lead GROUP BY campaign_id, status", 0, ids, n, k, err);
	if (rc == MQ_OK)
		rc = grouped(db, "SELECT campaign_id, status, count(*) FROM "
		    "send_log GROUP BY campaign_id, status", 1, ids, n, k, err);
	if (rc == MQ_OK)
		rc = answer_counts(db, &to, err);
	for (int i = 0; rc == MQ_OK && i < n; i++)
		rc = queue_counts(db, ids[i], stuck_before, &k[i], err);
	return rc;
}

int mq_db_stats_today(struct mq_db *db, enum mq_db_stats_by by,
    sqlite3_int64 id, time_t since, int *n, struct mq_err *err)
{
	static const char *const sql[] = {
		[MQ_DB_STATS_CAMPAIGN] = "SELECT " MQ_DAY_ATTEMPTS("campaign_id",
		    "?1"),
		[MQ_DB_STATS_MAILBOX] = "SELECT " MQ_DAY_ATTEMPTS("mailbox_id", "?1"),
		[MQ_DB_STATS_SENDER] = "SELECT "
		    MQ_DAY_SENDER_ATTEMPTS("?1"),
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
	m->bounce_rate = sqlite3_column_int(st, 12);
	m->paused_at = sqlite3_column_int64(st, 13);
	col_copy(st, 14, m->paused_why, sizeof m->paused_why);
	m->fetched_at = sqlite3_column_int64(st, 15);
	col_copy(st, 16, m->fetch_error, sizeof m->fetch_error);
}

/* (mailbox, class, messages) */
static void add_read(sqlite3_stmt *st, const struct into *to, int i)
{
	int c = state(mq_db_inbound_classes, MQ_IN_N,
	    sqlite3_column_text(st, 1));

	if (c >= 0)
		to->m[i].inbound[c] += sqlite3_column_int(st, 2);
	to->m[i].read += sqlite3_column_int(st, 2);
}

int mq_db_stats_mailboxes(struct mq_db *db, struct mq_db_stats_mailbox **out,
    int *n, struct mq_err *err)
{
	struct into to = { 0 };
	sqlite3_int64 *ids;
	int rc;

	rc = mq_db_rows(db, "SELECT m.id, m.name, s.name, m.address, "
	    "m.last_error, m.daily_limit, m.enabled, m.retired, "
	    "coalesce(m.failing_since, 0), (SELECT count(*) FROM send_log l "
	    "WHERE l.mailbox_id = m.id AND l.status = 'sent'), "
	    "coalesce(m.rest_until, 0), m.fail_count, m.bounce_rate, "
	    "coalesce(m.bounce_paused_at, 0), m.bounce_paused_why, "
	    "(SELECT coalesce(max(f.read_at), 0) FROM inbox_folder f WHERE "
	    "f.mailbox_id = m.id), (SELECT group_concat(f.folder || ': ' || "
	    "f.error, '; ') FROM inbox_folder f WHERE f.mailbox_id = m.id AND "
	    "f.error IS NOT NULL) FROM mailbox m JOIN sender s ON s.id = "
	    "m.sender_id ORDER BY m.retired, m.name",
	    0, 0, sizeof **out, read_mailbox, (void **)out, n, err);
	if (rc != MQ_OK || *n == 0)
		return rc;
	if ((ids = calloc(*n, sizeof *ids)) == NULL)
		return mq_err_perm(err, EX_OSERR, "out of memory");
	for (int i = 0; i < *n; i++)
		ids[i] = (*out)[i].id;
	to.ids = ids;
	to.n = *n;
	to.m = *out;
	rc = walk(db, "SELECT mailbox_id, class, count(*) FROM inbound GROUP "
	    "BY mailbox_id, class", NULL, add_read, &to, err);
	free(ids);
	return rc;
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

static void read_inbound(sqlite3_stmt *st, void *p)
{
	struct mq_db_stats_inbound *i = p;

	i->read_at = sqlite3_column_int64(st, 2);
	col_copy(st, 3, i->mailbox, sizeof i->mailbox);
	col_copy(st, 4, i->folder, sizeof i->folder);
	col_copy(st, 5, i->from, sizeof i->from);
	col_copy(st, 6, i->subject, sizeof i->subject);
	col_copy(st, 7, i->cls, sizeof i->cls);
	col_copy(st, 8, i->reason, sizeof i->reason);
	col_copy(st, 9, i->lead, sizeof i->lead);
	col_copy(st, 10, i->campaign, sizeof i->campaign);
	i->resolved = sqlite3_column_int(st, 11);
}

#define INBOUND_COLS "i.id, i.read_at, mb.name, i.folder, i.from_addr, " \
    "i.subject, i.class, i.reason, l.email, c.name, i.resolved FROM " \
    "inbound i JOIN mailbox mb ON mb.id = i.mailbox_id LEFT JOIN lead l ON " \
    "l.id = i.lead_id LEFT JOIN campaign c ON c.id = i.campaign_id "

int mq_db_stats_inbox(struct mq_db *db, int limit,
    struct mq_db_stats_inbound **out, int *n, struct mq_err *err)
{
	/* an unmatched message never has a campaign: index inbound_campaign
	 * finds them; the others come newest first off index inbound_read */
	return mq_db_rows(db, "SELECT * FROM (SELECT 0 AS part, " INBOUND_COLS
	    "WHERE i.campaign_id IS NULL AND i.class = 'unmatched' ORDER BY "
	    "i.read_at DESC, i.id DESC LIMIT ?2) UNION ALL SELECT * FROM "
	    "(SELECT 1, " INBOUND_COLS "WHERE i.class <> 'unmatched' ORDER BY "
	    "i.read_at DESC, i.id DESC LIMIT ?2) ORDER BY part, read_at DESC, "
	    "id DESC LIMIT ?2", 0, limit, sizeof **out, read_inbound,
	    (void **)out, n, err);
}
