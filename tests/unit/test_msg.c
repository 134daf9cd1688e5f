/* Unit tests for message composition: lib/msg.c. Messages are also handed
 * to tests/msgcheck.py, which reads them with an independent MIME parser. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "msg.h"
#include "text.h"

static char tmpdir[256];

static struct mq_msg base(void)
{
	struct mq_msg m;

	memset(&m, 0, sizeof m);
	m.from_addr = "anna@example.com";
	m.from_name = "Anna Nowak";
	m.to_addr = "jan@example.org";
	m.to_name = "";
	m.subject = "Hello";
	m.text = "Hi Jan,\nthanks.\n";
	m.message_id = "0123456789abcdef.0@example.com";
	m.date = 1700000000;
	return m;
}

static char *build(const struct mq_msg *m)
{
	struct mq_err err;
	char *out = NULL;
	size_t len = 0;

	mq_err_clear(&err);
	if (mq_msg_build(m, &out, &len, &err) != MQ_OK)
		fail_msg("build: %s", err.msg);
	assert_non_null(out);
	assert_int_equal(strlen(out), len);
	return out;
}

/* Every line ends in CRLF; header lines (of the message and of parts)
 * are at most 78 characters, body lines at most 76. */
static void check_lines(const char *s)
{
	int in_head = 1;
	size_t n;

	while (*s != '\0') {
		n = strcspn(s, "\r\n");
		assert_memory_equal(s + n, "\r\n", 2);
		if (n == 0)
			in_head = 0;
		else if (strncmp(s, "--=_mailq_", 10) == 0)
			in_head = 1;
		if (n > (size_t)(in_head ? 78 : 76))
			fail_msg("line of %zu: %.*s", n, (int)n, s);
		s += n + 2;
	}
}

static void shq(char *dst, size_t len, const char *s)
{
	size_t n = 0;

	dst[n++] = '\'';
	for (; *s != '\0' && n + 6 < len; s++) {
		if (*s == '\'') {
			memcpy(dst + n, "'\\''", 4);
			n += 4;
		} else {
			dst[n++] = *s;
		}
	}
	dst[n++] = '\'';
	dst[n] = '\0';
}

static void write_file(const char *path, const char *s)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(s, 1, strlen(s), fp), strlen(s));
	assert_int_equal(fclose(fp), 0);
}

/* Writes msg to a file and runs msgcheck.py on it with the arguments
 * (already quoted); returns its exit status. */
static int msgcheck(const char *msg, const char *args)
{
	const char *top = getenv("MQ_TOP");
	char script[512], cmd[4096], eml[300];
	int st;

	snprintf(script, sizeof script, "%s/tests/msgcheck.py",
	    top ? top : ".");
	if (access(script, R_OK) != 0)
		fail_msg("%s not found (run from the top or set MQ_TOP)", script);
	snprintf(eml, sizeof eml, "%s/m.eml", tmpdir);
	write_file(eml, msg);
	assert_true(snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s %s",
	    script, eml, args) < (int)sizeof cmd);
	st = system(cmd);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* The names of the message's headers, in order, joined by spaces. */
static void header_names(const char *s, char *buf, size_t len)
{
	size_t n = 0, k;

	buf[0] = '\0';
	while (*s != '\0' && strncmp(s, "\r\n", 2) != 0) {
		if (*s != ' ' && *s != '\t') {
			k = strcspn(s, ":");
			n += (size_t)snprintf(buf + n, len - n, "%s%.*s",
			    n ? " " : "", (int)k, s);
			assert_true(n < len);
		}
		s = strstr(s, "\r\n") + 2;
	}
}

