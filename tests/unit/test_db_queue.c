/* Unit tests of the queue: the variant choice (deterministic per lead,
 * split by weight over many leads), and the claim's day limits of
 * campaign, sender and mailbox, read from day_count, whose rows must
 * always equal the count over the attempt history they cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "db_outcome.h"
#include "db_plan.h"
#include "db_reclaim.h"
#include "owner.h"

/* The campaigns' schedule: every day, all day, in UTC. */
static const struct mq_sched always = { "UTC", 127, 0, 1440, "", "" };

static void split(const int *w, int n, sqlite3_int64 campaign, int leads,
    int *count)
{
	for (int i = 0; i < n; i++)
		count[i] = 0;
	for (int l = 1; l <= leads; l++) {
		int v = mq_db_pick_variant(w, n, campaign, l);

		assert_in_range(v, 0, n - 1);
		count[v]++;
	}
}

static void test_split_70_30(void **state)
{
	const int w[2] = { 70, 30 };
	int a[2], b[2];

	(void)state;
	for (sqlite3_int64 c = 1; c <= 20; c++) {
		split(w, 2, c, 10000, a);
		assert_in_range(a[0], 6700, 7300);     /* 70 % +- 3 % */
		assert_int_equal(a[0] + a[1], 10000);
		split(w, 2, c, 10000, b);              /* a rerun: the same */
		assert_memory_equal(a, b, sizeof a);
	}
}

static void test_split_three(void **state)
{
	const int w[3] = { 1, 1, 2 };
	int k[3];

	(void)state;
	split(w, 3, 7, 10000, k);
	assert_in_range(k[0], 2200, 2800);
	assert_in_range(k[1], 2200, 2800);
	assert_in_range(k[2], 4700, 5300);
}

static void test_stable(void **state)
{
	const int w[2] = { 1, 1 };
	int same = 0;

	(void)state;
	for (int l = 1; l <= 1000; l++) {
		assert_int_equal(mq_db_pick_variant(w, 2, 3, l),
		    mq_db_pick_variant(w, 2, 3, l));
		same += mq_db_pick_variant(w, 2, 3, l) ==
		    mq_db_pick_variant(w, 2, 4, l);
	}
	/* another campaign splits its leads independently */
	assert_in_range(same, 400, 600);
	assert_int_equal(mq_db_pick_variant(w, 1, 3, 5), 0);
	assert_int_equal(mq_db_pick_variant(w, 0, 3, 5), 0);
}

/* Two senders; c1 and c2 share sender 1 and mailbox m1, c3 has its own;
 * 200 leads each, every item due. Limits are high unless a test lowers
 * them. */
static const char fixture_sql[] =
    "INSERT INTO sender (id, name, daily_limit) VALUES (1, 'anna', 100), "
    "(2, 'piotr', 100);"
    "INSERT INTO mailbox (id, name, sender_id, address, daily_limit) VALUES "
    "(1, 'm1', 1, 'a1@example.com', 100), (2, 'm2', 1, 'a2@example.com', 100), "
    "(3, 'm3', 2, 'p1@example.com', 100);"
    "INSERT INTO campaign (id, name, sender_id, status, timezone, days, "
    "start_min, end_min, delay, jitter, daily_limit, buffer, retry_attempts, "
    "retry_backoff, created_at) VALUES "
    "(1, 'c1', 1, 'running', 'UTC', 127, 0, 1440, 0, 0, 100, 20, 3, '60', 0), "
    "(2, 'c2', 1, 'running', 'Asia/Tokyo', 127, 0, 1440, 0, 0, 100, 20, 3, "
    "'60', 0), "
    "(3, 'c3', 2, 'running', 'UTC', 127, 0, 1440, 0, 0, 100, 20, 3, '60', 0);"
    "INSERT INTO campaign_mailbox VALUES (1, 1, 0), (1, 2, 1), (2, 1, 0), "
    "(3, 3, 0);"
    "INSERT INTO step (id, campaign_id, number) VALUES (1, 1, 0), (2, 2, 0), "
    "(3, 3, 0);"
    "INSERT INTO variant (id, step_id, letter, subject, body_text) VALUES "
    "(1, 1, 'A', 's', 't'), (2, 2, 'A', 's', 't'), (3, 3, 'A', 's', 't');"
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
    "WHERE i < 600) INSERT INTO lead (id, email, created_at) "
    "SELECT i, 'l' || i || '@example.com', 0 FROM n;"
    "INSERT INTO campaign_lead (campaign_id, lead_id, status, letter, "
    "added_at, updated_at) SELECT (id - 1) / 200 + 1, id, 'active', 'A', "
    "0, 0 FROM lead;"
    "INSERT INTO queue (campaign_id, lead_id, step, variant_id, "
    "scheduled_at, updated_at) SELECT campaign_id, lead_id, 0, campaign_id, "
    "0, 0 FROM campaign_lead;";

