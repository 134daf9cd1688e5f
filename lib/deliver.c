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
#include "log.h"
#include "tmpl.h"
#include "tokens.h"

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

/* The Date header is in the campaign's zone, as the salesperson's own
 * mail client would write it; UTC if that cannot be worked out. */
static void date_zone(const struct mq_conf *conf, const char *campaign,
    time_t now, long *off)
{
	const struct mq_conf_campaign *k = mq_conf_campaign(conf, campaign);
	const char *tz = k != NULL && k->timezone != NULL ? k->timezone :
	    conf->timezone;

	if (tz == NULL || mq_sched_utc_offset(tz, now, off, NULL) != MQ_OK)
		*off = 0;
}

int mq_deliver_compose(const struct mq_conf *conf, const struct mq_claim *c,
    const struct mq_db_parts *p, time_t now, struct mq_composed *m,
    struct mq_err *err)
{
	struct mq_msg msg;
	char *text = NULL, *html = NULL;
	int rc;

	memset(m, 0, sizeof *m);
	if ((m->mb = mq_conf_mailbox(conf, c->mailbox)) == NULL)
		return mq_err_perm(err, EX_CONFIG, "mailbox %s is not in the "
		    "config; run mailq-init", c->mailbox);
	if ((rc = render_all(p, &m->subject, &text, &html, err)) != MQ_OK)
		goto out;
	mq_msg_id(p->salt, c->campaign, c->lead_id, c->step, m->mb->address,
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
	msg.in_reply_to = p->prev_message_id;
	msg.date = now;
	date_zone(conf, p->campaign_name, now, &msg.date_offset);
	unsubscribe(conf, p, c, m, &msg);
	rc = mq_msg_build(&msg, &m->data, &m->len, err);
out:
	free(text);
	free(html);
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

	if (h->db == NULL || mq_clock_now(&now, &h->err) != MQ_OK)
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

/* Records r, retrying while the database is busy: an outcome is worth a
 * few seconds more. */
static int record(struct mq_flight *f, const struct mq_result *r,
    struct mq_recorded *rec, struct mq_err *err);

/* One message between its claim and its outcome. */
struct mq_flight {
	struct mq_db                    *db;
	const struct mq_owner           *owner;
	const struct mq_db_campaign     *camp;
	struct mq_claim                  c;
	struct mq_db_parts               parts;  /* what c is composed of */
	struct mq_composed               m;
	struct mq_smtp_xfer             *x;
	struct hook_arg                  h;
	CURLcode                         cc;     /* how the transfer ended */
	char                            *bearer; /* OAuth2 access token */
	int                              transient; /* the mailbox could not
	                                               be used this time */
	const char                      *tokens; /* the token file */
};

void mq_flight_free(struct mq_flight *f)
{
	if (f == NULL)
		return;
	mq_smtp_xfer_free(f->x);
	mq_deliver_free(&f->m);
	mq_db_parts_free(&f->parts);
	if (f->bearer != NULL) {
		explicit_bzero(f->bearer, strlen(f->bearer));
		free(f->bearer);
	}
	free(f);
}

CURL *mq_flight_easy(struct mq_flight *f)
{
	return mq_smtp_xfer_easy(f->x);
}

void mq_flight_perform(struct mq_flight *f, struct mq_db *db)
{
	f->db = db;
	f->h.db = db;
	f->cc = curl_easy_perform(mq_smtp_xfer_easy(f->x));
}

CURLcode mq_flight_result(const struct mq_flight *f)
{
	return f->cc;
}

const struct mq_claim *mq_flight_claim(const struct mq_flight *f)
{
	return &f->c;
}

/* Records what the transport's result res means for f's message. */
static int conclude(struct mq_flight *f, const struct mq_smtp_result *res,
    struct mq_delivered *d, struct mq_err *err)
{
	const struct mq_claim *c = &f->c;
	struct mq_result r;
	int rc;

	memset(d, 0, sizeof *d);
	memset(&r, 0, sizeof r);
	if ((rc = mq_clock_now(&r.now, err)) != MQ_OK)
		return rc;
	r.outcome = outcome_of(res->outcome, c->attempts,
	    f->camp->retry_attempts, &r.exhausted);
	r.code = res->code;
	r.reply = res->reply;
	r.fingerprint = f->m.mb != NULL ? f->m.mb->fingerprint : NULL;
	r.transient = f->transient;
	/* a token the server refused is not used again */
	if (r.outcome == MQ_OUT_MAILBOX && f->bearer != NULL)
		mq_tokens_expire(f->tokens, f->m.mb->name, NULL);
	if (r.outcome == MQ_OUT_RETRY)
		r.retry_at = r.now + mq_db_campaign_backoff(f->camp,
		    c->attempts);
	d->outcome = r.outcome;
	d->code = r.code;
	d->unavailable = f->transient;
	snprintf(d->reply, sizeof d->reply, "%s", res->reply);
	return record(f, &r, &d->rec, err);
}

/* Records r, the next step included, retrying while the database is busy:
 * an outcome is worth a few seconds more. */
static int record(struct mq_flight *f, const struct mq_result *r,
    struct mq_recorded *rec, struct mq_err *err)
{
	int rc = MQ_TEMP;

	for (int i = 0; i < 3 && rc == MQ_TEMP; i++)
		rc = mq_db_record(f->db, &f->camp->sched, &f->c, f->owner, r,
		    rec, err);
	return rc;
}

/* A message that could not be handed to a transport: nothing was sent. */
static int refuse(struct mq_flight *f, enum mq_smtp_outcome o,
    const char *why, struct mq_delivered *d, struct mq_err *err)
{
	struct mq_smtp_result res = { o, 0, "" };

	snprintf(res.reply, sizeof res.reply, "%.500s", why);
	return conclude(f, &res, d, err);
}

/* Sends through a transport that sends at once ("file"), not through an
 * easy handle run by the caller's thread. */
static int send_now(struct mq_flight *f, const struct mq_transport *t,
    struct mq_delivered *d, struct mq_err *err)
{
	struct mq_smtp_session to = { f->m.mb->connect_timeout,
	    f->m.mb->timeout, NULL };
	struct mq_smtp_result res;
	struct mq_err terr;

	memset(&res, 0, sizeof res);
	if (t->send(f->m.mb, f->m.mb->address, f->c.email, f->m.data, f->m.len,
	    &to, data_hook, &f->h, &res, &terr) != MQ_OK)
		return refuse(f, MQ_SMTP_REJECT, terr.msg, d, err);
	if (res.outcome == MQ_SMTP_ABORTED && f->h.err.msg[0] != '\0')
		snprintf(res.reply, sizeof res.reply, "%.500s", f->h.err.msg);
	return conclude(f, &res, d, err);
}

/* The mailbox's OAuth2 access token, refreshed if it must be. A refusal
 * of the provider fails the mailbox (it rests until mailq-auth is run); a
 * provider out of reach makes it unusable for this run only. */
static int token(struct mq_flight *f, const struct mq_conf *conf,
    struct mq_err *err)
{
	int refreshed, rc;

	f->tokens = conf->tokens;
	rc = mq_tokens_access(conf->tokens, f->m.mb, &f->bearer, &refreshed,
	    err);
	if (rc == MQ_TEMP)
		f->transient = 1;
	if (rc == MQ_OK && refreshed)
		mq_log(MQ_LOG_INFO, "mailbox=%s oauth2=refreshed",
		    f->m.mb->name);
	return rc;
}

static int start(struct mq_flight *f, const struct mq_conf *conf,
    struct mq_delivered *d, int *flying, struct mq_err *err)
{
	struct mq_smtp_session to;
	const struct mq_transport *t;
	struct mq_err cerr;
	time_t now;
	int rc;

	*flying = 0;
	if ((rc = mq_clock_now(&now, err)) != MQ_OK)
		return rc;
	/* A mailbox missing from the config is the mailbox's fault; what
	 * keeps one message from being composed (a template error, a field
	 * the lead lacks, a header that would break) is that message's own
	 * and fails it alone; a temporary error is tried again. */
	if (mq_conf_mailbox(conf, f->c.mailbox) == NULL)
		return refuse(f, MQ_SMTP_MAILBOX, "not in the config; run "
		    "mailq-init", d, err);
	if ((rc = mq_deliver_compose(conf, &f->c, &f->parts, now, &f->m,
	    &cerr)) != MQ_OK)
		return refuse(f, rc == MQ_TEMP ? MQ_SMTP_TEMP : MQ_SMTP_REJECT,
		    cerr.msg, d, err);
	f->h = (struct hook_arg){ f->db, &f->c, f->owner, f->m.message_id,
	    f->m.subject, { 0, "" } };
	if ((t = mq_smtp_for(f->m.mb)) == NULL)
		return refuse(f, MQ_SMTP_REJECT, "no transport for this "
		    "mailbox's URL", d, err);
	if (t != mq_smtp_transport("smtp"))
		return send_now(f, t, d, err);
	if (f->m.mb->auth == MQ_AUTH_OAUTH2 &&
	    (rc = token(f, conf, &cerr)) != MQ_OK)
		return refuse(f, MQ_SMTP_MAILBOX, cerr.msg, d, err);
	to = (struct mq_smtp_session){ f->m.mb->connect_timeout,
	    f->m.mb->timeout, f->bearer };
	if (mq_smtp_xfer_new(&f->x, f->m.mb, f->m.mb->address, f->c.email,
	    f->m.data, f->m.len, &to, data_hook, &f->h, &cerr) != MQ_OK)
		return refuse(f, MQ_SMTP_REJECT, cerr.msg, d, err);
	*flying = 1;
	return MQ_OK;
}

int mq_deliver_start(struct mq_db *db, const struct mq_conf *conf,
    const struct mq_owner *owner, const struct mq_db_campaign *camp,
    const struct mq_claim *c, struct mq_db_parts *parts,
    struct mq_flight **fp, struct mq_delivered *d, struct mq_err *err)
{
	struct mq_flight *f;
	int flying, rc;

	*fp = NULL;
	if ((f = calloc(1, sizeof *f)) == NULL) {
		mq_db_parts_free(parts);
		return mq_err_temp(err, "out of memory");
	}
	f->db = db;
	f->owner = owner;
	f->camp = camp;
	f->c = *c;
	f->parts = *parts;          /* the flight's now */
	memset(parts, 0, sizeof *parts);
	rc = start(f, conf, d, &flying, err);
	if (rc == MQ_OK && flying)
		*fp = f;
	else
		mq_flight_free(f);
	return rc;
}

int mq_deliver_finish(struct mq_flight *f, CURLcode cc,
    struct mq_delivered *d, struct mq_err *err)
{
	struct mq_smtp_result res;

	memset(&res, 0, sizeof res);
	mq_smtp_xfer_done(f->x, cc, &res);
	if (res.outcome == MQ_SMTP_ABORTED && f->h.err.msg[0] != '\0')
		snprintf(res.reply, sizeof res.reply, "%.500s", f->h.err.msg);
	return conclude(f, &res, d, err);
}
