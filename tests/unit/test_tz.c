/*
 * lib/tz against the C library, which reads the same zone files with TZ
 * pointed at them (here only: the library itself never touches TZ).
 *
 * Every zone: each TZif file under $TZDIR (else /usr/share/zoneinfo)
 * once, but posix/ and right/ and symbolic links, which repeat others.
 * UTC to local is compared field by field (offset, DST flag,
 * abbreviation, local date, time and weekday)
 *   - one second before, at and after every change lib/tz reports from
 *     1970 to 2045, and every change the C library shows between two
 *     samples, found to the second by bisection: so the two lists of
 *     changes are compared whole, to the second;
 *   - at the samples: every hour of 2026-2035, every week of 2036-2045,
 *     where most files have listed their last transition and the footer's
 *     rules decide, and of 1970-2025. Under the sanitizers every fifth
 *     sample (5 is prime to 24 and 7, so every hour of the day and every
 *     weekday still comes round). The C library is the slow side (past a
 *     file's last transition glibc parses the footer at every call), so
 *     the zones are shared between two processes that run at once.
 * Local to UTC: each sample's reading from 2026 on goes back to its
 * instant (or to an earlier one with the same reading); at every change
 * the readings on both sides and inside a gap or an overlap give what the
 * rule says (the first instant the clock reads it or later), and every
 * answer is an instant at which the C library's clock reaches the reading
 * and had not a second before.
 *
 * Footers alone: POSIX TZ strings of every kind, in files without
 * transitions, against the C library given the same string as TZ.
 *
 * Zones from bytes: mq_tz_read against mq_tz_get, and what the fuzz
 * target (tests/fuzz/fuzz_tz.c) found, by hand.
 */
#define _GNU_SOURCE     /* nftw */
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "tz.h"

#define HOUR 3600LL
#define DAY  86400LL

/* The sanitizers watch lib/tz, not the C library: a fifth of the
 * samples takes it down every path, in a fifth of the time. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
#define STEP 5
#else
#define STEP 1
#endif

static const time_t y1970 = 0, y2026 = 1767225600, y2036 = 2082758400,
    y2046 = 2398377600;

/* What the C library says of an instant. */
struct ref {
	long      off;
	int       isdst;
	char      abbr[16];
	long long local;        /* its reading, seconds since 1970 */
	struct tm tm;
};

struct run {
	const char        *name;
	const struct mq_tz *z;
	long               compared, changes, trips, crowded;
};

/* The comparisons run in a child process (see apart()), which says what
 * differs and fails. */
__attribute__((format(printf, 1, 2), noreturn))
static void bad(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	_exit(1);
}

static void libc_at(const struct run *r, time_t t, struct ref *x)
{
	const struct tm *tm = &x->tm;
	long long y;

	if (localtime_r(&t, &x->tm) == NULL)
		bad("%s: localtime_r(%lld) failed", r->name, (long long)t);
	x->off = tm->tm_gmtoff;
	x->isdst = tm->tm_isdst > 0;
	strncpy(x->abbr, tm->tm_zone, sizeof x->abbr - 1);
	x->abbr[sizeof x->abbr - 1] = '\0';
	/* POSIX's formula (XBD 4.16), not lib/tz's calendar */
	y = tm->tm_year;
	x->local = tm->tm_sec + tm->tm_min * 60LL + tm->tm_hour * 3600LL +
	    tm->tm_yday * DAY + (y - 70) * 31536000 + ((y - 69) / 4) * DAY -
	    ((y - 1) / 100) * DAY + ((y + 299) / 400) * DAY;
}

static int same_state(const struct ref *a, const struct ref *b)
{
	return a->off == b->off && a->isdst == b->isdst &&
	    strcmp(a->abbr, b->abbr) == 0;
}

