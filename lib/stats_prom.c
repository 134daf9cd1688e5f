/*
 * mailq-stats as Prometheus metrics: see stats_prom.h. Most families
 * hold one sample per campaign, mailbox or sender: those are tables
 * (name, type, help) walked by one loop, with a function giving each
 * sample's labels and value; a figure by state is one sample per state.
 */
#include <stdio.h>

#include "stats_prom.h"

struct family {
	const char *name, *type, *help;
};

/* A sample's labels: n (key, value) pairs. */
struct labels {
	int         n;
	const char *kv[8];
};

/* Sample i of family m, and its labels. */
typedef double value_fn(const struct mq_stats *st, int i, int m,
    struct labels *l);

static void head(FILE *f, const struct family *m)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name,
	    m->type);
}

static void escape(FILE *f, const char *s)
{
	for (; *s != '\0'; s++)
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
}

/* name{k1="v1",...} value */
static void sample(FILE *f, const char *name, double v,
    const struct labels *l)
{
	fputs(name, f);
	for (int i = 0; i < l->n; i++) {
		fprintf(f, "%s%s=\"", i ? "," : "{", l->kv[2 * i]);
		escape(f, l->kv[2 * i + 1]);
		fputc('"', f);
	}
	fprintf(f, "%s %.10g\n", l->n ? "}" : "", v);
}

/* Each family of fam[0..nfam), with a sample for each of n objects. */
static void families(FILE *f, const struct mq_stats *st,
    const struct family *fam, size_t nfam, int n, value_fn *value)
{
	struct labels l;
	double v;

	for (size_t m = 0; m < nfam; m++) {
		head(f, &fam[m]);
		for (int i = 0; i < n; i++) {
			v = value(st, i, (int)m, &l);
			sample(f, fam[m].name, v, &l);
		}
	}
}

/* One sample per state of one owner: name{key="owner",skey="state"}. */
static void by_state(FILE *f, const char *name, const char *key,
    const char *owner, const char *skey, const char *const *states,
    const int *v, int n)
{
	for (int s = 0; s < n; s++)
		sample(f, name, v[s], &(struct labels){ 2, { key, owner, skey,
		    states[s] } });
}

static double ratio(int part, int whole)
{
	return mq_stats_percent(part, whole) / 100.0;
}

static const struct family campaign_family[] = {
	{ "mailq_campaign_sent_total", "counter", "Messages sent." },
	{ "mailq_campaign_failed_total", "counter",
	  "Messages given up after their retries or refused." },
	{ "mailq_campaign_bounced_total", "counter",
	  "Messages whose recipient was refused (5xx)." },
	{ "mailq_campaign_sent_today", "gauge",
	  "Messages counted against today's limit (local day)." },
	{ "mailq_campaign_daily_limit", "gauge", "The campaign's daily limit." },
	{ "mailq_campaign_window_open", "gauge",
	  "1 if the sending window is open now." },
	{ "mailq_campaign_next_send_timestamp_seconds", "gauge",
	  "When the next message may go (0: not sending)." },
	{ "mailq_campaign_progress_ratio", "gauge",
	  "Share of the leads that are finished." },
	{ "mailq_campaign_stuck_claims", "gauge",
	  "Claims in 'sending' for longer than the stuck limit." },
	{ "mailq_campaign_replies_total", "counter",
	  "Replies read by mailq-fetch and matched to the campaign." },
	{ "mailq_campaign_auto_replies_total", "counter",
	  "Automatic replies (out of office) matched to the campaign." },
	{ "mailq_campaign_unsubscribes_total", "counter",
	  "Requests by mail to be removed, matched to the campaign." },
	{ "mailq_campaign_resolved_total", "counter",
	  "Messages of unknown fate proved delivered by what came back or "
	  "by the Sent folder." },
	{ "mailq_campaign_contacted_leads", "gauge",
	  "Leads whose first message left (sent, bounced or unknown)." },
	{ "mailq_campaign_replied_leads", "gauge",
	  "Contacted leads that replied." },
	{ "mailq_campaign_reply_rate", "gauge",
	  "Replied leads / contacted leads (0 when none was contacted)." },
};

static double campaign_value(const struct mq_stats *st, int i, int m,
    struct labels *l)
{
	const struct mq_stats_campaign *sc = &st->campaigns[i];
	const struct mq_db_stats_counts *k = &sc->k;

	*l = (struct labels){ 1, { "campaign", sc->c.name } };
	switch (m) {
	case 0: return k->msg[MQ_MSG_SENT];
	case 1: return k->msg[MQ_MSG_FAILED];
	case 2: return k->msg[MQ_MSG_BOUNCED];
	case 3: return sc->today;
	case 4: return sc->c.daily_limit;
	case 5: return sc->window_open;
	case 6: return (double)sc->next_send;
	case 7: return sc->progress / 100.0;
	case 8: return k->stuck;
	case 9: return k->inbound[MQ_IN_REPLY];
	case 10: return k->inbound[MQ_IN_AUTO_REPLY];
	case 11: return k->inbound[MQ_IN_UNSUBSCRIBE];
	case 12: return k->resolved;
	case 13: return k->contacted;
	case 14: return k->replied;
	default: return ratio(k->replied, k->contacted);
	}
}

