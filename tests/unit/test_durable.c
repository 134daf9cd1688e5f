/* Unit tests of what reaches the disk: the data phase, which is what keeps
 * a message from being sent twice, is synced before the body may leave;
 * the claim and the outcome are not (a crash of the process loses none of
 * them; a power cut that loses one leaves a state that sends nothing
 * twice). The syncs are counted by a VFS that wraps the default one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "db.h"
#include "db_outcome.h"
#include "owner.h"

/* The campaigns' schedule: every day, all day, in UTC. */
static const struct mq_sched always = { "UTC", 127, 0, 1440, "", "" };

static char dir[] = "/tmp/mailq-test-durable.XXXXXX";
static char path[256];

/* Counting: each file keeps its own methods (the database file's differ
 * from the journal's), but with xSync ours. */
static sqlite3_vfs counting, *real;
static const sqlite3_io_methods *orig[4];
static sqlite3_io_methods counted[4];
static int syncs;

static int count_sync(sqlite3_file *f, int flags)
{
	int i = (int)(f->pMethods - counted);

	syncs++;
	return orig[i]->xSync(f, flags);
}

static int count_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f,
    int flags, int *out)
{
	int rc = real->xOpen(real, name, f, flags, out), i;

	(void)vfs;
	if (rc != SQLITE_OK || f->pMethods == NULL)
		return rc;
	for (i = 0; i < 4 && orig[i] != NULL && orig[i] != f->pMethods; i++)
		;
	assert_true(i < 4);
	if (orig[i] == NULL) {
		orig[i] = f->pMethods;
		counted[i] = *orig[i];
		counted[i].xSync = count_sync;
	}
	f->pMethods = &counted[i];
	return rc;
}

static int setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof path, "%s/t.db", dir);
	real = sqlite3_vfs_find(NULL);
	counting = *real;
	counting.zName = "counting";
	counting.xOpen = count_open;
	return sqlite3_vfs_register(&counting, 1);
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	sqlite3_vfs_unregister(&counting);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd);
}

static struct mq_db *seeded(void)
{
	struct mq_db *db;
	struct mq_err err;
	int from, to;

	mq_db_remove(path);
	assert_int_equal(mq_db_open(&db, path, MQ_DB_CREATE, &err), MQ_OK);
	assert_int_equal(mq_db_migrate(db, &from, &to, &err), MQ_OK);
	assert_int_equal(mq_db_exec(db,
	    "INSERT INTO sender VALUES (1, 'anna', 100, 0);"
	    "INSERT INTO mailbox (id, name, sender_id, address, daily_limit) "
	    "VALUES (1, 'm1', 1, 'anna@example.com', 100);"
	    "INSERT INTO campaign (id, name, sender_id, status, timezone, days, "
	    "start_min, end_min, delay, jitter, daily_limit, buffer, "
	    "retry_attempts, retry_backoff, created_at) VALUES (1, 'b', 1, "
	    "'running', 'UTC', 127, 0, 1440, 0, 0, 100, 20, 3, '60', 0);"
	    "INSERT INTO campaign_mailbox VALUES (1, 1, 0);"
	    "INSERT INTO step (id, campaign_id, number) VALUES (1, 1, 0);"
	    "INSERT INTO variant (id, step_id, letter, subject, body_text) "
	    "VALUES (1, 1, 'A', 's', 't');"
	    "INSERT INTO lead (id, email, created_at) VALUES "
	    "(1, 'l1@example.com', 0);"
	    "INSERT INTO campaign_lead (campaign_id, lead_id, status, added_at, "
	    "updated_at) VALUES (1, 1, 'active', 0, 0);"
	    "INSERT INTO queue (campaign_id, lead_id, step, variant_id, "
	    "scheduled_at, updated_at) VALUES (1, 1, 0, 1, 0, 0);", &err),
	    MQ_OK);
	return db;
}

static int synchronous(struct mq_db *db)
{
	sqlite3_stmt *st;
	int v = -1;

	sqlite3_prepare_v2(db->h, "PRAGMA synchronous", -1, &st, NULL);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void test_data_phase_synced(void **state)
{
	struct mq_db *db = seeded();
	struct mq_claim_req q = { .campaign = 1, .now = 1000,
	    .now_ms = 1000000 };
	struct mq_result r = { MQ_OUT_SENT, 250, "250 ok", 1000, 0, 0, NULL, 0 };
	enum mq_claim_status st;
	struct mq_owner o;
	struct mq_claim c;
	struct mq_err err;
	struct mq_recorded rec;

	(void)state;
	assert_non_null(orig[0]);       /* the wrapper is in the way */
	assert_int_equal(mq_owner_self(&o, &err), MQ_OK);
	q.owner = &o;
	syncs = 0;
	assert_int_equal(mq_db_claim(db, &q, 0, &st, &c, NULL, &err), MQ_OK);
	assert_int_equal(st, MQ_CLAIM_OK);
	assert_int_equal(syncs, 0);

	assert_int_equal(mq_db_phase_data(db, &c, &o, "<id@example.com>", "s",
	    1000, &err), MQ_OK);
	assert_true(syncs >= 1);
	assert_int_equal(synchronous(db), 1);   /* NORMAL again */

	syncs = 0;
	assert_int_equal(mq_db_record(db, &always, &c, &o, &r, &rec, &err), MQ_OK);
	assert_int_equal(rec.stale, 0);
	assert_int_equal(syncs, 0);
	mq_db_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_data_phase_synced),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
