/*
 * Message composition: see msg.h. Every header value is checked before a
 * byte is written, so lead data cannot add a header or break a line. A
 * header is written as tokens that fold onto continuation lines at 78
 * columns; text that is not plain ASCII becomes RFC 2047 "B" words, cut
 * only between UTF-8 characters. Bodies are quoted-printable, each part
 * ending in CRLF, under a boundary that starts with "=_", which
 * quoted-printable output never contains.
 *
 * libcurl's MIME API cannot render a tree to memory, and the transport
 * feeds the body through its own read callback (to record the "data"
 * phase before the first body byte), so the two small encoders live here.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>

#include "buf.h"
#include "msg.h"
#include "sched.h"
#include "text.h"

#define FOLD      78    /* RFC 5322 2.1.1: SHOULD */
#define QP_LINE   76    /* RFC 2045 6.7 (5) */
#define MAX_TOKEN MQ_MSG_VALUE_MAX

/* A header being written: the column of its current line and whether a
 * token is already on that line (only then may it fold). */
struct hdr {
	struct mq_buf *b;
	size_t      col;
	int         line_toks;
};

enum { V_TEXT, V_ADDR, V_TOKEN };

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char hex[] = "0123456789ABCDEF";

/* Base64 (RFC 4648) of n bytes into out, which holds 4 * ceil(n / 3)
 * bytes; returns that length. */
static size_t base64(const unsigned char *s, size_t n, char *out)
{
	size_t i, o = 0;
	unsigned long v;

	for (i = 0; i < n; i += 3) {
		v = (unsigned long)s[i] << 16;
		if (i + 1 < n)
			v |= (unsigned long)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	return o;
}

/* Quoted-printable (RFC 2045 6.7) of a UTF-8 text with any line ends:
 * CRLF line breaks, soft breaks keeping lines at QP_LINE, blanks before a
 * break encoded. Ends in CRLF unless s is empty: a soft break when s does
 * not end a line, so the decoded text has no newline it did not have. */
static void qp(struct mq_buf *b, const char *s)
{
	size_t i = 0, col = 0, tl;
	unsigned char c;
	char tok[3];
	int eol;

	while ((c = (unsigned char)s[i]) != '\0') {
		if (c == '\r' || c == '\n') {
			mq_buf_put(b, "\r\n", 2);
			col = 0;
			i += c == '\r' && s[i + 1] == '\n' ? 2 : 1;
			continue;
		}
		eol = s[i + 1] == '\0' || s[i + 1] == '\r' || s[i + 1] == '\n';
		tok[0] = (char)c;
		tl = 1;
		if (!((c > ' ' && c < 127 && c != '=') ||
		    ((c == ' ' || c == '\t') && !eol))) {
			tok[0] = '=';
			tok[1] = hex[c >> 4];
			tok[2] = hex[c & 15];
			tl = 3;
		}
		/* only a hard break may end a line at QP_LINE: a text that
		 * does not end a line closes with a soft break, "=" included */
		if (col + tl > (s[i + 1] == '\r' || s[i + 1] == '\n' ?
		    QP_LINE : QP_LINE - 1)) {
			mq_buf_put(b, "=\r\n", 3);
			col = 0;
		}
		mq_buf_put(b, tok, tl);
		col += tl;
		i++;
	}
	if (i > 0 && s[i - 1] != '\n' && s[i - 1] != '\r')
		mq_buf_put(b, "=\r\n", 3);
}

static void h_begin(struct hdr *h, struct mq_buf *b, const char *name)
{
	h->b = b;
	mq_buf_puts(b, name);
	mq_buf_put(b, ":", 1);
	h->col = strlen(name) + 1;
	h->line_toks = 0;
}

static void h_tok(struct hdr *h, const char *s, size_t n)
{
	if (h->line_toks > 0 && h->col + 1 + n > FOLD) {
		mq_buf_put(h->b, "\r\n", 2);
		h->col = 0;
		h->line_toks = 0;
	}
	mq_buf_put(h->b, " ", 1);
	mq_buf_put(h->b, s, n);
	h->col += 1 + n;
	h->line_toks++;
}

static void h_end(struct hdr *h)
{
	mq_buf_put(h->b, "\r\n", 2);
}

/* Where to end an encoded word of at most max bytes of s: after a space
 * in its second half if there is one, since some readers wrongly put a
 * space between adjacent words (RFC 2047 6.2 says to drop it), else at
 * the last UTF-8 character boundary. */
static size_t cut(const char *s, size_t max)
{
	size_t i;

	for (i = max; i > max / 2; i--)
		if (s[i - 1] == ' ')
			return i;
	return mq_text_cut(s, max);
}

/* RFC 2047 encoded words for s, each at most 75 characters and sized to
 * what is left of the line, never cutting a UTF-8 sequence. */
static void h_encoded(struct hdr *h, const char *s, size_t n)
{
	char word[80];
	size_t room, take, w;

	while (n > 0) {
		if (h->line_toks > 0 && h->col + 1 + 20 > FOLD) {
			mq_buf_put(h->b, "\r\n", 2);
			h->col = 0;
			h->line_toks = 0;
		}
		room = FOLD - h->col - 1;
		if (room > 75)
			room = 75;
		take = (room - 12) / 4 * 3;
		if (take >= n)
			take = n;
		else
			take = cut(s, take);
		memcpy(word, "=?UTF-8?B?", 10);
		w = 10 + base64((const unsigned char *)s, take, word + 10);
		memcpy(word + w, "?=", 2);
		h_tok(h, word, w + 2);
		s += take;
		n -= take;
	}
}

/* Whether ASCII text can stand as it is: printable, no "=?" that a reader
 * could take for an encoded word, no blanks at the ends or doubled (they
 * do not survive unfolding everywhere), words short enough to fold. */
static int plain(const char *s, size_t maxword)
{
	size_t i, word = 0;

	if (s[0] == ' ')
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if ((unsigned char)s[i] < ' ' || (unsigned char)s[i] > '~')
			return 0;
		if (s[i] == '=' && s[i + 1] == '?')
			return 0;
		if (s[i] != ' ')
			word++;
		else if (s[i + 1] == ' ' || s[i + 1] == '\0')
			return 0;
		else
			word = 0;
		if (word > maxword)
			return 0;
	}
	return 1;
}

