/*
 * The queue's SQL: see db_queue.h. Every write here is one short
 * transaction; every status change is guarded by the status (and, for a
 * claim, the owner) it was decided on, so that overlapping runs and
 * mailq-reclaim cannot both act on one message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "clock.h"
#include "db_inbound.h"
#include "db_queue.h"
#include "mailbox.h"
#include "owner.h"

/* Attempts that count against a day's limit: those that reached, or may
 * have reached, the recipient's server. The triggers that keep day_count
 * (the upgrade in lib/db.c that adds it) say the same: changing this
 * needs a new upgrade that replaces them. */
#define COUNTED "(outcome IS NULL OR outcome IN " \
	"('sent', 'unknown', 'bounced', 'permanent'))"

int mq_db_backoff_at(const char *list, int i)
{
	int v = 60;
	char *end;

	while (list != NULL && *list != '\0') {
		v = (int)strtol(list, &end, 10);
		if (i-- <= 0 || *end != ',')
			break;
		list = end + 1;
	}
	return v;
}

static void parse_backoff(struct mq_db_run_campaign *c, const char *s)
{
	for (int i = 0; i < 32; i++)
		c->backoff[i] = mq_db_backoff_at(s, i);
}

static void read_run_campaign(sqlite3_stmt *st, struct mq_db_run_campaign *c)
{
	c->id = sqlite3_column_int64(st, 0);
	mq_db_text(st, 1, c->name, sizeof c->name);
	mq_db_text(st, 2, c->status, sizeof c->status);
	mq_db_text(st, 3, c->timezone, sizeof c->timezone);
	mq_db_text(st, 4, c->holidays, sizeof c->holidays);
	c->extra_holidays = strdup(sqlite3_column_text(st, 5) != NULL ?
	    (const char *)sqlite3_column_text(st, 5) : "");
	c->days = sqlite3_column_int(st, 6);
	c->start_min = sqlite3_column_int(st, 7);
	c->end_min = sqlite3_column_int(st, 8);
	c->delay = sqlite3_column_int(st, 9);
	c->jitter = sqlite3_column_int(st, 10);
	c->daily_limit = sqlite3_column_int(st, 11);
	c->buffer = sqlite3_column_int(st, 12);
	c->retry_attempts = sqlite3_column_int(st, 13);
	parse_backoff(c, (const char *)sqlite3_column_text(st, 14));
	c->next_send_at = sqlite3_column_int64(st, 15);
}

int mq_db_run_campaigns(struct mq_db *db, const char *only,
    struct mq_db_run_campaign **out, int *n, struct mq_err *err)
{
	static const char sql[] = "SELECT id, name, status, timezone, "
	    "holidays, extra_holidays, days, start_min, end_min, delay, jitter, "
	    "daily_limit, buffer, retry_attempts, retry_backoff, next_send_at "
	    "FROM campaign WHERE NOT retired AND status IN ('scheduled', "
	    "'running') AND (?1 IS NULL OR name = ?1) ORDER BY name";
	struct mq_db_run_campaign *v = NULL, *more;
	sqlite3_stmt *st;
	int cap = 0, rc, sr;

	*out = NULL;
	*n = 0;
	if ((rc = mq_db_stmt(db, sql, &st, err)) != MQ_OK)
		return rc;
	mq_db_bind(st, "s", only);
	while ((sr = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			if ((more = realloc(v, cap * sizeof *v)) == NULL) {
				rc = mq_err_perm(err, EX_OSERR, "out of memory");
				break;
			}
			v = more;
		}
		memset(&v[*n], 0, sizeof v[*n]);
		read_run_campaign(st, &v[(*n)++]);
	}
	if (rc == MQ_OK && sr != SQLITE_DONE)
		rc = mq_db_fail(db, sr, "read campaigns", err);
	mq_db_release(db, st);
	*out = v;
	return rc;
}

int mq_db_set_running(struct mq_db *db, sqlite3_int64 campaign,
    time_t now, struct mq_err *err)
{
	return mq_db_run(db, err, "UPDATE campaign SET status = 'running', "
	    "status_at = ?2 WHERE id = ?1 AND status = 'scheduled'", "II",
	    campaign, (sqlite3_int64)now);
}

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
		    "FROM queue WHERE campaign_id = ?1 AND status IN ('pending', "
		    "'sending')) OR EXISTS (SELECT 1 FROM campaign_lead WHERE "
		    "campaign_id = ?1 AND status = 'queued')", "I", campaign);
	if (rc == MQ_OK && !left) {
		rc = mq_db_run(db, err, "UPDATE campaign SET status = 'completed', "
		    "status_at = ?2 WHERE id = ?1 AND status IN ('scheduled', "
		    "'running')", "II", campaign, (sqlite3_int64)now);
		*completed = sqlite3_changes(db->h) > 0;
	}
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