/* lib/tz and the C library agree at t; the C library's view in *x. */
static void compare(struct run *r, time_t t, struct ref *x)
{
	struct mq_tz_local l;
	struct mq_tz_date d;
	int ok;

	libc_at(r, t, x);
	if (mq_tz_local(r->z, t, &l) != 0)
		bad("%s: %lld out of range", r->name, (long long)t);
	d = mq_tz_date_of(l.day);
	ok = l.off == x->off && l.isdst == x->isdst &&
	    strcmp(l.abbr, x->abbr) == 0 && d.y == x->tm.tm_year + 1900 &&
	    d.m == x->tm.tm_mon + 1 && d.d == x->tm.tm_mday &&
	    l.sec == x->tm.tm_hour * 3600 + x->tm.tm_min * 60 + x->tm.tm_sec &&
	    (mq_tz_weekday(l.day) + 1) % 7 == x->tm.tm_wday &&
	    l.day * DAY + l.sec == x->local;
	if (!ok)
		bad("%s at %lld: lib/tz says %04d-%02d-%02d %02d:%02d:%02d %s "
		    "(%+ld s, dst %d), the C library %04d-%02d-%02d "
		    "%02d:%02d:%02d %s (%+ld s, dst %d)", r->name, (long long)t,
		    d.y, d.m, d.d, l.sec / 3600, l.sec / 60 % 60, l.sec % 60,
		    l.abbr, l.off, l.isdst, x->tm.tm_year + 1900,
		    x->tm.tm_mon + 1, x->tm.tm_mday, x->tm.tm_hour,
		    x->tm.tm_min, x->tm.tm_sec, x->abbr, x->off, x->isdst);
	r->compared++;
}

static long long libc_local(const struct run *r, time_t t)
{
	struct ref x;

	libc_at(r, t, &x);
	return x.local;
}

/* Local to UTC of reading w: the clock reaches w at the answer and had
 * not a second before; want, unless -1, is the answer. */
static time_t trip(struct run *r, long long w, time_t want)
{
	time_t u;

	if (mq_tz_utc(r->z, w, &u) != 0)
		bad("%s: reading %lld out of range", r->name, w);
	if (libc_local(r, u) < w || libc_local(r, u - 1) >= w ||
	    (want != -1 && u != want))
		bad("%s: reading %lld gives %lld, want %lld (C library: "
		    "%lld there, %lld a second before)", r->name, w,
		    (long long)u, (long long)want, libc_local(r, u),
		    libc_local(r, u - 1));
	r->trips++;
	return u;
}

/* Both sides of a change at t, and the readings around it. */
static void check_change(struct run *r, time_t t)
{
	struct ref a, b, c;
	long long d;
	time_t p;

	compare(r, t - 1, &a);
	compare(r, t, &b);
	compare(r, t + 1, &c);
	r->changes++;
	d = b.off - a.off;          /* > 0: a gap; < 0: an overlap */
	trip(r, a.local - 1, -1);
	trip(r, b.local + 1, -1);
	/* what the rule says needs no other change within two days */
	if (!mq_tz_next_change(r->z, t - 2 * DAY, &p) || p != t ||
	    (mq_tz_next_change(r->z, t, &p) && p <= t + 2 * DAY)) {
		trip(r, a.local, -1);
		trip(r, b.local, -1);
		r->crowded++;
		return;
	}
	trip(r, a.local, t - 1);
	trip(r, b.local, d >= 0 ? t : t + d);
	trip(r, a.local + 1, d >= 0 ? t : t - d);
	if (d > 0)
		trip(r, b.local - 1, t);
	if (d < 0)
		trip(r, b.local - 1, t - 1 + d);
}

/* The first instant after lo (up to hi) whose state differs from lo's. */
static time_t bisect(struct run *r, time_t lo, time_t hi)
{
	struct ref a, m;
	time_t mid;

	libc_at(r, lo, &a);
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		libc_at(r, mid, &m);
		if (same_state(&a, &m))
			lo = mid;
		else
			hi = mid;
	}
	return hi;
}

