/* Unit tests for templates: lib/tmpl.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "tmpl.h"

static const char *names[] = {
	"first_name", "company", "empty", "city", "q", "_x1"
};
static const char *values[] = {
	"Łukasz", "Acme & <Sons>", "", "Kraków", "\"it's\"", "X"
};
static const struct mq_tmpl_fields fields = { names, values, 6 };

/* Renders t and checks the result against want; returns the result code. */
static void ok(const char *t, int mode, const char *want)
{
	struct mq_err err;
	char *out = NULL;
	int rc;

	mq_err_clear(&err);
	rc = mq_tmpl_render(t, &fields, mode, &out, &err);
	if (rc != MQ_OK)
		fail_msg("render '%s': %s", t, err.msg);
	assert_non_null(out);
	assert_string_equal(out, want);
	assert_int_equal(mq_tmpl_check(t, &err), MQ_OK);
	free(out);
}

static void fails(const char *t, int ex, const char *want)
{
	struct mq_err err;
	char *out = (char *)1;

	mq_err_clear(&err);
	assert_int_equal(mq_tmpl_render(t, &fields, MQ_TMPL_TEXT, &out, &err),
	    MQ_PERM);
	assert_null(out);
	assert_int_equal(err.ex, ex);
	assert_string_equal(err.msg, want);
	if (ex == EX_CONFIG) {
		mq_err_clear(&err);
		assert_int_equal(mq_tmpl_check(t, &err), MQ_PERM);
		assert_int_equal(err.ex, EX_CONFIG);
		assert_string_equal(err.msg, want);
	}
}

static void test_plain(void **state)
{
	(void)state;
	ok("Hi {{first_name}}, how is {{company}}?", MQ_TMPL_TEXT,
	    "Hi Łukasz, how is Acme & <Sons>?");
	ok("{{_x1}}", MQ_TMPL_TEXT, "X");
	ok("{{city}}{{first_name}}{{_x1}}", MQ_TMPL_TEXT, "KrakówŁukaszX");
	ok("Dzień dobry z {{city}}!", MQ_TMPL_TEXT, "Dzień dobry z Kraków!");
}

static void test_no_placeholders(void **state)
{
	(void)state;
	ok("", MQ_TMPL_TEXT, "");
	ok("just text, { single } braces {x} and }} closers",
	    MQ_TMPL_TEXT, "just text, { single } braces {x} and }} closers");
	ok("a { {b} }", MQ_TMPL_TEXT, "a { {b} }");
}

static void test_spaces(void **state)
{
	(void)state;
	ok("{{ first_name }}", MQ_TMPL_TEXT, "Łukasz");
	ok("{{\tcity\t}}", MQ_TMPL_TEXT, "Kraków");
	ok("{{ nope | dear customer }}", MQ_TMPL_TEXT, " dear customer ");
	ok("{{nope|}}x", MQ_TMPL_TEXT, "x");
}

static void test_fallback(void **state)
{
	(void)state;
	ok("Hi {{nope|there}}!", MQ_TMPL_TEXT, "Hi there!");
	ok("Hi {{empty|Szanowni Państwo}}!", MQ_TMPL_TEXT,
	    "Hi Szanowni Państwo!");
	ok("Hi {{first_name|there}}!", MQ_TMPL_TEXT, "Hi Łukasz!");
	ok("{{nope|a } b {c}}", MQ_TMPL_TEXT, "a } b {c");
	ok("{{nope|x|y}}", MQ_TMPL_TEXT, "x|y");
	ok("{{nope|<b>&</b>}}", MQ_TMPL_HTML, "<b>&</b>");
}

static void test_missing(void **state)
{
	struct mq_err err;
	char *out = (char *)1;

	(void)state;
	fails("Dear {{company}} and {{nope}}", EX_DATAERR,
	    "missing field 'nope'");
	fails("{{ empty }}", EX_DATAERR, "missing field 'empty'");
	mq_err_clear(&err);
	assert_int_equal(mq_tmpl_render("{{a}}", NULL, MQ_TMPL_TEXT, &out,
	    &err), MQ_PERM);
	assert_null(out);
	assert_string_equal(err.msg, "missing field 'a'");
	assert_int_equal(mq_tmpl_render("{{a|b}}", NULL, MQ_TMPL_TEXT, &out,
	    &err), MQ_OK);
	assert_string_equal(out, "b");
	free(out);
}

static void test_html(void **state)
{
	(void)state;
	ok("<p>{{company}} {{q}}</p>", MQ_TMPL_HTML,
	    "<p>Acme &amp; &lt;Sons&gt; &quot;it&#39;s&quot;</p>");
	ok("<p>{{company}}</p>", MQ_TMPL_TEXT, "<p>Acme & <Sons></p>");
	ok("<p>{{first_name}}</p>", MQ_TMPL_HTML, "<p>Łukasz</p>");
}

