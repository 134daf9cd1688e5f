/*
 * Schedule module: windows, holidays and DST in real zones. Every expected
 * epoch below was computed outside this code (with date(1) and TZ set) and
 * is shown with its local time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <cmocka.h>

#include "sched.h"

#define MON_FRI 0x1f

static struct mq_sched office(void)
{
	struct mq_sched s = {
		.timezone = "Europe/Warsaw", .days = MON_FRI,
		.start_min = 9 * 60, .end_min = 17 * 60,
		.holidays = "PL", .extra_holidays = "",
	};
	return s;
}

static void assert_open(const struct mq_sched *s, time_t t)
{
	struct mq_err err;
	char why[128];
	int open = -1;

	assert_int_equal(mq_sched_is_open(s, t, &open, why, sizeof why, &err),
	    MQ_OK);
	assert_int_equal(open, 1);
}

static void assert_closed(const struct mq_sched *s, time_t t,
    const char *reason)
{
	struct mq_err err;
	char why[128];
	int open = -1;

	assert_int_equal(mq_sched_is_open(s, t, &open, why, sizeof why, &err),
	    MQ_OK);
	assert_int_equal(open, 0);
	assert_string_equal(why, reason);
}

static time_t next_open(const struct mq_sched *s, time_t from)
{
	struct mq_err err;
	time_t at = 0;

	assert_int_equal(mq_sched_next_open(s, from, &at, &err), MQ_OK);
	return at;
}

static void test_window_hours(void **state)
{
	struct mq_sched s = office();

	(void)state;
	assert_open(&s, 1795510800);         /* Tue 2026-11-24 10:00 CET */
	assert_open(&s, 1795507200);         /* 09:00 exactly */
	assert_closed(&s, 1795507140, "before 09:00");   /* 08:59 */
	assert_closed(&s, 1795536000, "after 17:00");    /* 17:00 */
	assert_open(&s, 1795535999);         /* 16:59:59 */
}

static void test_days_and_holidays(void **state)
{
	struct mq_sched s = office();

	(void)state;
	assert_closed(&s, 1795856400, "weekend");    /* Sat 2026-11-28 10:00 */
	assert_closed(&s, 1794387600,                /* Wed 2026-11-11 10:00 */
	    "holiday: Narodowe Święto Niepodległości");
	assert_closed(&s, 1798102800,                /* Thu 2026-12-24 10:00 */
	    "holiday: Wigilia Bożego Narodzenia");
	assert_open(&s, 1735030800);                 /* Tue 2024-12-24 10:00 */
	assert_closed(&s, 1775462400,                /* Mon 2026-04-06 10:00 */
	    "holiday: Poniedziałek Wielkanocny");
	assert_closed(&s, 1780560000,                /* Thu 2026-06-04 10:00 */
	    "holiday: Boże Ciało");
	s.days = 0x1e;                               /* Tue-Fri */
	assert_closed(&s, 1796025600 + 3600,         /* Mon 2026-11-30 10:00 */
	    "not a sending day");
	s.holidays = "";
	s.days = MON_FRI;
	assert_open(&s, 1794387600);                 /* 11 Nov, no calendar */
}

static void test_extra_holidays(void **state)
{
	struct mq_sched s = office();

	(void)state;
	s.extra_holidays = "2026-01-02, 2026-11-25";
	assert_closed(&s, 1795593600 + 3600,         /* Wed 2026-11-25 10:00 */
	    "holiday: extra holiday");
	/* Tue 2026-11-24 17:00 -> Thu 2026-11-26 09:00 */
	assert_int_equal(next_open(&s, 1795536000), 1795680000);
	assert_true(mq_sched_dates_valid(""));
	assert_true(mq_sched_dates_valid(NULL));
	assert_true(mq_sched_dates_valid("2028-02-29,2026-12-31"));
	assert_false(mq_sched_dates_valid("2026-02-29"));
	assert_false(mq_sched_dates_valid("2026-13-01"));
	assert_false(mq_sched_dates_valid("2026-1-01"));
	assert_false(mq_sched_dates_valid("2026-01-01;2026-01-02"));
	assert_false(mq_sched_dates_valid("tomorrow"));
}

