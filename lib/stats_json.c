/*
 * mailq-stats as JSON: see stats_json.h. A small writer puts one value
 * on a line, indented by depth, so that a diff of two runs reads well;
 * the document is written as the collection is walked.
 */
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "sched.h"
#include "stats_json.h"
#include "text.h"

/* A small JSON writer: one value per line, indented by depth. */
struct js {
	FILE *f;
	int   depth;
	int   more[16];     /* a value was written at this depth */
};

/* Bytes that are not UTF-8 (a server's reply may hold any) become
 * U+FFFD, so the document is always valid JSON. */
static void js_string(FILE *f, const char *s)
{
	size_t i = 0, len = strlen(s);
	long cp;
	int n;

	fputc('"', f);
	while (i < len) {
		n = mq_text_utf8_next(s + i, len - i, &cp);
		if (cp < 0)
			fputs("\\ufffd", f);
		else if (cp == '"' || cp == '\\')
			fprintf(f, "\\%c", (int)cp);
		else if (cp < 0x20)
			fprintf(f, "\\u%04x", (unsigned)cp);
		else
			fwrite(s + i, 1, (size_t)n, f);
		i += (size_t)n;
	}
	fputc('"', f);
}

static void js_key(struct js *j, const char *key)
{
	if (j->depth > 0)
		fprintf(j->f, "%s\n%*s", j->more[j->depth] ? "," : "",
		    2 * j->depth, "");
	j->more[j->depth] = 1;
	if (key != NULL) {
		js_string(j->f, key);
		fputs(": ", j->f);
	}
}

static void js_open(struct js *j, const char *key, char c)
{
	js_key(j, key);
	fputc(c, j->f);
	j->more[++j->depth] = 0;
}

static void js_close(struct js *j, char c)
{
	int empty = !j->more[j->depth--];

	if (!empty)
		fprintf(j->f, "\n%*s", 2 * j->depth, "");
	fputc(c, j->f);
	if (j->depth == 0)
		fputc('\n', j->f);
}

static void js_int(struct js *j, const char *key, long long v)
{
	js_key(j, key);
	fprintf(j->f, "%lld", v);
}

static void js_bool(struct js *j, const char *key, int v)
{
	js_key(j, key);
	fputs(v ? "true" : "false", j->f);
}

/* A string, or null for NULL or "". */
static void js_str(struct js *j, const char *key, const char *v)
{
	js_key(j, key);
	if (v == NULL || *v == '\0')
		fputs("null", j->f);
	else
		js_string(j->f, v);
}

/* A number that 0 means is missing (an epoch, an SMTP code), or null for
 * 0. */
static void js_or_null(struct js *j, const char *key, long long v)
{
	js_key(j, key);
	if (v == 0)
		fputs("null", j->f);
	else
		fprintf(j->f, "%lld", v);
}

/* An epoch as local time in tz, or null for 0. */
static void js_local(struct js *j, const char *key, const char *tz, time_t v)
{
	char t[48] = "";

	if (v != 0)
		mq_sched_format(tz, v, "%Y-%m-%dT%H:%M:%S%z", t, sizeof t, NULL);
	js_str(j, key, t);
}

static void js_counts(struct js *j, const char *key, const int *v,
    const char *const *names, int n)
{
	js_open(j, key, '{');
	for (int i = 0; i < n; i++)
		js_int(j, names[i], v[i]);
	js_close(j, '}');
}

/* "percent": part of whole, one decimal */
static void js_percent(struct js *j, const char *key, int part, int whole)
{
	js_key(j, key);
	fprintf(j->f, "%.1f", mq_stats_percent(part, whole));
}

static void js_reply_rate(struct js *j, const char *letter, int contacted,
    int replied)
{
	js_open(j, letter != NULL ? NULL : "reply_rate", '{');
	if (letter != NULL)
		js_str(j, "variant", letter);
	js_int(j, "contacted", contacted);
	js_int(j, "replied", replied);
	js_percent(j, "percent", replied, contacted);
	js_close(j, '}');
}

/* What came back for a campaign. */
static void json_answers(struct js *j, const struct mq_db_stats_counts *k)
{
	static const int matched[] = { MQ_IN_REPLY, MQ_IN_AUTO_REPLY,
	    MQ_IN_HARD_BOUNCE, MQ_IN_SOFT_BOUNCE, MQ_IN_UNSUBSCRIBE };

	js_open(j, "inbound", '{');
	for (size_t i = 0; i < sizeof matched / sizeof matched[0]; i++)
		js_int(j, mq_db_inbound_classes[matched[i]],
		    k->inbound[matched[i]]);
	js_close(j, '}');
	js_int(j, "resolved", k->resolved);
	js_reply_rate(j, NULL, k->contacted, k->replied);
	js_open(j, "variants", '[');
	for (int i = 0; i < k->n_variants; i++)
		js_reply_rate(j, k->variant[i].letter, k->variant[i].contacted,
		    k->variant[i].replied);
	js_close(j, ']');
}

