/*
 * Delivery status notifications: see dsn.h. A report part is a sequence
 * of header blocks; each block is handed to GMime's parser as a header
 * of its own, and the per-recipient ones (Final-Recipient, else
 * Original-Recipient; Action, Status, Diagnostic-Code) give the
 * recipients. A status code is read only where it stands alone, so that
 * an IP address, a date or a queue id is never taken for one.
 */
#include <stdio.h>
#include <string.h>

#include "dsn.h"
#include "field.h"
#include "fold.h"

#define LINE_CAP 1024

size_t mq_dsn_enhanced_at(const char *base, const char *s)
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

int mq_dsn_find_code(const char *s, char *status, size_t cap)
{
	int basic = 0;
	size_t n;

	if (cap > 0)
		status[0] = '\0';
	for (const char *p = s; *p != '\0'; p++) {
		if ((n = mq_dsn_enhanced_at(s, p)) > 0) {
			snprintf(status, cap, "%.*s", (int)n, p);
			return *p - '0';
		}
		if (basic == 0 && basic_at(s, p))
			basic = *p - '0';
	}
	return basic;
}

/* The length of an escape "\x{HEX}" at s with its character in *u; 0 if
 * there is none. */
static size_t escape_at(const char *s, gunichar *u)
{
	gunichar v = 0;
	size_t n;

	if (strncmp(s, "\\x{", 3) != 0)
		return 0;
	for (n = 0; n < 6 && g_ascii_isxdigit(s[3 + n]); n++)
		v = v * 16 + (gunichar)g_ascii_xdigit_value(s[3 + n]);
	if (n < 2 || s[3 + n] != '}' || v == 0 || !g_unichar_validate(v))
		return 0;
	*u = v;
	return n + 4;
}

void mq_dsn_utf8_addr(char *dst, size_t cap, const char *s)
{
	size_t i = 0, n, k;
	char ch[8];
	gunichar u;

	while (*s != '\0') {
		if ((n = escape_at(s, &u)) > 0) {
			k = (size_t)g_unichar_to_utf8(u, ch);
		} else {
			ch[0] = *s;
			k = n = 1;
		}
		if (i + k >= cap)
			break;
		memcpy(dst + i, ch, k);
		i += k;
		s += n;
	}
	dst[i] = '\0';
}

struct mq_dsn_rcpt *mq_dsn_new_rcpt(struct mq_inbound *out, const char *s,
    const char *action)
{
	struct mq_dsn_rcpt *r;

	if (out->n_rcpts >= MQ_CLASSIFY_RCPTS)
		return NULL;
	r = &out->rcpts[out->n_rcpts];
	mq_field_addr(r->addr, sizeof r->addr, s);
	if (strchr(r->addr, '@') == NULL) {
		memset(r, 0, sizeof *r);
		return NULL;
	}
	mq_field_put(r->action, sizeof r->action, action);
	out->n_rcpts++;
	return r;
}

void mq_dsn_reply_line(struct mq_dsn_rcpt *r, const char *line)
{
	char st[sizeof r->status];

	if (r->diag[0] != '\0' || mq_dsn_find_code(line, st, sizeof st) == 0)
		return;
	mq_field_put(r->status, sizeof r->status, st);
	mq_field_put(r->diag, sizeof r->diag, line + strspn(line, " \t"));
}

/* A recipient field of address type utf-8 has its escapes decoded. */
static void utf8_rcpt(struct mq_dsn_rcpt *r, const char *field)
{
	char dec[sizeof r->addr];

	field += strspn(field, " \t");
	if (g_ascii_strncasecmp(field, "utf-8", 5) != 0 ||
	    field[5 + strspn(field + 5, " \t")] != ';')
		return;
	mq_dsn_utf8_addr(dec, sizeof dec, r->addr);
	mq_field_put(r->addr, sizeof r->addr, dec);
	mq_field_lower(r->addr);
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
	mq_field_lower(action);
	if ((r = mq_dsn_new_rcpt(out, fr, action)) == NULL)
		return;
	utf8_rcpt(r, fr);
	st = st != NULL ? st + strspn(st, " \t") : "";
	if ((n = mq_dsn_enhanced_at(st, st)) > 0 && n < sizeof r->status)
		snprintf(r->status, sizeof r->status, "%.*s", (int)n, st);
	mq_field_put(r->diag, sizeof r->diag, dg);
}

/* The delivery-status part's blocks, each parsed by GMime as a header. */
static void read_status(GMimeObject *part, struct mq_inbound *out)
{
	char *body = mq_inmsg_part_bytes(part);
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
		if ((b = mq_inmsg_parse(block->str, block->len)) != NULL) {
			status_block(out, b);
			g_object_unref(b);
		}
		g_string_free(block, TRUE);
		p = end;
	}
	g_free(body);
}

