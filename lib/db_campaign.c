/* The campaign store: see db_campaign.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "db_campaign.h"

const char *const mq_db_lead_states[MQ_LEAD_N] = { "queued", "active",
    "done", "failed", "bounced", "unknown", "replied", "unsubscribed",
    "skipped", "cancelled" };
const char *const mq_db_msg_states[MQ_MSG_N] = { "sending", "retry", "sent",
    "failed", "bounced", "unknown", "dropped" };

const char *const mq_db_campaign_states[MQ_CAMPAIGN_N] = { "draft",
    "scheduled", "running", "paused", "stopped", "completed" };

#define IN(s) (1u << (s))

/* The status machine: per move, the statuses it may leave, the one it
 * goes to, and whether the campaign's pending messages and unfinished
 * leads are cancelled with it. */
static const struct move {
	unsigned                   from;
	enum mq_db_campaign_status to;
	int                        cancel;
} moves[MQ_MOVE_N] = {
	[MQ_MOVE_START] = { IN(MQ_CAMPAIGN_DRAFT) | IN(MQ_CAMPAIGN_COMPLETED),
	    MQ_CAMPAIGN_SCHEDULED, 0 },
	[MQ_MOVE_PAUSE] = { IN(MQ_CAMPAIGN_SCHEDULED) | IN(MQ_CAMPAIGN_RUNNING),
	    MQ_CAMPAIGN_PAUSED, 0 },
	[MQ_MOVE_RESUME] = { IN(MQ_CAMPAIGN_PAUSED), MQ_CAMPAIGN_SCHEDULED, 0 },
	[MQ_MOVE_STOP] = { IN(MQ_CAMPAIGN_DRAFT) | IN(MQ_CAMPAIGN_SCHEDULED) |
	    IN(MQ_CAMPAIGN_RUNNING) | IN(MQ_CAMPAIGN_PAUSED),
	    MQ_CAMPAIGN_STOPPED, 1 },
	[MQ_MOVE_RUN] = { IN(MQ_CAMPAIGN_SCHEDULED), MQ_CAMPAIGN_RUNNING, 0 },
	[MQ_MOVE_COMPLETE] = { IN(MQ_CAMPAIGN_SCHEDULED) |
	    IN(MQ_CAMPAIGN_RUNNING), MQ_CAMPAIGN_COMPLETED, 0 },
	[MQ_MOVE_REOPEN] = { IN(MQ_CAMPAIGN_COMPLETED), MQ_CAMPAIGN_RUNNING, 0 },
	[MQ_MOVE_RETIRE] = { IN(MQ_CAMPAIGN_N) - 1, MQ_CAMPAIGN_STOPPED, 1 },
};

int mq_db_campaign_may(enum mq_db_move m, enum mq_db_campaign_status s)
{
	return (moves[m].from & IN(s)) != 0;
}

enum mq_db_campaign_status mq_db_campaign_target(enum mq_db_move m)
{
	return moves[m].to;
}

int mq_db_campaign_sending(const struct mq_db_campaign *c)
{
	return c->status == MQ_CAMPAIGN_SCHEDULED ||
	    c->status == MQ_CAMPAIGN_RUNNING;
}

/* The status stored as name; -1 for a name not in the mapping. */
static int status_named(const char *name)
{
	for (int i = 0; i < MQ_CAMPAIGN_N; i++)
		if (name != NULL && strcmp(name, mq_db_campaign_states[i]) == 0)
			return i;
	return -1;
}

/* The stored "60,300,900" as one value per retry; past the list its last
 * value repeats (60 for an empty one). */
static void parse_backoff(const char *list, int *v, int n)
{
	char *end;
	int i = 0, x = 60;

	while (list != NULL && *list != '\0' && i < n) {
		v[i++] = x = (int)strtol(list, &end, 10);
		if (*end != ',')
			break;
		list = end + 1;
	}
	while (i < n)
		v[i++] = x;
}

int mq_db_campaign_backoff(const struct mq_db_campaign *c, int tries)
{
	int i = tries - 1;

	return c->backoff[i < 0 ? 0 : i < MQ_CONF_RETRY_MAX ? i :
	    MQ_CONF_RETRY_MAX - 1];
}

