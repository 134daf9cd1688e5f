/*
 * Inbound mail: see classify.h. GMime parses the message once — MIME
 * structure, transfer encodings, charsets, RFC 2047 words, addresses,
 * Message-IDs; this file only decides. The rules run in a fixed order and
 * the first that holds gives the class and its reason: our own mail, a
 * delivery report, an automatic reply, a request to be removed, mail a
 * person wrote, and unmatched for what has no From or cannot be read.
 *
 * Reports. A message/delivery-status (RFC 3464) or
 * message/global-delivery-status (RFC 6533) part is a sequence of header
 * blocks; each block is handed to GMime's parser as a header of its own,
 * and the per-recipient ones (Final-Recipient, Action, Status,
 * Diagnostic-Code) give the recipients. Reports without such a part are
 * read by their well-known shapes: qmail ("This is the qmail-send
 * program"), Exim's plain text ("could not be delivered to one or more of
 * its recipients") and X-Failed-Recipients from a mail system whose
 * Subject says delivery failed. Mail from postmaster or MAILER-DAEMON that
 * says none of this is no bounce.
 *
 * Words. Subjects and the first lines of the text are folded before they
 * are compared: case folded, accents taken off (NFD without its marks,
 * and l for ł), every run of blanks one space. So "Odpowiedź
 * automatyczna" and "ODPOWIEDZ AUTOMATYCZNA" match alike. Words match
 * whole, never inside a longer word. A request to be removed is looked for
 * in the Subject and in the first FIRST_LINES non-empty lines of the text
 * (text/plain, else the HTML with its tags taken off), skipping lines
 * quoted with ">" and stopping at a quote header or a signature, so that
 * our own footer quoted below a reply never counts. The words, folded:
 *   English  unsubscribe, remove me, remove us, remove my address, take
 *            me off, take us off, opt out, opt-out, stop emailing, stop
 *            sending, do not contact, don't contact me
 *   Polish   wypisz mnie, wypisz, wypiszcie, wypisać, wypisanie, usuń
 *            mnie, usuńcie mnie, usunąć mnie, usunięcie z listy, proszę
 *            usunąć, nie chcę otrzymywać, rezygnuję, nie kontaktuj, nie
 *            piszcie, nie przysyłać
 *   German   abmelden, austragen, keine weiteren e-mails
 * A return date is taken from an automatic reply only when a whole date
 * with its year follows a word that says so ("back on", "until", "do",
 * "wracam", "bis", "ab ... wieder"), and only when every such date agrees
 * within a few days; otherwise back_on stays 0.
 *
 * Header fields whose name starts with X-Mailq-Test- are removed before
 * anything is read: the test corpus (tests/inbound/) states what it
 * expects in them, and the classifier must not see its answers.
 *
 * Bounds: parts are walked to a depth of MAX_DEPTH and at most MAX_PARTS
 * of them (GMime bounds its own parser's nesting); at most TEXT_MAX bytes
 * of a text are read.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <gmime/gmime.h>

#include "classify.h"

#define MAX_DEPTH    8
#define MAX_PARTS    200
#define TEXT_MAX     65536
#define FIRST_LINES  5
#define LINE_MAX_    1024

static const char *const class_names[MQ_CLASS_COUNT] = {
	"own", "hard_bounce", "soft_bounce", "auto_reply", "unsubscribe",
	"reply", "unmatched"
};

const char *mq_class_name(enum mq_class c)
{
	return (unsigned)c < MQ_CLASS_COUNT ? class_names[c] : "unmatched";
}

int mq_class_from_name(const char *name)
{
	for (int i = 0; name != NULL && i < MQ_CLASS_COUNT; i++)
		if (strcmp(name, class_names[i]) == 0)
			return i;
	return -1;
}

/* --- strings ------------------------------------------------------------ */

/* Copies s into dst[cap] as one line of valid UTF-8: a control becomes a
 * space, a byte that starts no valid character '?', and the cut falls
 * between characters. */
static void put(char *dst, size_t cap, const char *s)
{
	size_t i = 0, n;
	unsigned char c;

	if (cap == 0)
		return;
	for (; s != NULL && *s != '\0'; s += n) {
		c = (unsigned char)*s;
		n = 1;
		if (c >= 0x80 && (gint)g_utf8_get_char_validated(s, -1) >= 0)
			n = (size_t)g_utf8_skip[c];
		if (i + n >= cap)
			break;
		if (c < ' ' || c == 127)
			dst[i] = ' ';
		else if (c >= 0x80 && n == 1)
			dst[i] = '?';
		else
			memcpy(dst + i, s, n);
		i += n;
	}
	dst[i] = '\0';
}

static void lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = g_ascii_tolower(*s);
}

/* An address as a report writes it ("rfc822; <Jan@Example.org>"): the
 * address alone, lower case. */
static void put_addr(char *dst, size_t cap, const char *s)
{
	const char *semi = strchr(s, ';');
	char tmp[MQ_ADDR_MAX];
	size_t n;

	if (semi != NULL)
		s = semi + 1;
	s += strspn(s, " \t\r\n<");
	n = strcspn(s, " \t\r\n>");
	snprintf(tmp, sizeof tmp, "%.*s", (int)(n < sizeof tmp ? n :
	    sizeof tmp - 1), s);
	put(dst, cap, tmp);
	lower(dst);
}

static char *cut(char *s, size_t max)
{
	size_t n = strlen(s);

	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		s[n] = '\0';
	}
	return s;
}

/* The folded form of s (see the opening comment): lower case, no
 * accents, blanks one space, line ends "\n". g_free it. */
static char *fold(const char *s)
{
	char *valid = g_utf8_make_valid(s, -1);
	char *cf = g_utf8_casefold(valid, -1);
	char *nfd = g_utf8_normalize(cf, -1, G_NORMALIZE_NFD);
	GString *out = g_string_sized_new(strlen(s) + 1);
	int blank = 0;

	for (const char *p = nfd != NULL ? nfd : ""; *p != '\0';
	    p += g_utf8_skip[(unsigned char)*p]) {
		gunichar u = g_utf8_get_char(p);

		if (u == '\n') {
			g_string_append_c(out, '\n');
			blank = 0;
		} else if (u == ' ' || u == '\t' || u == '\r' || u == 0xa0 ||
		    u == '\f' || u == '\v') {
			blank = 1;
		} else if (g_unichar_type(u) != G_UNICODE_NON_SPACING_MARK) {
			if (blank && out->len > 0 &&
			    out->str[out->len - 1] != '\n')
				g_string_append_c(out, ' ');
			blank = 0;
			if (u == 0x142)
				u = 'l';
			else if (u == 0x2019)
				u = '\'';
			g_string_append_unichar(out, u);
		}
	}
	g_free(valid);
	g_free(cf);
	g_free(nfd);
	return g_string_free(out, FALSE);
}

