/*
 * mailq-stats as a terminal table: see stats_table.h. The table is built
 * as cells first and printed once every column's width is known, by the
 * display width of lib/text, so UTF-8 names line up.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched.h"
#include "stats_table.h"
#include "text.h"
#include "timefmt.h"

/* A table: rows of cells, printed with every column as wide as its widest
 * cell; align says per column 'l' or 'r'. */
struct tab {
	int          ncol;
	const char  *align;
	char       **cell;
	int          rows, cap;
	int          oom;
};

static void tab_row(struct tab *t, ...)
{
	char **more;
	va_list ap;

	if (t->rows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		more = realloc(t->cell, t->cap * t->ncol * sizeof *more);
		if (more == NULL) {
			t->oom = 1;
			t->cap = t->rows;
			return;
		}
		t->cell = more;
	}
	va_start(ap, t);
	for (int i = 0; i < t->ncol; i++) {
		const char *s = va_arg(ap, const char *);

		if ((t->cell[t->rows * t->ncol + i] = strdup(s)) == NULL)
			t->oom = 1;
	}
	va_end(ap);
	t->rows++;
}

static void tab_print(struct tab *t, FILE *out)
{
	int w[32] = { 0 }, cw, pad;
	const char *s;

	for (int r = 0; r < t->rows; r++)
		for (int i = 0; i < t->ncol && i < 32; i++) {
			s = t->cell[r * t->ncol + i];
			if (s != NULL && (cw = mq_text_width(s)) > w[i])
				w[i] = cw;
		}
	for (int r = 0; r < t->rows; r++) {
		for (int i = 0; i < t->ncol && i < 32; i++) {
			s = t->cell[r * t->ncol + i];
			s = s != NULL ? s : "";
			pad = w[i] - mq_text_width(s);
			if (t->align[i] == 'r')
				fprintf(out, "%*s%s", pad, "", s);
			else if (i + 1 < t->ncol)
				fprintf(out, "%s%*s", s, pad, "");
			else
				fputs(s, out);
			fputs(i + 1 < t->ncol ? "  " : "\n", out);
		}
	}
	for (int i = 0; i < t->rows * t->ncol; i++)
		free(t->cell[i]);
	free(t->cell);
	t->cell = NULL;
	t->rows = t->cap = 0;
}

/* A table without rows is one line: "RECENT  none". */
static int none(int rows, const char *title, FILE *out)
{
	if (rows == 0)
		fprintf(out, "%s  none\n", title);
	return rows == 0;
}

static const char *num(char *buf, size_t len, long long v)
{
	snprintf(buf, len, "%lld", v);
	return buf;
}

static const char *status_of(const struct mq_db_campaign *c, char *buf,
    size_t len)
{
	snprintf(buf, len, "%s%s", mq_db_campaign_states[c->status],
	    c->retired ? " (retired)" : "");
	return buf;
}

/* "Tue 10:01 (in 4 min)", or "-" when it is not sending. */
static const char *next_of(const struct mq_stats_campaign *sc, time_t now,
    char *buf, size_t len)
{
	char t[32] = "?", rel[48];

	if (sc->next_send == 0)
		return "-";
	mq_sched_format(sc->c.sched.timezone, sc->next_send, "%a %H:%M", t, sizeof t,
	    NULL);
	mq_timefmt_relative(sc->next_send, now, rel, sizeof rel);
	snprintf(buf, len, "%.16s (%.40s)", t, rel);
	return buf;
}

static const char campaign_align[] = "llrrrrrrrrrrrrlll";

static void campaign_head(struct tab *t)
{
	t->ncol = sizeof campaign_align - 1;
	t->align = campaign_align;
	tab_row(t, "CAMPAIGN", "STATUS", "LEADS", "QUEUED", "PENDING",
	    "SENDING", "SENT", "FAILED", "BOUNCED", "UNKNOWN", "REPLIED",
	    "UNSUB", "SKIPPED", "TODAY", "NEXT SEND", "WINDOW", "PROGRESS");
}

