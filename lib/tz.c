/*
 * Time zones from their files, not through TZ: the C library keeps one
 * zone for the whole process, so a library that switched it for each
 * campaign changed what every thread saw. A zone file (RFC 8536) is a
 * list of transitions, each naming the local time type (offset, DST
 * flag, abbreviation) from then on, and a footer, a POSIX TZ string with
 * RFC 8536's extensions, for the instants after the last transition.
 * Version 2 and later files are read by their 64-bit data, version 1
 * files by their 32-bit data. Leap-second records (the right/ zones) are
 * skipped: mailq's clock is POSIX time. Zones loaded by name are never
 * changed or freed, so conversions need no lock; only the list of them
 * has one. mq_tz_read hands the same parser's zone to its caller.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tz.h"

#define DAY       86400LL
#define YEAR      (366 * DAY)
#define MAX_FILE  (1 << 18)     /* far beyond any zone file */
#define ABBR      32            /* room for a footer's name */
#define MIN_OFF   (-89999)      /* RFC 8536's bounds of an offset */
#define MAX_OFF   93599
#define NCH       10            /* a footer's changes looked at: 5 years */

struct type {
	long        off;
	int         isdst;
	const char *abbr;
};

/* A footer's date rule: Jn (1..365, no 29 February), n (0..365) or
 * Mm.w.d, and the local time of day of the change. */
struct rule {
	char kind;              /* 'J', 'n' or 'M' */
	int  m, w, d;           /* d is n for 'J' and 'n' */
	long time;
};

enum { FOOTER_NONE, FOOTER_FIXED, FOOTER_RULES };

struct mq_tz {
	struct mq_tz  *next;    /* the list of loaded zones */
	time_t        *at;      /* transitions, ascending */
	unsigned char *idx;     /* the type each transition brings */
	struct type   *types;
	char          *chars;   /* the file's abbreviations */
	int            n, ntypes;
	int            footer;  /* what the footer says: FOOTER_* */
	struct type    std, dst;
	struct rule    start, end;  /* of daylight saving time */
	char           std_abbr[ABBR], dst_abbr[ABBR];
	char           path[];
};

static pthread_mutex_t zones_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mq_tz *zones;

/* --- the calendar (H. Hinnant's algorithms) ---------------------------- */

