/*
 * The store's side of mailq-import: see db_import.h. Every row costs a few
 * indexed lookups through statements prepared once, so a large file is one
 * transaction of cheap steps. Addresses compare with NOCASE, which folds
 * ASCII only; the importer accepts ASCII addresses only, so that is exact.
 */
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "db_campaign.h"
#include "db_import.h"

enum {
	ST_SEEN_PUT, ST_SEEN_GET, ST_SUPPRESSED, ST_FIND, ST_INSERT, ST_MERGE,
	ST_JOIN, N_ST
};

static const char *const sqls[N_ST] = {
	[ST_SEEN_PUT] = "INSERT INTO temp.mq_import_seen (email, line) "
	    "VALUES (?1, ?2) ON CONFLICT DO NOTHING",
	[ST_SEEN_GET] = "SELECT line FROM temp.mq_import_seen WHERE email = ?1",
	[ST_SUPPRESSED] = "SELECT 1 FROM suppression WHERE email = ?1",
	[ST_FIND] = "SELECT l.id, EXISTS (SELECT 1 FROM campaign_lead c "
	    "WHERE c.campaign_id = ?2 AND c.lead_id = l.id) "
	    "FROM lead l WHERE l.email = ?1",
	[ST_INSERT] = "INSERT INTO lead (email, fields, created_at) "
	    "VALUES (?1, ?2, ?3)",
	[ST_MERGE] = "UPDATE lead SET fields = json_patch(fields, ?2) "
	    "WHERE id = ?1",
	[ST_JOIN] = "INSERT INTO campaign_lead (campaign_id, lead_id, "
	    "added_at, updated_at) VALUES (?1, ?2, ?3, ?3)",
};

struct mq_db_import {
	struct mq_db  *db;
	sqlite3_int64  campaign;
	sqlite3_int64  now;
	sqlite3_stmt  *st[N_ST];
};

sqlite3_int64 mq_db_import_campaign(const struct mq_db_import *imp)
{
	return imp->campaign;
}

/* Runs st with the bound values to completion; MQ_OK on SQLITE_DONE. */
static int run(struct mq_db_import *imp, sqlite3_stmt *st, const char *what,
    struct mq_err *err)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? MQ_OK : mq_db_fail(imp->db, rc, what, err);
}

/* Steps st for at most one row: *found says whether there was one; the
 * caller reads the columns, then resets. */
static int fetch(struct mq_db_import *imp, sqlite3_stmt *st, int *found,
    const char *what, struct mq_err *err)
{
	int rc = sqlite3_step(st);

	*found = rc == SQLITE_ROW;
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return MQ_OK;
	sqlite3_reset(st);
	return mq_db_fail(imp->db, rc, what, err);
}

static int check_campaign(struct mq_db_import *imp, const char *name,
    struct mq_err *err)
{
	struct mq_db_campaign c;
	int rc;

	if ((rc = mq_db_campaign_get(imp->db, name, &c, err)) != MQ_OK)
		return rc;
	if (!c.retired)
		imp->campaign = c.id;
	if (c.retired)
		rc = mq_err_perm(err, EX_NOINPUT, "campaign '%s': no such campaign",
		    name);
	else if (c.status == MQ_CAMPAIGN_STOPPED ||
	    c.status == MQ_CAMPAIGN_COMPLETED)
		rc = mq_err_perm(err, EX_DATAERR, "campaign '%s': is %s; leads "
		    "can only be added to a campaign that can still send",
		    name, mq_db_campaign_states[c.status]);
	mq_db_campaign_free(&c);
	return rc;
}

static int prepare_all(struct mq_db_import *imp, struct mq_err *err)
{
	int rc;

	rc = mq_db_exec(imp->db, "CREATE TEMP TABLE IF NOT EXISTS "
	    "mq_import_seen (email TEXT PRIMARY KEY COLLATE NOCASE, "
	    "line INTEGER NOT NULL) WITHOUT ROWID", err);
	if (rc == MQ_OK)
		rc = mq_db_exec(imp->db, "DELETE FROM temp.mq_import_seen", err);
	for (int i = 0; rc == MQ_OK && i < N_ST; i++)
		rc = mq_db_prepare(imp->db, sqls[i], &imp->st[i], err);
	return rc;
}

int mq_db_import_begin(struct mq_db *db, const char *name, time_t now,
    struct mq_db_import **out, struct mq_err *err)
{
	struct mq_db_import *imp;
	int rc;

	*out = NULL;
	if ((imp = calloc(1, sizeof *imp)) == NULL)
		return mq_err_perm(err, EX_OSERR, "out of memory");
	imp->db = db;
	imp->now = now;
	if ((rc = mq_db_begin(db, err)) != MQ_OK) {
		free(imp);
		return rc;
	}
	rc = check_campaign(imp, name, err);
	if (rc == MQ_OK)
		rc = prepare_all(imp, err);
	if (rc != MQ_OK) {
		mq_db_import_end(imp, 0, NULL);
		return rc;
	}
	*out = imp;
	return MQ_OK;
}

/* Remembers email as seen at line; *first_line gets the earlier line when
 * it was seen before, else 0. */