static void test_syntax(void **state)
{
	(void)state;
	fails("Hi {{first_name", EX_CONFIG,
	    "unclosed placeholder '{{first_name' on line 1");
	fails("Hi {{", EX_CONFIG, "unclosed placeholder '{{' on line 1");
	fails("Hi,\n\nthanks {{first_name}, bye", EX_CONFIG,
	    "unclosed placeholder '{{first_name}, bye' on line 3");
	fails("{{ }}", EX_CONFIG, "bad field name in placeholder '{{ }}' on line 1");
	fails("{{a}} {{", EX_CONFIG, "unclosed placeholder '{{' on line 1");
	fails("ab {{1st}}", EX_CONFIG,
	    "bad field name in placeholder '{{1st}}' on line 1");
	fails("ó {{first name}} x", EX_CONFIG,
	    "bad field name in placeholder '{{first name}}' on line 1");
	fails("{{}}", EX_CONFIG, "bad field name in placeholder '{{}}' on line 1");
	fails("{{ a-b }}", EX_CONFIG,
	    "bad field name in placeholder '{{ a-b }}' on line 1");
	fails("{{x|fallback never closed", EX_CONFIG,
	    "unclosed placeholder '{{x|fallback never closed' on line 1");
	fails("{{{x}}}", EX_CONFIG,
	    "bad field name in placeholder '{{{x}}' on line 1");
	fails("x {{an_extremely_long_field_name_that_goes_on_and_on", EX_CONFIG,
	    "unclosed placeholder "
	    "'{{an_extremely_long_field_name_that_goes...' on line 1");
	fails("{{xąąąąąąąąąąąąąąąąąąąąąąąąąąąąą", EX_CONFIG,
	    "unclosed placeholder "
	    "'{{xąąąąąąąąąąąąąąąąąą...' on line 1");
	fails("{{ab\n}}", EX_CONFIG, "bad field name in placeholder '{{ab' on line 1");
}

/* A fallback cannot hold "{{": a "}" short of closing it would make it
 * swallow the text up to the next placeholder's end. */
static void test_fallback_open(void **state)
{
	static const char *const bad[] = {
	    "Hi {{name|there}, see {{city}}", "{{name|{{city}}", "{{name|{{}}" };
	static const char *const want[] = {
	    "unclosed placeholder '{{name|there}, see {{city}}'",
	    "unclosed placeholder '{{name|{{city}}'",
	    "unclosed placeholder '{{name|{{}}'" };
	struct mq_err err;
	char *out;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		mq_err_clear(&err);
		assert_int_equal(mq_tmpl_check(bad[i], &err), MQ_PERM);
		assert_int_equal(err.ex, EX_CONFIG);
		assert_memory_equal(err.msg, want[i], strlen(want[i]));
		assert_int_equal(mq_tmpl_render(bad[i], &fields, MQ_TMPL_TEXT,
		    &out, &err), MQ_PERM);
	}
	ok("{{name|{ x }}}", MQ_TMPL_TEXT, "{ x }");
	ok("{{name|a}b}}{{city|}}}", MQ_TMPL_TEXT, "a}bKraków}");
}

struct seen {
	char list[256];
	int  stop_after;
	int  n;
};

static int collect(const char *name, size_t len, void *arg)
{
	struct seen *s = arg;
	size_t n = strlen(s->list);

	snprintf(s->list + n, sizeof s->list - n, "%s%.*s", n ? "," : "",
	    (int)len, name);
	return ++s->n == s->stop_after ? 7 : 0;
}

static void test_required(void **state)
{
	struct seen s;

	(void)state;
	memset(&s, 0, sizeof s);
	assert_int_equal(mq_tmpl_required("Hi {{ first_name }} of "
	    "{{company|your firm}}, {{city}}{{first_name}}", collect, &s), 0);
	assert_string_equal(s.list, "first_name,city,first_name");

	memset(&s, 0, sizeof s);
	s.stop_after = 2;
	assert_int_equal(mq_tmpl_required("{{a}} {{b}} {{c}}", collect, &s), 7);
	assert_string_equal(s.list, "a,b");

	memset(&s, 0, sizeof s);
	assert_int_equal(mq_tmpl_required("no fields { here }", collect, &s), 0);
	assert_string_equal(s.list, "");
}

static void test_large(void **state)
{
	struct mq_err err;
	size_t n = 200000, i;
	char *t = malloc(n * 15 + 1), *out;

	(void)state;
	assert_non_null(t);
	for (i = 0; i < n; i++)
		memcpy(t + i * 15, "{{_x1}}--------", 15);
	t[n * 15] = '\0';
	assert_int_equal(mq_tmpl_render(t, &fields, MQ_TMPL_TEXT, &out, &err),
	    MQ_OK);
	assert_int_equal(strlen(out), n * 9);
	assert_memory_equal(out, "X--------X", 10);
	free(out);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_no_placeholders),
		cmocka_unit_test(test_spaces),
		cmocka_unit_test(test_fallback),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_html),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_fallback_open),
		cmocka_unit_test(test_required),
		cmocka_unit_test(test_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