static const struct family by_state_family[] = {
	{ "mailq_campaign_leads", "gauge", "Leads by state." },
	{ "mailq_campaign_messages", "gauge",
	  "Messages in the send log by state." },
	{ "mailq_campaign_queue", "gauge",
	  "Queue items waiting (pending) or claimed (sending)." },
	{ "mailq_campaign_bounces_total", "counter",
	  "Bounce reports read by mailq-fetch and matched to the campaign; "
	  "a soft bounce that became hard counts as hard." },
	{ "mailq_inbound_messages_total", "counter",
	  "Messages mailq-fetch read from the mailbox, by class." },
	{ "mailq_step_messages", "gauge",
	  "Messages of one step and variant by state (with --campaign)." },
};

enum { LEADS, MESSAGES, QUEUE, BOUNCES, INBOUND, STEPS };

/* Family m of by_state_family for every campaign. */
static void campaign_states(const struct mq_stats *st, FILE *f, int m)
{
	static const char *const queue[] = { "pending", "sending" };
	static const char *const kind[] = { "hard", "soft" };
	const struct family *fam = &by_state_family[m];

	head(f, fam);
	for (int i = 0; i < st->n_campaigns; i++) {
		const struct mq_db_stats_counts *k = &st->campaigns[i].k;
		const char *name = st->campaigns[i].c.name;

		if (m == LEADS)
			by_state(f, fam->name, "campaign", name, "status",
			    mq_db_lead_states, k->lead, MQ_LEAD_N);
		else if (m == MESSAGES)
			by_state(f, fam->name, "campaign", name, "status",
			    mq_db_msg_states, k->msg, MQ_MSG_N);
		else if (m == QUEUE)
			by_state(f, fam->name, "campaign", name, "status", queue,
			    (const int[]){ k->pending, k->sending }, 2);
		else
			by_state(f, fam->name, "campaign", name, "kind", kind,
			    (const int[]){ k->inbound[MQ_IN_HARD_BOUNCE],
			    k->inbound[MQ_IN_SOFT_BOUNCE] }, 2);
	}
}

static const struct family variant_family[] = {
	{ "mailq_variant_contacted_leads", "gauge",
	  "Leads of the variant of step 0 whose first message left." },
	{ "mailq_variant_replied_leads", "gauge",
	  "Of those, leads that replied." },
	{ "mailq_variant_reply_rate", "gauge",
	  "Replied leads / contacted leads of the variant of step 0." },
};

/* Reply rates by step 0's variant, of every campaign. */
static void variants(const struct mq_stats *st, FILE *f)
{
	const struct mq_stats_campaign *c = st->campaigns;
	const struct mq_db_stats_variant *v;
	double x;

	for (int m = 0; m < 3; m++) {
		head(f, &variant_family[m]);
		for (int i = 0; i < st->n_campaigns; i++)
			for (int k = 0; k < c[i].k.n_variants; k++) {
				v = &c[i].k.variant[k];
				x = m == 0 ? v->contacted : m == 1 ? v->replied :
				    ratio(v->replied, v->contacted);
				sample(f, variant_family[m].name, x,
				    &(struct labels){ 2, { "campaign",
				    c[i].c.name, "variant", v->letter } });
			}
	}
}

static void campaigns(const struct mq_stats *st, FILE *f)
{
	const struct mq_stats_campaign *c = st->campaigns;

	head(f, &(struct family){ "mailq_campaign_info", "gauge",
	    "Always 1; the campaign's status and sender as labels." });
	for (int i = 0; i < st->n_campaigns; i++)
		sample(f, "mailq_campaign_info", 1, &(struct labels){ 3, {
		    "campaign", c[i].c.name, "status",
		    mq_db_campaign_states[c[i].c.status],
		    "sender", c[i].c.sender } });
	campaign_states(st, f, LEADS);
	campaign_states(st, f, MESSAGES);
	campaign_states(st, f, QUEUE);
	families(f, st, campaign_family, sizeof campaign_family /
	    sizeof campaign_family[0], st->n_campaigns, campaign_value);
	campaign_states(st, f, BOUNCES);
	variants(st, f);
}