static int seen(struct mq_db_import *imp, const char *email, long line,
    long *first_line, struct mq_err *err)
{
	sqlite3_stmt *st = imp->st[ST_SEEN_PUT];
	int found, rc;

	*first_line = 0;
	mq_db_bind(st, "sI", email, (sqlite3_int64)line);
	if ((rc = run(imp, st, "remember address", err)) != MQ_OK)
		return rc;
	if (sqlite3_changes(imp->db->h) > 0)
		return MQ_OK;
	st = imp->st[ST_SEEN_GET];
	mq_db_bind(st, "s", email);
	if ((rc = fetch(imp, st, &found, "find address", err)) != MQ_OK)
		return rc;
	*first_line = found ? (long)sqlite3_column_int64(st, 0) : line;
	sqlite3_reset(st);
	return MQ_OK;
}

static int suppressed(struct mq_db_import *imp, const char *email, int *yes,
    struct mq_err *err)
{
	sqlite3_stmt *st = imp->st[ST_SUPPRESSED];
	int rc;

	mq_db_bind(st, "s", email);
	rc = fetch(imp, st, yes, "check suppression", err);
	sqlite3_reset(st);
	return rc;
}

/* Finds the lead: *id is 0 when there is none, *member says whether it is
 * already in this campaign. */
static int find_lead(struct mq_db_import *imp, const char *email,
    sqlite3_int64 *id, int *member, struct mq_err *err)
{
	sqlite3_stmt *st = imp->st[ST_FIND];
	int found, rc;

	*id = 0;
	*member = 0;
	mq_db_bind(st, "sI", email, imp->campaign);
	if ((rc = fetch(imp, st, &found, "find lead", err)) != MQ_OK)
		return rc;
	if (found) {
		*id = sqlite3_column_int64(st, 0);
		*member = sqlite3_column_int(st, 1);
	}
	sqlite3_reset(st);
	return MQ_OK;
}

/* Creates the lead or merges its fields, then adds it to the campaign. */
static int add_lead(struct mq_db_import *imp, const char *email,
    const char *fields, sqlite3_int64 id, struct mq_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (id == 0) {
		st = imp->st[ST_INSERT];
		mq_db_bind(st, "ssI", email, fields, imp->now);
		if ((rc = run(imp, st, "add lead", err)) != MQ_OK)
			return rc;
		id = sqlite3_last_insert_rowid(imp->db->h);
	} else {
		st = imp->st[ST_MERGE];
		mq_db_bind(st, "Is", id, fields);
		if ((rc = run(imp, st, "merge lead fields", err)) != MQ_OK)
			return rc;
	}
	st = imp->st[ST_JOIN];
	mq_db_bind(st, "III", imp->campaign, id, imp->now);
	return run(imp, st, "add lead to campaign", err);
}

int mq_db_import_lead(struct mq_db_import *imp, const char *email,
    const char *fields, long line, enum mq_db_import_result *res,
    long *first_line, struct mq_err *err)
{
	sqlite3_int64 id;
	int yes, member, rc;

	if ((rc = seen(imp, email, line, first_line, err)) != MQ_OK)
		return rc;
	if (*first_line != 0) {
		*res = MQ_DB_IMPORT_SEEN;
		return MQ_OK;
	}
	if ((rc = suppressed(imp, email, &yes, err)) != MQ_OK)
		return rc;
	if (yes) {
		*res = MQ_DB_IMPORT_SUPPRESSED;
		return MQ_OK;
	}
	if ((rc = find_lead(imp, email, &id, &member, err)) != MQ_OK)
		return rc;
	if (member) {
		*res = MQ_DB_IMPORT_IN_CAMPAIGN;
		return MQ_OK;
	}
	*res = MQ_DB_IMPORT_ADDED;
	return add_lead(imp, email, fields, id, err);
}

int mq_db_import_end(struct mq_db_import *imp, int commit,
    struct mq_err *err)
{
	int rc = MQ_OK;

	if (imp == NULL)
		return MQ_OK;
	for (int i = 0; i < N_ST; i++)
		sqlite3_finalize(imp->st[i]);
	if (commit)
		rc = mq_db_commit(imp->db, err);
	else
		mq_db_rollback(imp->db);
	/* The TEMP table is private to this connection; dropping it only
	 * frees its pages, so a failure here is not worth reporting. */
	sqlite3_exec(imp->db->h, "DROP TABLE IF EXISTS temp.mq_import_seen",
	    NULL, NULL, NULL);
	free(imp);
	return rc;
}

int mq_db_suppress(struct mq_db *db, const char *email, const char *reason,
    time_t now, int *added, struct mq_err *err)
{
	int rc;

	rc = mq_db_run(db, err, "INSERT OR IGNORE INTO suppression (email, "
	    "reason, created_at) VALUES (?1, ?2, ?3)", "ssI", email, reason,
	    (sqlite3_int64)now);
	*added = rc == MQ_OK && sqlite3_changes(db->h) > 0;
	if (rc == MQ_OK)
		rc = mq_db_run(db, err, "UPDATE queue SET status = 'cancelled', "
		    "last_error = 'suppressed', updated_at = ?2 WHERE status = "
		    "'pending' AND lead_id = (SELECT id FROM lead WHERE email = "
		    "?1)", "sI", email, (sqlite3_int64)now);
	if (rc == MQ_OK)
		rc = mq_db_run(db, err, "UPDATE campaign_lead SET status = "
		    "'unsubscribed', updated_at = ?2 WHERE status IN ('queued', "
		    "'active') AND lead_id = (SELECT id FROM lead WHERE email = "
		    "?1)", "sI", email, (sqlite3_int64)now);
	return rc;
}