/* Every step from from to to; with roundtrip, each reading goes back. */
static void sweep(struct run *r, time_t from, time_t to, time_t step,
    int roundtrip)
{
	struct ref prev, cur;
	time_t t, u;

	compare(r, from, &prev);
	for (t = from + step; t <= to; t += step) {
		compare(r, t, &cur);
		if (!same_state(&prev, &cur))
			check_change(r, bisect(r, t - step, t));
		/* the same instant, or an earlier one with that reading
		 * (which check_change proves the first) */
		if (roundtrip && (mq_tz_utc(r->z, cur.local, &u) != 0 ||
		    (u != t && (u > t || libc_local(r, u) != cur.local))))
			bad("%s: the reading at %lld goes back to %lld",
			    r->name, (long long)t, (long long)u);
		r->trips += roundtrip;
		prev = cur;
	}
}

/* A check running in a child process (see apart()). */
struct child {
	pid_t       pid;
	int         fd;
	const char *name;
};

static void child_start(struct child *c,
    void (*fn)(struct run *, const char *), struct run *r, const char *arg)
{
	int fd[2];

	assert_int_equal(pipe(fd), 0);
	fflush(stdout);
	fflush(stderr);
	assert_true((c->pid = fork()) >= 0);
	if (c->pid == 0) {
		close(fd[0]);
		fn(r, arg);
		_exit(write(fd[1], r, sizeof *r) == sizeof *r ? 0 : 1);
	}
	close(fd[1]);
	c->fd = fd[0];
	c->name = r->name;
}

/* Waits for child c and adds its counts to *total. */
static void child_end(struct child *c, struct run *total)
{
	struct run got;
	ssize_t n;
	int status;

	n = read(c->fd, &got, sizeof got);
	close(c->fd);
	assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    n != (ssize_t)sizeof got)
		fail_msg("%s: lib/tz and the C library differ (see above)",
		    c->name);
	total->compared += got.compared;
	total->changes += got.changes;
	total->trips += got.trips;
	total->crowded += got.crowded;
}

/* Runs fn in a child process and adds its counts to *total. Apart,
 * because glibc keeps every abbreviation it has met in one list that
 * each reading past a zone's last transition searches: in one process
 * the zones would slow each other down many times over. */
static void apart(void (*fn)(struct run *, const char *), struct run *r,
    const char *arg, struct run *total)
{
	struct child c;

	child_start(&c, fn, r, arg);
	child_end(&c, total);
}

/* One zone file at path, r->name being its name. */
static void check_zone(struct run *r, const char *path)
{
	char tz[4300];
	time_t t, c;

	snprintf(tz, sizeof tz, ":%s", path);
	if (setenv("TZ", tz, 1) != 0)
		bad("%s: cannot set TZ", r->name);
	tzset();
	if ((r->z = mq_tz_get(r->name)) == NULL)
		bad("%s: lib/tz cannot load it", r->name);
	sweep(r, y2026, y2036, STEP * HOUR, 1);
	sweep(r, y2036, y2046, STEP * 7 * DAY, 1);
	sweep(r, y1970, y2026, STEP * 7 * DAY, 0);
	for (t = y1970; mq_tz_next_change(r->z, t, &c) && c <= y2046; t = c)
		check_change(r, c);
}

/* --- every zone of the machine ----------------------------------------- */

static struct {
	char  *dir;
	char **names;
	size_t n, cap;
	dev_t *dev;
	ino_t *ino;
} walk;

static int is_tzif(const char *path)
{
	char magic[4];
	int fd = open(path, O_RDONLY), ok;

	if (fd < 0)
		return 0;
	ok = read(fd, magic, 4) == 4 && memcmp(magic, "TZif", 4) == 0;
	close(fd);
	return ok;
}

static int visit(const char *path, const struct stat *st, int type,
    struct FTW *f)
{
	const char *rel = path + strlen(walk.dir) + 1;
	size_t i;

