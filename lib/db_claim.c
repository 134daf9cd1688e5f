/*
 * The claim: see db_claim.h. One BEGIN IMMEDIATE transaction checks and
 * advances everything overlapping runs must see; what composing needs is
 * read after it, outside any transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "clock.h"
#include "db_campaign.h"
#include "db_claim.h"
#include "day_count.h"
#include "mailbox.h"
#include "owner.h"

/* A day_count row of scope for each id the FROM clause gives, for the day
 * starting at ?2: counted from the attempt history (day_count.h) only when
 * the row is missing or of another day; a row of this day is kept by the
 * triggers. */
#define REFILL(scope, id, count, from) "INSERT INTO day_count (scope, id, " \
	"day_start, n) SELECT '" scope "', " id ", ?2, " count " FROM " from \
	" AND NOT EXISTS (SELECT 1 FROM day_count d WHERE d.scope = '" scope \
	"' AND d.id = " id " AND d.day_start = ?2) ON CONFLICT (scope, id) " \
	"DO UPDATE SET day_start = excluded.day_start, n = excluded.n"

/* The day's counts of the campaign, its sender and its mailboxes, made
 * current for q->day_start. A sender shared by campaigns in different
 * zones is refilled whenever the day start changes hands. */
static int refresh_counts(struct mq_db *db, const struct mq_claim_req *q,
    struct mq_err *err)
{
	static const char *const sql[] = {
		REFILL("campaign", "c.id", MQ_DAY_ATTEMPTS("campaign_id",
		    "c.id"), "campaign c WHERE c.id = ?1"),
		REFILL("sender", "c.sender_id", MQ_DAY_SENDER_ATTEMPTS(
		    "c.sender_id"), "campaign c WHERE c.id = ?1"),
		REFILL("mailbox", "cm.mailbox_id", MQ_DAY_ATTEMPTS("mailbox_id",
		    "cm.mailbox_id"), "campaign_mailbox cm WHERE "
		    "cm.campaign_id = ?1"),
	};
	int rc = MQ_OK;

	for (size_t i = 0; rc == MQ_OK && i < sizeof sql / sizeof *sql; i++)
		rc = mq_db_run(db, err, sql[i], "II", q->campaign,
		    (sqlite3_int64)q->day_start);
	return rc;
}

/* What the claim needs of the campaign, in one read: its pace (next send
 * time in ms), whether it runs already, whether its and its sender's day
 * counts are under their limits, the round-robin cursor and the sender.
 * *found = 0 when it may not send at all; *stale = 1 when a count is not
 * of this day (and *ok is 0: a count not of this day fails closed). */
struct camp {
	sqlite3_int64 next_ms, cursor, sender;
	int           running, ok, stale;
};

static int read_campaign(struct mq_db *db, const struct mq_claim_req *q,
    struct camp *k, int *found, struct mq_err *err)
{
	static const char sql[] = "SELECT c.next_send_at * 1000 + "
	    "c.next_send_ms, c.status = ?4, coalesce((SELECT n FROM day_count "
	    "WHERE scope = 'campaign' AND id = c.id AND day_start = ?2) < "
	    "c.daily_limit AND (SELECT n FROM day_count WHERE scope = 'sender' "
	    "AND id = c.sender_id AND day_start = ?2) < s.daily_limit, 0), "
	    "NOT EXISTS (SELECT 1 FROM day_count WHERE scope = 'campaign' AND "
	    "id = c.id AND day_start = ?2) OR NOT EXISTS (SELECT 1 FROM "
	    "day_count WHERE scope = 'sender' AND id = c.sender_id AND "
	    "day_start = ?2), c.rr_cursor, c.sender_id FROM campaign c JOIN "
	    "sender s ON s.id = c.sender_id WHERE c.id = ?1 AND NOT c.retired "
	    "AND c.status IN (?3, ?4)";
	sqlite3_stmt *st;
	int rc, sr;

