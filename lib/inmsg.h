/*
 * An inbound message as the classifier's rules read it, parsed once with
 * GMime: the message itself, the parts the rules look for (found by one
 * walk), its text as UTF-8 and the folded forms of that text and of its
 * Subject (fold.h). Header fields whose name starts with X-Mailq-Test-
 * are removed first: the test corpus (tests/inbound/) states what it
 * expects in them, and the rules must not see the answers.
 *
 * Bounds: parts are walked to a depth of MQ_INMSG_DEPTH and at most
 * MQ_INMSG_PARTS of them (GMime bounds its own parser's nesting); at most
 * MQ_INMSG_TEXT bytes of a text are read. Internal to the classifier.
 */
#ifndef MQ_INMSG_H
#define MQ_INMSG_H

#include <stddef.h>

#include <gmime/gmime.h>

#define MQ_INMSG_DEPTH 8
#define MQ_INMSG_PARTS 200
#define MQ_INMSG_TEXT  65536

/* What one walk over the parts finds: the first of each kind. The parts
 * belong to the message. */
struct mq_inmsg_parts {
	GMimeObject *status;      /* message/(global-)delivery-status */
	GMimeObject *returned;    /* message/rfc822 or message/global */
	GMimeObject *ret_headers; /* text/rfc822-headers and the like */
	GMimeObject *plain, *html;   /* not attachments */
	int          report;      /* report-type=delivery-status */
	int          mdn;         /* report-type=disposition-notification */
	int          n;           /* parts seen */
};

struct mq_inmsg {
	GMimeMessage         *msg;
	struct mq_inmsg_parts p;
	char                 *text;   /* text/plain, else the HTML's text
	                                 (htmltext.h); valid UTF-8, at most
	                                 MQ_INMSG_TEXT bytes, "" if none */
	char                 *ftext;  /* text, folded */
	char                 *fsubj;  /* the decoded Subject, folded, without
	                                 blanks around it */
};

/* Parses the len bytes at raw into *m, which it zeroes first; GMime is
 * initialised on the first call in the process (not safe from two
 * threads at once). 0, or -1 when GMime makes no message of the bytes;
 * either way m holds what mq_inmsg_free frees. */
int mq_inmsg_read(struct mq_inmsg *m, const char *raw, size_t len);

/* Frees what m holds; m may be zeroed or half read. */
void mq_inmsg_free(struct mq_inmsg *m);

/* The value of the message's first header field called name, or NULL.
 * It belongs to the message. */
const char *mq_inmsg_header(const struct mq_inmsg *m, const char *name);

/* The len bytes at bytes (a header block, or a whole message) parsed as
 * a message; NULL when GMime cannot. The caller g_object_unrefs it. */
GMimeMessage *mq_inmsg_parse(const char *bytes, size_t len);

/* A leaf part's content, its transfer encoding undone, NULs made spaces,
 * at most MQ_INMSG_TEXT bytes; "" for anything else. Never NULL; the
 * caller g_frees it. */
char *mq_inmsg_part_bytes(GMimeObject *o);

#endif