	(void)f;
	if (type != FTW_F || strncmp(rel, "posix/", 6) == 0 ||
	    strncmp(rel, "right/", 6) == 0 || !is_tzif(path))
		return 0;
	for (i = 0; i < walk.n; i++)
		if (walk.dev[i] == st->st_dev && walk.ino[i] == st->st_ino)
			return 0;
	if (walk.n == walk.cap) {
		walk.cap = walk.cap ? walk.cap * 2 : 512;
		walk.names = realloc(walk.names, walk.cap * sizeof *walk.names);
		walk.dev = realloc(walk.dev, walk.cap * sizeof *walk.dev);
		walk.ino = realloc(walk.ino, walk.cap * sizeof *walk.ino);
		assert_non_null(walk.names);
		assert_non_null(walk.dev);
		assert_non_null(walk.ino);
	}
	walk.dev[walk.n] = st->st_dev;
	walk.ino[walk.n] = st->st_ino;
	walk.names[walk.n++] = strdup(rel);
	return 0;
}

static void test_every_zone(void **state)
{
	const char *dir = getenv("TZDIR");
	struct run total = { 0 };
	struct child kids[2];
	char path[4200];
	struct timespec a, b;
	size_t i;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &a);
	walk.dir = strdup(dir != NULL && dir[0] != '\0' ? dir :
	    "/usr/share/zoneinfo");
	assert_int_equal(nftw(walk.dir, visit, 16, FTW_PHYS), 0);
	/* the walk found them: tzdata has some 350 zones or more, most in
	 * files of their own */
	assert_true(walk.n > 300);
	/* each zone apart, two at once */
	for (i = 0; i < walk.n; i++) {
		struct run r = { .name = walk.names[i] };

		if (i >= 2)
			child_end(&kids[i % 2], &total);
		snprintf(path, sizeof path, "%s/%s", walk.dir, walk.names[i]);
		child_start(&kids[i % 2], check_zone, &r, path);
	}
	for (i = walk.n > 2 ? walk.n - 2 : 0; i < walk.n; i++)
		child_end(&kids[i % 2], &total);
	for (i = 0; i < walk.n; i++)
		free(walk.names[i]);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("# tz: %zu zones as the C library reads them, 2026-2035 every "
	    "%d h, two at once: %ld instants, %ld changes (%ld within two days of "
	    "another), %ld readings back to UTC, %.1f s\n", walk.n,
	    STEP, total.compared, total.changes,
	    total.crowded, total.trips, (double)(b.tv_sec - a.tv_sec) +
	    (b.tv_nsec - a.tv_nsec) / 1e9);
	free(walk.names);
	free(walk.dev);
	free(walk.ino);
	free(walk.dir);
}

/* --- footers alone ----------------------------------------------------- */

static void put32(FILE *f, uint32_t v)
{
	unsigned char b[4] = { v >> 24, v >> 16, v >> 8, v };

	fwrite(b, 1, 4, f);
}

/* A version 2 file with one type (utoff, "ZZZ") and no transitions. */
static void put_zone(FILE *f, long utoff, const char *footer)
{
	int block;

	for (block = 0; block < 2; block++) {
		fwrite("TZif2", 1, 5, f);
		fwrite("\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 1, 15, f);
		put32(f, 0);            /* isut */
		put32(f, 0);            /* isstd */
		put32(f, 0);            /* leap */
		put32(f, 0);            /* times */
		put32(f, 1);            /* types */
		put32(f, 4);            /* chars */
		put32(f, (uint32_t)utoff);
		fwrite("\0\0ZZZ\0", 1, 6, f);   /* isdst, index, "ZZZ" */
	}
	fprintf(f, "\n%s\n", footer);
}

static void write_zone(const char *path, long utoff, const char *footer)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	put_zone(f, utoff, footer);
	assert_int_equal(fclose(f), 0);
}

/* The same file's bytes, in *len bytes that the caller frees. */
static unsigned char *zone_image(long utoff, const char *footer,
    size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	assert_non_null(f);
	put_zone(f, utoff, footer);
	assert_int_equal(fclose(f), 0);
	return (unsigned char *)buf;
}

/* A footer alone, in a file whose name is r->name, against the C
 * library given the same string. */