	memset(k, 0, sizeof *k);
	if ((rc = mq_db_stmt(db, sql, &st, err)) != MQ_OK)
		return rc;
	mq_db_bind(st, "IIss", q->campaign, (sqlite3_int64)q->day_start,
	    mq_db_campaign_states[MQ_CAMPAIGN_SCHEDULED],
	    mq_db_campaign_states[MQ_CAMPAIGN_RUNNING]);
	sr = sqlite3_step(st);
	*found = sr == SQLITE_ROW;
	if (sr == SQLITE_ROW) {
		k->next_ms = sqlite3_column_int64(st, 0);
		k->running = sqlite3_column_int(st, 1);
		k->ok = sqlite3_column_int(st, 2);
		k->stale = sqlite3_column_int(st, 3);
		k->cursor = sqlite3_column_int64(st, 4);
		k->sender = sqlite3_column_int64(st, 5);
	} else if (sr != SQLITE_DONE) {
		rc = mq_db_fail(db, sr, "read campaign", err);
	}
	mq_db_release(db, st);
	return rc;
}

/* The campaign's mailboxes as the claim must see them: day counts (a
 * count not of this day fails closed), sessions open in every run, the
 * last minute's starts, and their rest. A start is the claim's second;
 * its session connects a moment later (a thread, a TCP handshake), so the
 * minute is counted as 62 whole seconds: no 60 s of real time at the
 * server can hold more than max_per_minute sessions' starts unless one
 * took over a second to connect. */
static int read_mailboxes(struct mq_db *db, const struct mq_claim_req *q,
    struct mq_mailbox_state *m, int max, int *n, int *stale,
    struct mq_err *err)
{
	static const char sql[] = "SELECT m.id, m.name, cm.position, "
	    "m.enabled AND NOT m.retired, coalesce((SELECT n FROM day_count "
	    "WHERE scope = 'mailbox' AND id = m.id AND day_start = ?2), "
	    "m.daily_limit), m.daily_limit, 0, m.max_connections, CASE WHEN "
	    "m.max_per_minute > 0 THEN (SELECT count(*) FROM attempt a WHERE "
	    "a.mailbox_id = m.id AND a.started_at > ?3 - 62) ELSE 0 END, "
	    "m.max_per_minute, coalesce(m.failing_since, 0), "
	    "coalesce(m.rest_until, 0), m.fail_count, coalesce(m.fail_conf, "
	    "''), coalesce(m.last_error, ''), CASE WHEN m.bounce_paused_at IS "
	    "NOT NULL THEN coalesce(m.bounce_paused_why, 'paused') ELSE '' END, "
	    "NOT EXISTS (SELECT 1 FROM day_count WHERE scope = 'mailbox' AND "
	    "id = m.id AND day_start = ?2) FROM campaign_mailbox cm JOIN "
	    "mailbox m ON m.id = cm.mailbox_id WHERE cm.campaign_id = ?1 "
	    "ORDER BY cm.position";
	sqlite3_stmt *st;
	int rc, sr;

	*n = 0;
	*stale = 0;
	if ((rc = mq_db_stmt(db, sql, &st, err)) != MQ_OK)
		return rc;
	mq_db_bind(st, "III", q->campaign, (sqlite3_int64)q->day_start,
	    (sqlite3_int64)q->now);
	while ((sr = sqlite3_step(st)) == SQLITE_ROW && *n < max) {
		struct mq_mailbox_state *x = &m[(*n)++];

		memset(x, 0, sizeof *x);
		x->id = sqlite3_column_int64(st, 0);
		mq_db_text(st, 1, x->name, sizeof x->name);
		x->position = sqlite3_column_int(st, 2);
		x->usable = sqlite3_column_int(st, 3);
		x->today = sqlite3_column_int(st, 4);
		x->daily_limit = sqlite3_column_int(st, 5);
		x->in_flight = sqlite3_column_int(st, 6);
		x->max_connections = sqlite3_column_int(st, 7);
		x->last_minute = sqlite3_column_int(st, 8);
		x->max_per_minute = sqlite3_column_int(st, 9);
		x->failing_since = (time_t)sqlite3_column_int64(st, 10);
		x->rest_until = (time_t)sqlite3_column_int64(st, 11);
		x->fail_count = sqlite3_column_int(st, 12);
		mq_db_text(st, 13, x->fail_conf, sizeof x->fail_conf);
		mq_db_text(st, 14, x->last_error, sizeof x->last_error);
		mq_db_text(st, 15, x->paused_why, sizeof x->paused_why);
		*stale |= sqlite3_column_int(st, 16);
	}
	if (sr != SQLITE_ROW && sr != SQLITE_DONE)
		rc = mq_db_fail(db, sr, "read mailboxes", err);
	mq_db_release(db, st);
	return rc;
}

