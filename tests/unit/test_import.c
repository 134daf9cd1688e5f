/* Unit tests for the lead importer: lib/import.c and lib/db_import.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "db.h"
#include "import.h"
#include "text.h"

#define MAXROWS 32

struct got {
	int  n;
	long line[MAXROWS];
	char email[MAXROWS][128];
	char fields[MAXROWS][512];
	char reject[MAXROWS][512];
	int  stop_at;           /* fail on this row (1-based), 0: never */
};

static int collect(void *arg, const struct mq_import_row *row,
    struct mq_err *err)
{
	struct got *g = arg;
	int i = g->n++;

	assert_true(i < MAXROWS);
	g->line[i] = row->line;
	snprintf(g->email[i], sizeof g->email[i], "%s",
	    row->email ? row->email : "");
	snprintf(g->fields[i], sizeof g->fields[i], "%s",
	    row->fields ? row->fields : "");
	snprintf(g->reject[i], sizeof g->reject[i], "%s",
	    row->reject ? row->reject : "");
	assert_true((row->reject == NULL) == (row->email != NULL));
	if (g->stop_at == g->n)
		return mq_err_temp(err, "stop");
	return MQ_OK;
}

static int read_mem(const char *csv, size_t len, struct got *g,
    struct mq_err *err)
{
	FILE *fp = fmemopen((void *)(uintptr_t)csv, len, "r");
	int rc;

	assert_non_null(fp);
	memset(g, 0, sizeof *g);
	mq_err_clear(err);
	rc = mq_import_read(fp, "t.csv", collect, g, err);
	fclose(fp);
	return rc;
}

static int read_str(const char *csv, struct got *g, struct mq_err *err)
{
	return read_mem(csv, strlen(csv), g, err);
}

static void test_names(void **state)
{
	(void)state;
	assert_true(mq_import_name_ok("first_name"));
	assert_true(mq_import_name_ok("_x9"));
	assert_true(mq_import_name_ok("Company"));
	assert_false(mq_import_name_ok(""));
	assert_false(mq_import_name_ok("9lives"));
	assert_false(mq_import_name_ok("first name"));
	assert_false(mq_import_name_ok("first-name"));
	assert_false(mq_import_name_ok("imi\xc4\x99"));
}

static void test_quote(void **state)
{
	char buf[64], small[12];

	(void)state;
	assert_string_equal(mq_import_quote(buf, sizeof buf, "a\"b\\c\r\nd\x01",
	    9), "\"a\\\"b\\\\c\\x0d\\x0ad\\x01\"");
	assert_string_equal(mq_import_quote(buf, sizeof buf, "ż", 2), "\"ż\"");
	assert_string_equal(mq_import_quote(small, sizeof small, "abcdefghijkl",
	    12), "\"abcdef...\"");
	/* A cut never leaves half of a two-byte character. */
	assert_string_equal(mq_import_quote(small, sizeof small, "abcdeżżż",
	    11), "\"abcde...\"");
	assert_int_equal(mq_text_utf8_ok(small, strlen(small)), 1);
}

static void test_read_basic(void **state)
{
	struct mq_err err;
	struct got g;
	const char *csv =
	    "\xef\xbb\xbf" " Email , first_name,company\r\n"
	    "zofia@example.com,Zofia,\"Wójcik, Syn i S-ka\"\r\n"
	    "\r\n"
	    "   \n"
	    " lukasz@example.org ,\"Łukasz \"\"Łuki\"\"\",\"two\nlines\"\n"
	    "back\\slash@example.net,\"tab\there\",x\n"
	    "last@example.com,Ostatni,\"\"";

	(void)state;
	assert_int_equal(read_str(csv, &g, &err), MQ_OK);
	assert_int_equal(g.n, 4);
	assert_int_equal(g.line[0], 2);
	assert_string_equal(g.email[0], "zofia@example.com");
	assert_string_equal(g.fields[0],
	    "{\"first_name\":\"Zofia\",\"company\":\"Wójcik, Syn i S-ka\"}");
	assert_int_equal(g.line[1], 5);
	/* A line break inside a quoted field is refused: header injection. */
	assert_string_equal(g.reject[1],
	    "line break (CR or LF) in column 'company'");
	assert_int_equal(g.line[2], 7);
	assert_string_equal(g.reject[2], "invalid email address "
	    "\"back\\\\slash@example.net\": character not allowed in the "
	    "local part");
	assert_int_equal(g.line[3], 8);
	assert_string_equal(g.fields[3],
	    "{\"first_name\":\"Ostatni\",\"company\":\"\"}");
}

