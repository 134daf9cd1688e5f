/* Unit tests of the store: opening, schema versions and upgrades, and the
 * constraints that keep a message from being sent twice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>
#include <cmocka.h>

#include "db.h"

extern const char mq_schema_sql[];      /* schema.sql: version 1 */

static char dir[] = "/tmp/mailq-test-db.XXXXXX";
static char path[256];

static int setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof path, "%s/t.db", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd);
}

static struct mq_db *fresh(void)
{
	struct mq_db *db;
	struct mq_err err;
	int from, to;

	mq_db_remove(path);
	assert_int_equal(mq_db_open(&db, path, MQ_DB_CREATE, &err), MQ_OK);
	assert_int_equal(mq_db_migrate(db, &from, &to, &err), MQ_OK);
	assert_int_equal(from, 0);
	assert_int_equal(to, mq_db_schema_version());
	return db;
}

static int sql(struct mq_db *db, const char *q)
{
	return sqlite3_exec(db->h, q, NULL, NULL, NULL);
}

static sqlite3_int64 one(struct mq_db *db, const char *q)
{
	sqlite3_stmt *st;
	sqlite3_int64 v = -1;

	assert_int_equal(sqlite3_prepare_v2(db->h, q, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void test_create_and_reopen(void **state)
{
	struct mq_db *db = fresh();
	struct mq_err err;
	int from, to;
	char mode[16] = "";
	sqlite3_stmt *st;

	(void)state;
	assert_int_equal(mq_db_migrate(db, &from, &to, &err), MQ_OK);
	assert_int_equal(from, to);
	mq_db_close(db);
	assert_int_equal(mq_db_open(&db, path, MQ_DB_RW, &err), MQ_OK);
	assert_int_equal(one(db, "PRAGMA foreign_keys"), 1);
	sqlite3_prepare_v2(db->h, "PRAGMA journal_mode", -1, &st, NULL);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(mode, sizeof mode, "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	assert_string_equal(mode, "wal");
	mq_db_close(db);
}

static void test_open_errors(void **state)
{
	struct mq_db *db;
	struct mq_err err;
	char other[300];

	(void)state;
	mq_db_remove(path);
	assert_int_equal(mq_db_open(&db, path, MQ_DB_RW, &err), MQ_PERM);
	assert_int_equal(err.ex, EX_NOINPUT);
	assert_null(db);

	/* an empty SQLite file is not initialised */
	assert_int_equal(mq_db_open(&db, path, MQ_DB_CREATE, &err), MQ_OK);
	mq_db_close(db);
	assert_int_equal(mq_db_open(&db, path, MQ_DB_RW, &err), MQ_PERM);
	assert_int_equal(err.ex, EX_CONFIG);
	assert_non_null(strstr(err.msg, "mailq-init"));

	/* a newer schema is refused */
	db = fresh();
	sql(db, "PRAGMA user_version = 99");
	mq_db_close(db);
	assert_int_equal(mq_db_open(&db, path, MQ_DB_RW, &err), MQ_PERM);
	assert_int_equal(err.ex, EX_CONFIG);
	assert_non_null(strstr(err.msg, "newer"));

	/* someone else's database is not taken over */
	snprintf(other, sizeof other, "%s/other.db", dir);
	assert_int_equal(mq_db_open(&db, other, MQ_DB_CREATE, &err), MQ_OK);
	sql(db, "CREATE TABLE t (x)");
	int from, to;
	assert_int_equal(mq_db_migrate(db, &from, &to, &err), MQ_PERM);
	assert_int_equal(err.ex, EX_DATAERR);
	assert_int_equal(one(db, "SELECT count(*) FROM sqlite_schema"), 1);
	mq_db_close(db);
}

/* The bytes of a file, malloc'd, with their count in *n. */
static char *slurp(const char *file, size_t *n)
{
	FILE *f = fopen(file, "rb");
	char *b;

	assert_non_null(f);
	assert_non_null(b = malloc(1 << 20));
	*n = fread(b, 1, 1 << 20, f);
	fclose(f);
	return b;
}

/* file, opened for writing and for reading, is refused with ex and a
 * message holding want, and keeps every byte; no -wal appears. */
static void refused_untouched(const char *file, int ex, const char *want)
{
	static const enum mq_db_mode modes[] = { MQ_DB_RW, MQ_DB_RO };
	struct mq_db *db;
	struct mq_err err;
	size_t n0, n1;
	char *b0 = slurp(file, &n0), *b1, wal[320];

	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(mq_db_open(&db, file, modes[i], &err), MQ_PERM);
		assert_null(db);
		assert_int_equal(err.ex, ex);
		if (strstr(err.msg, want) == NULL)
			fail_msg("'%s' lacks '%s'", err.msg, want);
	}
	b1 = slurp(file, &n1);
	assert_int_equal(n0, n1);
	assert_memory_equal(b0, b1, n0);
	snprintf(wal, sizeof wal, "%s-wal", file);
	assert_int_equal(access(wal, F_OK), -1);
	free(b0);
	free(b1);
}

/* Nothing is written to a file before it is known to be mailq's: an
 * empty file stays empty, a foreign one keeps its journal mode. */
static void test_refused_files(void **state)
{
	struct mq_db *db;
	struct mq_err err;
	char other[300];
	FILE *f;

	(void)state;
	snprintf(other, sizeof other, "%s/other.db", dir);
	mq_db_remove(other);
	assert_non_null(f = fopen(other, "w"));
	fclose(f);
	refused_untouched(other, EX_CONFIG, "not initialised; run mailq-init");

	assert_non_null(f = fopen(other, "w"));
	fputs("just some text, not a database at all\n", f);
	fclose(f);
	refused_untouched(other, EX_DATAERR, "not a mailq database");

	mq_db_remove(other);
	assert_int_equal(mq_db_open(&db, other, MQ_DB_CREATE, &err), MQ_OK);
	assert_int_equal(sql(db, "CREATE TABLE t (x); INSERT INTO t "
	    "VALUES (1)"), SQLITE_OK);
	mq_db_close(db);
	refused_untouched(other, EX_DATAERR, "not a mailq database");

	/* a version that matches is not enough: the tables must be ours */
	assert_int_equal(mq_db_open(&db, other, MQ_DB_CREATE, &err), MQ_OK);
	assert_int_equal(sql(db, "PRAGMA user_version = 3"), SQLITE_OK);
	mq_db_close(db);
	refused_untouched(other, EX_DATAERR, "not a mailq database");
	assert_int_equal(mq_db_open(&db, other, MQ_DB_CREATE, &err), MQ_OK);
	int from, to;
	assert_int_equal(mq_db_migrate(db, &from, &to, &err), MQ_PERM);
	assert_int_equal(err.ex, EX_DATAERR);
	mq_db_close(db);
}

static void seed(struct mq_db *db)
{
	assert_int_equal(sql(db,
	    "INSERT INTO sender (id, name, daily_limit) VALUES (1, 'anna', 10);"
	    "INSERT INTO campaign (id, name, sender_id, timezone, days, "
	    "start_min, end_min, delay, jitter, daily_limit, buffer, "
	    "retry_attempts, retry_backoff, created_at) VALUES (1, 'q4', 1, "
	    "'Europe/Warsaw', 31, 540, 1020, 90, 20, 500, 20, 3, '60', 0);"
	    "INSERT INTO lead (id, email, created_at) VALUES "
	    "(1, 'Zofia@Example.com', 0);"), SQLITE_OK);
}

/* The schema as SQLite keeps it: one line per object, in name order. */
static char *schema_of(struct mq_db *db)
{
	sqlite3_stmt *st;
	char *s = NULL;

	assert_int_equal(sqlite3_prepare_v2(db->h, "SELECT group_concat(type "
	    "|| ' ' || name || ' ' || coalesce(sql, ''), char(10)) FROM "
	    "(SELECT * FROM sqlite_schema ORDER BY type, name)", -1, &st, NULL),
	    SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		s = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	assert_non_null(s);
	return s;
}

/* A new database gets schema.sql and every upgrade; a version 1 database
 * with history is upgraded to the same schema and keeps its rows. */
static void test_upgrade(void **state)
{
	struct mq_db *db = fresh();
	struct mq_err err;
	char *want, *got;
	int from, to;

	(void)state;
	assert_true(mq_db_schema_version() > 1);
	assert_int_equal(one(db, "PRAGMA user_version"),
	    mq_db_schema_version());
	assert_int_equal(one(db, "SELECT count(*) FROM sqlite_schema WHERE "
	    "name IN ('day_count', 'attempt_count_insert', "
	    "'attempt_count_update', 'attempt_count_delete')"), 4);
	want = schema_of(db);
	mq_db_close(db);

	mq_db_remove(path);
	assert_int_equal(mq_db_open(&db, path, MQ_DB_CREATE, &err), MQ_OK);
	assert_int_equal(sql(db, mq_schema_sql), SQLITE_OK);
	seed(db);
	assert_int_equal(sql(db, "INSERT INTO send_log (id, campaign_id, "
	    "lead_id, step, status, claimed_at) VALUES (1, 1, 1, 0, 'sent', 5);"
	    "INSERT INTO attempt (send_log_id, campaign_id, sender_id, "
	    "mailbox_id, started_at, outcome) VALUES (1, 1, 1, 1, 5, 'sent')"),
	    SQLITE_OK);
	mq_db_close(db);
	/* the other programs refuse it until it is upgraded */
	assert_int_equal(mq_db_open(&db, path, MQ_DB_RW, &err), MQ_PERM);
	assert_int_equal(err.ex, EX_CONFIG);
	assert_non_null(strstr(err.msg, "older"));

	assert_int_equal(mq_db_open(&db, path, MQ_DB_CREATE, &err), MQ_OK);
	assert_int_equal(mq_db_migrate(db, &from, &to, &err), MQ_OK);
	assert_int_equal(from, 1);
	assert_int_equal(to, mq_db_schema_version());
	got = schema_of(db);
	assert_string_equal(got, want);
	assert_int_equal(one(db, "SELECT count(*) FROM attempt"), 1);
	assert_int_equal(one(db, "SELECT next_send_ms FROM campaign"), 0);
	mq_db_close(db);
	assert_int_equal(mq_db_open(&db, path, MQ_DB_RW, &err), MQ_OK);
	mq_db_close(db);
	free(want);
	free(got);
}

static void test_send_log_once(void **state)
{
	struct mq_db *db = fresh();
	const char *ins = "INSERT INTO send_log (campaign_id, lead_id, step, "
	    "status, claimed_at) VALUES (1, 1, 0, 'sending', 0)";

	(void)state;
	seed(db);
	assert_int_equal(sql(db, ins), SQLITE_OK);
	assert_int_equal(sql(db, ins), SQLITE_CONSTRAINT);
	assert_int_equal(sqlite3_extended_errcode(db->h),
	    SQLITE_CONSTRAINT_UNIQUE);
	/* the next step of the same lead is another message */
	assert_int_equal(sql(db, "INSERT INTO send_log (campaign_id, lead_id, "
	    "step, status, claimed_at) VALUES (1, 1, 1, 'sending', 0)"),
	    SQLITE_OK);
	assert_int_equal(one(db, "SELECT count(*) FROM send_log"), 2);
	mq_db_close(db);
}

static void test_constraints(void **state)
{
	struct mq_db *db = fresh();

	(void)state;
	seed(db);
	/* emails are unique whatever their case */
	assert_int_equal(sql(db, "INSERT INTO lead (email, created_at) VALUES "
	    "('zofia@EXAMPLE.COM', 0)"), SQLITE_CONSTRAINT);
	/* STRICT: no text in an integer column */
	assert_int_equal(sql(db, "UPDATE campaign SET delay = 'soon'"),
	    SQLITE_CONSTRAINT);
	/* statuses are a closed set */
	assert_int_equal(sql(db, "UPDATE campaign SET status = 'sent'"),
	    SQLITE_CONSTRAINT);
	/* foreign keys are enforced */
	assert_int_equal(sql(db, "INSERT INTO campaign_lead (campaign_id, "
	    "lead_id, added_at, updated_at) VALUES (1, 42, 0, 0)"),
	    SQLITE_CONSTRAINT);
	assert_int_equal(sql(db, "INSERT INTO queue (campaign_id, lead_id, "
	    "step, scheduled_at, updated_at) VALUES (1, 1, 0, 0, 0)"), SQLITE_OK);
	assert_int_equal(sql(db, "INSERT INTO queue (campaign_id, lead_id, "
	    "step, scheduled_at, updated_at) VALUES (1, 1, 0, 5, 0)"),
	    SQLITE_CONSTRAINT);
	mq_db_close(db);
}

static void test_transactions(void **state)
{
	struct mq_db *db = fresh(), *other;
	struct mq_err err;

	(void)state;
	seed(db);
	assert_int_equal(mq_db_begin(db, &err), MQ_OK);
	sql(db, "UPDATE sender SET daily_limit = 99");
	mq_db_rollback(db);
	assert_int_equal(one(db, "SELECT daily_limit FROM sender"), 10);
	assert_int_equal(mq_db_begin(db, &err), MQ_OK);
	sql(db, "UPDATE sender SET daily_limit = 98");
	assert_int_equal(mq_db_commit(db, &err), MQ_OK);
	assert_int_equal(mq_db_open(&other, path, MQ_DB_RO, &err), MQ_OK);
	assert_int_equal(one(other, "SELECT daily_limit FROM sender"), 98);
	/* read-only: no writes */
	assert_int_not_equal(sql(other, "UPDATE sender SET daily_limit = 1"),
	    SQLITE_OK);
	mq_db_close(other);
	mq_db_close(db);
}

static void test_fail_mapping(void **state)
{
	struct mq_err err;

	(void)state;
	assert_int_equal(mq_db_fail(NULL, SQLITE_BUSY, "x", &err), MQ_TEMP);
	assert_int_equal(err.ex, EX_TEMPFAIL);
	assert_int_equal(mq_db_fail(NULL, SQLITE_READONLY, "x", &err), MQ_PERM);
	assert_int_equal(err.ex, EX_CANTCREAT);
	assert_int_equal(mq_db_fail(NULL, SQLITE_FULL, "x", &err), MQ_TEMP);
	assert_int_equal(mq_db_fail(NULL, SQLITE_NOTADB, "x", &err), MQ_PERM);
	assert_int_equal(err.ex, EX_DATAERR);
}

static void test_bind(void **state)
{
	struct mq_db *db = fresh();
	sqlite3_stmt *st;

	(void)state;
	assert_int_equal(sqlite3_prepare_v2(db->h,
	    "SELECT ?1 + ?2, ?3 IS NULL, ?4", -1, &st, NULL), SQLITE_OK);
	/* a fifth value is past the last parameter and skipped */
	assert_int_equal(mq_db_bind(st, "iIssi", 2, (sqlite3_int64)1 << 40,
	    NULL, "zażółć", 7), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(st, 0), ((sqlite3_int64)1 << 40) + 2);
	assert_int_equal(sqlite3_column_int(st, 1), 1);
	assert_string_equal((const char *)sqlite3_column_text(st, 2), "zażółć");
	sqlite3_finalize(st);
	mq_db_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_and_reopen),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_refused_files),
		cmocka_unit_test(test_upgrade),
		cmocka_unit_test(test_send_log_once),
		cmocka_unit_test(test_constraints),
		cmocka_unit_test(test_transactions),
		cmocka_unit_test(test_fail_mapping),
		cmocka_unit_test(test_bind),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
