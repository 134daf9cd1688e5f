/*
 * The fuzz targets (tests/fuzz/fuzz_*.c). Each defines
 * LLVMFuzzerTestOneInput, which libFuzzer calls with the inputs it makes
 * up (make fuzz) and replay.c with every file of the target's corpus
 * (make check). A target drives one parser of lib/ and checks a property
 * of what it did, not only that it did not crash: a broken property is
 * reported with fz_fail, which aborts, so both drivers stop on it.
 */
#ifndef MQ_FUZZ_H
#define MQ_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Prints "fuzz: " and the broken property to stderr and aborts. */
void fz_fail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

/* One input cut into pieces: the first byte is flags, the rest is split
 * at each NUL into at most max strings (what follows the max-th is left
 * out). The first piece is always there, "" at least; absent ones are
 * NULL. */
struct fz_parts {
	unsigned  flags;
	int       n;
	char     *s[16];
	char     *buf;          /* owns the pieces */
};

/* Fills p from data; free with fz_parts_free. Aborts on out of memory. */
void fz_split(struct fz_parts *p, const uint8_t *data, size_t size, int max);
void fz_parts_free(struct fz_parts *p);

/* A directory of this process's own under TMPDIR, removed with all its
 * files at exit. Aborts if it cannot be made. */
const char *fz_dir(void);

/* A new in-memory store at the current schema, after the SQL setup (may
 * be NULL) has run in it, vacuumed so that it has no free page; made once
 * per setup and copied after that, so it costs little per input. Aborts
 * on failure. */
struct mq_db *fz_db(const char *setup);

/* A 64-bit hash of the main database (TEMP tables left out), to tell
 * whether anything changed; a store from fz_db keeps it exact across a
 * rollback (see fuzz.c). */
uint64_t fz_db_hash(struct mq_db *db);

/* The first column of the first row of sql, as an integer. */
long long fz_db_int(struct mq_db *db, const char *sql);

#endif
