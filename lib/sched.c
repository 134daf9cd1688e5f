/*
 * Sending windows in the campaign's time zone. The zone arithmetic is
 * lib/tz's: a pure function of the zone and the instant, which neither
 * reads nor changes TZ, so any thread may call this module at any time.
 * Dates are walked as plain civil day numbers, never by adding 86400
 * seconds, because a local day is 23, 24 or 25 hours long. "The first
 * moment the clock reads 09:00" is mq_tz_utc's: in a DST gap that moment
 * does not exist and in a fall-back hour it exists twice, and it settles
 * both. This module also owns the calendar's words: dates "YYYY-MM-DD"
 * and weekday names, for the config and the reports.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "sched.h"
#include "tz.h"

#define MAX_DAYS 400
#define DAY_SECS 86400LL

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

static const char day_names[7][4] = {
	"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"
};

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

	return mq_tz_day_of(y, month, day);
}

int mq_sched_tz_valid(const char *name)
{
	return mq_tz_get(name) != NULL;
}

int mq_sched_calendar_valid(const char *calendar)
{
	return calendar == NULL || calendar[0] == '\0' ||
	    strcmp(calendar, "PL") == 0;
}

const char *mq_sched_day_name(int wd)
{
	return wd >= 0 && wd < 7 ? day_names[wd] : "?";
}

/* The weekday whose name is at *p (any case, spaces around), stepping
 * past it; -1 if none. */
static int day_index(const char **p)
{
	const char *q = *p + strspn(*p, " ");
	int i;

	for (i = 0; i < 7; i++)
		if (strncasecmp(q, day_names[i], 3) == 0 &&
		    !isalpha((unsigned char)q[3])) {
			*p = q + 3 + strspn(q + 3, " ");
			return i;
		}
	return -1;
}

int mq_sched_days_parse(const char *p)
{
	int mask = 0, a, b;

	for (;;) {
		if ((a = day_index(&p)) < 0)
			return -1;
		b = a;
		if (*p == '-') {
			p++;
			if ((b = day_index(&p)) < a)
				return -1;
		}
		while (a <= b)
			mask |= 1 << a++;
		if (*p == '\0')
			return mask;
		if (*p++ != ',')
			return -1;
	}
}

/* Reads one "YYYY-MM-DD" at *p, stepping past it, its day number into
 * *day; 0 if it is not a real date from 1970 on. */
static int parse_date(const char **p, long long *day)
{
	const char *q = *p;
	int i, y = 0, m, d;
	struct mq_tz_date dt;

	for (i = 0; i < 10; i++)
		if (i == 4 || i == 7 ? q[i] != '-' : q[i] < '0' || q[i] > '9')
			return 0;
	for (i = 0; i < 4; i++)
		y = y * 10 + (q[i] - '0');
	m = (q[5] - '0') * 10 + (q[6] - '0');
	d = (q[8] - '0') * 10 + (q[9] - '0');
	if (y < 1970 || m < 1 || m > 12 || d < 1)
		return 0;
	*day = mq_tz_day_of(y, m, d);
	dt = mq_tz_date_of(*day);
	if (dt.m != m || dt.d != d)
		return 0;
	*p += 10;
	return 1;
}

int mq_sched_date(const char *s, long long *day)
{
	long long d;

	if (s == NULL || !parse_date(&s, &d) || *s != '\0')
		return 0;
	if (day != NULL)
		*day = d;
	return 1;
}

/* -1 if list is not "YYYY-MM-DD, ..." (or empty), else 1 if want (-1 for
 * none) is among its days, else 0. */
static int date_listed(const char *list, long long want)
{
	const char *p = list;
	long long day;
	int found = 0;

	if (p == NULL)
		return 0;
	for (;;) {
		p += strspn(p, " \t");
		if (*p == '\0')
			return found;
		if (!parse_date(&p, &day))
			return -1;
		found |= day == want;
		p += strspn(p, " \t");
		if (*p == ',')
			p++;
		else if (*p != '\0')
			return -1;
	}
}

