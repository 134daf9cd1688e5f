/*
 * Importing leads: an RFC 4180 CSV file with a header row, an `email`
 * column and any other columns as template fields. libcsv does the parsing;
 * this module counts physical lines so every message can say where a
 * record starts, checks each row (UTF-8, no control characters, address
 * syntax) and turns its other columns into a JSON object. The rows are
 * handed to the store (db_import.h) inside one write transaction; a file
 * read from stdin is spooled first so the lock never waits on a producer.
 */
#ifndef MQ_IMPORT_H
#define MQ_IMPORT_H

#include <stdio.h>

#include "db.h"
#include "err.h"

/* Longest reason or address excerpt kept for one row. */
#define MQ_IMPORT_REASON_MAX 512

/* One data row of the file, valid or rejected. Owned by the reader and
 * valid only during the callback that receives it. */
struct mq_import_row {
	long        line;     /* physical line where the record starts */
	const char *email;    /* trimmed and checked; NULL when rejected */
	const char *fields;   /* JSON object of the other columns; NULL when
	                         rejected */
	const char *reject;   /* NULL when valid, else why not */
	/* the row's columns by the header's names (as written; the email
	 * column's name is NULL); values NUL-terminated; NULL when
	 * rejected */
	const char *const *names;
	const char *const *values;
	size_t             n;
};

/* Called for each data row in file order. Returning anything but MQ_OK
 * (with err set) stops the reading with that result. */
typedef int (*mq_import_row_fn)(void *arg, const struct mq_import_row *row,
    struct mq_err *err);

/* Reads the CSV in fp (name is what messages call it: a path or "stdin")
 * and calls fn for every data row. Blank lines are skipped, a UTF-8 BOM is
 * dropped, LF, CRLF and CR line ends all work. Returns MQ_OK after the last
 * row, MQ_PERM with EX_DATAERR and "NAME:LINE: reason" for a file-level
 * error (no or bad header, broken quoting, read error), or fn's result. */
int mq_import_read(FILE *fp, const char *name, mq_import_row_fn fn,
    void *arg, struct mq_err *err);

/* Returns 1 when name is a usable field name: [A-Za-z_][A-Za-z0-9_]*. */
int mq_import_name_ok(const char *name);

/* Writes s (len bytes) into buf as a double-quoted, C-escaped excerpt
 * safe for a terminal, cut to fit size (at least 8). Returns buf. */
char *mq_import_quote(char *buf, size_t size, const char *s, size_t len);

/* What happened to a row, as told to the caller's note function. */
enum mq_import_kind {
	MQ_IMPORT_REJECTED,     /* text: the reason */
	MQ_IMPORT_DUPLICATE,    /* text: "duplicate of line N" or
	                           "already in campaign" */
	MQ_IMPORT_SUPPRESSED,   /* text: "suppressed" */
	MQ_IMPORT_LACKING       /* line 0; text: the campaign's leads that
	                           lack a field its templates use without a
	                           fallback (see mq_campaign_lacking) */
};

struct mq_import_opts {
	const char *campaign;
	const char *path;       /* a file, or "-" for stdin */
	int         strict;     /* any rejected row: import nothing */
	/* Told about every row not imported; may be NULL. The library prints
	 * nothing itself. */
	void      (*note)(void *arg, const char *file, long line,
	               enum mq_import_kind kind, const char *text);
	void       *note_arg;
	const char *reason;     /* mq_import_suppress: why; NULL = "imported" */
};

struct mq_import_stats {
	long imported;
	long duplicate;
	long suppressed;
	long rejected;
	int  lacking;           /* leads lack template fields (told by note) */
	int  rolled_back;       /* --strict threw everything away */
};

/* Imports opts->path into the campaign in one transaction and fills *st.
 * Before committing, the campaign's leads are checked for the fields its
 * templates use without a fallback (told as MQ_IMPORT_LACKING; with
 * opts->strict nothing is imported then). MQ_OK even when rows were
 * rejected (see st->rejected) or leads lack fields; MQ_PERM with
 * EX_NOINPUT (no such file or campaign), EX_DATAERR (file-level error,
 * campaign stopped or completed), EX_CANTCREAT (read-only database);
 * MQ_TEMP when the database stays busy. Nothing is written unless MQ_OK. */
int mq_import_run(struct mq_db *db, const struct mq_import_opts *opts,
    struct mq_import_stats *st, struct mq_err *err);

/* Adds the addresses in opts->path to the suppression list (opts->campaign
 * is not used): a plain list, one address per line (blank lines and lines
 * starting with '#' skipped), or a CSV file with an email column. One
 * transaction; their pending messages are cancelled in every campaign.
 * st->imported counts new entries, st->duplicate those already listed or
 * repeated. Errors as mq_import_run. */
int mq_import_suppress(struct mq_db *db, const struct mq_import_opts *opts,
    struct mq_import_stats *st, struct mq_err *err);

#endif
