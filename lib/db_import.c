/*
 * The store's side of mailq-import: see db_import.h, and INTERNALS.md
 * (Import). Most rows of a large file are new leads, and a new lead costs
 * one INSERT into lead: its UNIQUE index finds a known address on the
 * way. SQLite gives a new row the table's largest id plus one, so new
 * leads' ids run on from the largest before the import in step with the
 * file's lines; only where the lines stop following (a reject, a
 * duplicate, a blank line, a record over several lines) does a row of
 * temp.mq_import_runs mark the new start, and a new lead's first line is
 * found from its id. A known lead the file names gets a row of
 * temp.mq_import_mine (its line; whether it joins the campaign), a
 * suppressed address one of temp.mq_import_supp, so that a later row
 * naming it again is a duplicate of that line. The leads join the
 * campaign at the end, in one INSERT ... SELECT.
 *
 * The import writes with foreign keys off and its statements compiled
 * without CHECK constraints, because what they check holds by
 * construction: the campaign is the one checked under this transaction's
 * lock, every lead that joins it is a row of this transaction, fields is
 * the JSON object the importer built (or json_patch of two), and the
 * status written is the column's default. They were nearly half of the
 * import's work: SQLite (3.40) checks the IN list of campaign_lead's
 * status CHECK by building a temporary b-tree of its ten values for every
 * row.
 *
 * Addresses compare with NOCASE, which folds ASCII only; the importer
 * accepts ASCII addresses only, so that is exact.
 */
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "db_campaign.h"
#include "db_import.h"

enum {
	ST_SUPPRESSED, ST_SUPP_PUT, ST_SUPP_GET, ST_INSERT, ST_FIND,
	ST_RUN_PUT, ST_RUN_GET, ST_MINE_PUT, ST_MINE_GET, ST_MERGE, N_ST
};

static const char *const sqls[N_ST] = {
	[ST_SUPPRESSED] = "SELECT 1 FROM suppression WHERE email = ?1",
	[ST_SUPP_PUT] = "INSERT INTO temp.mq_import_supp (email, line) "
	    "VALUES (?1, ?2) ON CONFLICT DO NOTHING",
	[ST_SUPP_GET] = "SELECT line FROM temp.mq_import_supp WHERE email = ?1",
	[ST_INSERT] = "INSERT INTO lead (email, fields, created_at) "
	    "VALUES (?1, ?2, ?3) ON CONFLICT (email) DO NOTHING",
	[ST_FIND] = "SELECT l.id, EXISTS (SELECT 1 FROM campaign_lead c "
	    "WHERE c.campaign_id = ?2 AND c.lead_id = l.id) "
	    "FROM lead l WHERE l.email = ?1",
	[ST_RUN_PUT] = "INSERT INTO temp.mq_import_runs (id, line) "
	    "VALUES (?1, ?2)",
	[ST_RUN_GET] = "SELECT ?1 - id + line FROM temp.mq_import_runs "
	    "WHERE id <= ?1 ORDER BY id DESC LIMIT 1",
	[ST_MINE_PUT] = "INSERT INTO temp.mq_import_mine (lead_id, line, joins) "
	    "VALUES (?1, ?2, ?3)",
	[ST_MINE_GET] = "SELECT line FROM temp.mq_import_mine WHERE lead_id = ?1",
	[ST_MERGE] = "UPDATE lead SET fields = json_patch(fields, ?2) "
	    "WHERE id = ?1",
};

static const char temp_sql[] =
    "DROP TABLE IF EXISTS temp.mq_import_runs;"
    "DROP TABLE IF EXISTS temp.mq_import_mine;"
    "DROP TABLE IF EXISTS temp.mq_import_supp;"
    "CREATE TEMP TABLE mq_import_runs (id INTEGER PRIMARY KEY, "
    "line INTEGER NOT NULL);"
    "CREATE TEMP TABLE mq_import_mine (lead_id INTEGER PRIMARY KEY, "
    "line INTEGER NOT NULL, joins INTEGER NOT NULL);"
    "CREATE TEMP TABLE mq_import_supp (email TEXT PRIMARY KEY COLLATE "
    "NOCASE, line INTEGER NOT NULL) WITHOUT ROWID";

