/*
 * Transports: a small table of ways to hand a message over, chosen by
 * name. "smtp" talks SMTP with libcurl (STARTTLS or implicit TLS, AUTH,
 * certificates verified by default); "file" appends to a file, for dry
 * runs and rehearsals. A send is never retried here: the caller records
 * every outcome. Before the first byte of the message body is handed over
 * (MAIL FROM, RCPT TO and DATA already accepted), the transport calls the
 * caller's data hook; a nonzero return aborts the transfer, so that no body
 * byte leaves unless the caller has recorded that it may.
 */
#ifndef MQ_SMTP_H
#define MQ_SMTP_H

#include <stddef.h>

#include "conf.h"
#include "err.h"

/* How a send ended, as the queue must treat it. */
enum mq_smtp_outcome {
	MQ_SMTP_SENT,      /* 250 after the final dot */
	MQ_SMTP_TEMP,      /* 4xx, connection refused or lost, timeout before
	                      the final dot: the server does not have it */
	MQ_SMTP_BOUNCE,    /* 5xx to RCPT TO: the recipient does not exist */
	MQ_SMTP_REJECT,    /* 5xx to MAIL FROM, DATA or the final dot */
	MQ_SMTP_MAILBOX,   /* authentication or TLS failure: the mailbox, not
	                      the message, is at fault */
	MQ_SMTP_UNKNOWN,   /* lost after the final dot left: it may have been
	                      delivered */
	MQ_SMTP_ABORTED    /* the data hook refused; nothing of the body left */
};

struct mq_smtp_result {
	enum mq_smtp_outcome outcome;
	int                  code;        /* last SMTP reply code, 0 if none */
	char                 reply[512];  /* last reply line or error text */
};

struct mq_smtp_timeouts {
	long connect_s;                   /* default 15 */
	long total_s;                     /* default 40 */
};

/* Called once before the first body byte; nonzero aborts the send. */
typedef int (*mq_smtp_hook)(void *arg);

struct mq_transport {
	const char *name;
	/* Sends msg (len bytes) from `from` to `rcpt` through mailbox mb.
	 * Fills *res. Returns MQ_OK whenever a result was reached, whatever
	 * the outcome; MQ_PERM only for misuse (bad URL), with err set. */
	int (*send)(const struct mq_conf_mailbox *mb, const char *from,
	    const char *rcpt, const char *msg, size_t len,
	    const struct mq_smtp_timeouts *to, mq_smtp_hook hook, void *arg,
	    struct mq_smtp_result *res, struct mq_err *err);
};

/* The transport called name, or NULL. */
const struct mq_transport *mq_smtp_transport(const char *name);

/* "sent", "temporary", ... for logs. */
const char *mq_smtp_outcome_name(enum mq_smtp_outcome o);

/* Once per process, before any send (curl_global_init). */
int mq_smtp_init(struct mq_err *err);

#endif