/* A lone CR ends a line as it ends a record (Excel for the Mac writes
 * CR): rows are reported on their own lines, and a CRLF split between two
 * reads is still one line end. */
static void test_read_cr_lines(void **state)
{
	struct mq_err err;
	struct got g;
	size_t k = 65536 - 1 - 6, n;
	char *csv;

	(void)state;
	assert_int_equal(read_str("email,x\rbad@,1\rb@example.com,2\r\r"
	    "c@example.com,3\n\rd@example.com,\"x\ry\"\r\ne@example.com,5",
	    &g, &err), MQ_OK);
	assert_int_equal(g.n, 5);
	assert_int_equal(g.line[0], 2);
	assert_string_equal(g.reject[0],
	    "invalid email address \"bad@\": no domain");
	assert_int_equal(g.line[1], 3);
	assert_int_equal(g.line[2], 5);
	assert_int_equal(g.line[3], 7);
	assert_int_equal(g.line[4], 9);

	/* the header's CR is the last byte of the first read, its LF the
	 * first of the next */
	n = 6 + k + 2 + 15;
	csv = malloc(n + 1);
	assert_non_null(csv);
	memcpy(csv, "email,", 6);
	memset(csv + 6, 'c', k);
	memcpy(csv + 6 + k, "\r\nx@example.com,1", 2 + 15 + 1);
	assert_int_equal(read_mem(csv, n, &g, &err), MQ_OK);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.line[0], 2);
	free(csv);
}

static void test_read_json_escaping(void **state)
{
	struct mq_err err;
	struct got g;
	const char *csv = "note,email\n"
	    "\"say \"\"hi\"\" \\ back\tslash ż\",a@example.com\n";

	(void)state;
	assert_int_equal(read_str(csv, &g, &err), MQ_OK);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.fields[0],
	    "{\"note\":\"say \\\"hi\\\" \\\\ back\\tslash ż\"}");
}

static void test_read_rejects(void **state)
{
	struct mq_err err;
	struct got g;
	const char csv[] = "email,name\n"
	    "a@example.com\n"                               /* 2 */
	    "b@example.com,x,y\n"                           /* 3 */
	    "c@example.com,\xc3\x28\n"                      /* 4 */
	    "\"x\r\nBcc: y@z.com\",n\n"                     /* 5 */
	    "d@example.com,bell\x07\n"                      /* 7 */
	    " ,empty\n"                                     /* 8 */
	    "zofia@w\xc3\xb3jcik.pl,z\n"                    /* 9 */
	    "not-an-address,n\n"                            /* 10 */
	    "e@example.com,nul\0byte\n"                     /* 11 */
	    "f@example.com,c1\xc2\x85\n"                    /* 12 */
	    "ok@example.com,fine\n";                        /* 13 */

	(void)state;
	assert_int_equal(read_mem(csv, sizeof csv - 1, &g, &err), MQ_OK);
	assert_int_equal(g.n, 11);
	assert_int_equal(g.line[0], 2);
	assert_string_equal(g.reject[0], "wrong number of fields: 1, expected 2");
	assert_int_equal(g.line[1], 3);
	assert_string_equal(g.reject[1], "wrong number of fields: 3, expected 2");
	assert_int_equal(g.line[2], 4);
	assert_string_equal(g.reject[2], "invalid UTF-8 in column 'name'");
	assert_int_equal(g.line[3], 5);
	assert_string_equal(g.reject[3],
	    "line break (CR or LF) in column 'email'");
	assert_int_equal(g.line[4], 7);
	assert_string_equal(g.reject[4], "control character in column 'name'");
	assert_int_equal(g.line[5], 8);
	assert_string_equal(g.reject[5], "empty email");
	assert_int_equal(g.line[6], 9);
	assert_string_equal(g.reject[6], "non-ASCII address not supported: "
	    "\"zofia@w\xc3\xb3jcik.pl\"");
	assert_int_equal(g.line[7], 10);
	assert_string_equal(g.reject[7],
	    "invalid email address \"not-an-address\": no @");
	assert_string_equal(g.reject[8], "control character in column 'name'");
	assert_string_equal(g.reject[9], "control character in column 'name'");
	assert_int_equal(g.line[10], 13);
	assert_string_equal(g.email[10], "ok@example.com");
	assert_string_equal(g.reject[10], "");
}