long long mq_tz_day_of(int y, int m, int d)
{
	long long era, yoe, doy, doe, yy = (long long)y - (m <= 2);

	era = (yy >= 0 ? yy : yy - 399) / 400;
	yoe = yy - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

struct mq_tz_date mq_tz_date_of(long long z)
{
	long long era, doe, yoe, doy, mp;
	struct mq_tz_date r;

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

/* 1970-01-01 was a Thursday. */
int mq_tz_weekday(long long day)
{
	return (int)(((day + 3) % 7 + 7) % 7);
}

static long long floor_div(long long a, long long b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* --- the footer -------------------------------------------------------- */

static int digit(char c)
{
	return c >= '0' && c <= '9';
}

static int letter(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* An unsigned number in lo..hi at *s; -1 if none. */
static int number(const char **s, int lo, int hi, int *out)
{
	const char *p = *s;
	int v = 0;

	if (!digit(*p))
		return -1;
	while (digit(*p) && v <= hi)
		v = v * 10 + (*p++ - '0');
	if (v < lo || v > hi)
		return -1;
	*s = p;
	*out = v;
	return 0;
}

/* A zone name: letters, or anything of letters, digits, '+' and '-'
 * between '<' and '>'. */
static int footer_name(const char **s, char *out)
{
	const char *p = *s, *b, *e;

	if (*p == '<') {
		for (b = ++p; letter(*p) || digit(*p) || *p == '+' ||
		    *p == '-'; p++)
			;
		if (*p != '>')
			return -1;
		e = p++;
	} else {
		for (b = p; letter(*p); p++)
			;
		e = p;
	}
	if (e == b || e - b >= ABBR)
		return -1;
	memcpy(out, b, (size_t)(e - b));
	out[e - b] = '\0';
	*s = p;
	return 0;
}

/* [+-]hh[:mm[:ss]] with hh up to maxh, in seconds. */
static int footer_hms(const char **s, int maxh, long *out)
{
	const char *p = *s;
	int sign = 1, h, m = 0, sec = 0;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	if (number(&p, 0, maxh, &h) < 0)
		return -1;
	if (*p == ':' && (p++, number(&p, 0, 59, &m) < 0))
		return -1;
	if (*p == ':' && (p++, number(&p, 0, 59, &sec) < 0))
		return -1;
	*out = sign * (h * 3600L + m * 60L + sec);
	*s = p;
	return 0;
}

static int footer_rule(const char **s, struct rule *r)
{
	const char *p = *s;
	int ok;

	memset(r, 0, sizeof *r);
	r->kind = *p == 'J' || *p == 'M' ? *p++ : 'n';
	if (r->kind == 'M')
		ok = number(&p, 1, 12, &r->m) == 0 && *p++ == '.' &&
		    number(&p, 1, 5, &r->w) == 0 && *p++ == '.' &&
		    number(&p, 0, 6, &r->d) == 0;
	else
		ok = number(&p, r->kind == 'J', 365, &r->d) == 0;
	r->time = 2 * 3600;
	if (!ok || (*p == '/' && (p++, footer_hms(&p, 167, &r->time) < 0)))
		return -1;
	*s = p;
	return 0;
}

/* "CET-1CEST,M3.5.0,M10.5.0/3": the offsets count west, the rules say
 * when daylight saving time starts and ends. "" says nothing. */
static int footer_parse(struct mq_tz *z, const char *s)
{
	long std, dst;

	if (*s == '\0')
		return 0;
	if (footer_name(&s, z->std_abbr) < 0 || footer_hms(&s, 24, &std) < 0)
		return -1;
	z->std = (struct type){ -std, 0, z->std_abbr };
	z->footer = FOOTER_FIXED;
	if (*s == '\0')
		return 0;
	if (footer_name(&s, z->dst_abbr) < 0)
		return -1;
	dst = std - 3600;
	if (*s != ',' && footer_hms(&s, 24, &dst) < 0)
		return -1;
	z->dst = (struct type){ -dst, 1, z->dst_abbr };
	if (*s++ != ',' || footer_rule(&s, &z->start) < 0 || *s++ != ',' ||
	    footer_rule(&s, &z->end) < 0 || *s != '\0')
		return -1;
	z->footer = FOOTER_RULES;
	return 0;
}

/* The local date on which rule r falls in year y. */
static long long rule_day(const struct rule *r, int y)
{
	long long jan1 = mq_tz_day_of(y, 1, 1), first;
	int leap = mq_tz_day_of(y, 3, 1) - mq_tz_day_of(y, 2, 28) == 2;
	int dim, sunday0, d;

	if (r->kind == 'J')
		return jan1 + r->d - 1 + (leap && r->d >= 60);
	if (r->kind == 'n')
		return jan1 + r->d;
	first = mq_tz_day_of(y, r->m, 1);
	dim = (int)(mq_tz_day_of(y + (r->m == 12), r->m % 12 + 1, 1) - first);
	sunday0 = (mq_tz_weekday(first) + 1) % 7;
	d = (r->d - sunday0 + 7) % 7 + (r->w - 1) * 7;
	while (d >= dim)
		d -= 7;
	return first + d;
}

/* The changes of years y-2 .. y+2 in this order, start before end within
 * a year: in[i] says whether change i starts daylight saving time. A
 * rule's time of day (up to 167 hours either way) and the offset move a
 * year's changes up to some 8 days out of it, so those of year y-1 can
 * fall in year y+1 (a rule "J365/50"): the latest change before an
 * instant of year y may be one of year y-2, the first after it one of
 * year y+2. */
static void footer_changes(const struct mq_tz *z, int y, time_t at[NCH],
    int in[NCH])
{
	int i;

	for (i = 0; i < NCH / 2; i++) {
		at[2 * i] = rule_day(&z->start, y - 2 + i) * DAY +
		    z->start.time - z->std.off;
		in[2 * i] = 1;
		at[2 * i + 1] = rule_day(&z->end, y - 2 + i) * DAY +
		    z->end.time - z->dst.off;
		in[2 * i + 1] = 0;
	}
}

static int year_of(time_t t)
{
	return mq_tz_date_of(floor_div(t, DAY)).y;
}

/* The footer's type at t: that of the latest change at or before t, the
 * later of two at the same instant (so a zone in daylight saving time all
 * year, "0/0,J365/25", stays in it). */
static const struct type *footer_at(const struct mq_tz *z, time_t t)
{
	time_t at[NCH], best = 0;
	int in[NCH], i, dst = 0, found = 0;

	if (z->footer != FOOTER_RULES)
		return &z->std;
	footer_changes(z, year_of(t), at, in);
	for (i = 0; i < NCH; i++)
		if (at[i] <= t && (!found || at[i] >= best)) {
			best = at[i];
			dst = in[i];
			found = 1;
		}
	return dst ? &z->dst : &z->std;
}

/* The first change of the footer after t. */
static time_t footer_next(const struct mq_tz *z, time_t t)
{
	time_t at[NCH], best = 0;
	int in[NCH], i, found = 0;

	footer_changes(z, year_of(t), at, in);
	for (i = 0; i < NCH; i++)
		if (at[i] > t && (!found || at[i] < best)) {
			best = at[i];
			found = 1;
		}
	return best;
}

/* --- conversions ------------------------------------------------------- */

static const struct type *type_at(const struct mq_tz *z, time_t t)
{
	int lo = 0, hi = z->n - 1, mid;

	if (z->footer != FOOTER_NONE && (z->n == 0 || t >= z->at[z->n - 1]))
		return footer_at(z, t);
	if (z->n == 0 || t < z->at[0])
		return &z->types[0];
	while (lo < hi) {       /* the last transition at or before t */
		mid = lo + (hi - lo + 1) / 2;
		if (z->at[mid] <= t)
			lo = mid;
		else
			hi = mid - 1;
	}
	return &z->types[z->idx[lo]];
}

/* The first transition after t in the file or the footer, whether or not
 * it changes anything. */
static int transition_after(const struct mq_tz *z, time_t t, time_t *at)
{
	int lo = 0, hi;

	if (z->n > 0 && t < z->at[z->n - 1]) {
		for (hi = z->n - 1; lo < hi;) {
			int mid = lo + (hi - lo) / 2;

			if (z->at[mid] > t)
				hi = mid;
			else
				lo = mid + 1;
		}
		*at = z->at[lo];
		return 1;
	}
	if (z->footer != FOOTER_RULES)
		return 0;
	*at = footer_next(z, t);
	return 1;
}

static int same(const struct type *a, const struct type *b)
{
	return a->off == b->off && a->isdst == b->isdst &&
	    strcmp(a->abbr, b->abbr) == 0;
}

/* mq_tz_next_change for any t from two days before the range on, where
 * mq_tz_utc starts looking for a reading at its lower end. */
static int next_change(const struct mq_tz *z, time_t t, time_t *at)
{
	time_t c = t, last = z->n > 0 ? z->at[z->n - 1] : t;
	time_t stop = last > t ? last : t;

	/* past the file's last transition, the footer repeats every year;
	 * a file's times may lie anywhere, but no change is looked for far
	 * beyond the range, where the footer's years would not fit an int */
	stop = (stop < MQ_TZ_LIMIT ? stop : MQ_TZ_LIMIT) + 3 * YEAR;
	while (transition_after(z, c, &c) && c <= stop)
		if (!same(type_at(z, c - 1), type_at(z, c))) {
			*at = c;
			return 1;
		}
	return 0;
}

int mq_tz_next_change(const struct mq_tz *z, time_t t, time_t *at)
{
	if (t < -MQ_TZ_LIMIT || t > MQ_TZ_LIMIT)
		return 0;
	return next_change(z, t, at);
}

int mq_tz_local(const struct mq_tz *z, time_t t, struct mq_tz_local *out)
{
	const struct type *ty;
	long long l;

	if (t < -MQ_TZ_LIMIT || t > MQ_TZ_LIMIT)
		return -1;
	ty = type_at(z, t);
	l = (long long)t + ty->off;
	out->day = floor_div(l, DAY);
	out->sec = (int)(l - out->day * DAY);
	out->off = ty->off;
	out->isdst = ty->isdst;
	out->abbr = ty->abbr;
	return 0;
}

/* The clock runs evenly between changes, so the answer is, of the spans
 * from two days before on, the first whose clock reaches local: an
 * offset is less than 26 hours, so that one is found within four days. */
int mq_tz_utc(const struct mq_tz *z, long long local, time_t *t)
{
	time_t s = local - 2 * DAY, e, c;

	if (local < -MQ_TZ_LIMIT || local > MQ_TZ_LIMIT)
		return -1;
	for (;;) {
		c = local - type_at(z, s)->off;
		if (c < s)
			c = s;
		if (!next_change(z, s, &e) || c < e)
			break;
		s = e;
	}
	*t = c;
	return 0;
}

/* --- zone files -------------------------------------------------------- */

struct head {
	int      version;
	uint32_t isut, isstd, leap, times, types, chars;
};

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* A header at p (len bytes left) into *h, and the size of the data
 * that follows it with times of tsize bytes into *n; -1 if it is not
 * one, or the data is cut short. */
static int head_read(const unsigned char *p, size_t len, int tsize,
    struct head *h, size_t *n)
{
	if (len < 44 || memcmp(p, "TZif", 4) != 0)
		return -1;
	h->version = p[4];
	h->isut = be32(p + 20);
	h->isstd = be32(p + 24);
	h->leap = be32(p + 28);
	h->times = be32(p + 32);
	h->types = be32(p + 36);
	h->chars = be32(p + 40);
	if (h->isut > MAX_FILE || h->isstd > MAX_FILE || h->leap > MAX_FILE ||
	    h->times > MAX_FILE || h->types > MAX_FILE || h->chars > MAX_FILE)
		return -1;
	*n = (size_t)h->times * (tsize + 1) + (size_t)h->types * 6 +
	    h->chars + (size_t)h->leap * (tsize + 4) + h->isstd + h->isut;
	return 44 + *n <= len ? 0 : -1;
}

static void zone_free(struct mq_tz *z)
{
	if (z == NULL)
		return;
	free(z->at);
	free(z->idx);
	free(z->types);
	free(z->chars);
	free(z);
}

/* The data block at p, described by h, into z. */
static int data_read(struct mq_tz *z, const unsigned char *p,
    const struct head *h, int tsize)
{
	uint32_t i;
	int32_t off;

	if (h->types < 1 || h->types > 256 || h->chars < 1 ||
	    (h->isut != 0 && h->isut != h->types) ||
	    (h->isstd != 0 && h->isstd != h->types))
		return -1;
	z->n = (int)h->times;
	z->ntypes = (int)h->types;
	if ((z->at = calloc(h->times + 1, sizeof *z->at)) == NULL ||
	    (z->idx = calloc(h->times + 1, 1)) == NULL ||
	    (z->types = calloc(h->types, sizeof *z->types)) == NULL ||
	    (z->chars = malloc(h->chars)) == NULL)
		return -1;
	for (i = 0; i < h->times; i++, p += tsize) {
		z->at[i] = tsize == 8 ? (time_t)be64(p) : (int32_t)be32(p);
		if (i > 0 && z->at[i] <= z->at[i - 1])
			return -1;
	}
	for (i = 0; i < h->times; i++)
		if ((z->idx[i] = *p++) >= h->types)
			return -1;
	memcpy(z->chars, p + h->types * 6, h->chars);
	if (z->chars[h->chars - 1] != '\0')
		return -1;
	for (i = 0; i < h->types; i++, p += 6) {
		off = (int32_t)be32(p);
		if (off < MIN_OFF || off > MAX_OFF || p[4] > 1 ||
		    p[5] >= h->chars || z->chars[p[5]] == '\0')
			return -1;
		z->types[i] = (struct type){ off, p[4], z->chars + p[5] };
	}
	return 0;
}

/* The footer after the version 2 data: "\nTZ string\n". */
static int footer_read(struct mq_tz *z, const unsigned char *p, size_t len)
{
	const unsigned char *nl;
	char s[128];

	if (len < 2 || p[0] != '\n' ||
	    (nl = memchr(p + 1, '\n', len - 1)) == NULL ||
	    (size_t)(nl - p - 1) >= sizeof s ||
	    memchr(p + 1, '\0', (size_t)(nl - p - 1)) != NULL)
		return -1;
	memcpy(s, p + 1, (size_t)(nl - p - 1));
	s[nl - p - 1] = '\0';
	return footer_parse(z, s);
}

static struct mq_tz *zone_parse(const unsigned char *p, size_t len,
    const char *path)
{
	struct mq_tz *z;
	struct head h;
	size_t n, off = 0;
	int tsize = 4;

	if (head_read(p, len, 4, &h, &n) < 0)
		return NULL;
	if (h.version >= '2') {
		off = 44 + n;
		tsize = 8;
		if (head_read(p + off, len - off, 8, &h, &n) < 0)
			return NULL;
	}
	if ((z = calloc(1, sizeof *z + strlen(path) + 1)) == NULL)
		return NULL;
	strcpy(z->path, path);
	if (data_read(z, p + off + 44, &h, tsize) < 0 ||
	    (tsize == 8 && footer_read(z, p + off + 44 + n,
	    len - off - 44 - n) < 0)) {
		zone_free(z);
		return NULL;
	}
	return z;
}

struct mq_tz *mq_tz_read(const unsigned char *p, size_t len)
{
	return zone_parse(p, len, "");
}

void mq_tz_free(struct mq_tz *z)
{
	zone_free(z);
}

static struct mq_tz *zone_load(const char *path)
{
	unsigned char *buf;
	struct mq_tz *z = NULL;
	size_t len = 0;
	ssize_t r = -1;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	if ((buf = malloc(MAX_FILE)) == NULL)
		goto out;
	while (len < MAX_FILE && (r = read(fd, buf + len, MAX_FILE - len)) > 0)
		len += (size_t)r;
	if (len < MAX_FILE && r == 0)   /* read all of it, not a directory */
		z = zone_parse(buf, len, path);
out:
	free(buf);
	close(fd);
	return z;
}

const struct mq_tz *mq_tz_get(const char *name)
{
	const char *dir = getenv("TZDIR");
	struct mq_tz *z;
	char path[4096];
	int n;

	if (name == NULL || name[0] == '\0' || name[0] == '/' ||
	    strstr(name, "..") != NULL)
		return NULL;
	if (dir == NULL || dir[0] == '\0')
		dir = "/usr/share/zoneinfo";
	n = snprintf(path, sizeof path, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof path)
		return NULL;
	pthread_mutex_lock(&zones_lock);
	for (z = zones; z != NULL && strcmp(z->path, path) != 0; z = z->next)
		;
	if (z == NULL && (z = zone_load(path)) != NULL) {
		z->next = zones;
		zones = z;
	}
	pthread_mutex_unlock(&zones_lock);
	return z;
}