static void put_subject(struct mq_buf *b, const char *s)
{
	struct hdr h;
	size_t n;

	h_begin(&h, b, "Subject");
	if (!plain(s, 66)) {
		h_encoded(&h, s, strlen(s));
	} else {
		while (*s != '\0') {
			n = strcspn(s, " ");
			h_tok(&h, s, n);
			s += n + (s[n] == ' ');
		}
	}
	h_end(&h);
}

/* "<s>" and then post, with "mailto:" before s when pre says so and s
 * lacks it. */
static void put_bracketed(struct hdr *h, const char *pre, const char *s,
    const char *post)
{
	char t[MAX_TOKEN + 16];
	int n;

	if (pre != NULL && strncasecmp(s, pre, strlen(pre)) == 0)
		pre = "";
	n = snprintf(t, sizeof t, "<%s%s>%s", pre ? pre : "", s, post);
	if (n < 0 || (size_t)n >= sizeof t) {
		h->b->oom = 1;
		return;
	}
	h_tok(h, t, (size_t)n);
}

/* name as an RFC 5322 quoted-string into q (room for 2 * 60 + 3), when it
 * is plain ASCII and short enough to sit on one line; else returns 0. */
static size_t quoted(const char *name, char *q)
{
	size_t i, n = 0;

	if (strlen(name) > 60 || !plain(name, 60))
		return 0;
	q[n++] = '"';
	for (i = 0; name[i] != '\0'; i++) {
		if (name[i] == '"' || name[i] == '\\')
			q[n++] = '\\';
		q[n++] = name[i];
	}
	q[n++] = '"';
	return n <= 64 ? n : 0;
}

/* "Display Name" <addr>, the name quoted when plain ASCII, else encoded. */
static void put_addr(struct mq_buf *b, const char *field, const char *name,
    const char *addr)
{
	struct hdr h;
	char q[2 * 60 + 3];
	size_t n;

	h_begin(&h, b, field);
	if (name == NULL || name[0] == '\0') {
		h_tok(&h, addr, strlen(addr));
	} else {
		if ((n = quoted(name, q)) > 0)
			h_tok(&h, q, n);
		else
			h_encoded(&h, name, strlen(name));
		put_bracketed(&h, NULL, addr, "");
	}
	h_end(&h);
}

/* Refuses what would break the message: line breaks and other controls
 * anywhere, bad UTF-8 in text, and in an address, ID or URL anything that
 * would end its angle brackets or the header. */
static int check_value(const char *field, const char *v, int kind,
    struct mq_err *err)
{
	const unsigned char *s = (const unsigned char *)v;
	size_t i;