/* A day_count row of scope for each id the FROM clause gives, for the day
 * starting at ?2: counted from the attempt history only when the row is
 * missing or of another day; a row of this day is kept by the triggers. */
#define REFILL(scope, id, from) "INSERT INTO day_count (scope, id, " \
	"day_start, n) SELECT '" scope "', " id ", ?2, (SELECT count(*) " \
	"FROM attempt a WHERE a." scope "_id = " id " AND a.started_at >= ?2 " \
	"AND " COUNTED ") FROM " from " AND NOT EXISTS (SELECT 1 FROM " \
	"day_count d WHERE d.scope = '" scope "' AND d.id = " id " AND " \
	"d.day_start = ?2) ON CONFLICT (scope, id) DO UPDATE SET " \
	"day_start = excluded.day_start, n = excluded.n"

/* The day's counts of the campaign, its sender and its mailboxes, made
 * current for q->day_start. A sender shared by campaigns in different
 * zones is refilled whenever the day start changes hands. */
static int refresh_counts(struct mq_db *db, const struct mq_claim_req *q,
    struct mq_err *err)
{
	static const char *const sql[] = {
		REFILL("campaign", "c.id", "campaign c WHERE c.id = ?1"),
		REFILL("sender", "c.sender_id", "campaign c WHERE c.id = ?1"),
		REFILL("mailbox", "cm.mailbox_id", "campaign_mailbox cm WHERE "
		    "cm.campaign_id = ?1"),
	};
	int rc = MQ_OK;

	for (size_t i = 0; rc == MQ_OK && i < sizeof sql / sizeof *sql; i++)
		rc = mq_db_run(db, err, sql[i], "II", q->campaign,
		    (sqlite3_int64)q->day_start);
	return rc;
}

/* The campaign's and its sender's counts against their limits (a count
 * not of this day fails closed), with the round-robin cursor and the
 * sender the rest of the claim needs. */
static int limits_ok(struct mq_db *db, const struct mq_claim_req *q,
    int *ok, sqlite3_int64 *cursor, sqlite3_int64 *sender,
    struct mq_err *err)
{
	static const char sql[] = "SELECT coalesce((SELECT n FROM day_count "
	    "WHERE scope = 'campaign' AND id = c.id AND day_start = ?2) < "
	    "c.daily_limit AND (SELECT n FROM day_count WHERE scope = 'sender' "
	    "AND id = c.sender_id AND day_start = ?2) < s.daily_limit, 0), "
	    "c.rr_cursor, c.sender_id FROM campaign c JOIN sender s ON "
	    "s.id = c.sender_id WHERE c.id = ?1";
	sqlite3_stmt *st;
	int rc, sr;

	*ok = 0;
	if ((rc = mq_db_stmt(db, sql, &st, err)) != MQ_OK)
		return rc;
	mq_db_bind(st, "II", q->campaign, (sqlite3_int64)q->day_start);
	if ((sr = sqlite3_step(st)) == SQLITE_ROW) {
		*ok = sqlite3_column_int(st, 0);
		*cursor = sqlite3_column_int64(st, 1);
		*sender = sqlite3_column_int64(st, 2);
	} else if (sr != SQLITE_DONE) {
		rc = mq_db_fail(db, sr, "check limits", err);
	}
	mq_db_release(db, st);
	return rc;
}

/* The campaign's mailboxes as the claim must see them: day counts (a
 * count not of this day fails closed), sessions open in every run, the
 * last minute's starts (61 s of whole seconds, so that no 60 s of real
 * time can hold more), and their rest. */
