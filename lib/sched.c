/*
 * Sending windows in the campaign's time zone. The C library does the zone
 * arithmetic: each call points TZ at the zone, works with localtime_r and
 * mktime, and puts TZ back as it found it, so no call leaves the process
 * changed (not thread-safe, like TZ itself). Dates are walked as plain
 * civil day numbers, never by adding 86400 seconds, because a local day
 * is 23, 24 or 25 hours long. mktime alone cannot name "the first moment
 * the clock reads 09:00": in a DST gap that moment does not exist and in a
 * fall-back hour it exists twice, so first_at_wall() settles both.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "sched.h"

#define MAX_DAYS 400
#define DAY_SECS 86400LL

struct tz_saved {
	int  had;
	char old[256];
};

struct date {
	int y, m, d;
};

struct fixed_holiday {
	int         m, d;
	int         since;  /* first year it is a holiday */
	const char *name;
};

static const struct fixed_holiday pl_fixed[] = {
	{ 1, 1, 0, "Nowy Rok" },
	{ 1, 6, 2011, "Święto Trzech Króli" },
	{ 5, 1, 0, "Święto Pracy" },
	{ 5, 3, 0, "Święto Konstytucji 3 Maja" },
	{ 8, 15, 0, "Wniebowzięcie Najświętszej Maryi Panny" },
	{ 11, 1, 0, "Wszystkich Świętych" },
	{ 11, 11, 0, "Narodowe Święto Niepodległości" },
	{ 12, 24, 2025, "Wigilia Bożego Narodzenia" },
	{ 12, 25, 0, "Boże Narodzenie (pierwszy dzień)" },
	{ 12, 26, 0, "Boże Narodzenie (drugi dzień)" },
};

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static long long days_from_civil(int y, int m, int d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static struct date civil_from_days(long long z)
{
	long long era, doe, yoe, doy, mp;
	struct date r;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	r.d = (int)(doy - (153 * mp + 2) / 5 + 1);
	r.m = (int)(mp < 10 ? mp + 3 : mp - 9);
	r.y = (int)(yoe + era * 400 + (r.m <= 2));
	return r;
}

/* 0 = Monday ... 6 = Sunday; 1970-01-01 was a Thursday. */
static int weekday_of(long long day)
{
	return (int)(((day + 3) % 7 + 7) % 7);
}

/* Easter Sunday by the anonymous Gregorian computus (Meeus). */
static long long easter_day(int y)
{
	int a = y % 19, b = y / 100, c = y % 100, d = b / 4, e = b % 4;
	int f = (b + 8) / 25, g = (b - f + 1) / 3;
	int h = (19 * a + b - d - g + 15) % 30;
	int i = c / 4, k = c % 4;
	int l = (32 + 2 * e + 2 * i - h - k) % 7;
	int m = (a + 11 * h + 22 * l) / 451;
	int month = (h + l - 7 * m + 114) / 31;
	int day = (h + l - 7 * m + 114) % 31 + 1;

	return days_from_civil(y, month, day);
}

int mq_sched_tz_valid(const char *name)
{
	static char known[128];     /* the last zone found good */
	const char *dir = getenv("TZDIR");
	char path[4096], magic[4];
	FILE *f;
	int n, ok;

	if (name == NULL || name[0] == '\0' || name[0] == '/' ||
	    strstr(name, "..") != NULL)
		return 0;
	if (strcmp(name, known) == 0)
		return 1;
	if (dir == NULL || dir[0] == '\0')
		dir = "/usr/share/zoneinfo";
	n = snprintf(path, sizeof path, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof path)
		return 0;
	/* A directory or a table such as zone.tab is not a zone. */
	if ((f = fopen(path, "rb")) == NULL)
		return 0;
	ok = fread(magic, 1, sizeof magic, f) == sizeof magic &&
	    memcmp(magic, "TZif", sizeof magic) == 0;
	fclose(f);
	if (ok && strlen(name) < sizeof known)
		strcpy(known, name);
	return ok;
}

int mq_sched_calendar_valid(const char *calendar)
{
	return calendar == NULL || calendar[0] == '\0' ||
	    strcmp(calendar, "PL") == 0;
}

/* Reads one "YYYY-MM-DD" at *p, stepping past it; 0 if it is not one. */
static int parse_date(const char **p, struct date *out)
{
	const char *q = *p;
	int i;

	for (i = 0; i < 10; i++)
		if (i == 4 || i == 7 ? q[i] != '-' : q[i] < '0' || q[i] > '9')
			return 0;
	out->y = atoi(q);
	out->m = atoi(q + 5);
	out->d = atoi(q + 8);
	if (out->m < 1 || out->m > 12 || out->d < 1 ||
	    civil_from_days(days_from_civil(out->y, out->m, out->d)).d !=
	    out->d)
		return 0;
	*p += 10;
	return 1;
}

/* -1 if list is not "YYYY-MM-DD, ..." (or empty), else 1 if want (may be
 * NULL) is among its dates, else 0. */
static int date_listed(const char *list, const struct date *want)
{
	const char *p = list;
	struct date dt;
	int found = 0;

	if (p == NULL)
		return 0;
	for (;;) {
		p += strspn(p, " \t");
		if (*p == '\0')
			return found;
		if (!parse_date(&p, &dt))
			return -1;
		if (want != NULL && dt.y == want->y && dt.m == want->m &&
		    dt.d == want->d)
			found = 1;
		p += strspn(p, " \t");
		if (*p == ',')
			p++;
		else if (*p != '\0')
			return -1;
	}
}

int mq_sched_dates_valid(const char *list)
{
	return date_listed(list, NULL) >= 0;
}

const char *mq_sched_holiday(const char *calendar, int y, int m, int d)
{
	long long off;
	size_t i;

	if (calendar == NULL || strcmp(calendar, "PL") != 0)
		return NULL;
	for (i = 0; i < sizeof pl_fixed / sizeof pl_fixed[0]; i++)
		if (pl_fixed[i].m == m && pl_fixed[i].d == d &&
		    y >= pl_fixed[i].since)
			return pl_fixed[i].name;
	off = days_from_civil(y, m, d) - easter_day(y);
	switch (off) {
	case 0:
		return "Wielkanoc";
	case 1:
		return "Poniedziałek Wielkanocny";
	case 49:
		return "Zielone Świątki";
	case 60:
		return "Boże Ciało";
	}
	return NULL;
}

static int sched_check(const struct mq_sched *s, struct mq_err *err)
{
	if (!mq_sched_tz_valid(s->timezone))
		return mq_err_perm(err, EX_CONFIG, "unknown time zone \"%s\"",
		    s->timezone != NULL ? s->timezone : "");
	if (!mq_sched_calendar_valid(s->holidays))
		return mq_err_perm(err, EX_CONFIG,
		    "unknown holiday calendar \"%s\"", s->holidays);
	if (!mq_sched_dates_valid(s->extra_holidays))
		return mq_err_perm(err, EX_CONFIG,
		    "holidays: not a list of YYYY-MM-DD dates: \"%s\"",
		    s->extra_holidays);
	if (s->start_min < 0 || s->start_min > 1440 || s->end_min < 0 ||
	    s->end_min > 1440)
		return mq_err_perm(err, EX_CONFIG,
		    "window %d-%d: minutes must be within 0..1440",
		    s->start_min, s->end_min);
	return MQ_OK;
}

static int tz_enter(const char *tz, struct tz_saved *sv, struct mq_err *err)
{
	const char *old = getenv("TZ");
	int n;

	if (!mq_sched_tz_valid(tz))
		return mq_err_perm(err, EX_CONFIG, "unknown time zone \"%s\"",
		    tz != NULL ? tz : "");
	sv->had = old != NULL;
	if (old != NULL) {
		n = snprintf(sv->old, sizeof sv->old, "%s", old);
		if (n < 0 || (size_t)n >= sizeof sv->old)
			return mq_err_perm(err, EX_SOFTWARE,
			    "TZ in the environment is too long");
	}
	if (setenv("TZ", tz, 1) != 0)
		return mq_err_perm(err, EX_OSERR, "cannot set TZ to %s", tz);
	tzset();
	return MQ_OK;
}

static void tz_leave(const struct tz_saved *sv)
{
	if (sv->had)
		setenv("TZ", sv->old, 1);
	else
		unsetenv("TZ");
	tzset();
}

/* Local date and second of the day of t, in the zone entered. */
static long long local_of(time_t t, long long *day, int *sec)
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL) {
		*day = 0;
		*sec = 0;
		return 0;
	}
	*day = days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	*sec = tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
	return *day * DAY_SECS + *sec;
}

