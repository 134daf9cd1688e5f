/*
 * Opening, transactions and schema versions of the store. schema.sql,
 * compiled in, is version 1 and stays as it is; each upgrade step
 * (upgrades/N.sql, compiled in too) takes one version to the next. A new database gets schema.sql and then
 * every step, an older one the steps it lacks, all in one transaction.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "db.h"

extern const char mq_schema_sql[];

/* upgrades/N.sql, compiled in: mq_upgrades_sql[i] takes version i + 1 to
 * i + 2; NULL after the last. Append, never edit. */
extern const char *const mq_upgrades_sql[];

static int n_upgrades(void)
{
	int n = 0;

	while (mq_upgrades_sql[n] != NULL)
		n++;
	return n;
}

int mq_db_schema_version(void)
{
	return 1 + n_upgrades();
}

int mq_db_fail(struct mq_db *db, int rc, const char *what, struct mq_err *err)
{
	const char *m = db != NULL && db->h != NULL ? sqlite3_errmsg(db->h) :
	    sqlite3_errstr(rc);
	const char *path = db != NULL ? db->path : "database";

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return mq_err_temp(err, "%s: %s: database is busy (%s)",
		    path, what, m);
	case SQLITE_FULL:
		return mq_err_temp(err, "%s: %s: disk full (%s)", path, what, m);
	case SQLITE_READONLY:
	case SQLITE_PERM:
		return mq_err_perm(err, EX_CANTCREAT,
		    "%s: %s: database is read-only (%s)", path, what, m);
	case SQLITE_CANTOPEN:
		return mq_err_perm(err, EX_NOINPUT, "%s: %s: cannot open (%s)",
		    path, what, m);
	case SQLITE_IOERR:
		return mq_err_perm(err, EX_IOERR, "%s: %s: I/O error (%s)",
		    path, what, m);
	case SQLITE_NOTADB:
		return mq_err_perm(err, EX_DATAERR,
		    "%s: %s: not a mailq database (%s)", path, what, m);
	case SQLITE_CORRUPT:
		return mq_err_perm(err, EX_DATAERR,
		    "%s: %s: the database is corrupt (%s)", path, what, m);
	case SQLITE_CONSTRAINT:
		return mq_err_perm(err, EX_DATAERR, "%s: %s: %s", path, what, m);
	default:
		return mq_err_perm(err, EX_SOFTWARE, "%s: %s: %s", path, what, m);
	}
}

int mq_db_exec(struct mq_db *db, const char *sql, struct mq_err *err)
{
	int rc = sqlite3_exec(db->h, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? MQ_OK : mq_db_fail(db, rc, "exec", err);
}

void mq_db_text(sqlite3_stmt *st, int i, char *buf, size_t len)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	snprintf(buf, len, "%s", s != NULL ? (const char *)s : "");
}

int mq_db_prepare(struct mq_db *db, const char *sql, sqlite3_stmt **st,
    struct mq_err *err)
{
	int rc = sqlite3_prepare_v2(db->h, sql, -1, st, NULL);

	return rc == SQLITE_OK ? MQ_OK : mq_db_fail(db, rc, "prepare", err);
}

int mq_db_vbind(sqlite3_stmt *st, const char *fmt, va_list ap)
{
	int n = sqlite3_bind_parameter_count(st), rc = SQLITE_OK;
	sqlite3_int64 v;
	const char *s;

	for (int i = 1; rc == SQLITE_OK && fmt[i - 1] != '\0'; i++) {
		switch (fmt[i - 1]) {
		case 'i':
			v = va_arg(ap, int);
			break;
		case 'I':
			v = va_arg(ap, sqlite3_int64);
			break;
		case 's':
			s = va_arg(ap, const char *);
			if (i <= n)
				rc = s == NULL ? sqlite3_bind_null(st, i) :
				    sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
			continue;
		default:
			return SQLITE_MISUSE;
		}
		if (i <= n)
			rc = sqlite3_bind_int64(st, i, v);
	}
	return rc;
}

int mq_db_bind(sqlite3_stmt *st, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = mq_db_vbind(st, fmt, ap);
	va_end(ap);
	return rc;
}

int mq_db_stmt(struct mq_db *db, const char *sql, sqlite3_stmt **st,
    struct mq_err *err)
{
	int i, rc;