/* Lines are counted as the parser ends them: LF, CRLF and a lone CR (old
 * Mac files) each end one; a CRLF split across the reader's 64 KiB
 * buffer is still one. */
static void test_read_line_ends(void **state)
{
	static const char *const ends[] = { "\n", "\r\n", "\r" };
	struct mq_err err;
	struct got g;
	char csv[256], *big;
	size_t n, pad;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		const char *e = ends[i];

		snprintf(csv, sizeof csv, "email,name%sa@example.com,A%s%s"
		    "bad-address,B%s\"x\",C%sz@example.com,\"two%slines\"%s",
		    e, e, e, e, e, e, e);
		assert_int_equal(read_str(csv, &g, &err), MQ_OK);
		assert_int_equal(g.n, 4);
		assert_int_equal(g.line[0], 2);
		assert_int_equal(g.line[1], 4);
		assert_string_equal(g.reject[1],
		    "invalid email address \"bad-address\": no @");
		assert_int_equal(g.line[2], 5);
		assert_int_equal(g.line[3], 6);
	}
	/* a CRLF whose CR ends the first buffer */
	pad = 65536 - strlen("email,name\r\n") - strlen(",x\r");
	n = strlen("email,name\r\n") + pad + strlen(",x\r\nbad,y\r\n");
	assert_non_null(big = malloc(n + 1));
	strcpy(big, "email,name\r\n");
	memset(big + strlen(big), 'a', pad);
	memcpy(big + 12, "@", 1);
	strcpy(big + strlen("email,name\r\n") + pad, ",x\r\nbad,y\r\n");
	assert_int_equal(read_mem(big, n, &g, &err), MQ_OK);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.line[0], 2);
	assert_int_equal(g.line[1], 3);
	assert_string_equal(g.reject[1], "invalid email address \"bad\": no @");
	free(big);
}

static void test_read_file_errors(void **state)
{
	static const struct { const char *csv, *msg; } cases[] = {
		{ "", "t.csv:1: empty file: no header line" },
		{ "\n\r\n  \n", "t.csv:1: empty file: no header line" },
		{ "name,company\nx,y\n", "t.csv:1: header: no email column" },
		{ "\n\nemail,first name\n",
		  "t.csv:3: header column 2: bad field name \"first name\": use "
		  "letters, digits and _, not starting with a digit" },
		{ "email,a,A\n", "t.csv:1: header column 3: field name 'A' "
		  "repeats column 2" },
		{ "email,x,EMAIL\n", "t.csv:1: header column 3: a second email "
		  "column" },
		{ "email,\n", "t.csv:1: header column 2: bad field name \"\": use "
		  "letters, digits and _, not starting with a digit" },
		{ "email,name\na@example.com,ok\nb@example.com,\"open\nstill\n",
		  "t.csv:3: unterminated quoted field" },
		{ "email,name\na@example.com,ok\nb@example.com,x\"y\n",
		  "t.csv:3: bad quoting: a quote inside an unquoted field, or "
		  "text after a closing quote" },
		{ "email,name\na@example.com,\"ok\"x\n",
		  "t.csv:2: bad quoting: a quote inside an unquoted field, or "
		  "text after a closing quote" },
	};
	struct mq_err err;
	struct got g;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		assert_int_equal(read_str(cases[i].csv, &g, &err), MQ_PERM);
		assert_int_equal(err.ex, EX_DATAERR);
		assert_string_equal(err.msg, cases[i].msg);
	}
}