static long long wall_of(time_t t)
{
	long long day;
	int sec;

	return local_of(t, &day, &sec);
}

static time_t mktime_wall(long long day, int sec, int isdst)
{
	struct date dt = civil_from_days(day + sec / DAY_SECS);
	struct tm tm;

	memset(&tm, 0, sizeof tm);
	tm.tm_year = dt.y - 1900;
	tm.tm_mon = dt.m - 1;
	tm.tm_mday = dt.d;
	tm.tm_sec = (int)(sec % DAY_SECS);
	tm.tm_isdst = isdst;
	return mktime(&tm);
}

/* The first instant at which the local clock reads at least sec seconds
 * into day (sec may be 86400: the next midnight). Of two instants with
 * that reading (fall back) the earlier; in a gap (spring forward) the
 * instant the clock jumps past it. */
static time_t first_at_wall(long long day, int sec)
{
	long long w = day * DAY_SECS + sec;
	time_t best = (time_t)-1, c, lo, hi, mid;
	int isdst;

	for (isdst = -1; isdst <= 1; isdst++) {
		c = mktime_wall(day, sec, isdst);
		if (wall_of(c) == w && (best == (time_t)-1 || c < best))
			best = c;
	}
	if (best != (time_t)-1)
		return best;
	c = mktime_wall(day, sec, -1);
	lo = c - DAY_SECS;
	hi = c + DAY_SECS;
	if (wall_of(lo) >= w || wall_of(hi) < w)
		return c;
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (wall_of(mid) >= w)
			hi = mid;
		else
			lo = mid;
	}
	return hi;
}

