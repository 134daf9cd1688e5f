/*
 * The SQL of importing leads. One import is one write transaction: the
 * campaign is checked under the lock, every row goes through the same few
 * prepared statements, and TEMP tables remember the leads and suppressed
 * addresses this file named, so a later occurrence is reported as a
 * duplicate of its line. The leads join the campaign together, in one
 * statement at the end. Leads are global (one row per address, any case);
 * fields of a lead that joins another campaign are merged, new values
 * winning.
 */
#ifndef MQ_DB_IMPORT_H
#define MQ_DB_IMPORT_H

#include <time.h>

#include "db.h"
#include "err.h"

struct mq_db_import;

/* What became of one lead. */
enum mq_db_import_result {
	MQ_DB_IMPORT_ADDED,         /* new lead, or known lead new to this
	                               campaign (fields merged) */
	MQ_DB_IMPORT_SEEN,          /* same address earlier in this file */
	MQ_DB_IMPORT_IN_CAMPAIGN,   /* already in the campaign: untouched */
	MQ_DB_IMPORT_SUPPRESSED     /* on the suppression list: skipped */
};

/* Starts an import into the campaign called name: BEGIN IMMEDIATE, checks
 * the campaign and prepares the statements. On MQ_OK *imp holds the open
 * transaction; the caller ends it with mq_db_import_end. MQ_PERM with
 * EX_NOINPUT for no such (or a retired) campaign, EX_DATAERR for a stopped
 * or completed one; MQ_TEMP when busy. On failure nothing stays open. */
int mq_db_import_begin(struct mq_db *db, const char *name, time_t now,
    struct mq_db_import **imp, struct mq_err *err);

/* Adds one checked lead found at line of the file. Stores the outcome in
 * *res and, for MQ_DB_IMPORT_SEEN, the earlier line in *first_line. fields
 * is a JSON object. MQ_TEMP or MQ_PERM on a database error. */
int mq_db_import_lead(struct mq_db_import *imp, const char *email,
    const char *fields, long line, enum mq_db_import_result *res,
    long *first_line, struct mq_err *err);

/* Adds every lead that mq_db_import_lead found ADDED to the campaign, in
 * one statement; until then they are leads but not yet the campaign's.
 * Call it once, after the last lead and before reading the campaign's
 * leads; mq_db_import_end calls it before committing if nobody did.
 * MQ_TEMP or MQ_PERM on a database error. */
int mq_db_import_join(struct mq_db_import *imp, struct mq_err *err);

/* The id of the campaign imp imports into. */
sqlite3_int64 mq_db_import_campaign(const struct mq_db_import *imp);

/* Commits (commit != 0, after mq_db_import_join) or rolls back, and frees
 * imp; NULL is fine. A failed commit is rolled back and returns MQ_TEMP
 * or MQ_PERM. */
int mq_db_import_end(struct mq_db_import *imp, int commit,
    struct mq_err *err);

/* The one rule of an address never written to again: email goes on the
 * suppression list with reason (*added = 0, or NULL, when it was already
 * there: the first reason is kept) and its pending messages in every
 * campaign are cancelled with why as their last error, inside the
 * caller's transaction. */
int mq_db_never_again(struct mq_db *db, const char *email,
    const char *reason, const char *why, time_t now, int *added,
    struct mq_err *err);

/* Puts email on the suppression list with reason, inside the caller's
 * transaction: its pending messages in every campaign are cancelled and
 * its unfinished leads become 'unsubscribed'. *added = 0 when it was
 * already there (the first reason is kept). */
int mq_db_suppress(struct mq_db *db, const char *email, const char *reason,
    time_t now, int *added, struct mq_err *err);

#endif
