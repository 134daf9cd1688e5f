/*
 * The message read once: see inmsg.h. GMime does the reading — MIME
 * structure, transfer encodings, charsets, RFC 2047 words, addresses,
 * Message-IDs; this file finds the parts the rules ask about and turns
 * the text they read into UTF-8, so that no rule touches a raw byte.
 */
#include <pthread.h>
#include <string.h>

#include "fold.h"
#include "htmltext.h"
#include "inmsg.h"

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

static void report_type(GMimeObject *o, struct mq_inmsg_parts *p)
{
	const char *rt = g_mime_object_get_content_type_parameter(o,
	    "report-type");

	if (!is_type(o, "multipart", "report") || rt == NULL)
		return;
	p->report |= g_ascii_strcasecmp(rt, "delivery-status") == 0;
	p->mdn |= g_ascii_strcasecmp(rt, "disposition-notification") == 0;
}

static void walk(GMimeObject *o, int depth, struct mq_inmsg_parts *p)
{
	if (o == NULL || depth > MQ_INMSG_DEPTH || ++p->n > MQ_INMSG_PARTS)
		return;
	if (GMIME_IS_MULTIPART(o)) {
		report_type(o, p);
		for (int i = 0; i < g_mime_multipart_get_count(
		    GMIME_MULTIPART(o)) && p->n <= MQ_INMSG_PARTS; i++)
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

char *mq_inmsg_part_bytes(GMimeObject *o)
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
	n = a->len < MQ_INMSG_TEXT ? a->len : MQ_INMSG_TEXT;
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

GMimeMessage *mq_inmsg_parse(const char *bytes, size_t len)
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

const char *mq_inmsg_header(const struct mq_inmsg *m, const char *name)
{
	return g_mime_object_get_header(GMIME_OBJECT(m->msg), name);
}

/* Test expectations are no part of the message (see inmsg.h). */
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

/* The message's text as UTF-8 (see struct mq_inmsg), and folded. */
static void read_text(struct mq_inmsg *m)
{
	GMimeObject *o = m->p.plain != NULL ? m->p.plain : m->p.html;
	char *t = o != NULL ? g_mime_text_part_get_text(GMIME_TEXT_PART(o)) :
	    NULL;

	if (t != NULL && o == m->p.html) {
		char *h = mq_htmltext(t, MQ_INMSG_TEXT);

		g_free(t);
		t = h;
	}
	m->text = g_utf8_make_valid(t != NULL ? mq_fold_cut(t, MQ_INMSG_TEXT) :
	    "", -1);
	g_free(t);
	m->ftext = mq_fold(m->text);
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init(void)
{
	g_mime_init();
}

int mq_inmsg_read(struct mq_inmsg *m, const char *raw, size_t len)
{
	const char *s;

	memset(m, 0, sizeof *m);
	pthread_once(&once, init);
	if ((m->msg = mq_inmsg_parse(raw, len)) == NULL)
		return -1;
	drop_test_headers(m->msg);
	walk(g_mime_message_get_mime_part(m->msg), 0, &m->p);
	s = g_mime_message_get_subject(m->msg);
	m->fsubj = g_strstrip(mq_fold(s != NULL ? s : ""));
	read_text(m);
	return 0;
}

void mq_inmsg_free(struct mq_inmsg *m)
{
	if (m->msg != NULL)
		g_object_unref(m->msg);
	g_free(m->text);
	g_free(m->ftext);
	g_free(m->fsubj);
	memset(m, 0, sizeof *m);
}
