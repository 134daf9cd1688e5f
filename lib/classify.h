/*
 * What an inbound message is, from its bytes alone: our own mail, a
 * delivery status notification (RFC 3464, RFC 6533, and the common
 * shapes without a report part), an automatic reply (RFC 3834 and the
 * usual markers), a request to be removed, or mail a person wrote. The
 * message is parsed with GMime; nothing here reads the database or the
 * network. Whether a person's mail answers something mailq sent is the
 * store's question (db_inbound.h): this module gathers what it needs to
 * ask it — the thread headers, the sender, a report's recipients and the
 * Message-ID of the returned message.
 *
 * mq_classify initialises GMime once per process (g_mime_init) on its
 * first call; it is not safe to call from two threads at once.
 */
#ifndef MQ_CLASSIFY_H
#define MQ_CLASSIFY_H

#include <stddef.h>
#include <time.h>

#include "err.h"

#include "class.h"

#define MQ_CLASSIFY_IDS   32      /* thread Message-IDs kept, at most */
#define MQ_CLASSIFY_RCPTS 16      /* report recipients kept, at most */
#define MQ_ID_MAX         256     /* a Message-ID, without <>, + NUL */
#define MQ_ADDR_MAX       320

/* One recipient of a delivery status notification. */
struct mq_dsn_rcpt {
	char addr[MQ_ADDR_MAX];     /* Final-Recipient (else Original-
	                               Recipient), the address alone, lower
	                               case */
	char action[16];            /* failed, delayed, delivered, relayed,
	                               expanded; lower case */
	char status[16];            /* "5.1.1"; "" when absent */
	char diag[256];             /* Diagnostic-Code, one line, or "" */
};

/* What the message says of itself. Strings are NUL-terminated UTF-8,
 * cut to their buffers; "" when absent. */
struct mq_inbound {
	enum mq_class cls;
	char          reason[256];  /* why this class, never "" (e.g.
	                               "report: failed 5.1.1 for a@b.pl",
	                               "Auto-Submitted: auto-replied") */
	char          message_id[MQ_ID_MAX];  /* its own, without <> */
	char          from[MQ_ADDR_MAX];      /* From's address, lower case */
	char          subject[256];           /* decoded */
	time_t        date;                   /* its Date, 0 if none/bad */
	/* the thread: In-Reply-To first, then References from the newest
	 * (last) back, without <>, duplicates removed */
	char          ids[MQ_CLASSIFY_IDS][MQ_ID_MAX];
	int           n_ids;
	/* bounces: the returned message's Message-ID (from its message/rfc822
	 * or text/rfc822-headers part, or a quoted header in a bounce without
	 * a report part, else the report's own In-Reply-To when it names one
	 * message) and the recipients the report is about (from its
	 * report part; X-Failed-Recipients or the text of a report without
	 * one) */
	char          orig_message_id[MQ_ID_MAX];
	struct mq_dsn_rcpt rcpts[MQ_CLASSIFY_RCPTS];
	int           n_rcpts;
	/* auto-replies: the day the sender says they are back (00:00 UTC of
	 * that date), when stated unambiguously; 0 otherwise */
	time_t        back_on;
};

/* What the classifier must know of us. */
struct mq_classify_ctx {
	const char *const *own;     /* our mailboxes' addresses */
	int                n_own;
	const char *const *unsub;   /* our unsubscribe_mailto addresses */
	int                n_unsub;
};

/* Classifies the len bytes at raw (a whole message, or only its header
 * when it was too big to fetch) into *out. Every input gets exactly one
 * class and a reason: what cannot be parsed is MQ_CLASS_UNMATCHED with
 * the reason saying so. MQ_OK; MQ_TEMP only when memory runs out. */
int mq_classify(const struct mq_classify_ctx *ctx, const char *raw,
    size_t len, struct mq_inbound *out, struct mq_err *err);

#endif