/* The campaign's mailboxes and what each may do now; usable holds the
 * ids of those that may send, each between commas (",3,5,"), any whether
 * there is one. */
struct boxes {
	struct mq_mailbox_state m[MQ_CLAIM_MAILBOXES];
	enum mq_mailbox_why     why[MQ_CLAIM_MAILBOXES];
	int                     n, any;
	char                    usable[MQ_CLAIM_MAILBOXES * 21 + 3];
};

static int may_send(enum mq_mailbox_why why)
{
	return why == MQ_MAILBOX_OK || why == MQ_MAILBOX_PROBE;
}

static int find_box(const struct boxes *b, sqlite3_int64 id);

/* The sessions each mailbox has open: its claims in flight, in every run,
 * but not those of a run that died on this host (a SIGKILL would
 * otherwise hold the mailbox's sessions until mailq-reclaim), nor any
 * older than MQ_MAILBOX_SESSION_MAX. */
static int count_sessions(struct mq_db *db, const struct mq_claim_req *q,
    struct boxes *b, struct mq_err *err)
{
	static const char sql[] = "SELECT q.mailbox_id, q.claim_host, "
	    "q.claim_pid, q.claim_start FROM queue q WHERE q.status = "
	    "'sending' AND q.claimed_at >= ?2 - ?3 AND q.mailbox_id IN "
	    "(SELECT mailbox_id FROM campaign_mailbox WHERE campaign_id = ?1)";
	struct mq_owner o;
	sqlite3_stmt *st;
	int rc, sr, i;

	if ((rc = mq_db_stmt(db, sql, &st, err)) != MQ_OK)
		return rc;
	mq_db_bind(st, "IIi", q->campaign, (sqlite3_int64)q->now,
	    MQ_MAILBOX_SESSION_MAX);
	while ((sr = sqlite3_step(st)) == SQLITE_ROW) {
		if ((i = find_box(b, sqlite3_column_int64(st, 0))) < 0)
			continue;
		mq_db_text(st, 1, o.host, sizeof o.host);
		o.pid = (long)sqlite3_column_int64(st, 2);
		o.start = sqlite3_column_int64(st, 3);
		b->m[i].in_flight += mq_owner_alive(&o) != 0;
	}
	if (sr != SQLITE_DONE)
		rc = mq_db_fail(db, sr, "count sessions", err);
	mq_db_release(db, st);
	return rc;
}

/* The counts are refilled (and the mailboxes read again) only when one
 * is not of this day: *refreshed says whether that was done already. */
static int judge_mailboxes(struct mq_db *db, const struct mq_claim_req *q,
    struct boxes *b, int *refreshed, struct mq_err *err)
{
	size_t len = 1;
	int stale, rc;

