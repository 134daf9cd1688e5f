/*
 * Unit tests of lib/htmltext.c: tags, block tags as line breaks,
 * entities, comments, hidden and quoted parts, and the bound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include <glib.h>

#include "htmltext.h"

static void text(const char *html, const char *want)
{
	char *t = mq_htmltext(html, 1000);

	if (strcmp(t, want) != 0)
		fail_msg("'%s' -> '%s', want '%s'", html, t, want);
	g_free(t);
}

static void test_text(void **state)
{
	(void)state;
	text("<p>Hi <b>Anna</b></p>", "\nHi Anna\n");
	text("a<br>b<BR/>c", "a\nb\nc");
	text("Tom &amp; Jerry &lt;3&gt; &quot;x&quot;&nbsp;&apos;",
	    "Tom & Jerry <3> \"x\" '");
	text("&#261;&#x17C; &#0; &bogus; &#xD800;", "ąż &#0; &bogus; &#xD800;");
	text("a<!-- unsubscribe -->b<!-- never closed", "ab");
	text("<head><title>t</title></head><style>p{}</style>x"
	    "<script>y</script>z", "xz");
	text("ok<blockquote>quoted <blockquote>deeper</blockquote> still"
	    "</blockquote>mine", "ok\n\n\n\nmine");
	text("line\r\nend", "line  end");
	text("<p unclosed", "\n");
	text(NULL, "");
}

static void test_bound(void **state)
{
	char *t;

	(void)state;
	t = mq_htmltext("abcdefghij", 4);
	assert_string_equal(t, "abcd");
	g_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