static void test_easter(void **state)
{
	static const int dates[][3] = {
		{ 2024, 3, 31 }, { 2025, 4, 20 }, { 2026, 4, 5 },
		{ 2027, 3, 28 }, { 2038, 4, 25 }, { 2000, 4, 23 },
		{ 2285, 3, 22 }, { 1943, 4, 25 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof dates / sizeof dates[0]; i++) {
		const int *d = dates[i];

		assert_string_equal(mq_sched_holiday("PL", d[0], d[1], d[2]),
		    "Wielkanoc");
		assert_null(mq_sched_holiday("PL", d[0], d[1], d[2] - 1));
	}
}

static void test_pl_calendar(void **state)
{
	static const struct { int m, d; const char *name; } y2026[] = {
		{ 1, 1, "Nowy Rok" },
		{ 1, 6, "Święto Trzech Króli" },
		{ 4, 5, "Wielkanoc" },
		{ 4, 6, "Poniedziałek Wielkanocny" },
		{ 5, 1, "Święto Pracy" },
		{ 5, 3, "Święto Konstytucji 3 Maja" },
		{ 5, 24, "Zielone Świątki" },
		{ 6, 4, "Boże Ciało" },
		{ 8, 15, "Wniebowzięcie Najświętszej Maryi Panny" },
		{ 11, 1, "Wszystkich Świętych" },
		{ 11, 11, "Narodowe Święto Niepodległości" },
		{ 12, 24, "Wigilia Bożego Narodzenia" },
		{ 12, 25, "Boże Narodzenie (pierwszy dzień)" },
		{ 12, 26, "Boże Narodzenie (drugi dzień)" },
	};
	size_t i;
	int m, d, n = 0;

	(void)state;
	for (i = 0; i < sizeof y2026 / sizeof y2026[0]; i++)
		assert_string_equal(mq_sched_holiday("PL", 2026, y2026[i].m,
		    y2026[i].d), y2026[i].name);
	for (m = 1; m <= 12; m++)
		for (d = 1; d <= 31; d++)
			n += mq_sched_holiday("PL", 2026, m, d) != NULL;
	assert_int_equal(n, 14);
	assert_null(mq_sched_holiday("PL", 2024, 12, 24));
	assert_null(mq_sched_holiday("", 2026, 1, 1));
	assert_null(mq_sched_holiday("DE", 2026, 1, 1));
	assert_true(mq_sched_calendar_valid(""));
	assert_true(mq_sched_calendar_valid("PL"));
	assert_false(mq_sched_calendar_valid("pl-PL"));
}

static void test_dst_spring(void **state)
{
	struct mq_sched s = office();

	(void)state;
	/* Fri 2026-03-27 09:00 CET = 08:00 UTC; Mon 03-30 09:00 CEST = 07:00 */
	assert_int_equal(next_open(&s, 1774598400 - 1800), 1774598400);
	assert_open(&s, 1774598400);
	assert_closed(&s, 1774598400 - 1, "before 09:00");
	/* Fri 2026-03-27 17:00 CET -> Mon 2026-03-30 09:00 CEST */
	assert_int_equal(next_open(&s, 1774627200), 1774854000);
	assert_closed(&s, 1774854000 - 1, "before 09:00");
	assert_open(&s, 1774854000);
}

static void test_dst_autumn(void **state)
{
	struct mq_sched s = office();

	(void)state;
	/* Fri 2026-10-23 17:00 CEST -> Mon 2026-10-26 09:00 CET = 08:00 UTC */
	assert_int_equal(next_open(&s, 1792767600), 1793001600);
	/* Fri 2026-10-23 09:00 CEST = 07:00 UTC */
	assert_int_equal(next_open(&s, 1792738800 - 60), 1792738800);
	assert_closed(&s, 1793001600 - 1, "before 09:00");
}

static void test_dst_odd_hours(void **state)
{
	struct mq_sched s = office();

	(void)state;
	s.days = 0x7f;
	s.holidays = "";
	s.start_min = 2 * 60 + 30;
	/* 02:30 does not exist on Sun 2026-03-29: the clock jumps from 02:00
	 * CET to 03:00 CEST at 01:00 UTC, the first moment past 02:30.
	 * From Sat 2026-03-28 20:00 CET. */
	assert_int_equal(next_open(&s, 1774724400), 1774746000);
	assert_closed(&s, 1774746000 - 1, "before 02:30");
	/* 02:30 happens twice on Sun 2026-10-25; the first is 00:30 UTC.
	 * From Sat 2026-10-24 20:00 CEST. */
	assert_int_equal(next_open(&s, 1792864800), 1792888200);
}

static void test_next_open(void **state)
{
	struct mq_sched s = office();
	struct mq_err err;
	time_t at = 0;

	(void)state;
	/* inside -> itself: Tue 2026-11-24 10:00 */
	assert_int_equal(next_open(&s, 1795510800), 1795510800);
	/* Tue 2026-11-24 07:00 -> 09:00 that day */
	assert_int_equal(next_open(&s, 1795500000), 1795507200);
	/* Fri 2026-11-27 18:00 -> Mon 2026-11-30 09:00 */
	assert_int_equal(next_open(&s, 1795798800), 1796025600);
	/* Wed 2026-12-23 17:30 -> past Thu 24, Fri 25, the weekend: Mon 28 */
	assert_int_equal(next_open(&s, 1798043400), 1798444800);

	s.days = 0;
	assert_int_equal(mq_sched_next_open(&s, 1795510800, &at, &err),
	    MQ_PERM);
	assert_int_equal(err.ex, EX_CONFIG);
	s = office();
	s.start_min = s.end_min;
	assert_int_equal(mq_sched_next_open(&s, 1795510800, &at, &err),
	    MQ_PERM);
	assert_int_equal(err.ex, EX_CONFIG);
}

static void test_window_end(void **state)
{
	struct mq_sched s = office();
	struct mq_err err;
	time_t at = 0;

	(void)state;
	/* Tue 2026-11-24 10:00 -> 17:00 */
	assert_int_equal(mq_sched_window_end(&s, 1795510800, &at, &err), MQ_OK);
	assert_int_equal(at, 1795536000);
	assert_int_equal(mq_sched_window_end(&s, 1795500000, &at, &err),
	    MQ_PERM);

	/* all day every day: Sun 2026-10-25 12:00 CET -> Mon 00:00 CET */
	s.days = 0x7f;
	s.start_min = 0;
	s.end_min = 1440;
	s.holidays = "";
	assert_int_equal(mq_sched_window_end(&s, 1792926000, &at, &err), MQ_OK);
	assert_int_equal(at, 1792969200);
}

static void test_local_day(void **state)
{
	struct mq_err err;
	time_t a = 0, b = 0;
	char day[16];

	(void)state;
	/* 2026-03-29 12:00 CEST: 00:00 CET .. 2026-03-30 00:00 CEST */
	assert_int_equal(mq_sched_local_day("Europe/Warsaw", 1774778400, day,
	    sizeof day, &a, &b, &err), MQ_OK);
	assert_string_equal(day, "2026-03-29");
	assert_int_equal(a, 1774738800);
	assert_int_equal(b, 1774821600);
	assert_int_equal(b - a, 23 * 3600);
	/* 2026-10-25 12:00 CET: 00:00 CEST .. 2026-10-26 00:00 CET */
	assert_int_equal(mq_sched_local_day("Europe/Warsaw", 1792926000, day,
	    sizeof day, &a, &b, &err), MQ_OK);
	assert_string_equal(day, "2026-10-25");
	assert_int_equal(a, 1792879200);
	assert_int_equal(b, 1792969200);
	assert_int_equal(b - a, 25 * 3600);
	/* 2026-12-31 12:00 CET, year end; a NULL bound is allowed */
	assert_int_equal(mq_sched_local_day("Europe/Warsaw", 1798714800, day,
	    sizeof day, NULL, &b, &err), MQ_OK);
	assert_string_equal(day, "2026-12-31");
	assert_int_equal(b, 1798758000);
	/* Tue 2026-11-24 00:30 CET is still 2026-11-23 in UTC */
	assert_int_equal(mq_sched_local_day("Europe/Warsaw", 1795474800 + 1800,
	    day, sizeof day, NULL, NULL, &err), MQ_OK);
	assert_string_equal(day, "2026-11-24");
	assert_int_equal(mq_sched_local_day("UTC", 1795474800 + 1800,
	    day, sizeof day, NULL, NULL, &err), MQ_OK);
	assert_string_equal(day, "2026-11-23");
	assert_int_equal(mq_sched_local_day("Europe/Warsaw", 0, day, 5, NULL,
	    NULL, &err), MQ_PERM);
}

static void test_format(void **state)
{
	struct mq_err err;
	char buf[64];

	(void)state;
	assert_int_equal(mq_sched_format("Europe/Warsaw", 1795510800,
	    "%Y-%m-%d %H:%M %Z", buf, sizeof buf, &err), MQ_OK);
	assert_string_equal(buf, "2026-11-24 10:00 CET");
	assert_int_equal(mq_sched_format("America/New_York", 1795510800,
	    "%a %H:%M %z", buf, sizeof buf, &err), MQ_OK);
	assert_string_equal(buf, "Tue 04:00 -0500");
	assert_int_equal(mq_sched_format("Europe/Warsaw", 1795510800,
	    "%Y-%m-%d %H:%M", buf, 8, &err), MQ_PERM);
	assert_int_equal(mq_sched_format("Nowhere/Land", 1795510800, "%H",
	    buf, sizeof buf, &err), MQ_PERM);
	assert_int_equal(err.ex, EX_CONFIG);
}

static void test_tz_valid(void **state)
{
	struct mq_sched s = office();
	struct mq_err err;
	int open = 0;

	(void)state;
	assert_true(mq_sched_tz_valid("Europe/Warsaw"));
	assert_true(mq_sched_tz_valid("America/New_York"));
	assert_true(mq_sched_tz_valid("UTC"));
	assert_false(mq_sched_tz_valid("Mars/Olympus"));
	assert_false(mq_sched_tz_valid("../etc/passwd"));
	assert_false(mq_sched_tz_valid("Europe/../../etc/passwd"));
	assert_false(mq_sched_tz_valid("/etc/localtime"));
	assert_false(mq_sched_tz_valid(""));
	assert_false(mq_sched_tz_valid(NULL));
	assert_false(mq_sched_tz_valid("Europe"));
	assert_false(mq_sched_tz_valid("zone.tab"));
	s.timezone = "Mars/Olympus";
	assert_int_equal(mq_sched_is_open(&s, 1795510800, &open, NULL, 0,
	    &err), MQ_PERM);
	assert_int_equal(err.ex, EX_CONFIG);
}

static void test_new_york(void **state)
{
	struct mq_sched s = office();

	(void)state;
	s.timezone = "America/New_York";
	s.holidays = "";
	assert_open(&s, 1795528800);                 /* Tue 2026-11-24 09:00 EST */
	assert_closed(&s, 1795525200, "before 09:00");   /* 08:00 EST */
	assert_closed(&s, 1795510800, "before 09:00");   /* 04:00 EST */
	assert_closed(&s, 1795557600, "after 17:00");    /* 17:00 EST */
	/* Fri 2026-03-06 17:30 EST -> Mon 2026-03-09 09:00 EDT */
	assert_int_equal(next_open(&s, 1772836200), 1773061200);
}

/* Runs every entry point once; TZ must come back exactly as it was. */
static void call_everything(void)
{
	struct mq_sched s = office();
	struct mq_err err;
	char buf[64];
	time_t at;
	int open;

	mq_sched_is_open(&s, 1795510800, &open, buf, sizeof buf, &err);
	mq_sched_next_open(&s, 1795536000, &at, &err);
	mq_sched_window_end(&s, 1795510800, &at, &err);
	mq_sched_local_day("Europe/Warsaw", 1795510800, buf, sizeof buf, &at,
	    &at, &err);
	mq_sched_format("America/New_York", 1795510800, "%H", buf, sizeof buf,
	    &err);
	s.days = 0;
	mq_sched_next_open(&s, 1795536000, &at, &err);
}

static void test_tz_restored(void **state)
{
	struct tm tm;
	time_t t = 1795510800;          /* 10:00 Warsaw, 18:00 Tokyo */

	(void)state;
	assert_int_equal(unsetenv("TZ"), 0);
	call_everything();
	assert_null(getenv("TZ"));

	assert_int_equal(setenv("TZ", "Asia/Tokyo", 1), 0);
	tzset();
	call_everything();
	assert_non_null(getenv("TZ"));
	assert_string_equal(getenv("TZ"), "Asia/Tokyo");
	assert_non_null(localtime_r(&t, &tm));
	assert_int_equal(tm.tm_hour, 18);

	assert_int_equal(setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1), 0);
	call_everything();
	assert_string_equal(getenv("TZ"), "CET-1CEST,M3.5.0,M10.5.0/3");
	unsetenv("TZ");
	tzset();
}

