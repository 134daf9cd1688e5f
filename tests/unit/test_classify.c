/*
 * Unit tests for inbound classification: lib/classify.c. Every message of
 * tests/inbound/ (under $MQ_TOP, else ".") is classified and checked
 * against the X-Mailq-Test-* fields at its top (see its README); then
 * focused cases: reasons, names, input that is no message, a report
 * with only its header, CRLF against LF, encoded Subjects, the words of a
 * request to be removed and the return dates of automatic replies.
 * GMime is shut down at the end, so that LeakSanitizer sees only what
 * the classifier itself might have kept.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gmime/gmime.h>

#include "classify.h"

static const char *const own[] = { "anna@example.com", "sales@example.com" };
static const char *const unsub[] = { "unsubscribe@example.com" };
static const struct mq_classify_ctx ctx = { own, 2, unsub, 1 };

static struct mq_inbound in;    /* large: not on the stack */

static const char *cls(const char *raw, size_t len)
{
	struct mq_err err;

	mq_err_clear(&err);
	assert_int_equal(mq_classify(&ctx, raw, len, &in, &err), MQ_OK);
	assert_true(in.reason[0] != '\0');
	return mq_class_name(in.cls);
}

static const char *cls_s(const char *raw)
{
	return cls(raw, strlen(raw));
}

static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (fp == NULL)
		return NULL;
	if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 &&
	    fseek(fp, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) &&
	    fread(buf, 1, (size_t)n, fp) == (size_t)n) {
		buf[n] = '\0';
		*len = (size_t)n;
	} else {
		free(buf);
		buf = NULL;
	}
	fclose(fp);
	return buf;
}

/* The values of the expectation field name at the top of raw, joined by
 * single spaces into buf; how many there were. */
static int expect(const char *raw, const char *name, char *buf, size_t cap)
{
	size_t n = strlen(name), k;
	const char *p = raw;
	int found = 0;

	buf[0] = '\0';
	while (strncmp(p, "X-Mailq-Test-", 13) == 0) {
		k = strcspn(p, "\r\n");
		if (strncmp(p + 13, name, n) == 0 && p[13 + n] == ':') {
			const char *v = p + 14 + n + strspn(p + 14 + n, " ");
			size_t vl = (size_t)(p + k - v);

			snprintf(buf + strlen(buf), cap - strlen(buf), "%s%.*s",
			    buf[0] != '\0' && vl > 0 ? " " : "", (int)vl, v);
			found++;
		}
		p += k;
		p += strspn(p, "\r\n") > 2 ? 2 : strspn(p, "\r\n");
	}
	return found;
}

/* Checks one corpus file; returns the number of mismatches (printed). */
static int check_file(const char *dir, const char *name)
{
	char path[2200], want[2048], got[2048], day[16];
	size_t len = 0;
	char *raw;
	int bad = 0;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((raw = slurp(path, &len)) == NULL)
		fail_msg("cannot read %s", path);
	cls(raw, len);
	if (expect(raw, "Class", want, sizeof want) != 1 ||
	    strcmp(want, mq_class_name(in.cls)) != 0) {
		print_message("%s: class %s (%s), want %s\n", name,
		    mq_class_name(in.cls), in.reason, want);
		bad++;
	}
	if (expect(raw, "Rcpt", want, sizeof want) > 0) {
		got[0] = '\0';
		for (int i = 0; i < in.n_rcpts; i++)
			snprintf(got + strlen(got), sizeof got - strlen(got),
			    "%s%s", i > 0 ? " " : "", in.rcpts[i].addr);
		if (strcmp(got, want) != 0) {
			print_message("%s: rcpts '%s', want '%s'\n", name, got,
			    want);
			bad++;
		}
	}
	if (expect(raw, "Orig-Id", want, sizeof want) > 0 &&
	    strcmp(want, in.orig_message_id) != 0) {
		print_message("%s: orig id '%s', want '%s'\n", name,
		    in.orig_message_id, want);
		bad++;
	}
	if (expect(raw, "Ids", want, sizeof want) > 0) {
		got[0] = '\0';
		for (int i = 0; i < in.n_ids; i++)
			snprintf(got + strlen(got), sizeof got - strlen(got),
			    "%s%s", i > 0 ? " " : "", in.ids[i]);
		if (strcmp(got, want) != 0) {
			print_message("%s: ids '%s', want '%s'\n", name, got,
			    want);
			bad++;
		}
	}
	expect(raw, "Back-On", want, sizeof want);
	day[0] = '\0';
	if (in.back_on != 0)
		strftime(day, sizeof day, "%Y-%m-%d", gmtime(&in.back_on));
	if (strcmp(day, want) != 0 || in.back_on % 86400 != 0) {
		print_message("%s: back_on '%s', want '%s'\n", name, day, want);
		bad++;
	}
	free(raw);
	return bad;
}