/* Nonzero if the local day is a sending day; else writes why. */
static int day_allowed(const struct mq_sched *s, long long day, char *why,
    size_t whylen)
{
	struct date dt = civil_from_days(day);
	int wd = weekday_of(day);
	const char *name;

	if (!(s->days & (1 << wd))) {
		if (why != NULL)
			snprintf(why, whylen, "%s", wd >= 5 ? "weekend" :
			    "not a sending day");
		return 0;
	}
	name = mq_sched_holiday(s->holidays, dt.y, dt.m, dt.d);
	if (name == NULL && date_listed(s->extra_holidays, &dt) == 1)
		name = "extra holiday";
	if (name != NULL) {
		if (why != NULL)
			snprintf(why, whylen, "holiday: %s", name);
		return 0;
	}
	return 1;
}

/* The window test itself, in the zone entered. */
static int open_at(const struct mq_sched *s, time_t t, char *why,
    size_t whylen)
{
	long long day;
	int sec, min;

	local_of(t, &day, &sec);
	if (!day_allowed(s, day, why, whylen))
		return 0;
	if (sec >= s->start_min * 60 && sec < s->end_min * 60)
		return 1;
	min = sec < s->start_min * 60 ? s->start_min : s->end_min;
	if (why != NULL)
		snprintf(why, whylen, "%s %02d:%02d",
		    sec < s->start_min * 60 ? "before" : "after",
		    min / 60, min % 60);
	return 0;
}

int mq_sched_is_open(const struct mq_sched *s, time_t t, int *open,
    char *why, size_t whylen, struct mq_err *err)
{
	struct tz_saved sv;
	int rc;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if ((rc = sched_check(s, err)) != MQ_OK ||
	    (rc = tz_enter(s->timezone, &sv, err)) != MQ_OK)
		return rc;
	*open = open_at(s, t, why, whylen);
	tz_leave(&sv);
	return MQ_OK;
}

/* The first open moment >= from, or -1: each later local day in turn,
 * from that day's window start (or from itself on its own day). */
