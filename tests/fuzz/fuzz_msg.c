/*
 * Fuzz target: the message builder (lib/msg.c). The input is a flags byte
 * and up to twelve NUL-separated pieces: subject, text, from name, to
 * name, HTML, from address, to address, Message-ID, In-Reply-To,
 * unsubscribe address and URL, date; flags choose which optional ones are
 * there, a missing piece takes a plain default. The properties: a message
 * is refused exactly when a value is bad (a line break or control in a
 * header, bad UTF-8, an address or ID that would break its brackets, a
 * date past year 9999); a built one has CRLF line ends only, lines of at
 * most 998 characters, quoted-printable lines of at most 76, each header
 * once, and its Subject, display names, addresses and bodies decode back
 * to the input. The decoders (RFC 2047, quoted-printable, MIME parts)
 * are small ones of this file: the message is read as a stranger would.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "fuzz.h"
#include "msg.h"

enum { P_SUBJECT, P_TEXT, P_FROM_NAME, P_TO_NAME, P_HTML, P_FROM, P_TO,
    P_ID, P_REPLY, P_MAILTO, P_URL, P_DATE, P_N };

/* flags: which optional values are there */
#define F_HTML   0x01
#define F_REPLY  0x02
#define F_MAILTO 0x04
#define F_URL    0x08
#define F_NONAME 0x10   /* from_name and to_name NULL */
#define F_NOTEXT 0x20   /* text NULL */

#define MAXHDR 32

/* --- what a good value is, said again here ------------------------- */

