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

#include <curl/curl.h>

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

/* How one session goes, beyond the mailbox's config. */
struct mq_smtp_session {
	long        connect_s;            /* default 15 */
	long        total_s;              /* default 40 */
	const char *bearer;               /* an OAuth2 access token to log
	                                     in with (XOAUTH2 or OAUTHBEARER,
	                                     as the server offers), or NULL:
	                                     the mailbox's password */
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
	    const struct mq_smtp_session *to, mq_smtp_hook hook, void *arg,
	    struct mq_smtp_result *res, struct mq_err *err);
};

/* The transport called name ("smtp" or "file"), or NULL. Static. */
const struct mq_transport *mq_smtp_transport(const char *name);

/* The transport for mailbox mb by the scheme of its URL: "smtp" for
 * smtp:// and smtps://, "file" for file:///path (an mbox that each message
 * is appended to). NULL for any other URL. Static. */
const struct mq_transport *mq_smtp_for(const struct mq_conf_mailbox *mb);

/* How far the dialogue got: the last command sent, or BODY once the data
 * hook was reached (MAIL FROM, RCPT TO and DATA accepted). */
enum mq_smtp_stage {
	MQ_SMTP_GREETING,  /* nothing sent yet */
	MQ_SMTP_EHLO,      /* EHLO or HELO */
	MQ_SMTP_STARTTLS,
	MQ_SMTP_AUTH,
	MQ_SMTP_MAIL,
	MQ_SMTP_RCPT,
	MQ_SMTP_DATA,
	MQ_SMTP_BODY       /* the body, then the final dot */
};

/* The outcome of a send from what was known when it ended: curl's result
 * (a CURLcode), the stage, the reply code to the stage's command (0 if no
 * reply came) and whether the whole body had been handed to curl, after
 * which the final dot may have left. A pure function, no I/O:
 *   hook refused (CURLE_ABORTED_BY_CALLBACK)               ABORTED
 *   CURLE_OK, or 2xx after the dot                         SENT
 *   body handed over, then no 4xx/5xx reply to the dot     UNKNOWN
 *   login denied, any TLS failure, 5xx before MAIL FROM,
 *   530 (authentication or STARTTLS required) anywhere     MAILBOX
 *   4xx anywhere; connection, DNS or timeout failures      TEMP
 *   5xx to RCPT TO                                         BOUNCE
 *   5xx to MAIL FROM, DATA or the final dot                REJECT */
enum mq_smtp_outcome mq_smtp_classify(int curl_code, enum mq_smtp_stage stage,
    int code, int body_done);

/*
 * One SMTP send as a configured curl easy handle, so that a caller can run
 * many at once, a thread each (curl_easy_perform); the "smtp" transport's
 * send is new, perform, done, free.
 */
struct mq_smtp_xfer;

/* Sets up a send of msg (len bytes, not copied: it must outlive *xp) from
 * `from` to `rcpt` through mb into *xp (caller frees with
 * mq_smtp_xfer_free). to may be NULL (defaults), hook may be NULL. MQ_PERM
 * with EX_CONFIG for a URL that is not smtp:// or smtps:// (or smtp://
 * with tls = "tls"), EX_DATAERR for an address holding CR, LF, '<' or
 * '>'; MQ_TEMP when curl cannot set up a handle. */
int mq_smtp_xfer_new(struct mq_smtp_xfer **xp, const struct mq_conf_mailbox *mb,
    const char *from, const char *rcpt, const char *msg, size_t len,
    const struct mq_smtp_session *to, mq_smtp_hook hook, void *arg,
    struct mq_err *err);

/* The easy handle of x, owned by x, to perform. */
CURL *mq_smtp_xfer_easy(struct mq_smtp_xfer *x);

/* Fills *res once the transfer ended with curl result rc. */
void mq_smtp_xfer_done(struct mq_smtp_xfer *x, CURLcode rc,
    struct mq_smtp_result *res);

/* Frees x and its easy handle; NULL is fine. */
void mq_smtp_xfer_free(struct mq_smtp_xfer *x);

/* "sent", "temporary", ... for logs. */
const char *mq_smtp_outcome_name(enum mq_smtp_outcome o);

/* Once per process, before any send (curl_global_init); later calls do
 * nothing. MQ_TEMP (EX_TEMPFAIL) if curl cannot be initialised. */
int mq_smtp_init(struct mq_err *err);

#endif
