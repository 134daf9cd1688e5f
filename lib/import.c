/*
 * Reading a lead file: see import.h. libcsv is a push parser that does not
 * say where a record began, so the file is fed to it one physical line at
 * a time: a record starts on the first line that holds more than blanks
 * while no record is open, and ends when libcsv reports it. A line ends
 * in LF, CRLF or a lone CR, as libcsv reads them (Excel for the Mac
 * writes CR). Each record is checked as a whole (field count, UTF-8, control characters, address) and
 * handed on at once, so memory does not grow with the file. libcsv's field
 * buffer is capped, so an unterminated quote cannot swallow the machine.
 */
#include <csv.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sysexits.h>

#include "buf.h"
#include "campaign.h"
#include "clock.h"
#include "db_import.h"
#include "import.h"
#include "text.h"

#define MAX_FIELD   (1024 * 1024)   /* bytes in one field */
#define MAX_RECORD  (1024 * 1024)   /* bytes in one record, all fields */
#define MAX_COLUMNS 256

struct field {
	char   *s;          /* NUL-terminated copy; may hold NUL bytes too */
	size_t  len, cap;
};

struct reader {
	struct csv_parser csv;
	const char       *name;
	mq_import_row_fn  fn;
	void             *arg;
	struct mq_err    *err;
	int               rc;           /* first failure; stops everything */
	long              line;         /* physical line being fed */
	int               cr;           /* the last piece fed ended in CR */
	long              start;        /* line where the open record began */
	int               pending;      /* a record is open */
	int               have_header;
	struct field     *f;            /* the record's fields, first fcap kept */
	size_t            nf, fcap;
	size_t            rec_bytes;
	char            **cols;         /* header names; cols[email_col] unused */
	char            **keys;         /* ,"name": for each, as JSON */
	size_t           *klen;
	const char      **vals;         /* the row's values, for the callback */
	size_t            ncols, email_col;
	struct mq_buf        json;
	char              reason[MQ_IMPORT_REASON_MAX];
	char              in[65536];
};

static void *capped_realloc(void *p, size_t n)
{
	return n > MAX_FIELD + 256 ? NULL : realloc(p, n);
}

/* Appends s as a JSON string (RFC 8259): UTF-8 passes through. */
static void put_json(struct mq_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char esc[6] = { '\\', 'u', '0', '0', 0, 0 };
	size_t i, from = 0;

	mq_buf_put(b, "\"", 1);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		mq_buf_put(b, s + from, i - from);
		from = i + 1;
		if (c == '"' || c == '\\') {
			esc[1] = (char)c;
			mq_buf_put(b, esc, 2);
		} else if (c == '\t') {
			mq_buf_put(b, "\\t", 2);
		} else {
			esc[1] = 'u';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			mq_buf_put(b, esc, 6);
		}
	}
	mq_buf_put(b, s + from, n - from);
	mq_buf_put(b, "\"", 1);
}