	rc = read_mailboxes(db, q, b->m, MQ_CLAIM_MAILBOXES, &b->n, &stale, err);
	if (rc == MQ_OK && stale && !*refreshed) {
		*refreshed = 1;
		if ((rc = refresh_counts(db, q, err)) == MQ_OK)
			rc = read_mailboxes(db, q, b->m, MQ_CLAIM_MAILBOXES, &b->n,
			    &stale, err);
	}
	if (rc != MQ_OK || (rc = count_sessions(db, q, b, err)) != MQ_OK)
		return rc;
	strcpy(b->usable, ",");
	b->any = 0;
	for (int i = 0; i < b->n; i++) {
		const char *fp = q->fingerprint != NULL ?
		    q->fingerprint(b->m[i].name, q->fp_arg) : NULL;

		b->why[i] = mq_mailbox_why(&b->m[i], q->now, fp);
		if (may_send(b->why[i]) && q->unavailable != NULL &&
		    q->unavailable(b->m[i].name, q->run_arg))
			b->why[i] = MQ_MAILBOX_UNAVAILABLE;
		if (!may_send(b->why[i]))
			continue;
		len += (size_t)snprintf(b->usable + len, sizeof b->usable - len,
		    "%lld,", (long long)b->m[i].id);
		b->any = 1;
	}
	return MQ_OK;
}

/* Round robin: the first usable mailbox after the cursor, wrapping; -1
 * if none. */
static int round_robin(const struct boxes *b, sqlite3_int64 cursor)
{
	int first = -1;

	for (int i = 0; i < b->n; i++) {
		if (!may_send(b->why[i]))
			continue;
		if (b->m[i].position > cursor)
			return i;
		if (first < 0)
			first = i;
	}
	return first;
}

static int find_box(const struct boxes *b, sqlite3_int64 id)
{
	for (int i = 0; i < b->n; i++)
		if (b->m[i].id == id)
			return i;
	return -1;
}

/* Why nothing due can go, into c->why, and when a mailbox may free up
 * into c->next_ms (0: not by waiting). */
static void explain_wait(const struct boxes *b, const struct mq_claim_req *q,
    struct mq_claim *c)
{
	size_t len = 0;
	time_t at, first = 0;
	char d[300], t[32];

	c->why[0] = '\0';
	for (int i = 0; i < b->n && len < sizeof c->why; i++) {
		mq_mailbox_describe(&b->m[i], b->why[i], d, sizeof d);
		at = mq_mailbox_free_at(&b->m[i], b->why[i], q->now);
		t[0] = '\0';
		if (b->why[i] == MQ_MAILBOX_RESTING)
			mq_clock_iso(at, t, sizeof t);
		len += (size_t)snprintf(c->why + len, sizeof c->why - len,
		    "%smailbox %s: %s%s%s", i ? "; " : "", b->m[i].name, d,
		    t[0] ? " until " : "", t);
		if (at > 0 && (first == 0 || at < first))
			first = at;
	}
	if (b->n == 0)
		snprintf(c->why, sizeof c->why, "the campaign has no mailbox");
	c->next_ms = first * 1000LL;
}

/* The oldest due item of the campaign whose lead is not suppressed and
 * whose mailbox may send: the thread's own (a lead keeps the mailbox of
 * its first message), or for a lead without one any in the rotation;
 * with its variant (kept, or the lead's letter for this step when its
 * variant was retired) and the days before the next step (-1: none).
 * *blocked = 1 when items are due but none of them can go. */
static int pick_item(struct mq_db *db, const struct mq_claim_req *q,
    const struct boxes *b, struct mq_claim *c, int *found, int *blocked,
    struct mq_err *err)
{
	static const char sql[] = "SELECT q.id, q.lead_id, q.step, "
	    "q.attempts, l.email, coalesce(cl.mailbox_id, 0), coalesce("
	    "q.variant_id, (SELECT v.id FROM variant v JOIN step s ON s.id = "
	    "v.step_id WHERE s.campaign_id = q.campaign_id AND s.number = "
	    "q.step AND NOT v.retired AND v.letter = cl.letter), (SELECT v.id "
	    "FROM variant v JOIN step s ON s.id = v.step_id WHERE "
	    "s.campaign_id = q.campaign_id AND s.number = q.step AND NOT "
	    "v.retired ORDER BY v.letter LIMIT 1), 0), coalesce((SELECT "
	    "wait_days FROM step WHERE campaign_id = q.campaign_id AND number "
	    "= q.step + 1 AND NOT retired), -1) FROM queue q JOIN lead l ON "
	    "l.id = q.lead_id JOIN campaign_lead cl ON "
	    "cl.campaign_id = q.campaign_id AND cl.lead_id = q.lead_id "
	    "WHERE q.campaign_id = ?1 AND q.status = 'pending' AND "
	    "q.scheduled_at <= ?2 AND NOT EXISTS (SELECT 1 FROM suppression s "
	    "WHERE s.email = l.email) AND CASE WHEN cl.mailbox_id IS NULL "
	    "THEN ?3 ELSE instr(?4, ',' || cl.mailbox_id || ',') > 0 "
	    "END ORDER BY q.scheduled_at, q.id LIMIT 1";
	sqlite3_stmt *st;
	sqlite3_int64 due = 0;
	int rc, sr;