static const char *corpus_dir(char *buf, size_t cap)
{
	const char *top = getenv("MQ_TOP") != NULL ? getenv("MQ_TOP") : ".";

	snprintf(buf, cap, "%s/tests/inbound", top);
	return buf;
}

static void test_corpus(void **state)
{
	char dir[1024];
	struct dirent **e;
	int n, files = 0, bad = 0;
	size_t l;

	(void)state;
	if ((n = scandir(corpus_dir(dir, sizeof dir), &e, NULL,
	    alphasort)) < 0)
		fail_msg("%s not found (run from the top or set MQ_TOP)", dir);
	for (int i = 0; i < n; i++) {
		l = strlen(e[i]->d_name);
		if (l > 4 && strcmp(e[i]->d_name + l - 4, ".eml") == 0) {
			bad += check_file(dir, e[i]->d_name);
			files++;
		}
		free(e[i]);
	}
	free(e);
	print_message("# %d inbound messages classified, %d mismatches\n",
	    files, bad);
	assert_true(files >= 45);
	assert_int_equal(bad, 0);
}

static void test_names(void **state)
{
	(void)state;
	for (int c = 0; c < MQ_CLASS_COUNT; c++)
		assert_int_equal(mq_class_from_name(mq_class_name(c)), c);
	assert_string_equal(mq_class_name(MQ_CLASS_HARD_BOUNCE), "hard_bounce");
	assert_string_equal(mq_class_name(MQ_CLASS_AUTO_REPLY), "auto_reply");
	assert_int_equal(mq_class_from_name("bounce"), -1);
	assert_int_equal(mq_class_from_name(""), -1);
	assert_int_equal(mq_class_from_name(NULL), -1);
	assert_string_equal(mq_class_name((enum mq_class)99), "unmatched");
}

static void test_not_messages(void **state)
{
	static const char nul[] = "From: a@example.org\n\0\0\0Subject: x\n\n\0";
	char *big;

	(void)state;
	assert_string_equal(cls("", 0), "unmatched");
	assert_string_equal(in.reason, "empty input");
	assert_string_equal(cls(NULL, 0), "unmatched");
	assert_string_equal(cls_s("\n\n\n"), "unmatched");
	assert_string_equal(cls_s("just some words, no header at all"),
	    "unmatched");
	assert_string_equal(cls("\0\0\0\0", 4), "unmatched");
	cls(nul, sizeof nul - 1);
	assert_true(strlen(in.reason) < sizeof in.reason);
	/* a huge header line and body */
	big = malloc(4 << 20);
	assert_non_null(big);
	memcpy(big, "From: x@example.org\nSubject: ", 29);
	memset(big + 29, 'a', (4 << 20) - 29);
	big[(2 << 20)] = '\n';
	big[(2 << 20) + 1] = '\n';
	assert_string_equal(cls(big, 4 << 20), "reply");
	assert_true(strlen(in.subject) < sizeof in.subject);
	free(big);
}

/* The same message with LF and with CRLF line ends. */
static void test_crlf(void **state)
{
	const char *lf = "From: Ola <ola@example.pl>\nTo: anna@example.com\n"
	    "Subject: Re: x\nIn-Reply-To: <aa.0@example.com>\nReferences: "
	    "<aa.0@example.com>\n <bb.1@example.com>\n\n> unsubscribe\n\n"
	    "Tak, prosze o kontakt.\n";
	struct mq_inbound a;
	GString *crlf = g_string_new(NULL);

	(void)state;
	for (const char *p = lf; *p != '\0'; p++)
		g_string_append(crlf, *p == '\n' ? "\r\n" : (char[]){ *p, 0 });
	assert_string_equal(cls_s(lf), "reply");
	a = in;
	assert_string_equal(cls(crlf->str, crlf->len), "reply");
	assert_int_equal(a.n_ids, 2);
	assert_string_equal(a.ids[0], "aa.0@example.com");
	assert_string_equal(a.ids[1], "bb.1@example.com");
	assert_memory_equal(&a, &in, sizeof a);
	g_string_free(crlf, TRUE);
}