#define CAMPAIGN_COLS "SELECT c.id, c.name, c.status, s.name, " \
	"c.timezone, c.holidays, c.extra_holidays, c.retry_backoff, " \
	"c.retired, c.days, c.start_min, c.end_min, c.delay, c.jitter, " \
	"c.daily_limit, c.buffer, c.retry_attempts, c.next_send_at, " \
	"c.status_at, s.id, s.daily_limit FROM campaign c JOIN sender s ON " \
	"s.id = c.sender_id "

/* Copies the row's strings (columns 1, 3, 4, 5, 6) into one block. */
static int read_strings(sqlite3_stmt *st, struct mq_db_campaign *c)
{
	static const int col[] = { 1, 3, 4, 5, 6 };
	const char **to[] = { &c->name, &c->sender, &c->sched.timezone,
	    &c->sched.holidays, &c->sched.extra_holidays };
	size_t len = 0, k, n;
	const unsigned char *t;
	char *p;

	for (k = 0; k < 5; k++) {
		sqlite3_column_text(st, col[k]);
		len += (size_t)sqlite3_column_bytes(st, col[k]) + 1;
	}
	if ((c->mem = p = malloc(len)) == NULL)
		return -1;
	for (k = 0; k < 5; k++) {
		t = sqlite3_column_text(st, col[k]);
		n = (size_t)sqlite3_column_bytes(st, col[k]);
		memcpy(p, t != NULL ? (const char *)t : "", n);
		p[n] = '\0';
		*to[k] = p;
		p += n + 1;
	}
	return 0;
}

int mq_db_campaign_copy(struct mq_db_campaign *dst,
    const struct mq_db_campaign *src)
{
	const char **to[] = { &dst->name, &dst->sender, &dst->sched.timezone,
	    &dst->sched.holidays, &dst->sched.extra_holidays };
	const char *const from[] = { src->name, src->sender,
	    src->sched.timezone, src->sched.holidays,
	    src->sched.extra_holidays };
	size_t len;
	char *mem;

	/* read_strings lays the strings out in this order, in one block */
	len = (size_t)(src->sched.extra_holidays - src->mem) +
	    strlen(src->sched.extra_holidays) + 1;
	if ((mem = malloc(len)) == NULL)
		return MQ_TEMP;
	memcpy(mem, src->mem, len);
	*dst = *src;
	dst->mem = mem;
	for (size_t k = 0; k < sizeof to / sizeof *to; k++)
		*to[k] = mem + (from[k] - src->mem);
	return MQ_OK;
}

static int read_campaign(sqlite3_stmt *st, struct mq_db_campaign *c,
    struct mq_err *err)
{
	int status = status_named((const char *)sqlite3_column_text(st, 2));

	memset(c, 0, sizeof *c);
	if (status < 0)
		return mq_err_perm(err, EX_DATAERR, "campaign %lld: unknown "
		    "status '%s'", (long long)sqlite3_column_int64(st, 0),
		    (const char *)sqlite3_column_text(st, 2));
	if (read_strings(st, c) != 0)
		return mq_err_perm(err, EX_OSERR, "out of memory");
	c->id = sqlite3_column_int64(st, 0);
	c->status = (enum mq_db_campaign_status)status;
	parse_backoff((const char *)sqlite3_column_text(st, 7), c->backoff,
	    MQ_CONF_RETRY_MAX);
	c->retired = sqlite3_column_int(st, 8);
	c->sched.days = sqlite3_column_int(st, 9);
	c->sched.start_min = sqlite3_column_int(st, 10);
	c->sched.end_min = sqlite3_column_int(st, 11);
	c->delay = sqlite3_column_int(st, 12);
	c->jitter = sqlite3_column_int(st, 13);
	c->daily_limit = sqlite3_column_int(st, 14);
	c->buffer = sqlite3_column_int(st, 15);
	c->retry_attempts = sqlite3_column_int(st, 16);
	c->next_send_at = sqlite3_column_int64(st, 17);
	c->status_at = sqlite3_column_int64(st, 18);
	c->sender_id = sqlite3_column_int64(st, 19);
	c->sender_limit = sqlite3_column_int(st, 20);
	return MQ_OK;
}