static void check_footer(struct run *r, const char *footer)
{
	time_t t;

	if (setenv("TZ", footer, 1) != 0)
		bad("%s: cannot set TZ", footer);
	tzset();
	if ((r->z = mq_tz_get(r->name)) == NULL)
		bad("%s: lib/tz cannot load it", footer);
	r->name = footer;
	sweep(r, 1577836800, 2240611200, STEP * 6 * HOUR, 1);   /* 2020-40 */
	for (t = 1577836800; mq_tz_next_change(r->z, t, &t) &&
	    t < 2240611200;)
		check_change(r, t);
}

static void test_footers(void **state)
{
	static const char *const footers[] = {
		"CET-1CEST,M3.5.0,M10.5.0/3",
		"EST5EDT,M3.2.0,M11.1.0",
		"AEST-10AEDT,M10.1.0,M4.1.0/3",
		"IST-1GMT0,M10.5.0,M3.5.0/1",           /* negative DST */
		"<-02>2<-01>,M3.5.0/-1,M10.5.0/0",      /* times before 0 */
		"EET-2EEST,M3.5.4/24,M10.5.5/1",
		"EET-2EEST,M3.4.4/50,M10.4.4/50",       /* times past 24 */
		"<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45",
		"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
		"<-03>3<-02>,M3.2.0,M11.1.0",
		"NST3:30NDT,M3.2.0,M11.1.0",
		"AAA3BBB,J60/2,J300/2",                 /* Julian, no 29 Feb */
		"AAA3BBB,59/2,300/2",                   /* zero-based */
		"XXX-14YYY-15,M4.5.6/-20,M9.1.1/30",
		"<+14>-14",
		"<-00>0",
	};
	char dir[] = "/tmp/mailq-tz.XXXXXX", path[64], name[16];
	const char *old = getenv("TZDIR");
	char *saved = old != NULL ? strdup(old) : NULL;
	struct run total = { 0 };
	const struct mq_tz *z;
	size_t i;
	time_t t;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(setenv("TZDIR", dir, 1), 0);
	for (i = 0; i < sizeof footers / sizeof footers[0]; i++) {
		struct run r = { .name = name };

		snprintf(name, sizeof name, "F%zu", i);
		snprintf(path, sizeof path, "%s/%s", dir, name);
		write_zone(path, 0, footers[i]);
		apart(check_footer, &r, footers[i], &total);
		unlink(path);
	}
	/* daylight saving time all year: never leaves it, and no change */
	snprintf(path, sizeof path, "%s/always", dir);
	write_zone(path, 0, "EST5EDT,0/0,J365/25");
	assert_non_null(z = mq_tz_get("always"));
	for (t = 1577836800; t < 2240611200; t += 5 * HOUR) {
		struct mq_tz_local l;

		assert_int_equal(mq_tz_local(z, t, &l), 0);
		assert_int_equal(l.off, -4 * 3600);
		assert_int_equal(l.isdst, 1);
		assert_string_equal(l.abbr, "EDT");
	}
	assert_false(mq_tz_next_change(z, 1577836800, &t));
	unlink(path);
	/* what is not a footer makes the file no zone */
	snprintf(path, sizeof path, "%s/bad", dir);
	write_zone(path, 0, "CET-1CEST,M3.5.0");
	assert_null(mq_tz_get("bad"));
	write_zone(path, 0, "CET-1CEST,M13.5.0,M10.5.0/3");
	assert_null(mq_tz_get("bad"));
	unlink(path);
	rmdir(dir);
	if (saved != NULL)
		setenv("TZDIR", saved, 1);
	else
		unsetenv("TZDIR");
	free(saved);
	printf("# tz: %zu footers as the C library reads them: %ld instants, "
	    "%ld changes, %ld readings back to UTC\n",
	    sizeof footers / sizeof footers[0], total.compared, total.changes,
	    total.trips);
}

/* --- zones from bytes ------------------------------------------------- */

static long long file_bytes(const char *path, unsigned char *buf,
    size_t size)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, size, f);
	fclose(f);
	return (long long)n;
}

/* mq_tz_read parses what mq_tz_get does: the same readings from a file's
 * bytes, NULL for anything cut short or not a zone. */