static void json_campaign(struct js *j, const struct mq_stats_campaign *sc)
{
	js_open(j, NULL, '{');
	js_str(j, "name", sc->c.name);
	js_str(j, "status", mq_db_campaign_states[sc->c.status]);
	js_bool(j, "retired", sc->c.retired);
	js_str(j, "sender", sc->c.sender);
	js_str(j, "timezone", sc->c.sched.timezone);
	js_int(j, "daily_limit", sc->c.daily_limit);
	js_int(j, "sent_today", sc->today);
	js_int(j, "leads_total", sc->leads);
	js_counts(j, "leads", sc->k.lead, mq_db_lead_states, MQ_LEAD_N);
	js_counts(j, "messages", sc->k.msg, mq_db_msg_states, MQ_MSG_N);
	js_open(j, "queue", '{');
	js_int(j, "pending", sc->k.pending);
	js_int(j, "sending", sc->k.sending);
	js_int(j, "stuck", sc->k.stuck);
	js_close(j, '}');
	js_or_null(j, "next_send", sc->next_send);
	js_local(j, "next_send_local", sc->c.sched.timezone, sc->next_send);
	js_open(j, "window", '{');
	js_bool(j, "open", sc->window_open);
	js_str(j, "state", sc->window);
	js_close(j, '}');
	js_key(j, "progress");
	fprintf(j->f, "%.1f", sc->progress);
	js_open(j, "waiting_for_mailbox", '{');
	for (int i = 0; i < sc->n_waiting; i++)
		js_int(j, sc->waiting[i].mailbox, sc->waiting[i].n);
	js_close(j, '}');
	json_answers(j, &sc->k);
	js_close(j, '}');
}

static void json_mailbox(struct js *j, const struct mq_stats_mailbox *m)
{
	js_open(j, NULL, '{');
	js_str(j, "name", m->m.name);
	js_str(j, "sender", m->m.sender);
	js_str(j, "address", m->m.address);
	js_bool(j, "enabled", m->m.enabled);
	js_bool(j, "retired", m->m.retired);
	js_bool(j, "failing", m->m.failing_since != 0);
	js_or_null(j, "failing_since", m->m.failing_since);
	js_str(j, "last_error", m->m.last_error);
	js_or_null(j, "rest_until", m->m.failing_since ? m->m.rest_until : 0);
	js_int(j, "failures", m->m.failures);
	js_int(j, "daily_limit", m->m.daily_limit);
	js_int(j, "sent_today", m->today);
	js_int(j, "sent", m->m.sent);
	js_bool(j, "paused", m->m.paused_at != 0);
	js_or_null(j, "paused_since", m->m.paused_at);
	js_str(j, "paused_why", m->m.paused_why);
	js_open(j, "bounces", '{');
	js_int(j, "bounced", m->bounced);
	js_int(j, "window", m->window);
	js_percent(j, "percent", m->bounced, m->window);
	js_int(j, "pause_above", m->m.bounce_rate);
	js_close(j, '}');
	js_or_null(j, "last_fetch", m->m.fetched_at);
	js_str(j, "fetch_error", m->m.fetch_error);
	js_int(j, "read", m->m.read);
	js_counts(j, "inbound", m->m.inbound, mq_db_inbound_classes, MQ_IN_N);
	js_close(j, '}');
}

static void json_inbox(struct js *j, const struct mq_stats *st)
{
	if (!st->inbox_asked) {
		js_str(j, "inbox", NULL);
		return;
	}
	js_open(j, "inbox", '[');
	for (int i = 0; i < st->n_inbox; i++) {
		const struct mq_db_stats_inbound *m = &st->inbox[i];

		js_open(j, NULL, '{');
		js_or_null(j, "read_at", m->read_at);
		js_str(j, "mailbox", m->mailbox);
		js_str(j, "folder", m->folder);
		js_str(j, "from", m->from);
		js_str(j, "subject", m->subject);
		js_str(j, "class", m->cls);
		js_str(j, "reason", m->reason);
		js_str(j, "lead", m->lead);
		js_str(j, "campaign", m->campaign);
		js_bool(j, "resolved", m->resolved);
		js_close(j, '}');
	}
	js_close(j, ']');
}