int mq_db_campaign_list(struct mq_db *db, enum mq_db_which which,
    const char *only, struct mq_db_campaign **out, int *n,
    struct mq_err *err)
{
	static const char sql[] = CAMPAIGN_COLS "WHERE (?1 = 0 OR (NOT "
	    "c.retired AND c.status IN (?3, ?4))) AND (?2 IS NULL OR "
	    "c.name = ?2) ORDER BY c.retired, c.name";
	struct mq_db_campaign *v = NULL, *more;
	sqlite3_stmt *st;
	int cap = 0, rc, sr = SQLITE_DONE;

	*out = NULL;
	*n = 0;
	if ((rc = mq_db_stmt(db, sql, &st, err)) != MQ_OK)
		return rc;
	mq_db_bind(st, "isss", which == MQ_DB_SENDING, only,
	    mq_db_campaign_states[MQ_CAMPAIGN_SCHEDULED],
	    mq_db_campaign_states[MQ_CAMPAIGN_RUNNING]);
	while (rc == MQ_OK && (sr = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((more = realloc(v, cap * sizeof *v)) == NULL) {
				rc = mq_err_perm(err, EX_OSERR, "out of memory");
				break;
			}
			v = more;
		}
		if ((rc = read_campaign(st, &v[*n], err)) == MQ_OK)
			(*n)++;
	}
	if (rc == MQ_OK && sr != SQLITE_DONE)
		rc = mq_db_fail(db, sr, "read campaigns", err);
	mq_db_release(db, st);
	*out = v;
	return rc;
}

int mq_db_campaign_get(struct mq_db *db, const char *name,
    struct mq_db_campaign *c, struct mq_err *err)
{
	struct mq_db_campaign *v;
	int n, rc;

	memset(c, 0, sizeof *c);
	rc = mq_db_campaign_list(db, MQ_DB_ALL, name, &v, &n, err);
	if (rc == MQ_OK && n == 0)
		rc = mq_err_perm(err, EX_NOINPUT,
		    "campaign '%s': no such campaign", name);
	if (rc == MQ_OK) {
		*c = v[0];
		free(v);
		return MQ_OK;
	}
	mq_db_campaign_free_all(v, n);
	return rc;
}

void mq_db_campaign_free_all(struct mq_db_campaign *v, int n)
{
	for (int i = 0; i < n; i++)
		mq_db_campaign_free(&v[i]);
	free(v);
}

void mq_db_campaign_free(struct mq_db_campaign *c)
{
	free(c->mem);
	memset(c, 0, sizeof *c);
}

/* Its pending messages and its leads not yet finished are cancelled. */
static int cancel_all(struct mq_db *db, sqlite3_int64 id, time_t now,
    struct mq_err *err)
{
	int rc;

	rc = mq_db_run(db, err, "UPDATE queue SET status = 'cancelled', "
	    "updated_at = ?2 WHERE campaign_id = ?1 AND status = 'pending'",
	    "II", id, (sqlite3_int64)now);
	if (rc == MQ_OK)
		rc = mq_db_run(db, err, "UPDATE campaign_lead SET status = "
		    "'cancelled', updated_at = ?2 WHERE campaign_id = ?1 AND "
		    "status IN ('queued', 'active')", "II", id, (sqlite3_int64)now);
	return rc;
}

int mq_db_campaign_move(struct mq_db *db, sqlite3_int64 id,
    enum mq_db_move m, time_t now, time_t next_send_at, int *moved,
    struct mq_err *err)
{
	static const char sql[] = "UPDATE campaign SET status = ?2, "
	    "status_at = ?3, next_send_at = CASE WHEN ?4 >= 0 THEN ?4 ELSE "
	    "next_send_at END, next_send_ms = CASE WHEN ?4 >= 0 THEN 0 ELSE "
	    "next_send_ms END WHERE id = ?1 AND status IN (?5, ?6, ?7, ?8, "
	    "?9, ?10)";
	const struct move *v = &moves[m];
	const char *from[6];
	int rc, done;

