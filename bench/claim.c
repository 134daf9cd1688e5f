/*
 * Claim cost: claim + record transactions per second through the queue's
 * own code (two per message: its claim and its record), beside raw BEGIN
 * IMMEDIATE; UPDATE; COMMIT transactions on the same file with the same
 * settings. No network: the outcome is "sent".
 * Usage: claim DIR N
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "db_outcome.h"
#include "owner.h"

/* The campaigns' schedule: every day, all day, in UTC. */
static const struct mq_sched always = { "UTC", 127, 0, 1440, "", "" };

static double secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, const struct mq_err *err)
{
	fprintf(stderr, "claim: %s: %s\n", what, err->msg);
	exit(1);
}

static struct mq_db *setup(const char *path, int n)
{
	char sql[2048];
	struct mq_db *db;
	struct mq_err err;
	int from, to;

	mq_db_remove(path);
	if (mq_db_open(&db, path, MQ_DB_CREATE, &err) != MQ_OK ||
	    mq_db_migrate(db, &from, &to, &err) != MQ_OK)
		die("open", &err);
	snprintf(sql, sizeof sql,
	    "INSERT INTO sender VALUES (1, 'anna', 100000000, 0);"
	    "INSERT INTO mailbox (id, name, sender_id, address, daily_limit) "
	    "VALUES (1, 'm1', 1, 'anna@example.com', 100000000);"
	    "INSERT INTO campaign (id, name, sender_id, status, timezone, days, "
	    "start_min, end_min, delay, jitter, daily_limit, buffer, "
	    "retry_attempts, retry_backoff, created_at) VALUES (1, 'b', 1, "
	    "'running', 'UTC', 127, 0, 1440, 0, 0, 100000000, 20, 3, '60', 0);"
	    "INSERT INTO campaign_mailbox VALUES (1, 1, 0);"
	    "INSERT INTO step (id, campaign_id, number) VALUES (1, 1, 0);"
	    "INSERT INTO variant (id, step_id, letter, subject, body_text) "
	    "VALUES (1, 1, 'A', 's', 't');"
	    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
	    "WHERE i < %d) INSERT INTO lead (id, email, created_at) "
	    "SELECT i, 'l' || i || '@example.com', 0 FROM n;"
	    "INSERT INTO campaign_lead (campaign_id, lead_id, status, added_at, "
	    "updated_at) SELECT 1, id, 'active', 0, 0 FROM lead;"
	    "INSERT INTO queue (campaign_id, lead_id, step, variant_id, "
	    "scheduled_at, updated_at) SELECT 1, id, 0, 1, 0, 0 FROM lead;", n);
	if (mq_db_exec(db, sql, &err) != MQ_OK)
		die("setup", &err);
	return db;
}

/* Pages the connection has written since the last call. */
static long long pages(struct mq_db *db)
{
	int cur = 0, hi = 0;

	sqlite3_db_status(db->h, SQLITE_DBSTATUS_CACHE_WRITE, &cur, &hi, 1);
	return cur;
}

static double claims(struct mq_db *db, int n, double *claim_pages,
    double *record_pages)
{
	long long pc = 0, pr = 0;
	struct mq_claim_req q = { .campaign = 1, .now = 1000,
	    .now_ms = 1000000 };
	struct mq_result r = { MQ_OUT_SENT, 250, "250 ok", 1000, 0, 0, NULL, 0 };
	enum mq_claim_status st;
	struct mq_owner o;
	struct mq_claim c;
	struct mq_err err;
	double t0;
	struct mq_recorded rec;

	if (mq_owner_self(&o, &err) != MQ_OK)
		die("owner", &err);
	q.owner = &o;
	pages(db);
	t0 = secs();
	for (int i = 0; i < n; i++) {
		if (mq_db_claim(db, &q, 0, &st, &c, NULL, &err) != MQ_OK ||
		    st != MQ_CLAIM_OK)
			die("claim", &err);
		pc += pages(db);
		if (mq_db_record(db, &always, &c, &o, &r, &rec, &err) != MQ_OK)
			die("record", &err);
		pr += pages(db);
	}
	t0 = secs() - t0;
	*claim_pages = (double)pc / n;
	*record_pages = (double)pr / n;
	return n / t0;
}

static double raw(struct mq_db *db, int n, double *raw_pages)
{
	sqlite3_stmt *st;
	double t0;

	pages(db);
	t0 = secs();
	sqlite3_prepare_v2(db->h, "UPDATE queue SET updated_at = ?2 "
	    "WHERE id = ?1", -1, &st, NULL);
	for (int i = 0; i < n; i++) {
		sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		sqlite3_bind_int(st, 1, i % 1000 + 1);
		sqlite3_bind_int(st, 2, i);
		sqlite3_step(st);
		sqlite3_reset(st);
		sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL);
	}
	t0 = secs() - t0;
	sqlite3_finalize(st);
	*raw_pages = (double)pages(db) / n;
	return n / t0;
}

int main(int argc, char **argv)
{
	char path[4096];
	struct mq_db *db;
	double c, r, pc, pr, praw;
	int n;

	if (argc != 3 || (n = atoi(argv[2])) <= 0) {
		fprintf(stderr, "usage: claim DIR N\n");
		return 64;
	}
	mallopt(M_TRIM_THRESHOLD, 8 << 20);     /* as mailq-tick does */
	snprintf(path, sizeof path, "%s/claim.db", argv[1]);
	db = setup(path, n);
	r = raw(db, n, &praw);
	c = claims(db, n, &pc, &pr);
	/* a message is two transactions here: its claim and its record */
	printf("claim_record_tx_per_s=%.0f raw_tx_per_s=%.0f ratio=%.2f "
	    "messages_per_s=%.0f pages_per_message=%.1f claim_pages=%.1f "
	    "record_pages=%.1f raw_pages_per_tx=%.1f\n", 2 * c, r, 2 * c / r,
	    c, pc + pr, pc, pr, praw);
	mq_db_close(db);
	return 0;
}
