/*
 * Claim cost: claim + record transactions per second through the queue's
 * own code (two per message: its claim and its record), beside raw BEGIN
 * IMMEDIATE; UPDATE; COMMIT transactions on the same file with the same
 * settings. No network: the outcome is "sent". The two alternate in
 * rounds, so that a change in the machine's load falls on both; each
 * figure is the median of the rounds.
 *
 * Then it accounts for the pages: a further ACCOUNT messages with the
 * write-ahead log left to grow, whose frames name the pages written, each
 * page named by the table or index it belongs to (SQLite's dbstat).
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

/* The run's clock: a millisecond more for each message, so that the
 * campaign's pace moves as it does in a run (a row written unchanged
 * leaves its page clean, and would not count). */
static long long clock_ms = 1000000;

static void claim(struct mq_db *db, const struct mq_owner *o,
    struct mq_claim *c)
{
	struct mq_claim_req q = { .campaign = 1, .now_ms = ++clock_ms,
	    .owner = o };
	enum mq_claim_status st;
	struct mq_err err;

	q.now = (time_t)(q.now_ms / 1000);
	if (mq_db_claim(db, &q, 0, &st, c, NULL, &err) != MQ_OK ||
	    st != MQ_CLAIM_OK)
		die("claim", &err);
}

static void record(struct mq_db *db, const struct mq_owner *o,
    const struct mq_claim *c)
{
	struct mq_result r = { MQ_OUT_SENT, 250, "250 ok",
	    (time_t)(clock_ms / 1000), 0, 0, NULL, 0 };
	struct mq_recorded rec;
	struct mq_err err;

	if (mq_db_record(db, &always, c, o, &r, &rec, &err) != MQ_OK)
		die("record", &err);
}

/* Time spent in SQLite, in ns: in BEGIN and COMMIT (taking the lock;
 * writing the log, and at each thousand pages a checkpoint), and in the
 * other statements. */
static long long in_tx, in_stmt;

static int profile(unsigned type, void *arg, void *p, void *x)
{
	const char *sql = sqlite3_sql(p);

	(void)type;
	(void)arg;
	if (sql != NULL && (strncmp(sql, "BEGIN", 5) == 0 ||
	    strncmp(sql, "COMMIT", 6) == 0))
		in_tx += *(sqlite3_int64 *)x;
	else
		in_stmt += *(sqlite3_int64 *)x;
	return 0;
}

/* n messages, each claimed and recorded in a transaction of its own, per
 * second; the pages their claims and records wrote added to *pc, *pr. */
static double messages(struct mq_db *db, const struct mq_owner *o, int n,
    long long *pc, long long *pr)
{
	struct mq_claim c;
	double t0;

	pages(db);
	t0 = secs();
	for (int i = 0; i < n; i++) {
		claim(db, o, &c);
		*pc += pages(db);
		record(db, o, &c);
		*pr += pages(db);
	}
	return n / (secs() - t0);
}

/* n raw transactions per second. Each writes a value the row has not
 * held (SQLite leaves a page clean when a row is written unchanged). */
static double raw(struct mq_db *db, int n, long long *pw)
{
	static int v;
	sqlite3_stmt *st;
	double t0;

	pages(db);
	t0 = secs();
	sqlite3_prepare_v2(db->h, "UPDATE queue SET updated_at = ?2 "
	    "WHERE id = ?1", -1, &st, NULL);
	for (int i = 0; i < n; i++) {
		sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		sqlite3_bind_int(st, 1, i % 1000 + 1);
		sqlite3_bind_int(st, 2, ++v);
		sqlite3_step(st);
		sqlite3_reset(st);
		sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL);
	}
	t0 = secs() - t0;
	sqlite3_finalize(st);
	*pw += pages(db);
	return n / t0;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, by_value);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The pages n more messages write, by the table or index they belong
 * to: the write-ahead log is emptied and left to grow, and each frame's
 * header names its page (a frame is a 24-byte header, then the page). */
#define ACCOUNT 500
#define NAMES 64

struct tally {
	char   name[NAMES][64];
	double n[NAMES];
	int    k;
};

static void count_page(sqlite3_stmt *st, unsigned pgno, struct tally *t)
{
	const char *name = "(new or free page)";
	int i;

	sqlite3_bind_int64(st, 1, pgno);
	if (sqlite3_step(st) == SQLITE_ROW)
		name = (const char *)sqlite3_column_text(st, 0);
	else if (pgno == 1)
		name = "(file header)";
	for (i = 0; i < t->k && strcmp(t->name[i], name) != 0; i++)
		;
	if (i == t->k && t->k < NAMES)
		snprintf(t->name[t->k++], sizeof t->name[0], "%s", name);
	if (i < NAMES)
		t->n[i]++;
	sqlite3_reset(st);
}