	_Static_assert(MQ_CAMPAIGN_N == 6, "one parameter per status");
	for (int i = 0; i < MQ_CAMPAIGN_N; i++)
		from[i] = v->from & IN(i) ? mq_db_campaign_states[i] : NULL;
	rc = mq_db_run(db, err, sql, "IsIIssssss", id,
	    mq_db_campaign_states[v->to], (sqlite3_int64)now,
	    (sqlite3_int64)next_send_at, from[0], from[1], from[2], from[3],
	    from[4], from[5]);
	done = rc == MQ_OK && sqlite3_changes(db->h) == 1;
	if (moved != NULL)
		*moved = done;
	if (done && v->cancel)
		rc = cancel_all(db, id, now, err);
	return rc;
}

static char *col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return strdup(s != NULL ? (const char *)s : "");
}

/* Runs sql with ?1 = id (when id >= 0) and collects the first column of
 * every row as strings. */
static int lines(struct mq_db *db, const char *sql, sqlite3_int64 id,
    char ***out, int *n, struct mq_err *err)
{
	sqlite3_stmt *st;
	char **v = NULL, **more;
	int cap = 0, rc, sr;

	*out = NULL;
	*n = 0;
	if ((rc = mq_db_prepare(db, sql, &st, err)) != MQ_OK)
		return rc;
	if (id >= 0)
		mq_db_bind(st, "I", id);
	while ((sr = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			if ((more = realloc(v, cap * sizeof *v)) == NULL)
				break;
			v = more;
		}
		if ((v[*n] = col_dup(st, 0)) == NULL)
			break;
		(*n)++;
	}
	if (sr == SQLITE_ROW)
		rc = mq_err_perm(err, EX_OSERR, "out of memory");
	else if (sr != SQLITE_DONE)
		rc = mq_db_fail(db, sr, "read campaigns", err);
	sqlite3_finalize(st);
	*out = v;
	return rc;
}

int mq_db_campaign_names(struct mq_db *db, char ***names, int *n,
    struct mq_err *err)
{
	return lines(db, "SELECT name FROM campaign ORDER BY retired, name",
	    -1, names, n, err);
}

int mq_db_campaign_mailboxes(struct mq_db *db, sqlite3_int64 id,
    char ***names, int *n, struct mq_err *err)
{
	return lines(db, "SELECT m.name || ' <' || m.address || '> ' || "
	    "'limit ' || m.daily_limit || CASE WHEN m.retired THEN ' retired' "
	    "WHEN NOT m.enabled THEN ' disabled' WHEN m.failing_since IS NOT "
	    "NULL THEN ' failing: ' || coalesce(m.last_error, '?') ELSE '' END "
	    "FROM campaign_mailbox cm JOIN mailbox m ON m.id = cm.mailbox_id "
	    "WHERE cm.campaign_id = ?1 ORDER BY cm.position", id, names, n, err);
}

static void read_waiting(sqlite3_stmt *st, void *p)
{
	struct mq_db_waiting *w = p;

	snprintf(w->mailbox, sizeof w->mailbox, "%s",
	    (const char *)sqlite3_column_text(st, 0));
	w->n = sqlite3_column_int(st, 1);
	snprintf(w->why, sizeof w->why, "%s",
	    (const char *)sqlite3_column_text(st, 2));
}

int mq_db_campaign_waiting(struct mq_db *db, sqlite3_int64 id,
    struct mq_db_waiting **out, int *n, struct mq_err *err)
{
	return mq_db_rows(db, "SELECT m.name, count(*), CASE WHEN m.retired "
	    "THEN 'retired' WHEN NOT m.enabled THEN 'disabled' ELSE 'not one "
	    "of the campaign''s mailboxes' END FROM queue q JOIN "
	    "campaign_lead cl ON cl.campaign_id = q.campaign_id AND "
	    "cl.lead_id = q.lead_id JOIN mailbox m ON m.id = cl.mailbox_id "
	    "WHERE q.campaign_id = ?1 AND q.status = 'pending' AND (m.retired "
	    "OR NOT m.enabled OR NOT EXISTS (SELECT 1 FROM campaign_mailbox cm "
	    "WHERE cm.campaign_id = ?1 AND cm.mailbox_id = m.id)) GROUP BY "
	    "m.id ORDER BY m.name", id, 0, sizeof **out, read_waiting,
	    (void **)out, n, err);
}