	*blocked = 0;
	if ((rc = mq_db_stmt(db, sql, &st, err)) != MQ_OK)
		return rc;
	mq_db_bind(st, "IIis", q->campaign, (sqlite3_int64)q->now, b->any,
	    b->usable);
	sr = sqlite3_step(st);
	*found = sr == SQLITE_ROW;
	if (sr == SQLITE_ROW) {
		c->queue_id = sqlite3_column_int64(st, 0);
		c->lead_id = sqlite3_column_int64(st, 1);
		c->step = sqlite3_column_int(st, 2);
		c->attempts = sqlite3_column_int(st, 3) + 1;
		mq_db_text(st, 4, c->email, sizeof c->email);
		c->mailbox_id = sqlite3_column_int64(st, 5);
		c->thread_set = c->mailbox_id != 0;
		c->variant_id = sqlite3_column_int64(st, 6);
		c->next_wait = sqlite3_column_int(st, 7);
	} else if (sr != SQLITE_DONE) {
		rc = mq_db_fail(db, sr, "pick item", err);
	}
	mq_db_release(db, st);
	if (rc == MQ_OK && !*found)
		rc = mq_db_get(db, err, &due, NULL, "SELECT EXISTS (SELECT 1 "
		    "FROM queue WHERE campaign_id = ?1 AND status = 'pending' "
		    "AND scheduled_at <= ?2)", "II", q->campaign,
		    (sqlite3_int64)q->now);
	*blocked = due != 0;
	return rc;
}

/* The message's one slot in the send log: a new row, or a retry's row
 * taken back from 'retry'. *dup = 1 if the log already holds the message
 * in any other state. */
static int take_slot(struct mq_db *db, const struct mq_claim_req *q,
    struct mq_claim *c, int *dup, struct mq_err *err)
{
	sqlite3_int64 id = 0;
	int found, rc;

	*dup = 0;
	rc = mq_db_get(db, err, &id, &found, "SELECT id FROM send_log WHERE "
	    "campaign_id = ?1 AND lead_id = ?2 AND step = ?3", "IIi",
	    q->campaign, c->lead_id, c->step);
	if (rc == MQ_OK && found) {
		rc = mq_db_run(db, err, "UPDATE send_log SET status = 'sending', "
		    "mailbox_id = ?2, variant_id = ?3, claimed_at = ?4 "
		    "WHERE id = ?1 AND status = 'retry'", "IIII", id,
		    c->mailbox_id, c->variant_id, (sqlite3_int64)q->now);
		*dup = rc == MQ_OK && sqlite3_changes(db->h) == 0;
	} else if (rc == MQ_OK) {
		rc = mq_db_run(db, err, "INSERT INTO send_log (campaign_id, "
		    "lead_id, step, variant_id, mailbox_id, status, claimed_at) "
		    "VALUES (?1, ?2, ?3, ?4, ?5, 'sending', ?6)", "IIiIII",
		    q->campaign, c->lead_id, c->step, c->variant_id,
		    c->mailbox_id, (sqlite3_int64)q->now);
		if (rc == MQ_OK)
			id = sqlite3_last_insert_rowid(db->h);
		if (rc != MQ_OK && sqlite3_extended_errcode(db->h) ==
		    SQLITE_CONSTRAINT_UNIQUE) {
			*dup = 1;      /* the UNIQUE index refused a second row */
			rc = MQ_OK;
		}
	}
	c->send_log_id = id;
	return rc;
}