/* Nothing here reads TZ or calls tzset: with TZ changed behind the C
 * library's back, its zone names stay those of the last tzset, and %Z
 * and %z are the campaign zone's. */
static void test_tz_untouched(void **state)
{
	struct mq_err err;
	char buf[64];

	(void)state;
	assert_int_equal(setenv("TZ", "Asia/Tokyo", 1), 0);
	tzset();
	assert_int_equal(setenv("TZ", "America/Los_Angeles", 1), 0);
	call_everything();
	assert_int_equal(mq_sched_format("Europe/Warsaw", 1795510800,
	    "%a %H:%M %Z %z", buf, sizeof buf, &err), MQ_OK);
	assert_string_equal(buf, "Tue 10:00 CET +0100");
	assert_int_equal(mq_sched_format("America/New_York", 1781280000,
	    "%Y-%m-%d %H:%M %Z %z %j", buf, sizeof buf, &err), MQ_OK);
	assert_string_equal(buf, "2026-06-12 12:00 EDT -0400 163");
	assert_string_equal(tzname[0], "JST");
	assert_int_equal(mq_sched_format("UTC", 1795510800, "%s", buf,
	    sizeof buf, &err), MQ_PERM);
	assert_int_equal(err.ex, EX_SOFTWARE);
	assert_int_equal(mq_sched_format("UTC", 1795510800, "100%% %-d",
	    buf, sizeof buf, &err), MQ_OK);
	assert_string_equal(buf, "100% 24");
	unsetenv("TZ");
	tzset();
}