static void json_sender(struct js *j, const struct mq_stats_sender *s)
{
	js_open(j, NULL, '{');
	js_str(j, "name", s->s.name);
	js_bool(j, "retired", s->s.retired);
	js_int(j, "daily_limit", s->s.daily_limit);
	js_int(j, "sent_today", s->today);
	js_int(j, "mailboxes", s->s.mailboxes);
	js_int(j, "campaigns", s->s.campaigns);
	js_close(j, '}');
}

static void json_lists(struct js *j, const struct mq_stats_detail *d,
    const char *tz)
{
	js_open(j, "upcoming", '[');
	for (int i = 0; i < d->n_upcoming; i++) {
		js_open(j, NULL, '{');
		js_or_null(j, "at", d->upcoming[i].at);
		js_local(j, "at_local", tz, d->upcoming[i].at);
		js_int(j, "step", d->upcoming[i].step);
		js_str(j, "lead", d->upcoming[i].lead);
		js_close(j, '}');
	}
	js_close(j, ']');
	js_open(j, "recent", '[');
	for (int i = 0; i < d->n_recent; i++) {
		const struct mq_db_stats_send *s = &d->recent[i];

		js_open(j, NULL, '{');
		js_or_null(j, "at", s->at);
		js_local(j, "at_local", tz, s->at);
		js_str(j, "lead", s->lead);
		js_str(j, "mailbox", s->mailbox);
		js_int(j, "step", s->step);
		js_str(j, "variant", s->letter);
		js_str(j, "outcome", s->outcome);
		js_or_null(j, "code", s->code);
		js_str(j, "reply", s->reply);
		js_close(j, '}');
	}
	js_close(j, ']');
}

static void json_detail(struct js *j, const struct mq_stats *st)
{
	const struct mq_stats_detail *d = st->detail;
	const struct mq_stats_campaign *sc = &st->campaigns[d->index];

	js_open(j, "detail", '{');
	js_str(j, "campaign", sc->c.name);
	js_open(j, "steps", '[');
	for (int i = 0; i < d->n_steps; i++) {
		js_open(j, NULL, '{');
		js_int(j, "step", d->steps[i].step);
		js_str(j, "variant", d->steps[i].letter);
		js_counts(j, "messages", d->steps[i].msg, mq_db_msg_states,
		    MQ_MSG_N);
		js_close(j, '}');
	}
	js_close(j, ']');
	js_open(j, "failures", '[');
	for (int i = 0; i < d->n_failures; i++) {
		js_open(j, NULL, '{');
		js_or_null(j, "code", d->failures[i].code);
		js_int(j, "attempts", d->failures[i].count);
		js_str(j, "last_reply", d->failures[i].reply);
		js_close(j, '}');
	}
	js_close(j, ']');
	json_lists(j, d, sc->c.sched.timezone);
	js_close(j, '}');
}

void mq_stats_json_print(const struct mq_stats *st, FILE *out)
{
	const struct mq_stats_health *h = &st->health;
	struct js j = { .f = out };
	char iso[32];

	mq_clock_iso(st->now, iso, sizeof iso);
	js_open(&j, NULL, '{');
	js_int(&j, "version", MQ_STATS_JSON_VERSION);
	js_int(&j, "generated_at", st->now);
	js_str(&j, "generated_at_iso", iso);
	js_int(&j, "stuck_after", st->stuck_after);
	js_open(&j, "campaigns", '[');
	for (int i = 0; i < st->n_campaigns; i++)
		json_campaign(&j, &st->campaigns[i]);
	js_close(&j, ']');
	js_open(&j, "mailboxes", '[');
	for (int i = 0; i < st->n_mailboxes; i++)
		json_mailbox(&j, &st->mailboxes[i]);
	js_close(&j, ']');
	js_open(&j, "senders", '[');
	for (int i = 0; i < st->n_senders; i++)
		json_sender(&j, &st->senders[i]);
	js_close(&j, ']');
	js_open(&j, "health", '{');
	js_int(&j, "stuck", h->stuck);
	js_int(&j, "unknown", h->unknown);
	js_int(&j, "duplicates", h->duplicates);
	js_int(&j, "mailboxes_failing", h->mailboxes_failing);
	js_close(&j, '}');
	if (st->detail != NULL)
		json_detail(&j, st);
	else
		js_str(&j, "detail", NULL);
	json_inbox(&j, st);
	js_close(&j, '}');
}