/* Takes the item: owner, attempt count, the variant pick_item chose. */
static int take_item(struct mq_db *db, const struct mq_claim_req *q,
    struct mq_claim *c, int *taken, struct mq_err *err)
{
	const struct mq_owner *o = q->owner;
	int rc;

	rc = mq_db_run(db, err, "UPDATE queue SET status = 'sending', "
	    "attempts = attempts + 1, mailbox_id = ?3, claim_host = ?4, "
	    "claim_pid = ?5, claim_start = ?6, claimed_at = ?2, phase = "
	    "'claimed', updated_at = ?2, variant_id = nullif(?7, 0) "
	    "WHERE id = ?1 AND status = 'pending'", "IIIsIII", c->queue_id,
	    (sqlite3_int64)q->now, c->mailbox_id, o->host,
	    (sqlite3_int64)o->pid, (sqlite3_int64)o->start, c->variant_id);
	*taken = rc == MQ_OK && sqlite3_changes(db->h) == 1;
	return rc;
}

static int record_duplicate(struct mq_db *db, const struct mq_claim *c,
    time_t now, struct mq_err *err)
{
	return mq_db_run(db, err, "UPDATE queue SET status = 'cancelled', "
	    "last_error = 'already in the send log', updated_at = ?2 "
	    "WHERE id = ?1 AND status = 'pending'", "II", c->queue_id,
	    (sqlite3_int64)now);
}

/* The mailbox of claim c: the thread's, or the rotation's next; a failing
 * one's rest moves on before it is tried, so that overlapping runs try
 * it once. *pos is the rotation's new cursor (unchanged for a thread). */
static int take_mailbox(struct mq_db *db, const struct mq_claim_req *q,
    const struct boxes *b, sqlite3_int64 cursor, struct mq_claim *c,
    sqlite3_int64 *pos, struct mq_err *err)
{
	int i = c->mailbox_id != 0 ? find_box(b, c->mailbox_id) :
	    round_robin(b, cursor);

	*pos = cursor;
	if (i < 0)
		return mq_err_perm(err, EX_SOFTWARE, "claim: no mailbox");
	if (c->mailbox_id == 0)
		*pos = b->m[i].position;
	c->mailbox_id = b->m[i].id;
	snprintf(c->mailbox, sizeof c->mailbox, "%s", b->m[i].name);
	c->mb_failing = b->m[i].failing_since != 0;
	if (b->why[i] != MQ_MAILBOX_PROBE)
		return MQ_OK;
	return mq_db_run(db, err, "UPDATE mailbox SET rest_until = ?2 WHERE "
	    "id = ?1", "II", c->mailbox_id, (sqlite3_int64)q->now +
	    mq_mailbox_rest(b->m[i].fail_count + 1));
}

static int claim_locked(struct mq_db *db, const struct mq_claim_req *q,
    enum mq_claim_status *status, struct mq_claim *c, struct mq_err *err)
{
	sqlite3_int64 pos = 0;
	struct camp k;
	struct boxes b;
	int found, dup, taken, blocked, refreshed = 0, rc;

