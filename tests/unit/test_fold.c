/*
 * Unit tests of lib/fold.c: folding (case, accents, ł, blanks, the
 * typographic apostrophe, bytes that are no UTF-8), whole-word matching,
 * cutting between characters and reading a line at a time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include <glib.h>

#include "fold.h"

static void folds(const char *in, const char *want)
{
	char *f = mq_fold(in);

	if (strcmp(f, want) != 0)
		fail_msg("fold('%s') = '%s', want '%s'", in, f, want);
	g_free(f);
}

static void test_fold(void **state)
{
	(void)state;
	folds("Odpowiedź AUTOMATYCZNA", "odpowiedz automatyczna");
	folds("ŁÓDŹ, Straße", "lodz, strasse");
	folds("  a \t\t b\xc2\xa0" "c  ", "a b c");
	folds("don\xe2\x80\x99t", "don't");
	folds("line one  \r\n  line two", "line one\nline two");
	folds("Abwesenheitsnotiz: Müller", "abwesenheitsnotiz: muller");
	folds("bad \xff byte", "bad \xef\xbf\xbd byte");   /* made valid */
	folds("", "");
}

static void test_words(void **state)
{
	(void)state;
	assert_true(mq_fold_has_word("please remove me now", "remove me"));
	assert_true(mq_fold_has_word("remove me", "remove me"));
	assert_true(mq_fold_has_word("(unsubscribe)", "unsubscribe"));
	assert_true(mq_fold_has_word("resubscribe, unsubscribe",
	    "unsubscribe"));
	assert_false(mq_fold_has_word("resubscribed", "subscribe"));
	assert_false(mq_fold_has_word("remove meat", "remove me"));
	assert_false(mq_fold_has_word("wypiszcie", "wypisz"));
	assert_false(mq_fold_has_word("żwypisz", "wypisz"));
	assert_false(mq_fold_has_word("", "a"));
	assert_true(mq_fold_starts_word("out of office: away",
	    "out of office"));
	assert_false(mq_fold_starts_word("re: out of office",
	    "out of office"));
	assert_false(mq_fold_starts_word("autoreplyx", "autoreply"));
	assert_true(mq_fold_is_word_char("ą"));
	assert_false(mq_fold_is_word_char("-"));
	assert_false(mq_fold_is_word_char(""));
}

static void test_cut(void **state)
{
	char s[16];

	(void)state;
	strcpy(s, "aąb");              /* a, 2 bytes, b */
	assert_string_equal(mq_fold_cut(s, 2), "a");
	strcpy(s, "aąb");
	assert_string_equal(mq_fold_cut(s, 3), "aą");
	strcpy(s, "abc");
	assert_string_equal(mq_fold_cut(s, 9), "abc");
	assert_string_equal(mq_fold_cut(s, 0), "");
}

static void test_lines(void **state)
{
	const char *p = "one\r\ntwo\n\nthree-is-long";
	char buf[6];

	(void)state;
	assert_true(mq_fold_next_line(&p, buf, sizeof buf));
	assert_string_equal(buf, "one");
	assert_true(mq_fold_next_line(&p, buf, sizeof buf));
	assert_string_equal(buf, "two");
	assert_true(mq_fold_next_line(&p, buf, sizeof buf));
	assert_string_equal(buf, "");
	assert_true(mq_fold_next_line(&p, buf, sizeof buf));
	assert_string_equal(buf, "three");    /* cut to its buffer */
	assert_false(mq_fold_next_line(&p, buf, sizeof buf));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fold),
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_cut),
		cmocka_unit_test(test_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