int mq_import_name_ok(const char *name)
{
	if (!(name[0] == '_' || (name[0] >= 'A' && name[0] <= 'Z') ||
	    (name[0] >= 'a' && name[0] <= 'z')))
		return 0;
	for (const char *p = name + 1; *p != '\0'; p++)
		if (!(*p == '_' || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
			return 0;
	return 1;
}

static int has_8bit(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

char *mq_import_quote(char *buf, size_t size, const char *s, size_t len)
{
	char e[8];
	size_t o = 1, n, k;

	buf[0] = '"';
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			n = (size_t)snprintf(e, sizeof e, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			n = (size_t)snprintf(e, sizeof e, "\\x%02x", c);
		else
			e[0] = (char)c, n = 1;
		if (o + n + 5 > size) {
			/* Do not leave half a UTF-8 character behind. The
			 * bytes cut are 8-bit, one output byte each. */
			k = mq_text_cut(s, i);
			o -= i - k;
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(buf + o, e, n);
		o += n;
	}
	memcpy(buf + o, "\"", 2);
	return buf;
}

static int file_error(struct reader *r, long line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int file_error(struct reader *r, long line, const char *fmt, ...)
{
	char msg[sizeof r->err->msg];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return mq_err_perm(r->err, EX_DATAERR, "%s:%ld: %s", r->name, line, msg);
}

static const char *rejected(struct reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Sets the reason of the current row; always returns NULL. */
static const char *rejected(struct reader *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof r->reason, fmt, ap);
	va_end(ap);
	return NULL;
}

/* Cuts blanks off both ends of f in place and returns its start. */
static char *trim(struct field *f)
{
	char *s = f->s, *e = f->s + f->len;

	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*e = '\0';
	return s;
}

/* Why the field cannot be stored (bad UTF-8, control characters, which
 * would let a value inject mail header lines), or NULL. */
static const char *field_problem(const struct field *f)
{
	const unsigned char *s = (const unsigned char *)f->s;

	if (!mq_text_utf8_ok(f->s, f->len))
		return "invalid UTF-8";
	for (size_t i = 0; i < f->len; i++) {
		if (s[i] == '\r' || s[i] == '\n')
			return "line break (CR or LF)";
		if ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f ||
		    (s[i] == 0xc2 && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f))
			return "control character";
	}
	return NULL;
}

static const char *column(const struct reader *r, size_t i)
{
	return i == r->email_col ? "email" : r->cols[i];
}

/* The text that puts column i's value into a row's JSON object, after
 * a comma: ,"name": -- made once, not for every row. */
static int json_key(struct reader *r, size_t i)
{
	struct mq_buf b = { NULL, 0, 0, 0 };

	mq_buf_put(&b, ",", 1);
	put_json(&b, r->cols[i], strlen(r->cols[i]));
	mq_buf_put(&b, ":", 1);
	if (b.oom) {
		free(b.p);
		return mq_err_perm(r->err, EX_OSERR, "out of memory");
	}
	r->keys[i] = b.p;
	r->klen[i] = b.len;
	return MQ_OK;
}

static int header_name(struct reader *r, size_t i, int *have_email)
{
	char q[128];
	const char *why = field_problem(&r->f[i]);
	char *name = trim(&r->f[i]);

	if (why != NULL)
		return file_error(r, r->start, "header column %zu: %s", i + 1,
		    why);
	if (strcasecmp(name, "email") == 0) {
		if (*have_email)
			return file_error(r, r->start, "header column %zu: a "
			    "second email column", i + 1);
		*have_email = 1;
		r->email_col = i;
		return MQ_OK;
	}
	if (!mq_import_name_ok(name))
		return file_error(r, r->start, "header column %zu: bad field "
		    "name %s: use letters, digits and _, not starting with a "
		    "digit", i + 1, mq_import_quote(q, sizeof q, name,
		    strlen(name)));
	for (size_t j = 0; j < i; j++)
		if (r->cols[j] != NULL && strcasecmp(r->cols[j], name) == 0)
			return file_error(r, r->start, "header column %zu: field "
			    "name '%s' repeats column %zu", i + 1, name, j + 1);
	if ((r->cols[i] = strdup(name)) == NULL)
		return mq_err_perm(r->err, EX_OSERR, "out of memory");
	return json_key(r, i);
}

static int header(struct reader *r)
{
	int have_email = 0, rc = MQ_OK;

	r->have_header = 1;
	if (r->nf > MAX_COLUMNS || r->rec_bytes > MAX_RECORD)
		return file_error(r, r->start, "header: more than %d columns "
		    "or %d bytes", MAX_COLUMNS, MAX_RECORD);
	if ((r->cols = calloc(r->nf, sizeof *r->cols)) == NULL ||
	    (r->keys = calloc(r->nf, sizeof *r->keys)) == NULL ||
	    (r->klen = calloc(r->nf, sizeof *r->klen)) == NULL ||
	    (r->vals = calloc(r->nf, sizeof *r->vals)) == NULL)
		return mq_err_perm(r->err, EX_OSERR, "out of memory");
	r->ncols = r->nf;
	for (size_t i = 0; rc == MQ_OK && i < r->nf; i++)
		rc = header_name(r, i, &have_email);
	if (rc == MQ_OK && !have_email)
		rc = file_error(r, r->start, "header: no email column");
	return rc;
}

/* Checks the current record; returns its trimmed address, or NULL with
 * r->reason set. */
static const char *check_row(struct reader *r)
{
	char q[160];
	const char *why, *email;

	if (r->rec_bytes > MAX_RECORD)
		return rejected(r, "record longer than %d bytes", MAX_RECORD);
	if (r->nf != r->ncols)
		return rejected(r, "wrong number of fields: %zu, expected %zu",
		    r->nf, r->ncols);
	for (size_t i = 0; i < r->nf; i++)
		if ((why = field_problem(&r->f[i])) != NULL)
			return rejected(r, "%s in column '%s'", why, column(r, i));
	email = trim(&r->f[r->email_col]);
	if (*email == '\0')
		return rejected(r, "empty email");
	if (has_8bit(email))
		return rejected(r, "non-ASCII address not supported: %s",
		    mq_import_quote(q, sizeof q, email, strlen(email)));
	if ((why = mq_text_addr_problem(email)) != NULL)
		return rejected(r, "invalid email address %s: %s",
		    mq_import_quote(q, sizeof q, email, strlen(email)), why);
	return email;
}

/* The row's other columns as one JSON object, in r->json. */
static int build_json(struct reader *r)
{
	size_t comma = 1;   /* none before the first */

	r->json.len = 0;
	mq_buf_put(&r->json, "{", 1);
	for (size_t i = 0; i < r->nf; i++) {
		if (i == r->email_col)
			continue;
		mq_buf_put(&r->json, r->keys[i] + comma, r->klen[i] - comma);
		put_json(&r->json, r->f[i].s, r->f[i].len);
		comma = 0;
	}
	mq_buf_put(&r->json, "}", 1);
	return r->json.oom ? mq_err_perm(r->err, EX_OSERR, "out of memory") :
	    MQ_OK;
}

static int row(struct reader *r)
{
	struct mq_import_row row = { r->start, NULL, NULL, r->reason, NULL,
	    NULL, 0 };
	int rc;

	if ((row.email = check_row(r)) != NULL) {
		if ((rc = build_json(r)) != MQ_OK)
			return rc;
		row.fields = r->json.p;
		row.reject = NULL;
		for (size_t i = 0; i < r->ncols; i++)
			r->vals[i] = i == r->email_col ? row.email : r->f[i].s;
		row.names = (const char *const *)r->cols;
		row.values = r->vals;
		row.n = r->ncols;
	}
	return r->fn(r->arg, &row, r->err);
}

static int keep_field(struct reader *r, const void *s, size_t len)
{
	struct field *f;
	char *p;

	if (r->nf > r->fcap) {
		size_t cap = r->fcap ? r->fcap * 2 : 16;

		if (cap > MAX_COLUMNS)
			cap = MAX_COLUMNS;
		if ((f = realloc(r->f, cap * sizeof *f)) == NULL)
			return mq_err_perm(r->err, EX_OSERR, "out of memory");
		memset(f + r->fcap, 0, (cap - r->fcap) * sizeof *f);
		r->f = f;
		r->fcap = cap;
	}
	f = &r->f[r->nf - 1];
	if (len + 1 > f->cap) {
		if ((p = realloc(f->s, len + 1)) == NULL)
			return mq_err_perm(r->err, EX_OSERR, "out of memory");
		f->s = p;
		f->cap = len + 1;
	}
	if (len > 0)
		memcpy(f->s, s, len);
	f->s[len] = '\0';
	f->len = len;
	return MQ_OK;
}

static void on_field(void *s, size_t len, void *arg)
{
	struct reader *r = arg;

	if (r->rc != MQ_OK)
		return;
	if (!r->pending) {
		r->pending = 1;
		r->start = r->line;
	}
	/* one limit for a field, whatever libcsv's buffer happened to hold:
	 * a field too long is the file's problem (as when libcsv's capped
	 * buffer refuses it), not the row's */
	if (len > MAX_FIELD) {
		r->rc = file_error(r, r->start, "field longer than %d bytes (an "
		    "unterminated quote?)", MAX_FIELD);
		return;
	}
	r->rec_bytes += len;
	/* Past the limits the field is counted, not kept: the row is
	 * rejected on its count or size before any field is looked at. */
	if (++r->nf > MAX_COLUMNS || r->rec_bytes > MAX_RECORD)
		return;
	r->rc = keep_field(r, s, len);
}

static void on_record(int c, void *arg)
{
	struct reader *r = arg;

	(void)c;
	if (r->rc == MQ_OK)
		r->rc = r->have_header ? row(r) : header(r);
	r->nf = 0;
	r->rec_bytes = 0;
	r->pending = 0;
}

static int blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
			return 0;
	return 1;
}

/* Feeds one physical line, or the part of it a buffer holds: n bytes
 * with at most one line end (LF, CRLF or a lone CR, as libcsv reads
 * them), at the end. A CRLF split between two buffers is one line end:
 * the LF that completes it arrives alone and counts no line. */
static void feed(struct reader *r, const char *p, size_t n)
{
	int lf_of_crlf = r->cr && n == 1 && p[0] == '\n';

	if (!r->pending && !blank(p, n)) {
		r->pending = 1;
		r->start = r->line;
	}
	if (csv_parse(&r->csv, p, n, on_field, on_record, r) != n &&
	    r->rc == MQ_OK) {
		if (csv_error(&r->csv) == CSV_EPARSE)
			r->rc = file_error(r, r->line, "bad quoting: a quote "
			    "inside an unquoted field, or text after a "
			    "closing quote");
		else
			r->rc = file_error(r, r->start, "field longer than %d "
			    "bytes (an unterminated quote?)", MAX_FIELD);
	}
	r->cr = n > 0 && p[n - 1] == '\r';
	if (n > 0 && (p[n - 1] == '\r' || p[n - 1] == '\n') && !lf_of_crlf)
		r->line++;
}

/* The end of the physical line that starts at p[0] within p[0..n): just
 * past its LF, CRLF or lone CR, or n. A buffer's first LF after a CR that
 * ended the previous buffer is a line of its own (see feed). */
static size_t line_end(const char *p, size_t n, int cr_before)
{
	size_t i;

	if (cr_before && n > 0 && p[0] == '\n')
		return 1;
	for (i = 0; i < n; i++) {
		if (p[i] == '\n')
			return i + 1;
		if (p[i] == '\r')
			return i + 1 < n && p[i + 1] == '\n' ? i + 2 : i + 1;
	}
	return n;
}

static int read_all(struct reader *r, FILE *fp)
{
	size_t n, off;
	int first = 1;

	while (r->rc == MQ_OK && (n = fread(r->in, 1, sizeof r->in, fp)) > 0) {
		off = first && n >= 3 && memcmp(r->in, "\xef\xbb\xbf", 3) == 0;
		off *= 3;
		first = 0;
		while (r->rc == MQ_OK && off < n) {
			size_t len = line_end(r->in + off, n - off,
			    off == 0 && r->cr);

			feed(r, r->in + off, len);
			off += len;
		}
	}
	if (r->rc == MQ_OK && ferror(fp))
		return file_error(r, r->line, "read error: %s", strerror(errno));
	if (r->rc == MQ_OK && csv_fini(&r->csv, on_field, on_record, r) != 0 &&
	    r->rc == MQ_OK)
		r->rc = file_error(r, r->start, "unterminated quoted field");
	if (r->rc == MQ_OK && !r->have_header)
		r->rc = file_error(r, 1, "empty file: no header line");
	return r->rc;
}

int mq_import_read(FILE *fp, const char *name, mq_import_row_fn fn,
    void *arg, struct mq_err *err)
{
	struct reader *r;
	int rc;

	if ((r = calloc(1, sizeof *r)) == NULL)
		return mq_err_perm(err, EX_OSERR, "out of memory");
	r->name = name;
	r->fn = fn;
	r->arg = arg;
	r->err = err;
	r->line = 1;
	if (csv_init(&r->csv, CSV_STRICT | CSV_STRICT_FINI |
	    CSV_APPEND_NULL) != 0) {
		free(r);
		return mq_err_perm(err, EX_OSERR, "out of memory");
	}
	csv_set_realloc_func(&r->csv, capped_realloc);
	csv_set_blk_size(&r->csv, 4096);
	rc = read_all(r, fp);
	csv_free(&r->csv);
	for (size_t i = 0; i < r->fcap; i++)
		free(r->f[i].s);
	for (size_t i = 0; i < r->ncols; i++) {
		free(r->cols[i]);
		free(r->keys[i]);
	}
	free(r->f);
	free(r->cols);
	free(r->keys);
	free(r->klen);
	free(r->vals);
	free(r->json.p);
	free(r);
	return rc;
}

/* Copies in to an unlinked temporary file, so the transaction that reads
 * it never waits on whoever writes the input. */
static int spool(FILE *in, const char *name, FILE **out, struct mq_err *err)
{
	char b[65536];
	size_t n;
	FILE *fp;

	if ((fp = tmpfile()) == NULL)
		return mq_err_perm(err, EX_CANTCREAT, "%s: cannot make a "
		    "temporary copy: %s", name, strerror(errno));
	while ((n = fread(b, 1, sizeof b, in)) > 0)
		if (fwrite(b, 1, n, fp) != n)
			break;
	if (ferror(in) || ferror(fp) || fflush(fp) != 0) {
		mq_err_perm(err, ferror(in) ? EX_DATAERR : EX_CANTCREAT,
		    "%s: %s: %s", name, ferror(in) ? "read error" :
		    "cannot make a temporary copy", strerror(errno));
		fclose(fp);
		return MQ_PERM;
	}
	rewind(fp);
	*out = fp;
	return MQ_OK;
}

/* Opens the input; anything but a regular file is spooled first. */
static int open_input(const char *path, const char *name, FILE **out,
    struct mq_err *err)
{
	struct stat sb;
	FILE *fp;
	int rc;

	*out = NULL;
	if (strcmp(path, "-") == 0)
		return spool(stdin, name, out, err);
	if ((fp = fopen(path, "r")) == NULL)
		return mq_err_perm(err, EX_NOINPUT, "%s: %s", name,
		    strerror(errno));
	if (fstat(fileno(fp), &sb) != 0)
		sb.st_mode = 0;
	if (S_ISDIR(sb.st_mode)) {
		fclose(fp);
		return mq_err_perm(err, EX_NOINPUT, "%s: is a directory", name);
	}
	if (S_ISREG(sb.st_mode)) {
		*out = fp;
		return MQ_OK;
	}
	rc = spool(fp, name, out, err);
	fclose(fp);
	return rc;
}

struct run {
	struct mq_db                *db;
	const struct mq_import_opts *o;
	struct mq_import_stats      *st;
	struct mq_db_import         *imp;
	const char                  *name;
	char                         need[32][64];  /* template fields */
	int                          n_need;
	int                          col[32];       /* their columns, -1 */
	int                          resolved;
	long                         lacking;       /* new leads lacking one */
};

/* Whether a new lead's row lacks a field the templates need: the cheap
 * test, on the row as read, that decides whether the store is asked
 * (check_fields), so that a good import of a million rows costs no scan. */
static void note_lacking(struct run *u, const struct mq_import_row *row)
{
	const char *v;

	if (!u->resolved) {
		for (int k = 0; k < u->n_need; k++) {
			u->col[k] = -1;
			for (size_t i = 0; i < row->n; i++)
				if (row->names[i] != NULL &&
				    strcmp(row->names[i], u->need[k]) == 0)
					u->col[k] = (int)i;
		}
		u->resolved = 1;
	}
	for (int k = 0; k < u->n_need; k++) {
		v = u->col[k] >= 0 ? row->values[u->col[k]] : "";
		if (v == NULL || v[0] == '\0') {
			u->lacking++;
			return;
		}
	}
}

static void note(struct run *u, long line, enum mq_import_kind kind,
    const char *text)
{
	if (u->o->note != NULL)
		u->o->note(u->o->note_arg, u->name, line, kind, text);
}

static int on_row(void *arg, const struct mq_import_row *row,
    struct mq_err *err)
{
	struct run *u = arg;
	enum mq_db_import_result res;
	char text[64];
	long first;
	int rc;

	if (row->reject != NULL) {
		u->st->rejected++;
		note(u, row->line, MQ_IMPORT_REJECTED, row->reject);
		return MQ_OK;
	}
	rc = mq_db_import_lead(u->imp, row->email, row->fields, row->line,
	    &res, &first, err);
	if (rc != MQ_OK)
		return rc;
	switch (res) {
	case MQ_DB_IMPORT_ADDED:
		u->st->imported++;
		note_lacking(u, row);
		break;
	case MQ_DB_IMPORT_SEEN:
		u->st->duplicate++;
		snprintf(text, sizeof text, "duplicate of line %ld", first);
		note(u, row->line, MQ_IMPORT_DUPLICATE, text);
		break;
	case MQ_DB_IMPORT_IN_CAMPAIGN:
		u->st->duplicate++;
		note(u, row->line, MQ_IMPORT_DUPLICATE, "already in campaign");
		break;
	case MQ_DB_IMPORT_SUPPRESSED:
		u->st->suppressed++;
		note(u, row->line, MQ_IMPORT_SUPPRESSED, "suppressed");
		break;
	}
	return MQ_OK;
}

/* What mailq-campaign start would refuse is said now, while the file is
 * at hand: leads lacking a field the templates use without a fallback. */
static int check_fields(struct run *u, struct mq_err *err)
{
	char buf[900], text[1100];
	int rc;

	rc = mq_campaign_lacking(u->db, mq_db_import_campaign(u->imp), buf,
	    sizeof buf, err);
	if (rc == MQ_OK && buf[0] != '\0') {
		u->st->lacking = 1;
		snprintf(text, sizeof text, "campaign '%.100s': the templates "
		    "use fields (without a fallback) that leads lack: %s",
		    u->o->campaign, buf);
		note(u, 0, MQ_IMPORT_LACKING, text);
	}
	return rc;
}

int mq_import_run(struct mq_db *db, const struct mq_import_opts *opts,
    struct mq_import_stats *st, struct mq_err *err)
{
	struct run u;
	FILE *fp = NULL;
	time_t now;
	int rc, rc2, commit;

	memset(st, 0, sizeof *st);
	memset(&u, 0, sizeof u);
	u.db = db;
	u.o = opts;
	u.st = st;
	u.name = strcmp(opts->path, "-") == 0 ? "stdin" : opts->path;
	if ((rc = mq_clock_now(&now, err)) != MQ_OK)
		return rc;
	if ((rc = open_input(opts->path, u.name, &fp, err)) != MQ_OK)
		return rc;
	rc = mq_db_import_begin(db, opts->campaign, now, &u.imp, err);
	if (rc != MQ_OK)
		goto out;
	rc = mq_campaign_fields(db, mq_db_import_campaign(u.imp), u.need, 32,
	    &u.n_need, err);
	if (rc == MQ_OK)
		rc = mq_import_read(fp, u.name, on_row, &u, err);
	if (rc == MQ_OK)
		rc = mq_db_import_join(u.imp, err);
	if (rc == MQ_OK && u.lacking > 0)
		rc = check_fields(&u, err);
	commit = rc == MQ_OK && !(opts->strict && (st->rejected > 0 ||
	    st->lacking));
	st->rolled_back = rc == MQ_OK && !commit;
	rc2 = mq_db_import_end(u.imp, commit, err);
	if (rc == MQ_OK)
		rc = rc2;
out:
	fclose(fp);
	return rc;
}

/* --- the suppression list --------------------------------------------- */

struct supp {
	struct mq_db                *db;
	const struct mq_import_opts *o;
	struct mq_import_stats      *st;
	const char                  *name;
	time_t                       now;
};

static int supp_add(struct supp *u, long line, const char *email,
    struct mq_err *err)
{
	const char *why = mq_text_addr_problem(email);
	char text[MQ_IMPORT_REASON_MAX], q[200];
	int added, rc;

	if (why != NULL) {
		u->st->rejected++;
		snprintf(text, sizeof text, "%s: %s", mq_import_quote(q,
		    sizeof q, email, strlen(email)), why);
		if (u->o->note != NULL)
			u->o->note(u->o->note_arg, u->name, line,
			    MQ_IMPORT_REJECTED, text);
		return MQ_OK;
	}
	rc = mq_db_suppress(u->db, email, u->o->reason != NULL ?
	    u->o->reason : "imported", u->now, &added, err);
	if (rc == MQ_OK && added)
		u->st->imported++;
	else if (rc == MQ_OK)
		u->st->duplicate++;
	return rc;
}

static int supp_row(void *arg, const struct mq_import_row *row,
    struct mq_err *err)
{
	struct supp *u = arg;

	if (row->reject != NULL) {
		u->st->rejected++;
		if (u->o->note != NULL)
			u->o->note(u->o->note_arg, u->name, row->line,
			    MQ_IMPORT_REJECTED, row->reject);
		return MQ_OK;
	}
	return supp_add(u, row->line, row->email, err);
}

/* Reads the next line of fp into b, without its end (LF, CRLF or CR, as
 * in a lead file): 1 when there was one, 0 at the end of the file or out
 * of memory (b->oom). Lines may be of any length. */
static int next_line(FILE *fp, struct mq_buf *b)
{
	int c, got = 0;
	char ch;

	b->len = 0;
	mq_buf_put(b, "", 0);
	while ((c = getc(fp)) != EOF) {
		got = 1;
		if (c == '\n' || c == '\r')
			break;
		ch = (char)c;
		mq_buf_put(b, &ch, 1);
	}
	if (c == '\r' && (c = getc(fp)) != '\n' && c != EOF)
		ungetc(c, fp);
	return got && !b->oom;
}

/* A line's text: blanks cut off both ends, and a UTF-8 BOM off the
 * file's first line. */
static char *line_text(char *s, long line)
{
	char *e;

	if (line == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	s += strspn(s, " \t");
	for (e = s + strlen(s); e > s && (e[-1] == ' ' || e[-1] == '\t');)
		*--e = '\0';
	return s;
}

/* A plain list: one address a line, blanks and '#' comments skipped. */
static int supp_lines(struct supp *u, FILE *fp, struct mq_err *err)
{
	struct mq_buf b = { NULL, 0, 0, 0 };
	long line = 0;
	char *p;
	int rc = MQ_OK;

	while (rc == MQ_OK && next_line(fp, &b)) {
		p = line_text(b.p, ++line);
		if (*p != '\0' && *p != '#')
			rc = supp_add(u, line, p, err);
	}
	if (rc == MQ_OK && b.oom)
		rc = mq_err_perm(err, EX_OSERR, "out of memory");
	else if (rc == MQ_OK && ferror(fp))
		rc = mq_err_perm(err, EX_DATAERR, "%s: read error", u->name);
	free(b.p);
	return rc;
}

/* A CSV file starts with a header: its first line that holds more than
 * blanks has a ',' or a '"', or is the one column "email". A plain list
 * whose first address starts with "email" is still a plain list. */
static int looks_csv(FILE *fp)
{
	struct mq_buf b = { NULL, 0, 0, 0 };
	long line = 0;
	char *p;
	int csv = 0;

	while (next_line(fp, &b)) {
		p = line_text(b.p, ++line);
		if (*p == '\0')
			continue;
		csv = strpbrk(p, ",\"") != NULL || strcasecmp(p, "email") == 0;
		break;
	}
	free(b.p);
	rewind(fp);
	return csv;
}

int mq_import_suppress(struct mq_db *db, const struct mq_import_opts *opts,
    struct mq_import_stats *st, struct mq_err *err)
{
	struct supp u = { db, opts, st, NULL, 0 };
	FILE *fp = NULL;
	int rc;

	memset(st, 0, sizeof *st);
	memset(&u, 0, sizeof u);
	u.db = db;
	u.o = opts;
	u.st = st;
	u.name = strcmp(opts->path, "-") == 0 ? "stdin" : opts->path;
	if ((rc = mq_clock_now(&u.now, err)) != MQ_OK ||
	    (rc = open_input(opts->path, u.name, &fp, err)) != MQ_OK)
		return rc;
	if ((rc = mq_db_begin(db, err)) != MQ_OK)
		goto out;
	if (looks_csv(fp))
		rc = mq_import_read(fp, u.name, supp_row, &u, err);
	else
		rc = supp_lines(&u, fp, err);
	if (rc == MQ_OK && !(opts->strict && st->rejected > 0))
		rc = mq_db_commit(db, err);
	else
		mq_db_rollback(db);
	st->rolled_back = rc == MQ_OK && opts->strict && st->rejected > 0;
out:
	fclose(fp);
	return rc;
}