static const struct family mailbox_family[] = {
	{ "mailq_mailbox_sent_total", "counter",
	  "Messages sent from the mailbox." },
	{ "mailq_mailbox_sent_today", "gauge",
	  "Messages counted against the mailbox's limit today." },
	{ "mailq_mailbox_daily_limit", "gauge", "The mailbox's daily limit." },
	{ "mailq_mailbox_enabled", "gauge", "1 if the mailbox is enabled." },
	{ "mailq_mailbox_failing", "gauge",
	  "1 if the mailbox is failing (authentication, TLS)." },
	{ "mailq_mailbox_paused", "gauge",
	  "1 if the mailbox's bounce guard paused it (until resumed)." },
	{ "mailq_mailbox_bounce_rate", "gauge",
	  "Hard bounces among its last bounce_window sends since it was "
	  "resumed, / bounce_window." },
	{ "mailq_mailbox_bounce_rate_limit", "gauge",
	  "The bounce rate above which the mailbox is paused (0: never)." },
	{ "mailq_mailbox_last_fetch_timestamp_seconds", "gauge",
	  "When mailq-fetch last opened one of its folders (0: never)." },
	{ "mailq_mailbox_fetch_failing", "gauge",
	  "1 if a folder of the mailbox could not be read last time." },
};

static double mailbox_value(const struct mq_stats *st, int i, int m,
    struct labels *l)
{
	const struct mq_stats_mailbox *b = &st->mailboxes[i];

	*l = (struct labels){ 2, { "mailbox", b->m.name, "sender",
	    b->m.sender } };
	switch (m) {
	case 0: return b->m.sent;
	case 1: return b->today;
	case 2: return b->m.daily_limit;
	case 3: return b->m.enabled;
	case 4: return b->m.failing_since != 0;
	case 5: return b->m.paused_at != 0;
	case 6: return ratio(b->bounced, b->window);
	case 7: return b->m.bounce_rate / 100.0;
	case 8: return (double)b->m.fetched_at;
	default: return b->m.fetch_error[0] != '\0';
	}
}

static const struct family sender_family[] = {
	{ "mailq_sender_sent_today", "gauge",
	  "Messages counted against the sender's limit today." },
	{ "mailq_sender_daily_limit", "gauge",
	  "The sender's daily limit across its mailboxes." },
};

static double sender_value(const struct mq_stats *st, int i, int m,
    struct labels *l)
{
	const struct mq_stats_sender *s = &st->senders[i];

	*l = (struct labels){ 1, { "sender", s->s.name } };
	return m == 0 ? s->today : s->s.daily_limit;
}

static void mailboxes(const struct mq_stats *st, FILE *f)
{
	const struct family *in = &by_state_family[INBOUND];

	families(f, st, mailbox_family, sizeof mailbox_family /
	    sizeof mailbox_family[0], st->n_mailboxes, mailbox_value);
	head(f, in);
	for (int i = 0; i < st->n_mailboxes; i++)
		by_state(f, in->name, "mailbox", st->mailboxes[i].m.name,
		    "class", mq_db_inbound_classes, st->mailboxes[i].m.inbound,
		    MQ_IN_N);
	families(f, st, sender_family, sizeof sender_family /
	    sizeof sender_family[0], st->n_senders, sender_value);
}

/* The campaign asked for with --campaign, by step and variant. */
static void steps(const struct mq_stats *st, FILE *f)
{
	const struct mq_stats_detail *d = st->detail;
	const struct family *fam = &by_state_family[STEPS];
	char step[32];

	head(f, fam);
	for (int i = 0; i < d->n_steps; i++) {
		snprintf(step, sizeof step, "%d", d->steps[i].step);
		for (int s = 0; s < MQ_MSG_N; s++)
			sample(f, fam->name, d->steps[i].msg[s],
			    &(struct labels){ 4, { "campaign",
			    st->campaigns[d->index].c.name, "step", step,
			    "variant", d->steps[i].letter, "status",
			    mq_db_msg_states[s] } });
	}
}

static const struct family health_family[] = {
	{ "mailq_stuck_claims", "gauge",
	  "Claims in 'sending' for longer than the stuck limit." },
	{ "mailq_unknown_messages", "gauge",
	  "Messages that may or may not have been delivered." },
	{ "mailq_send_log_duplicates", "gauge",
	  "Messages with more than one send-log row; must be 0." },
	{ "mailq_mailboxes_failing", "gauge",
	  "Mailboxes failing authentication or TLS." },
	{ "mailq_stats_timestamp_seconds", "gauge",
	  "When these figures were read." },
};

static double health_value(const struct mq_stats *st, int i, int m,
    struct labels *l)
{
	const struct mq_stats_health *h = &st->health;

	(void)i;
	l->n = 0;
	switch (m) {
	case 0: return h->stuck;
	case 1: return h->unknown;
	case 2: return h->duplicates;
	case 3: return h->mailboxes_failing;
	default: return (double)st->now;
	}
}

void mq_stats_prom_print(const struct mq_stats *st, FILE *f)
{
	campaigns(st, f);
	mailboxes(st, f);
	if (st->detail != NULL)
		steps(st, f);
	families(f, st, health_family, sizeof health_family /
	    sizeof health_family[0], 1, health_value);
}