static time_t next_open_in_zone(const struct mq_sched *s, time_t from)
{
	long long day, first;
	time_t start, end, c;
	int sec;

	local_of(from, &first, &sec);
	for (day = first; day <= first + MAX_DAYS; day++) {
		if (!day_allowed(s, day, NULL, 0))
			continue;
		start = first_at_wall(day, s->start_min * 60);
		end = first_at_wall(day, s->end_min * 60);
		c = start > from ? start : from;
		if (c < end && open_at(s, c, NULL, 0))
			return c;
	}
	return (time_t)-1;
}

int mq_sched_next_open(const struct mq_sched *s, time_t from, time_t *at,
    struct mq_err *err)
{
	struct tz_saved sv;
	time_t t;
	int rc;

	if ((rc = sched_check(s, err)) != MQ_OK ||
	    (rc = tz_enter(s->timezone, &sv, err)) != MQ_OK)
		return rc;
	t = open_at(s, from, NULL, 0) ? from : next_open_in_zone(s, from);
	tz_leave(&sv);
	if (t == (time_t)-1)
		return mq_err_perm(err, EX_CONFIG,
		    "the sending window never opens within %d days",
		    MAX_DAYS);
	*at = t;
	return MQ_OK;
}

int mq_sched_window_end(const struct mq_sched *s, time_t t, time_t *at,
    struct mq_err *err)
{
	struct tz_saved sv;
	long long day;
	int rc, sec, open;

	if ((rc = sched_check(s, err)) != MQ_OK ||
	    (rc = tz_enter(s->timezone, &sv, err)) != MQ_OK)
		return rc;
	local_of(t, &day, &sec);
	open = open_at(s, t, NULL, 0);
	if (open)
		*at = first_at_wall(day, s->end_min * 60);
	tz_leave(&sv);
	if (!open)
		return mq_err_perm(err, EX_SOFTWARE,
		    "window end asked for a time outside the window");
	return MQ_OK;
}

int mq_sched_local_day(const char *tz, time_t t, char *buf, size_t len,
    time_t *day_start, time_t *day_end, struct mq_err *err)
{
	struct tz_saved sv;
	struct date dt;
	long long day;
	int rc, sec, n;

	if ((rc = tz_enter(tz, &sv, err)) != MQ_OK)
		return rc;
	local_of(t, &day, &sec);
	if (day_start != NULL)
		*day_start = first_at_wall(day, 0);
	if (day_end != NULL)
		*day_end = first_at_wall(day + 1, 0);
	tz_leave(&sv);
	dt = civil_from_days(day);
	n = snprintf(buf, len, "%04d-%02d-%02d", dt.y, dt.m, dt.d);
	if (n < 0 || (size_t)n >= len)
		return mq_err_perm(err, EX_SOFTWARE, "date buffer too small");
	return MQ_OK;
}

int mq_sched_format(const char *tz, time_t t, const char *fmt, char *buf,
    size_t len, struct mq_err *err)
{
	struct tz_saved sv;
	struct tm tm;
	size_t n = 0;
	int rc, ok;

	if (len == 0)
		return mq_err_perm(err, EX_SOFTWARE, "no room to format a time");
	if ((rc = tz_enter(tz, &sv, err)) != MQ_OK)
		return rc;
	buf[0] = '\0';
	ok = localtime_r(&t, &tm) != NULL;
	if (ok)
		n = strftime(buf, len, fmt, &tm);
	tz_leave(&sv);
	if (!ok)
		return mq_err_perm(err, EX_SOFTWARE, "time %lld out of range",
		    (long long)t);
	/* strftime leaves buf undefined when it runs out of room. */
	if (n == 0 && fmt[0] != '\0') {
		buf[0] = '\0';
		return mq_err_perm(err, EX_SOFTWARE,
		    "formatted time does not fit in %zu bytes", len);
	}
	return MQ_OK;
}

int mq_sched_utc_offset(const char *tz, time_t t, long *off,
    struct mq_err *err)
{
	struct tz_saved sv;
	struct tm tm;
	int rc, ok;

	*off = 0;
	if ((rc = tz_enter(tz, &sv, err)) != MQ_OK)
		return rc;
	ok = localtime_r(&t, &tm) != NULL;
	if (ok)
		*off = tm.tm_gmtoff;
	tz_leave(&sv);
	return ok ? MQ_OK : mq_err_perm(err, EX_SOFTWARE, "time %lld out of "
	    "range", (long long)t);
}