	rc = read_campaign(db, q, &k, &found, err);
	if (rc != MQ_OK || !found || k.next_ms > q->now_ms) {
		*status = !found ? MQ_CLAIM_GONE : MQ_CLAIM_PACE;
		c->next_ms = k.next_ms;
		return rc;
	}
	if (k.stale) {
		refreshed = 1;
		if ((rc = refresh_counts(db, q, err)) != MQ_OK ||
		    (rc = read_campaign(db, q, &k, &found, err)) != MQ_OK)
			return rc;
	}
	if (!k.ok) {
		*status = MQ_CLAIM_LIMIT;
		return MQ_OK;
	}
	if ((rc = judge_mailboxes(db, q, &b, &refreshed, err)) != MQ_OK)
		return rc;
	rc = pick_item(db, q, &b, c, &found, &blocked, err);
	if (rc != MQ_OK || !found) {
		*status = blocked ? MQ_CLAIM_NO_MAILBOX : MQ_CLAIM_NONE;
		if (blocked)
			explain_wait(&b, q, c);
		return rc;
	}
	if ((rc = take_mailbox(db, q, &b, k.cursor, c, &pos, err)) != MQ_OK)
		return rc;
	if ((rc = take_item(db, q, c, &taken, err)) != MQ_OK || !taken) {
		*status = MQ_CLAIM_NONE;
		return rc;
	}
	if ((rc = take_slot(db, q, c, &dup, err)) != MQ_OK)
		return rc;
	if (dup) {
		*status = MQ_CLAIM_DUPLICATE;
		return MQ_OK;
	}
	rc = mq_db_run(db, err, "INSERT INTO attempt (send_log_id, campaign_id, "
	    "sender_id, mailbox_id, started_at) VALUES (?1, ?2, ?3, ?4, ?5)",
	    "IIIII", c->send_log_id, q->campaign, k.sender, c->mailbox_id,
	    (sqlite3_int64)q->now);
	c->attempt_id = sqlite3_last_insert_rowid(db->h);
	if (rc == MQ_OK)
		rc = mq_db_run(db, err, "UPDATE campaign SET next_send_at = "
		    "?2 / 1000, next_send_ms = ?2 % 1000, rr_cursor = ?3 "
		    "WHERE id = ?1", "III", q->campaign,
		    (sqlite3_int64)(q->now_ms + q->gap_ms), pos);
	/* a move of its own (scheduled -> running), so that the status
	 * index is written only when it changes */
	if (rc == MQ_OK && !k.running)
		rc = mq_db_campaign_move(db, q->campaign, MQ_MOVE_RUN, q->now, -1,
		    NULL, err);
	*status = MQ_CLAIM_OK;
	return rc;
}

static int read_parts(struct mq_db *db, const struct mq_claim *c,
    struct mq_db_parts *p, struct mq_err *err);

int mq_db_claim(struct mq_db *db, const struct mq_claim_req *req, int dry_run,
    enum mq_claim_status *status, struct mq_claim *c, struct mq_db_parts *parts,
    struct mq_err *err)
{
	struct mq_claim_req q = *req;
	long long ms;
	int rc;

	memset(c, 0, sizeof *c);
	if (parts != NULL)
		memset(parts, 0, sizeof *parts);
	c->campaign = req->campaign;
	*status = MQ_CLAIM_NONE;
	if ((rc = mq_db_begin(db, err)) != MQ_OK)
		return rc;
	/* the claim happens when it holds the lock, which may be a while
	 * after the caller looked at the clock: pace and rate count from
	 * then */
	if (q.live && mq_clock_now_ms(&ms, NULL) == MQ_OK && ms > q.now_ms) {
		q.now_ms = ms;
		q.now = (time_t)(ms / 1000);
	}
	rc = claim_locked(db, &q, status, c, err);
	/* what composing needs, read under the claim's lock */
	if (rc == MQ_OK && *status == MQ_CLAIM_OK && parts != NULL)
		rc = read_parts(db, c, parts, err);
	if (rc == MQ_OK && *status == MQ_CLAIM_DUPLICATE) {
		/* the send log wins: this item is closed, the run goes on */
		mq_db_rollback(db);
		if ((rc = mq_db_begin(db, err)) != MQ_OK)
			return rc;
		rc = record_duplicate(db, c, q.now, err);
	}
	if (rc == MQ_OK && !dry_run)
		rc = mq_db_commit(db, err);
	else
		mq_db_rollback(db);
	if (rc != MQ_OK && parts != NULL)
		mq_db_parts_free(parts);
	return rc;
}

static char *dup_text(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return s != NULL ? strdup((const char *)s) : NULL;
}

