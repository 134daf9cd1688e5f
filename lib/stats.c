/*
 * Collecting mailq-stats' figures: see stats.h. Everything is read inside
 * one read transaction, so the counts of campaigns, mailboxes and the
 * health checks describe the same moment even while ticks write.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "db_inbound.h"
#include "next_send.h"
#include "stats.h"

void mq_stats_window(const struct mq_sched *s, time_t now, int *open,
    char *buf, size_t len)
{
	char why[96] = "", t[32] = "?";
	time_t at;

	*open = 0;
	snprintf(buf, len, "?");
	if (mq_sched_is_open(s, now, open, why, sizeof why, NULL) != MQ_OK)
		return;
	if (*open) {
		snprintf(buf, len, "open");
		return;
	}
	if (strncmp(why, "holiday:", 8) == 0) {
		snprintf(buf, len, "%s", why);
		return;
	}
	if (mq_sched_next_open(s, now, &at, NULL) != MQ_OK) {
		snprintf(buf, len, "closed");
		return;
	}
	mq_sched_format(s->timezone, at, at - now < 6 * 86400 ? "%a %H:%M" :
	    "%Y-%m-%d %H:%M", t, sizeof t, NULL);
	snprintf(buf, len, "closed until %s", t);
}

/* Moves *t to the first moment the window is open with room left in its
 * local day; *day_end and *used track the day being filled. */
static int next_slot(const struct mq_sched *s, int daily_limit, time_t *t,
    time_t *day_end, int *used, struct mq_err *err)
{
	time_t d1;
	int rc;

	for (int i = 0; i < 800; i++) {
		if ((rc = mq_sched_next_open(s, *t, t, err)) != MQ_OK)
			return rc;
		rc = mq_sched_local_day(s->timezone, *t, (char[16]){ 0 }, 16,
		    NULL, &d1, err);
		if (rc != MQ_OK)
			return rc;
		if (d1 != *day_end) {
			*day_end = d1;
			*used = 0;
		}
		if (*used < daily_limit)
			return MQ_OK;
		*t = d1;
	}
	return mq_err_perm(err, EX_CONFIG, "no room to send within 800 days");
}

int mq_stats_project(const struct mq_sched *s, time_t next_send_at,
    time_t now, int delay, int daily_limit, int sent_today,
    const time_t *due, int n, time_t *at, struct mq_err *err)
{
	time_t t = next_send_at > now ? next_send_at : now, day_end;
	int used = sent_today, rc;

	for (int i = 0; i < n; i++)
		at[i] = 0;
	if (daily_limit <= 0)
		return MQ_OK;
	rc = mq_sched_local_day(s->timezone, now, (char[16]){ 0 }, 16, NULL,
	    &day_end, err);
	for (int i = 0; rc == MQ_OK && i < n; i++) {
		if (t < due[i])
			t = due[i];
		if ((rc = next_slot(s, daily_limit, &t, &day_end, &used, err))
		    != MQ_OK)
			break;
		at[i] = t;
		used++;
		t += delay;
	}
	return rc;
}

double mq_stats_percent(int part, int whole)
{
	return whole > 0 ? 100.0 * part / whole : 0.0;
}

/* The figures of one campaign that are not plain counts. */
static int campaign_figures(struct mq_db *db, struct mq_stats_campaign *sc,
    time_t now, struct mq_err *err)
{
	char day[16];
	time_t day0 = now;
	int finished, rc;

	for (int i = 0; i < MQ_LEAD_N; i++)
		sc->leads += sc->k.lead[i];
	finished = sc->leads - sc->k.lead[MQ_LEAD_QUEUED] -
	    sc->k.lead[MQ_LEAD_ACTIVE];
	sc->progress = mq_stats_percent(finished, sc->leads);
	mq_stats_window(&sc->c.sched, now, &sc->window_open, sc->window,
	    sizeof sc->window);
	rc = mq_next_send(db, &sc->c, now, &sc->next_send, err);
	if (rc == MQ_OK)
		rc = mq_sched_local_day(sc->c.sched.timezone, now, day,
		    sizeof day, &day0, NULL, err);
	if (rc == MQ_OK)
		rc = mq_db_stats_today(db, MQ_DB_STATS_CAMPAIGN, sc->c.id, day0,
		    &sc->today, err);
	if (rc == MQ_OK)
		rc = mq_db_campaign_waiting(db, sc->c.id, &sc->waiting,
		    &sc->n_waiting, err);
	if (rc != MQ_OK)
		mq_err_prefix(err, "campaign %s", sc->c.name);
	return rc;
}

