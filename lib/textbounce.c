/*
 * Reports without a report part: see textbounce.h. Each shape has its
 * own way of naming the recipients; what follows a recipient is the
 * remote server's reply, whose first status code is kept (dsn.h), and
 * the verdict is a report's like any other.
 */
#include <string.h>

#include "addrlist.h"
#include "dsn.h"
#include "fold.h"
#include "textbounce.h"

#define LINE_CAP 1024

/* qmail: "<addr>:" lines, each followed by the remote reply. */
static void qmail_rcpts(const char *p, struct mq_inbound *out)
{
	struct mq_dsn_rcpt *r = NULL;
	char line[LINE_CAP];
	size_t n;

	while (mq_fold_next_line(&p, line, sizeof line)) {
		n = strlen(line);
		if (strncmp(line, "--- ", 4) == 0)
			break;
		if (n > 3 && line[0] == '<' && line[n - 2] == '>' &&
		    line[n - 1] == ':')
			r = mq_dsn_new_rcpt(out, line, "failed");
		else if (line[0] == '\0')
			r = NULL;
		else if (r != NULL)
			mq_dsn_reply_line(r, line);
	}
}

/* Exim: after "The following address(es) failed:", an address indented
 * by two, the details below it by four. */
static void exim_rcpts(const char *p, struct mq_inbound *out)
{
	struct mq_dsn_rcpt *r = NULL;
	char line[LINE_CAP];
	int in = 0;

	while (mq_fold_next_line(&p, line, sizeof line)) {
		if (!in) {
			in = strstr(line, "address(es) failed:") != NULL ||
			    strstr(line, "addresses failed:") != NULL;
			continue;
		}
		if (line[0] == '\0')
			continue;
		if (line[0] != ' ' || strncmp(line, "------", 6) == 0)
			break;
		if (line[2] != ' ' && strchr(line, '@') != NULL &&
		    strchr(line + 2, ' ') == NULL)
			r = mq_dsn_new_rcpt(out, line, "failed");
		else if (r != NULL)
			mq_dsn_reply_line(r, line);
	}
}

/* Whether the folded Subject says that delivery failed. */
static int failed_subject(const char *fsubj)
{
	static const char *const says[] = {
		"undelivered mail returned to sender", "mail delivery failed",
		"delivery status notification (failure)",
		"delivery status notification (delay)", "undeliverable",
		"returned mail", "failure notice", "delivery failure",
		"could not be delivered", "nicht zustellbar", "unzustellbar",
		"delivery has failed", "delivery delayed", "warning: message",
		"niedostarczon",
	};

	for (size_t i = 0; i < G_N_ELEMENTS(says); i++)
		if (strstr(fsubj, says[i]) != NULL)
			return 1;
	return 0;
}

int mq_textbounce(const struct mq_inmsg *m, struct mq_inbound *out)
{
	const char *shape = NULL;
	int delay = strstr(m->fsubj, "delay") != NULL;

	if (strstr(m->ftext, "this is the qmail-send program") != NULL) {
		shape = "qmail";
		qmail_rcpts(m->text, out);
	} else if (strstr(m->ftext, "this message was created automatically "
	    "by mail delivery software") != NULL && strstr(m->ftext,
	    "could not be delivered to one or more of its") != NULL) {
		shape = "exim";
		exim_rcpts(m->text, out);
	} else if (failed_subject(m->fsubj) &&
	    (mq_addrlist_system(out->from) ||
	    mq_inmsg_header(m, "X-Failed-Recipients") != NULL)) {
		shape = "bounce";
	}
	if (shape == NULL)
		return 0;
	mq_dsn_failed_rcpts(m, out, delay ? "delayed" : "failed");
	mq_dsn_orig_id(m, out);
	return mq_dsn_decide(out, shape, delay ? MQ_CLASS_SOFT_BOUNCE :
	    MQ_CLASS_HARD_BOUNCE);
}
