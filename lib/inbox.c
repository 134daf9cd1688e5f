/*
 * Inbound mail: see inbox.h. The sources sit behind one table, chosen by
 * the URL's scheme (imap.c for imap:// and imaps://, maildir.c for
 * maildir://); this file only picks one and passes each call on, so a
 * source's rules live in its own file and nowhere else.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "imap.h"
#include "inbox.h"
#include "maildir.h"

struct mq_inbox {
	const struct mq_inbox_source *src;
	void                         *h;
};

static const struct mq_inbox_source *sources[] = {
	&mq_imap_source, &mq_maildir_source,
};

/* The source for url's scheme ("imaps" is served by "imap"), or NULL. */
static const struct mq_inbox_source *source_for(const char *url)
{
	size_t n = strcspn(url, ":");

	if (strncmp(url + n, "://", 3) != 0)
		return NULL;
	if (n == 5 && strncasecmp(url, "imaps", 5) == 0)
		n = 4;
	for (size_t i = 0; i < sizeof sources / sizeof *sources; i++)
		if (strlen(sources[i]->scheme) == n &&
		    strncasecmp(url, sources[i]->scheme, n) == 0)
			return sources[i];
	return NULL;
}

int mq_inbox_open(struct mq_inbox **in, const struct mq_inbox_opts *o,
    struct mq_err *err)
{
	const struct mq_inbox_source *src;
	struct mq_inbox *b;
	int rc;

	*in = NULL;
	if (o->url == NULL)
		return mq_err_perm(err, EX_CONFIG, "no inbox URL given");
	/* an "@" may be a password's end: such a URL is not repeated */
	if ((src = source_for(o->url)) == NULL)
		return mq_err_perm(err, EX_CONFIG, "'%.200s' is not an "
		    "imap://, imaps:// or maildir:/// URL",
		    strchr(o->url, '@') == NULL ? o->url : "(not shown)");
	if ((b = calloc(1, sizeof *b)) == NULL)
		return mq_err_temp(err, "out of memory");
	b->src = src;
	if ((rc = src->open(&b->h, o, err)) != MQ_OK) {
		free(b);
		return rc;
	}
	mq_err_clear(err);
	*in = b;
	return MQ_OK;
}

int mq_inbox_folder(struct mq_inbox *in, const char *folder,
    long long *uidvalidity, struct mq_err *err)
{
	return in->src->folder(in->h, folder, uidvalidity, err);
}

int mq_inbox_list(struct mq_inbox *in, long long after_uid,
    struct mq_inbox_item **items, int *n, struct mq_err *err)
{
	return in->src->list(in->h, after_uid, items, n, err);
}

int mq_inbox_fetch(struct mq_inbox *in, const struct mq_inbox_item *item,
    char **buf, size_t *len, int *headers_only, struct mq_err *err)
{
	return in->src->fetch(in->h, item, buf, len, headers_only, err);
}

int mq_inbox_find(struct mq_inbox *in, const char *message_id, int *found,
    struct mq_err *err)
{
	return in->src->find(in->h, message_id, found, err);
}

void mq_inbox_close(struct mq_inbox *in)
{
	if (in == NULL)
		return;
	in->src->close(in->h);
	free(in);
}
