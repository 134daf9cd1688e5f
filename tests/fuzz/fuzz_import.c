/*
 * Fuzz target: importing leads (lib/import.c, lib/db_import.c). The input
 * is a flags byte and a CSV file: flags choose the campaign (a draft one,
 * one whose leads overlap, a stopped one, none), --strict, a second
 * import of the same file, or --suppress (the file is then a suppression
 * list: plain, one address a line, or CSV). The store holds a lead already in the
 * campaign, one in another campaign, a suppressed address. The file is
 * read once by mq_import_read alone (the rows), then imported. The
 * properties: every row is counted once, as the rows and the store say
 * (first occurrence, suppression and membership worked out here); the
 * campaign gains exactly the imported leads, each with its row's fields;
 * a failed or strict-rejected import changes nothing; importing the same
 * file again imports nothing and changes nothing; a file without quotes
 * has one row per line that holds more than blanks. With --suppress: the
 * list gains exactly the added addresses, a refused or strict-rejected
 * list changes nothing, and a plain list is read one entry a line (LF,
 * CRLF or CR; blanks, '#' comments and a BOM skipped), each counted once.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sysexits.h>
#include <unistd.h>

#include "fuzz.h"
#include "import.h"
#include "text.h"

#define F_CAMPAIGN 0x03
#define F_STRICT   0x04
#define F_TWICE    0x08
#define F_SUPPRESS 0x10

static const char setup[] =
    "INSERT INTO sender (name, daily_limit) VALUES ('anna', 100);"
    "INSERT INTO campaign (name, sender_id, status, timezone, days, "
    " start_min, end_min, delay, jitter, daily_limit, buffer, "
    " retry_attempts, retry_backoff, created_at) VALUES"
    " ('q4', 1, 'draft', 'Europe/Warsaw', 31, 540, 1020, 90, 20, 500, 20,"
    "  3, '60,300,900', 0),"
    " ('q5', 1, 'running', 'Europe/Warsaw', 31, 540, 1020, 90, 20, 500,"
    "  20, 3, '60,300,900', 0),"
    " ('old', 1, 'stopped', 'Europe/Warsaw', 31, 540, 1020, 90, 20, 500,"
    "  20, 3, '60,300,900', 0);"
    "INSERT INTO lead (email, fields, created_at) VALUES"
    " ('Known@Example.com', '{\"first_name\":\"Kamil\"}', 0),"
    " ('other@example.com', '{\"first_name\":\"Ola\",\"city\":\"Kraków\"}',"
    "  0);"
    "INSERT INTO campaign_lead (campaign_id, lead_id, added_at, updated_at)"
    " VALUES (1, 1, 0, 0), (2, 2, 0, 0);"
    "INSERT INTO suppression VALUES ('Gone@Example.COM', 'bounced', 0);";

static const char *const campaigns[] = { "q4", "q5", "old", "nope" };
/* per campaign above: the address already in it */
static const char *const members[] = { "known@example.com",
    "other@example.com", NULL, NULL };

struct row {
	long  line;
	char *email;            /* NULL: rejected */
	char *fields;
};

struct rows {
	struct row *r;
	int         n, cap, rejected;
};

static int collect(void *arg, const struct mq_import_row *in,
    struct mq_err *err)
{
	struct rows *rs = arg;
	struct row *r;

	(void)err;
	if ((in->email == NULL) != (in->reject != NULL) ||
	    (in->email == NULL) != (in->fields == NULL))
		fz_fail("row %ld: email, fields and reject disagree", in->line);
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 64;
		if ((rs->r = realloc(rs->r, rs->cap * sizeof *rs->r)) == NULL)
			fz_fail("out of memory");
	}
	if (rs->n > 0 && in->line <= rs->r[rs->n - 1].line)
		fz_fail("row at line %ld after one at line %ld", in->line,
		    rs->r[rs->n - 1].line);
	if (in->line < 2)
		fz_fail("a data row on line %ld", in->line);
	r = &rs->r[rs->n++];
	r->line = in->line;
	r->email = in->email ? strdup(in->email) : NULL;
	r->fields = in->fields ? strdup(in->fields) : NULL;
	if (in->email != NULL && (r->email == NULL || r->fields == NULL))
		fz_fail("out of memory");
	rs->rejected += in->email == NULL;
	return MQ_OK;
}