static int campaigns(struct mq_db *db, struct mq_stats *st,
    struct mq_err *err)
{
	struct mq_db_stats_counts *k = NULL;
	struct mq_db_campaign *c = NULL;
	sqlite3_int64 *ids = NULL;
	int n = 0, rc;

	if ((rc = mq_db_campaign_list(db, MQ_DB_ALL, NULL, &c, &n, err)) !=
	    MQ_OK)
		goto out;
	st->campaigns = calloc(n ? n : 1, sizeof *st->campaigns);
	ids = calloc(n ? n : 1, sizeof *ids);
	k = calloc(n ? n : 1, sizeof *k);
	if (st->campaigns == NULL || ids == NULL || k == NULL) {
		rc = mq_err_perm(err, EX_OSERR, "out of memory");
		goto out;
	}
	for (int i = 0; i < n; i++)
		ids[i] = c[i].id;
	rc = mq_db_stats_counts(db, ids, n, st->now - st->stuck_after, k, err);
	for (int i = 0; i < n; i++) {
		st->campaigns[i].c = c[i];     /* owned by st from here */
		st->campaigns[i].k = k[i];
	}
	st->n_campaigns = n;
	free(c);
	c = NULL;
	for (int i = 0; rc == MQ_OK && i < st->n_campaigns; i++)
		rc = campaign_figures(db, &st->campaigns[i], st->now, err);
out:
	mq_db_campaign_free_all(c, c != NULL ? n : 0);
	free(ids);
	free(k);
	return rc;
}

static int mailboxes_and_senders(struct mq_db *db, struct mq_stats *st,
    const char *tz, struct mq_err *err)
{
	struct mq_db_stats_mailbox *m = NULL;
	struct mq_db_stats_sender *s = NULL;
	char day[16];
	time_t day0 = st->now;
	int nm = 0, ns = 0, rc;

	rc = mq_sched_local_day(tz, st->now, day, sizeof day, &day0, NULL, err);
	if (rc == MQ_OK)
		rc = mq_db_stats_mailboxes(db, &m, &nm, err);
	if (rc == MQ_OK)
		rc = mq_db_stats_senders(db, &s, &ns, err);
	if (rc != MQ_OK)
		goto out;
	st->mailboxes = calloc(nm ? nm : 1, sizeof *st->mailboxes);
	st->senders = calloc(ns ? ns : 1, sizeof *st->senders);
	if (st->mailboxes == NULL || st->senders == NULL) {
		rc = mq_err_perm(err, EX_OSERR, "out of memory");
		goto out;
	}
	for (st->n_mailboxes = 0; rc == MQ_OK && st->n_mailboxes < nm;
	    st->n_mailboxes++) {
		struct mq_stats_mailbox *b = &st->mailboxes[st->n_mailboxes];

		b->m = m[st->n_mailboxes];
		rc = mq_db_stats_today(db, MQ_DB_STATS_MAILBOX, b->m.id, day0,
		    &b->today, err);
		if (rc == MQ_OK)
			rc = mq_db_bounce_count(db, b->m.id, &b->bounced,
			    &b->window, err);
	}
	for (st->n_senders = 0; rc == MQ_OK && st->n_senders < ns;
	    st->n_senders++) {
		st->senders[st->n_senders].s = s[st->n_senders];
		rc = mq_db_stats_today(db, MQ_DB_STATS_SENDER,
		    s[st->n_senders].id, day0,
		    &st->senders[st->n_senders].today, err);
	}
out:
	free(m);
	free(s);
	return rc;
}

static int health(struct mq_db *db, struct mq_stats *st, struct mq_err *err)
{
	struct mq_stats_health *h = &st->health;

	for (int i = 0; i < st->n_campaigns; i++) {
		h->stuck += st->campaigns[i].k.stuck;
		h->unknown += st->campaigns[i].k.msg[MQ_MSG_UNKNOWN];
	}
	for (int i = 0; i < st->n_mailboxes; i++)
		if (!st->mailboxes[i].m.retired &&
		    st->mailboxes[i].m.failing_since != 0)
			h->mailboxes_failing++;
	return mq_db_stats_duplicates(db, &h->duplicates, err);
}