int mq_db_campaign_steps(struct mq_db *db, sqlite3_int64 id, char ***out,
    int *n, struct mq_err *err)
{
	return lines(db, "SELECT 'step ' || s.number || CASE WHEN s.number > 0 "
	    "THEN ' (+' || s.wait_days || ' d)' ELSE '' END || ' ' || "
	    "v.letter || ' weight ' || v.weight || CASE WHEN v.body_html IS "
	    "NOT NULL THEN ' +html' ELSE '' END || CASE WHEN v.retired OR "
	    "s.retired THEN ' retired' ELSE '' END || ': ' || v.subject "
	    "FROM step s JOIN variant v ON v.step_id = s.id "
	    "WHERE s.campaign_id = ?1 ORDER BY s.number, v.letter",
	    id, out, n, err);
}

/* Adds the count in column 1 of each row to slot[index of column 0's name
 * in names]. */
static int tally(struct mq_db *db, const char *sql, sqlite3_int64 id,
    sqlite3_int64 arg, const char *const *names, int n_names, int *slot,
    struct mq_err *err)
{
	sqlite3_stmt *st;
	const char *name;
	int rc, sr;

	if ((rc = mq_db_prepare(db, sql, &st, err)) != MQ_OK)
		return rc;
	mq_db_bind(st, "II", id, arg);
	while ((sr = sqlite3_step(st)) == SQLITE_ROW) {
		name = (const char *)sqlite3_column_text(st, 0);
		for (int i = 0; i < n_names; i++)
			if (name != NULL && strcmp(name, names[i]) == 0)
				slot[i] += sqlite3_column_int(st, 1);
	}
	if (sr != SQLITE_DONE)
		rc = mq_db_fail(db, sr, "count", err);
	sqlite3_finalize(st);
	return rc;
}

int mq_db_campaign_counts(struct mq_db *db, sqlite3_int64 id,
    time_t day_start, struct mq_db_campaign_counts *k, struct mq_err *err)
{
	static const char *const one[] = { "n" };
	int rc, n[6] = { 0 };

	memset(k, 0, sizeof *k);
	rc = tally(db, "SELECT status, count(*) FROM campaign_lead WHERE "
	    "campaign_id = ?1 GROUP BY status", id, 0, mq_db_lead_states,
	    MQ_LEAD_N, k->lead, err);
	if (rc == MQ_OK)
		rc = tally(db, "SELECT status, count(*) FROM send_log WHERE "
		    "campaign_id = ?1 GROUP BY status", id, 0, mq_db_msg_states,
		    MQ_MSG_N, k->msg, err);
	if (rc == MQ_OK)
		rc = tally(db, "SELECT 'n', count(*) FROM queue WHERE "
		    "campaign_id = ?1 AND status = 'pending'", id, 0, one, 1,
		    &n[0], err);
	if (rc == MQ_OK)
		rc = tally(db, "SELECT 'n', count(*) FROM send_log WHERE "
		    "campaign_id = ?1 AND sent_at >= ?2", id, day_start, one, 1,
		    &n[1], err);
	if (rc == MQ_OK)
		rc = tally(db, "SELECT 'n', count(*) FROM campaign_mailbox cm "
		    "JOIN mailbox m ON m.id = cm.mailbox_id WHERE "
		    "cm.campaign_id = ?1", id, 0, one, 1, &n[2], err);
	if (rc == MQ_OK)
		rc = tally(db, "SELECT 'n', count(*) FROM campaign_mailbox cm "
		    "JOIN mailbox m ON m.id = cm.mailbox_id WHERE "
		    "cm.campaign_id = ?1 AND m.enabled AND NOT m.retired", id, 0,
		    one, 1, &n[3], err);
	if (rc == MQ_OK)
		rc = tally(db, "SELECT 'n', count(*) FROM send_log s WHERE "
		    "s.campaign_id = ?1 AND s.status = 'retry' AND NOT EXISTS "
		    "(SELECT 1 FROM attempt a WHERE a.send_log_id = s.id AND "
		    "a.outcome IS NOT 'mailbox')", id, 0, one, 1, &n[4], err);
	for (int i = 0; i < MQ_LEAD_N; i++)
		k->leads += k->lead[i];
	k->mailbox_wait = n[4];
	k->pending = n[0];
	k->sent_today = n[1];
	k->mailboxes = n[2];
	k->usable_mailboxes = n[3];
	return rc;
}