	for (i = 0; i < MQ_DB_CACHE && db->cache_sql[i] != NULL; i++)
		if (db->cache_sql[i] == sql) {
			*st = db->cache_st[i];
			sqlite3_reset(*st);
			sqlite3_clear_bindings(*st);
			return MQ_OK;
		}
	rc = sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
	    NULL);
	if (rc != SQLITE_OK)
		return mq_db_fail(db, rc, "prepare", err);
	if (i < MQ_DB_CACHE) {
		db->cache_sql[i] = sql;
		db->cache_st[i] = *st;
	}
	return MQ_OK;   /* a full cache only costs speed */
}

void mq_db_release(struct mq_db *db, sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	for (int i = 0; i < MQ_DB_CACHE && db->cache_sql[i] != NULL; i++)
		if (db->cache_st[i] == st) {
			sqlite3_reset(st);
			return;
		}
	sqlite3_finalize(st);
}

int mq_db_vget(struct mq_db *db, struct mq_err *err, sqlite3_int64 *v,
    int *found, const char *sql, const char *fmt, va_list ap)
{
	sqlite3_stmt *st;
	int rc, sr;

	if ((rc = mq_db_stmt(db, sql, &st, err)) != MQ_OK)
		return rc;
	if ((sr = mq_db_vbind(st, fmt, ap)) == SQLITE_OK)
		sr = sqlite3_step(st);
	if (found != NULL)
		*found = sr == SQLITE_ROW;
	if (sr == SQLITE_ROW && v != NULL)
		*v = sqlite3_column_int64(st, 0);
	rc = sr == SQLITE_ROW || sr == SQLITE_DONE ? MQ_OK :
	    mq_db_fail(db, sr, "query", err);
	mq_db_release(db, st);
	return rc;
}

int mq_db_run(struct mq_db *db, struct mq_err *err, const char *sql,
    const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = mq_db_vget(db, err, NULL, NULL, sql, fmt, ap);
	va_end(ap);
	return rc;
}

int mq_db_get(struct mq_db *db, struct mq_err *err, sqlite3_int64 *v,
    int *found, const char *sql, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = mq_db_vget(db, err, v, found, sql, fmt, ap);
	va_end(ap);
	return rc;
}

static int user_version(struct mq_db *db, int *v, struct mq_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (mq_db_prepare(db, "PRAGMA user_version", &st, err) != MQ_OK)
		return mq_db_fail(db, sqlite3_errcode(db->h), "schema version", err);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? MQ_OK : mq_db_fail(db, rc, "schema version", err);
}

/* Whether the file is mailq's: *v is its schema version, and a file with
 * tables is mailq's only if it has the queue's three (a file without any
 * is an empty database, for mailq-init to fill). Reads only. */
static int identify(struct mq_db *db, int *v, struct mq_err *err)
{
	sqlite3_stmt *st;
	int rc, n = 0, ours = 0;

	if ((rc = user_version(db, v, err)) != MQ_OK)
		return rc;
	if (mq_db_prepare(db, "SELECT count(*), count(*) FILTER (WHERE type = "
	    "'table' AND name IN ('campaign', 'queue', 'send_log')) "
	    "FROM sqlite_schema", &st, err))
		return MQ_PERM;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		n = sqlite3_column_int(st, 0);
		ours = sqlite3_column_int(st, 1);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return mq_db_fail(db, rc, "read schema", err);
	if ((n > 0 || *v != 0) && ours != 3)
		return mq_err_perm(err, EX_DATAERR, "%s: not a mailq database",
		    db->path);
	return MQ_OK;
}

static int check_version(struct mq_db *db, struct mq_err *err)
{
	int v = 0, rc;

	if ((rc = identify(db, &v, err)) != MQ_OK)
		return rc;
	if (v == mq_db_schema_version())
		return MQ_OK;
	if (v == 0)
		return mq_err_perm(err, EX_CONFIG,
		    "%s: not initialised; run mailq-init", db->path);
	if (v < mq_db_schema_version())
		return mq_err_perm(err, EX_CONFIG,
		    "%s: schema version %d is older than %d; run mailq-init",
		    db->path, v, mq_db_schema_version());
	return mq_err_perm(err, EX_CONFIG,
	    "%s: schema version %d is newer than this mailq understands (%d)",
	    db->path, v, mq_db_schema_version());
}

/* WAL lets readers work while a tick writes. The -wal and -shm files are
 * kept after the last writer closes, so that a user who may read but not
 * write the directory can still read the database. */