	if (strpbrk(v, "\r\n") != NULL)
		return mq_err_perm(err, EX_DATAERR,
		    "header %s: contains a line break", field);
	for (i = 0; s[i] != '\0'; i++) {
		if ((s[i] < ' ' && s[i] != '\t') || s[i] == 127)
			return mq_err_perm(err, EX_DATAERR,
			    "header %s: contains a control character", field);
		if (kind != V_TEXT && (s[i] <= ' ' || s[i] > '~' ||
		    strchr("<>\"\\", s[i]) != NULL ||
		    (kind == V_ADDR && strchr(",;:()[]", s[i]) != NULL)))
			return mq_err_perm(err, EX_DATAERR,
			    "header %s: '%s' is not a valid %s", field, v,
			    kind == V_ADDR ? "address" : "value");
	}
	if (kind == V_TEXT && !mq_text_utf8_ok(v, i))
		return mq_err_perm(err, EX_DATAERR,
		    "header %s: is not valid UTF-8", field);
	if (kind != V_TEXT && (i == 0 || i > MAX_TOKEN))
		return mq_err_perm(err, EX_DATAERR, "header %s: %s value",
		    field, i == 0 ? "empty" : "overlong");
	return MQ_OK;
}

static int check(const struct mq_msg *m, struct mq_err *err)
{
	const struct {
		const char *field, *v;
		int kind;
	} v[] = {
		{ "From", m->from_addr, V_ADDR },
		{ "From", m->from_name, V_TEXT },
		{ "To", m->to_addr, V_ADDR },
		{ "To", m->to_name, V_TEXT },
		{ "Subject", m->subject, V_TEXT },
		{ "Message-ID", m->message_id, V_TOKEN },
		{ "In-Reply-To", m->in_reply_to, V_TOKEN },
		{ "List-Unsubscribe", m->unsub_mailto, V_TOKEN },
		{ "List-Unsubscribe", m->unsub_url, V_TOKEN },
	};
	size_t i;

	if (m->from_addr == NULL || m->to_addr == NULL ||
	    m->message_id == NULL)
		return mq_err_perm(err, EX_DATAERR,
		    "message without %s", m->from_addr == NULL ? "From" :
		    m->to_addr == NULL ? "To" : "Message-ID");
	for (i = 0; i < sizeof v / sizeof v[0]; i++)
		if (v[i].v != NULL && check_value(v[i].field, v[i].v,
		    v[i].kind, err) != MQ_OK)
			return MQ_PERM;
	if (m->text != NULL && !mq_text_utf8_ok(m->text, strlen(m->text)))
		return mq_err_perm(err, EX_DATAERR,
		    "text body is not valid UTF-8");
	if (m->html != NULL && !mq_text_utf8_ok(m->html, strlen(m->html)))
		return mq_err_perm(err, EX_DATAERR,
		    "HTML body is not valid UTF-8");
	return MQ_OK;
}

/* RFC 5322 3.3, in UTC; the names are spelled out (the weekdays are
 * lib/sched's) because strftime's follow the locale. */
static int put_date(struct mq_buf *b, time_t t, long off,
    struct mq_err *err)
{
	static const char mon[][4] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
	};
	time_t local = t + off;
	long a = off < 0 ? -off : off;
	struct tm tm;
	char s[64];
	int n;

	if (off <= -86400 || off >= 86400 || gmtime_r(&local, &tm) == NULL ||
	    tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 1900)
		return mq_err_perm(err, EX_DATAERR, "header Date: time %lld "
		    "out of range", (long long)t);
	n = snprintf(s, sizeof s, "Date: %s, %02d %s %04d %02d:%02d:%02d "
	    "%c%02ld%02ld\r\n", mq_sched_day_name((tm.tm_wday + 6) % 7),
	    tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
	    tm.tm_min, tm.tm_sec,
	    off < 0 ? '-' : '+', a / 3600, a % 3600 / 60);
	if (n < 0 || (size_t)n >= sizeof s)
		return mq_err_perm(err, EX_SOFTWARE, "header Date: too long");
	mq_buf_put(b, s, (size_t)n);
	return MQ_OK;
}

static void put_id(struct mq_buf *b, const char *field, const char *id)
{
	struct hdr h;

	h_begin(&h, b, field);
	put_bracketed(&h, NULL, id, "");
	h_end(&h);
}