static void test_headers_only_dsn(void **state)
{
	(void)state;
	assert_string_equal(cls_s("From: MAILER-DAEMON@mx.example.net\n"
	    "Subject: Undelivered Mail Returned to Sender\n"
	    "X-Failed-Recipients: A@Example.org, b@example.org\n"
	    "Content-Type: multipart/report; report-type=delivery-status; "
	    "boundary=x\n"), "hard_bounce");
	assert_int_equal(in.n_rcpts, 2);
	assert_string_equal(in.rcpts[0].addr, "a@example.org");
	assert_string_equal(in.rcpts[1].action, "failed");
	/* a report part without recipients matches nothing */
	assert_string_equal(cls_s("From: MAILER-DAEMON@mx.example.net\n"
	    "Content-Type: multipart/report; report-type=delivery-status; "
	    "boundary=x\n\n--x\nContent-Type: message/delivery-status\n\n"
	    "Reporting-MTA: dns; mx.example.net\n\n--x--\n"), "unmatched");
	/* the mail system's other mail is no bounce */
	assert_string_equal(cls_s("From: postmaster@example.net\n"
	    "Subject: Your mailbox\n\nAll is well.\n"), "unmatched");
	assert_string_equal(in.reason, "from a mail system, not a report");
}

static void test_subjects(void **state)
{
	static const char *const yes[] = {
		"=?UTF-8?Q?Automatyczna_odpowied=C5=BA=3A_Oferta?=",
		"=?ISO-8859-2?Q?Odpowied=BC_automatyczna?=",
		"=?UTF-8?B?QXV0b29kcG93aWVkxbo=?=",
		"Nieobecnosc: urlop",
		"OUT OF OFFICE: Re: hello",
		"Automatic reply: hello",
		"Auto-Reply: hi",
		"=?UTF-8?Q?Abwesenheitsnotiz?=",
		"Automatische Antwort: Anfrage",
		"Abwesend",
	};
	static const char *const no[] = {
		"Re: Automatic reply: hello",   /* a person answered one */
		"Autoreplyer settings",
		"Outgoing office move",
	};
	char m[512];

	(void)state;
	for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
		snprintf(m, sizeof m, "From: x@example.org\nSubject: %s\n\nHi\n",
		    yes[i]);
		if (strcmp(cls_s(m), "auto_reply") != 0)
			fail_msg("'%s': %s (%s)", yes[i], cls_s(m), in.reason);
	}
	for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
		snprintf(m, sizeof m, "From: x@example.org\nSubject: %s\n\nHi\n",
		    no[i]);
		if (strcmp(cls_s(m), "reply") != 0)
			fail_msg("'%s': %s (%s)", no[i], cls_s(m), in.reason);
	}
	cls_s("From: x@example.org\nSubject: =?UTF-8?Q?Wsp=C3=B3=C5=82praca?="
	    "\n\nHi\n");
	assert_string_equal(in.subject, "Współpraca");
}

