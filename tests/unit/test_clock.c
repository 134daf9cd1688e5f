/* Unit tests of the clock: MAILQ_NOW parsing and formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sysexits.h>
#include <cmocka.h>

#include "clock.h"

static time_t parse_ok(const char *s)
{
	struct mq_err err;
	time_t t = -1;

	assert_int_equal(mq_clock_parse(s, &t, &err), MQ_OK);
	return t;
}

static void test_epoch(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("0"), 0);
	assert_int_equal(parse_ok("1795510800"), 1795510800);
	assert_int_equal(parse_ok("253402300799"), 253402300799LL);
}

static void test_iso(void **state)
{
	(void)state;
	/* 2026-11-24 09:00 UTC = 10:00 in Warsaw */
	assert_int_equal(parse_ok("2026-11-24T09:00:00Z"), 1795510800);
	assert_int_equal(parse_ok("2026-11-24T09:00Z"), 1795510800);
	assert_int_equal(parse_ok("2026-11-24 09:00:00"), 1795510800);
	assert_int_equal(parse_ok("2026-11-24T10:00:00+01:00"), 1795510800);
	assert_int_equal(parse_ok("2026-11-24T10:00+0100"), 1795510800);
	assert_int_equal(parse_ok("2026-11-24T04:00:00-05:00"), 1795510800);
	assert_int_equal(parse_ok("2028-02-29T00:00Z"), 1835395200);
	assert_int_equal(parse_ok("2000-02-29T00:00Z"), 951782400);
	assert_int_equal(parse_ok("9999-12-31T23:59:59Z"), 253402300799LL);
	assert_int_equal(parse_ok("1970-01-01T01:00+01:00"), 0);
}

static void test_bad(void **state)
{
	static const char *bad[] = { "", "tomorrow", "-5", "12abc",
	    "2026-13-01T00:00Z", "2026-11-24T25:00Z", "2026-11-24",
	    "2026-11-24T10:00:00+1", "2026-11-24T10:00:00 UTC",
	    /* out of range, or not a real date: never wrapped or rolled on */
	    "99999999999999999", "9223372036854775807", "253402300800",
	    "+5", " 5", "10000-01-01T00:00Z", "2026-02-31T10:00Z",
	    "2026-02-29T10:00Z", "1900-02-29T10:00Z", "2026-04-31T10:00Z",
	    "1969-12-31T23:59:59Z", "1970-01-01T00:00+01:00",
	    "9999-12-31T23:59:59-00:01", "2026-11-24T10:00:60Z",
	    "2026-11-24T10:00:00Zjunk" };
	struct mq_err err;
	time_t t;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_int_equal(mq_clock_parse(bad[i], &t, &err), MQ_PERM);
		assert_int_equal(err.ex, EX_USAGE);
		assert_non_null(strstr(err.msg, "MAILQ_NOW"));
	}
}

static void test_now(void **state)
{
	struct mq_err err;
	time_t t, before;
	struct timespec ts;
	long long ms;

	(void)state;
	setenv("MAILQ_NOW", "2026-11-24T09:00:00Z", 1);
	assert_int_equal(mq_clock_now(&t, &err), MQ_OK);
	assert_int_equal(t, 1795510800);
	/* the clock runs on from MAILQ_NOW */
	sleep(1);
	assert_int_equal(mq_clock_now(&t, &err), MQ_OK);
	assert_true(t >= 1795510801 && t <= 1795510803);
	/* in milliseconds: the same clock, finer */
	nanosleep(&(struct timespec){ 0, 250000000 }, NULL);
	assert_int_equal(mq_clock_now_ms(&ms, &err), MQ_OK);
	assert_true(ms >= 1795510801250LL && ms < 1795510804000LL);
	unsetenv("MAILQ_NOW");
	/* the system's clock (time(2) may lag it by a scheduler tick) */
	clock_gettime(CLOCK_REALTIME, &ts);
	before = ts.tv_sec;
	assert_int_equal(mq_clock_now(&t, &err), MQ_OK);
	clock_gettime(CLOCK_REALTIME, &ts);
	assert_true(t >= before && t <= ts.tv_sec);
}

static void test_iso_format(void **state)
{
	char buf[32];

	(void)state;
	mq_clock_iso(1795510800, buf, sizeof buf);
	assert_string_equal(buf, "2026-11-24T09:00:00Z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_epoch),
		cmocka_unit_test(test_iso),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_now),
		cmocka_unit_test(test_iso_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