static int use_wal(struct mq_db *db, struct mq_err *err)
{
	int on = 1, rc;

	rc = mq_db_exec(db, "PRAGMA journal_mode = WAL", err);
	if (rc == MQ_OK)
		rc = mq_db_exec(db, "PRAGMA synchronous = NORMAL", err);
	sqlite3_file_control(db->h, "main", SQLITE_FCNTL_PERSIST_WAL, &on);
	return rc;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Waits for a lock in short, even naps up to MQ_DB_BUSY_MS: the store's
 * write transactions hold it for a millisecond or two, and SQLite's own
 * timeout sleeps up to 100 ms at a time, which many threads waiting on
 * one another's data phases turn into seconds. */
static int busy_wait(void *p, int tries)
{
	struct mq_db *db = p;
	long long t = now_ms();

	if (tries == 0)
		db->busy_since = t;
	if (t - db->busy_since >= MQ_DB_BUSY_MS)
		return 0;
	nanosleep(&(struct timespec){ 0, (tries < 10 ? 200 : 2000) * 1000L },
	    NULL);
	return 1;
}

static int set_pragmas(struct mq_db *db, enum mq_db_mode mode,
    struct mq_err *err)
{
	int rc;

	sqlite3_busy_handler(db->h, busy_wait, db);
	rc = mq_db_exec(db, "PRAGMA foreign_keys = ON", err);
	if (rc != MQ_OK || mode == MQ_DB_RO)
		return rc;
	if (sqlite3_db_readonly(db->h, "main") == 1)
		return mq_err_perm(err, EX_CANTCREAT,
		    "%s: database is read-only", db->path);
	return MQ_OK;
}

int mq_db_open(struct mq_db **out, const char *path, enum mq_db_mode mode,
    struct mq_err *err)
{
	struct mq_db *db;
	int flags, rc;

	*out = NULL;
	if ((db = calloc(1, sizeof *db)) == NULL)
		return mq_err_perm(err, EX_OSERR, "out of memory");
	snprintf(db->path, sizeof db->path, "%s", path);
	if (mode != MQ_DB_CREATE && access(path, F_OK) != 0) {
		free(db);
		return mq_err_perm(err, EX_NOINPUT,
		    "%s: no database; run mailq-init", path);
	}
	flags = mode == MQ_DB_RO ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
	if (mode == MQ_DB_CREATE)
		flags |= SQLITE_OPEN_CREATE;
	rc = sqlite3_open_v2(path, &db->h, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		rc = mq_db_fail(db, rc, "open", err);
		if (mode == MQ_DB_CREATE && err != NULL && err->ex == EX_NOINPUT)
			err->ex = EX_CANTCREAT;
		goto fail;
	}
	/* Nothing is written before the file is known to be mailq's: WAL
	 * comes after the check (and for a new database, once it holds the
	 * schema: mq_db_migrate). */
	if ((rc = set_pragmas(db, mode, err)) != MQ_OK)
		goto fail;
	if (mode != MQ_DB_CREATE && (rc = check_version(db, err)) != MQ_OK)
		goto fail;
	if (mode == MQ_DB_RW && (rc = use_wal(db, err)) != MQ_OK)
		goto fail;
	*out = db;
	return MQ_OK;
fail:
	mq_db_close(db);
	return rc;
}

void mq_db_close(struct mq_db *db)
{
	if (db == NULL)
		return;
	for (int i = 0; i < MQ_DB_CACHE; i++)
		sqlite3_finalize(db->cache_st[i]);
	sqlite3_close_v2(db->h);
	free(db);
}

void mq_db_remove(const char *path)
{
	char aux[4096 + 8];

	unlink(path);
	snprintf(aux, sizeof aux, "%s-wal", path);
	unlink(aux);
	snprintf(aux, sizeof aux, "%s-shm", path);
	unlink(aux);
}

int mq_db_begin(struct mq_db *db, struct mq_err *err)
{
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	long long deadline = now_ms() + MQ_DB_BUSY_MS;
	int rc;

	if (db->depth > 0) {
		rc = sqlite3_exec(db->h, "SAVEPOINT mq", NULL, NULL, NULL);
		db->depth += rc == SQLITE_OK;
		return rc == SQLITE_OK ? MQ_OK : mq_db_fail(db, rc, "begin", err);
	}
	/* The busy handler waits inside each try; the loop covers a BUSY
	 * returned without it, and bounds the whole wait either way. */
	while ((rc = sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL,
	    NULL)) == SQLITE_BUSY && now_ms() < deadline)
		nanosleep(&pause, NULL);
	db->depth = rc == SQLITE_OK;
	return rc == SQLITE_OK ? MQ_OK : mq_db_fail(db, rc, "begin", err);
}

