/*
 * What the fuzz targets share: reporting a broken property, cutting an
 * input into pieces, a scratch directory, and stores to run against.
 * A store is an in-memory SQLite database made once with the schema and
 * copied for every input (sqlite3_backup), so each input starts from the
 * same state at a small cost and no file is left behind.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

void fz_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("fuzz: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

void fz_split(struct fz_parts *p, const uint8_t *data, size_t size, int max)
{
	size_t i, n = size > 0 ? size - 1 : 0;

	memset(p, 0, sizeof *p);
	if (max > (int)(sizeof p->s / sizeof p->s[0]))
		max = (int)(sizeof p->s / sizeof p->s[0]);
	if ((p->buf = malloc(n + 1)) == NULL)
		fz_fail("out of memory");
	if (size > 0) {
		p->flags = data[0];
		memcpy(p->buf, data + 1, n);
	}
	p->buf[n] = '\0';
	p->s[p->n++] = p->buf;
	for (i = 0; i < n && p->n < max; i++)
		if (p->buf[i] == '\0')
			p->s[p->n++] = p->buf + i + 1;
}

void fz_parts_free(struct fz_parts *p)
{
	free(p->buf);
	p->buf = NULL;
}

static char dir[256];

static void remove_dir(void)
{
	char path[sizeof dir + 256];
	struct dirent *e;
	DIR *d;

	if (dir[0] == '\0' || (d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

const char *fz_dir(void)
{
	const char *tmp = getenv("TMPDIR");

	if (dir[0] != '\0')
		return dir;
	snprintf(dir, sizeof dir, "%s/mailq-fuzz.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		fz_fail("cannot make a scratch directory %s", dir);
	atexit(remove_dir);
	return dir;
}

static struct mq_db *open_memory(void)
{
	struct mq_err err;
	struct mq_db *db;

	if (mq_db_open(&db, ":memory:", MQ_DB_CREATE, &err) != MQ_OK)
		fz_fail("open a store: %s", err.msg);
	return db;
}

static struct mq_db *pristine(const char *setup)
{
	static struct mq_db *db;
	static const char *made_for;
	struct mq_err err;
	int from, to;

	if (db != NULL && made_for == setup)
		return db;
	mq_db_close(db);
	db = open_memory();
	made_for = setup;
	/* small pages make a small image: cheap to copy and to hash; the
	 * VACUUM leaves no free page for fz_db_hash to trip on */
	if (mq_db_exec(db, "PRAGMA page_size = 512", &err) != MQ_OK ||
	    mq_db_migrate(db, &from, &to, &err) != MQ_OK ||
	    (setup != NULL && mq_db_exec(db, setup, &err) != MQ_OK) ||
	    mq_db_exec(db, "VACUUM", &err) != MQ_OK)
		fz_fail("make a store: %s", err.msg);
	if (fz_db_int(db, "PRAGMA freelist_count") != 0)
		fz_fail("make a store: free pages left after VACUUM");
	return db;
}

struct mq_db *fz_db(const char *setup)
{
	struct mq_db *src = pristine(setup), *db = open_memory();
	sqlite3_backup *b;

	b = sqlite3_backup_init(db->h, "main", src->h, "main");
	if (b == NULL || sqlite3_backup_step(b, -1) != SQLITE_DONE ||
	    sqlite3_backup_finish(b) != SQLITE_OK)
		fz_fail("copy a store: %s", sqlite3_errmsg(db->h));
	return db;
}

/* The bytes of the database image: a rolled-back transaction restores
 * every page it journaled, and one that wrote nothing leaves them alone,
 * so equal images are the test of "nothing changed" (and cost no SQL).
 * A page that was free when the transaction began is the exception:
 * SQLite reuses it without journaling its old bytes, so a rollback
 * leaves them changed. The stores fz_db hands out have no free page
 * (pristine vacuums them), which keeps the exception out. */
uint64_t fz_db_hash(struct mq_db *db)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	sqlite3_int64 n = 0;
	unsigned char *p;

	if ((p = sqlite3_serialize(db->h, "main", &n, 0)) == NULL)
		fz_fail("hash: cannot serialize the store");
	for (sqlite3_int64 i = 0; i < n; i += 8) {   /* pages: 8 | n */
		uint64_t w;

		memcpy(&w, p + i, sizeof w);
		h = (h ^ w) * 0x100000001b3ULL;
		h ^= h >> 29;
	}
	sqlite3_free(p);
	return h;
}

long long fz_db_int(struct mq_db *db, const char *sql)
{
	sqlite3_stmt *st;
	long long v = 0;

	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK)
		fz_fail("%s: %s", sql, sqlite3_errmsg(db->h));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}
