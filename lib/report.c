/* Campaign reports: see report.h. */
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "campaign.h"
#include "db_campaign.h"
#include "next_send.h"
#include "report.h"
#include "sched.h"
#include "timefmt.h"

static int campaign_line(struct mq_db *db, const char *name, time_t now,
    FILE *out, struct mq_err *err)
{
	struct mq_db_campaign_counts k;
	struct mq_db_campaign c;
	char when[40] = "-";
	time_t day0 = 0, at;
	int rc;

	if ((rc = mq_db_campaign_get(db, name, &c, err)) != MQ_OK)
		return rc;
	mq_sched_local_day(c.sched.timezone, now, when, sizeof when, &day0,
	    NULL, NULL);
	if ((rc = mq_db_campaign_counts(db, c.id, day0, &k, err)) == MQ_OK) {
		if (mq_next_send(db, &c, now, &at, NULL) != MQ_OK)
			at = 0;
		mq_timefmt_at(c.sched.timezone, at, "%a %d %b %H:%M %Z", when,
		    sizeof when);
		fprintf(out, "%-16s %-10s %6d %6d %6d %6d %6d %5d/%-5d %s\n",
		    c.name, c.retired ? "retired" :
		    mq_db_campaign_states[c.status], k.leads,
		    k.lead[MQ_LEAD_QUEUED] + k.lead[MQ_LEAD_ACTIVE],
		    k.msg[MQ_MSG_SENT], k.msg[MQ_MSG_FAILED],
		    k.msg[MQ_MSG_BOUNCED], k.sent_today, c.daily_limit, when);
	}
	mq_db_campaign_free(&c);
	return rc;
}

int mq_report_campaigns(struct mq_db *db, time_t now, FILE *out,
    struct mq_err *err)
{
	char **names;
	int n, rc;

	if ((rc = mq_db_campaign_names(db, &names, &n, err)) != MQ_OK)
		return rc;
	fprintf(out, "%-16s %-10s %6s %6s %6s %6s %6s %11s %s\n", "CAMPAIGN",
	    "STATUS", "LEADS", "TO-DO", "SENT", "FAILED", "BOUNCE", "TODAY/LIMIT",
	    "NEXT SEND");
	for (int i = 0; i < n; i++) {
		if (rc == MQ_OK)
			rc = campaign_line(db, names[i], now, out, err);
		free(names[i]);
	}
	free(names);
	return rc;
}

static void print_list(FILE *out, const char *label, char **v, int n)
{
	for (int i = 0; i < n; i++) {
		fprintf(out, "%-11s%s\n", i == 0 ? label : "", v[i]);
		free(v[i]);
	}
	if (n == 0)
		fprintf(out, "%-11snone\n", label);
	free(v);
}

/* A message that only ever waited on a failing mailbox is no retry: it is
 * shown apart. */
static void print_messages(FILE *out, const struct mq_db_campaign_counts *k)
{
	int v[MQ_MSG_N];

	memcpy(v, k->msg, sizeof v);
	v[MQ_MSG_RETRY] -= k->mailbox_wait;
	fprintf(out, "%-11s", "messages");
	for (int i = 0; i < MQ_MSG_N; i++)
		fprintf(out, "%s%s %d", i ? ", " : "", mq_db_msg_states[i], v[i]);
	fprintf(out, ", waiting on a failing mailbox %d\n", k->mailbox_wait);
}

static void print_counts(FILE *out, const char *label, const int *v,
    const char *const *names, int n)
{
	fprintf(out, "%-11s", label);
	for (int i = 0; i < n; i++)
		fprintf(out, "%s%s %d", i ? ", " : "", names[i], v[i]);
	fputc('\n', out);
}

static void print_window(FILE *out, const struct mq_db_campaign *c,
    time_t now)
{
	const struct mq_sched *s = &c->sched;
	char why[96] = "", t[48] = "?", days[40];
	time_t at;
	int open = 0;

	mq_timefmt_days(s->days, days, sizeof days);
	fprintf(out, "%-11s%s %02d:%02d-%02d:%02d %s, holidays %s%s%s\n",
	    "schedule", days, s->start_min / 60, s->start_min % 60,
	    s->end_min / 60, s->end_min % 60, s->timezone,
	    *s->holidays ? s->holidays : "none", *s->extra_holidays ? " + " : "",
	    s->extra_holidays);
	if (mq_sched_is_open(s, now, &open, why, sizeof why, NULL) != MQ_OK)
		return;
	if (open && mq_sched_window_end(s, now, &at, NULL) == MQ_OK) {
		mq_sched_format(s->timezone, at, "%H:%M", t, sizeof t, NULL);
		fprintf(out, "%-11sopen until %s\n", "window", t);
	} else if (mq_sched_next_open(s, now, &at, NULL) == MQ_OK) {
		mq_sched_format(s->timezone, at, "%a %Y-%m-%d %H:%M", t,
		    sizeof t, NULL);
		fprintf(out, "%-11sclosed (%s) until %s\n", "window", why, t);
	}
}

