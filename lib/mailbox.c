/* Whether a mailbox may send now: see mailbox.h. */
#include <stdio.h>
#include <string.h>

#include "mailbox.h"

int mq_mailbox_rest(int n)
{
	static const int rest[] = { 300, 900, 3600 };

	if (n < 1)
		n = 1;
	return rest[n <= 3 ? n - 1 : 2];
}

/* A failing mailbox whose rest is over, or whose login changed, gets one
 * try. */
static int may_try(const struct mq_mailbox_state *m, time_t now,
    const char *fp)
{
	if (m->rest_until <= now)
		return 1;
	return fp != NULL && m->fail_conf[0] != '\0' &&
	    strcmp(fp, m->fail_conf) != 0;
}

enum mq_mailbox_why mq_mailbox_why(const struct mq_mailbox_state *m,
    time_t now, const char *fp)
{
	if (!m->usable)
		return MQ_MAILBOX_DISABLED;
	if (m->paused_why[0] != '\0')
		return MQ_MAILBOX_PAUSED;
	if (m->failing_since != 0 && !may_try(m, now, fp))
		return MQ_MAILBOX_RESTING;
	if (m->today >= m->daily_limit)
		return MQ_MAILBOX_LIMIT;
	if (m->in_flight >= m->max_connections)
		return MQ_MAILBOX_BUSY;
	if (m->max_per_minute > 0 && m->last_minute >= m->max_per_minute)
		return MQ_MAILBOX_RATE;
	return m->failing_since != 0 ? MQ_MAILBOX_PROBE : MQ_MAILBOX_OK;
}

time_t mq_mailbox_free_at(const struct mq_mailbox_state *m,
    enum mq_mailbox_why why, time_t now)
{
	switch (why) {
	case MQ_MAILBOX_OK:
	case MQ_MAILBOX_PROBE:
		return now;
	case MQ_MAILBOX_RESTING:
		return m->rest_until;
	case MQ_MAILBOX_BUSY:
	case MQ_MAILBOX_RATE:
		return now + 1;
	default:
		return 0;          /* not by waiting: a new day, or the operator */
	}
}

void mq_mailbox_describe(const struct mq_mailbox_state *m,
    enum mq_mailbox_why why, char *buf, size_t size)
{
	switch (why) {
	case MQ_MAILBOX_OK:
		snprintf(buf, size, "ok");
		break;
	case MQ_MAILBOX_PROBE:
		snprintf(buf, size, "failing, to be tried again (%s)",
		    m->last_error);
		break;
	case MQ_MAILBOX_DISABLED:
		snprintf(buf, size, "disabled");
		break;
	case MQ_MAILBOX_UNAVAILABLE:
		snprintf(buf, size, "not this run: its OAuth2 provider was out "
		    "of reach");
		break;
	case MQ_MAILBOX_PAUSED:
		snprintf(buf, size, "paused by its bounce guard: %s",
		    m->paused_why);
		break;
	case MQ_MAILBOX_LIMIT:
		snprintf(buf, size, "at its day's limit (%d)", m->daily_limit);
		break;
	case MQ_MAILBOX_BUSY:
		snprintf(buf, size, "%d session%s open (max_connections %d)",
		    m->in_flight, m->in_flight == 1 ? "" : "s",
		    m->max_connections);
		break;
	case MQ_MAILBOX_RATE:
		snprintf(buf, size, "%d started in the last minute "
		    "(max_per_minute %d)", m->last_minute, m->max_per_minute);
		break;
	case MQ_MAILBOX_RESTING:
		snprintf(buf, size, "resting after %d failure%s (%s)",
		    m->fail_count, m->fail_count == 1 ? "" : "s", m->last_error);
		break;
	}
}