static void campaign_cells(struct tab *t, const struct mq_stats_campaign *sc,
    time_t now)
{
	const struct mq_db_stats_counts *k = &sc->k;
	char b[14][32], next[64], st[48];

	snprintf(b[11], sizeof b[11], "%d/%d", sc->today, sc->c.daily_limit);
	snprintf(b[12], sizeof b[12], "%.1f%%", sc->progress);
	tab_row(t, sc->c.name, status_of(&sc->c, st, sizeof st),
	    num(b[0], 32, sc->leads), num(b[1], 32, k->lead[MQ_LEAD_QUEUED]),
	    num(b[2], 32, k->pending), num(b[3], 32, k->sending),
	    num(b[4], 32, k->msg[MQ_MSG_SENT]),
	    num(b[5], 32, k->msg[MQ_MSG_FAILED]),
	    num(b[6], 32, k->msg[MQ_MSG_BOUNCED]),
	    num(b[7], 32, k->msg[MQ_MSG_UNKNOWN]),
	    num(b[8], 32, k->lead[MQ_LEAD_REPLIED]),
	    num(b[9], 32, k->lead[MQ_LEAD_UNSUBSCRIBED]),
	    num(b[10], 32, k->lead[MQ_LEAD_SKIPPED]), b[11],
	    next_of(sc, now, next, sizeof next), sc->window, b[12]);
}

static const char *pct(char *buf, size_t len, int part, int whole)
{
	snprintf(buf, len, "%.1f%%", mq_stats_percent(part, whole));
	return buf;
}

static const char answers_align[] = "lrrrrrrrr";

static void answers_head(struct tab *t)
{
	t->ncol = sizeof answers_align - 1;
	t->align = answers_align;
	tab_row(t, "CAMPAIGN", "REPLIES", "AUTO-REPLIES", "HARD BOUNCES",
	    "SOFT BOUNCES", "UNSUBSCRIBES", "RESOLVED", "CONTACTED",
	    "REPLY RATE");
}

/* What came back for a campaign: inbound messages matched to it. */
static void answers_cells(struct tab *t, const struct mq_stats_campaign *sc)
{
	const struct mq_db_stats_counts *k = &sc->k;
	char b[8][32];

	tab_row(t, sc->c.name, num(b[0], 32, k->inbound[MQ_IN_REPLY]),
	    num(b[1], 32, k->inbound[MQ_IN_AUTO_REPLY]),
	    num(b[2], 32, k->inbound[MQ_IN_HARD_BOUNCE]),
	    num(b[3], 32, k->inbound[MQ_IN_SOFT_BOUNCE]),
	    num(b[4], 32, k->inbound[MQ_IN_UNSUBSCRIBE]),
	    num(b[5], 32, k->resolved), num(b[6], 32, k->contacted),
	    pct(b[7], 32, k->replied, k->contacted));
}

/* As lib/mailbox ranks them: a mailbox that may not send at all first. */
static const char *mailbox_state(const struct mq_db_stats_mailbox *m)
{
	return m->retired ? "retired" : !m->enabled ? "disabled" :
	    m->paused_at ? "paused" : m->failing_since ? "failing" : "ok";
}

/* A moment in the configuration's time zone, or "-" for 0. */
static const char *when(time_t t, const char *tz, char *buf, size_t len)
{
	return mq_timefmt_at(tz, t, "%Y-%m-%d %H:%M", buf, len);
}

/* When a failing mailbox is tried again: "-" when it is not failing, or
 * waits for an operator (disabled, retired, paused). */
static const char *next_try(const struct mq_db_stats_mailbox *m, time_t now,
    const char *tz, char *buf, size_t len)
{
	if (!m->failing_since || m->retired || !m->enabled || m->paused_at)
		return "-";
	if (m->rest_until <= now)
		return "now";
	mq_sched_format(tz != NULL ? tz : "UTC", m->rest_until,
	    m->rest_until - now < 43200 ?
	    "%H:%M" : "%a %H:%M", buf, len, NULL);
	return buf;
}

