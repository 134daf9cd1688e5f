/*
 * What a source of inbound mail provides to inbox.c: the calls of inbox.h
 * on its own handle, with the same contracts (see there). One table per
 * source, chosen by the URL's scheme.
 */
#ifndef MQ_INBOX_SOURCE_H
#define MQ_INBOX_SOURCE_H

#include "inbox.h"

struct mq_inbox_source {
	const char *scheme;         /* "imap" also serves "imaps" */
	int  (*open)(void **h, const struct mq_inbox_opts *o,
	         struct mq_err *err);
	int  (*folder)(void *h, const char *folder, long long *uidvalidity,
	         struct mq_err *err);
	int  (*list)(void *h, long long after_uid,
	         struct mq_inbox_item **items, int *n, struct mq_err *err);
	int  (*fetch)(void *h, const struct mq_inbox_item *item, char **buf,
	         size_t *len, int *headers_only, struct mq_err *err);
	int  (*find)(void *h, const char *message_id, int *found,
	         struct mq_err *err);
	void (*close)(void *h);
};

#endif