static void rows_free(struct rows *rs)
{
	for (int i = 0; i < rs->n; i++) {
		free(rs->r[i].email);
		free(rs->r[i].fields);
	}
	free(rs->r);
}

/* Reads the file alone; returns the reader's result, err its message. */
static int read_rows(const char *path, struct rows *rs, struct mq_err *err)
{
	FILE *fp = fopen(path, "r");
	int rc;

	memset(rs, 0, sizeof *rs);
	if (fp == NULL)
		fz_fail("%s: cannot read back", path);
	mq_err_clear(err);
	rc = mq_import_read(fp, path, collect, rs, err);
	fclose(fp);
	return rc;
}

/* --- what the counts must be ------------------------------------------ */

static int same_address(const char *a, const char *b)
{
	for (; *a != '\0' && tolower((unsigned char)*a) ==
	    tolower((unsigned char)*b); a++, b++)
		;
	return *a == '\0' && *b == '\0';
}

static int earlier(const struct rows *rs, int i)
{
	for (int j = 0; j < i; j++)
		if (rs->r[j].email != NULL && same_address(rs->r[j].email,
		    rs->r[i].email))
			return 1;
	return 0;
}

/* imported, duplicate, suppressed as the rows say; marks in *added which
 * rows must have been added */
static void expect(const struct rows *rs, int campaign, long want[3],
    char *added)
{
	const char *member = members[campaign];

	want[0] = want[1] = want[2] = 0;
	for (int i = 0; i < rs->n; i++) {
		added[i] = 0;
		if (rs->r[i].email == NULL)
			continue;
		if (earlier(rs, i))
			want[1]++;
		else if (same_address(rs->r[i].email, "gone@example.com"))
			want[2]++;
		else if (member != NULL && same_address(rs->r[i].email, member))
			want[1]++;
		else
			want[0]++, added[i] = 1;
	}
}

/* Rows as the lines say, for a file without quotes: each line (LF, CRLF
 * or CR) that holds more than blanks, the header first; -1 when the
 * file has quotes or bytes whose handling is libcsv's business. */