int mq_sched_dates_valid(const char *list)
{
	return date_listed(list, -1) >= 0;
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
	off = mq_tz_day_of(y, m, d) - easter_day(y);
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

static int zone(const char *tz, const struct mq_tz **z, struct mq_err *err)
{
	if ((*z = mq_tz_get(tz)) == NULL)
		return mq_err_perm(err, EX_CONFIG, "unknown time zone \"%s\"",
		    tz != NULL ? tz : "");
	return MQ_OK;
}

static int sched_check(const struct mq_sched *s, const struct mq_tz **z,
    struct mq_err *err)
{
	int rc;

	if ((rc = zone(s->timezone, z, err)) != MQ_OK)
		return rc;
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

/* Local date and second of the day of t in z. */
static void local_of(const struct mq_tz *z, time_t t, long long *day,
    int *sec)
{
	struct mq_tz_local l;

	if (mq_tz_local(z, t, &l) < 0) {
		*day = 0;
		*sec = 0;
		return;
	}
	*day = l.day;
	*sec = l.sec;
}

/* The first instant at which the local clock reads at least sec seconds
 * into day (sec may be 86400: the next midnight); see mq_tz_utc. */
static time_t first_at_wall(const struct mq_tz *z, long long day, int sec)
{
	time_t t;

	return mq_tz_utc(z, day * DAY_SECS + sec, &t) == 0 ? t : (time_t)-1;
}

/* Nonzero if the local day is a sending day; else writes why. */
static int day_allowed(const struct mq_sched *s, long long day, char *why,
    size_t whylen)
{
	struct mq_tz_date dt = mq_tz_date_of(day);
	int wd = mq_tz_weekday(day);
	const char *name;

	if (!(s->days & (1 << wd))) {
		if (why != NULL)
			snprintf(why, whylen, "%s", wd >= 5 ? "weekend" :
			    "not a sending day");
		return 0;
	}
	name = mq_sched_holiday(s->holidays, dt.y, dt.m, dt.d);
	if (name == NULL && date_listed(s->extra_holidays, day) == 1)
		name = "extra holiday";
	if (name != NULL) {
		if (why != NULL)
			snprintf(why, whylen, "holiday: %s", name);
		return 0;
	}
	return 1;
}

/* The window test itself. */
static int open_at(const struct mq_sched *s, const struct mq_tz *z,
    time_t t, char *why, size_t whylen)
{
	long long day;
	int sec, min;

	local_of(z, t, &day, &sec);
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
	const struct mq_tz *z;
	int rc;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if ((rc = sched_check(s, &z, err)) != MQ_OK)
		return rc;
	*open = open_at(s, z, t, why, whylen);
	return MQ_OK;
}

/* The first open moment >= from, or -1: each later local day in turn,
 * from that day's window start (or from itself on its own day). */
static time_t next_open_in_zone(const struct mq_sched *s,
    const struct mq_tz *z, time_t from)
{
	long long day, first;
	time_t start, end, c;
	int sec;

	local_of(z, from, &first, &sec);
	for (day = first; day <= first + MAX_DAYS; day++) {
		if (!day_allowed(s, day, NULL, 0))
			continue;
		start = first_at_wall(z, day, s->start_min * 60);
		end = first_at_wall(z, day, s->end_min * 60);
		c = start > from ? start : from;
		if (c < end && open_at(s, z, c, NULL, 0))
			return c;
	}
	return (time_t)-1;
}

int mq_sched_next_open(const struct mq_sched *s, time_t from, time_t *at,
    struct mq_err *err)
{
	const struct mq_tz *z;
	time_t t;
	int rc;

	if ((rc = sched_check(s, &z, err)) != MQ_OK)
		return rc;
	t = open_at(s, z, from, NULL, 0) ? from :
	    next_open_in_zone(s, z, from);
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
	const struct mq_tz *z;
	long long day;
	int rc, sec;

	if ((rc = sched_check(s, &z, err)) != MQ_OK)
		return rc;
	if (!open_at(s, z, t, NULL, 0))
		return mq_err_perm(err, EX_SOFTWARE,
		    "window end asked for a time outside the window");
	local_of(z, t, &day, &sec);
	*at = first_at_wall(z, day, s->end_min * 60);
	return MQ_OK;
}

int mq_sched_local_day(const char *tz, time_t t, char *buf, size_t len,
    time_t *day_start, time_t *day_end, struct mq_err *err)
{
	const struct mq_tz *z;
	struct mq_tz_date dt;
	long long day;
	int rc, sec, n;

	if ((rc = zone(tz, &z, err)) != MQ_OK)
		return rc;
	local_of(z, t, &day, &sec);
	if (day_start != NULL)
		*day_start = first_at_wall(z, day, 0);
	if (day_end != NULL)
		*day_end = first_at_wall(z, day + 1, 0);
	dt = mq_tz_date_of(day);
	n = snprintf(buf, len, "%04d-%02d-%02d", dt.y, dt.m, dt.d);
	if (n < 0 || (size_t)n >= len)
		return mq_err_perm(err, EX_SOFTWARE, "date buffer too small");
	return MQ_OK;
}

/* Nonzero if fmt asks strftime for %s, the one conversion it works out
 * through mktime, and so through TZ. */
static int asks_epoch(const char *fmt)
{
	const char *p;

	for (p = strchr(fmt, '%'); p != NULL; p = strchr(p, '%')) {
		p++;
		p += strspn(p, "_-0^#");
		p += strspn(p, "0123456789");
		p += strspn(p, "EO");
		if (*p == 's')
			return 1;
		if (*p != '\0')
			p++;
	}
	return 0;
}

/* l as a struct tm whose zone strftime takes from tm_zone and
 * tm_gmtoff (glibc), not from TZ. */
static void tm_of(const struct mq_tz_local *l, struct tm *tm)
{
	struct mq_tz_date dt = mq_tz_date_of(l->day);

	memset(tm, 0, sizeof *tm);
	tm->tm_year = dt.y - 1900;
	tm->tm_mon = dt.m - 1;
	tm->tm_mday = dt.d;
	tm->tm_hour = l->sec / 3600;
	tm->tm_min = l->sec / 60 % 60;
	tm->tm_sec = l->sec % 60;
	tm->tm_wday = (mq_tz_weekday(l->day) + 1) % 7;
	tm->tm_yday = (int)(l->day - mq_tz_day_of(dt.y, 1, 1));
	tm->tm_isdst = l->isdst;
	tm->tm_gmtoff = l->off;
	tm->tm_zone = l->abbr;
}

int mq_sched_format(const char *tz, time_t t, const char *fmt, char *buf,
    size_t len, struct mq_err *err)
{
	const struct mq_tz *z;
	struct mq_tz_local l;
	struct tm tm;
	size_t n;
	int rc;

	if (len == 0)
		return mq_err_perm(err, EX_SOFTWARE, "no room to format a time");
	if ((rc = zone(tz, &z, err)) != MQ_OK)
		return rc;
	buf[0] = '\0';
	if (asks_epoch(fmt))
		return mq_err_perm(err, EX_SOFTWARE, "time format \"%s\": %%s "
		    "is not supported", fmt);
	if (mq_tz_local(z, t, &l) < 0)
		return mq_err_perm(err, EX_SOFTWARE, "time %lld out of range",
		    (long long)t);
	tm_of(&l, &tm);
	n = strftime(buf, len, fmt, &tm);
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
	const struct mq_tz *z;
	struct mq_tz_local l;
	int rc;

	*off = 0;
	if ((rc = zone(tz, &z, err)) != MQ_OK)
		return rc;
	if (mq_tz_local(z, t, &l) < 0)
		return mq_err_perm(err, EX_SOFTWARE, "time %lld out of range",
		    (long long)t);
	*off = l.off;
	return MQ_OK;
}