int mq_db_campaign_reassign(struct mq_db *db, sqlite3_int64 id,
    const char *from, const char *to, int *moved, struct mq_err *err)
{
	sqlite3_int64 f = 0, t = 0;
	int found, rc;

	*moved = 0;
	rc = mq_db_get(db, err, &f, &found, "SELECT id FROM mailbox WHERE "
	    "name = ?1", "s", from);
	if (rc == MQ_OK && !found)
		return mq_err_perm(err, EX_NOINPUT, "mailbox '%s': no such "
		    "mailbox", from);
	if (rc == MQ_OK)
		rc = mq_db_get(db, err, &t, &found, "SELECT m.id FROM mailbox m "
		    "JOIN campaign_mailbox cm ON cm.mailbox_id = m.id WHERE "
		    "cm.campaign_id = ?1 AND m.name = ?2 AND m.enabled AND NOT "
		    "m.retired", "Is", id, to);
	if (rc == MQ_OK && !found)
		return mq_err_perm(err, EX_DATAERR, "mailbox '%s' is not one "
		    "of the campaign's enabled mailboxes", to);
	if (rc == MQ_OK)
		rc = mq_db_run(db, err, "UPDATE campaign_lead SET mailbox_id = "
		    "?3 WHERE campaign_id = ?1 AND mailbox_id = ?2 AND status IN "
		    "('queued', 'active')", "III", id, f, t);
	if (rc == MQ_OK)
		*moved = sqlite3_changes(db->h);
	return rc;
}

int mq_db_next_due(struct mq_db *db, sqlite3_int64 id, time_t now,
    time_t *due, int *any, struct mq_err *err)
{
	sqlite3_int64 v = 0;
	int found, rc;

	*due = 0;
	*any = 0;
	rc = mq_db_get(db, err, &v, &found, "SELECT min(scheduled_at) FROM "
	    "queue WHERE campaign_id = ?1 AND status = 'pending' HAVING "
	    "count(*) > 0", "I", id);
	if (rc == MQ_OK && found) {
		*due = (time_t)v;
		*any = 1;
		return MQ_OK;
	}
	if (rc == MQ_OK)
		rc = mq_db_get(db, err, &v, NULL, "SELECT EXISTS (SELECT 1 FROM "
		    "campaign_lead WHERE campaign_id = ?1 AND status = 'queued')",
		    "I", id);
	*any = rc == MQ_OK && v != 0;
	*due = now;
	return rc;
}

static void read_next_mailbox(sqlite3_stmt *st, void *p)
{
	struct mq_db_next_mailbox *m = p;

	m->id = sqlite3_column_int64(st, 0);
	m->daily_limit = sqlite3_column_int(st, 1);
	m->rest_until = (time_t)sqlite3_column_int64(st, 2);
}

int mq_db_next_mailboxes(struct mq_db *db, sqlite3_int64 id,
    struct mq_db_next_mailbox **out, int *n, struct mq_err *err)
{
	return mq_db_rows(db, "SELECT m.id, m.daily_limit, CASE WHEN "
	    "m.failing_since IS NULL THEN 0 ELSE coalesce(m.rest_until, 0) "
	    "END FROM campaign_mailbox cm JOIN mailbox m ON m.id = "
	    "cm.mailbox_id WHERE cm.campaign_id = ?1 AND m.enabled AND NOT "
	    "m.retired ORDER BY cm.position", id, 0, sizeof **out,
	    read_next_mailbox, (void **)out, n, err);
}