static void test_read(void **state)
{
	const char *dir = getenv("TZDIR");
	const struct mq_tz *named = mq_tz_get("Europe/Warsaw");
	static unsigned char buf[1 << 16];
	struct mq_tz_local a, b;
	struct mq_tz *z;
	char path[4200];
	size_t n, len;
	unsigned char *img;
	time_t t, c1, c2;

	(void)state;
	snprintf(path, sizeof path, "%s/Europe/Warsaw",
	    dir != NULL && dir[0] != '\0' ? dir : "/usr/share/zoneinfo");
	n = (size_t)file_bytes(path, buf, sizeof buf);
	assert_non_null(named);
	assert_non_null(z = mq_tz_read(buf, n));
	assert_true(z != named);            /* not the one kept by name */
	for (t = -2000000000; t < 2500000000; t += 7 * 86399) {
		assert_int_equal(mq_tz_local(z, t, &a), 0);
		assert_int_equal(mq_tz_local(named, t, &b), 0);
		assert_int_equal(a.off, b.off);
		assert_int_equal(a.day * DAY + a.sec, b.day * DAY + b.sec);
		assert_string_equal(a.abbr, b.abbr);
		assert_int_equal(mq_tz_next_change(z, t, &c1),
		    mq_tz_next_change(named, t, &c2));
		assert_int_equal(c1, c2);
	}
	mq_tz_free(z);
	assert_null(mq_tz_read(buf, n - 1));     /* the footer's newline */
	assert_null(mq_tz_read(buf, n / 2));
	assert_null(mq_tz_read(buf, 0));
	buf[0] = 'X';
	assert_null(mq_tz_read(buf, n));
	mq_tz_free(NULL);
	img = zone_image(3600, "CET-1CEST,M3.5.0,M10.5.0/3", &len);
	assert_non_null(z = mq_tz_read(img, len));
	assert_int_equal(mq_tz_local(z, 1782864000, &a), 0);    /* July */
	assert_string_equal(a.abbr, "CEST");
	mq_tz_free(z);
	free(img);
	img = zone_image(3600, "CET-1CEST,M3.5.0", &len);
	assert_null(mq_tz_read(img, len));
	free(img);
}

/* A rule's time may take its change into the next year: "J365/50" ends
 * a year's daylight saving time on 2 January of the next, after the next
 * year's "1/0" has started it, so in 2026 the clock reads EDT from
 * 01:00 to 02:00 UTC on 2 January only (the latest change rules). The
 * footer looked at the changes of the instant's own year and the years
 * either side: from 1 January it lost the end of 2024's and read EDT,
 * a change that mq_tz_next_change did not name. */
static void test_footer_past_the_year(void **state)
{
	const time_t jan1 = 1767225600, start = jan1 + DAY + HOUR;
	struct mq_tz_local l;
	struct mq_tz *z;
	unsigned char *img;
	size_t len;
	time_t t;

	(void)state;
	img = zone_image(0, "EST1EDT,1/0,J365/50", &len);
	assert_non_null(z = mq_tz_read(img, len));
	free(img);
	for (t = jan1 - DAY; t < start; t += HOUR / 2) {
		assert_int_equal(mq_tz_local(z, t, &l), 0);
		assert_string_equal(l.abbr, "EST");
		assert_int_equal(l.off, -3600);
	}
	assert_int_equal(mq_tz_next_change(z, jan1 - DAY, &t), 1);
	assert_int_equal(t, start);
	assert_int_equal(mq_tz_local(z, start, &l), 0);
	assert_string_equal(l.abbr, "EDT");
	assert_int_equal(mq_tz_next_change(z, start, &t), 1);
	assert_int_equal(t, start + HOUR);
	assert_int_equal(mq_tz_local(z, t, &l), 0);
	assert_string_equal(l.abbr, "EST");
	assert_int_equal(mq_tz_next_change(z, t, &t), 1);
	assert_int_equal(t, start + 365 * DAY);
	mq_tz_free(z);
}

static void put64(FILE *f, long long v)
{
	put32(f, (uint32_t)((unsigned long long)v >> 32));
	put32(f, (uint32_t)v);
}