/* The buffer's upcoming messages with their projected send times. */
static int upcoming(struct mq_db *db, const struct mq_stats_campaign *sc,
    time_t now, struct mq_stats_detail *d, struct mq_err *err)
{
	struct mq_db_stats_item *items = NULL;
	time_t *due = NULL, *at = NULL;
	int n = 0, rc, sending;

	rc = mq_db_stats_pending(db, sc->c.id, sc->c.buffer, &items, &n, err);
	if (rc != MQ_OK)
		goto out;
	d->upcoming = calloc(n ? n : 1, sizeof *d->upcoming);
	due = calloc(n ? n : 1, sizeof *due);
	at = calloc(n ? n : 1, sizeof *at);
	if (d->upcoming == NULL || due == NULL || at == NULL) {
		rc = mq_err_perm(err, EX_OSERR, "out of memory");
		goto out;
	}
	for (int i = 0; i < n; i++)
		due[i] = items[i].due;
	sending = mq_db_campaign_sending(&sc->c);
	if (sending && mq_stats_project(&sc->c.sched, sc->c.next_send_at, now,
	    sc->c.delay, sc->c.daily_limit, sc->today, due, n, at, NULL) != MQ_OK)
		memset(at, 0, n * sizeof *at);
	for (int i = 0; i < n; i++) {
		d->upcoming[i].at = sending ? at[i] : 0;
		memcpy(d->upcoming[i].lead, items[i].lead, sizeof items[i].lead);
		d->upcoming[i].step = items[i].step;
	}
	d->n_upcoming = n;
out:
	free(items);
	free(due);
	free(at);
	return rc;
}

static int detail(struct mq_db *db, struct mq_stats *st, const char *name,
    int recent, struct mq_err *err)
{
	struct mq_stats_detail *d;
	sqlite3_int64 id;
	int i, rc;

	for (i = 0; i < st->n_campaigns; i++)
		if (strcmp(st->campaigns[i].c.name, name) == 0)
			break;
	if (i == st->n_campaigns)
		return mq_err_perm(err, EX_NOINPUT,
		    "campaign '%s': no such campaign", name);
	if ((d = st->detail = calloc(1, sizeof *d)) == NULL)
		return mq_err_perm(err, EX_OSERR, "out of memory");
	d->index = i;
	id = st->campaigns[i].c.id;
	rc = mq_db_stats_steps(db, id, &d->steps, &d->n_steps, err);
	if (rc == MQ_OK)
		rc = mq_db_stats_failures(db, id, &d->failures, &d->n_failures,
		    err);
	if (rc == MQ_OK)
		rc = upcoming(db, &st->campaigns[i], st->now, d, err);
	if (rc == MQ_OK && recent > 0)
		rc = mq_db_stats_recent(db, id, recent, &d->recent,
		    &d->n_recent, err);
	return rc;
}

int mq_stats_collect(struct mq_db *db, const struct mq_stats_req *req,
    struct mq_stats *st, struct mq_err *err)
{
	int rc;

	memset(st, 0, sizeof *st);
	st->now = req->now;
	st->timezone = req->timezone;
	st->stuck_after = req->stuck_after;
	if ((rc = mq_db_stats_begin(db, err)) != MQ_OK)
		return rc;
	rc = campaigns(db, st, err);
	if (rc == MQ_OK)
		rc = mailboxes_and_senders(db, st, req->timezone, err);
	if (rc == MQ_OK)
		rc = health(db, st, err);
	if (rc == MQ_OK && req->campaign != NULL)
		rc = detail(db, st, req->campaign, req->recent, err);
	st->inbox_asked = req->inbox > 0;
	if (rc == MQ_OK && st->inbox_asked)
		rc = mq_db_stats_inbox(db, req->inbox, &st->inbox, &st->n_inbox,
		    err);
	mq_db_stats_end(db);
	return rc;
}

void mq_stats_free(struct mq_stats *st)
{
	for (int i = 0; i < st->n_campaigns; i++) {
		mq_db_campaign_free(&st->campaigns[i].c);
		free(st->campaigns[i].waiting);
	}
	free(st->campaigns);
	free(st->mailboxes);
	free(st->senders);
	free(st->inbox);
	if (st->detail != NULL) {
		free(st->detail->steps);
		free(st->detail->failures);
		free(st->detail->upcoming);
		free(st->detail->recent);
		free(st->detail);
	}
	memset(st, 0, sizeof *st);
}
