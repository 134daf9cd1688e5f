/* One message from claim to outcome: see deliver.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>

#include "clock.h"
#include "deliver.h"
#include "sched.h"
#include "smtp.h"
#include "tmpl.h"

/* A follow-up without a subject of its own replies to the previous one,
 * as a person would: "Re: " once, however deep the thread. */
static int reply_subject(const struct mq_db_parts *p, char **subject,
    struct mq_err *err)
{
	const char *prev = p->prev_subject;
	size_t n;

	if (prev == NULL || *prev == '\0')
		return mq_err_perm(err, EX_DATAERR, "follow-up without a "
		    "subject, and the previous step's subject is unknown");
	n = strlen(prev) + 5;
	if ((*subject = malloc(n)) == NULL)
		return mq_err_temp(err, "out of memory");
	snprintf(*subject, n, "%s%s", strncasecmp(prev, "Re: ", 4) == 0 ?
	    "" : "Re: ", prev);
	return MQ_OK;
}

static int render_all(const struct mq_db_parts *p, char **subject,
    char **text, char **html, struct mq_err *err)
{
	struct mq_tmpl_fields f = { (const char *const *)p->names,
	    (const char *const *)p->values, p->n_fields };
	int rc;

	*subject = *text = *html = NULL;
	if (p->subject[0] == '\0')
		rc = reply_subject(p, subject, err);
	else
		rc = mq_tmpl_render(p->subject, &f, MQ_TMPL_TEXT, subject, err);
	if (rc == MQ_OK)
		rc = mq_tmpl_render(p->text, &f, MQ_TMPL_TEXT, text, err);
	if (rc == MQ_OK && p->html != NULL)
		rc = mq_tmpl_render(p->html, &f, MQ_TMPL_HTML, html, err);
	return rc;
}

/* List-Unsubscribe: the campaign's mailto, else the mailbox's; the URL
 * with the lead's token when the campaign has a base. */
static void unsubscribe(const struct mq_conf *conf,
    const struct mq_db_parts *p, const struct mq_claim *c,
    struct mq_composed *m, struct mq_msg *msg)
{
	const struct mq_conf_campaign *k;
	char tok[MQ_MSG_TOKEN_MAX];
	const char *to;

	k = mq_conf_campaign(conf, p->campaign_name);
	to = k != NULL && k->unsubscribe_mailto != NULL ?
	    k->unsubscribe_mailto : m->mb->unsubscribe_mailto;
	if (to != NULL) {
		snprintf(m->unsub_mailto, sizeof m->unsub_mailto,
		    "%s?subject=unsubscribe", to);
		msg->unsub_mailto = m->unsub_mailto;
	}
	if (k == NULL || k->unsubscribe_url == NULL)
		return;
	mq_msg_unsub_token(p->salt, c->campaign, c->lead_id, tok, sizeof tok);
	snprintf(m->unsub_url, sizeof m->unsub_url, "%s%st=%s",
	    k->unsubscribe_url, strchr(k->unsubscribe_url, '?') != NULL ?
	    "&" : "?", tok);
	msg->unsub_url = m->unsub_url;
}

int mq_deliver_compose(struct mq_db *db, const struct mq_conf *conf,
    const struct mq_claim *c, time_t now, struct mq_composed *m,
    struct mq_err *err)
{
	struct mq_db_parts p;
	struct mq_msg msg;
	char *text = NULL, *html = NULL;
	int rc;

	memset(m, 0, sizeof *m);
	if ((m->mb = mq_conf_mailbox(conf, c->mailbox)) == NULL)
		return mq_err_perm(err, EX_CONFIG, "mailbox %s is not in the "
		    "config; run mailq-init", c->mailbox);
	if ((rc = mq_db_parts(db, c, c->campaign, &p, err)) != MQ_OK)
		return rc;
	if ((rc = render_all(&p, &m->subject, &text, &html, err)) != MQ_OK)
		goto out;
	mq_msg_id(p.salt, c->campaign, c->lead_id, c->step, m->mb->address,
	    m->message_id, sizeof m->message_id);
	memset(&msg, 0, sizeof msg);
	msg.from_addr = m->mb->address;
	msg.from_name = m->mb->display_name;
	msg.to_addr = c->email;
	msg.to_name = "";
	msg.subject = m->subject;
	msg.text = text;
	msg.html = html;
	msg.message_id = m->message_id;
	msg.in_reply_to = p.prev_message_id;
	msg.date = now;
	unsubscribe(conf, &p, c, m, &msg);
	rc = mq_msg_build(&msg, &m->data, &m->len, err);
out:
	free(text);
	free(html);
	mq_db_parts_free(&p);
	if (rc != MQ_OK)
		mq_deliver_free(m);
	return rc;
}

void mq_deliver_free(struct mq_composed *m)
{
	free(m->data);
	free(m->subject);
	m->data = m->subject = NULL;
}

/* The data hook: the claim moves to phase 'data' before the first body
 * byte, or the transfer is aborted. */
struct hook_arg {
	struct mq_db          *db;
	const struct mq_claim *c;
	const struct mq_owner *owner;
	const char            *message_id;
	const char            *subject;
	struct mq_err          err;
};