static void test_headers(void **state)
{
	struct mq_msg m = base();
	char names[512], *out;

	(void)state;
	out = build(&m);
	header_names(out, names, sizeof names);
	assert_string_equal(names, "Date From To Subject Message-ID "
	    "MIME-Version Content-Type Content-Transfer-Encoding");
	assert_non_null(strstr(out, "\r\nFrom: \"Anna Nowak\" "
	    "<anna@example.com>\r\nTo: jan@example.org\r\n"
	    "Subject: Hello\r\n"
	    "Message-ID: <0123456789abcdef.0@example.com>\r\n"));
	assert_memory_equal(out, "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n",
	    39);
	assert_non_null(strstr(out, "\r\nContent-Type: text/plain; "
	    "charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n"
	    "\r\nHi Jan,\r\nthanks.\r\n"));
	check_lines(out);
	assert_int_equal(msgcheck(out, "--expect-subject Hello "
	    "--expect-from-name 'Anna Nowak'"), 0);
	assert_int_equal(msgcheck(out, "--expect-subject Hullo"), 1);
	free(out);

	m.in_reply_to = "prev.0@example.com";
	m.unsub_mailto = "unsub@example.com";
	m.unsub_url = "https://example.com/u/abc?x=1";
	m.date = 0;
	m.to_name = "Jan \"JK\" Kowalski\\";
	out = build(&m);
	header_names(out, names, sizeof names);
	assert_string_equal(names, "Date From To Subject Message-ID "
	    "In-Reply-To References List-Unsubscribe List-Unsubscribe-Post "
	    "MIME-Version Content-Type Content-Transfer-Encoding");
	assert_memory_equal(out, "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n",
	    39);
	free(out);
	/* the Date in the sender's zone: Warsaw in winter, India, Newfoundland */
	m.date = 1700000000;
	m.date_offset = 3600;
	out = build(&m);
	assert_memory_equal(out, "Date: Tue, 14 Nov 2023 23:13:20 +0100\r\n",
	    39);
	free(out);
	m.date_offset = 19800;
	out = build(&m);
	assert_memory_equal(out, "Date: Wed, 15 Nov 2023 03:43:20 +0530\r\n",
	    39);
	free(out);
	m.date_offset = -12600;
	out = build(&m);
	assert_memory_equal(out, "Date: Tue, 14 Nov 2023 18:43:20 -0330\r\n",
	    39);
	m.date = 0;
	m.date_offset = 0;
	free(out);
	out = build(&m);
	assert_non_null(strstr(out, "\r\nTo: \"Jan \\\"JK\\\" Kowalski\\\\\" "
	    "<jan@example.org>\r\n"));
	assert_non_null(strstr(out, "\r\nIn-Reply-To: <prev.0@example.com>"
	    "\r\nReferences: <prev.0@example.com>\r\n"));
	assert_non_null(strstr(out, "\r\nList-Unsubscribe: "
	    "<mailto:unsub@example.com>, <https://example.com/u/abc?x=1>\r\n"
	    "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
	assert_int_equal(msgcheck(out, "--expect-to-name "
	    "'Jan \"JK\" Kowalski\\'"), 0);
	free(out);

	m.to_name = "\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"";
	out = build(&m);
	check_lines(out);
	assert_non_null(strstr(out, "\r\nTo: =?UTF-8?B?"));
	assert_int_equal(msgcheck(out, "--expect-to-name "
	    "'\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"'"), 0);
	free(out);

	m.unsub_url = NULL;
	m.unsub_mailto = "mailto:u@example.com?subject=unsubscribe";
	out = build(&m);
	assert_non_null(strstr(out, "\r\nList-Unsubscribe: "
	    "<mailto:u@example.com?subject=unsubscribe>\r\nMIME-Version"));
	assert_null(strstr(out, "List-Unsubscribe-Post"));
	free(out);
}

static int b64val(char c)
{
	const char *a =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(a, c) : NULL;

	return p ? (int)(p - a) : -1;
}

/* Checks every encoded word in s: at most 75 characters, its base64
 * decodes to whole UTF-8 characters. Returns the decoded text of all
 * words concatenated into out. */
static int check_words(const char *s, char *out, size_t len)
{
	const char *w, *e;
	size_t o = 0, start;
	int nwords = 0, v, bits, acc;

	while ((w = strstr(s, "=?UTF-8?B?")) != NULL) {
		e = strstr(w + 10, "?=");
		assert_non_null(e);
		assert_true(e + 2 - w <= 75);
		start = o;
		for (s = w + 10, bits = 0, acc = 0; s < e && *s != '='; s++) {
			assert_true((v = b64val(*s)) >= 0);
			acc = (acc << 6 | v) & 0xffffff;
			if ((bits += 6) >= 8) {
				bits -= 8;
				assert_true(o + 1 < len);
				out[o++] = (char)(acc >> bits & 0xff);
			}
		}
		assert_true(mq_text_utf8_ok(out + start, o - start));
		s = e + 2;
		nwords++;
	}
	out[o] = '\0';
	return nwords;
}

static void test_polish(void **state)
{
	struct mq_msg m = base();
	char dec[1024], *out;

	(void)state;
	m.subject = "Zażółć gęślą jaźń";
	m.from_name = "Łukasz Żółkiewski";
	m.to_name = "Żaneta Ćwik-Źdźbło";
	out = build(&m);
	check_lines(out);
	assert_non_null(strstr(out, "\r\nSubject: =?UTF-8?B?"));
	assert_non_null(strstr(out, "\r\nFrom: =?UTF-8?B?"));
	assert_int_equal(check_words(strstr(out, "\r\nSubject:"), dec,
	    sizeof dec), 1);
	assert_string_equal(dec, "Zażółć gęślą jaźń");
	assert_int_equal(msgcheck(out, "--expect-subject 'Zażółć gęślą jaźń' "
	    "--expect-from-name 'Łukasz Żółkiewski' "
	    "--expect-to-name 'Żaneta Ćwik-Źdźbło'"), 0);
	assert_int_equal(msgcheck(out, "--expect-from-name 'Lukasz "
	    "Zolkiewski'"), 1);
	free(out);
}

static void test_long_subjects(void **state)
{
	struct mq_msg m = base();
	static const char *const odd[] = {
		"x0123456789012345678901234567890123456789012345678901234567890"
		"123456789 y", "a =?b?= c", " lead", "trail ", "two  spaces",
		"tab\there", "",
	};
	char s[2048], q[4200], args[4300], dec[2048], *out, *subj;
	size_t i, n = 0;

	(void)state;
	for (i = 0; i < 30; i++)
		n += (size_t)snprintf(s + n, sizeof s - n, "%sword%zu",
		    i ? " " : "", i);
	m.subject = s;
	out = build(&m);
	check_lines(out);
	subj = strstr(out, "\r\nSubject: word0 word1");
	assert_non_null(subj);
	assert_non_null(strstr(subj, "\r\n word"));
	assert_null(strstr(out, "=?"));
	shq(q, sizeof q, s);
	snprintf(args, sizeof args, "--expect-subject %s", q);
	assert_int_equal(msgcheck(out, args), 0);
	free(out);

	/* multibyte characters of every width, long enough for many words */
	for (n = 0, i = 0; i < 40; i++)
		n += (size_t)snprintf(s + n, sizeof s - n, "Zaż%s ółć € 𝄞 ",
		    i % 3 ? "" : "x");
	m.subject = s;
	out = build(&m);
	check_lines(out);
	subj = strstr(out, "\r\nSubject:");
	*strstr(subj, "\r\nMessage-ID:") = '\0';
	assert_true(check_words(subj, dec, sizeof dec) > 5);
	assert_string_equal(dec, s);
	free(out);
	out = build(&m);
	shq(q, sizeof q, s);
	snprintf(args, sizeof args, "--expect-subject %s", q);
	assert_int_equal(msgcheck(out, args), 0);
	free(out);

	/* an ASCII word too long to fold, "=?" and blanks at the ends */
	for (i = 0; i < sizeof odd / sizeof odd[0]; i++) {
		m.subject = odd[i];
		out = build(&m);
		check_lines(out);
		shq(q, sizeof q, odd[i]);
		snprintf(args, sizeof args, "--expect-subject %s", q);
		assert_int_equal(msgcheck(out, args), 0);
		free(out);
	}
}

static void refused(struct mq_msg *m, const char *want)
{
	struct mq_err err;
	char *out = (char *)1;
	size_t len = 7;

	mq_err_clear(&err);
	assert_int_equal(mq_msg_build(m, &out, &len, &err), MQ_PERM);
	assert_int_equal(err.ex, EX_DATAERR);
	assert_string_equal(err.msg, want);
	assert_null(out);
	assert_int_equal(len, 0);
}

static void test_refuse(void **state)
{
	struct mq_msg m;
	char *out;

	(void)state;
	m = base();
	m.subject = "Hi\r\nBcc: victim@example.com";
	refused(&m, "header Subject: contains a line break");
	m = base();
	m.subject = "Hi\nthere";
	refused(&m, "header Subject: contains a line break");
	m = base();
	m.to_name = "Jan\rKowalski";
	refused(&m, "header To: contains a line break");
	m = base();
	m.from_name = "Anna\n";
	refused(&m, "header From: contains a line break");
	m = base();
	m.subject = "bell\a";
	refused(&m, "header Subject: contains a control character");
	m = base();
	m.subject = "bad \xc5 utf-8";
	refused(&m, "header Subject: is not valid UTF-8");
	m = base();
	m.to_addr = "jan@example.org>\r\nBcc: x@y";
	refused(&m, "header To: contains a line break");
	m = base();
	m.to_addr = "jan@example.org> <x@y";
	refused(&m, "header To: 'jan@example.org> <x@y' is not a valid "
	    "address");
	m = base();
	m.to_addr = "ján@example.org";
	refused(&m, "header To: 'ján@example.org' is not a valid address");
	m = base();
	m.in_reply_to = "a\nb";
	refused(&m, "header In-Reply-To: contains a line break");
	m = base();
	m.unsub_url = "https://x/>";
	refused(&m, "header List-Unsubscribe: 'https://x/>' is not a valid "
	    "value");
	m = base();
	m.text = "caf\xe9\n";
	refused(&m, "text body is not valid UTF-8");
	m = base();
	m.html = "<p>\xed\xa0\x80</p>";
	refused(&m, "HTML body is not valid UTF-8");
	m = base();
	m.to_addr = NULL;
	refused(&m, "message without To");

	m = base();
	m.subject = "a\tb";
	out = build(&m);
	free(out);
}

/* Decodes quoted-printable (RFC 2045 6.7) for the round trip; CRLF becomes
 * LF, soft breaks vanish. */
static char *unqp(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;
	unsigned v;

	assert_non_null(out);
	while (*s != '\0') {
		if (s[0] == '=' && s[1] == '\r' && s[2] == '\n') {
			s += 3;
		} else if (s[0] == '=') {
			assert_true(strchr("0123456789ABCDEF", s[1]) != NULL);
			assert_true(strchr("0123456789ABCDEF", s[2]) != NULL);
			assert_int_equal(sscanf(s + 1, "%2X", &v), 1);
			*o++ = (char)v;
			s += 3;
		} else if (s[0] == '\r' && s[1] == '\n') {
			*o++ = '\n';
			s += 2;
		} else {
			assert_true((s[0] >= ' ' && s[0] <= '~') || s[0] == '\t');
			assert_false((s[0] == ' ' || s[0] == '\t') && s[1] == '\r');
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

/* s with every CRLF, CR or LF as LF: what a reader sees of the body. */
static char *lf(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	assert_non_null(out);
	for (; *s != '\0'; s++) {
		if (*s == '\r' && s[1] == '\n')
			continue;
		*o++ = *s == '\r' ? '\n' : *s;
	}
	*o = '\0';
	return out;
}

static void roundtrip(const char *text)
{
	struct mq_msg m = base();
	char *out, *body, *dec, *want, path[300], args[400];

	m.text = text;
	out = build(&m);
	check_lines(out);
	body = strstr(out, "\r\n\r\n") + 4;
	dec = unqp(body);
	want = lf(text);
	assert_string_equal(dec, want);
	snprintf(path, sizeof path, "%s/want.txt", tmpdir);
	write_file(path, want);
	snprintf(args, sizeof args, "--expect-text-file %s", path);
	assert_int_equal(msgcheck(out, args), 0);
	free(want);
	free(dec);
	free(out);
}

static void test_qp(void **state)
{
	char line[512];
	struct mq_msg m = base();
	char *out;

	(void)state;
	memset(line, 'x', 200);
	strcpy(line + 200, "\n.dot\n");
	roundtrip("Dzień dobry Pani Małgorzato,\n\nżółć ąę.\n");
	roundtrip(line);
	roundtrip("trailing spaces   \ntrailing tab\t\n  \n\t\nend  ");
	roundtrip(".\n..\n. leading dot\n");
	roundtrip("a=b == c=\n=\n=41\n");
	roundtrip("no newline at the end");
	roundtrip("crlf\r\nlone cr\rlf\n\r\n\n");
	roundtrip("");
	roundtrip("\n");
	roundtrip("€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€"
	    "€€€€€€€€€€€€€€€€€€€€€€€€€");
	roundtrip("x===========================================================");
	roundtrip("From me\nStała linia o długości ponad siedemdziesiąt sześć "
	    "znaków, z polskimi literami i spacjami na końcu    \n");

	/* a last line without a newline closes with a soft break: its "="
	 * counts, so 76 characters of text are never 77 of output */
	for (int n = 72; n <= 80; n++) {
		memset(line, 'x', (size_t)n);
		line[n] = '\0';
		roundtrip(line);
		strcpy(line + n - 1, "=");
		roundtrip(line);
		strcpy(line + n - 1, "\xc4\x85");
		roundtrip(line);
	}
	memset(line, 'x', 76);
	strcpy(line + 76, "\n");
	m.text = line;
	out = build(&m);
	assert_non_null(strstr(out, "\r\n\r\n" "xxxxxxxxxx"));
	assert_null(strstr(out, "x=\r\n"));       /* 76 + a hard break fit */
	free(out);

	m.text = ".dot\nsp \n=";
	out = build(&m);
	assert_non_null(strstr(out, "\r\n\r\n.dot\r\nsp=20\r\n=3D=\r\n"));
	free(out);
}

static void test_qp_random(void **state)
{
	static const char *const pieces[] = {
		"a", "Z", " ", "\t", "\n", "\r\n", "\r", "=", ".", "ą", "€",
		"𝄞", "~", "\x01", "\x7f", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	};
	struct mq_msg m = base();
	char text[1200], *out, *dec, *want;
	size_t n, k;
	int i;

	(void)state;
	srand(42);
	for (i = 0; i < 100; i++) {
		n = 0;
		for (k = rand() % 120; k > 0; k--)
			n += (size_t)snprintf(text + n, sizeof text - n, "%s",
			    pieces[rand() % (sizeof pieces / sizeof pieces[0])]);
		m.text = text;
		out = build(&m);
		check_lines(out);
		dec = unqp(strstr(out, "\r\n\r\n") + 4);
		want = lf(text);
		assert_string_equal(dec, want);
		free(want);
		free(dec);
		free(out);
	}
}

static void test_html(void **state)
{
	struct mq_msg m = base();
	char path[300], hpath[300], args[700], *out, *b, *p;
	const char *html = "<p>Dzień dobry, <b>Łukasz</b> &amp; co.</p>\n"
	    "<p style=\"color: red\">=_mailq_ is only text here</p>";

	(void)state;
	m.html = html;
	m.text = "Dzień dobry, Łukasz & co.\n";
	out = build(&m);
	check_lines(out);
	assert_non_null(b = strstr(out, "\r\nContent-Type: multipart/"
	    "alternative;\r\n boundary=\"=_mailq_"));
	assert_null(strstr(out, "\r\nContent-Transfer-Encoding: "
	    "quoted-printable\r\n\r\n--"));
	p = strstr(out, "text/plain");
	assert_non_null(p);
	assert_true(p < strstr(out, "text/html"));
	snprintf(path, sizeof path, "%s/t.txt", tmpdir);
	write_file(path, m.text);
	snprintf(hpath, sizeof hpath, "%s/t.html", tmpdir);
	write_file(hpath, html);
	snprintf(args, sizeof args, "--expect-html --expect-text-file %s "
	    "--expect-html-file %s --expect-subject Hello", path, hpath);
	assert_int_equal(msgcheck(out, args), 0);
	assert_int_equal(msgcheck(out, "--expect-html-file /dev/null"), 1);
	free(out);

	m.html = NULL;
	out = build(&m);
	assert_int_equal(msgcheck(out, "--expect-html"), 1);
	free(out);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_msg_id(void **state)
{
	char a[MQ_MSG_ID_MAX], b[MQ_MSG_ID_MAX], *ids[3000];
	int i, n = 0;

	(void)state;
	mq_msg_id("s3cret", 1, 2, 0, "Anna@Example.COM", a, sizeof a);
	mq_msg_id("s3cret", 1, 2, 0, "anna@example.com", b, sizeof b);
	assert_string_equal(a, b);
	assert_int_equal(strlen(a), 16 + 2 + 1 + strlen("example.com"));
	assert_string_equal(a + 16, ".0@example.com");
	assert_int_equal(strspn(a, "0123456789abcdef"), 16);
	mq_msg_id("other", 1, 2, 0, "anna@example.com", b, sizeof b);
	assert_string_not_equal(a, b);
	mq_msg_id("s3cret", 1, 2, 1, "anna@example.com", b, sizeof b);
	assert_string_equal(b + 16, ".1@example.com");
	assert_memory_not_equal(a, b, 16);
	mq_msg_id("s3cret", 12, 2, 0, "anna@example.com", a, sizeof a);
	mq_msg_id("s3cret", 1, 22, 0, "anna@example.com", b, sizeof b);
	assert_string_not_equal(a, b);
	mq_msg_id("s3cret", 1, 2, 0, "nodomain", a, sizeof a);
	assert_string_equal(a + 16, ".0@localhost");
	mq_msg_id("s3cret", 1, 2, 0, "anna@example.com", a, 10);
	assert_int_equal(strlen(a), 9);

	for (i = 0; i < 3000; i++) {
		ids[n] = malloc(MQ_MSG_ID_MAX);
		assert_non_null(ids[n]);
		mq_msg_id("salt", i % 10 + 1, i / 10 % 100 + 1, i / 1000,
		    "anna@example.com", ids[n], MQ_MSG_ID_MAX);
		mq_msg_id("salt", i % 10 + 1, i / 10 % 100 + 1, i / 1000,
		    "anna@example.com", a, sizeof a);
		assert_string_equal(ids[n], a);
		n++;
	}
	qsort(ids, (size_t)n, sizeof ids[0], cmp_str);
	for (i = 1; i < n; i++)
		assert_string_not_equal(ids[i - 1], ids[i]);
	for (i = 0; i < n; i++)
		free(ids[i]);
}

static void test_unsub_token(void **state)
{
	char a[MQ_MSG_TOKEN_MAX], b[MQ_MSG_TOKEN_MAX], *t[2000];
	int i;

	(void)state;
	mq_msg_unsub_token("0123abcd", 1, 2, a, sizeof a);
	mq_msg_unsub_token("0123abcd", 1, 2, b, sizeof b);
	assert_string_equal(a, b);
	assert_int_equal(strlen(a), 32);
	assert_int_equal(strspn(a, "0123456789abcdef"), 32);
	assert_memory_not_equal(a, a + 16, 16);
	mq_msg_unsub_token("0123abce", 1, 2, b, sizeof b);
	assert_string_not_equal(a, b);
	mq_msg_unsub_token("0123abcd", 2, 1, b, sizeof b);
	assert_string_not_equal(a, b);
	mq_msg_unsub_token("0123abcd", 1, 2, b, 9);
	assert_int_equal(strlen(b), 8);
	for (i = 0; i < 2000; i++) {
		assert_non_null(t[i] = malloc(MQ_MSG_TOKEN_MAX));
		mq_msg_unsub_token("salt", i % 7 + 1, i / 7 + 1, t[i],
		    MQ_MSG_TOKEN_MAX);
	}
	qsort(t, 2000, sizeof t[0], cmp_str);
	for (i = 1; i < 2000; i++)
		assert_string_not_equal(t[i - 1], t[i]);
	for (i = 0; i < 2000; i++)
		free(t[i]);
}

static void test_long_values(void **state)
{
	struct mq_msg m = base();
	char name[400], url[700], args[900], *out;
	size_t i;

	(void)state;
	for (i = 0; i + 1 < sizeof name; i++)
		name[i] = "Anna Maria "[i % 11];
	name[sizeof name - 1] = '\0';
	m.from_name = name;
	snprintf(url, sizeof url, "https://example.com/unsubscribe?token=");
	memset(url + strlen(url), 'k', 500);
	url[strlen("https://example.com/unsubscribe?token=") + 500] = '\0';
	m.unsub_url = url;
	m.unsub_mailto = "unsubscribe@example.com";
	out = build(&m);
	assert_non_null(strstr(out, "\r\n <https://example.com/unsub"));
	snprintf(args, sizeof args, "--expect-from-name '%s'", name);
	assert_int_equal(msgcheck(out, args), 0);
	free(out);
}

static int setup(void **state)
{
	const char *t = getenv("TMPDIR");

	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "%s/test_msg.XXXXXX", t ? t : "/tmp");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	char cmd[400];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_polish),
		cmocka_unit_test(test_long_subjects),
		cmocka_unit_test(test_refuse),
		cmocka_unit_test(test_qp),
		cmocka_unit_test(test_qp_random),
		cmocka_unit_test(test_html),
		cmocka_unit_test(test_msg_id),
		cmocka_unit_test(test_long_values),
		cmocka_unit_test(test_unsub_token),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