/* A version 2 file whose transitions at[0..n-1] bring CEST, CET, CEST
 * and so on, the CET of its footer after them. */
static unsigned char *cet_image(const long long *at, int n, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	int i;

	assert_non_null(f);
	fwrite("TZif2\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 1, 20, f);
	put32(f, 0), put32(f, 0), put32(f, 0), put32(f, 0);
	put32(f, 1), put32(f, 4), put32(f, 3600);
	fwrite("\0\0CET\0", 1, 6, f);
	fwrite("TZif2\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 1, 20, f);
	put32(f, 0), put32(f, 0), put32(f, 0), put32(f, (uint32_t)n);
	put32(f, 2), put32(f, 9);
	for (i = 0; i < n; i++)
		put64(f, at[i]);
	for (i = 0; i < n; i++)
		fputc(i % 2 == 0, f);
	put32(f, 3600);
	fwrite("\0\0", 1, 2, f);
	put32(f, 7200);
	fwrite("\1\4CET\0CEST\0", 1, 11, f);
	fputs("\nCET-1CEST,M3.5.0,M10.5.0/3\n", f);
	assert_int_equal(fclose(f), 0);
	return (unsigned char *)buf;
}

/* A file's times may lie anywhere in 64 bits. Past one far beyond the
 * range the search for the next change went on into the footer at
 * years that no int holds, came back to 1970 and named the transition
 * it had started from. Now no change is looked for past some three years
 * beyond the range. */
static void test_far_transitions(void **state)
{
	const long long at[] = { -(1LL << 59), MQ_TZ_LIMIT - 5, 1LL << 62 };
	struct mq_tz_local l;
	struct mq_tz *z;
	unsigned char *img;
	size_t len;
	time_t t;

	(void)state;
	img = cet_image(at, 3, &len);
	assert_non_null(z = mq_tz_read(img, len));
	free(img);
	assert_int_equal(mq_tz_local(z, 0, &l), 0);
	assert_string_equal(l.abbr, "CEST");
	assert_int_equal(mq_tz_next_change(z, 0, &t), 1);
	assert_int_equal(t, MQ_TZ_LIMIT - 5);
	assert_int_equal(mq_tz_local(z, t, &l), 0);
	assert_string_equal(l.abbr, "CET");
	assert_int_equal(mq_tz_next_change(z, MQ_TZ_LIMIT - 5, &t), 0);
	assert_int_equal(mq_tz_next_change(z, MQ_TZ_LIMIT, &t), 0);
	mq_tz_free(z);
}

/* A reading within two days of -MQ_TZ_LIMIT: mq_tz_utc looks for it from
 * two days before, where mq_tz_next_change, out of range, found no
 * change, so the clock put forward at t was taken to read as before it,
 * and the reading at t went back to an hour after t. */
static void test_utc_near_the_limit(void **state)
{
	const long long at[] = { -MQ_TZ_LIMIT + 4 * HOUR, 0 };
	const time_t t = (time_t)at[0];
	struct mq_tz *z;
	unsigned char *img;
	size_t len;
	time_t u;

	(void)state;
	img = cet_image(at, 2, &len);
	assert_non_null(z = mq_tz_read(img, len));
	free(img);
	/* at t, CET (+1 h) becomes CEST (+2 h) */
	assert_int_equal(mq_tz_utc(z, t + 7200, &u), 0);
	assert_int_equal(u, t);
	assert_int_equal(mq_tz_utc(z, t + 3600, &u), 0);     /* skipped */
	assert_int_equal(u, t);
	assert_int_equal(mq_tz_utc(z, t + 3599, &u), 0);
	assert_int_equal(u, t - 1);
	assert_int_equal(mq_tz_utc(z, t + 7201, &u), 0);
	assert_int_equal(u, t + 1);
	mq_tz_free(z);
}

/* --- the rule, by hand ------------------------------------------------- */

static time_t utc(const struct mq_tz *z, int y, int m, int d, int hh,
    int mm)
{
	time_t t = 0;

	assert_int_equal(mq_tz_utc(z, mq_tz_day_of(y, m, d) * DAY +
	    hh * 3600 + mm * 60, &t), 0);
	return t;
}

static void test_gap_and_overlap(void **state)
{
	const struct mq_tz *z = mq_tz_get("Europe/Warsaw");
	struct mq_tz_local l;
	time_t t;

	(void)state;
	assert_non_null(z);
	/* 2026-03-29: 02:00 CET becomes 03:00 CEST at 01:00 UTC */
	assert_int_equal(utc(z, 2026, 3, 29, 1, 59), 1774745940);
	assert_int_equal(utc(z, 2026, 3, 29, 2, 0), 1774746000);
	assert_int_equal(utc(z, 2026, 3, 29, 2, 30), 1774746000);
	assert_int_equal(utc(z, 2026, 3, 29, 3, 0), 1774746000);
	assert_int_equal(utc(z, 2026, 3, 29, 3, 1), 1774746060);
	/* 2026-10-25: 03:00 CEST becomes 02:00 CET at 01:00 UTC; 02:30
	 * comes twice, at 00:30 and 01:30 UTC */
	assert_int_equal(utc(z, 2026, 10, 25, 2, 30), 1792888200);
	assert_int_equal(utc(z, 2026, 10, 25, 3, 0), 1792893600);
	assert_int_equal(mq_tz_next_change(z, 1792800000, &t), 1);
	assert_int_equal(t, 1792890000);
	assert_int_equal(mq_tz_local(z, t, &l), 0);
	assert_string_equal(l.abbr, "CET");
	assert_int_equal(l.off, 3600);
	assert_int_equal(l.isdst, 0);
	assert_int_equal(mq_tz_local(z, t - 1, &l), 0);
	assert_string_equal(l.abbr, "CEST");
	assert_int_equal(l.sec, 3 * 3600 - 1);
	/* the range */
	assert_int_equal(mq_tz_local(z, MQ_TZ_LIMIT + 1, &l), -1);
	assert_int_equal(mq_tz_utc(z, -MQ_TZ_LIMIT - 1, &t), -1);
}

static void test_names(void **state)
{
	const struct mq_tz *z = mq_tz_get("America/New_York");

	(void)state;
	assert_non_null(z);
	assert_ptr_equal(mq_tz_get("America/New_York"), z);  /* kept */
	assert_non_null(mq_tz_get("UTC"));
	assert_null(mq_tz_get(NULL));
	assert_null(mq_tz_get(""));
	assert_null(mq_tz_get("/etc/localtime"));
	assert_null(mq_tz_get("../zoneinfo/UTC"));
	assert_null(mq_tz_get("Europe/../UTC"));
	assert_null(mq_tz_get("Europe"));       /* a directory */
	assert_null(mq_tz_get("zone.tab"));     /* a table */
	assert_null(mq_tz_get("Mars/Olympus"));
}

static void test_calendar(void **state)
{
	struct mq_tz_date d;

	(void)state;
	assert_int_equal(mq_tz_day_of(1970, 1, 1), 0);
	assert_int_equal(mq_tz_day_of(2026, 11, 24), 20781);
	assert_int_equal(mq_tz_day_of(1969, 12, 31), -1);
	d = mq_tz_date_of(mq_tz_day_of(2028, 2, 29));
	assert_int_equal(d.y, 2028);
	assert_int_equal(d.m, 2);
	assert_int_equal(d.d, 29);
	d = mq_tz_date_of(mq_tz_day_of(2100, 2, 29));   /* no such day */
	assert_int_equal(d.m, 3);
	assert_int_equal(d.d, 1);
	assert_int_equal(mq_tz_weekday(0), 3);          /* a Thursday */
	assert_int_equal(mq_tz_weekday(20781), 1);      /* a Tuesday */
	assert_int_equal(mq_tz_weekday(-1), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_calendar),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_gap_and_overlap),
		cmocka_unit_test(test_footers),
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_footer_past_the_year),
		cmocka_unit_test(test_far_transitions),
		cmocka_unit_test(test_utc_near_the_limit),
		cmocka_unit_test(test_every_zone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
