/*
 * Sending windows: allowed weekdays, a time-of-day range and holidays, all
 * in the campaign's IANA time zone (DST-correct through lib/tz, which
 * reads the zone files itself: no function here reads or changes TZ, and
 * all are safe from any thread). Built-in holiday calendar "PL": every
 * Polish statutory holiday including the movable ones (Easter, Pentecost,
 * Corpus Christi) and 24 December from 2025. Times in and out are UTC
 * epoch seconds. Also the one reading of dates and weekday names.
 */
#ifndef MQ_SCHED_H
#define MQ_SCHED_H

#include <stddef.h>
#include <time.h>

#include "err.h"

struct mq_sched {
	const char *timezone;       /* IANA name, e.g. "Europe/Warsaw" */
	int         days;           /* bit 0 = Monday ... bit 6 = Sunday */
	int         start_min;      /* window start, minutes after midnight */
	int         end_min;        /* window end (exclusive), <= 1440 */
	const char *holidays;       /* "" or "PL" */
	const char *extra_holidays; /* "YYYY-MM-DD,YYYY-MM-DD" or "" */
};

/* Nonzero if name is a time zone this machine knows (a valid zone file in
 * $TZDIR or /usr/share/zoneinfo); see mq_tz_get, which keeps it loaded. */
int mq_sched_tz_valid(const char *name);

/* Nonzero if calendar is "" or a built-in calendar name. */
int mq_sched_calendar_valid(const char *calendar);

/* Nonzero if list is "" (or NULL) or comma-separated dates as
 * mq_sched_date reads them, as extra_holidays must be. */
int mq_sched_dates_valid(const char *list);

/* Nonzero if s is exactly a real date "YYYY-MM-DD" from 1970 on; its days
 * since 1970-01-01 into *day (may be NULL). */
int mq_sched_date(const char *s, long long *day);

/* The English name of weekday wd (0 = Monday ... 6 = Sunday), "Mon"; "?"
 * out of range. Static storage. */
const char *mq_sched_day_name(int wd);

/* The days of "MON-FRI", "mon,wed,fri", "Mon-Wed, Fri" (names in any
 * case, spaces around them) as struct mq_sched's days; -1 if s is not
 * such a list. */
int mq_sched_days_parse(const char *s);

/* The holiday's name if y-m-d (m 1..12) is a holiday in calendar, else
 * NULL. Static storage. */
const char *mq_sched_holiday(const char *calendar, int y, int m, int d);

/* *open = 1 if t is inside the window (day allowed, not a holiday, local
 * time in [start, end)). When closed and why != NULL, writes a short reason
 * ("weekend", "before 09:00", "after 17:00", "holiday: Wszystkich
 * Świętych") into why. MQ_PERM (EX_CONFIG) for an unknown time zone. */
int mq_sched_is_open(const struct mq_sched *s, time_t t, int *open,
    char *why, size_t whylen, struct mq_err *err);

/* The first moment >= from that is inside the window, in *at. MQ_PERM
 * (EX_CONFIG) when the window never opens within 400 days (no days
 * allowed, empty range). */
int mq_sched_next_open(const struct mq_sched *s, time_t from, time_t *at,
    struct mq_err *err);

/* The end of the open window containing t (t must be open), in *at. */
int mq_sched_window_end(const struct mq_sched *s, time_t t, time_t *at,
    struct mq_err *err);

/* The local date of t in tz as "YYYY-MM-DD" (buf >= 11 bytes), and the UTC
 * epoch of that day's local midnight in *day_start (may be NULL) and of the
 * next local midnight in *day_end (may be NULL). */
int mq_sched_local_day(const char *tz, time_t t, char *buf, size_t len,
    time_t *day_start, time_t *day_end, struct mq_err *err);

/* Formats t in tz with strftime format fmt into buf: %Z and %z are the
 * zone's; %s, which strftime would work out through TZ, is refused
 * (MQ_PERM, EX_SOFTWARE). */
int mq_sched_format(const char *tz, time_t t, const char *fmt, char *buf,
    size_t len, struct mq_err *err);

/* The offset of tz from UTC at t, in seconds east, into *off. */
int mq_sched_utc_offset(const char *tz, time_t t, long *off,
    struct mq_err *err);

#endif
