/*
 * Fuzz target: inbound classification (lib/classify.c and the modules of
 * its rules). The input is a whole message, any bytes. The properties:
 * every input gets exactly one class in range and a reason that is
 * neither empty nor unterminated; every string of the result ends within
 * its buffer; the counts are within their arrays; a bounce's recipients
 * are addresses (non-empty, with an "@"); only an automatic reply has a
 * return date, at midnight UTC; and the same bytes classify the same way
 * twice, to the byte.
 */
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "fuzz.h"

static const char *const own[] = { "anna@example.com", "sales@example.com" };
static const char *const unsub[] = { "unsubscribe@example.com" };
static const struct mq_classify_ctx ctx = { own, 2, unsub, 1 };

static void terminated(const char *s, size_t cap, const char *what)
{
	if (memchr(s, '\0', cap) == NULL)
		fz_fail("%s is not NUL-terminated in its buffer", what);
}

static void check(const struct mq_inbound *in)
{
	if ((unsigned)in->cls >= MQ_CLASS_COUNT)
		fz_fail("class %d out of range", (int)in->cls);
	terminated(in->reason, sizeof in->reason, "reason");
	if (in->reason[0] == '\0')
		fz_fail("an empty reason for %s", mq_class_name(in->cls));
	terminated(in->message_id, sizeof in->message_id, "message_id");
	terminated(in->from, sizeof in->from, "from");
	terminated(in->subject, sizeof in->subject, "subject");
	terminated(in->orig_message_id, MQ_ID_MAX, "orig_message_id");
	if (in->n_ids < 0 || in->n_ids > MQ_CLASSIFY_IDS ||
	    in->n_rcpts < 0 || in->n_rcpts > MQ_CLASSIFY_RCPTS)
		fz_fail("n_ids %d, n_rcpts %d", in->n_ids, in->n_rcpts);
	for (int i = 0; i < in->n_ids; i++) {
		terminated(in->ids[i], MQ_ID_MAX, "an id");
		if (in->ids[i][0] == '\0')
			fz_fail("an empty thread id");
	}
	for (int i = 0; i < in->n_rcpts; i++) {
		const struct mq_dsn_rcpt *r = &in->rcpts[i];

		terminated(r->addr, sizeof r->addr, "rcpt addr");
		terminated(r->action, sizeof r->action, "rcpt action");
		terminated(r->status, sizeof r->status, "rcpt status");
		terminated(r->diag, sizeof r->diag, "rcpt diag");
		if ((in->cls == MQ_CLASS_HARD_BOUNCE ||
		    in->cls == MQ_CLASS_SOFT_BOUNCE) &&
		    strchr(r->addr, '@') == NULL)
			fz_fail("a bounce's recipient '%s' is no address",
			    r->addr);
	}
	if (in->back_on != 0 && (in->cls != MQ_CLASS_AUTO_REPLY ||
	    in->back_on % 86400 != 0))
		fz_fail("back_on %lld for %s", (long long)in->back_on,
		    mq_class_name(in->cls));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mq_inbound a, b;
	struct mq_err err;

	if (size > 1 << 20)
		return 0;
	memset(&a, 0xa5, sizeof a);     /* every byte is written */
	memset(&b, 0, sizeof b);
	if (mq_classify(&ctx, (const char *)data, size, &a, &err) != MQ_OK)
		fz_fail("mq_classify failed: %s", err.msg);
	check(&a);
	if (mq_classify(&ctx, (const char *)data, size, &b, &err) != MQ_OK)
		fz_fail("mq_classify failed the second time: %s", err.msg);
	if (memcmp(&a, &b, sizeof a) != 0)
		fz_fail("classified twice, two results (%s, %s)",
		    mq_class_name(a.cls), mq_class_name(b.cls));
	return 0;
}