static int utf8(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned long cp;
	int n;

	while (*s != '\0') {
		if (*s < 0x80) {
			s++;
			continue;
		}
		n = *s >= 0xf0 ? 3 : *s >= 0xe0 ? 2 : 1;
		if (*s < 0xc2 || *s > 0xf4)
			return 0;
		cp = *s++ & (0x3f >> n);
		for (int k = 0; k < n; k++, s++) {
			if ((*s & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (*s & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
	}
	return 1;
}

static int text_ok(const char *s)
{
	if (s == NULL)
		return 1;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p < ' ' && *p != '\t') || *p == 127)
			return 0;
	return utf8(s);
}

static int token_ok(const char *s, int addr)
{
	size_t n;

	if (s == NULL)
		return 1;
	n = strlen(s);
	if (n == 0 || n > 900)
		return 0;
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s > '~' || strchr("<>\"\\", *s) != NULL ||
		    (addr && strchr(",;:()[]", *s) != NULL))
			return 0;
	return 1;
}

static int date_ok(time_t t)
{
	struct tm tm;

	return gmtime_r(&t, &tm) != NULL && tm.tm_year >= 0 &&
	    tm.tm_year + 1900 <= 9999;
}

static int good(const struct mq_msg *m)
{
	return text_ok(m->from_name) && text_ok(m->to_name) &&
	    text_ok(m->subject) && token_ok(m->from_addr, 1) &&
	    token_ok(m->to_addr, 1) && token_ok(m->message_id, 0) &&
	    token_ok(m->in_reply_to, 0) && token_ok(m->unsub_mailto, 0) &&
	    token_ok(m->unsub_url, 0) && (m->text == NULL || utf8(m->text)) &&
	    (m->html == NULL || utf8(m->html)) && date_ok(m->date);
}

/* --- reading the message back ------------------------------------------ */

struct hdr {
	char name[64];
	char *value;            /* unfolded, malloc'd */
};

struct part {
	struct hdr h[MAXHDR];
	int        nh;
	const char *body;       /* up to, not including, its delimiter */
	size_t     len;
};

static void hdr_free(struct part *p)
{
	for (int i = 0; i < p->nh; i++)
		free(p->h[i].value);
	p->nh = 0;
}

static const char *hdr(const struct part *p, const char *name)
{
	for (int i = 0; i < p->nh; i++)
		if (strcasecmp(p->h[i].name, name) == 0)
			return p->h[i].value;
	return NULL;
}

/* Every line ends in CRLF, none is longer than 998, no NUL, and the
 * message ends a line. */
static void check_lines(const char *s, size_t len)
{
	size_t i, col = 0;

	if (strlen(s) != len)
		fz_fail("a NUL in the message");
	if (len < 2 || s[len - 2] != '\r' || s[len - 1] != '\n')
		fz_fail("the message does not end in CRLF");
	for (i = 0; i < len; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			fz_fail("a bare LF at byte %zu", i);
		if (s[i] == '\r' && s[i + 1] != '\n')
			fz_fail("a bare CR at byte %zu", i);
		if (s[i] == '\r') {
			col = 0;
			i++;
		} else if (++col > 998) {
			fz_fail("a line longer than 998 at byte %zu", i);
		}
	}
}

/* Reads the header fields at s (unfolded) into p, each name once;
 * returns where the body starts. */
static const char *read_headers(const char *s, const char *end,
    struct part *p)
{
	struct mq_buf v;
	const char *colon, *eol;

	p->nh = 0;
	while (s < end && !(s[0] == '\r' && s[1] == '\n')) {
		colon = memchr(s, ':', (size_t)(end - s));
		eol = strstr(s, "\r\n");
		if (colon == NULL || eol == NULL || colon > eol ||
		    colon - s >= 64 || colon == s || p->nh == MAXHDR)
			fz_fail("a bad header line at '%.40s'", s);
		snprintf(p->h[p->nh].name, 64, "%.*s", (int)(colon - s), s);
		if (hdr(p, p->h[p->nh].name) != NULL)
			fz_fail("header %s twice", p->h[p->nh].name);
		memset(&v, 0, sizeof v);
		mq_buf_put(&v, colon + 1, (size_t)(eol - colon - 1));
		for (s = eol + 2; s < end && (*s == ' ' || *s == '\t');
		    s = eol + 2) {
			eol = strstr(s, "\r\n");
			mq_buf_put(&v, s, (size_t)(eol - s));
		}
		mq_buf_put(&v, "", 0);
		if (v.oom)
			fz_fail("out of memory");
		p->h[p->nh++].value = v.p;
	}
	if (s >= end)
		fz_fail("no empty line after the header");
	return s + 2;
}

static int unhex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int unb64(int c)
{
	const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/";
	const char *p = c != '\0' ? strchr(a, c) : NULL;

	return p != NULL ? (int)(p - a) : -1;
}

/* Appends the text of one RFC 2047 word s[0..n); 0 if it is not one.
 * A word is at most 75 characters and holds whole UTF-8 characters. */
static int encoded_word(struct mq_buf *out, const char *s, size_t n)
{
	unsigned long v = 0;
	size_t i, bits = 0;
	char c;
	int d;

	if (n < 12 || strncasecmp(s, "=?UTF-8?", 8) != 0 || s[n - 2] != '?' ||
	    s[n - 1] != '=' || (s[9] != '?'))
		return 0;
	if (s[8] != 'B' && s[8] != 'b')
		fz_fail("an encoded word not in B: %.*s", (int)n, s);
	if ((n - 12) % 4 != 0 || n > 75)
		fz_fail("bad length of %.*s", (int)n, s);
	for (i = 10; i < n - 2; i++) {
		if (s[i] == '=' && (i >= n - 4))
			break;
		if ((d = unb64((unsigned char)s[i])) < 0)
			fz_fail("bad base64 in %.*s", (int)n, s);
		v = v << 6 | (unsigned long)d;
		if ((bits += 6) >= 8) {
			bits -= 8;
			c = (char)(v >> bits & 0xff);
			mq_buf_put(out, &c, 1);
		}
	}
	mq_buf_put(out, "", 0);
	if (out->oom || !utf8(out->p))
		fz_fail("an encoded word cuts a character: %.*s", (int)n, s);
	return 1;
}

/* RFC 2047 decoding of an unstructured value: whitespace between two
 * encoded words goes, any other stays as it is. */
static char *decode_2047(const char *s, size_t n)
{
	struct mq_buf out = { NULL, 0, 0, 0 }, word;
	size_t i = 0, ws, w;
	int prev_enc = 0, enc;

	while (i < n) {
		for (ws = i; i < n && (s[i] == ' ' || s[i] == '\t'); i++)
			;
		for (w = i; i < n && s[i] != ' ' && s[i] != '\t'; i++)
			;
		if (w == i) {
			mq_buf_put(&out, s + ws, i - ws);
			break;
		}
		memset(&word, 0, sizeof word);
		enc = encoded_word(&word, s + w, i - w);
		if (!(enc && prev_enc))
			mq_buf_put(&out, s + ws, w - ws);
		if (enc)
			mq_buf_put(&out, word.p != NULL ? word.p : "", word.len);
		else
			mq_buf_put(&out, s + w, i - w);
		free(word.p);
		prev_enc = enc;
	}
	mq_buf_put(&out, "", 0);
	if (out.oom)
		fz_fail("out of memory");
	return out.p;
}

static void check_subject(const struct part *h, const char *want)
{
	const char *v = hdr(h, "Subject");
	char *got;

	if (v == NULL)
		fz_fail("no Subject");
	if (*v == ' ')
		v++;
	got = decode_2047(v, strlen(v));
	if (strcmp(got, want != NULL ? want : "") != 0)
		fz_fail("Subject decodes to '%s', not '%s'", got, want);
	free(got);
}

/* "name" <addr>, =?UTF-8?B?...?= <addr>, or addr alone. */
static void check_addr(const struct part *h, const char *field,
    const char *name, const char *addr)
{
	struct mq_buf q = { NULL, 0, 0, 0 };
	const char *v = hdr(h, field), *lt;
	char *got = NULL;
	size_t n;

	if (v == NULL)
		fz_fail("no %s", field);
	if (*v == ' ')
		v++;
	if (name == NULL || *name == '\0') {
		if (strcmp(v, addr) != 0)
			fz_fail("%s is '%s', not '%s'", field, v, addr);
		return;
	}
	if ((lt = strrchr(v, '<')) == NULL || lt == v || lt[-1] != ' ' ||
	    strncmp(lt + 1, addr, strlen(addr)) != 0 ||
	    strcmp(lt + 1 + strlen(addr), ">") != 0)
		fz_fail("%s is '%s', not a name and <%s>", field, v, addr);
	n = (size_t)(lt - 1 - v);
	if (*v == '"') {
		if (n < 2 || v[n - 1] != '"')
			fz_fail("%s: a bad quoted name '%s'", field, v);
		for (size_t i = 1; i < n - 1; i++) {
			if (v[i] == '\\')
				i++;
			mq_buf_put(&q, v + i, 1);
		}
		mq_buf_put(&q, "", 0);
		got = q.p;
	} else {
		got = decode_2047(v, n);
	}
	if (strcmp(got, name) != 0)
		fz_fail("%s name decodes to '%s', not '%s'", field, got, name);
	free(got);
}

/* The text as quoted-printable decodes it: every line end one LF. */
static char *lf(const char *s)
{
	struct mq_buf b = { NULL, 0, 0, 0 };

	for (; s != NULL && *s != '\0'; s++) {
		if (*s == '\r' && s[1] == '\n')
			s++;
		mq_buf_put(&b, *s == '\r' ? "\n" : s, 1);
	}
	mq_buf_put(&b, "", 0);
	return b.p;
}

/* Decodes one part's quoted-printable body and checks its lines. */
static void check_qp(const struct part *p, const char *want)
{
	struct mq_buf out = { NULL, 0, 0, 0 };
	const char *s = p->body, *end = p->body + p->len, *eol;
	char *norm = lf(want);
	size_t n;
	int hi, lo;
	char c;

	if (p->len > 0 && (p->len < 2 || memcmp(end - 2, "\r\n", 2) != 0))
		fz_fail("a quoted-printable body not ending in CRLF");
	for (; s < end; s = eol + 2) {
		eol = strstr(s, "\r\n");
		n = (size_t)(eol - s);
		if (n > 76)
			fz_fail("a quoted-printable line of %zu", n);
		if (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			fz_fail("a blank at a quoted-printable line's end");
		for (size_t i = 0; i < n; i++) {
			if (s[i] == '=' && i + 1 == n)
				break;
			if (s[i] == '=') {
				if (i + 2 >= n || (hi = unhex(s[i + 1])) < 0 ||
				    (lo = unhex(s[i + 2])) < 0)
					fz_fail("a bad '=' in quoted-printable");
				c = (char)(hi << 4 | lo);
				mq_buf_put(&out, &c, 1);
				i += 2;
			} else if ((s[i] < ' ' && s[i] != '\t') ||
			    (unsigned char)s[i] > '~') {
				fz_fail("a raw byte %#x in quoted-printable",
				    (unsigned char)s[i]);
			} else {
				mq_buf_put(&out, s + i, 1);
			}
		}
		if (n == 0 || s[n - 1] != '=')
			mq_buf_put(&out, "\n", 1);
	}
	mq_buf_put(&out, "", 0);
	if (out.oom || norm == NULL)
		fz_fail("out of memory");
	if (strcmp(out.p, norm) != 0)
		fz_fail("the body decodes to '%s', not '%s'", out.p, norm);
	free(out.p);
	free(norm);
}

/* A part's (or a one-part message's) type and body. */
static void check_body(const struct part *p, const char *type,
    const char *want)
{
	char ct[80];
	const char *v;

	snprintf(ct, sizeof ct, " text/%s; charset=UTF-8", type);
	if ((v = hdr(p, "Content-Type")) == NULL || strcmp(v, ct) != 0 ||
	    (v = hdr(p, "Content-Transfer-Encoding")) == NULL ||
	    strcmp(v, " quoted-printable") != 0)
		fz_fail("part %s: bad Content-Type or encoding", type);
	check_qp(p, want);
}

static void check_part(const char *body, const char *end, const char *type,
    const char *want)
{
	struct part p;

	p.body = read_headers(body, end, &p);
	p.len = (size_t)(end - p.body);
	check_body(&p, type, want);
	hdr_free(&p);
}

/* multipart/alternative: the text part, then the HTML part. */
static void check_multipart(const struct part *h, const char *body,
    const char *end, const struct mq_msg *m)
{
	const char *ct = hdr(h, "Content-Type"), *b, *q, *d1, *d2, *d3;
	char delim[128];
	int n;

	if (ct == NULL || (b = strstr(ct, "boundary=\"")) == NULL ||
	    (q = strchr(b + 10, '"')) == NULL)
		fz_fail("multipart without a boundary: '%s'", ct);
	n = snprintf(delim, sizeof delim, "\r\n--%.*s", (int)(q - b - 10),
	    b + 10);
	if (strncmp(body, delim + 2, (size_t)n - 2) != 0 ||
	    strncmp(body + n - 2, "\r\n", 2) != 0)
		fz_fail("multipart does not start with its boundary");
	d1 = body;
	if ((d2 = strstr(d1 + n - 2, delim)) == NULL ||
	    strncmp(d2 + n, "\r\n", 2) != 0 ||
	    (d3 = strstr(d2 + n, delim)) == NULL ||
	    strcmp(d3 + n, "--\r\n") != 0 || d3 + n + 4 != end)
		fz_fail("multipart is not two parts and a close");
	check_part(d1 + n, d2, "plain", m->text);
	check_part(d2 + n + 2, d3, "html", m->html);
}

static void check_message(const char *s, size_t len, const struct mq_msg *m)
{
	static const char *const always[] = { "Date", "From", "To", "Subject",
	    "Message-ID", "MIME-Version", "Content-Type" };
	struct part h;
	const char *body;

	check_lines(s, len);
	body = read_headers(s, s + len, &h);
	for (size_t i = 0; i < sizeof always / sizeof *always; i++)
		if (hdr(&h, always[i]) == NULL)
			fz_fail("no %s header", always[i]);
	if ((hdr(&h, "In-Reply-To") != NULL) != (m->in_reply_to != NULL) ||
	    (hdr(&h, "References") != NULL) != (m->in_reply_to != NULL) ||
	    (hdr(&h, "List-Unsubscribe") != NULL) !=
	    (m->unsub_mailto != NULL || m->unsub_url != NULL))
		fz_fail("threading or unsubscribe headers do not match");
	check_subject(&h, m->subject);
	check_addr(&h, "From", m->from_name, m->from_addr);
	check_addr(&h, "To", m->to_name, m->to_addr);
	if (m->html != NULL) {
		check_multipart(&h, body, s + len, m);
	} else {
		h.body = body;
		h.len = (size_t)(s + len - body);
		check_body(&h, "plain", m->text);
	}
	hdr_free(&h);
}

static const char *piece(const struct fz_parts *p, int i, const char *def)
{
	return i < p->n ? p->s[i] : def;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mq_msg m;
	struct fz_parts p;
	struct mq_err err;
	char *out = NULL;
	size_t len = 0;
	int rc;

	if (size > 65536)
		return 0;
	fz_split(&p, data, size, P_N);
	memset(&m, 0, sizeof m);
	m.subject = piece(&p, P_SUBJECT, NULL);
	m.text = p.flags & F_NOTEXT ? NULL : piece(&p, P_TEXT, "Hi,\n");
	m.from_name = p.flags & F_NONAME ? NULL : piece(&p, P_FROM_NAME, "");
	m.to_name = p.flags & F_NONAME ? NULL : piece(&p, P_TO_NAME, "");
	m.html = p.flags & F_HTML ? piece(&p, P_HTML, "<p>Hi</p>") : NULL;
	m.from_addr = piece(&p, P_FROM, "anna@example.com");
	m.to_addr = piece(&p, P_TO, "jan@example.org");
	m.message_id = piece(&p, P_ID, "0123456789abcdef.0@example.com");
	m.in_reply_to = p.flags & F_REPLY ? piece(&p, P_REPLY,
	    "fedcba9876543210.0@example.com") : NULL;
	m.unsub_mailto = p.flags & F_MAILTO ? piece(&p, P_MAILTO,
	    "unsubscribe@example.com") : NULL;
	m.unsub_url = p.flags & F_URL ? piece(&p, P_URL,
	    "https://example.com/u?t=0123") : NULL;
	m.date = (time_t)strtoll(piece(&p, P_DATE, "1700000000"), NULL, 10);
	mq_err_clear(&err);
	rc = mq_msg_build(&m, &out, &len, &err);
	if (rc == MQ_OK && !good(&m))
		fz_fail("built a message from a bad value");
	if (rc != MQ_OK && good(&m))
		fz_fail("refused good values: %s", err.msg);
	if (rc != MQ_OK && (out != NULL || err.msg[0] == '\0'))
		fz_fail("refused without a message, or with output");
	if (rc == MQ_OK)
		check_message(out, len, &m);
	free(out);
	fz_parts_free(&p);
	return 0;
}