static void put_unsub(struct mq_buf *b, const struct mq_msg *m)
{
	struct hdr h;

	if (m->unsub_mailto == NULL && m->unsub_url == NULL)
		return;
	h_begin(&h, b, "List-Unsubscribe");
	if (m->unsub_mailto != NULL)
		put_bracketed(&h, "mailto:", m->unsub_mailto,
		    m->unsub_url != NULL ? "," : "");
	if (m->unsub_url != NULL)
		put_bracketed(&h, NULL, m->unsub_url, "");
	h_end(&h);
	if (m->unsub_url != NULL)	/* RFC 8058 one-click */
		mq_buf_puts(b, "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
}

/* 64-bit FNV-1a over len bytes, continuing from h. */
static uint64_t fnv1a(uint64_t h, const void *p, size_t len)
{
	const unsigned char *s = p;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

#define FNV_OFFSET 0xcbf29ce484222325ULL

static void put_part(struct mq_buf *b, const char *type, const char *s)
{
	mq_buf_puts(b, "Content-Type: text/");
	mq_buf_puts(b, type);
	mq_buf_puts(b, "; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
	qp(b, s != NULL ? s : "");
}

/* The Content-Type header onwards: one text part, or the text and the
 * HTML as multipart/alternative, text first (RFC 2046 5.1.4). The
 * boundary comes from the Message-ID, so a retry is the same message. */
static void put_body(struct mq_buf *b, const struct mq_msg *m)
{
	char bd[32];
	uint64_t h;

	if (m->html == NULL) {
		put_part(b, "plain", m->text);
		return;
	}
	h = fnv1a(FNV_OFFSET, m->message_id, strlen(m->message_id));
	snprintf(bd, sizeof bd, "=_mailq_%016llx", (unsigned long long)h);
	mq_buf_puts(b, "Content-Type: multipart/alternative;\r\n boundary=\"");
	mq_buf_puts(b, bd);
	mq_buf_puts(b, "\"\r\n\r\n--");
	mq_buf_puts(b, bd);
	mq_buf_puts(b, "\r\n");
	put_part(b, "plain", m->text);
	mq_buf_puts(b, "\r\n--");
	mq_buf_puts(b, bd);
	mq_buf_puts(b, "\r\n");
	put_part(b, "html", m->html);
	mq_buf_puts(b, "\r\n--");
	mq_buf_puts(b, bd);
	mq_buf_puts(b, "--\r\n");
}

int mq_msg_build(const struct mq_msg *m, char **out, size_t *len,
    struct mq_err *err)
{
	struct mq_buf b = { NULL, 0, 0, 0 };
	int rc;

	*out = NULL;
	*len = 0;
	if ((rc = check(m, err)) != MQ_OK)
		return rc;
	if ((rc = put_date(&b, m->date, m->date_offset, err)) != MQ_OK)
		goto out;
	put_addr(&b, "From", m->from_name, m->from_addr);
	put_addr(&b, "To", m->to_name, m->to_addr);
	put_subject(&b, m->subject ? m->subject : "");
	put_id(&b, "Message-ID", m->message_id);
	if (m->in_reply_to != NULL) {
		put_id(&b, "In-Reply-To", m->in_reply_to);
		put_id(&b, "References", m->in_reply_to);
	}
	put_unsub(&b, m);
	mq_buf_puts(&b, "MIME-Version: 1.0\r\n");
	put_body(&b, m);
	if (b.oom) {
		rc = mq_err_temp(err, "message: out of memory");
		goto out;
	}
	*out = b.p;
	*len = b.len;
	b.p = NULL;
out:
	free(b.p);
	return rc;
}

void mq_msg_id(const char *salt, long long campaign, long long lead,
    int step, const char *from_addr, char *buf, size_t len)
{
	const char *at = from_addr ? strrchr(from_addr, '@') : NULL;
	char dom[256], num[64];
	uint64_t h = FNV_OFFSET;
	size_t i;

	h = fnv1a(h, salt ? salt : "", strlen(salt ? salt : "") + 1);
	snprintf(num, sizeof num, "%lld/%lld/%d", campaign, lead, step);
	h = fnv1a(h, num, strlen(num));
	snprintf(dom, sizeof dom, "%s", at && at[1] ? at + 1 : "localhost");
	for (i = 0; dom[i] != '\0'; i++)
		if (dom[i] >= 'A' && dom[i] <= 'Z')
			dom[i] = (char)(dom[i] - 'A' + 'a');
	if (len > 0)
		snprintf(buf, len, "%016llx.%d@%s", (unsigned long long)h,
		    step, dom);
}

/* Keyed as salt || data || salt, with a different label per half. */
void mq_msg_unsub_token(const char *salt, long long campaign, long long lead,
    char *buf, size_t len)
{
	const char *key = salt ? salt : "";
	uint64_t h[2];
	char num[64];
	int i;

	snprintf(num, sizeof num, "unsubscribe/%lld/%lld", campaign, lead);
	for (i = 0; i < 2; i++) {
		h[i] = fnv1a(FNV_OFFSET, key, strlen(key) + 1);
		h[i] = fnv1a(h[i], &i, sizeof i);
		h[i] = fnv1a(h[i], num, strlen(num));
		h[i] = fnv1a(h[i], key, strlen(key));
		h[i] ^= h[i] >> 29;
		h[i] *= 0xbf58476d1ce4e5b9ULL;
		h[i] ^= h[i] >> 32;
	}
	if (len > 0)
		snprintf(buf, len, "%016llx%016llx", (unsigned long long)h[0],
		    (unsigned long long)h[1]);
}