static int is_word_char(const char *s)
{
	return *s != '\0' && g_unichar_isalnum(g_utf8_get_char(s));
}

/* Whether the (folded) phrase w occurs in s as whole words. */
static int has_word(const char *s, const char *w)
{
	size_t n = strlen(w);

	for (const char *p = strstr(s, w); p != NULL; p = strstr(p + 1, w)) {
		const char *prev = p > s ? g_utf8_find_prev_char(s, p) : NULL;

		if ((prev == NULL || !is_word_char(prev)) &&
		    !is_word_char(p + n))
			return 1;
	}
	return 0;
}

/* Whether s starts with the folded phrase w as whole words. */
static int starts_word(const char *s, const char *w)
{
	size_t n = strlen(w);

	return strncmp(s, w, n) == 0 && !is_word_char(s + n);
}

/* --- the message -------------------------------------------------------- */

/* What one walk over the parts finds. */
struct parts {
	GMimeObject *status;      /* message/(global-)delivery-status */
	GMimeObject *returned;    /* message/rfc822 or message/global */
	GMimeObject *ret_headers; /* text/rfc822-headers and the like */
	GMimeObject *plain, *html;
	int          report;      /* report-type=delivery-status */
	int          mdn;         /* report-type=disposition-notification */
	int          n;
};

struct cx {
	const struct mq_classify_ctx *ctx;
	GMimeMessage       *msg;
	struct mq_inbound  *out;
	struct parts        p;
	char               *text;    /* the body as UTF-8, at most TEXT_MAX */
	char               *ftext;   /* text, folded */
	char               *fsubj;   /* the Subject, folded */
};

static const char *header(struct cx *c, const char *name)
{
	return g_mime_object_get_header(GMIME_OBJECT(c->msg), name);
}

static int is_type(GMimeObject *o, const char *type, const char *sub)
{
	GMimeContentType *ct = g_mime_object_get_content_type(o);

	return ct != NULL && g_mime_content_type_is_type(ct, type, sub);
}

static int is_attachment(GMimeObject *o)
{
	const char *d = g_mime_object_get_disposition(o);

	return d != NULL && g_ascii_strcasecmp(d, "attachment") == 0;
}

static void walk(GMimeObject *o, int depth, struct parts *p)
{
	const char *rt;

	if (o == NULL || depth > MAX_DEPTH || ++p->n > MAX_PARTS)
		return;
	if (GMIME_IS_MULTIPART(o)) {
		rt = g_mime_object_get_content_type_parameter(o, "report-type");
		if (is_type(o, "multipart", "report") && rt != NULL) {
			p->report |= g_ascii_strcasecmp(rt,
			    "delivery-status") == 0;
			p->mdn |= g_ascii_strcasecmp(rt,
			    "disposition-notification") == 0;
		}
		for (int i = 0; i < g_mime_multipart_get_count(
		    GMIME_MULTIPART(o)) && p->n <= MAX_PARTS; i++)
			walk(g_mime_multipart_get_part(GMIME_MULTIPART(o), i),
			    depth + 1, p);
	} else if (GMIME_IS_MESSAGE_PART(o)) {
		if (p->returned == NULL)
			p->returned = o;
	} else if (is_type(o, "message", "delivery-status") ||
	    is_type(o, "message", "global-delivery-status")) {
		if (p->status == NULL)
			p->status = o;
	} else if (is_type(o, "text", "rfc822-headers") ||
	    is_type(o, "message", "global-headers") ||
	    is_type(o, "message", "global") || is_type(o, "message", "rfc822")) {
		if (p->ret_headers == NULL)
			p->ret_headers = o;
	} else if (GMIME_IS_TEXT_PART(o) && !is_attachment(o)) {
		if (p->plain == NULL && is_type(o, "text", "plain"))
			p->plain = o;
		if (p->html == NULL && is_type(o, "text", "html"))
			p->html = o;
	}
}

/* A leaf part's content, transfer decoding undone, NULs made spaces, at
 * most TEXT_MAX bytes. g_free it. */
static char *part_bytes(GMimeObject *o)
{
	GMimeDataWrapper *dw;
	GMimeStream *s;
	GByteArray *a;
	char *r;
	size_t n;

	if (!GMIME_IS_PART(o) ||
	    (dw = g_mime_part_get_content(GMIME_PART(o))) == NULL)
		return g_strdup("");
	s = g_mime_stream_mem_new();
	g_mime_data_wrapper_write_to_stream(dw, s);
	a = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(s));
	n = a->len < TEXT_MAX ? a->len : TEXT_MAX;
	r = g_malloc(n + 1);
	if (n > 0)              /* an empty array may have no data at all */
		memcpy(r, a->data, n);
	for (size_t i = 0; i < n; i++)
		if (r[i] == '\0')
			r[i] = ' ';
	r[n] = '\0';
	g_object_unref(s);
	return r;
}

/* bytes (a header block, or a whole message) parsed as a message. */
static GMimeMessage *parse(const char *bytes, size_t len)
{
	GMimeStream *s = g_mime_stream_mem_new_with_buffer(bytes, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(s);
	GMimeMessage *m;

	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	m = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	g_object_unref(s);
	return m;
}

/* Test expectations are no part of the message (see the opening comment). */
static void drop_test_headers(GMimeMessage *m)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(m));

	for (int i = g_mime_header_list_get_count(hl) - 1; i >= 0; i--) {
		const char *name = g_mime_header_get_name(
		    g_mime_header_list_get_header_at(hl, i));

		if (name != NULL && g_ascii_strncasecmp(name, "X-Mailq-Test-",
		    13) == 0)
			g_mime_header_list_remove_at(hl, i);
	}
}

/* --- what every message says of itself ----------------------------------- */

/* The first mailbox of a list, looking into a group. */
static const char *first_addr(InternetAddressList *l)
{
	InternetAddress *ia;

	if (l == NULL || internet_address_list_length(l) == 0)
		return NULL;
	ia = internet_address_list_get_address(l, 0);
	if (INTERNET_ADDRESS_IS_GROUP(ia))
		return first_addr(internet_address_group_get_members(
		    INTERNET_ADDRESS_GROUP(ia)));
	return INTERNET_ADDRESS_IS_MAILBOX(ia) ?
	    internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia)) :
	    NULL;
}