static int data_hook(void *p)
{
	struct hook_arg *h = p;
	time_t now;

	if (mq_clock_now(&now, &h->err) != MQ_OK)
		return 1;
	return mq_db_phase_data(h->db, h->c, h->owner, h->message_id,
	    h->subject, now, &h->err) != MQ_OK;
}

/* The outcome the queue records for a transport's result. */
static enum mq_outcome outcome_of(enum mq_smtp_outcome o, int attempts,
    int retries, int *exhausted)
{
	*exhausted = 0;
	switch (o) {
	case MQ_SMTP_SENT:
		return MQ_OUT_SENT;
	case MQ_SMTP_BOUNCE:
		return MQ_OUT_BOUNCED;
	case MQ_SMTP_REJECT:
		return MQ_OUT_FAILED;
	case MQ_SMTP_MAILBOX:
		return MQ_OUT_MAILBOX;
	case MQ_SMTP_UNKNOWN:
		return MQ_OUT_UNKNOWN;
	default:
		*exhausted = attempts > retries;
		return *exhausted ? MQ_OUT_FAILED : MQ_OUT_RETRY;
	}
}

/* When the next step falls due: wait_days after now, inside the window. */
static int followup(struct mq_db *db, const struct mq_db_run_campaign *camp,
    const struct mq_claim *c, time_t now, time_t *at, struct mq_err *err)
{
	struct mq_sched s = { camp->timezone, camp->days, camp->start_min,
	    camp->end_min, camp->holidays, camp->extra_holidays };
	int wait, rc;

	*at = 0;
	if ((rc = mq_db_next_step(db, c->campaign, c->step, &wait, err)) !=
	    MQ_OK || wait < 0)
		return rc;
	return mq_sched_next_open(&s, now + (time_t)wait * 86400, at, err);
}

/* Records r, retrying while the database is busy: an outcome is worth a
 * few seconds more. */
static int record(struct mq_db *db, const struct mq_claim *c,
    const struct mq_owner *owner, const struct mq_result *r, int *stale,
    struct mq_err *err)
{
	int rc = MQ_TEMP;

	for (int i = 0; i < 3 && rc == MQ_TEMP; i++)
		rc = mq_db_record(db, c, owner, r, stale, err);
	return rc;
}

static void send_it(struct mq_db *db, const struct mq_owner *owner,
    const struct mq_claim *c, const struct mq_composed *m,
    struct mq_smtp_result *res)
{
	const struct mq_transport *t = mq_smtp_for(m->mb);
	struct hook_arg h = { db, c, owner, m->message_id, m->subject,
	    { 0, "" } };
	struct mq_smtp_timeouts to = { m->mb->connect_timeout, m->mb->timeout };
	struct mq_err err;

	memset(res, 0, sizeof *res);
	if (t == NULL || t->send(m->mb, m->mb->address, c->email, m->data,
	    m->len, &to, data_hook, &h, res, &err) != MQ_OK) {
		res->outcome = MQ_SMTP_REJECT;
		snprintf(res->reply, sizeof res->reply, "%.500s", t == NULL ?
		    "no transport for this mailbox's URL" : err.msg);
	} else if (res->outcome == MQ_SMTP_ABORTED && h.err.msg[0] != '\0') {
		snprintf(res->reply, sizeof res->reply, "%.500s", h.err.msg);
	}
}

int mq_deliver(struct mq_db *db, const struct mq_conf *conf,
    const struct mq_owner *owner, const struct mq_db_run_campaign *camp,
    const struct mq_claim *c, struct mq_delivered *d, struct mq_err *err)
{
	struct mq_smtp_result res;
	struct mq_composed m;
	struct mq_result r;
	struct mq_err cerr;
	int rc;

	memset(d, 0, sizeof *d);
	memset(&r, 0, sizeof r);
	if ((rc = mq_clock_now(&r.now, err)) != MQ_OK)
		return rc;
	if (mq_deliver_compose(db, conf, c, r.now, &m, &cerr) != MQ_OK) {
		/* nothing was sent: a mailbox missing from the config is the
		 * mailbox's fault, a template hole the message's */
		res.outcome = cerr.ex == EX_CONFIG ? MQ_SMTP_MAILBOX :
		    MQ_SMTP_REJECT;
		res.code = 0;
		snprintf(res.reply, sizeof res.reply, "%.500s", cerr.msg);
	} else {
		send_it(db, owner, c, &m, &res);
		mq_deliver_free(&m);
	}
	if ((rc = mq_clock_now(&r.now, err)) != MQ_OK)
		return rc;
	r.outcome = outcome_of(res.outcome, c->attempts, camp->retry_attempts,
	    &r.exhausted);
	r.code = res.code;
	r.reply = res.reply;
	if (r.outcome == MQ_OUT_RETRY)
		r.retry_at = r.now + camp->backoff[c->attempts - 1 < 32 ?
		    c->attempts - 1 : 31];
	if (r.outcome == MQ_OUT_SENT &&
	    (rc = followup(db, camp, c, r.now, &r.followup_at, err)) != MQ_OK)
		return rc;
	d->outcome = r.outcome;
	d->code = r.code;
	snprintf(d->reply, sizeof d->reply, "%s", res.reply);
	return record(db, c, owner, &r, &d->stale, err);
}