static void test_read_stops_on_callback(void **state)
{
	struct mq_err err;
	struct got g;
	FILE *fp;
	const char *csv = "email\na@example.com\nb@example.com\nc@example.com\n";

	(void)state;
	fp = fmemopen((void *)(uintptr_t)csv, strlen(csv), "r");
	memset(&g, 0, sizeof g);
	g.stop_at = 2;
	assert_int_equal(mq_import_read(fp, "t.csv", collect, &g, &err),
	    MQ_TEMP);
	fclose(fp);
	assert_int_equal(g.n, 2);
	assert_string_equal(err.msg, "stop");
}

static void test_read_long_field(void **state)
{
	struct mq_err err;
	struct got g;
	size_t n = 2 * 1024 * 1024;
	char *csv = malloc(n + 64);

	(void)state;
	assert_non_null(csv);
	strcpy(csv, "email,x\na@example.com,\"");
	memset(csv + strlen(csv), 'z', n);
	csv[n + 23] = '\0';
	assert_int_equal(read_str(csv, &g, &err), MQ_PERM);
	assert_string_equal(err.msg, "t.csv:2: field longer than 1048576 bytes "
	    "(an unterminated quote?)");
	free(csv);
}

/* --- the store side, through mq_import_run ------------------------- */

struct fixture {
	char          dir[256];
	char          db_path[300];
	char          csv[300];
	struct mq_db *db;
	int           notes;
	char          last_note[256];
};

static void on_note(void *arg, const char *file, long line,
    enum mq_import_kind kind, const char *text)
{
	struct fixture *fx = arg;

	(void)kind;
	fx->notes++;
	snprintf(fx->last_note, sizeof fx->last_note, "%s:%ld: %s",
	    strrchr(file, '/') + 1, line, text);
}