static void add_id(struct mq_inbound *out, const char *id)
{
	if (id == NULL || *id == '\0' || out->n_ids >= MQ_CLASSIFY_IDS)
		return;
	for (int i = 0; i < out->n_ids; i++)
		if (strncmp(out->ids[i], id, MQ_ID_MAX - 1) == 0)
			return;
	put(out->ids[out->n_ids++], MQ_ID_MAX, id);
}

/* In-Reply-To first, then References from the newest back. */
static void thread_ids(struct cx *c)
{
	GMimeReferences *r;
	const char *v;
	int n;

	if ((v = header(c, "In-Reply-To")) != NULL &&
	    (r = g_mime_references_parse(NULL, v)) != NULL) {
		n = g_mime_references_length(r);
		for (int i = 0; i < n; i++)
			add_id(c->out, g_mime_references_get_message_id(r, i));
		g_mime_references_free(r);
	}
	if ((v = header(c, "References")) != NULL &&
	    (r = g_mime_references_parse(NULL, v)) != NULL) {
		n = g_mime_references_length(r);
		for (int i = n - 1; i >= 0; i--)
			add_id(c->out, g_mime_references_get_message_id(r, i));
		g_mime_references_free(r);
	}
}

static void common(struct cx *c)
{
	struct mq_inbound *out = c->out;
	GDateTime *d = g_mime_message_get_date(c->msg);
	const char *s;

	put(out->message_id, sizeof out->message_id,
	    g_mime_message_get_message_id(c->msg));
	put(out->from, sizeof out->from,
	    first_addr(g_mime_message_get_from(c->msg)));
	lower(out->from);
	s = g_mime_message_get_subject(c->msg);
	put(out->subject, sizeof out->subject, s);
	c->fsubj = fold(s != NULL ? s : "");
	g_strstrip(c->fsubj);
	if (d != NULL)
		out->date = (time_t)g_date_time_to_unix(d);
	thread_ids(c);
}

/* --- the text ------------------------------------------------------------ */