static void mailbox_table(const struct mq_stats *st, FILE *out)
{
	struct tab t = { .ncol = 8, .align = "lllrrlll" };
	char today[32], sent[32], err[256], at[32];

	tab_row(&t, "MAILBOX", "SENDER", "ADDRESS", "TODAY", "SENT",
	    "NEXT TRY", "STATE", "LAST ERROR");
	for (int i = 0; i < st->n_mailboxes; i++) {
		const struct mq_stats_mailbox *m = &st->mailboxes[i];

		snprintf(today, sizeof today, "%d/%d", m->today,
		    m->m.daily_limit);
		mq_text_fit(*m->m.last_error ? m->m.last_error : "-", 50,
		    err, sizeof err);
		tab_row(&t, m->m.name, m->m.sender, m->m.address, today,
		    num(sent, sizeof sent, m->m.sent),
		    next_try(&m->m, st->now, st->timezone, at, sizeof at),
		    mailbox_state(&m->m), err);
	}
	tab_print(&t, out);
}

/* What each mailbox read (mailq-fetch) and its bounce guard. */
static void inbox_mailbox_table(const struct mq_stats *st, FILE *out)
{
	struct tab t = { .ncol = 8, .align = "llrrrlll" };
	char at[32], read[32], rate[48], limit[32], since[32], why[128],
	    ferr[128];

	tab_row(&t, "MAILBOX", "LAST FETCH", "READ", "BOUNCE RATE",
	    "PAUSE ABOVE", "PAUSED SINCE", "PAUSED WHY", "FETCH ERROR");
	for (int i = 0; i < st->n_mailboxes; i++) {
		const struct mq_stats_mailbox *m = &st->mailboxes[i];

		snprintf(rate, sizeof rate, "%.1f%% (%d/%d)",
		    mq_stats_percent(m->bounced, m->window), m->bounced,
		    m->window);
		if (m->m.bounce_rate > 0)
			snprintf(limit, sizeof limit, "%d%%", m->m.bounce_rate);
		else
			snprintf(limit, sizeof limit, "never");
		mq_text_fit(*m->m.paused_why ? m->m.paused_why : "-", 60,
		    why, sizeof why);
		mq_text_fit(*m->m.fetch_error ? m->m.fetch_error : "-", 50,
		    ferr, sizeof ferr);
		tab_row(&t, m->m.name, when(m->m.fetched_at, st->timezone, at,
		    sizeof at), num(read, sizeof read, m->m.read), rate, limit,
		    when(m->m.paused_at, st->timezone, since, sizeof since), why,
		    ferr);
	}
	tab_print(&t, out);
}

static void sender_table(const struct mq_stats *st, FILE *out)
{
	struct tab t = { .ncol = 5, .align = "lrrrl" };
	char today[32], nm[32], nc[32];

	tab_row(&t, "SENDER", "TODAY", "MAILBOXES", "CAMPAIGNS", "STATE");
	for (int i = 0; i < st->n_senders; i++) {
		const struct mq_stats_sender *s = &st->senders[i];

		snprintf(today, sizeof today, "%d/%d", s->today,
		    s->s.daily_limit);
		tab_row(&t, s->s.name, today, num(nm, sizeof nm, s->s.mailboxes),
		    num(nc, sizeof nc, s->s.campaigns),
		    s->s.retired ? "retired" : "ok");
	}
	tab_print(&t, out);
}

