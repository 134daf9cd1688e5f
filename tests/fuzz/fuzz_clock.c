/*
 * Fuzz target: the clock's reading of MAILQ_NOW (lib/clock.c). The input
 * is the string, up to its first NUL. The properties: what is accepted is
 * in the documented range (1970-01-01 to 9999-12-31, epoch 0 to
 * 253402300799), and agrees with a reading of the input made here
 * independently: plain digits are the epoch itself; an ISO 8601 form
 * names a real calendar date and time, whose instant, formatted back in
 * UTC, gives the same date and time when the zone is Z or absent. What is
 * refused says MAILQ_NOW, with EX_USAGE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "clock.h"
#include "fuzz.h"

#define MAX 253402300799LL

static int all_digits(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* For an accepted input: plain digits must be the epoch; an ISO form
 * with zone Z or none must format back to its own date and time. */
static void agree(const char *s, time_t t)
{
	char iso[32];

	if (all_digits(s)) {
		const char *d = s;

		while (d[0] == '0' && d[1] != '\0')   /* leading zeros */
			d++;
		if (strlen(d) > 12 || strtoll(d, NULL, 10) != (long long)t)
			fz_fail("'%s' read as %lld", s, (long long)t);
		return;
	}
	if (strlen(s) < 16)
		fz_fail("'%s' accepted, but it is no ISO 8601 time", s);
	mq_clock_iso(t, iso, sizeof iso);
	/* "YYYY-MM-DDTHH:MM" and, when given, ":SS" */
	if (strpbrk(s + 16, "+-") == NULL &&
	    (memcmp(s, iso, 10) != 0 || memcmp(s + 11, iso + 11, 5) != 0 ||
	    (s[16] == ':' && memcmp(s + 17, iso + 17, 2) != 0)))
		fz_fail("'%s' read as %s", s, iso);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_parts p;
	struct mq_err err;
	time_t t = -1;
	int rc;

	fz_split(&p, data, size, 1);
	rc = mq_clock_parse(p.s[0], &t, &err);
	if (rc == MQ_OK) {
		if ((long long)t < 0 || (long long)t > MAX)
			fz_fail("'%s' accepted as %lld, out of range", p.s[0],
			    (long long)t);
		agree(p.s[0], t);
	} else if (rc != MQ_PERM || err.ex != EX_USAGE ||
	    strstr(err.msg, "MAILQ_NOW") == NULL) {
		fz_fail("'%s' refused with %d/%d: %s", p.s[0], rc, err.ex,
		    err.msg);
	}
	fz_parts_free(&p);
	return 0;
}