/* Threads whose mailbox may no longer send for the campaign: they wait
 * until the operator reassigns them. */
static void print_waiting(struct mq_db *db, sqlite3_int64 id, FILE *out)
{
	struct mq_db_waiting *w;
	int n;

	if (mq_db_campaign_waiting(db, id, &w, &n, NULL) != MQ_OK)
		return;
	for (int i = 0; i < n; i++)
		fprintf(out, "%-11swaiting for mailbox %s: %d (%s; see "
		    "reassign)\n", i == 0 ? "threads" : "", w[i].mailbox,
		    w[i].n, w[i].why);
	free(w);
}

/* "3 retries after 60,300,900 s": one wait per retry. */
static void print_retry(FILE *out, const struct mq_db_campaign *c)
{
	fprintf(out, "%-11s%d %s after ", "retry", c->retry_attempts,
	    c->retry_attempts == 1 ? "retry" : "retries");
	for (int i = 0; i < c->retry_attempts && i < MQ_CONF_RETRY_MAX; i++)
		fprintf(out, "%s%d", i ? "," : "", c->backoff[i]);
	fprintf(out, " s\n");
}

static void print_campaign(struct mq_db *db, const struct mq_db_campaign *c,
    const struct mq_db_campaign_counts *k, time_t now, FILE *out)
{
	char t[48], rel[48];
	char **v;
	time_t at;
	int n;

	mq_sched_format(c->sched.timezone, c->status_at, "%Y-%m-%d %H:%M %Z",
	    t, sizeof t, NULL);
	fprintf(out, "%-11s%s\n%-11s%s%s since %s\n%-11s%s\n", "campaign",
	    c->name, "status", c->retired ? "retired, " : "",
	    mq_db_campaign_states[c->status], t, "sender", c->sender);
	print_window(out, c, now);
	fprintf(out, "%-11s%d s ± %d %%, at most %d a day, buffer %d\n",
	    "pacing", c->delay, c->jitter, c->daily_limit, c->buffer);
	print_retry(out, c);
	if (mq_db_campaign_mailboxes(db, c->id, &v, &n, NULL) == MQ_OK)
		print_list(out, "mailboxes", v, n);
	if (mq_db_campaign_steps(db, c->id, &v, &n, NULL) == MQ_OK)
		print_list(out, "steps", v, n);
	print_waiting(db, c->id, out);
	fprintf(out, "%-11s%d\n", "leads", k->leads);
	print_counts(out, "", k->lead, mq_db_lead_states, MQ_LEAD_N);
	print_messages(out, k);
	fprintf(out, "%-11s%d sent of %d\n", "today", k->sent_today,
	    c->daily_limit);
	if (mq_next_send(db, c, now, &at, NULL) == MQ_OK && at != 0) {
		mq_sched_format(c->sched.timezone, at, "%a %Y-%m-%d %H:%M:%S %Z",
		    t, sizeof t, NULL);
		mq_timefmt_relative(at, now, rel, sizeof rel);
		fprintf(out, "%-11s%s (%s)\n", "next send", t, rel);
	}
}

int mq_report_campaign(struct mq_db *db, const char *name, time_t now,
    FILE *out, struct mq_err *err)
{
	struct mq_db_campaign_counts k;
	struct mq_db_campaign c;
	char day[16];
	time_t day0 = 0;
	int rc;

	if ((rc = mq_db_campaign_get(db, name, &c, err)) != MQ_OK)
		return rc;
	mq_sched_local_day(c.sched.timezone, now, day, sizeof day, &day0, NULL,
	    NULL);
	if ((rc = mq_db_campaign_counts(db, c.id, day0, &k, err)) == MQ_OK)
		print_campaign(db, &c, &k, now, out);
	mq_db_campaign_free(&c);
	return rc;
}

void mq_report_control(FILE *out, const char *name,
    enum mq_campaign_action action, const struct mq_campaign_result *r,
    time_t now)
{
	char t[64] = "", rel[48] = "";

	if (!r->changed) {
		fprintf(out, "%s: already %s\n", name,
		    mq_db_campaign_states[r->to]);
		return;
	}
	fprintf(out, "%s: %s -> %s\n", name, mq_db_campaign_states[r->from],
	    mq_db_campaign_states[r->to]);
	if (r->reclaimed.requeued + r->reclaimed.failed + r->reclaimed.unknown)
		fprintf(out, "%s: claims of dead runs: %d back in the queue, "
		    "%d failed, %d unknown\n", name, r->reclaimed.requeued,
		    r->reclaimed.failed, r->reclaimed.unknown);
	if (action != MQ_CAMPAIGN_START && action != MQ_CAMPAIGN_RESUME)
		return;
	mq_sched_format(r->timezone, r->first_send, "%a %Y-%m-%d %H:%M %Z", t,
	    sizeof t, NULL);
	mq_timefmt_relative(r->first_send, now, rel, sizeof rel);
	if (r->open_now)
		fprintf(out, "%s: window open; the first message goes at the "
		    "next tick\n", name);
	else
		fprintf(out, "%s: first message at %s (%s)\n", name, t, rel);
}