static void test_dates_and_day_names(void **state)
{
	long long day = 0;

	(void)state;
	assert_true(mq_sched_date("2026-11-24", &day));
	assert_int_equal(day, 20781);
	assert_true(mq_sched_date("2028-02-29", NULL));
	assert_false(mq_sched_date("2026-02-29", NULL));
	assert_false(mq_sched_date("1969-12-31", NULL));
	assert_false(mq_sched_date("2026-11-24 ", NULL));
	assert_false(mq_sched_date("2026-11-2", NULL));
	assert_false(mq_sched_date(NULL, NULL));
	assert_string_equal(mq_sched_day_name(0), "Mon");
	assert_string_equal(mq_sched_day_name(6), "Sun");
	assert_string_equal(mq_sched_day_name(7), "?");
	assert_int_equal(mq_sched_days_parse("MON-FRI"), MON_FRI);
	assert_int_equal(mq_sched_days_parse("mon, wed ,Fri"), 0x15);
	assert_int_equal(mq_sched_days_parse("sat-sun"), 0x60);
	assert_int_equal(mq_sched_days_parse("fri-mon"), -1);
	assert_int_equal(mq_sched_days_parse("Monday"), -1);
	assert_int_equal(mq_sched_days_parse(""), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_hours),
		cmocka_unit_test(test_days_and_holidays),
		cmocka_unit_test(test_extra_holidays),
		cmocka_unit_test(test_easter),
		cmocka_unit_test(test_pl_calendar),
		cmocka_unit_test(test_dst_spring),
		cmocka_unit_test(test_dst_autumn),
		cmocka_unit_test(test_dst_odd_hours),
		cmocka_unit_test(test_next_open),
		cmocka_unit_test(test_window_end),
		cmocka_unit_test(test_local_day),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_tz_valid),
		cmocka_unit_test(test_new_york),
		cmocka_unit_test(test_tz_restored),
		cmocka_unit_test(test_tz_untouched),
		cmocka_unit_test(test_dates_and_day_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