static void test_lexicon(void **state)
{
	static const char *const yes[] = {
		"Unsubscribe", "please REMOVE ME", "Take me off your list",
		"opt out", "Opt-out please", "Stop emailing me",
		"STOP SENDING THESE", "Do not contact me",
		"don't contact me", "Wypisz", "WYPISZ MNIE",
		"Usuń mnie z bazy", "Proszę usunąć mój adres",
		"Nie chcę otrzymywać", "Rezygnuję", "Nie kontaktujcie się — "
		"nie kontaktuj", "Nie piszcie do mnie", "Abmelden",
		"bitte austragen", "Keine weiteren E-Mails",
		"\n\n\n  unsubscribe", "Hi,\nthanks\nbut\nunsubscribe",
	};
	static const char *const no[] = {
		"Tell me more.\n\n> unsubscribe",
		"Hello\n-- \nunsubscribe: https://example.org/u",
		"Yes please.\nOn Mon, Anna wrote:\nunsubscribe",
		"a\nb\nc\nd\ne\nunsubscribe",     /* not in the first lines */
		"resubscribed yesterday", "wypisze sie sam",
		"I don't want to optout", "nie piszcielski",
	};
	char m[512];

	(void)state;
	for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
		snprintf(m, sizeof m, "From: x@example.org\nSubject: Re: a\n\n"
		    "%s\n", yes[i]);
		if (strcmp(cls_s(m), "unsubscribe") != 0)
			fail_msg("'%s': %s (%s)", yes[i], cls_s(m), in.reason);
	}
	for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
		snprintf(m, sizeof m, "From: x@example.org\nSubject: Re: a\n\n"
		    "%s\n", no[i]);
		if (strcmp(cls_s(m), "reply") != 0)
			fail_msg("'%s': %s (%s)", no[i], cls_s(m), in.reason);
	}
	/* quoted HTML does not count, the reply's own words do */
	assert_string_equal(cls_s("From: x@example.org\nContent-Type: text/html"
	    "\n\n<p>Thanks</p><blockquote>unsubscribe</blockquote>\n"), "reply");
	assert_string_equal(cls_s("From: x@example.org\nContent-Type: text/html"
	    "\n\n<p>Thanks &amp; please <b>unsubscribe</b> me</p>\n"),
	    "unsubscribe");
}

static void test_back_on(void **state)
{
	static const struct { const char *text; const char *day; } t[] = {
		{ "back on 2027-02-08", "2027-02-08" },
		{ "I am away until 8 February 2027.", "2027-02-08" },
		{ "Back on Monday, February 8, 2027.", "2027-02-08" },
		{ "Jestem na urlopie do 08.02.2027 r.", "2027-02-08" },
		{ "Wracam 8.02.2027.", "2027-02-08" },
		{ "Wracam 8 lutego 2027.", "2027-02-08" },
		{ "Ich bin bis 08.02.2027 nicht da.", "2027-02-08" },
		{ "Ab dem 08.02.2027 bin ich wieder da.", "2027-02-08" },
		{ "Ab 8. Februar 2027 wieder im Büro.", "2027-02-08" },
		{ "Ich bin ab 01.02.2027 im Urlaub.", "" },    /* away from */
		{ "until 02/08/2027", "" },                 /* which order? */
		{ "until 8 February", "" },                 /* no year */
		{ "until 31.02.2027", "" },                 /* no such day */
		{ "Out from 01.02.2027 to 08.02.2027", "" },
		{ "do 08.02.2027, w sprawach B do 28.02.2027", "" },
		{ "until 2020-01-01", "" },                 /* before it */
		{ "Call me on 2027-02-08", "" },
	};
	char m[512], day[16];

	(void)state;
	for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
		snprintf(m, sizeof m, "From: x@example.org\nDate: Mon, 1 Feb 2027 "
		    "09:00:00 +0100\nAuto-Submitted: auto-replied\n"
		    "Subject: away\n\n%s\n", t[i].text);
		assert_string_equal(cls_s(m), "auto_reply");
		day[0] = '\0';
		if (in.back_on != 0)
			strftime(day, sizeof day, "%Y-%m-%d", gmtime(&in.back_on));
		if (strcmp(day, t[i].day) != 0)
			fail_msg("'%s': '%s', want '%s'", t[i].text, day, t[i].day);
	}
}

/* The thread: In-Reply-To first, then References newest first, once. */
static void test_ids(void **state)
{
	GString *m = g_string_new("From: x@example.org\nIn-Reply-To: <c@x>\n"
	    "References: <a@x> <b@x> <c@x>");

	(void)state;
	for (int i = 0; i < 40; i++)
		g_string_append_printf(m, "\n <r%d@x>", i);
	g_string_append(m, "\n\nok\n");
	assert_string_equal(cls(m->str, m->len), "reply");
	assert_int_equal(in.n_ids, MQ_CLASSIFY_IDS);
	assert_string_equal(in.ids[0], "c@x");
	assert_string_equal(in.ids[1], "r39@x");
	g_string_free(m, TRUE);
}

static int teardown(void **state)
{
	(void)state;
	g_mime_shutdown();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_not_messages),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_headers_only_dsn),
		cmocka_unit_test(test_subjects),
		cmocka_unit_test(test_lexicon),
		cmocka_unit_test(test_back_on),
		cmocka_unit_test(test_ids),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
