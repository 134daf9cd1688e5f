/*
 * Inbound mail: see classify.h. This file holds the order of the rules;
 * each rule is a module of its own and the first that holds gives the
 * class and its reason:
 *   own           From is one of our mailboxes (addrlist.h)
 *   report        a delivery status notification with a report part
 *                 (dsn.h), else one of the shapes without one
 *                 (textbounce.h)
 *   unmatched     no From, or from a mail system and no report
 *   auto-reply    RFC 3834 and the usual markers (autoreply.h)
 *   unsubscribe   to an unsubscribe address, or asked for in the
 *                 Subject or the first lines (removal.h)
 *   reply         a person wrote
 * The message is read once (inmsg.h) before any rule runs; this file
 * also fills in what every message says of itself (Message-ID, From,
 * Subject, Date, the thread), which the rules and the store both use.
 */
#include <string.h>

#include "addrlist.h"
#include "autoreply.h"
#include "classify.h"
#include "dsn.h"
#include "field.h"
#include "inmsg.h"
#include "removal.h"
#include "textbounce.h"

static void add_id(struct mq_inbound *out, const char *id)
{
	if (id == NULL || *id == '\0' || out->n_ids >= MQ_CLASSIFY_IDS)
		return;
	for (int i = 0; i < out->n_ids; i++)
		if (strncmp(out->ids[i], id, MQ_ID_MAX - 1) == 0)
			return;
	mq_field_put(out->ids[out->n_ids++], MQ_ID_MAX, id);
}

/* The Message-IDs of header field name, in order or newest first. */
static void add_ids(const struct mq_inmsg *m, const char *name,
    int newest_first, struct mq_inbound *out)
{
	const char *v = mq_inmsg_header(m, name);
	GMimeReferences *r;
	int n;

	if (v == NULL || (r = g_mime_references_parse(NULL, v)) == NULL)
		return;
	n = g_mime_references_length(r);
	for (int i = 0; i < n; i++)
		add_id(out, g_mime_references_get_message_id(r,
		    newest_first ? n - 1 - i : i));
	g_mime_references_free(r);
}

/* What every message says of itself; the thread is In-Reply-To first,
 * then References from the newest back. */
static void common(const struct mq_inmsg *m, struct mq_inbound *out)
{
	GDateTime *d = g_mime_message_get_date(m->msg);

	mq_field_put(out->message_id, sizeof out->message_id,
	    g_mime_message_get_message_id(m->msg));
	mq_field_put(out->from, sizeof out->from,
	    mq_addrlist_first(g_mime_message_get_from(m->msg)));
	mq_field_lower(out->from);
	mq_field_put(out->subject, sizeof out->subject,
	    g_mime_message_get_subject(m->msg));
	if (d != NULL)
		out->date = (time_t)g_date_time_to_unix(d);
	add_ids(m, "In-Reply-To", 0, out);
	add_ids(m, "References", 1, out);
}

static void classify(const struct mq_classify_ctx *x,
    const struct mq_inmsg *m, struct mq_inbound *out)
{
	if (g_mime_header_list_get_count(g_mime_object_get_header_list(
	    GMIME_OBJECT(m->msg))) == 0) {
		mq_field_verdict(out, MQ_CLASS_UNMATCHED, "no header fields");
		return;
	}
	if (out->from[0] != '\0' &&
	    mq_addrlist_has(out->from, x->own, x->n_own)) {
		mq_field_verdict(out, MQ_CLASS_OWN, "from our mailbox %s",
		    out->from);
		return;
	}
	if (mq_dsn_report(m, out) || mq_textbounce(m, out))
		return;
	if (out->from[0] == '\0') {
		mq_field_verdict(out, MQ_CLASS_UNMATCHED, "no From address");
		return;
	}
	if (mq_addrlist_system(out->from)) {
		mq_field_verdict(out, MQ_CLASS_UNMATCHED, "from a mail system, "
		    "not a report");
		return;
	}
	if (mq_autoreply(m, out) ||
	    mq_removal_to_unsub(m, x->unsub, x->n_unsub, out) ||
	    mq_removal_asks(m->fsubj, m->ftext, out))
		return;
	if (out->n_ids > 0)
		mq_field_verdict(out, MQ_CLASS_REPLY, "a person wrote, in a "
		    "thread of %d message(s), latest %s", out->n_ids,
		    out->ids[0]);
	else
		mq_field_verdict(out, MQ_CLASS_REPLY, "a person wrote, no "
		    "thread headers");
}

int mq_classify(const struct mq_classify_ctx *ctx, const char *raw,
    size_t len, struct mq_inbound *out, struct mq_err *err)
{
	static const struct mq_classify_ctx none = { NULL, 0, NULL, 0 };
	struct mq_inmsg m;

	(void)err;
	memset(out, 0, sizeof *out);
	if (raw == NULL || len == 0) {
		mq_field_verdict(out, MQ_CLASS_UNMATCHED, "empty input");
		return MQ_OK;
	}
	if (mq_inmsg_read(&m, raw, len) != 0) {
		mq_field_verdict(out, MQ_CLASS_UNMATCHED, "not a message GMime "
		    "can parse");
		goto out;
	}
	common(&m, out);
	classify(ctx != NULL ? ctx : &none, &m, out);
out:
	mq_inmsg_free(&m);
	return MQ_OK;
}
