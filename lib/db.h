/*
 * The store: one SQLite file opened in WAL mode with a busy timeout and
 * foreign keys on. Write transactions are short and start with BEGIN
 * IMMEDIATE, retried while the database is busy; no network I/O ever
 * happens inside one. All SQL of mailq lives in lib/db*.c.
 */
#ifndef MQ_DB_H
#define MQ_DB_H

#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>

#include "err.h"

enum mq_db_mode {
	MQ_DB_RW,       /* existing database at the current schema version */
	MQ_DB_RO,       /* the same, read-only: never takes a write lock */
	MQ_DB_CREATE    /* create if missing; the caller runs mq_db_migrate */
};

#define MQ_DB_CACHE 48

struct mq_db {
	sqlite3      *h;
	char          path[4096];
	const char   *cache_sql[MQ_DB_CACHE];   /* statements by their SQL text */
	sqlite3_stmt *cache_st[MQ_DB_CACHE];
	int           depth;                    /* open transactions */
	long long     busy_since;               /* ms, while waiting for a lock */
};

/* How long one statement or BEGIN IMMEDIATE waits for a lock, in ms. */
#define MQ_DB_BUSY_MS 5000

/* Opens path into *db (caller frees with mq_db_close). MQ_PERM with
 * EX_NOINPUT if missing, EX_CANTCREAT if read-only where writing is needed,
 * EX_CONFIG if the schema is not at this version (run mailq-init);
 * MQ_TEMP if busy. */
int mq_db_open(struct mq_db **db, const char *path, enum mq_db_mode mode,
    struct mq_err *err);

/* Closes and frees db; NULL is fine. */
void mq_db_close(struct mq_db *db);

/* Removes a database file and its -wal and -shm files (after a failed
 * creation). */
void mq_db_remove(const char *path);

/* The schema version this build writes. */
int mq_db_schema_version(void);

/* Creates the schema in an empty database or upgrades an older one, in one
 * transaction. *from and *to get the versions before and after. */
int mq_db_migrate(struct mq_db *db, int *from, int *to, struct mq_err *err);

/* BEGIN IMMEDIATE, retried on SQLITE_BUSY up to a bounded wait; MQ_TEMP
 * when still busy. Inside an open transaction it opens a savepoint
 * instead, so that a dry run can wrap several steps in one transaction
 * and roll all of them back. */
int mq_db_begin(struct mq_db *db, struct mq_err *err);

/* COMMIT; on failure rolls back and returns MQ_TEMP or MQ_PERM. */
int mq_db_commit(struct mq_db *db, struct mq_err *err);

/* ROLLBACK if a transaction is open; never fails. */
void mq_db_rollback(struct mq_db *db);

/* Runs SQL without results. */
int mq_db_exec(struct mq_db *db, const char *sql, struct mq_err *err);

/* Prepares sql into *st. */
int mq_db_prepare(struct mq_db *db, const char *sql, sqlite3_stmt **st,
    struct mq_err *err);

/* A prepared statement for sql, kept for the life of db: sql must be a
 * string constant (it is looked up by address). It comes back reset with
 * its bindings cleared. Give it back with mq_db_release, never finalize. */
int mq_db_stmt(struct mq_db *db, const char *sql, sqlite3_stmt **st,
    struct mq_err *err);

/* Resets st (from mq_db_stmt), so it holds no lock; NULL is fine. */
void mq_db_release(struct mq_db *db, sqlite3_stmt *st);

/* Runs the cached statement sql, bound from fmt (see mq_db_bind), to
 * completion. sqlite3_changes(db->h) tells how many rows it changed. */
int mq_db_run(struct mq_db *db, struct mq_err *err, const char *sql,
    const char *fmt, ...);

/* Runs the cached statement sql bound from fmt and stores its first row's
 * first column in *v (when there is a row). *found (may be NULL) says
 * whether there was one. */
int mq_db_get(struct mq_db *db, struct mq_err *err, sqlite3_int64 *v,
    int *found, const char *sql, const char *fmt, ...);

/* mq_db_get with a va_list. */
int mq_db_vget(struct mq_db *db, struct mq_err *err, sqlite3_int64 *v,
    int *found, const char *sql, const char *fmt, va_list ap);

/* Binds values to st from parameter 1 on, one per letter of fmt:
 * 'i' int, 'I' sqlite3_int64, 's' const char * (NULL binds NULL). Returns a
 * SQLite result code. */
int mq_db_bind(sqlite3_stmt *st, const char *fmt, ...);

/* Runs the cached statement sql with ?1 = id and ?2 = limit (either may
 * go unused) and appends one element of size bytes per row, zeroed, then
 * filled by read, to *out (malloc'd; the caller frees it), *n of them. */
typedef void (*mq_db_row_fn)(sqlite3_stmt *st, void *elem);
int mq_db_rows(struct mq_db *db, const char *sql, sqlite3_int64 id,
    int limit, size_t size, mq_db_row_fn read, void **out, int *n,
    struct mq_err *err);

/* The same with a va_list. Values past the statement's last parameter are
 * skipped, so one list can feed statements that use a prefix of it. */
int mq_db_vbind(sqlite3_stmt *st, const char *fmt, va_list ap);

/* Copies column i of st's current row into buf as text ("" for NULL),
 * cut to len. */
void mq_db_text(sqlite3_stmt *st, int i, char *buf, size_t len);

/* Turns a SQLite result code into MQ_TEMP (busy, locked, full) or MQ_PERM
 * with a fitting exit code, with "what: sqlite message" in err. */
int mq_db_fail(struct mq_db *db, int rc, const char *what, struct mq_err *err);

#endif
