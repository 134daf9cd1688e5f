/*
 * Reading a mailbox's mail without changing it, from one of two sources
 * chosen by the URL's scheme behind one small table of functions:
 *
 *   imap://host[:port], imaps://host[:port]   IMAP with libcurl. A folder
 *       is opened with EXAMINE (read-only), messages are listed by UID and
 *       read with BODY.PEEK, so no flag changes; nothing is ever stored,
 *       copied, moved, expunged or deleted. imaps:// is TLS from the
 *       start; imap:// requires STARTTLS unless tls is MQ_TLS_NONE.
 *   maildir:///absolute/path                  a local Maildir (Maildir++
 *       folders: "INBOX" is the path itself, folder "Spam" is path/.Spam,
 *       "a/b" is path/.a.b). Its files are only opened and read; a file's
 *       ref is its unique name (the part before ":2,"), uidvalidity is 0.
 *
 * A source's calls happen outside any database transaction; they may
 * block for up to the timeouts given. libcurl must have been initialised
 * once in the process first (mq_smtp_init does it).
 */
#ifndef MQ_INBOX_H
#define MQ_INBOX_H

#include <stddef.h>

#include "conf.h"
#include "err.h"

struct mq_inbox_opts {
	const char *url;            /* see above; no credentials in it */
	const char *username;       /* NULL: no login (Maildir, tests) */
	const char *password;       /* with username */
	const char *bearer;         /* OAuth2 access token instead of a
	                               password, or NULL */
	enum mq_tls tls;            /* imap:// only: MQ_TLS_NONE allows no TLS */
	int         verify;         /* certificate verification */
	const char *ca_file;        /* extra CA bundle or NULL */
	long        connect_timeout;/* seconds, for connecting and logging
	                               in; 0: 15 */
	long        timeout;        /* seconds for one command; 0: 40 */
	size_t      max_size;       /* a message bigger than this is read
	                               headers-only; 0: 10 MiB. A reply
	                               bigger than max_size + 1 MiB is
	                               refused (EX_DATAERR) */
};

/* A message in a folder, as listed. */
struct mq_inbox_item {
	long long uid;              /* IMAP UID; 0 in a Maildir */
	char      ref[256];         /* the UID in decimal, or the Maildir
	                               file's unique name */
	size_t    size;             /* bytes, as the server says */
};

struct mq_inbox;

/* Connects (and logs in). MQ_TEMP: unreachable, timed out, server busy;
 * MQ_PERM: a bad URL (EX_CONFIG), login or TLS refused (EX_NOPERM), or a
 * Maildir that does not exist (EX_NOINPUT). *in is NULL on failure; else
 * free with mq_inbox_close. The message never holds a secret. */
int mq_inbox_open(struct mq_inbox **in, const struct mq_inbox_opts *o,
    struct mq_err *err);

/* Opens folder read-only; *uidvalidity gets its UIDVALIDITY (0 in a
 * Maildir). MQ_PERM with EX_NOINPUT when it does not exist, EX_DATAERR
 * for a name that cannot be one; after a failure no folder is open, and
 * list, fetch and find fail with EX_SOFTWARE until one is. */
int mq_inbox_folder(struct mq_inbox *in, const char *folder,
    long long *uidvalidity, struct mq_err *err);

/* The messages of the open folder with a UID above after_uid, oldest
 * first (a Maildir: every message, in name order; the caller skips what
 * it has read). *items is malloc'd (free it), *n may be 0. */
int mq_inbox_list(struct mq_inbox *in, long long after_uid,
    struct mq_inbox_item **items, int *n, struct mq_err *err);

/* Reads one message of the open folder: the whole message, or only its
 * header when it is bigger than max_size (*headers_only = 1). *buf is
 * malloc'd and NUL-terminated, *len bytes. MQ_PERM with EX_DATAERR when
 * the message is gone (expunged meanwhile); MQ_TEMP on network trouble. */
int mq_inbox_fetch(struct mq_inbox *in, const struct mq_inbox_item *item,
    char **buf, size_t *len, int *headers_only, struct mq_err *err);

/* Whether the open folder holds a message whose Message-ID header is
 * message_id (given without <>): *found 1 or 0. */
int mq_inbox_find(struct mq_inbox *in, const char *message_id, int *found,
    struct mq_err *err);

/* Logs out and frees; NULL is fine. */
void mq_inbox_close(struct mq_inbox *in);

#endif