int mq_db_replied(struct mq_db *db, sqlite3_int64 campaign,
    const char *email, time_t now, enum mq_db_reply *res, struct mq_err *err)
{
	sqlite3_int64 lead = 0;
	int found, rc;

	*res = MQ_DB_REPLY_UNKNOWN;
	rc = mq_db_get(db, err, &lead, &found, "SELECT cl.lead_id FROM "
	    "campaign_lead cl JOIN lead l ON l.id = cl.lead_id WHERE "
	    "cl.campaign_id = ?1 AND l.email = ?2", "Is", campaign, email);
	if (rc != MQ_OK || !found)
		return rc;
	rc = mq_db_run(db, err, "UPDATE campaign_lead SET status = 'replied', "
	    "updated_at = ?3 WHERE campaign_id = ?1 AND lead_id = ?2 AND "
	    "status IN ('queued', 'active', 'done', 'unknown', 'skipped')",
	    "III", campaign, lead, (sqlite3_int64)now);
	if (rc != MQ_OK)
		return rc;
	*res = sqlite3_changes(db->h) > 0 ? MQ_DB_REPLY_MARKED :
	    MQ_DB_REPLY_KEPT;
	return mq_db_run(db, err, "UPDATE queue SET status = 'cancelled', "
	    "last_error = 'replied', updated_at = ?3 WHERE campaign_id = ?1 "
	    "AND lead_id = ?2 AND status = 'pending'", "III", campaign, lead,
	    (sqlite3_int64)now);
}

int mq_db_templates(struct mq_db *db, sqlite3_int64 campaign,
    int (*fn)(const char *tmpl, void *arg), void *arg, struct mq_err *err)
{
	static const char sql[] = "SELECT v.subject, v.body_text, v.body_html "
	    "FROM variant v JOIN step s ON s.id = v.step_id WHERE "
	    "s.campaign_id = ?1 AND NOT s.retired AND NOT v.retired "
	    "ORDER BY s.number, v.letter";
	sqlite3_stmt *st;
	int rc, sr, i;

	if ((rc = mq_db_stmt(db, sql, &st, err)) != MQ_OK)
		return rc;
	mq_db_bind(st, "I", campaign);
	while (rc == MQ_OK && (sr = sqlite3_step(st)) == SQLITE_ROW)
		for (i = 0; rc == MQ_OK && i < 3; i++)
			if (sqlite3_column_text(st, i) != NULL)
				rc = fn((const char *)sqlite3_column_text(st, i),
				    arg);
	if (rc == MQ_OK && sr != SQLITE_DONE)
		rc = mq_db_fail(db, sr, "read templates", err);
	mq_db_release(db, st);
	return rc;
}

int mq_db_lacking(struct mq_db *db, sqlite3_int64 campaign,
    const char *field, char (*emails)[320], int max, int *count,
    struct mq_err *err)
{
	static const char sql[] = "SELECT l.email FROM campaign_lead cl JOIN "
	    "lead l ON l.id = cl.lead_id WHERE cl.campaign_id = ?1 AND "
	    "cl.status IN ('queued', 'active') AND coalesce(json_extract("
	    "l.fields, '$.\"' || ?2 || '\"'), '') = '' ORDER BY l.id";
	sqlite3_stmt *st;
	int rc, sr;

	*count = 0;
	if ((rc = mq_db_stmt(db, sql, &st, err)) != MQ_OK)
		return rc;
	mq_db_bind(st, "Is", campaign, field);
	while ((sr = sqlite3_step(st)) == SQLITE_ROW) {
		if (*count < max)
			mq_db_text(st, 0, emails[*count], sizeof emails[*count]);
		(*count)++;
	}
	if (sr != SQLITE_DONE)
		rc = mq_db_fail(db, sr, "read leads", err);
	mq_db_release(db, st);
	return rc;
}