/* ?1 campaign, ?2 now, ?3 the largest lead id before the import */
static const char *const join_sqls[] = {
	"INSERT INTO campaign_lead (campaign_id, lead_id, added_at, "
	    "updated_at) SELECT ?1, id, ?2, ?2 FROM lead WHERE id > ?3",
	"INSERT INTO campaign_lead (campaign_id, lead_id, added_at, "
	    "updated_at) SELECT ?1, lead_id, ?2, ?2 FROM temp.mq_import_mine "
	    "WHERE joins",
};

struct mq_db_import {
	struct mq_db  *db;
	sqlite3_int64  campaign;
	sqlite3_int64  now;
	sqlite3_int64  max_before;      /* the largest lead id before */
	sqlite3_int64  next_id;         /* the id and line of a new lead */
	long           next_line;       /* that would continue the run */
	int            any_suppressed;  /* the suppression list is not empty */
	int            joined;          /* mq_db_import_join has run */
	int            fk_off;          /* foreign keys to turn on again */
	int            checks_off;      /* CHECK constraints too */
	sqlite3_stmt  *st[N_ST];
};

sqlite3_int64 mq_db_import_campaign(const struct mq_db_import *imp)
{
	return imp->campaign;
}

/* Binds the text s to parameter i of st without a copy: every statement
 * here runs to its end (and is reset) before s goes away. */
static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

/* Runs st to completion and resets it; MQ_OK on SQLITE_DONE. */
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

/* The first integer column of st's one row in *v (0 when there is none);
 * resets st. */