/* The Message-ID of the returned message's part or headers part. */
static void returned_id(const struct mq_inmsg *m, struct mq_inbound *out)
{
	GMimeMessage *r = NULL;
	const char *id = NULL;
	char *b;

	if (m->p.returned != NULL && (r = g_mime_message_part_get_message(
	    GMIME_MESSAGE_PART(m->p.returned))) != NULL)
		id = g_mime_message_get_message_id(r);
	r = NULL;
	if (id == NULL && m->p.ret_headers != NULL) {
		b = mq_inmsg_part_bytes(m->p.ret_headers);
		if ((r = mq_inmsg_parse(b, strlen(b))) != NULL)
			id = g_mime_message_get_message_id(r);
		g_free(b);
	}
	mq_field_put(out->orig_message_id, MQ_ID_MAX, id);
	if (r != NULL)
		g_object_unref(r);
}

/* A report's own In-Reply-To, when it names one message. */
static void replied_id(const struct mq_inmsg *m, struct mq_inbound *out)
{
	const char *v = mq_inmsg_header(m, "In-Reply-To");
	GMimeReferences *r;

	if (v == NULL || (r = g_mime_references_parse(NULL, v)) == NULL)
		return;
	if (g_mime_references_length(r) == 1)
		mq_field_put(out->orig_message_id, MQ_ID_MAX,
		    g_mime_references_get_message_id(r, 0));
	g_mime_references_free(r);
}

void mq_dsn_orig_id(const struct mq_inmsg *m, struct mq_inbound *out)
{
	const char *p = m->text;
	char line[LINE_CAP], *dec, *l;

	returned_id(m, out);
	while (out->orig_message_id[0] == '\0' &&
	    mq_fold_next_line(&p, line, sizeof line)) {
		l = line + strspn(line, " \t>");
		if (g_ascii_strncasecmp(l, "Message-ID:", 11) != 0)
			continue;
		dec = g_mime_utils_decode_message_id(l + 11);
		mq_field_put(out->orig_message_id, MQ_ID_MAX, dec);
		g_free(dec);
	}
	if (out->orig_message_id[0] == '\0')
		replied_id(m, out);
}

void mq_dsn_failed_rcpts(const struct mq_inmsg *m, struct mq_inbound *out,
    const char *action)
{
	const char *v = mq_inmsg_header(m, "X-Failed-Recipients"), *p;
	InternetAddressList *l;
	struct mq_dsn_rcpt *r;
	char line[LINE_CAP];

	if (v == NULL || out->n_rcpts > 0 ||
	    (l = internet_address_list_parse(NULL, v)) == NULL)
		return;
	for (int i = 0; i < internet_address_list_length(l); i++) {
		InternetAddress *ia = internet_address_list_get_address(l, i);

		if (!INTERNET_ADDRESS_IS_MAILBOX(ia) || (r = mq_dsn_new_rcpt(
		    out, internet_address_mailbox_get_addr(
		    INTERNET_ADDRESS_MAILBOX(ia)), action)) == NULL)
			continue;
		for (p = m->text; r->diag[0] == '\0' &&
		    mq_fold_next_line(&p, line, sizeof line);)
			mq_dsn_reply_line(r, line);
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
	return mq_dsn_find_code(r->diag, st, sizeof st) == 4 ? 4 : 5;
}

int mq_dsn_decide(struct mq_inbound *out, const char *what,
    enum mq_class none)
{
	const struct mq_dsn_rcpt *r = NULL;
	int worst = -1, k;

	for (int i = 0; i < out->n_rcpts; i++)
		if ((k = rcpt_class(&out->rcpts[i])) > worst) {
			worst = k;
			r = &out->rcpts[i];
		}
	if (r == NULL && none == MQ_CLASS_UNMATCHED)
		return mq_field_verdict(out, MQ_CLASS_UNMATCHED,
		    "%s: no recipient in it", what);
	if (r == NULL)
		return mq_field_verdict(out, none, "%s: failed, no recipient "
		    "named", what);
	if (worst == 0)
		return mq_field_verdict(out, MQ_CLASS_UNMATCHED, "%s: %s for %s",
		    what, r->action[0] != '\0' ? r->action : "no action",
		    r->addr);
	return mq_field_verdict(out, worst == 5 ? MQ_CLASS_HARD_BOUNCE :
	    MQ_CLASS_SOFT_BOUNCE, "%s: %s%s%s for %s%s", what, r->action,
	    r->status[0] != '\0' ? " " : "", r->status, r->addr,
	    out->n_rcpts > 1 ? " and others" : "");
}

int mq_dsn_report(const struct mq_inmsg *m, struct mq_inbound *out)
{
	if (m->p.status == NULL)
		return 0;
	read_status(m->p.status, out);
	mq_dsn_failed_rcpts(m, out, "failed");
	mq_dsn_orig_id(m, out);
	return mq_dsn_decide(out, "report", MQ_CLASS_UNMATCHED);
}