static long lines_with_text(const uint8_t *s, size_t n)
{
	long rows = 0;
	int text = 0;
	size_t i = 0;

	if (n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	for (; i <= n; i++) {
		if (i == n || s[i] == '\n' || s[i] == '\r') {
			rows += text;
			text = 0;
		} else if (s[i] == '"' || s[i] == '\0') {
			return -1;
		} else if (s[i] != ' ' && s[i] != '\t') {
			text = 1;
		}
	}
	return rows - 1;
}

/* --- the properties ---------------------------------------------------- */

static void check_fields(struct mq_db *db, const struct rows *rs,
    const char *added)
{
	sqlite3_stmt *st;

	/* every row's fields are a JSON object of strings; an added
	 * row's are all in its lead, new values winning */
	if (sqlite3_prepare_v2(db->h, "SELECT json_valid(?1) AND "
	    "json_type(?1) = 'object' AND NOT EXISTS (SELECT 1 FROM "
	    "json_each(?1) WHERE type <> 'text'), NOT EXISTS (SELECT 1 FROM "
	    "json_each(?1) n WHERE n.value IS NOT (SELECT json_extract("
	    "l.fields, '$.' || n.key) FROM lead l WHERE l.email = ?2))",
	    -1, &st, NULL) != SQLITE_OK)
		fz_fail("prepare: %s", sqlite3_errmsg(db->h));
	for (int i = 0; i < rs->n; i++) {
		if (rs->r[i].email == NULL)
			continue;
		sqlite3_bind_text(st, 1, rs->r[i].fields, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, rs->r[i].email, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_ROW)
			fz_fail("check fields: %s", sqlite3_errmsg(db->h));
		if (sqlite3_column_int(st, 0) != 1)
			fz_fail("line %ld: fields %s are not a JSON object of "
			    "strings", rs->r[i].line, rs->r[i].fields);
		if (added[i] && sqlite3_column_int(st, 1) != 1)
			fz_fail("line %ld: fields %s not stored as given",
			    rs->r[i].line, rs->r[i].fields);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
}

static long long members_of(struct mq_db *db, int campaign)
{
	char sql[160];

	snprintf(sql, sizeof sql, "SELECT count(*) FROM campaign_lead WHERE "
	    "campaign_id = (SELECT id FROM campaign WHERE name = '%s')",
	    campaigns[campaign]);
	return fz_db_int(db, sql);
}

static int import(struct mq_db *db, const char *path, int campaign,
    int strict, struct mq_import_stats *st, struct mq_err *err)
{
	struct mq_import_opts o = { campaigns[campaign], path, strict, NULL,
	    NULL, NULL };

	mq_err_clear(err);
	return mq_import_run(db, &o, st, err);
}

/* The import in db of the file at path, against the rows read alone. */
static void check_import(struct mq_db *db, const char *path, unsigned flags,
    const struct rows *rs, int read_rc, const struct mq_err *read_err)
{
	int campaign = flags & F_CAMPAIGN, strict = (flags & F_STRICT) != 0;
	long long n0 = members_of(db, campaign);
	uint64_t before = fz_db_hash(db);
	struct mq_import_stats st;
	struct mq_err err;
	long want[3];
	char *added = calloc((size_t)rs->n + 1, 1);
	int rc;

	if (added == NULL)
		fz_fail("out of memory");
	rc = import(db, path, campaign, strict, &st, &err);
	if (campaign >= 2) {
		if (rc != MQ_PERM || err.ex != (campaign == 2 ? EX_DATAERR :
		    EX_NOINPUT))
			fz_fail("import into %s: rc %d", campaigns[campaign], rc);
	} else if (rc != read_rc || (rc != MQ_OK &&
	    strcmp(err.msg, read_err->msg) != 0)) {
		fz_fail("import: rc %d '%s', reading alone: rc %d '%s'", rc,
		    err.msg, read_rc, read_err->msg);
	}
	if (rc != MQ_OK || st.rolled_back) {
		if (fz_db_hash(db) != before)
			fz_fail("a failed import changed the store");
		if (st.rolled_back != (rc == MQ_OK && strict && st.rejected > 0))
			fz_fail("rolled_back is %d", st.rolled_back);
		goto out;
	}
	expect(rs, campaign, want, added);
	if (st.imported != want[0] || st.duplicate != want[1] ||
	    st.suppressed != want[2] || st.rejected != rs->rejected ||
	    st.imported + st.duplicate + st.suppressed + st.rejected != rs->n)
		fz_fail("counted %ld/%ld/%ld/%ld, want %ld/%ld/%ld/%d of %d "
		    "rows", st.imported, st.duplicate, st.suppressed,
		    st.rejected, want[0], want[1], want[2], rs->rejected, rs->n);
	if (members_of(db, campaign) != n0 + st.imported)
		fz_fail("the campaign gained %lld leads, not %ld",
		    members_of(db, campaign) - n0, st.imported);
	check_fields(db, rs, added);
	if (flags & F_TWICE) {
		before = fz_db_hash(db);
		rc = import(db, path, campaign, strict, &st, &err);
		if (rc != MQ_OK || st.imported != 0 ||
		    fz_db_hash(db) != before)
			fz_fail("a second import: rc %d, imported %ld", rc,
			    st.imported);
	}
out:
	free(added);
}

/* --- the suppression list ---------------------------------------------- */

struct entries {
	long n, bad, added;     /* entries, bad addresses, new to the list */
};

/* Counts one entry of a plain list; seen holds the earlier good ones. */
static void entry(struct entries *e, char *s, char ***seen)
{
	char *end = s + strlen(s);

	while (*s == ' ' || *s == '\t')
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	if (*s == '\0' || *s == '#')
		return;
	e->n++;
	if (mq_text_addr_problem(s) != NULL) {
		e->bad++;
		return;
	}
	if (same_address(s, "gone@example.com"))
		return;
	for (long i = 0; i < e->added; i++)
		if (same_address((*seen)[i], s))
			return;
	if ((*seen = realloc(*seen, (size_t)(e->added + 1) * sizeof **seen)) ==
	    NULL)
		fz_fail("out of memory");
	(*seen)[e->added++] = s;
}

/* Ends the line at s (LF, CRLF or CR); returns the next, or NULL. */
static char *next_line(char *s)
{
	char *p = s + strcspn(s, "\r\n");

	if (*p == '\0')
		return NULL;
	if (p[0] == '\r' && p[1] == '\n')
		*p++ = '\0';
	*p++ = '\0';
	return p;
}

/* Whether a first line makes the file CSV: a ',' or '"', or it is the
 * lone header "email". */
static int csv_header(const char *line)
{
	const char *p = line + strspn(line, " \t");
	size_t n = strlen(p);

	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	return strpbrk(p, ",\"") != NULL ||
	    (n == 5 && strncasecmp(p, "email", 5) == 0);
}

/* The entries of a plain list as the manual describes it; returns 0 when
 * the file is a CSV file instead, or holds a NUL. */
static int plain_list(const uint8_t *data, size_t size, struct entries *e)
{
	char *s = malloc(size + 1), *line, *next, **seen = NULL;
	int plain = memchr(data, '\0', size) == NULL, first = 1;

	if (s == NULL)
		fz_fail("out of memory");
	memcpy(s, data, size);
	s[size] = '\0';
	memset(e, 0, sizeof *e);
	line = size >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0 ? s + 3 : s;
	for (; plain && line != NULL; line = next) {
		next = next_line(line);
		if (first && line[strspn(line, " \t")] != '\0') {
			first = 0;
			plain = !csv_header(line);
		}
		if (plain)
			entry(e, line, &seen);
	}
	free(seen);
	free(s);
	return plain;
}

static void check_suppress(struct mq_db *db, const char *path, unsigned flags,
    const uint8_t *data, size_t size)
{
	struct mq_import_opts o = { NULL, path, (flags & F_STRICT) != 0, NULL,
	    NULL, "fuzz" };
	struct mq_import_stats st;
	struct mq_err err;
	struct entries e;
	const char *list = "SELECT count(*) FROM suppression";
	long long n0 = fz_db_int(db, list);
	uint64_t before = fz_db_hash(db);
	int rc, plain = plain_list(data, size, &e);

	mq_err_clear(&err);
	rc = mq_import_suppress(db, &o, &st, &err);
	if (rc != MQ_OK || st.rolled_back) {
		if (fz_db_hash(db) != before)
			fz_fail("a refused suppression list changed the store");
		if (st.rolled_back != (rc == MQ_OK && o.strict && st.rejected > 0))
			fz_fail("suppress: rolled_back is %d", st.rolled_back);
	} else if (fz_db_int(db, list) != n0 + st.imported) {
		fz_fail("suppress: the list gained %lld, not %ld",
		    fz_db_int(db, list) - n0, st.imported);
	}
	if (plain && (rc != MQ_OK || st.imported != e.added ||
	    st.rejected != e.bad ||
	    st.imported + st.duplicate + st.rejected != e.n))
		fz_fail("plain list: rc %d '%s', %ld/%ld/%ld, want %ld added, "
		    "%ld bad of %ld", rc, err.msg, st.imported, st.duplicate,
		    st.rejected, e.added, e.bad, e.n);
}

static const char *input_file(const uint8_t *data, size_t size)
{
	static char path[64];
	static int fd = -1;

	if (fd < 0) {
		if ((fd = memfd_create("leads.csv", 0)) < 0)
			fz_fail("memfd_create failed");
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) != 0 || (size > 0 &&
	    pwrite(fd, data, size, 0) != (ssize_t)size))
		fz_fail("cannot write the input");
	return path;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mq_db *db;
	struct mq_err err;
	struct rows rs;
	const char *path;
	long lines;
	int rc;

	if (size < 1 || size > 65536)
		return 0;
	setenv("MAILQ_NOW", "1795500000", 1);
	path = input_file(data + 1, size - 1);
	if (data[0] & F_SUPPRESS) {
		db = fz_db(setup);
		check_suppress(db, path, data[0], data + 1, size - 1);
		mq_db_close(db);
		return 0;
	}
	rc = read_rows(path, &rs, &err);
	lines = lines_with_text(data + 1, size - 1);
	if (rc == MQ_OK && lines >= 0 && lines != rs.n)
		fz_fail("%d rows from %ld lines with text", rs.n, lines);
	db = fz_db(setup);
	check_import(db, path, data[0], &rs, rc, &err);
	mq_db_close(db);
	rows_free(&rs);
	return 0;
}