static void health_table(const struct mq_stats *st, FILE *out)
{
	const struct mq_stats_health *h = &st->health;
	struct tab t = { .ncol = 3, .align = "lrl" };
	char b[4][32], note[64];

	snprintf(note, sizeof note, "claims in 'sending' for %d s or more",
	    st->stuck_after);
	tab_row(&t, "HEALTH", "COUNT", "NOTE");
	tab_row(&t, "stuck", num(b[0], 32, h->stuck), note);
	tab_row(&t, "unknown", num(b[1], 32, h->unknown),
	    "messages that may or may not have been delivered");
	tab_row(&t, "duplicates", num(b[2], 32, h->duplicates),
	    "messages with more than one send-log row (must be 0)");
	tab_row(&t, "mailboxes failing", num(b[3], 32, h->mailboxes_failing),
	    "authentication or TLS failures");
	tab_print(&t, out);
}

/* The campaigns from, n of them: what they sent, then what came back. */
static void campaign_tables(const struct mq_stats *st, int from, int n,
    FILE *out)
{
	struct tab t = { 0 };

	campaign_head(&t);
	for (int i = from; i < from + n; i++)
		campaign_cells(&t, &st->campaigns[i], st->now);
	tab_print(&t, out);
	fputc('\n', out);
	answers_head(&t);
	for (int i = from; i < from + n; i++)
		answers_cells(&t, &st->campaigns[i]);
	tab_print(&t, out);
	fputc('\n', out);
}

static void overview(const struct mq_stats *st, FILE *out)
{
	campaign_tables(st, 0, st->n_campaigns, out);
	mailbox_table(st, out);
	fputc('\n', out);
	inbox_mailbox_table(st, out);
	fputc('\n', out);
	sender_table(st, out);
	fputc('\n', out);
	health_table(st, out);
}

/* Step 0's variant of k with this letter, or NULL. */
static const struct mq_db_stats_variant *variant_of(
    const struct mq_db_stats_counts *k, const char *letter)
{
	for (int i = 0; i < k->n_variants; i++)
		if (strcmp(k->variant[i].letter, letter) == 0)
			return &k->variant[i];
	return NULL;
}

static void steps_table(const struct mq_stats_detail *d,
    const struct mq_stats_campaign *sc, FILE *out)
{
	struct tab t = { .ncol = 11, .align = "rlrrrrrrrrr" };
	const struct mq_db_stats_variant *v;
	char b[10][32];

	tab_row(&t, "STEP", "VARIANT", "SENT", "FAILED", "BOUNCED", "UNKNOWN",
	    "SENDING", "RETRY", "DROPPED", "REPLIED", "REPLY RATE");
	for (int i = 0; i < d->n_steps; i++) {
		const struct mq_db_stats_step *s = &d->steps[i];

		v = s->step == 0 ? variant_of(&sc->k, s->letter) : NULL;
		tab_row(&t, num(b[0], 32, s->step), s->letter,
		    num(b[1], 32, s->msg[MQ_MSG_SENT]),
		    num(b[2], 32, s->msg[MQ_MSG_FAILED]),
		    num(b[3], 32, s->msg[MQ_MSG_BOUNCED]),
		    num(b[4], 32, s->msg[MQ_MSG_UNKNOWN]),
		    num(b[5], 32, s->msg[MQ_MSG_SENDING]),
		    num(b[6], 32, s->msg[MQ_MSG_RETRY]),
		    num(b[7], 32, s->msg[MQ_MSG_DROPPED]),
		    s->step != 0 ? "-" : num(b[8], 32, v ? v->replied : 0),
		    s->step != 0 ? "-" : pct(b[9], 32, v ? v->replied : 0,
		    v ? v->contacted : 0));
	}
	tab_print(&t, out);
}

static void failures_table(const struct mq_stats_detail *d, FILE *out)
{
	struct tab t = { .ncol = 3, .align = "rrl" };
	char code[32], n[32], reply[256];

	if (none(d->n_failures, "FAILURES", out))
		return;
	tab_row(&t, "CODE", "ATTEMPTS", "LAST REPLY");
	for (int i = 0; i < d->n_failures; i++) {
		const struct mq_db_stats_failure *f = &d->failures[i];

		mq_text_fit(f->reply, 70, reply, sizeof reply);
		tab_row(&t, f->code ? num(code, sizeof code, f->code) : "-",
		    num(n, sizeof n, f->count), reply);
	}
	tab_print(&t, out);
}

