/*
 * lib/text: the one reading of UTF-8 (overlong forms, surrogates, code
 * points past U+10FFFF, cut sequences), where text is cut between
 * characters, the one address rule for leads and mailboxes alike, and the
 * display width of the stats table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "text.h"

static void test_utf8(void **state)
{
	static const char *good[] = { "", "plain", "Wójcik Łukasz Żółć",
	    "\xe2\x82\xac", "\xf0\x9f\x93\xa7", "\xf4\x8f\xbf\xbf" };
	static const char *bad[] = { "\x80", "a\xc3", "\xc0\x80", "\xc1\xbf",
	    "\xe0\x80\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",
	    "\xe2\x82", "\xff", "\xc3\x28" };

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		assert_int_equal(mq_text_utf8_ok(good[i], strlen(good[i])), 1);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_int_equal(mq_text_utf8_ok(bad[i], strlen(bad[i])), 0);
	/* The length given counts, not the NUL. */
	assert_int_equal(mq_text_utf8_ok("\xc3\xb3", 1), 0);
}

/* Each case: the bytes, how many there are, and the length of the
 * longest well-formed prefix. */
static void test_utf8_span(void **state)
{
	static const struct { const char *s; size_t n, span; } t[] = {
		{ "", 0, 0 },
		{ "a\0b", 3, 3 },                      /* NUL is a character */
		{ "\x7f", 1, 1 },
		{ "\xc2\x80", 2, 2 },                   /* U+0080 */
		{ "\xdf\xbf", 2, 2 },                   /* U+07FF */
		{ "\xe0\xa0\x80", 3, 3 },               /* U+0800 */
		{ "\xed\x9f\xbf", 3, 3 },               /* U+D7FF */
		{ "\xee\x80\x80", 3, 3 },               /* U+E000 */
		{ "\xef\xbf\xbf", 3, 3 },               /* U+FFFF */
		{ "\xf0\x90\x80\x80", 4, 4 },           /* U+10000 */
		{ "\xf4\x8f\xbf\xbf", 4, 4 },           /* U+10FFFF */
		/* overlong forms */
		{ "ab\xc0\x80", 4, 2 },
		{ "\xc1\xbf", 2, 0 },
		{ "\xe0\x9f\xbf", 3, 0 },
		{ "\xf0\x8f\xbf\xbf", 4, 0 },
		/* surrogates, alone or as a pair (CESU-8) */
		{ "x\xed\xa0\x80", 4, 1 },
		{ "\xed\xbf\xbf", 3, 0 },
		{ "\xed\xa0\xbd\xed\xb3\xa7", 6, 0 },
		/* past U+10FFFF */
		{ "\xf4\x90\x80\x80", 4, 0 },
		{ "\xf5\x80\x80\x80", 4, 0 },
		{ "\xf7\xbf\xbf\xbf", 4, 0 },
		{ "\xf8\x88\x80\x80\x80", 5, 0 },
		/* cut short, by the end or by another character */
		{ "ok\xe2\x82", 4, 2 },
		{ "\xf0\x9f\x93", 3, 0 },
		{ "\xf0\x9f\x93\xa7", 3, 0 },            /* n cuts it */
		{ "\xe2\x82" "a", 3, 0 },
		{ "\xc3\xb3\xc3", 3, 2 },
		/* stray continuation bytes, invalid bytes */
		{ "\x80", 1, 0 },
		{ "\xc3\xb3\xbf", 3, 2 },
		{ "\xfe", 1, 0 },
		{ "\xff", 1, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		assert_int_equal(mq_text_utf8_span(t[i].s, t[i].n), t[i].span);
		assert_int_equal(mq_text_utf8_ok(t[i].s, t[i].n),
		    t[i].span == t[i].n);
	}
}

static void test_utf8_next(void **state)
{
	long cp;

	(void)state;
	assert_int_equal(mq_text_utf8_next("A", 1, &cp), 1);
	assert_int_equal(cp, 'A');
	assert_int_equal(mq_text_utf8_next("\0", 1, &cp), 1);
	assert_int_equal(cp, 0);
	assert_int_equal(mq_text_utf8_next("\xc5\xbc", 2, &cp), 2);   /* ż */
	assert_int_equal(cp, 0x17c);
	assert_int_equal(mq_text_utf8_next("\xe2\x82\xac", 3, &cp), 3);
	assert_int_equal(cp, 0x20ac);
	assert_int_equal(mq_text_utf8_next("\xf0\x9f\x93\xa7", 4, &cp), 4);
	assert_int_equal(cp, 0x1f4e7);
	/* anything else: one byte, no character, so a reader resyncs */
	assert_int_equal(mq_text_utf8_next("\xed\xa0\x80", 3, &cp), 1);
	assert_int_equal(cp, -1);
	assert_int_equal(mq_text_utf8_next("\xc0\xaf", 2, &cp), 1);
	assert_int_equal(cp, -1);
	assert_int_equal(mq_text_utf8_next("\xc5\xbc", 1, &cp), 1);
	assert_int_equal(cp, -1);
	assert_int_equal(mq_text_utf8_next("\xbc", 1, &cp), 1);
	assert_int_equal(cp, -1);
}

/* Each case: the bytes and, for every n from 0 to their length, where
 * the cut falls. */
static void test_cut(void **state)
{
	static const struct { const char *s; size_t cut[8]; } t[] = {
		{ "", { 0 } },
		{ "plain", { 0, 1, 2, 3, 4, 5 } },
		/* two, three and four bytes: U+017C, U+20AC, U+1F4E7 */
		{ "a\xc5\xbc" "b", { 0, 1, 1, 3, 4 } },
		{ "\xc5\xbc\xc5\xbc", { 0, 0, 2, 2, 4 } },
		{ "a\xe2\x82\xac" "b", { 0, 1, 1, 1, 4, 5 } },
		{ "\xe2\x82\xac", { 0, 0, 0, 3 } },
		{ "a\xf0\x9f\x93\xa7" "b", { 0, 1, 1, 1, 1, 5, 6 } },
		{ "\xf0\x9f\x93\xa7", { 0, 0, 0, 0, 4 } },
		/* stray continuation bytes go with the character before, but
		 * an ASCII character is whole without them */
		{ "\x80" "ab", { 0, 1, 2, 3 } },
		{ "\x80\x80" "a", { 0, 0, 2, 3 } },
		{ "a\x80" "b", { 0, 1, 2, 3 } },
		{ "a\x80\x80" "b", { 0, 1, 1, 3, 4 } },
		{ "\xc3\xb3\xbf" "z", { 0, 0, 0, 3, 4 } },
	};

	(void)state;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		for (size_t n = 0; n <= strlen(t[i].s); n++)
			assert_int_equal(mq_text_cut(t[i].s, n), t[i].cut[n]);
	/* NUL is a character like any other. */
	assert_int_equal(mq_text_cut("a\0\x80", 2), 2);
	assert_int_equal(mq_text_cut("\0\x80", 1), 1);
	assert_int_equal(mq_text_cut("\0\xc5\xbc", 2), 1);
}

static void test_addresses(void **state)
{
	static const char *good[] = { "a@example.com", "Zofia.Wojcik@example.com",
	    "x+tag@sub.example.co.uk", "o'brien@example.ie",
	    "!#$%&'*+-/=?^_`{|}~@example.com", "a@b-c.example", "1@2.3" };
	static const struct { const char *addr, *why; } bad[] = {
		{ "plain", "no @" },
		{ "@example.com", "empty local part" },
		{ "a@", "no domain" },
		{ "a@localhost", "domain has no dot" },
		{ ".a@example.com", "local part starts or ends with a dot" },
		{ "a.@example.com", "local part starts or ends with a dot" },
		{ "a..b@example.com", "two dots in a row in the local part" },
		{ "a b@example.com", "character not allowed in the local part" },
		{ "\"a\"@example.com", "character not allowed in the local part" },
		{ "a@b@example.com", "more than one @" },
		{ "a@example..com", "empty label in the domain" },
		{ "a@example.com.", "empty label in the domain" },
		{ "a@-x.example.com", "domain label starts with a hyphen" },
		{ "a@x-.example.com", "domain label ends with a hyphen" },
		{ "a@ex_ample.com", "character not allowed in the domain" },
		{ "a@[127.0.0.1]", "character not allowed in the domain" },
		{ "zofia@w\xc3\xb3jcik.pl", "non-ASCII address not supported" },
		{ "", "empty address" },
	};
	char buf[400];

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		assert_null(mq_text_addr_problem(good[i]));
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_string_equal(mq_text_addr_problem(bad[i].addr),
		    bad[i].why);

	/* Limits: 64 in the local part, 63 per label, 254 in all. */
	memset(buf, 'a', 64);
	strcpy(buf + 64, "@example.com");
	assert_null(mq_text_addr_problem(buf));
	memset(buf, 'a', 65);
	strcpy(buf + 65, "@example.com");
	assert_string_equal(mq_text_addr_problem(buf),
	    "local part longer than 64 characters");
	strcpy(buf, "a@");
	memset(buf + 2, 'b', 63);
	strcpy(buf + 65, ".com");
	assert_null(mq_text_addr_problem(buf));
	strcpy(buf, "a@");
	memset(buf + 2, 'b', 64);
	strcpy(buf + 66, ".com");
	assert_string_equal(mq_text_addr_problem(buf),
	    "domain label longer than 63 characters");
	/* 64 + 1 + a domain of 4 labels of 47 with dots: 256 in all. */
	memset(buf, 'a', 64);
	buf[64] = '@';
	for (int l = 0, o = 65; l < 4; l++) {
		memset(buf + o, 'c', 47);
		o += 47;
		buf[o++] = l < 3 ? '.' : '\0';
	}
	assert_string_equal(mq_text_addr_problem(buf),
	    "longer than 254 characters");
}

/* The rule is one for a lead (mailq-import) and a mailbox (mailq.conf):
 * what mailq.conf refused before is refused, and a domain without a dot
 * is refused by both. */
static void test_address_rule(void **state)
{
	static const char *good[] = { "anna@example.com", "bob@example.com",
	    "anna.nowak@example.com", "optout@example.com",
	    "wypisz@example.com", "piotr@example.net", "u@localhost.localdomain",
	    "a-b@x.y-z.example", "A@EXAMPLE.COM" };
	static const char *bad[] = {
		/* the config's refusals (test_conf) */
		"anna", "anna@", "@example.com", "a..b@example.com",
		".anna@example.com", "anna@-x.example.com", "anna@x..com",
		"an na@example.com", "anna@exa_mple.com", "anna@example.com>",
		"not-an-address", "nope", "not an address",
		/* dotless domains */
		"user@localhost", "root@mailhost", "anna@gmail", "a@b",
		/* neither quoting, literals, comments nor display names */
		"\"a b\"@example.com", "a@[192.0.2.1]", "a@[IPv6:2001:db8::1]",
		"a(c)@example.com", "Anna <anna@example.com>",
		/* blanks are trimmed by the caller, never here */
		" anna@example.com", "anna@example.com ", "an\tna@example.com",
		"anna@example.com\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		assert_null(mq_text_addr_problem(good[i]));
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_non_null(mq_text_addr_problem(bad[i]));
	assert_string_equal(mq_text_addr_problem("user@localhost"),
	    "domain has no dot");
	assert_string_equal(mq_text_addr_problem("anna@example.com>"),
	    "character not allowed in the domain");
	assert_string_equal(mq_text_addr_problem("Anna <anna@example.com>"),
	    "character not allowed in the local part");
}

static void width(void **state)
{
	(void)state;
	assert_int_equal(mq_text_width(""), 0);
	assert_int_equal(mq_text_width("open"), 4);
	assert_int_equal(mq_text_width("Boże Narodzenie"), 15);
	assert_int_equal(strlen("Boże Narodzenie"), 16);
	assert_int_equal(mq_text_width("zażółć gęślą jaźń"), 17);
	assert_int_equal(mq_text_width("e\xcc\x81"), 1);     /* e + acute */
	assert_int_equal(mq_text_width("日本"), 4);
	assert_int_equal(mq_text_width("\xf0\x9f\x93\xa7"), 2); /* emoji */
	assert_int_equal(mq_text_width("a\xffz"), 3);  /* invalid byte */
	assert_int_equal(mq_text_width("\xc3"), 1);    /* cut sequence */
	assert_int_equal(mq_text_width("\xc0\xaf"), 2); /* overlong */
}

static void fit(void **state)
{
	char buf[64];

	(void)state;
	mq_text_fit("short", 10, buf, sizeof buf);
	assert_string_equal(buf, "short");
	mq_text_fit("exactly10!", 10, buf, sizeof buf);
	assert_string_equal(buf, "exactly10!");
	mq_text_fit("535 authentication failed", 10, buf, sizeof buf);
	assert_string_equal(buf, "535 authe…");
	assert_int_equal(mq_text_width(buf), 10);
	mq_text_fit("źdźbło żółte", 6, buf, sizeof buf);
	assert_string_equal(buf, "źdźbł…");
	mq_text_fit("日本語テキスト", 5, buf, sizeof buf);
	assert_string_equal(buf, "日本…");
	mq_text_fit("abcdefghijkl", 11, buf, 8);     /* the buffer cuts */
	assert_string_equal(buf, "abcd…");
}

/* As the table treats them: combining marks and zero-width characters
 * none, East Asian wide and the emoji blocks U+1F300-1F64F and
 * U+1F900-1F9FF two, other symbols and emoji (U+2705, U+1F680) one, and
 * each byte that is not UTF-8 one. */
static void width_more(void **state)
{
	static const struct { const char *s; int w; } t[] = {
		{ "a\xcc\x81\xcc\x82", 1 },            /* two marks on a */
		{ "\xd7\xa9\xd6\xb8", 1 },              /* Hebrew with a point */
		{ "a\xe2\x80\x8b" "b", 2 },             /* zero-width space */
		{ "\xef\xbb\xbf" "x", 1 },              /* BOM */
		{ "e\xef\xb8\x8f", 1 },                 /* variation selector */
		{ "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 6 }, /* 日本語 */
		{ "\xed\x95\x9c", 2 },                  /* Hangul */
		{ "\xef\xbc\xa1", 2 },                  /* fullwidth A */
		{ "\xe3\x80\x80", 2 },                  /* ideographic space */
		{ "\xf0\xa0\x80\x80", 2 },              /* U+20000 */
		{ "\xf0\x9f\x98\x80", 2 },              /* U+1F600 */
		{ "\xf0\x9f\xa4\x96", 2 },              /* U+1F916 */
		{ "\xe2\x9c\x85", 1 },                  /* U+2705 */
		{ "\xf0\x9f\x9a\x80", 1 },              /* U+1F680 */
		{ "\xe2\x80\xa6", 1 },                  /* the ellipsis */
		{ "\xed\xa0\x80", 3 },                  /* a surrogate: 3 bytes */
		{ "\xf4\x90\x80\x80", 4 },              /* past U+10FFFF */
		{ "\xe2\x82", 2 },                      /* cut at the end */
	};
	char buf[64];

	(void)state;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		assert_int_equal(mq_text_width(t[i].s), t[i].w);
	/* a wide character that would cross the limit is left out whole */
	mq_text_fit("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 4, buf, sizeof buf);
	assert_string_equal(buf, "\xe6\x97\xa5\xe2\x80\xa6");
	/* marks stay with their letter */
	mq_text_fit("e\xcc\x81" "e\xcc\x81" "e\xcc\x81", 3, buf, sizeof buf);
	assert_string_equal(buf, "e\xcc\x81" "e\xcc\x81" "e\xcc\x81");
	mq_text_fit("e\xcc\x81" "e\xcc\x81" "e\xcc\x81", 2, buf, sizeof buf);
	assert_string_equal(buf, "e\xcc\x81\xe2\x80\xa6");
	assert_int_equal(mq_text_width(buf), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_utf8_span),
		cmocka_unit_test(test_utf8_next),
		cmocka_unit_test(test_cut),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_address_rule),
		cmocka_unit_test(width),
		cmocka_unit_test(fit),
		cmocka_unit_test(width_more),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
