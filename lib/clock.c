/*
 * The clock: the system's, or MAILQ_NOW when set, so that tests and dry
 * runs can stand at any moment (a Saturday, a holiday, a DST change).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "clock.h"
#include "sched.h"

static int digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* The clock's range: 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z, so
 * that milliseconds and every date mailq works out stay representable. */
#define MQ_CLOCK_MAX 253402300799LL

static int parse_epoch(const char *s, time_t *t)
{
	char *end;
	long long v;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > MQ_CLOCK_MAX)
		return -1;
	*t = (time_t)v;
	return 0;
}

/* Zone suffix: "", "Z", "+HH:MM", "+HHMM", "-HH". Offset in seconds east. */
static int parse_zone(const char *s, long *off)
{
	int h = 0, m = 0, sign;

	*off = 0;
	if (*s == '\0' || strcmp(s, "Z") == 0 || strcmp(s, "z") == 0)
		return 0;
	if (*s != '+' && *s != '-')
		return -1;
	sign = *s++ == '-' ? -1 : 1;
	if (digits(s, 2, &h) < 0)
		return -1;
	s += 2;
	if (*s == ':')
		s++;
	if (*s != '\0' && (digits(s, 2, &m) < 0 || s[2] != '\0'))
		return -1;
	if (h > 23 || m > 59)
		return -1;
	*off = sign * (h * 3600L + m * 60L);
	return 0;
}

static int parse_iso(const char *s, time_t *t)
{
	char date[11];
	long long day;
	int h, mi, sec = 0;
	long off;

	/* the date as the schedule reads every date: a real one, from
	 * 1970 on */
	if (strlen(s) < 16 || (s[10] != 'T' && s[10] != ' ') ||
	    digits(s + 11, 2, &h) < 0 || s[13] != ':' ||
	    digits(s + 14, 2, &mi) < 0)
		return -1;
	memcpy(date, s, 10);
	date[10] = '\0';
	if (!mq_sched_date(date, &day))
		return -1;
	s += 16;
	if (*s == ':') {
		if (digits(s + 1, 2, &sec) < 0)
			return -1;
		s += 3;
	}
	if (h > 23 || mi > 59 || sec > 59 || parse_zone(s, &off) < 0)
		return -1;
	*t = (time_t)(day * 86400 + h * 3600 + mi * 60 + sec - off);
	return *t < 0 || (long long)*t > MQ_CLOCK_MAX ? -1 : 0;
}

int mq_clock_parse(const char *s, time_t *t, struct mq_err *err)
{
	if (parse_epoch(s, t) == 0 || parse_iso(s, t) == 0)
		return MQ_OK;
	return mq_err_perm(err, EX_USAGE,
	    "MAILQ_NOW: '%.100s' is not a time from 1970-01-01 to 9999-12-31 "
	    "as epoch seconds or ISO 8601 (2026-11-24T10:00:00Z)", s);
}

/* MAILQ_NOW sets the clock once; from there it runs on with the real
 * (monotonic) time, so that a run that waits sees time pass. */
int mq_clock_now_ms(long long *now, struct mq_err *err)
{
	static struct timespec origin;
	static time_t base;
	static int set;
	const char *s = getenv("MAILQ_NOW");
	struct timespec ts;
	int rc;

	if (s == NULL || *s == '\0') {
		clock_gettime(CLOCK_REALTIME, &ts);
		*now = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
		return MQ_OK;
	}
	if (!set) {
		if ((rc = mq_clock_parse(s, &base, err)) != MQ_OK)
			return rc;
		clock_gettime(CLOCK_MONOTONIC, &origin);
		set = 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	*now = base * 1000LL + (ts.tv_sec - origin.tv_sec) * 1000LL +
	    (ts.tv_nsec - origin.tv_nsec) / 1000000;
	return MQ_OK;
}

int mq_clock_now(time_t *now, struct mq_err *err)
{
	long long ms;
	int rc;

	if ((rc = mq_clock_now_ms(&ms, err)) == MQ_OK)
		*now = (time_t)(ms / 1000);
	return rc;
}

void mq_clock_iso(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
