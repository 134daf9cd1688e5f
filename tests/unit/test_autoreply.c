/*
 * Unit tests of lib/autoreply.c's return dates, on folded text: the
 * shapes of a whole date, the keyword that must come before it (fillers
 * between), the dates that must agree, and the bounds around the reply's
 * own Date. The markers are tested on whole messages in test_classify.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "autoreply.h"

#define FEB1 1801440000         /* 2027-02-01 00:00 UTC */
#define FEB8 (FEB1 + 7 * 86400)

static void date(const char *s, size_t len, int y, int m, int d)
{
	int yy = 0, mm = 0, dd = 0;
	size_t n = mq_autoreply_date_at(s, &yy, &mm, &dd);

	if (n != len || (len > 0 && (yy != y || mm != m || dd != d)))
		fail_msg("'%s': %zu %d-%d-%d", s, n, yy, mm, dd);
}

static void test_date_at(void **state)
{
	(void)state;
	date("2027-02-08 x", 10, 2027, 2, 8);
	date("8.02.2027.", 9, 2027, 2, 8);
	date("08.2.2027", 9, 2027, 2, 8);
	date("8 february 2027", 15, 2027, 2, 8);
	date("8th feb. 2027", 13, 2027, 2, 8);
	date("8. februar 2027", 15, 2027, 2, 8);
	date("8 lutego 2027", 13, 2027, 2, 8);
	date("february 8, 2027", 16, 2027, 2, 8);
	date("feb 8th 2027", 12, 2027, 2, 8);
	date("02/08/2027", 0, 0, 0, 0);
	date("8 february", 0, 0, 0, 0);
	date("8 febr 2027", 0, 0, 0, 0);
	date("2027-02-08123", 0, 0, 0, 0);
	date("20270-02-08", 0, 0, 0, 0);
	date("", 0, 0, 0, 0);
}

static void test_back_on(void **state)
{
	(void)state;
	assert_int_equal(mq_autoreply_back_on("away", "back on 2027-02-08",
	    FEB1), FEB8);
	/* the keyword in the Subject, the date in it too */
	assert_int_equal(mq_autoreply_back_on("out of office until 8.02.2027",
	    "", FEB1), FEB8);
	/* fillers between the keyword and the date; the line before */
	assert_int_equal(mq_autoreply_back_on("", "i will be back in office "
	    "on\nmonday, february 8, 2027", FEB1), FEB8);
	/* at most four fillers */
	assert_int_equal(mq_autoreply_back_on("", "i will be back in the "
	    "office on\nmonday, february 8, 2027", FEB1), 0);
	assert_int_equal(mq_autoreply_back_on("", "ab dem 08.02.2027 bin "
	    "ich wieder da", FEB1), FEB8);
	assert_int_equal(mq_autoreply_back_on("", "ab dem 08.02.2027 im "
	    "urlaub", FEB1), 0);
	/* no keyword; too many words between */
	assert_int_equal(mq_autoreply_back_on("", "sent 2027-02-08", FEB1), 0);
	assert_int_equal(mq_autoreply_back_on("", "back after a long trip "
	    "abroad 2027-02-08", FEB1), 0);
	/* dates that agree within three days give the later */
	assert_int_equal(mq_autoreply_back_on("", "until 2027-02-07, back on "
	    "2027-02-08", FEB1), FEB8);
	assert_int_equal(mq_autoreply_back_on("", "until 2027-02-01, back on "
	    "2027-02-08", FEB1), 0);
	/* bounds around the Date; none without a Date */
	assert_int_equal(mq_autoreply_back_on("", "until 2027-01-30", FEB1), 0);
	assert_int_equal(mq_autoreply_back_on("", "until 2028-06-01", FEB1), 0);
	assert_int_equal(mq_autoreply_back_on("", "until 2028-06-01", 0),
	    1843430400);
	/* a date inside a word is none; nor is a day that does not exist */
	assert_int_equal(mq_autoreply_back_on("", "until x2027-02-08", FEB1),
	    0);
	assert_int_equal(mq_autoreply_back_on("", "until 2027-02-29", FEB1),
	    0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_date_at),
		cmocka_unit_test(test_back_on),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