static int read_mailboxes(struct mq_db *db, const struct mq_claim_req *q,
    struct mq_mailbox_state *m, int max, int *n, struct mq_err *err)
{
	static const char sql[] = "SELECT m.id, m.name, cm.position, "
	    "m.enabled AND NOT m.retired, coalesce((SELECT n FROM day_count "
	    "WHERE scope = 'mailbox' AND id = m.id AND day_start = ?2), "
	    "m.daily_limit), m.daily_limit, 0, m.max_connections, CASE WHEN "
	    "m.max_per_minute > 0 THEN (SELECT count(*) FROM attempt a WHERE "
	    "a.mailbox_id = m.id AND a.started_at > ?3 - 61) ELSE 0 END, "
	    "m.max_per_minute, coalesce(m.failing_since, 0), "
	    "coalesce(m.rest_until, 0), m.fail_count, coalesce(m.fail_conf, "
	    "''), coalesce(m.last_error, ''), CASE WHEN m.bounce_paused_at IS "
	    "NOT NULL THEN coalesce(m.bounce_paused_why, 'paused') ELSE '' END "
	    "FROM campaign_mailbox cm JOIN "
	    "mailbox m ON m.id = cm.mailbox_id WHERE cm.campaign_id = ?1 "
	    "ORDER BY cm.position";
	sqlite3_stmt *st;
	int rc, sr;

	*n = 0;
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
	}
	if (sr != SQLITE_ROW && sr != SQLITE_DONE)
		rc = mq_db_fail(db, sr, "read mailboxes", err);
	mq_db_release(db, st);
	return rc;
}

/* The campaign's mailboxes and what each may do now; usable holds the
 * ids of those that may send as a JSON array, any whether there is one. */
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

static int judge_mailboxes(struct mq_db *db, const struct mq_claim_req *q,
    struct boxes *b, struct mq_err *err)
{
	size_t len = 1;
	int rc;

	if ((rc = read_mailboxes(db, q, b->m, MQ_CLAIM_MAILBOXES, &b->n,
	    err)) != MQ_OK || (rc = count_sessions(db, q, b, err)) != MQ_OK)
		return rc;
	strcpy(b->usable, "[");
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
		    "%s%lld", b->any ? "," : "", (long long)b->m[i].id);
		b->any = 1;
	}
	snprintf(b->usable + len, sizeof b->usable - len, "]");
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
 * its first message), or for a lead without one any in the rotation.
 * *blocked = 1 when items are due but none of them can go. */
static int pick_item(struct mq_db *db, const struct mq_claim_req *q,
    const struct boxes *b, struct mq_claim *c, int *found, int *blocked,
    struct mq_err *err)
{
	static const char sql[] = "SELECT q.id, q.lead_id, q.step, "
	    "q.attempts, l.email, coalesce(cl.mailbox_id, 0) FROM queue q "
	    "JOIN lead l ON l.id = q.lead_id JOIN campaign_lead cl ON "
	    "cl.campaign_id = q.campaign_id AND cl.lead_id = q.lead_id "
	    "WHERE q.campaign_id = ?1 AND q.status = 'pending' AND "
	    "q.scheduled_at <= ?2 AND NOT EXISTS (SELECT 1 FROM suppression s "
	    "WHERE s.email = l.email) AND CASE WHEN cl.mailbox_id IS NULL "
	    "THEN ?3 ELSE cl.mailbox_id IN (SELECT value FROM json_each(?4)) "
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
		rc = mq_db_get(db, err, &id, NULL, "INSERT INTO send_log "
		    "(campaign_id, lead_id, step, variant_id, mailbox_id, status, "
		    "claimed_at) VALUES (?1, ?2, ?3, ?4, ?5, 'sending', ?6) "
		    "RETURNING id", "IIiIII", q->campaign, c->lead_id, c->step,
		    c->variant_id, c->mailbox_id, (sqlite3_int64)q->now);
		if (rc != MQ_OK && sqlite3_extended_errcode(db->h) ==
		    SQLITE_CONSTRAINT_UNIQUE) {
			*dup = 1;      /* the UNIQUE index refused a second row */
			rc = MQ_OK;
		}
	}
	c->send_log_id = id;
	return rc;
}

/* Takes the item: owner, attempt count, variant (kept, or the lead's
 * letter for this step when its variant was retired). */
static int take_item(struct mq_db *db, const struct mq_claim_req *q,
    struct mq_claim *c, int *taken, struct mq_err *err)
{
	const struct mq_owner *o = q->owner;
	int found, rc;

