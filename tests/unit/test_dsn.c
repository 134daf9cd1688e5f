/*
 * Unit tests of lib/dsn.c: status codes where they stand alone (and not
 * in addresses, dates or versions), RFC 6533's \x{...} escapes in utf-8
 * addresses, and on whole reports: a recipient of type utf-8 decoded,
 * and the returned message's Message-ID taken from the report's own
 * In-Reply-To when nothing else names it. GMime is shut down at the end,
 * so that LeakSanitizer sees only what the classifier might have kept.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include <gmime/gmime.h>

#include "classify.h"
#include "dsn.h"

static struct mq_inbound in;

static void code(const char *s, int want, const char *status)
{
	char st[16];
	int k = mq_dsn_find_code(s, st, sizeof st);

	if (k != want || strcmp(st, status) != 0)
		fail_msg("'%s': %d '%s', want %d '%s'", s, k, st, want, status);
}

static void test_codes(void **state)
{
	(void)state;
	code("550 5.1.1 <a@b.pl>: User unknown", 5, "5.1.1");
	code("smtp; 452 4.2.2 Mailbox full", 4, "4.2.2");
	code("Status: 5.7.1", 5, "5.7.1");
	code("421-try again later", 4, "");
	code("host 10.5.1.20 said: 550 no", 5, "");
	code("version 5.1.10.3 ok", 0, "");
	code("at 12:45:01 on 2027-02-01", 0, "");
	code("#5.0.0 X-Postfix", 5, "5.0.0");
	code("code 5.1.1234", 0, "");
	code("5501 not a code", 0, "");
	code("", 0, "");
	assert_int_equal(mq_dsn_enhanced_at("5.1.1", "5.1.1"), 5);
	assert_int_equal(mq_dsn_enhanced_at("2.0.0 ok", "2.0.0 ok"), 5);
	assert_int_equal(mq_dsn_enhanced_at("3.1.1", "3.1.1"), 0);
}

static void addr(const char *s, const char *want, size_t cap)
{
	char buf[64];

	mq_dsn_utf8_addr(buf, cap, s);
	if (strcmp(buf, want) != 0)
		fail_msg("'%s' -> '%s', want '%s'", s, buf, want);
}

static void test_utf8_addr(void **state)
{
	(void)state;
	addr("j\\x{F3}zef@example.pl", "józef@example.pl", 64);
	addr("\\x{5F20}\\x{4E09}@example.cn", "张三@example.cn", 64);
	addr("a\\x{2B}b\\x{3D}c\\x{5C}d@x", "a+b=c\\d@x", 64);
	addr("\\x{1F600}@x", "\xf0\x9f\x98\x80@x", 64);
	addr("józef@example.pl", "józef@example.pl", 64);   /* unitext */
	/* malformed escapes are left as they are */
	addr("\\x{F}\\x{}\\x{1234567}\\x{D800}\\x{0}\\x{ZZ}\\x{F3",
	    "\\x{F}\\x{}\\x{1234567}\\x{D800}\\x{0}\\x{ZZ}\\x{F3", 64);
	/* cut short of its buffer, never inside a character */
	addr("ab\\x{F3}", "ab", 4);
	addr("ab\\x{F3}", "abó", 5);
	addr("abc", "", 1);
}

static const char *const own[] = { "anna@example.com" };
static const struct mq_classify_ctx ctx = { own, 1, NULL, 0 };

static const char *cls(const char *raw)
{
	struct mq_err err;

	assert_int_equal(mq_classify(&ctx, raw, strlen(raw), &in, &err),
	    MQ_OK);
	return mq_class_name(in.cls);
}

static void test_utf8_report(void **state)
{
	(void)state;
	assert_string_equal(cls("From: MAILER-DAEMON@mx.example.pl\n"
	    "Subject: Undelivered Mail Returned to Sender\n"
	    "Content-Type: multipart/report; boundary=b; "
	    "report-type=global-delivery-status\n\n--b\n"
	    "Content-Type: text/plain\n\nfailed\n--b\n"
	    "Content-Type: message/global-delivery-status\n\n"
	    "Reporting-MTA: dns; mx.example.pl\n\n"
	    "Original-Recipient: utf-8; J\\x{F3}zef@example.pl\n"
	    "Final-Recipient: UTF-8 ; J\\x{F3}zef@Example.pl\n"
	    "Action: failed\nStatus: 5.1.1\n\n--b--\n"), "hard_bounce");
	assert_int_equal(in.n_rcpts, 1);
	assert_string_equal(in.rcpts[0].addr, "józef@example.pl");
	assert_string_equal(in.reason,
	    "report: failed 5.1.1 for józef@example.pl");
}

static void test_replied_id(void **state)
{
	static const char head[] = "From: Mail Delivery Subsystem "
	    "<mailer-daemon@googlemail.com>\n"
	    "Subject: Delivery Status Notification (Failure)\n"
	    "X-Failed-Recipients: jan@example.org\n";

	(void)state;
	/* only the header of a Gmail bounce was read */
	assert_string_equal(cls(
	    "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n"
	    "Subject: Delivery Status Notification (Failure)\n"
	    "X-Failed-Recipients: jan@example.org\n"
	    "In-Reply-To: <3f2a.0@example.com>\n"
	    "References: <3f2a.0@example.com>\n"
	    "Content-Type: multipart/report; boundary=b; "
	    "report-type=delivery-status\n"), "hard_bounce");
	assert_string_equal(in.orig_message_id, "3f2a.0@example.com");
	/* an In-Reply-To naming two messages names none */
	{
		char m[512];

		snprintf(m, sizeof m, "%sIn-Reply-To: <a@x> <b@x>\n\n", head);
		assert_string_equal(cls(m), "hard_bounce");
		assert_string_equal(in.orig_message_id, "");
		/* the returned message's headers come first */
		snprintf(m, sizeof m, "%sIn-Reply-To: <a@x>\nContent-Type: "
		    "multipart/report; boundary=b\n\n--b\nContent-Type: "
		    "text/rfc822-headers\n\nMessage-ID: <orig@x>\n\n--b--\n",
		    head);
		assert_string_equal(cls(m), "hard_bounce");
		assert_string_equal(in.orig_message_id, "orig@x");
	}
	/* a person's reply keeps none */
	assert_string_equal(cls("From: jan@example.org\nIn-Reply-To: <a@x>\n"
	    "\nok\n"), "reply");
	assert_string_equal(in.orig_message_id, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codes),
		cmocka_unit_test(test_utf8_addr),
		cmocka_unit_test(test_utf8_report),
		cmocka_unit_test(test_replied_id),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	g_mime_shutdown();
	return rc;
}