struct fx {
	char            dir[256], path[300];
	struct mq_db   *db;
	struct mq_owner owner;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	const char *tmp = getenv("TMPDIR");
	struct mq_err err;
	int from, to;

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof f->dir, "%s/mailq-test-queue.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : P_tmpdir);
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof f->path, "%s/t.db", f->dir);
	if (mq_db_open(&f->db, f->path, MQ_DB_CREATE, &err) != MQ_OK ||
	    mq_db_migrate(f->db, &from, &to, &err) != MQ_OK ||
	    mq_db_exec(f->db, fixture_sql, &err) != MQ_OK ||
	    mq_owner_self(&f->owner, &err) != MQ_OK) {
		fprintf(stderr, "setup: %s\n", err.msg);
		return -1;
	}
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	mq_db_close(f->db);
	mq_db_remove(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void exec(struct fx *f, const char *sql)
{
	struct mq_err err;

	if (mq_db_exec(f->db, sql, &err) != MQ_OK)
		fail_msg("%s: %s", sql, err.msg);
}

static sqlite3_int64 one(struct fx *f, const char *sql)
{
	sqlite3_stmt *st;
	sqlite3_int64 v = -1;

	assert_int_equal(sqlite3_prepare_v2(f->db->h, sql, -1, &st, NULL),
	    SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Claims in campaign at now, whose local day began at day. */
static enum mq_claim_status claim_dry(struct fx *f, sqlite3_int64 campaign,
    time_t now, time_t day, int dry_run, struct mq_claim *c)
{
	struct mq_claim_req q = { .campaign = campaign, .now = now,
	    .now_ms = now * 1000LL, .day_start = day, .owner = &f->owner };
	enum mq_claim_status st;
	struct mq_err err;

	if (mq_db_claim(f->db, &q, dry_run, &st, c, NULL, &err) != MQ_OK)
		fail_msg("claim: %s", err.msg);
	return st;
}

static enum mq_claim_status claim(struct fx *f, sqlite3_int64 campaign,
    time_t now, time_t day, struct mq_claim *c)
{
	return claim_dry(f, campaign, now, day, 0, c);
}

static void record(struct fx *f, const struct mq_claim *c,
    enum mq_outcome outcome, int exhausted, time_t now)
{
	struct mq_result r = { outcome, 250, "reply", now, now, exhausted, NULL, 0 };
	struct mq_err err;
	struct mq_recorded rec;

	if (mq_db_record(f->db, &always, c, &f->owner, &r, &rec, &err) != MQ_OK)
		fail_msg("record: %s", err.msg);
	assert_false(rec.stale);
}

/* Every claim in flight goes to `to`, as mailq-reclaim would move it. */
static int reclaim_all(struct fx *f, enum mq_reclaim_to to, time_t now)
{
	struct mq_db_stale *v;
	struct mq_err err;
	int n, done, moved = 0;

	assert_int_equal(mq_db_stale_claims(f->db, NULL, now, &v, &n, &err),
	    MQ_OK);
	for (int i = 0; i < n; i++) {
		assert_int_equal(mq_db_reclaim(f->db, &v[i], to, now, now,
		    &done, &err), MQ_OK);
		moved += done;
	}
	free(v);
	return moved;
}

/* The cached count of scope's id, or -1 if there is no row of that day. */
static sqlite3_int64 cached(struct fx *f, const char *scope,
    sqlite3_int64 id, time_t day)
{
	char sql[256];

	snprintf(sql, sizeof sql, "SELECT coalesce((SELECT n FROM day_count "
	    "WHERE scope = '%s' AND id = %lld AND day_start = %lld), -1)",
	    scope, (long long)id, (long long)day);
	return one(f, sql);
}

/* Every row of day_count equals the count over attempt it stands for,
 * counted here independently of the library. */
static void assert_exact(struct fx *f)
{
	static const char sql[] = "SELECT count(*) FROM day_count d WHERE "
	    "n <> (SELECT count(*) FROM attempt a WHERE CASE d.scope WHEN "
	    "'campaign' THEN a.campaign_id WHEN 'sender' THEN a.sender_id "
	    "ELSE a.mailbox_id END = d.id AND a.started_at >= d.day_start AND "
	    "(a.outcome IS NULL OR a.outcome IN ('sent', 'unknown', 'bounced', "
	    "'permanent')))";

	assert_int_equal(one(f, sql), 0);
}

static void test_limit_campaign(void **state)
{
	struct fx *f = *state;
	struct mq_claim c;

	exec(f, "UPDATE campaign SET daily_limit = 3 WHERE id = 1");
	/* in flight, sent and unknown all count */
	assert_int_equal(claim(f, 1, 1000, 0, &c), MQ_CLAIM_OK);
	assert_int_equal(claim(f, 1, 1001, 0, &c), MQ_CLAIM_OK);
	record(f, &c, MQ_OUT_SENT, 0, 1002);
	assert_int_equal(claim(f, 1, 1003, 0, &c), MQ_CLAIM_OK);
	record(f, &c, MQ_OUT_UNKNOWN, 0, 1004);
	assert_int_equal(claim(f, 1, 1005, 0, &c), MQ_CLAIM_LIMIT);
	assert_int_equal(cached(f, "campaign", 1, 0), 3);
	exec(f, "UPDATE campaign SET daily_limit = 4 WHERE id = 1");
	assert_int_equal(claim(f, 1, 1006, 0, &c), MQ_CLAIM_OK);
	assert_int_equal(claim(f, 1, 1007, 0, &c), MQ_CLAIM_LIMIT);
	/* the other campaign of the same sender is not held back */
	assert_int_equal(claim(f, 2, 1008, 0, &c), MQ_CLAIM_OK);
	assert_exact(f);
}

static void test_limit_sender(void **state)
{
	struct fx *f = *state;
	struct mq_claim c;

	exec(f, "UPDATE sender SET daily_limit = 3 WHERE id = 1");
	assert_int_equal(claim(f, 1, 1000, 0, &c), MQ_CLAIM_OK);
	assert_int_equal(claim(f, 2, 1001, 0, &c), MQ_CLAIM_OK);
	record(f, &c, MQ_OUT_BOUNCED, 0, 1002);
	assert_int_equal(claim(f, 1, 1003, 0, &c), MQ_CLAIM_OK);
	assert_int_equal(claim(f, 1, 1004, 0, &c), MQ_CLAIM_LIMIT);
	assert_int_equal(claim(f, 2, 1005, 0, &c), MQ_CLAIM_LIMIT);
	assert_int_equal(cached(f, "sender", 1, 0), 3);
	/* another sender's campaign goes on */
	assert_int_equal(claim(f, 3, 1006, 0, &c), MQ_CLAIM_OK);
	assert_exact(f);
}

static void test_limit_mailbox(void **state)
{
	struct fx *f = *state;
	struct mq_claim c;

	exec(f, "UPDATE mailbox SET daily_limit = 2 WHERE id = 1;"
	    "UPDATE mailbox SET daily_limit = 1 WHERE id = 2");
	assert_int_equal(claim(f, 1, 1000, 0, &c), MQ_CLAIM_OK);
	assert_int_equal(c.mailbox_id, 1);
	assert_int_equal(claim(f, 1, 1001, 0, &c), MQ_CLAIM_OK);
	assert_int_equal(c.mailbox_id, 2);
	record(f, &c, MQ_OUT_SENT, 0, 1002);
	assert_int_equal(claim(f, 1, 1003, 0, &c), MQ_CLAIM_OK);
	assert_int_equal(c.mailbox_id, 1);      /* m2 is at its limit */
	assert_int_equal(claim(f, 1, 1004, 0, &c), MQ_CLAIM_NO_MAILBOX);
	/* m1 is c2's only mailbox: its limit holds across campaigns */
	assert_int_equal(claim(f, 2, 1005, 0, &c), MQ_CLAIM_NO_MAILBOX);
	assert_int_equal(cached(f, "mailbox", 1, 0), 2);
	assert_int_equal(cached(f, "mailbox", 2, 0), 1);
	assert_exact(f);
}

/* Tries that cannot have reached the recipient free their slot. */
static void test_temporary_frees(void **state)
{
	struct fx *f = *state;
	struct mq_claim c, none;

	exec(f, "UPDATE campaign SET daily_limit = 1 WHERE id = 1");
	assert_int_equal(claim(f, 1, 1000, 0, &c), MQ_CLAIM_OK);
	assert_int_equal(claim(f, 1, 1001, 0, &none), MQ_CLAIM_LIMIT);
	record(f, &c, MQ_OUT_RETRY, 0, 1002);
	assert_int_equal(cached(f, "campaign", 1, 0), 0);
	assert_int_equal(claim(f, 1, 1003, 0, &c), MQ_CLAIM_OK);
	record(f, &c, MQ_OUT_MAILBOX, 0, 1004);
	assert_int_equal(claim(f, 1, 1005, 0, &c), MQ_CLAIM_OK);
	record(f, &c, MQ_OUT_FAILED, 1, 1006);       /* out of retries */
	assert_int_equal(claim(f, 1, 1007, 0, &c), MQ_CLAIM_OK);
	record(f, &c, MQ_OUT_FAILED, 0, 1008);       /* a permanent refusal */
	assert_int_equal(claim(f, 1, 1009, 0, &c), MQ_CLAIM_LIMIT);
	assert_int_equal(cached(f, "campaign", 1, 0), 1);
	assert_int_equal(cached(f, "sender", 1, 0), 1);
	assert_exact(f);
}

/* mailq-reclaim's changes of attempts keep the counts without code of
 * its own: a claim returned to the queue frees its slot, one marked
 * unknown keeps it. */
static void test_reclaim_frees(void **state)
{
	struct fx *f = *state;
	struct mq_claim c;

	exec(f, "UPDATE campaign SET daily_limit = 1 WHERE id = 1");
	assert_int_equal(claim(f, 1, 1000, 0, &c), MQ_CLAIM_OK);
	assert_int_equal(claim(f, 1, 1001, 0, &c), MQ_CLAIM_LIMIT);
	assert_int_equal(reclaim_all(f, MQ_RECLAIM_PENDING, 2000), 1);
	assert_int_equal(cached(f, "campaign", 1, 0), 0);
	assert_int_equal(cached(f, "mailbox", 1, 0), 0);
	assert_int_equal(claim(f, 1, 2001, 0, &c), MQ_CLAIM_OK);
	assert_int_equal(reclaim_all(f, MQ_RECLAIM_FAILED, 3000), 1);
	assert_int_equal(claim(f, 1, 3001, 0, &c), MQ_CLAIM_OK);
	assert_int_equal(reclaim_all(f, MQ_RECLAIM_UNKNOWN, 4000), 1);
	assert_int_equal(cached(f, "campaign", 1, 0), 1);
	assert_int_equal(claim(f, 1, 4001, 0, &c), MQ_CLAIM_LIMIT);
	assert_exact(f);
}

/* One step of the mixed sequence, chosen by r: the claim's status, or
 * -1 if the step was not a claim. */
static int mixed_step(struct fx *f, unsigned r, time_t now, time_t day)
{
	static const enum mq_outcome out[] = { MQ_OUT_SENT, MQ_OUT_RETRY,
	    MQ_OUT_FAILED, MQ_OUT_BOUNCED, MQ_OUT_MAILBOX, MQ_OUT_UNKNOWN };
	enum mq_claim_status st;
	struct mq_claim c;

	switch (r % 10) {
	case 0:
		reclaim_all(f, (enum mq_reclaim_to)(r / 10 % 3), now);
		return -1;
	case 1:          /* the operator edits the history by hand */
		exec(f, "UPDATE attempt SET outcome = CASE WHEN outcome IS "
		    "NULL THEN 'unknown' ELSE 'temporary' END WHERE id = "
		    "(SELECT max(id) FROM attempt)");
		return -1;
	case 2:
		exec(f, "UPDATE attempt SET started_at = started_at - 86400 "
		    "WHERE id = (SELECT min(id) FROM attempt WHERE started_at "
		    ">= 0)");
		return -1;
	case 3:
		exec(f, "DELETE FROM attempt WHERE id = (SELECT max(id) FROM "
		    "attempt WHERE outcome IS NOT NULL)");
		return -1;
	}
	st = claim(f, r / 10 % 3 + 1, now, day, &c);
	if (st == MQ_CLAIM_OK && r / 30 % 4 != 0)     /* else left in flight */
		record(f, &c, out[r / 120 % 6], r / 720 % 2, now);
	return (int)st;
}

/* Claims, outcomes, reclaims, hand edits and new days in a mix: after
 * each step every counter equals its count. */
static void test_counter_exact(void **state)
{
	struct fx *f = *state;
	int seen[MQ_CLAIM_GONE + 1] = { 0 }, st;
	unsigned r = 12345;
	time_t day = 0;

	/* sessions left open, failing mailboxes and bounce guards are not
	 * this test's: they may not hold the mix up */
	exec(f, "UPDATE campaign SET daily_limit = 6 WHERE id = 2;"
	    "UPDATE mailbox SET daily_limit = 4 WHERE id = 2;"
	    "UPDATE mailbox SET max_connections = 1000, bounce_rate = 0");
	for (int i = 0; i < 400; i++) {
		exec(f, "UPDATE mailbox SET rest_until = NULL");
		r = r * 1103515245u + 12345u;
		if (i % 100 == 99)
			day += 86400;       /* a new day for every campaign */
		if ((st = mixed_step(f, r >> 8, day + 1000 + i, day)) >= 0)
			seen[st]++;
		assert_exact(f);
	}
	/* the mix did claim, and reached a limit */
	assert_true(seen[MQ_CLAIM_OK] > 100);
	assert_true(seen[MQ_CLAIM_LIMIT] > 0);
	assert_int_equal(one(f, "SELECT count(DISTINCT scope) FROM day_count"),
	    3);
	assert_true(one(f, "SELECT sum(n) FROM day_count") > 0);
	assert_true(one(f, "SELECT count(*) FROM attempt WHERE outcome IS "
	    "NULL") > 0);
}

/* A new day starts from the attempts of that day; rows of another day,
 * or none at all, are refilled from the history. */
static void test_new_day(void **state)
{
	struct fx *f = *state;
	struct mq_claim c;

	exec(f, "UPDATE campaign SET daily_limit = 2 WHERE id = 1");
	assert_int_equal(claim(f, 1, 1000, 0, &c), MQ_CLAIM_OK);
	assert_int_equal(claim(f, 1, 1001, 0, &c), MQ_CLAIM_OK);
	assert_int_equal(claim(f, 1, 1002, 0, &c), MQ_CLAIM_LIMIT);
	/* the day's first second is the day's */
	assert_int_equal(claim(f, 1, 86400, 86400, &c), MQ_CLAIM_OK);
	assert_int_equal(cached(f, "campaign", 1, 86400), 1);
	assert_int_equal(cached(f, "sender", 1, 86400), 1);
	assert_int_equal(cached(f, "mailbox", 1, 86400) +
	    cached(f, "mailbox", 2, 86400), 1);
	/* a dry run of another day changes no row */
	assert_int_equal(claim_dry(f, 1, 87001, 0, 1, &c), MQ_CLAIM_LIMIT);
	assert_int_equal(cached(f, "campaign", 1, 0), -1);
	assert_int_equal(cached(f, "campaign", 1, 86400), 1);
	/* with no rows at all, the history still limits */
	exec(f, "DELETE FROM day_count");
	assert_int_equal(claim(f, 1, 87002, 86400, &c), MQ_CLAIM_OK);
	assert_int_equal(claim(f, 1, 87003, 86400, &c), MQ_CLAIM_LIMIT);
	assert_int_equal(cached(f, "campaign", 1, 86400), 2);
	assert_exact(f);
}

/* c1 (day from 0) and c2 (a zone whose day began at 20000) share sender 1:
 * each is limited by the sender's attempts since its own day's start. */
static void test_shared_sender_zones(void **state)
{
	struct fx *f = *state;
	struct mq_claim c;

	exec(f, "UPDATE sender SET daily_limit = 2 WHERE id = 1");
	assert_int_equal(claim(f, 1, 10000, 0, &c), MQ_CLAIM_OK);
	record(f, &c, MQ_OUT_SENT, 0, 10001);
	assert_int_equal(claim(f, 1, 21000, 0, &c), MQ_CLAIM_OK);
	assert_int_equal(claim(f, 1, 22000, 0, &c), MQ_CLAIM_LIMIT);
	/* c2's day saw only the attempt at 21000 */
	assert_int_equal(claim(f, 2, 22001, 20000, &c), MQ_CLAIM_OK);
	assert_int_equal(cached(f, "sender", 1, 20000), 2);
	assert_int_equal(claim(f, 2, 22002, 20000, &c), MQ_CLAIM_LIMIT);
	assert_int_equal(claim(f, 1, 22003, 0, &c), MQ_CLAIM_LIMIT);
	assert_int_equal(cached(f, "sender", 1, 0), 3);
	/* a temporary failure in c2 frees a slot for c2's day only */
	exec(f, "UPDATE attempt SET outcome = 'temporary' WHERE started_at "
	    "= 22001");
	assert_int_equal(claim(f, 1, 22004, 0, &c), MQ_CLAIM_LIMIT);
	assert_int_equal(claim(f, 2, 22005, 20000, &c), MQ_CLAIM_OK);
	assert_exact(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_70_30),
		cmocka_unit_test(test_split_three),
		cmocka_unit_test(test_stable),
#define FX(t) cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)
		FX(test_limit_campaign),
		FX(test_limit_sender),
		FX(test_limit_mailbox),
		FX(test_temporary_frees),
		FX(test_reclaim_frees),
		FX(test_counter_exact),
		FX(test_new_day),
		FX(test_shared_sender_zones),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