	rc = mq_db_get(db, err, &c->variant_id, &found, "UPDATE queue SET "
	    "status = 'sending', attempts = attempts + 1, mailbox_id = ?3, "
	    "claim_host = ?4, claim_pid = ?5, claim_start = ?6, claimed_at = ?2, "
	    "phase = 'claimed', updated_at = ?2, variant_id = coalesce("
	    "variant_id, (SELECT v.id FROM variant v JOIN step s ON "
	    "s.id = v.step_id WHERE s.campaign_id = queue.campaign_id AND "
	    "s.number = queue.step AND NOT v.retired ORDER BY v.letter = "
	    "(SELECT letter FROM campaign_lead WHERE campaign_id = ?7 AND "
	    "lead_id = ?8) DESC, v.letter LIMIT 1)) "
	    "WHERE id = ?1 AND status = 'pending' RETURNING variant_id",
	    "IIIsIIII", c->queue_id, (sqlite3_int64)q->now, c->mailbox_id,
	    o->host, (sqlite3_int64)o->pid, (sqlite3_int64)o->start,
	    q->campaign, c->lead_id);
	*taken = rc == MQ_OK && found;
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
	sqlite3_int64 next = 0, cursor = 0, sender = 0, pos = 0;
	struct boxes b;
	int found, ok, dup, taken, blocked, rc;

	rc = mq_db_get(db, err, &next, &found, "SELECT next_send_at * 1000 + "
	    "next_send_ms FROM campaign WHERE id = ?1 AND NOT retired AND "
	    "status IN ('scheduled', 'running')", "I", q->campaign);
	if (rc != MQ_OK || !found || next > q->now_ms) {
		*status = !found ? MQ_CLAIM_GONE : MQ_CLAIM_PACE;
		c->next_ms = next;
		return rc;
	}
	if ((rc = refresh_counts(db, q, err)) != MQ_OK)
		return rc;
	rc = limits_ok(db, q, &ok, &cursor, &sender, err);
	if (rc != MQ_OK || !ok) {
		*status = MQ_CLAIM_LIMIT;
		return rc;
	}
	if ((rc = judge_mailboxes(db, q, &b, err)) != MQ_OK)
		return rc;
	rc = pick_item(db, q, &b, c, &found, &blocked, err);
	if (rc != MQ_OK || !found) {
		*status = blocked ? MQ_CLAIM_NO_MAILBOX : MQ_CLAIM_NONE;
		if (blocked)
			explain_wait(&b, q, c);
		return rc;
	}
	if ((rc = take_mailbox(db, q, &b, cursor, c, &pos, err)) != MQ_OK)
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
	rc = mq_db_get(db, err, &c->attempt_id, NULL, "INSERT INTO attempt "
	    "(send_log_id, campaign_id, sender_id, mailbox_id, started_at) "
	    "VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id", "IIIII",
	    c->send_log_id, q->campaign, sender, c->mailbox_id,
	    (sqlite3_int64)q->now);
	if (rc == MQ_OK)
		rc = mq_db_run(db, err, "UPDATE campaign SET next_send_at = "
		    "?2 / 1000, next_send_ms = ?2 % 1000, rr_cursor = ?3 "
		    "WHERE id = ?1", "III", q->campaign,
		    (sqlite3_int64)(q->now_ms + q->gap_ms), pos);
	/* apart, so that the status index is written only when it changes */
	if (rc == MQ_OK)
		rc = mq_db_run(db, err, "UPDATE campaign SET status = 'running', "
		    "status_at = ?2 WHERE id = ?1 AND status <> 'running'", "II",
		    q->campaign, (sqlite3_int64)q->now);
	*status = MQ_CLAIM_OK;
	return rc;
}

int mq_db_claim(struct mq_db *db, const struct mq_claim_req *req, int dry_run,
    enum mq_claim_status *status, struct mq_claim *c, struct mq_err *err)
{
	struct mq_claim_req q = *req;
	long long ms;
	int rc;

