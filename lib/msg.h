/*
 * Message composition: a complete RFC 5322 message in memory, CRLF line
 * ends, ready for SMTP DATA (the transport does the dot-stuffing). Header
 * text that is not ASCII is encoded per RFC 2047; a CR or LF in any header
 * value is refused, so lead data cannot inject headers. The text body is
 * UTF-8, quoted-printable, lines at most 76 characters; with an HTML body
 * the message is multipart/alternative.
 */
#ifndef MQ_MSG_H
#define MQ_MSG_H

#include <stddef.h>
#include <time.h>

#include "err.h"

struct mq_msg {
	const char *from_addr;     /* anna@example.com */
	const char *from_name;     /* "Anna Nowak" or "" */
	const char *to_addr;
	const char *to_name;       /* "" when unknown */
	const char *subject;       /* rendered, UTF-8 */
	const char *text;          /* rendered text body, UTF-8, LF or CRLF */
	const char *html;          /* rendered HTML body or NULL */
	const char *message_id;    /* "local@domain", without the brackets */
	const char *in_reply_to;   /* previous step's Message-ID or NULL */
	const char *unsub_mailto;  /* List-Unsubscribe mailto address or NULL */
	const char *unsub_url;     /* one-click https URL or NULL */
	time_t      date;
	long        date_offset;   /* seconds east of UTC: the Date header is
	                              written in the sender's zone, as a mail
	                              client would */
};

/* The longest address, ID or URL a header takes (it keeps every line
 * under 998 characters); a longer one is refused. */
#define MQ_MSG_VALUE_MAX 900

/* Builds the message into *out (malloc'd, NUL-terminated; caller frees) of
 * *len bytes. MQ_PERM (EX_DATAERR) for a CR/LF in a header value or a body
 * that is not UTF-8. */
int mq_msg_build(const struct mq_msg *m, char **out, size_t *len,
    struct mq_err *err);

/* Room for any ID mq_msg_id writes, NUL included. */
#define MQ_MSG_ID_MAX 300

/* A Message-ID for a message (without brackets) into buf: stable for the
 * same (salt, campaign, lead, step), so that a retry of a message carries
 * the same ID, and on the sending mailbox's domain (the part of from_addr
 * after '@'). */
void mq_msg_id(const char *salt, long long campaign, long long lead,
    int step, const char *from_addr, char *buf, size_t len);

/* Room for any token mq_msg_unsub_token writes, NUL included. */
#define MQ_MSG_TOKEN_MAX 33

/* The lead's unsubscribe token into buf (32 hex digits): two keyed 64-bit
 * FNV-1a hashes of (salt, campaign, lead), the salt being this database's
 * secret, so a token cannot be made from an address. The same for every
 * message of the lead in the campaign. Not a cryptographic MAC: it keeps
 * strangers from unsubscribing others, nothing more. */
void mq_msg_unsub_token(const char *salt, long long campaign, long long lead,
    char *buf, size_t len);

#endif
