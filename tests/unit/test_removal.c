/*
 * Unit tests of lib/removal.c on folded text: where the sender's own
 * words stop, which lines are the first ones, and the reason given. The
 * lexicon and the unsubscribe addresses are tested on whole messages in
 * test_classify.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "removal.h"

static struct mq_inbound in;

static void test_stop_line(void **state)
{
	static const char *const stop[] = { "--", "-- ", "-- anna",
	    "-----original message-----", "________________", "from: anna",
	    "od: anna", "von: anna", "sent from my iphone",
	    "wyslane z telefonu", "on mon, 1 feb 2027, anna wrote:",
	    "anna napisal(a):", "anna napisala:", "anna pisze:",
	    "anna schrieb:" };
	static const char *const go[] = { "", "thanks", "--anna",
	    "from now on", "i wrote: this", "- a list" };

	(void)state;
	for (size_t i = 0; i < sizeof stop / sizeof *stop; i++)
		if (!mq_removal_stop_line(stop[i]))
			fail_msg("'%s' should stop", stop[i]);
	for (size_t i = 0; i < sizeof go / sizeof *go; i++)
		if (mq_removal_stop_line(go[i]))
			fail_msg("'%s' should not stop", go[i]);
}

static void test_asks(void **state)
{
	(void)state;
	assert_true(mq_removal_asks("re: offer - unsubscribe", "", &in));
	assert_int_equal(in.cls, MQ_CLASS_UNSUBSCRIBE);
	assert_string_equal(in.reason,
	    "Subject asks to be removed: \"unsubscribe\"");
	/* blank and quoted lines are not counted */
	assert_true(mq_removal_asks("re: a", "\n\n> x\n> y\nhi\n\n  "
	    "prosze usunac\n", &in));
	assert_string_equal(in.reason,
	    "asks to be removed in line 2: \"prosze usunac\"");
	assert_true(mq_removal_asks("", "1\n2\n3\n4\nwypisz\n", &in));
	assert_false(mq_removal_asks("", "1\n2\n3\n4\n5\nwypisz\n", &in));
	assert_false(mq_removal_asks("", "ok\n-- \nunsubscribe\n", &in));
	assert_false(mq_removal_asks("", "ok\nanna wrote:\nremove me\n",
	    &in));
	assert_false(mq_removal_asks("", "", &in));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stop_line),
		cmocka_unit_test(test_asks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