	memset(c, 0, sizeof *c);
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
	if (rc == MQ_OK && *status == MQ_CLAIM_DUPLICATE) {
		/* the send log wins: this item is closed, the run goes on */
		mq_db_rollback(db);
		if ((rc = mq_db_begin(db, err)) != MQ_OK)
			return rc;
		rc = record_duplicate(db, c, q.now, err);
	}
	if (rc == MQ_OK && !dry_run)
		return mq_db_commit(db, err);
	mq_db_rollback(db);
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

int mq_db_parts(struct mq_db *db, const struct mq_claim *c,
    sqlite3_int64 campaign, struct mq_db_parts *p, struct mq_err *err)
{
	int rc;

	memset(p, 0, sizeof *p);
	rc = read_variant(db, c, campaign, p, err);
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

int mq_db_next_step(struct mq_db *db, sqlite3_int64 campaign, int step,
    int *wait_days, struct mq_err *err)
{
	sqlite3_int64 v = -1;
	int found, rc;

	rc = mq_db_get(db, err, &v, &found, "SELECT wait_days FROM step WHERE "
	    "campaign_id = ?1 AND number = ?2 + 1 AND NOT retired", "Ii",
	    campaign, step);
	*wait_days = rc == MQ_OK && found ? (int)v : -1;
	return rc;
}

/* The guard of every write that closes or advances a claim. */
#define OURS "id = ?1 AND status = 'sending' AND claim_host = ?2 AND " \
	"claim_pid = ?3 AND claim_start = ?4"

static int phase_data_tx(struct mq_db *db, const struct mq_claim *c,
    const struct mq_owner *owner, const char *message_id,
    const char *subject, time_t now, struct mq_err *err)
{
	int rc;

	if ((rc = mq_db_begin(db, err)) != MQ_OK)
		return rc;
	rc = mq_db_run(db, err, "UPDATE queue SET phase = 'data', "
	    "updated_at = ?5 WHERE " OURS, "IsIII", c->queue_id, owner->host,
	    (sqlite3_int64)owner->pid, (sqlite3_int64)owner->start,
	    (sqlite3_int64)now);
	if (rc == MQ_OK && sqlite3_changes(db->h) != 1)
		rc = mq_err_perm(err, EX_SOFTWARE, "claim of %s is no longer "
		    "ours", c->email);
	if (rc == MQ_OK)
		rc = mq_db_run(db, err, "UPDATE send_log SET message_id = ?2, "
		    "subject = ?3 WHERE id = ?1", "Iss", c->send_log_id,
		    message_id, subject);
	if (rc == MQ_OK)
		return mq_db_commit(db, err);
	mq_db_rollback(db);
	return rc;
}

/* MQ_TEST_DATA_PHASE_NORMAL exists only for the power-loss test
 * (tests/e2e/powerloss.sh), which builds a mailq-tick with it to show that
 * without this sync a power cut does send messages twice. */
#ifdef MQ_TEST_DATA_PHASE_NORMAL
#define DATA_PHASE_SYNC "PRAGMA synchronous = NORMAL"
#else
#define DATA_PHASE_SYNC "PRAGMA synchronous = FULL"
#endif

int mq_db_phase_data(struct mq_db *db, const struct mq_claim *c,
    const struct mq_owner *owner, const char *message_id,
    const char *subject, time_t now, struct mq_err *err)
{
	int rc;

	/* this commit is what keeps a message from being sent twice: it
	 * must survive a power cut, not only a crash, so it waits for the
	 * disk (the others need not: a lost claim sent nothing, a lost
	 * outcome leaves 'data', which becomes unknown) */
	if ((rc = mq_db_run(db, err, DATA_PHASE_SYNC, "")) != MQ_OK)
		return rc;
	rc = phase_data_tx(db, c, owner, message_id, subject, now, err);
	mq_db_run(db, NULL, "PRAGMA synchronous = NORMAL", "");  /* speed only */
	return rc;
}

/* Per outcome: the guarded queue change, and the states it leaves in the
 * send log, the attempt history and the lead (NULL: lead unchanged). */
static const struct outcome_sql {
	const char *queue;
	const char *log_status;
	const char *attempt;
	const char *lead;
} outcomes[] = {
	[MQ_OUT_SENT] = { "UPDATE queue SET status = 'sent', phase = 'done', "
	    "last_error = NULL, updated_at = ?5 WHERE " OURS,
	    "sent", "sent", NULL },
	[MQ_OUT_RETRY] = { "UPDATE queue SET status = 'pending', phase = NULL, "
	    "scheduled_at = ?8, last_error = ?7, updated_at = ?5 WHERE " OURS,
	    "retry", "temporary", NULL },
	[MQ_OUT_FAILED] = { "UPDATE queue SET status = 'failed', phase = "
	    "'done', last_error = ?7, updated_at = ?5 WHERE " OURS,
	    "failed", "permanent", "failed" },
	[MQ_OUT_BOUNCED] = { "UPDATE queue SET status = 'bounced', phase = "
	    "'done', last_error = ?7, updated_at = ?5 WHERE " OURS,
	    "bounced", "bounced", "bounced" },
	[MQ_OUT_MAILBOX] = { "UPDATE queue SET status = 'pending', phase = "
	    "NULL, attempts = attempts - 1, last_error = ?7, updated_at = ?5 "
	    "WHERE " OURS, "retry", "mailbox", NULL },
	[MQ_OUT_UNKNOWN] = { "UPDATE queue SET status = 'unknown', last_error "
	    "= ?7, updated_at = ?5 WHERE " OURS, "unknown", "unknown",
	    "unknown" },
};

/* After a send: the next step is planned, or the lead is done. */
static int after_sent(struct mq_db *db, const struct mq_claim *c,
    const struct mq_result *r, struct mq_recorded *rec, struct mq_err *err)
{
	int rc;

	rc = mq_db_run(db, err, "UPDATE mailbox SET failing_since = NULL, "
	    "last_error = NULL, rest_until = NULL, fail_count = 0, fail_conf "
	    "= NULL WHERE id = ?1 AND failing_since IS NOT NULL", "I",
	    c->mailbox_id);
	rec->mailbox_back = rc == MQ_OK && sqlite3_changes(db->h) > 0;
	if (rc != MQ_OK || r->followup_at == 0)
		return rc != MQ_OK ? rc : mq_db_run(db, err, "UPDATE "
		    "campaign_lead SET status = 'done', updated_at = ?3 WHERE "
		    "campaign_id = ?1 AND lead_id = ?2 AND status = 'active'",
		    "III", c->campaign,
		    c->lead_id, (sqlite3_int64)r->now);
	rc = mq_db_run(db, err, "INSERT INTO queue (campaign_id, lead_id, step, "
	    "variant_id, scheduled_at, updated_at) SELECT ?1, ?2, ?3 + 1, "
	    "(SELECT v.id FROM variant v JOIN step s ON s.id = v.step_id "
	    "WHERE s.campaign_id = ?1 AND s.number = ?3 + 1 AND NOT v.retired "
	    "ORDER BY v.letter = (SELECT letter FROM campaign_lead WHERE "
	    "campaign_id = ?1 AND lead_id = ?2) DESC, v.letter LIMIT 1), ?4, ?5 "
	    "FROM campaign_lead cl WHERE cl.campaign_id = ?1 AND "
	    "cl.lead_id = ?2 AND cl.status = 'active' ON CONFLICT DO NOTHING",
	    "IIiII", c->campaign, c->lead_id, c->step,
	    (sqlite3_int64)r->followup_at, (sqlite3_int64)r->now);
	if (rc == MQ_OK)
		rc = mq_db_run(db, err, "UPDATE campaign_lead SET next_step = "
		    "?3 + 1, updated_at = ?4 WHERE campaign_id = ?1 AND "
		    "lead_id = ?2", "IIiI", c->campaign, c->lead_id, c->step,
		    (sqlite3_int64)r->now);
	return rc;
}

/* A refusal of the recipient: never again, from any campaign. */
static int after_bounce(struct mq_db *db, const struct mq_claim *c,
    const struct mq_result *r, struct mq_err *err)
{
	int rc;

	rc = mq_db_run(db, err, "INSERT OR IGNORE INTO suppression (email, "
	    "reason, created_at) VALUES (?1, ?2, ?3)", "ssI", c->email,
	    r->reply != NULL ? r->reply : "bounced", (sqlite3_int64)r->now);
	if (rc == MQ_OK)
		rc = mq_db_run(db, err, "UPDATE queue SET status = 'cancelled', "
		    "last_error = 'bounced', updated_at = ?2 WHERE lead_id = ?1 "
		    "AND status = 'pending'", "II", c->lead_id,
		    (sqlite3_int64)r->now);
	return rc;
}

/* The mailbox failed: it rests (see mailbox.h). */
static int mailbox_failed(struct mq_db *db, const struct mq_claim *c,
    const struct mq_result *r, struct mq_recorded *rec, struct mq_err *err)
{
	sqlite3_int64 was = 1;
	int rc;

	rc = mq_db_get(db, err, &was, NULL, "SELECT failing_since IS NOT NULL "
	    "FROM mailbox WHERE id = ?1", "I", c->mailbox_id);
	if (rc == MQ_OK)
		rc = mq_db_run(db, err, "UPDATE mailbox SET failing_since = "
		    "coalesce(failing_since, ?2), last_error = ?3, fail_count = "
		    "fail_count + 1, rest_until = ?2 + CASE fail_count WHEN 0 "
		    "THEN ?5 WHEN 1 THEN ?6 ELSE ?7 END, fail_conf = ?4 "
		    "WHERE id = ?1", "IIssiii", c->mailbox_id,
		    (sqlite3_int64)r->now, r->reply, r->fingerprint,
		    mq_mailbox_rest(1), mq_mailbox_rest(2), mq_mailbox_rest(3));
	rec->mailbox_failed = rc == MQ_OK && !was;
	return rc;
}

static int record_locked(struct mq_db *db, const struct mq_claim *c,
    const struct mq_owner *o, const struct mq_result *r,
    struct mq_recorded *rec, struct mq_err *err)
{
	const struct outcome_sql *q = &outcomes[r->outcome];
	const char *attempt = q->attempt;
	sqlite3_int64 now = r->now;
	int rc;

	rc = mq_db_run(db, err, q->queue, "IsIIIisI", c->queue_id, o->host,
	    (sqlite3_int64)o->pid, (sqlite3_int64)o->start, now, r->code,
	    r->reply, (sqlite3_int64)r->retry_at);
	if (rc != MQ_OK || (rec->stale = sqlite3_changes(db->h) == 0))
		return rc;
	if (r->outcome == MQ_OUT_FAILED && r->exhausted)
		attempt = "temporary";      /* out of retries */
	rc = mq_db_run(db, err, "UPDATE send_log SET status = ?2, smtp_code = "
	    "?3, smtp_reply = ?4, sent_at = CASE WHEN ?2 = 'sent' THEN ?5 ELSE "
	    "sent_at END WHERE id = ?1", "IsisI", c->send_log_id, q->log_status,
	    r->code, r->reply, now);
	if (rc == MQ_OK)
		rc = mq_db_run(db, err, "UPDATE attempt SET outcome = ?2, "
		    "ended_at = ?3, smtp_code = ?4, detail = ?5 WHERE id = ?1",
		    "IsIis", c->attempt_id, attempt, now, r->code, r->reply);
	if (rc == MQ_OK && q->lead != NULL)
		rc = mq_db_run(db, err, "UPDATE campaign_lead SET status = ?3, "
		    "updated_at = ?4 WHERE campaign_id = ?1 AND lead_id = ?2",
		    "IIsI", c->campaign, c->lead_id, q->lead, now);
	if (rc == MQ_OK && r->outcome == MQ_OUT_SENT)
		rc = after_sent(db, c, r, rec, err);
	if (rc == MQ_OK && r->outcome == MQ_OUT_BOUNCED)
		rc = after_bounce(db, c, r, err);
	if (rc == MQ_OK && r->outcome == MQ_OUT_BOUNCED)
		rc = mq_db_bounce_guard(db, c->mailbox_id, r->now,
		    &rec->mailbox_paused, err);
	if (rc == MQ_OK && r->outcome == MQ_OUT_MAILBOX && !r->transient)
		rc = mailbox_failed(db, c, r, rec, err);
	/* the thread is the lead's from its first message that may have
	 * reached them */
	if (rc == MQ_OK && (r->outcome == MQ_OUT_SENT || r->outcome ==
	    MQ_OUT_UNKNOWN || r->outcome == MQ_OUT_BOUNCED))
		rc = mq_db_run(db, err, "UPDATE campaign_lead SET mailbox_id = "
		    "?3 WHERE campaign_id = ?1 AND lead_id = ?2 AND mailbox_id "
		    "IS NULL", "III", c->campaign, c->lead_id, c->mailbox_id);
	return rc;
}

int mq_db_record(struct mq_db *db, const struct mq_claim *c,
    const struct mq_owner *owner, const struct mq_result *r,
    struct mq_recorded *rec, struct mq_err *err)
{
	int rc;

	memset(rec, 0, sizeof *rec);
	if ((rc = mq_db_begin(db, err)) != MQ_OK)
		return rc;
	rc = record_locked(db, c, owner, r, rec, err);
	if (rc == MQ_OK && !rec->stale)
		return mq_db_commit(db, err);
	mq_db_rollback(db);
	return rc;
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