static void upcoming_table(const struct mq_stats *st,
    const struct mq_stats_campaign *sc, FILE *out)
{
	const struct mq_stats_detail *d = st->detail;
	struct tab t = { .ncol = 4, .align = "llrl" };
	char at[48], rel[48], step[32];

	if (none(d->n_upcoming, "UPCOMING", out))
		return;
	tab_row(&t, "UPCOMING", "IN", "STEP", "LEAD");
	for (int i = 0; i < d->n_upcoming; i++) {
		const struct mq_stats_upcoming *u = &d->upcoming[i];

		mq_timefmt_at(sc->c.sched.timezone, u->at, "%a %Y-%m-%d %H:%M:%S",
		    at, sizeof at);
		snprintf(rel, sizeof rel, "-");
		if (u->at != 0)
			mq_timefmt_relative(u->at, st->now, rel, sizeof rel);
		tab_row(&t, at, rel, num(step, sizeof step, u->step), u->lead);
	}
	tab_print(&t, out);
}

static void recent_table(const struct mq_stats_detail *d,
    const struct mq_stats_campaign *sc, FILE *out)
{
	struct tab t = { .ncol = 7, .align = "llllrll" };
	char at[48], step[32], reply[256];

	if (none(d->n_recent, "RECENT", out))
		return;
	tab_row(&t, "RECENT", "LEAD", "MAILBOX", "VARIANT", "STEP", "OUTCOME",
	    "REPLY");
	for (int i = 0; i < d->n_recent; i++) {
		const struct mq_db_stats_send *s = &d->recent[i];

		mq_sched_format(sc->c.sched.timezone, s->at, "%Y-%m-%d %H:%M:%S", at,
		    sizeof at, NULL);
		mq_text_fit(*s->reply ? s->reply : "-", 60, reply,
		    sizeof reply);
		tab_row(&t, at, s->lead, *s->mailbox ? s->mailbox : "-",
		    *s->letter ? s->letter : "-", num(step, sizeof step, s->step),
		    s->outcome, reply);
	}
	tab_print(&t, out);
}

static void detail(const struct mq_stats *st, FILE *out)
{
	const struct mq_stats_campaign *sc = &st->campaigns[st->detail->index];

	campaign_tables(st, st->detail->index, 1, out);
	steps_table(st->detail, sc, out);
	fputc('\n', out);
	failures_table(st->detail, out);
	fputc('\n', out);
	upcoming_table(st, sc, out);
	fputc('\n', out);
	recent_table(st->detail, sc, out);
}

/* The inbound messages asked for with --inbox. */
static void inbox_table(const struct mq_stats *st, FILE *out)
{
	struct tab t = { .ncol = 8, .align = "llllllll" };
	char at[32], from[128], reason[256];

	if (none(st->n_inbox, "INBOX", out))
		return;
	tab_row(&t, "READ", "MAILBOX", "FOLDER", "FROM", "CLASS", "LEAD",
	    "CAMPAIGN", "REASON");
	for (int i = 0; i < st->n_inbox; i++) {
		const struct mq_db_stats_inbound *m = &st->inbox[i];

		mq_text_fit(*m->from ? m->from : "-", 40, from,
		    sizeof from);
		mq_text_fit(*m->reason ? m->reason : "-", 70, reason,
		    sizeof reason);
		tab_row(&t, when(m->read_at, st->timezone, at, sizeof at),
		    m->mailbox, m->folder, from, m->cls,
		    *m->lead ? m->lead : "-", *m->campaign ? m->campaign : "-",
		    reason);
	}
	tab_print(&t, out);
}

void mq_stats_table_print(const struct mq_stats *st, FILE *out)
{
	if (st->inbox_asked)
		inbox_table(st, out);
	else if (st->detail != NULL)
		detail(st, out);
	else
		overview(st, out);
}