static int read_fields(struct mq_db *db, const struct mq_claim *c,
    struct mq_db_parts *p, struct mq_err *err)
{
	static const char sql[] = "SELECT 'email', email FROM lead WHERE "
	    "id = ?1 UNION ALL SELECT j.key, j.value FROM lead, "
	    "json_each(lead.fields) j WHERE lead.id = ?1";
	sqlite3_stmt *st;
	char **nv, **vv;
	int rc, sr;

	if ((rc = mq_db_stmt(db, sql, &st, err)) != MQ_OK)
		return rc;
	mq_db_bind(st, "I", c->lead_id);
	while ((sr = sqlite3_step(st)) == SQLITE_ROW) {
		nv = realloc(p->names, (p->n_fields + 1) * sizeof *nv);
		if (nv != NULL)
			p->names = nv;
		vv = realloc(p->values, (p->n_fields + 1) * sizeof *vv);
		if (vv != NULL)
			p->values = vv;
		if (nv == NULL || vv == NULL)
			break;
		p->names[p->n_fields] = dup_text(st, 0);
		p->values[p->n_fields++] = dup_text(st, 1);
	}
	if (sr == SQLITE_ROW)
		rc = mq_err_perm(err, EX_OSERR, "out of memory");
	else if (sr != SQLITE_DONE)
		rc = mq_db_fail(db, sr, "read lead", err);
	mq_db_release(db, st);
	return rc;
}

static int read_variant(struct mq_db *db, const struct mq_claim *c,
    sqlite3_int64 campaign, struct mq_db_parts *p, struct mq_err *err)
{
	static const char sql[] = "SELECT v.subject, v.body_text, v.body_html, "
	    "p.message_id, p.subject, (SELECT value FROM meta WHERE "
	    "key = 'salt'), (SELECT name FROM campaign WHERE id = ?2) "
	    "FROM variant v LEFT JOIN send_log p ON p.campaign_id = ?2 AND "
	    "p.lead_id = ?3 AND p.step = ?4 - 1 WHERE v.id = ?1";
	sqlite3_stmt *st;
	int rc, sr;

	if ((rc = mq_db_stmt(db, sql, &st, err)) != MQ_OK)
		return rc;
	mq_db_bind(st, "IIIi", c->variant_id, campaign, c->lead_id, c->step);
	if ((sr = sqlite3_step(st)) == SQLITE_ROW) {
		p->subject = dup_text(st, 0);
		p->text = dup_text(st, 1);
		p->html = dup_text(st, 2);
		p->prev_message_id = dup_text(st, 3);
		p->prev_subject = dup_text(st, 4);
		p->salt = dup_text(st, 5);
		p->campaign_name = dup_text(st, 6);
		if (p->subject == NULL || p->text == NULL || p->salt == NULL ||
		    p->campaign_name == NULL)
			rc = mq_err_perm(err, EX_OSERR, "out of memory");
	} else {
		rc = sr == SQLITE_DONE ? mq_err_perm(err, EX_SOFTWARE,
		    "message has no variant") : mq_db_fail(db, sr, "read variant",
		    err);
	}
	mq_db_release(db, st);
	return rc;
}

static int read_parts(struct mq_db *db, const struct mq_claim *c,
    struct mq_db_parts *p, struct mq_err *err)
{
	int rc;

	memset(p, 0, sizeof *p);
	rc = read_variant(db, c, c->campaign, p, err);
	if (rc == MQ_OK)
		rc = read_fields(db, c, p, err);
	if (rc != MQ_OK)
		mq_db_parts_free(p);
	return rc;
}

void mq_db_parts_free(struct mq_db_parts *p)
{
	for (int i = 0; i < p->n_fields; i++) {
		free(p->names[i]);
		free(p->values[i]);
	}
	free(p->names);
	free(p->values);
	free(p->subject);
	free(p->text);
	free(p->html);
	free(p->prev_message_id);
	free(p->prev_subject);
	free(p->salt);
	free(p->campaign_name);
	memset(p, 0, sizeof *p);
}