static int fetch_int(struct mq_db_import *imp, sqlite3_stmt *st,
    sqlite3_int64 *v, const char *what, struct mq_err *err)
{
	int found, rc;

	if ((rc = fetch(imp, st, &found, what, err)) != MQ_OK)
		return rc;
	*v = found ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	return MQ_OK;
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

/* Whether the statements prepared from now on check CHECK constraints
 * (see the opening comment). Changing it expires every prepared
 * statement, so it is changed twice an import, not per statement. */
static int checks(struct mq_db_import *imp, int on, struct mq_err *err)
{
	int rc = mq_db_exec(imp->db, on ? "PRAGMA ignore_check_constraints = "
	    "OFF" : "PRAGMA ignore_check_constraints = ON", err);

	if (rc == MQ_OK)
		imp->checks_off = !on;
	return rc;
}

static int prepare_all(struct mq_db_import *imp, struct mq_err *err)
{
	sqlite3_int64 any;
	int rc;

	rc = mq_db_exec(imp->db, temp_sql, err);
	if (rc == MQ_OK)
		rc = checks(imp, 0, err);
	for (int i = 0; rc == MQ_OK && i < N_ST; i++)
		rc = mq_db_prepare(imp->db, sqls[i], &imp->st[i], err);
	if (rc == MQ_OK)
		rc = mq_db_get(imp->db, err, &any, NULL, "SELECT EXISTS (SELECT 1 "
		    "FROM suppression)", "");
	imp->any_suppressed = rc == MQ_OK && any != 0;
	if (rc == MQ_OK)
		rc = mq_db_get(imp->db, err, &imp->max_before, NULL, "SELECT "
		    "coalesce(max(id), 0) FROM lead", "");
	imp->next_id = imp->max_before + 1;
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
	/* See foreign keys in the file's opening comment; the pragma does
	 * nothing inside a transaction, so it comes before BEGIN. */
	imp->fk_off = db->depth == 0 && mq_db_exec(db, "PRAGMA foreign_keys "
	    "= OFF", NULL) == MQ_OK;
	if ((rc = mq_db_begin(db, err)) != MQ_OK) {
		if (imp->fk_off)
			mq_db_exec(db, "PRAGMA foreign_keys = ON", NULL);
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

/* A suppressed address: SUPPRESSED the first time the file names it, SEEN
 * after that. */
static int suppressed(struct mq_db_import *imp, const char *email,
    long line, enum mq_db_import_result *res, long *first_line,
    struct mq_err *err)
{
	sqlite3_stmt *st = imp->st[ST_SUPP_PUT];
	sqlite3_int64 first;
	int rc;

	bind_text(st, 1, email);
	sqlite3_bind_int64(st, 2, line);
	if ((rc = run(imp, st, "remember address", err)) != MQ_OK)
		return rc;
	if (sqlite3_changes(imp->db->h) > 0) {
		*res = MQ_DB_IMPORT_SUPPRESSED;
		return MQ_OK;
	}
	st = imp->st[ST_SUPP_GET];
	bind_text(st, 1, email);
	if ((rc = fetch_int(imp, st, &first, "find address", err)) != MQ_OK)
		return rc;
	*res = MQ_DB_IMPORT_SEEN;
	*first_line = first != 0 ? (long)first : line;
	return MQ_OK;
}

/* Remembers that this file named the known lead id first at line. */
static int mine(struct mq_db_import *imp, sqlite3_int64 id, long line,
    int joins, struct mq_err *err)
{
	sqlite3_stmt *st = imp->st[ST_MINE_PUT];

	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, line);
	sqlite3_bind_int(st, 3, joins);
	return run(imp, st, "remember lead", err);
}

/* Remembers the line of the new lead id: nothing to write while the ids
 * and lines run on together. An id at or below max_before is one SQLite
 * chose at random (when the largest possible id is taken); it is kept as
 * a known lead is. */
static int added(struct mq_db_import *imp, sqlite3_int64 id, long line,
    struct mq_err *err)
{
	sqlite3_stmt *st = imp->st[ST_RUN_PUT];
	int rc = MQ_OK;

	if (id <= imp->max_before)
		rc = mine(imp, id, line, 1, err);
	else if (id != imp->next_id || line != imp->next_line) {
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, line);
		rc = run(imp, st, "remember lead", err);
	}
	imp->next_id = id + 1;
	imp->next_line = line + 1;
	return rc;
}

/* The line where this file named lead id first, or 0 if it did not. */
static int first_line_of(struct mq_db_import *imp, sqlite3_int64 id,
    sqlite3_int64 *line, struct mq_err *err)
{
	int fresh = id > imp->max_before;
	sqlite3_stmt *st = imp->st[fresh ? ST_RUN_GET : ST_MINE_GET];
	int rc;

	sqlite3_bind_int64(st, 1, id);
	rc = fetch_int(imp, st, line, "find lead", err);
	if (rc == MQ_OK && fresh && *line <= 0)
		return mq_err_perm(err, EX_SOFTWARE, "%s: new lead %lld has no "
		    "line", imp->db->path, (long long)id);
	return rc;
}

/* A lead that was there before this row: named earlier in the file
 * (SEEN), already in the campaign, or joining it with its fields merged
 * in. */
static int known(struct mq_db_import *imp, const char *email,
    const char *fields, long line, enum mq_db_import_result *res,
    long *first_line, struct mq_err *err)
{
	sqlite3_stmt *st = imp->st[ST_FIND];
	sqlite3_int64 id, first;
	int found, member, rc;

	bind_text(st, 1, email);
	sqlite3_bind_int64(st, 2, imp->campaign);
	if ((rc = fetch(imp, st, &found, "find lead", err)) != MQ_OK)
		return rc;
	id = found ? sqlite3_column_int64(st, 0) : 0;
	member = found && sqlite3_column_int(st, 1);
	sqlite3_reset(st);
	if (!found)
		return mq_err_perm(err, EX_SOFTWARE, "%s: lead %s vanished",
		    imp->db->path, email);
	if ((rc = first_line_of(imp, id, &first, err)) != MQ_OK)
		return rc;
	if (first != 0) {
		*res = MQ_DB_IMPORT_SEEN;
		*first_line = (long)first;
		return MQ_OK;
	}
	if ((rc = mine(imp, id, line, !member, err)) != MQ_OK)
		return rc;
	*res = member ? MQ_DB_IMPORT_IN_CAMPAIGN : MQ_DB_IMPORT_ADDED;
	if (member)
		return MQ_OK;
	st = imp->st[ST_MERGE];
	sqlite3_bind_int64(st, 1, id);
	bind_text(st, 2, fields);
	return run(imp, st, "merge lead fields", err);
}

int mq_db_import_lead(struct mq_db_import *imp, const char *email,
    const char *fields, long line, enum mq_db_import_result *res,
    long *first_line, struct mq_err *err)
{
	sqlite3_stmt *st;
	sqlite3_int64 yes;
	int rc;

	*first_line = 0;
	if (imp->any_suppressed) {
		st = imp->st[ST_SUPPRESSED];
		bind_text(st, 1, email);
		if ((rc = fetch_int(imp, st, &yes, "check suppression", err)) !=
		    MQ_OK)
			return rc;
		if (yes)
			return suppressed(imp, email, line, res, first_line, err);
	}
	st = imp->st[ST_INSERT];
	bind_text(st, 1, email);
	bind_text(st, 2, fields);
	sqlite3_bind_int64(st, 3, imp->now);
	if ((rc = run(imp, st, "add lead", err)) != MQ_OK)
		return rc;
	if (sqlite3_changes(imp->db->h) == 0)
		return known(imp, email, fields, line, res, first_line, err);
	*res = MQ_DB_IMPORT_ADDED;
	return added(imp, sqlite3_last_insert_rowid(imp->db->h), line, err);
}

int mq_db_import_join(struct mq_db_import *imp, struct mq_err *err)
{
	sqlite3_stmt *st;
	int rc = MQ_OK;

	if (imp->joined)
		return MQ_OK;
	for (size_t i = 0; rc == MQ_OK && i < sizeof join_sqls /
	    sizeof *join_sqls; i++) {
		if ((rc = mq_db_prepare(imp->db, join_sqls[i], &st, err)) !=
		    MQ_OK)
			return rc;
		sqlite3_bind_int64(st, 1, imp->campaign);
		sqlite3_bind_int64(st, 2, imp->now);
		sqlite3_bind_int64(st, 3, imp->max_before);
		rc = run(imp, st, "add leads to campaign", err);
		sqlite3_finalize(st);
	}
	if (rc == MQ_OK)
		rc = checks(imp, 1, err);
	imp->joined = rc == MQ_OK;
	return rc;
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
		rc = mq_db_import_join(imp, err);
	if (commit && rc == MQ_OK)
		rc = mq_db_commit(imp->db, err);
	else
		mq_db_rollback(imp->db);
	/* The TEMP tables are private to this connection; dropping them
	 * only frees their pages, so a failure here is not worth
	 * reporting. */
	sqlite3_exec(imp->db->h, "DROP TABLE IF EXISTS temp.mq_import_runs;"
	    "DROP TABLE IF EXISTS temp.mq_import_mine;"
	    "DROP TABLE IF EXISTS temp.mq_import_supp", NULL, NULL, NULL);
	if (imp->checks_off)
		checks(imp, 1, NULL);
	if (imp->fk_off)
		mq_db_exec(imp->db, "PRAGMA foreign_keys = ON", NULL);
	free(imp);
	return rc;
}

int mq_db_never_again(struct mq_db *db, const char *email,
    const char *reason, const char *why, time_t now, int *added,
    struct mq_err *err)
{
	int rc;

	rc = mq_db_run(db, err, "INSERT OR IGNORE INTO suppression (email, "
	    "reason, created_at) VALUES (?1, ?2, ?3)", "ssI", email, reason,
	    (sqlite3_int64)now);
	if (added != NULL)
		*added = rc == MQ_OK && sqlite3_changes(db->h) > 0;
	if (rc == MQ_OK)
		rc = mq_db_run(db, err, "UPDATE queue SET status = 'cancelled', "
		    "last_error = ?3, updated_at = ?2 WHERE campaign_id IN "
		    "(SELECT id FROM campaign) AND lead_id = (SELECT id FROM lead "
		    "WHERE email = ?1) AND status = 'pending'", "sIs",
		    email, (sqlite3_int64)now, why);
	return rc;
}

int mq_db_suppress(struct mq_db *db, const char *email, const char *reason,
    time_t now, int *added, struct mq_err *err)
{
	int rc;

	rc = mq_db_never_again(db, email, reason, "suppressed", now, added,
	    err);
	if (rc == MQ_OK)
		rc = mq_db_run(db, err, "UPDATE campaign_lead SET status = "
		    "'unsubscribed', updated_at = ?2 WHERE status IN ('queued', "
		    "'active') AND lead_id = (SELECT id FROM lead WHERE email = "
		    "?1)", "sI", email, (sqlite3_int64)now);
	return rc;
}