static int setup_db(void **state)
{
	struct fixture *fx = calloc(1, sizeof *fx);
	const char *tmp = getenv("TMPDIR");
	struct mq_err err;
	int from, to;

	assert_non_null(fx);
	snprintf(fx->dir, sizeof fx->dir, "%s/mailq-test-import.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->db_path, sizeof fx->db_path, "%s/t.db", fx->dir);
	snprintf(fx->csv, sizeof fx->csv, "%s/leads.csv", fx->dir);
	assert_int_equal(mq_db_open(&fx->db, fx->db_path, MQ_DB_CREATE, &err),
	    MQ_OK);
	assert_int_equal(mq_db_migrate(fx->db, &from, &to, &err), MQ_OK);
	assert_int_equal(mq_db_exec(fx->db,
	    "INSERT INTO sender (name, daily_limit) VALUES ('anna', 100);"
	    "INSERT INTO campaign (name, sender_id, timezone, days, start_min,"
	    " end_min, delay, jitter, daily_limit, buffer, retry_attempts,"
	    " retry_backoff, created_at) VALUES"
	    " ('q4', 1, 'Europe/Warsaw', 31, 540, 1020, 90, 20, 500, 20, 3,"
	    "  '60,300,900', 0),"
	    " ('q5', 1, 'Europe/Warsaw', 31, 540, 1020, 90, 20, 500, 20, 3,"
	    "  '60,300,900', 0);", &err), MQ_OK);
	setenv("MAILQ_NOW", "1795500000", 1);
	*state = fx;
	return 0;
}

static int teardown_db(void **state)
{
	struct fixture *fx = *state;
	char path[320];

	mq_db_close(fx->db);
	unlink(fx->csv);
	unlink(fx->db_path);
	snprintf(path, sizeof path, "%s-wal", fx->db_path);
	unlink(path);
	snprintf(path, sizeof path, "%s-shm", fx->db_path);
	unlink(path);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static void write_csv(struct fixture *fx, const char *text)
{
	FILE *fp = fopen(fx->csv, "w");

	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

static int run_import(struct fixture *fx, const char *campaign, int strict,
    struct mq_import_stats *st, struct mq_err *err)
{
	struct mq_import_opts o = { campaign, fx->csv, strict, on_note, fx,
	    NULL };

	mq_err_clear(err);
	return mq_import_run(fx->db, &o, st, err);
}

/* One value from the database, as text. */
static void query(struct fixture *fx, const char *sql, char *out, size_t n)
{
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_prepare_v2(fx->db->h, sql, -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

static void assert_query(struct fixture *fx, const char *sql, const char *want)
{
	char got[512];

	query(fx, sql, got, sizeof got);
	assert_string_equal(got, want);
}

static int run_suppress(struct fixture *fx, const char *reason,
    struct mq_import_stats *st, struct mq_err *err)
{
	struct mq_import_opts o = { NULL, fx->csv, 0, on_note, fx, reason };

	mq_err_clear(err);
	return mq_import_suppress(fx->db, &o, st, err);
}

static void test_suppress(void **state)
{
	struct fixture *fx = *state;
	struct mq_import_stats st;
	struct mq_err err;

	write_csv(fx, "email,first_name\nzofia@example.com,Zofia\n"
	    "jan@example.com,Jan\n");
	assert_int_equal(run_import(fx, "q4", 0, &st, &err), MQ_OK);
	assert_int_equal(run_import(fx, "q5", 0, &st, &err), MQ_OK);
	assert_int_equal(mq_db_exec(fx->db, "INSERT INTO queue (campaign_id, "
	    "lead_id, step, scheduled_at, updated_at) VALUES (1, 1, 0, 0, 0), "
	    "(2, 2, 0, 0, 0)", &err), MQ_OK);
	/* a plain list: blanks, comments, spaces, CRLF, a bad line */
	write_csv(fx, "# opt-outs\n\n  ZOFIA@example.com \r\nnot-an-address\n"
	    "zofia@example.com\nold@example.net\n");
	assert_int_equal(run_suppress(fx, "asked by phone", &st, &err), MQ_OK);
	assert_int_equal(st.imported, 2);
	assert_int_equal(st.duplicate, 1);
	assert_int_equal(st.rejected, 1);
	assert_string_equal(strchr(fx->last_note, ':'), ":4: \"not-an-address\": "
	    "no @");
	assert_query(fx, "SELECT group_concat(email || '=' || reason, ' ') "
	    "FROM (SELECT * FROM suppression ORDER BY email)",
	    "old@example.net=asked by phone ZOFIA@example.com=asked by phone");
	assert_query(fx, "SELECT group_concat(status, ' ') FROM (SELECT "
	    "status FROM campaign_lead WHERE lead_id = 1 ORDER BY campaign_id)",
	    "unsubscribed unsubscribed");
	assert_query(fx, "SELECT status || ' ' || last_error FROM queue WHERE "
	    "lead_id = 1", "cancelled suppressed");
	assert_query(fx, "SELECT status FROM queue WHERE lead_id = 2",
	    "pending");
	/* a CSV file with an email column; the default reason */
	write_csv(fx, "name,email\nJan,jan@example.com\nX,zofia@example.com\n");
	assert_int_equal(run_suppress(fx, NULL, &st, &err), MQ_OK);
	assert_int_equal(st.imported, 1);
	assert_int_equal(st.duplicate, 1);
	assert_query(fx, "SELECT reason FROM suppression WHERE email = "
	    "'jan@example.com'", "imported");
	assert_query(fx, "SELECT status FROM queue WHERE lead_id = 2",
	    "cancelled");
	/* new imports skip them */
	write_csv(fx, "email\njan@example.com\n");
	assert_int_equal(run_import(fx, "q4", 0, &st, &err), MQ_OK);
	assert_int_equal(st.suppressed, 1);
	write_csv(fx, "email\n");
	unlink(fx->csv);
	assert_int_equal(run_suppress(fx, NULL, &st, &err), MQ_PERM);
	assert_int_equal(err.ex, EX_NOINPUT);
}

/* A plain list is read like a lead file: LF, CRLF or CR, a BOM, lines
 * of any length; a first address that starts with "email" is no header. */
static void test_suppress_plain_lines(void **state)
{
	struct fixture *fx = *state;
	struct mq_import_stats st;
	struct mq_err err;
	char *text;

	(void)state;
	write_csv(fx, "email.team@example.com\nemily@example.com\n");
	assert_int_equal(run_suppress(fx, NULL, &st, &err), MQ_OK);
	assert_int_equal(st.imported, 2);
	write_csv(fx, "\xef\xbb\xbf" "bob@example.com\r\nann@example.com");
	assert_int_equal(run_suppress(fx, NULL, &st, &err), MQ_OK);
	assert_int_equal(st.imported, 2);
	assert_int_equal(st.rejected, 0);
	write_csv(fx, "c@example.com\rnot-an-address\r\r# d\re@example.com\r");
	assert_int_equal(run_suppress(fx, NULL, &st, &err), MQ_OK);
	assert_int_equal(st.imported, 2);
	assert_int_equal(st.rejected, 1);
	assert_string_equal(strchr(fx->last_note, ':'),
	    ":2: \"not-an-address\": no @");
	/* a long line is one entry, its tail no address of its own */
	assert_non_null(text = malloc(2100));
	memset(text, 'x', 2000);
	strcpy(text + 2000, "f@example.com\ng@example.com\n");
	write_csv(fx, text);
	free(text);
	assert_int_equal(run_suppress(fx, NULL, &st, &err), MQ_OK);
	assert_int_equal(st.imported, 1);
	assert_int_equal(st.rejected, 1);
	assert_query(fx, "SELECT count(*) FROM suppression WHERE email = "
	    "'f@example.com'", "0");
	/* the lone header "email" still makes a CSV file */
	write_csv(fx, " Email \nkasia@example.com\n");
	assert_int_equal(run_suppress(fx, NULL, &st, &err), MQ_OK);
	assert_int_equal(st.imported, 1);
	assert_int_equal(st.rejected, 0);
}

static void test_run_import(void **state)
{
	struct fixture *fx = *state;
	struct mq_import_stats st;
	struct mq_err err;

	mq_db_exec(fx->db, "INSERT INTO suppression VALUES "
	    "('Gone@Example.com', 'bounced', 0)", &err);
	write_csv(fx, "email,first_name,company\n"
	    "zofia@example.com,Zofia,\"Wójcik \"\"&\"\" Syn\"\n"
	    "ZOFIA@example.com,Zośka,dup\n"
	    "gone@example.com,G,x\n"
	    "bad@,B,x\n"
	    "lukasz@example.org,\"Łukasz\",\"back\\slash\"\n");
	assert_int_equal(run_import(fx, "q4", 0, &st, &err), MQ_OK);
	assert_int_equal(st.imported, 2);
	assert_int_equal(st.duplicate, 1);
	assert_int_equal(st.suppressed, 1);
	assert_int_equal(st.rejected, 1);
	assert_int_equal(st.rolled_back, 0);
	assert_int_equal(fx->notes, 3);
	assert_query(fx, "SELECT count(*) FROM lead", "2");
	assert_query(fx, "SELECT count(*) FROM campaign_lead WHERE "
	    "campaign_id = 1 AND status = 'queued' AND added_at = 1795500000",
	    "2");
	assert_query(fx, "SELECT fields ->> '$.company' FROM lead "
	    "WHERE email = 'zofia@example.com'", "Wójcik \"&\" Syn");
	assert_query(fx, "SELECT fields ->> '$.company' FROM lead "
	    "WHERE email = 'lukasz@example.org'", "back\\slash");
	assert_query(fx, "SELECT fields ->> '$.first_name' FROM lead "
	    "WHERE email = 'ZOFIA@EXAMPLE.COM'", "Zofia");

	/* Again: everything already there, nothing changes. */
	fx->notes = 0;
	assert_int_equal(run_import(fx, "q4", 0, &st, &err), MQ_OK);
	assert_int_equal(st.imported, 0);
	assert_int_equal(st.duplicate, 3);
	assert_int_equal(st.suppressed, 1);
	assert_string_equal(fx->last_note, "leads.csv:6: already in campaign");
	assert_query(fx, "SELECT fields ->> '$.first_name' FROM lead "
	    "WHERE email = 'zofia@example.com'", "Zofia");
}

static void test_run_merge_other_campaign(void **state)
{
	struct fixture *fx = *state;
	struct mq_import_stats st;
	struct mq_err err;

	write_csv(fx, "email,first_name,company\na@example.com,Ala,Old\n");
	assert_int_equal(run_import(fx, "q4", 0, &st, &err), MQ_OK);
	write_csv(fx, "email,company,city\nA@EXAMPLE.COM,New,Kraków\n");
	assert_int_equal(run_import(fx, "q5", 0, &st, &err), MQ_OK);
	assert_int_equal(st.imported, 1);
	assert_query(fx, "SELECT count(*) FROM lead", "1");
	assert_query(fx, "SELECT count(*) FROM campaign_lead", "2");
	assert_query(fx, "SELECT fields FROM lead",
	    "{\"first_name\":\"Ala\",\"company\":\"New\",\"city\":\"Kraków\"}");
	assert_query(fx, "SELECT email FROM lead", "a@example.com");
}

static void test_run_strict(void **state)
{
	struct fixture *fx = *state;
	struct mq_import_stats st;
	struct mq_err err;

	write_csv(fx, "email,n\na@example.com,1\nb@example.com,\xff\n");
	assert_int_equal(run_import(fx, "q4", 1, &st, &err), MQ_OK);
	assert_int_equal(st.rejected, 1);
	assert_int_equal(st.rolled_back, 1);
	assert_string_equal(fx->last_note,
	    "leads.csv:3: invalid UTF-8 in column 'n'");
	assert_query(fx, "SELECT count(*) FROM lead", "0");
	assert_int_equal(run_import(fx, "q4", 0, &st, &err), MQ_OK);
	assert_int_equal(st.rolled_back, 0);
	assert_query(fx, "SELECT count(*) FROM lead", "1");
}

static void test_run_failures(void **state)
{
	struct fixture *fx = *state;
	struct mq_import_stats st;
	struct mq_err err;
	char want[400];

	write_csv(fx, "email\na@example.com\n");
	assert_int_equal(run_import(fx, "nope", 0, &st, &err), MQ_PERM);
	assert_int_equal(err.ex, EX_NOINPUT);
	assert_string_equal(err.msg, "campaign 'nope': no such campaign");

	mq_db_exec(fx->db, "UPDATE campaign SET status = 'stopped' "
	    "WHERE name = 'q5'", &err);
	assert_int_equal(run_import(fx, "q5", 0, &st, &err), MQ_PERM);
	assert_int_equal(err.ex, EX_DATAERR);
	assert_non_null(strstr(err.msg, "campaign 'q5': is stopped"));

	/* A file-level error after good rows: nothing stays. */
	write_csv(fx, "email\na@example.com\n\"b@example.com\n");
	assert_int_equal(run_import(fx, "q4", 0, &st, &err), MQ_PERM);
	assert_int_equal(err.ex, EX_DATAERR);
	snprintf(want, sizeof want, "%s:3: unterminated quoted field", fx->csv);
	assert_string_equal(err.msg, want);
	assert_query(fx, "SELECT count(*) FROM lead", "0");
	assert_int_equal(sqlite3_get_autocommit(fx->db->h), 1);

	unlink(fx->csv);
	assert_int_equal(run_import(fx, "q4", 0, &st, &err), MQ_PERM);
	assert_int_equal(err.ex, EX_NOINPUT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_read_basic),
		cmocka_unit_test(test_read_cr_lines),
		cmocka_unit_test(test_read_json_escaping),
		cmocka_unit_test(test_read_rejects),
		cmocka_unit_test(test_read_line_ends),
		cmocka_unit_test(test_read_file_errors),
		cmocka_unit_test(test_read_stops_on_callback),
		cmocka_unit_test(test_read_long_field),
		cmocka_unit_test_setup_teardown(test_run_import, setup_db,
		    teardown_db),
		cmocka_unit_test_setup_teardown(test_run_merge_other_campaign,
		    setup_db, teardown_db),
		cmocka_unit_test_setup_teardown(test_run_strict, setup_db,
		    teardown_db),
		cmocka_unit_test_setup_teardown(test_run_failures, setup_db,
		    teardown_db),
		cmocka_unit_test_setup_teardown(test_suppress_plain_lines,
		    setup_db, teardown_db),
		cmocka_unit_test_setup_teardown(test_suppress, setup_db,
		    teardown_db),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