int mq_db_commit(struct mq_db *db, struct mq_err *err)
{
	int rc;

	rc = sqlite3_exec(db->h, db->depth > 1 ? "RELEASE mq" : "COMMIT", NULL,
	    NULL, NULL);
	if (rc == SQLITE_OK) {
		db->depth--;
		return MQ_OK;
	}
	rc = mq_db_fail(db, rc, "commit", err);
	mq_db_rollback(db);
	return rc;
}

void mq_db_rollback(struct mq_db *db)
{
	if (db->depth > 1) {
		sqlite3_exec(db->h, "ROLLBACK TO mq; RELEASE mq", NULL, NULL,
		    NULL);
		db->depth--;
		return;
	}
	if (!sqlite3_get_autocommit(db->h))
		sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
	db->depth = 0;
}

/* An upgrade may edit a table's text in sqlite_schema in place (6.sql),
 * which this connection, holding the schema it parsed before, would not
 * see: setting the schema cookie makes it read the schema again (SQLite
 * keeps the value less one in memory) as well as every other connection. */
static int reload_schema(struct mq_db *db, struct mq_err *err)
{
	sqlite3_int64 cookie = 0;
	char sql[64];
	int rc;

	rc = mq_db_get(db, err, &cookie, NULL, "PRAGMA schema_version", "");
	if (rc != MQ_OK)
		return rc;
	snprintf(sql, sizeof sql, "PRAGMA schema_version = %lld",
	    (long long)cookie + 1);
	return mq_db_exec(db, sql, err);
}

static int migrate_locked(struct mq_db *db, int *from, int *to,
    struct mq_err *err)
{
	int v = 0, rc;

	if ((rc = identify(db, &v, err)) != MQ_OK)
		return rc;
	*from = v;
	if (v > mq_db_schema_version())
		return check_version(db, err);
	if (v == 0) {
		if ((rc = mq_db_exec(db, mq_schema_sql, err)) != MQ_OK)
			return rc;
		v = 1;      /* schema.sql is version 1: then every upgrade */
	}
	for (int i = v - 1; i < n_upgrades(); i++)
		if ((rc = mq_db_exec(db, mq_upgrades_sql[i], err)) != MQ_OK)
			return rc;
	if (v - 1 < n_upgrades() && (rc = reload_schema(db, err)) != MQ_OK)
		return rc;
	if ((rc = user_version(db, to, err)) != MQ_OK)
		return rc;
	if (*to != mq_db_schema_version())
		return mq_err_perm(err, EX_SOFTWARE,
		    "%s: schema upgrade ended at version %d, not %d",
		    db->path, *to, mq_db_schema_version());
	return MQ_OK;
}

int mq_db_migrate(struct mq_db *db, int *from, int *to, struct mq_err *err)
{
	int rc;

	if ((rc = mq_db_begin(db, err)) != MQ_OK)
		return rc;
	rc = migrate_locked(db, from, to, err);
	if (rc == MQ_OK && (rc = mq_db_commit(db, err)) == MQ_OK)
		return use_wal(db, err);
	mq_db_rollback(db);
	return rc;
}

int mq_db_rows(struct mq_db *db, const char *sql, sqlite3_int64 id,
    int limit, size_t size, mq_db_row_fn read, void **out, int *n,
    struct mq_err *err)
{
	sqlite3_stmt *st;
	char *v = NULL, *more;
	int cap = 0, rc, sr;

	*out = NULL;
	*n = 0;
	if ((rc = mq_db_stmt(db, sql, &st, err)) != MQ_OK)
		return rc;
	mq_db_bind(st, "Ii", id, limit);
	while ((sr = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((more = realloc(v, cap * size)) == NULL)
				break;
			v = more;
		}
		memset(v + *n * size, 0, size);
		read(st, v + (*n)++ * size);
	}
	if (sr == SQLITE_ROW)
		rc = mq_err_perm(err, EX_OSERR, "out of memory");
	else if (sr != SQLITE_DONE)
		rc = mq_db_fail(db, sr, "read rows", err);
	mq_db_release(db, st);
	*out = v;
	return rc;
}