static void account(struct mq_db *db, const struct mq_owner *o,
    const char *path)
{
	unsigned char hdr[32], fh[24];
	char wal[4200];
	long long pc = 0, pr = 0;
	struct tally t = { .k = 0 };
	double t0;
	sqlite3_stmt *st;
	unsigned psz;
	FILE *f;

	sqlite3_exec(db->h, "PRAGMA wal_autocheckpoint = 0; "
	    "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	sqlite3_trace_v2(db->h, SQLITE_TRACE_PROFILE, profile, NULL);
	t0 = secs();
	messages(db, o, ACCOUNT, &pc, &pr);
	t0 = secs() - t0;
	sqlite3_trace_v2(db->h, 0, NULL, NULL);
	snprintf(wal, sizeof wal, "%s-wal", path);
	if ((f = fopen(wal, "rb")) == NULL || fread(hdr, 1, 32, f) != 32) {
		fprintf(stderr, "claim: %s: cannot read\n", wal);
		exit(1);
	}
	psz = (unsigned)hdr[8] << 24 | hdr[9] << 16 | hdr[10] << 8 | hdr[11];
	if (sqlite3_prepare_v2(db->h, "SELECT name FROM dbstat WHERE "
	    "pageno = ?1", -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "claim: dbstat: %s\n", sqlite3_errmsg(db->h));
		exit(1);
	}
	while (fread(fh, 1, 24, f) == 24 && fseek(f, psz, SEEK_CUR) == 0)
		count_page(st, (unsigned)fh[0] << 24 | fh[1] << 16 |
		    fh[2] << 8 | fh[3], &t);
	fclose(f);
	sqlite3_finalize(st);
	sqlite3_exec(db->h, "PRAGMA wal_autocheckpoint = 1000", NULL, NULL,
	    NULL);
	/* largest first */
	for (int i = 0; i < t.k; i++)
		for (int j = i + 1; j < t.k; j++)
			if (t.n[j] > t.n[i]) {
				double x = t.n[i];
				char nm[64];

				t.n[i] = t.n[j];
				t.n[j] = x;
				memcpy(nm, t.name[i], sizeof nm);
				memcpy(t.name[i], t.name[j], sizeof nm);
				memcpy(t.name[j], nm, sizeof nm);
			}
	printf("# time per message: %.0f us, of which %.0f us in BEGIN and "
	    "COMMIT (the lock, the log's writes, checkpoints) and %.0f us in "
	    "the other statements\n", t0 * 1e6 / ACCOUNT,
	    in_tx / 1e3 / ACCOUNT, in_stmt / 1e3 / ACCOUNT);
	printf("# pages written per message, by table or index (%d messages, "
	    "%.1f pages each):", ACCOUNT, (double)(pc + pr) / ACCOUNT);
	for (int i = 0; i < t.k; i++)
		printf(" %s %.2f%s", t.name[i], t.n[i] / ACCOUNT,
		    i + 1 < t.k ? "," : "\n");
}

#define ROUNDS 5

int main(int argc, char **argv)
{
	double rr[ROUNDS], rc[ROUNDS], q[ROUNDS];
	long long pc = 0, pr = 0, pw = 0;
	char path[4096];
	struct mq_owner o;
	struct mq_db *db;
	struct mq_err err;
	int n, k;

	if (argc != 3 || (n = atoi(argv[2])) < ROUNDS) {
		fprintf(stderr, "usage: claim DIR N (N >= %d)\n", ROUNDS);
		return 64;
	}
	mallopt(M_TRIM_THRESHOLD, 8 << 20);     /* as mailq-tick does */
	snprintf(path, sizeof path, "%s/claim.db", argv[1]);
	k = n / ROUNDS;
	db = setup(path, k * ROUNDS + ACCOUNT);
	if (mq_owner_self(&o, &err) != MQ_OK)
		die("owner", &err);
	for (int i = 0; i < ROUNDS; i++) {
		rr[i] = raw(db, k, &pw);
		/* a message is two transactions: its claim and its record */
		rc[i] = 2 * messages(db, &o, k, &pc, &pr);
		q[i] = rc[i] / rr[i];
	}
	n = k * ROUNDS;
	printf("claim_record_tx_per_s=%.0f raw_tx_per_s=%.0f ratio=%.2f "
	    "messages_per_s=%.0f pages_per_message=%.1f claim_pages=%.1f "
	    "record_pages=%.1f raw_pages_per_tx=%.1f rounds=%d\n",
	    median(rc, ROUNDS), median(rr, ROUNDS), median(q, ROUNDS),
	    median(rc, ROUNDS) / 2, (double)(pc + pr) / n, (double)pc / n,
	    (double)pr / n, (double)pw / n, ROUNDS);
	account(db, &o, path);
	mq_db_close(db);
	return 0;
}
