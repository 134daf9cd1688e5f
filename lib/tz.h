/*
 * Time zones read from their compiled files (RFC 8536, TZif) in $TZDIR,
 * else /usr/share/zoneinfo, without TZ or tzset: converting between UTC
 * and a zone's local time depends on the zone and the instant only, and
 * changes nothing another thread could see. A zone got by name is read
 * once and kept, unchanged, for the life of the process; one read from
 * bytes is the caller's. Also the proleptic Gregorian calendar as plain
 * day numbers, which the conversions need.
 */
#ifndef MQ_TZ_H
#define MQ_TZ_H

#include <stddef.h>
#include <time.h>

/* Instants and local readings beyond this many seconds from the epoch
 * either way (some 34,000 years) are out of range. */
#define MQ_TZ_LIMIT (1LL << 40)

struct mq_tz;

/* A local reading of the clock. */
struct mq_tz_local {
	long long   day;    /* the local date, in days since 1970-01-01 */
	int         sec;    /* seconds into that day, 0..86399 */
	long        off;    /* seconds east of UTC */
	int         isdst;
	const char *abbr;   /* "CET", "-03"; never empty, kept with the zone */
};

struct mq_tz_date {
	int y, m, d;        /* m 1..12, d 1..31 */
};

/* The zone named name ("Europe/Warsaw"), or NULL when name is empty,
 * absolute, holds "..", or is no valid zone file (a directory, a table
 * such as zone.tab). Loaded on the first call for its file, then the same
 * one every time: the caller must not free it. Safe from any thread. */
const struct mq_tz *mq_tz_get(const char *name);

/* The zone whose file is the len bytes at p, read by mq_tz_get's own
 * parser, or NULL when they are no valid zone file (or memory ran out).
 * Not kept with the zones got by name: the caller owns it, frees it with
 * mq_tz_free, and may use it from any thread until then. */
struct mq_tz *mq_tz_read(const unsigned char *p, size_t len);

/* Frees a zone from mq_tz_read; NULL is ignored. */
void mq_tz_free(struct mq_tz *z);

/* The reading of z's clock at UTC instant t into *out; -1 when t is out
 * of range, else 0. */
int mq_tz_local(const struct mq_tz *z, time_t t, struct mq_tz_local *out);

/* The first instant at which z's clock reads local (seconds since
 * 1970-01-01 00:00 by that clock) or later, into *t. So a reading the
 * clock shows twice, when it is put back, gives the earlier instant, and
 * a reading it skips, when it is put forward, the instant it jumps past
 * it. -1 when local is out of range, else 0. */
int mq_tz_utc(const struct mq_tz *z, long long local, time_t *t);

/* The first instant after t at which z's offset, daylight saving flag or
 * abbreviation changes into *at: 1, or 0 if it never changes again (or
 * not until some three years past MQ_TZ_LIMIT, as far as it looks) or t
 * is out of range. */
int mq_tz_next_change(const struct mq_tz *z, time_t t, time_t *at);

/* Days since 1970-01-01 of y-m-d (m 1..12), and back. */
long long mq_tz_day_of(int y, int m, int d);
struct mq_tz_date mq_tz_date_of(long long day);

/* The weekday of day: 0 = Monday ... 6 = Sunday. */
int mq_tz_weekday(long long day);

#endif