static const char *const block_tags[] = { "br", "p", "div", "tr", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote", "hr" };

/* An HTML entity at s appended to t; returns its length, 0 if unknown. */
static size_t entity(const char *s, GString *t)
{
	static const struct { const char *e; const char *u; } named[] = {
		{ "&nbsp;", " " }, { "&amp;", "&" }, { "&lt;", "<" },
		{ "&gt;", ">" }, { "&quot;", "\"" }, { "&apos;", "'" },
	};
	char *end;
	long u;

	for (size_t i = 0; i < G_N_ELEMENTS(named); i++)
		if (strncmp(s, named[i].e, strlen(named[i].e)) == 0) {
			g_string_append(t, named[i].u);
			return strlen(named[i].e);
		}
	if (s[1] != '#')
		return 0;
	u = s[2] == 'x' || s[2] == 'X' ? strtol(s + 3, &end, 16) :
	    strtol(s + 2, &end, 10);
	if (*end != ';' || end - s > 10 || u <= 0 || u > 0x10ffff ||
	    !g_unichar_validate((gunichar)u))
		return 0;
	g_string_append_unichar(t, (gunichar)u);
	return (size_t)(end + 1 - s);
}

/* One tag at s (just past its "<"): a line break for the block ones;
 * *quote counts the open blockquotes, *skip is set inside head, style
 * and script. Returns where the tag ends. */
static const char *tag(const char *s, GString *t, int *quote, int *skip)
{
	int close = *s == '/';
	size_t n;

	s += close;
	n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789");
	for (size_t i = 0; i < G_N_ELEMENTS(block_tags); i++)
		if (strlen(block_tags[i]) == n &&
		    g_ascii_strncasecmp(s, block_tags[i], n) == 0)
			g_string_append_c(t, '\n');
	if (n == 10 && g_ascii_strncasecmp(s, "blockquote", n) == 0)
		*quote += close ? (*quote > 0 ? -1 : 0) : 1;
	if ((n == 4 && g_ascii_strncasecmp(s, "head", n) == 0) ||
	    (n == 5 && g_ascii_strncasecmp(s, "style", n) == 0) ||
	    (n == 6 && g_ascii_strncasecmp(s, "script", n) == 0))
		*skip = !close;
	s = strchr(s, '>');
	return s != NULL ? s + 1 : s;
}

/* HTML as crude text: tags gone, quoted parts (blockquote) left out. */
static char *html_text(const char *h)
{
	GString *t = g_string_new(NULL);
	int quote = 0, skip = 0;
	size_t n;

	while (h != NULL && *h != '\0' && t->len < TEXT_MAX) {
		if (strncmp(h, "<!--", 4) == 0) {
			h = strstr(h + 4, "-->");
			h = h != NULL ? h + 3 : NULL;
		} else if (*h == '<') {
			h = tag(h + 1, t, &quote, &skip);
		} else if (skip || quote > 0) {
			h++;
		} else if (*h == '&' && (n = entity(h, t)) > 0) {
			h += n;
		} else {
			g_string_append_c(t, *h == '\n' || *h == '\r' ? ' ' :
			    *h);
			h++;
		}
	}
	return g_string_free(t, FALSE);
}

/* The message's text as UTF-8: its text/plain part, else its HTML's
 * text; a report's first text part too. */
static void read_text(struct cx *c)
{
	GMimeObject *o = c->p.plain != NULL ? c->p.plain : c->p.html;
	char *t = o != NULL ? g_mime_text_part_get_text(GMIME_TEXT_PART(o)) :
	    NULL;
	char *valid;

	if (t != NULL && o == c->p.html) {
		char *h = html_text(t);

		g_free(t);
		t = h;
	}
	valid = g_utf8_make_valid(t != NULL ? cut(t, TEXT_MAX) : "", -1);
	g_free(t);
	c->text = valid;
	c->ftext = fold(valid);
}

/* The line at *p copied into buf (cut), *p moved past it; 0 at the end. */
static int next_line(const char **p, char *buf, size_t cap)
{
	size_t n;

	if (**p == '\0')
		return 0;
	n = strcspn(*p, "\n");
	snprintf(buf, cap, "%.*s", (int)(n < cap ? n : cap - 1), *p);
	buf[strcspn(buf, "\r")] = '\0';
	*p += n + ((*p)[n] == '\n');
	return 1;
}

/* --- reports ------------------------------------------------------------- */

/* The length of an enhanced status code (RFC 3463, "5.1.1") at s, which
 * is inside base; 0 when there is none, e.g. in an IP address or date. */
static size_t enhanced_at(const char *base, const char *s)
{
	const char *p = s + 2;
	size_t n;

	if ((*s != '2' && *s != '4' && *s != '5') || s[1] != '.' ||
	    (s > base && (g_ascii_isdigit(s[-1]) || s[-1] == '.')))
		return 0;
	for (int i = 0; i < 2; i++) {
		for (n = 0; g_ascii_isdigit(p[n]); n++)
			;
		if (n == 0 || n > 3)
			return 0;
		p += n;
		if (i == 0 && *p++ != '.')
			return 0;
	}
	if (g_ascii_isdigit(*p) || (*p == '.' && g_ascii_isdigit(p[1])))
		return 0;
	return (size_t)(p - s);
}

/* Whether an SMTP reply code ("550 ", "421-") stands alone at s. */
static int basic_at(const char *base, const char *s)
{
	if ((*s != '4' && *s != '5') || !g_ascii_isdigit(s[1]) ||
	    !g_ascii_isdigit(s[2]) ||
	    (s > base && strchr(" \t(:;#<", s[-1]) == NULL))
		return 0;
	return s[3] == ' ' || s[3] == '-' || s[3] == '\0' || s[3] == '\r' ||
	    s[3] == '\n';
}

/* The class digit (2, 4, 5) of the first status code in s, an enhanced
 * one preferred, with that code in status[cap] ("" for a bare "550");
 * 0 when s has none. */
static int find_code(const char *s, char *status, size_t cap)
{
	int basic = 0;
	size_t n;

	if (cap > 0)
		status[0] = '\0';
	for (const char *p = s; *p != '\0'; p++) {
		if ((n = enhanced_at(s, p)) > 0) {
			snprintf(status, cap, "%.*s", (int)n, p);
			return *p - '0';
		}
		if (basic == 0 && basic_at(s, p))
			basic = *p - '0';
	}
	return basic;
}

/* A new recipient for the address written at s; NULL when it is full or
 * s holds no address. */
static struct mq_dsn_rcpt *new_rcpt(struct mq_inbound *out, const char *s,
    const char *action)
{
	struct mq_dsn_rcpt *r;

	if (out->n_rcpts >= MQ_CLASSIFY_RCPTS)
		return NULL;
	r = &out->rcpts[out->n_rcpts];
	put_addr(r->addr, sizeof r->addr, s);
	if (strchr(r->addr, '@') == NULL) {
		memset(r, 0, sizeof *r);
		return NULL;
	}
	put(r->action, sizeof r->action, action);
	out->n_rcpts++;
	return r;
}

/* A line of the remote server's reply: the first with a code is kept. */
static void reply_line(struct mq_dsn_rcpt *r, const char *line)
{
	char st[sizeof r->status];

	if (r->diag[0] != '\0' || find_code(line, st, sizeof st) == 0)
		return;
	put(r->status, sizeof r->status, st);
	put(r->diag, sizeof r->diag, line + strspn(line, " \t"));
}

/* One per-recipient block of a delivery-status part. */
static void status_block(struct mq_inbound *out, GMimeMessage *b)
{
	GMimeObject *o = GMIME_OBJECT(b);
	const char *fr = g_mime_object_get_header(o, "Final-Recipient");
	const char *orr = g_mime_object_get_header(o, "Original-Recipient");
	const char *act = g_mime_object_get_header(o, "Action");
	const char *st = g_mime_object_get_header(o, "Status");
	const char *dg = g_mime_object_get_header(o, "Diagnostic-Code");
	struct mq_dsn_rcpt *r;
	char action[16];
	size_t n;

	if (fr == NULL || strchr(fr, '@') == NULL)
		fr = orr;
	if (fr == NULL)
		return;
	act = act != NULL ? act + strspn(act, " \t") : "";
	snprintf(action, sizeof action, "%.*s", (int)strcspn(act, " \t;("),
	    act);
	lower(action);
	if ((r = new_rcpt(out, fr, action)) == NULL)
		return;
	st = st != NULL ? st + strspn(st, " \t") : "";
	if ((n = enhanced_at(st, st)) > 0 && n < sizeof r->status)
		snprintf(r->status, sizeof r->status, "%.*s", (int)n, st);
	put(r->diag, sizeof r->diag, dg);
}

/* The delivery-status part's blocks, each parsed by GMime as a header. */
static void read_status(struct cx *c)
{
	char *body = part_bytes(c->p.status);
	const char *p = body, *end;
	GMimeMessage *b;
	GString *block;
	int blocks = 0;

	while (*p != '\0' && blocks++ < 2 * MQ_CLASSIFY_RCPTS + 2) {
		p += strspn(p, "\r\n \t");
		for (end = p; *end != '\0'; end++)
			if (end[0] == '\n' && (end[1] == '\n' ||
			    (end[1] == '\r' && end[2] == '\n')))
				break;
		block = g_string_new_len(p, end - p);
		g_string_append(block, "\n\n");
		if ((b = parse(block->str, block->len)) != NULL) {
			status_block(c->out, b);
			g_object_unref(b);
		}
		g_string_free(block, TRUE);
		p = end;
	}
	g_free(body);
}

/* The returned message's Message-ID: its message/rfc822 part, its
 * headers part, else a Message-ID line quoted in the text. */
static void orig_id(struct cx *c)
{
	GMimeMessage *m = NULL;
	const char *p = c->text, *id = NULL;
	char line[LINE_MAX_], *dec, *l;

	if (c->p.returned != NULL && (m = g_mime_message_part_get_message(
	    GMIME_MESSAGE_PART(c->p.returned))) != NULL)
		id = g_mime_message_get_message_id(m);
	m = NULL;
	if (id == NULL && c->p.ret_headers != NULL) {
		char *b = part_bytes(c->p.ret_headers);

		if ((m = parse(b, strlen(b))) != NULL)
			id = g_mime_message_get_message_id(m);
		g_free(b);
	}
	put(c->out->orig_message_id, MQ_ID_MAX, id);
	if (m != NULL)
		g_object_unref(m);
	while (c->out->orig_message_id[0] == '\0' &&
	    next_line(&p, line, sizeof line)) {
		l = line + strspn(line, " \t>");
		if (g_ascii_strncasecmp(l, "Message-ID:", 11) != 0)
			continue;
		dec = g_mime_utils_decode_message_id(l + 11);
		put(c->out->orig_message_id, MQ_ID_MAX, dec);
		g_free(dec);
	}
}

/* X-Failed-Recipients, when nothing else named a recipient; the code is
 * the first the text gives. */
static void failed_rcpts(struct cx *c, const char *action)
{
	const char *v = header(c, "X-Failed-Recipients"), *p;
	InternetAddressList *l;
	struct mq_dsn_rcpt *r;
	char line[LINE_MAX_];

	if (v == NULL || c->out->n_rcpts > 0 ||
	    (l = internet_address_list_parse(NULL, v)) == NULL)
		return;
	for (int i = 0; i < internet_address_list_length(l); i++) {
		InternetAddress *ia = internet_address_list_get_address(l, i);

		if (!INTERNET_ADDRESS_IS_MAILBOX(ia) || (r = new_rcpt(c->out,
		    internet_address_mailbox_get_addr(
		    INTERNET_ADDRESS_MAILBOX(ia)), action)) == NULL)
			continue;
		for (p = c->text; r->diag[0] == '\0' &&
		    next_line(&p, line, sizeof line);)
			reply_line(r, line);
	}
	g_object_unref(l);
}

/* 5 (permanent), 4 (temporary) or 0 (not a failure) for a recipient. */
static int rcpt_class(const struct mq_dsn_rcpt *r)
{
	char st[16];
	int k = r->status[0] - '0';

	if (strcmp(r->action, "delayed") == 0)
		return 4;
	if (strcmp(r->action, "failed") != 0 && r->action[0] != '\0')
		return 0;
	if (k == 4 || k == 5)
		return k;
	if (r->action[0] == '\0')
		return 0;
	return find_code(r->diag, st, sizeof st) == 4 ? 4 : 5;
}

static int verdict(struct mq_inbound *out, enum mq_class cls,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Sets the class and its reason (one line, valid UTF-8); returns 1. */
static int verdict(struct mq_inbound *out, enum mq_class cls,
    const char *fmt, ...)
{
	char tmp[sizeof out->reason];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	out->cls = cls;
	put(out->reason, sizeof out->reason, tmp[0] != '\0' ? tmp : "?");
	return 1;
}

/* The class of a report from its recipients: a permanent failure of
 * any of them makes it a hard bounce, else a temporary one a soft
 * bounce; what reports only deliveries matches nothing. */
static int decide(struct cx *c, const char *what, int none)
{
	struct mq_inbound *out = c->out;
	const struct mq_dsn_rcpt *r = NULL;
	int worst = -1, k;

	for (int i = 0; i < out->n_rcpts; i++)
		if ((k = rcpt_class(&out->rcpts[i])) > worst) {
			worst = k;
			r = &out->rcpts[i];
		}
	if (r == NULL && none == MQ_CLASS_UNMATCHED)
		return verdict(out, MQ_CLASS_UNMATCHED,
		    "%s: no recipient in it", what);
	if (r == NULL)
		return verdict(out, (enum mq_class)none, "%s: failed, no "
		    "recipient named", what);
	if (worst == 0)
		return verdict(out, MQ_CLASS_UNMATCHED, "%s: %s for %s", what,
		    r->action[0] != '\0' ? r->action : "no action", r->addr);
	return verdict(out, worst == 5 ? MQ_CLASS_HARD_BOUNCE :
	    MQ_CLASS_SOFT_BOUNCE, "%s: %s%s%s for %s%s", what, r->action,
	    r->status[0] != '\0' ? " " : "", r->status, r->addr,
	    out->n_rcpts > 1 ? " and others" : "");
}

/* qmail: "<addr>:" lines, each followed by the remote reply. */
static void qmail_rcpts(struct cx *c)
{
	const char *p = c->text;
	struct mq_dsn_rcpt *r = NULL;
	char line[LINE_MAX_];
	size_t n;

	while (next_line(&p, line, sizeof line)) {
		n = strlen(line);
		if (strncmp(line, "--- ", 4) == 0)
			break;
		if (n > 3 && line[0] == '<' && line[n - 2] == '>' &&
		    line[n - 1] == ':')
			r = new_rcpt(c->out, line, "failed");
		else if (line[0] == '\0')
			r = NULL;
		else if (r != NULL)
			reply_line(r, line);
	}
}

/* Exim: after "The following address(es) failed:", an address indented
 * by two, the details below it by four. */
static void exim_rcpts(struct cx *c)
{
	const char *p = c->text;
	struct mq_dsn_rcpt *r = NULL;
	char line[LINE_MAX_];
	int in = 0;

	while (next_line(&p, line, sizeof line)) {
		if (!in) {
			in = strstr(line, "address(es) failed:") != NULL ||
			    strstr(line, "addresses failed:") != NULL;
			continue;
		}
		if (line[0] == '\0')
			continue;
		if (line[0] != ' ' || strncmp(line, "------", 6) == 0)
			break;
		if (line[2] != ' ' && strchr(line, '@') != NULL &&
		    strchr(line + 2, ' ') == NULL)
			r = new_rcpt(c->out, line, "failed");
		else if (r != NULL)
			reply_line(r, line);
	}
}

static int from_system(struct cx *c)
{
	static const char *const names[] = { "mailer-daemon@", "postmaster@",
	    "mail-daemon@", "mailerdaemon@" };

	for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
		if (strncmp(c->out->from, names[i], strlen(names[i])) == 0)
			return 1;
	return 0;
}

/* Whether the (folded) Subject says that delivery failed. */
static int failed_subject(struct cx *c)
{
	static const char *const says[] = {
		"undelivered mail returned to sender", "mail delivery failed",
		"delivery status notification (failure)",
		"delivery status notification (delay)", "undeliverable",
		"returned mail", "failure notice", "delivery failure",
		"could not be delivered", "nicht zustellbar", "unzustellbar",
		"delivery has failed", "delivery delayed", "warning: message",
		"niedostarczon",
	};

	for (size_t i = 0; i < G_N_ELEMENTS(says); i++)
		if (strstr(c->fsubj, says[i]) != NULL)
			return 1;
	return 0;
}

/* A report without a report part, by its well-known shapes. */
static int text_bounce(struct cx *c)
{
	const char *shape = NULL;
	int delay = strstr(c->fsubj, "delay") != NULL;

	if (strstr(c->ftext, "this is the qmail-send program") != NULL) {
		shape = "qmail";
		qmail_rcpts(c);
	} else if (strstr(c->ftext, "this message was created automatically "
	    "by mail delivery software") != NULL && strstr(c->ftext,
	    "could not be delivered to one or more of its") != NULL) {
		shape = "exim";
		exim_rcpts(c);
	} else if (failed_subject(c) && (from_system(c) ||
	    header(c, "X-Failed-Recipients") != NULL)) {
		shape = "bounce";
	}
	if (shape == NULL)
		return 0;
	failed_rcpts(c, delay ? "delayed" : "failed");
	orig_id(c);
	return decide(c, shape, delay ? MQ_CLASS_SOFT_BOUNCE :
	    MQ_CLASS_HARD_BOUNCE);
}

/* A delivery status notification of RFC 3464 or RFC 6533. */
static int dsn(struct cx *c)
{
	if (c->p.status == NULL)
		return 0;
	read_status(c);
	failed_rcpts(c, "failed");
	orig_id(c);
	return decide(c, "report", MQ_CLASS_UNMATCHED);
}

/* --- automatic replies and their return dates ---------------------------- */

static const struct { const char *name; int m; } months[] = {
	{ "january", 1 }, { "february", 2 }, { "march", 3 }, { "april", 4 },
	{ "may", 5 }, { "june", 6 }, { "july", 7 }, { "august", 8 },
	{ "september", 9 }, { "october", 10 }, { "november", 11 },
	{ "december", 12 }, { "jan", 1 }, { "feb", 2 }, { "mar", 3 },
	{ "apr", 4 }, { "jun", 6 }, { "jul", 7 }, { "aug", 8 }, { "sep", 9 },
	{ "sept", 9 }, { "oct", 10 }, { "nov", 11 }, { "dec", 12 },
	{ "stycznia", 1 }, { "lutego", 2 }, { "marca", 3 }, { "kwietnia", 4 },
	{ "maja", 5 }, { "czerwca", 6 }, { "lipca", 7 }, { "sierpnia", 8 },
	{ "wrzesnia", 9 }, { "pazdziernika", 10 }, { "listopada", 11 },
	{ "grudnia", 12 }, { "januar", 1 }, { "februar", 2 }, { "marz", 3 },
	{ "mai", 5 }, { "juni", 6 }, { "juli", 7 }, { "oktober", 10 },
	{ "dezember", 12 },
};

/* A number of 1..max digits at s; its length, 0 if none. */
static size_t num(const char *s, size_t max, int *v)
{
	size_t n = 0;

	for (*v = 0; n < max && g_ascii_isdigit(s[n]); n++)
		*v = *v * 10 + (s[n] - '0');
	return n > 0 && !g_ascii_isdigit(s[n]) ? n : 0;
}

/* A month's name at s (a whole word, maybe with a "."); its length. */
static size_t month(const char *s, int *m)
{
	size_t n = 0;

	while (s[n] >= 'a' && s[n] <= 'z')
		n++;
	if (is_word_char(s + n))
		return 0;
	for (size_t i = 0; n > 0 && i < G_N_ELEMENTS(months); i++)
		if (strlen(months[i].name) == n &&
		    strncmp(s, months[i].name, n) == 0) {
			*m = months[i].m;
			return n + (s[n] == '.');
		}
	return 0;
}

/* "7th", "7.", "7": a day; its length. */
static size_t day(const char *s, int *d)
{
	size_t n = num(s, 2, d);

	if (n == 0)
		return 0;
	if (s[n] == '.')
		return n + 1;
	if (strncmp(s + n, "st", 2) == 0 || strncmp(s + n, "nd", 2) == 0 ||
	    strncmp(s + n, "rd", 2) == 0 || strncmp(s + n, "th", 2) == 0)
		return n + 2;
	return n;
}

/* A whole date with its year at s (folded text): 2026-12-07,
 * 7.12.2026, 7 December 2026, December 7, 2026. Its length, 0 if none. */
static size_t date_at(const char *s, int *y, int *m, int *d)
{
	const char *p;
	size_t n;

	if (num(s, 4, y) == 4 && s[4] == '-' && (n = num(s + 5, 2, m)) > 0 &&
	    s[5 + n] == '-') {
		p = s + 6 + n;
		return (n = num(p, 2, d)) > 0 ? (size_t)(p + n - s) : 0;
	}
	if ((n = num(s, 2, d)) > 0 && s[n] == '.') {
		p = s + n + 1;
		if ((n = num(p, 2, m)) > 0 && p[n] == '.' &&
		    num(p + n + 1, 4, y) == 4)
			return (size_t)(p + n + 5 - s);
	}
	if ((n = day(s, d)) > 0 && s[n] == ' ') {
		p = s + n + 1;
		if ((n = month(p, m)) > 0 && p[n] == ' ' &&
		    num(p + n + 1, 4, y) == 4)
			return (size_t)(p + n + 5 - s);
	}
	if ((n = month(s, m)) > 0 && s[n] == ' ') {
		p = s + n + 1;
		if ((n = day(p, d)) > 0) {
			p += n + (p[n] == ',');
			if (*p == ' ' && num(p + 1, 4, y) == 4)
				return (size_t)(p + 5 - s);
		}
	}
	return 0;
}

/* The words that may come between a keyword and its date. */
static int filler(const char *w)
{
	static const char *const f[] = { "on", "the", "in", "office", "at",
	    "work", "am", "dem", "den", "dnia", "w", "dniu", "im", "buro",
	    "biura", "biurze", "monday", "tuesday", "wednesday", "thursday",
	    "friday", "saturday", "sunday", "montag", "dienstag", "mittwoch",
	    "donnerstag", "freitag", "samstag", "sonntag", "poniedzialek",
	    "wtorek", "srode", "sroda", "czwartek", "piatek", "sobote",
	    "niedziele", "and", "including", "einschliesslich", "wlacznie" };

	for (size_t i = 0; i < G_N_ELEMENTS(f); i++)
		if (strcmp(w, f[i]) == 0)
			return 1;
	return 0;
}

/* Whether the words before a date (ls up to p: its line and the one
 * before, folded) end in a keyword saying the sender is back then,
 * fillers aside; "ab" counts only with "wieder" after the date, at
 * after. */
static int says_back(const char *ls, const char *p, const char *after)
{
	static const char *const kw[] = { "back", "return", "returning",
	    "until", "till", "do", "wracam", "powrot", "powrotu", "bis",
	    "zuruck", "wieder", "ab" };
	char buf[96], tail[48], *w[16], *save = NULL, *t;
	int n = 0;

	if (p - ls > (ptrdiff_t)sizeof buf - 1)
		ls = p - (sizeof buf - 1);
	snprintf(buf, sizeof buf, "%.*s", (int)(p - ls), ls);
	g_strdelimit(buf, "\n", ' ');
	for (t = strtok_r(buf, " ", &save); t != NULL;
	    t = strtok_r(NULL, " ", &save)) {
		t[strcspn(t, ",;:")] = '\0';
		if (n == (int)G_N_ELEMENTS(w)) {   /* keep the last ones */
			memmove(w, w + 1, sizeof w - sizeof *w);
			n--;
		}
		w[n++] = t;
	}
	snprintf(tail, sizeof tail, "%.*s", (int)strcspn(after, "\n"), after);
	for (int i = n - 1; i >= 0 && i >= n - 5; i--) {
		for (size_t k = 0; k < G_N_ELEMENTS(kw); k++)
			if (strcmp(w[i], kw[k]) == 0)
				return strcmp(w[i], "ab") != 0 ||
				    has_word(tail, "wieder");
		if (!filler(w[i]))
			return 0;
	}
	return 0;
}

/* back_on from the Subject and the first lines (see the opening comment). */
static time_t back_on(struct cx *c)
{
	char *s = g_strconcat(c->fsubj, "\n", c->ftext, NULL);
	const char *ls = s, *prev = s, *p;
	time_t lo = 0, hi = 0, t;
	struct tm tm;
	int y, m, d;
	size_t n;

	cut(s, 4096);
	for (p = s; *p != '\0'; p++) {
		if (*p == '\n') {
			prev = ls;
			ls = p + 1;
		}
		if ((p > s && is_word_char(g_utf8_find_prev_char(s, p))) ||
		    (n = date_at(p, &y, &m, &d)) == 0)
			continue;
		memset(&tm, 0, sizeof tm);
		tm.tm_year = y - 1900;
		tm.tm_mon = m - 1;
		tm.tm_mday = d;
		if (y >= 2000 && y <= 2100 && m >= 1 && m <= 12 && d >= 1 &&
		    (t = timegm(&tm)) != (time_t)-1 && tm.tm_mday == d &&
		    says_back(prev, p, p + n)) {
			lo = lo == 0 || t < lo ? t : lo;
			hi = t > hi ? t : hi;
		}
		p += n - 1;
	}
	g_free(s);
	if (hi == 0 || hi - lo > 3 * 86400 || (c->out->date != 0 &&
	    (hi < c->out->date - 86400 || hi > c->out->date + 400 * 86400)))
		return 0;
	return hi;
}

/* Precedence: auto_reply, bulk or junk. */
static int precedence(const char *v)
{
	char *f = fold(v);
	int hit;

	g_strstrip(f);
	hit = strcmp(f, "auto_reply") == 0 || strcmp(f, "bulk") == 0 ||
	    strcmp(f, "junk") == 0;
	g_free(f);
	return hit;
}

/* RFC 3834 and the usual markers, a read receipt, then the Subject. */
static int auto_reply(struct cx *c)
{
	static const char *const marks[] = { "X-Autoreply", "X-Autorespond",
	    "X-MS-Exchange-Generated-Message-Source",
	    "X-MS-Exchange-Inbox-Rules-Loop" };
	static const char *const subj[] = { "automatyczna odpowiedz",
	    "odpowiedz automatyczna", "autoodpowiedz", "nieobecnosc",
	    "out of office", "automatic reply", "auto-reply", "autoreply",
	    "auto reply", "abwesenheitsnotiz", "automatische antwort",
	    "abwesend" };
	const char *v;
	int hit = 0;

	if ((v = header(c, "Auto-Submitted")) != NULL &&
	    g_ascii_strncasecmp(v + strspn(v, " \t"), "no", 2) != 0)
		hit = verdict(c->out, MQ_CLASS_AUTO_REPLY, "Auto-Submitted: "
		    "%.60s", v);
	for (size_t i = 0; !hit && i < G_N_ELEMENTS(marks); i++)
		if ((v = header(c, marks[i])) != NULL)
			hit = verdict(c->out, MQ_CLASS_AUTO_REPLY, "%s: %.60s",
			    marks[i], v);
	if (!hit && (v = header(c, "X-Autogenerated")) != NULL &&
	    g_ascii_strncasecmp(v + strspn(v, " \t"), "reply", 5) == 0)
		hit = verdict(c->out, MQ_CLASS_AUTO_REPLY, "X-Autogenerated: "
		    "%.60s", v);
	if (!hit && (v = header(c, "Precedence")) != NULL &&
	    precedence(v))
		hit = verdict(c->out, MQ_CLASS_AUTO_REPLY, "Precedence: %.60s",
		    v);
	if (!hit && c->p.mdn)
		hit = verdict(c->out, MQ_CLASS_AUTO_REPLY, "a read receipt "
		    "(report-type=disposition-notification)");
	for (size_t i = 0; !hit && i < G_N_ELEMENTS(subj); i++)
		if (starts_word(c->fsubj, subj[i]))
			hit = verdict(c->out, MQ_CLASS_AUTO_REPLY, "Subject "
			    "starts with \"%s\"", subj[i]);
	if (hit)
		c->out->back_on = back_on(c);
	return hit;
}

/* --- requests to be removed ---------------------------------------------- */

static const char *const lexicon[] = {
	"unsubscribe", "remove me", "take me off", "opt out", "opt-out",
	"stop emailing", "stop sending", "do not contact", "don't contact me",
	"remove us", "take us off", "remove my address",
	"wypisz mnie", "wypisz", "wypiszcie", "wypisac", "wypisanie",
	"usun mnie", "usuncie mnie", "usunac mnie", "usuniecie z listy",
	"prosze usunac", "nie chce otrzymywac", "rezygnuje", "nie kontaktuj",
	"nie piszcie", "nie przysylac", "abmelden", "austragen",
	"keine weiteren e-mails", "keine weiteren emails",
};

static int in_list(const char *addr, const char *const *list, int n)
{
	for (int i = 0; addr != NULL && list != NULL && i < n; i++)
		if (list[i] != NULL && g_ascii_strcasecmp(addr, list[i]) == 0)
			return 1;
	return 0;
}

/* The first address of l (groups looked into) that is one of ours. */
static const char *list_hit(InternetAddressList *l, const char *const *our,
    int n, int depth)
{
	const char *hit = NULL;

	for (int i = 0; l != NULL && hit == NULL &&
	    i < internet_address_list_length(l) && i < 100; i++) {
		InternetAddress *ia = internet_address_list_get_address(l, i);

		if (INTERNET_ADDRESS_IS_GROUP(ia) && depth < 2)
			hit = list_hit(internet_address_group_get_members(
			    INTERNET_ADDRESS_GROUP(ia)), our, n, depth + 1);
		else if (INTERNET_ADDRESS_IS_MAILBOX(ia) && in_list(
		    internet_address_mailbox_get_addr(
		    INTERNET_ADDRESS_MAILBOX(ia)), our, n))
			hit = internet_address_mailbox_get_addr(
			    INTERNET_ADDRESS_MAILBOX(ia));
	}
	return hit;
}

/* To, Cc or a Delivered-To naming one of our unsubscribe addresses. */
static int to_unsub(struct cx *c)
{
	const struct mq_classify_ctx *x = c->ctx;
	GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(c->msg));
	const char *hit;
	int found = 0;

	if ((hit = list_hit(g_mime_message_get_to(c->msg), x->unsub,
	    x->n_unsub, 0)) != NULL ||
	    (hit = list_hit(g_mime_message_get_cc(c->msg), x->unsub,
	    x->n_unsub, 0)) != NULL)
		return verdict(c->out, MQ_CLASS_UNSUBSCRIBE, "to %s", hit);
	for (int i = 0; !found && i < g_mime_header_list_get_count(hl); i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		InternetAddressList *l;

		if (g_ascii_strcasecmp(g_mime_header_get_name(h),
		    "Delivered-To") != 0 || (l = internet_address_list_parse(
		    NULL, g_mime_header_get_value(h))) == NULL)
			continue;
		if ((hit = list_hit(l, x->unsub, x->n_unsub, 0)) != NULL)
			found = verdict(c->out, MQ_CLASS_UNSUBSCRIBE,
			    "Delivered-To %s", hit);
		g_object_unref(l);
	}
	return found;
}

/* Where the words of the sender end: a quote's header, a signature. */
static int stop_line(const char *l)
{
	static const char *const starts[] = { "-- ", "-----", "_____",
	    "from:", "od:", "von:", "sent from my", "wyslane z" };
	static const char *const ends[] = { "wrote:", "napisal:",
	    "napisala:", "napisal(a):", "pisze:", "schrieb:" };
	size_t n = strlen(l);

	if (strcmp(l, "--") == 0)
		return 1;
	for (size_t i = 0; i < G_N_ELEMENTS(starts); i++)
		if (strncmp(l, starts[i], strlen(starts[i])) == 0)
			return 1;
	for (size_t i = 0; i < G_N_ELEMENTS(ends); i++)
		if (n >= strlen(ends[i]) &&
		    strcmp(l + n - strlen(ends[i]), ends[i]) == 0)
			return 1;
	return 0;
}

/* A word of the lexicon in the Subject or the first lines. */
static int asks_removal(struct cx *c)
{
	const char *p = c->ftext;
	char line[LINE_MAX_];
	int lines = 0;

	for (size_t i = 0; i < G_N_ELEMENTS(lexicon); i++)
		if (has_word(c->fsubj, lexicon[i]))
			return verdict(c->out, MQ_CLASS_UNSUBSCRIBE, "Subject "
			    "asks to be removed: \"%s\"", lexicon[i]);
	while (lines < FIRST_LINES && next_line(&p, line, sizeof line)) {
		g_strstrip(line);
		if (line[0] == '\0' || line[0] == '>')
			continue;
		if (stop_line(line))
			break;
		lines++;
		for (size_t i = 0; i < G_N_ELEMENTS(lexicon); i++)
			if (has_word(line, lexicon[i]))
				return verdict(c->out, MQ_CLASS_UNSUBSCRIBE,
				    "asks to be removed in line %d: \"%s\"",
				    lines, lexicon[i]);
	}
	return 0;
}

/* --- the order ------------------------------------------------------------ */

static void classify(struct cx *c)
{
	const struct mq_classify_ctx *x = c->ctx;
	struct mq_inbound *out = c->out;

	if (g_mime_header_list_get_count(g_mime_object_get_header_list(
	    GMIME_OBJECT(c->msg))) == 0) {
		verdict(out, MQ_CLASS_UNMATCHED, "no header fields");
		return;
	}
	if (out->from[0] != '\0' && in_list(out->from, x->own, x->n_own)) {
		verdict(out, MQ_CLASS_OWN, "from our mailbox %s", out->from);
		return;
	}
	if (dsn(c) || text_bounce(c))
		return;
	if (out->from[0] == '\0') {
		verdict(out, MQ_CLASS_UNMATCHED, "no From address");
		return;
	}
	if (from_system(c)) {
		verdict(out, MQ_CLASS_UNMATCHED, "from a mail system, not a "
		    "report");
		return;
	}
	if (auto_reply(c) || to_unsub(c) || asks_removal(c))
		return;
	if (out->n_ids > 0)
		verdict(out, MQ_CLASS_REPLY, "a person wrote, in a thread of %d "
		    "message(s), latest %s", out->n_ids, out->ids[0]);
	else
		verdict(out, MQ_CLASS_REPLY, "a person wrote, no thread headers");
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init(void)
{
	g_mime_init();
}

int mq_classify(const struct mq_classify_ctx *ctx, const char *raw,
    size_t len, struct mq_inbound *out, struct mq_err *err)
{
	static const struct mq_classify_ctx none = { NULL, 0, NULL, 0 };
	struct cx c;

	(void)err;
	memset(out, 0, sizeof *out);
	memset(&c, 0, sizeof c);
	c.ctx = ctx != NULL ? ctx : &none;
	c.out = out;
	if (raw == NULL || len == 0) {
		verdict(out, MQ_CLASS_UNMATCHED, "empty input");
		return MQ_OK;
	}
	pthread_once(&once, init);
	if ((c.msg = parse(raw, len)) == NULL) {
		verdict(out, MQ_CLASS_UNMATCHED, "not a message GMime can parse");
		goto out;
	}
	drop_test_headers(c.msg);
	walk(g_mime_message_get_mime_part(c.msg), 0, &c.p);
	common(&c);
	read_text(&c);
	classify(&c);
out:
	if (c.msg != NULL)
		g_object_unref(c.msg);
	g_free(c.text);
	g_free(c.ftext);
	g_free(c.fsubj);
	return MQ_OK;
}
