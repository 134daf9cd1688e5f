/*
 * Rendering mailq-stats: see stats_fmt.h. The table is built as cells
 * first and printed once every column's width is known; JSON and the
 * Prometheus metrics are written as they are walked. Every figure comes
 * from the same struct, so the three formats cannot disagree.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "clock.h"
#include "report.h"
#include "sched.h"
#include "stats_fmt.h"

/* Decodes one UTF-8 character at s into *cp; returns its length in bytes,
 * or 1 with *cp = -1 for a byte that does not start a valid one. */
static int utf8_next(const unsigned char *s, long *cp)
{
	int n = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 :
	    (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
	long v = n == 1 ? s[0] : n == 2 ? s[0] & 0x1f : n == 3 ? s[0] & 0x0f :
	    s[0] & 0x07;

	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			n = 0;
			break;
		}
		v = v << 6 | (s[i] & 0x3f);
	}
	if (n == 0 || (n == 2 && v < 0x80) || (n == 3 && v < 0x800) ||
	    (n == 4 && (v < 0x10000 || v > 0x10ffff))) {
		*cp = -1;
		return 1;
	}
	*cp = v;
	return n;
}

static int cp_width(long c)
{
	static const long zero[][2] = { { 0x0300, 0x036f }, { 0x0483, 0x0489 },
	    { 0x0591, 0x05bd }, { 0x0610, 0x061a }, { 0x064b, 0x065f },
	    { 0x1ab0, 0x1aff }, { 0x1dc0, 0x1dff }, { 0x200b, 0x200f },
	    { 0x20d0, 0x20ff }, { 0xfe00, 0xfe0f }, { 0xfe20, 0xfe2f },
	    { 0xfeff, 0xfeff } };
	static const long wide[][2] = { { 0x1100, 0x115f }, { 0x2e80, 0x303e },
	    { 0x3041, 0x33ff }, { 0x3400, 0x4dbf }, { 0x4e00, 0x9fff },
	    { 0xa000, 0xa4cf }, { 0xac00, 0xd7a3 }, { 0xf900, 0xfaff },
	    { 0xfe30, 0xfe4f }, { 0xff00, 0xff60 }, { 0xffe0, 0xffe6 },
	    { 0x1f300, 0x1f64f }, { 0x1f900, 0x1f9ff }, { 0x20000, 0x3fffd } };

	for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++)
		if (c >= zero[i][0] && c <= zero[i][1])
			return 0;
	for (size_t i = 0; i < sizeof wide / sizeof wide[0]; i++)
		if (c >= wide[i][0] && c <= wide[i][1])
			return 2;
	return 1;
}

int mq_stats_fmt_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	long cp;
	int w = 0;

	while (*p != '\0') {
		p += utf8_next(p, &cp);
		w += cp < 0 ? 1 : cp_width(cp);
	}
	return w;
}

void mq_stats_fmt_fit(const char *s, int max, char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t keep = 0, n;
	long cp;
	int w = 0, cw;

	if (mq_stats_fmt_width(s) <= max) {
		snprintf(buf, len, "%s", s);
		return;
	}
	while (*p != '\0') {
		n = utf8_next(p, &cp);
		cw = cp < 0 ? 1 : cp_width(cp);
		if (w + cw > max - 1 || keep + n + sizeof "…" > len)
			break;
		w += cw;
		keep += n;
		p += n;
	}
	snprintf(buf, len, "%.*s…", (int)keep, s);
}

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
			if (s != NULL && (cw = mq_stats_fmt_width(s)) > w[i])
				w[i] = cw;
		}
	for (int r = 0; r < t->rows; r++) {
		for (int i = 0; i < t->ncol && i < 32; i++) {
			s = t->cell[r * t->ncol + i];
			s = s != NULL ? s : "";
			pad = w[i] - mq_stats_fmt_width(s);
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
	mq_sched_format(sc->c.sched.timezone, sc->next_send, "%a %H:%M", t,
	    sizeof t, NULL);
	mq_report_relative(sc->next_send, now, rel, sizeof rel);
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
	if (t == 0)
		return "-";
	mq_sched_format(tz != NULL ? tz : "UTC", t, "%Y-%m-%d %H:%M", buf, len,
	    NULL);
	return buf;
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
		mq_stats_fmt_fit(*m->m.last_error ? m->m.last_error : "-", 50,
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
		mq_stats_fmt_fit(*m->m.paused_why ? m->m.paused_why : "-", 60,
		    why, sizeof why);
		mq_stats_fmt_fit(*m->m.fetch_error ? m->m.fetch_error : "-", 50,
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

static void overview(const struct mq_stats *st, FILE *out)
{
	struct tab t = { 0 };

	campaign_head(&t);
	for (int i = 0; i < st->n_campaigns; i++)
		campaign_cells(&t, &st->campaigns[i], st->now);
	tab_print(&t, out);
	fputc('\n', out);
	answers_head(&t);
	for (int i = 0; i < st->n_campaigns; i++)
		answers_cells(&t, &st->campaigns[i]);
	tab_print(&t, out);
	fputc('\n', out);
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

	if (d->n_failures == 0) {
		fputs("FAILURES  none\n", out);
		return;
	}
	tab_row(&t, "CODE", "ATTEMPTS", "LAST REPLY");
	for (int i = 0; i < d->n_failures; i++) {
		const struct mq_db_stats_failure *f = &d->failures[i];

		mq_stats_fmt_fit(f->reply, 70, reply, sizeof reply);
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

	if (d->n_upcoming == 0) {
		fputs("UPCOMING  none\n", out);
		return;
	}
	tab_row(&t, "UPCOMING", "IN", "STEP", "LEAD");
	for (int i = 0; i < d->n_upcoming; i++) {
		const struct mq_stats_upcoming *u = &d->upcoming[i];

		snprintf(at, sizeof at, "-");
		snprintf(rel, sizeof rel, "-");
		if (u->at != 0) {
			mq_sched_format(sc->c.sched.timezone, u->at,
			    "%a %Y-%m-%d %H:%M:%S", at, sizeof at, NULL);
			mq_report_relative(u->at, st->now, rel, sizeof rel);
		}
		tab_row(&t, at, rel, num(step, sizeof step, u->step), u->lead);
	}
	tab_print(&t, out);
}

static void recent_table(const struct mq_stats_detail *d,
    const struct mq_stats_campaign *sc, FILE *out)
{
	struct tab t = { .ncol = 7, .align = "llllrll" };
	char at[48], step[32], reply[256];

	if (d->n_recent == 0) {
		fputs("RECENT  none\n", out);
		return;
	}
	tab_row(&t, "RECENT", "LEAD", "MAILBOX", "VARIANT", "STEP", "OUTCOME",
	    "REPLY");
	for (int i = 0; i < d->n_recent; i++) {
		const struct mq_db_stats_send *s = &d->recent[i];

		mq_sched_format(sc->c.sched.timezone, s->at, "%Y-%m-%d %H:%M:%S",
		    at, sizeof at, NULL);
		mq_stats_fmt_fit(*s->reply ? s->reply : "-", 60, reply,
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
	struct tab t = { 0 };

	campaign_head(&t);
	campaign_cells(&t, sc, st->now);
	tab_print(&t, out);
	fputc('\n', out);
	answers_head(&t);
	answers_cells(&t, sc);
	tab_print(&t, out);
	fputc('\n', out);
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

	if (st->n_inbox == 0) {
		fputs("INBOX  none\n", out);
		return;
	}
	tab_row(&t, "READ", "MAILBOX", "FOLDER", "FROM", "CLASS", "LEAD",
	    "CAMPAIGN", "REASON");
	for (int i = 0; i < st->n_inbox; i++) {
		const struct mq_db_stats_inbound *m = &st->inbox[i];

		mq_stats_fmt_fit(*m->from ? m->from : "-", 40, from,
		    sizeof from);
		mq_stats_fmt_fit(*m->reason ? m->reason : "-", 70, reason,
		    sizeof reason);
		tab_row(&t, when(m->read_at, st->timezone, at, sizeof at),
		    m->mailbox, m->folder, from, m->cls,
		    *m->lead ? m->lead : "-", *m->campaign ? m->campaign : "-",
		    reason);
	}
	tab_print(&t, out);
}

/* A small JSON writer: one value per line, indented by depth. */
struct js {
	FILE *f;
	int   depth;
	int   more[16];     /* a value was written at this depth */
};

static void js_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	long cp;
	int n;

	fputc('"', f);
	while (*p != '\0') {
		n = utf8_next(p, &cp);
		if (cp < 0)
			fputs("\\ufffd", f);
		else if (cp == '"' || cp == '\\')
			fprintf(f, "\\%c", (int)cp);
		else if (cp < 0x20)
			fprintf(f, "\\u%04x", (unsigned)cp);
		else
			fwrite(p, 1, n, f);
		p += n;
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

/* An epoch, or null for 0. */
static void js_time(struct js *j, const char *key, time_t v)
{
	js_key(j, key);
	if (v == 0)
		fputs("null", j->f);
	else
		fprintf(j->f, "%lld", (long long)v);
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
	js_time(j, "next_send", sc->next_send);
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
	js_time(j, "failing_since", m->m.failing_since);
	js_str(j, "last_error", m->m.last_error);
	js_time(j, "rest_until", m->m.failing_since ? m->m.rest_until : 0);
	js_int(j, "failures", m->m.failures);
	js_int(j, "daily_limit", m->m.daily_limit);
	js_int(j, "sent_today", m->today);
	js_int(j, "sent", m->m.sent);
	js_bool(j, "paused", m->m.paused_at != 0);
	js_time(j, "paused_since", m->m.paused_at);
	js_str(j, "paused_why", m->m.paused_why);
	js_open(j, "bounces", '{');
	js_int(j, "bounced", m->bounced);
	js_int(j, "window", m->window);
	js_percent(j, "percent", m->bounced, m->window);
	js_int(j, "pause_above", m->m.bounce_rate);
	js_close(j, '}');
	js_time(j, "last_fetch", m->m.fetched_at);
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
		js_time(j, "read_at", m->read_at);
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
		js_time(j, "at", d->upcoming[i].at);
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
		js_time(j, "at", s->at);
		js_local(j, "at_local", tz, s->at);
		js_str(j, "lead", s->lead);
		js_str(j, "mailbox", s->mailbox);
		js_int(j, "step", s->step);
		js_str(j, "variant", s->letter);
		js_str(j, "outcome", s->outcome);
		js_time(j, "code", s->code);
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
		js_time(j, "code", d->failures[i].code);
		js_int(j, "attempts", d->failures[i].count);
		js_str(j, "last_reply", d->failures[i].reply);
		js_close(j, '}');
	}
	js_close(j, ']');
	json_lists(j, d, sc->c.sched.timezone);
	js_close(j, '}');
}

static void json(const struct mq_stats *st, FILE *out)
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

static void prom_head(FILE *f, const char *name, const char *type,
    const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void prom_escape(FILE *f, const char *s)
{
	for (; *s != '\0'; s++)
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
}

/* name{k1="v1",...} value, with nlabel pairs of (key, value) strings. */
static void prom(FILE *f, const char *name, double v, int nlabel, ...)
{
	va_list ap;

	fputs(name, f);
	va_start(ap, nlabel);
	for (int i = 0; i < nlabel; i++) {
		fprintf(f, "%s%s=\"", i ? "," : "{", va_arg(ap, const char *));
		prom_escape(f, va_arg(ap, const char *));
		fputc('"', f);
	}
	va_end(ap);
	fprintf(f, "%s %.10g\n", nlabel ? "}" : "", v);
}

/* Per-campaign families with one sample each. */
static const struct {
	const char *name, *type, *help;
} campaign_metric[] = {
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

static double ratio(int part, int whole)
{
	return mq_stats_percent(part, whole) / 100.0;
}

static double campaign_value(const struct mq_stats_campaign *sc, int i)
{
	const struct mq_db_stats_counts *k = &sc->k;

	switch (i) {
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

/* Bounce reports and reply rates by step 0's variant, of every campaign. */
static void prom_answers(const struct mq_stats *st, FILE *f)
{
	static const char *const name[] = { "mailq_variant_contacted_leads",
	    "mailq_variant_replied_leads", "mailq_variant_reply_rate" };
	static const char *const help[] = {
	    "Leads of the variant of step 0 whose first message left.",
	    "Of those, leads that replied.",
	    "Replied leads / contacted leads of the variant of step 0." };
	const struct mq_stats_campaign *c = st->campaigns;
	const struct mq_db_stats_variant *v;
	double x;

	prom_head(f, "mailq_campaign_bounces_total", "counter",
	    "Bounce reports read by mailq-fetch and matched to the campaign; "
	    "a soft bounce that became hard counts as hard.");
	for (int i = 0; i < st->n_campaigns; i++) {
		prom(f, "mailq_campaign_bounces_total",
		    c[i].k.inbound[MQ_IN_HARD_BOUNCE], 2, "campaign",
		    c[i].c.name, "kind", "hard");
		prom(f, "mailq_campaign_bounces_total",
		    c[i].k.inbound[MQ_IN_SOFT_BOUNCE], 2, "campaign",
		    c[i].c.name, "kind", "soft");
	}
	for (int m = 0; m < 3; m++) {
		prom_head(f, name[m], "gauge", help[m]);
		for (int i = 0; i < st->n_campaigns; i++)
			for (int k = 0; k < c[i].k.n_variants; k++) {
				v = &c[i].k.variant[k];
				x = m == 0 ? v->contacted : m == 1 ? v->replied :
				    ratio(v->replied, v->contacted);
				prom(f, name[m], x, 2, "campaign", c[i].c.name,
				    "variant", v->letter);
			}
	}
}

static void prom_campaigns(const struct mq_stats *st, FILE *f)
{
	const struct mq_stats_campaign *c = st->campaigns;
	int n = st->n_campaigns;

	prom_head(f, "mailq_campaign_info", "gauge",
	    "Always 1; the campaign's status and sender as labels.");
	for (int i = 0; i < n; i++)
		prom(f, "mailq_campaign_info", 1, 3, "campaign", c[i].c.name,
		    "status", mq_db_campaign_states[c[i].c.status], "sender",
		    c[i].c.sender);
	prom_head(f, "mailq_campaign_leads", "gauge", "Leads by state.");
	for (int i = 0; i < n; i++)
		for (int s = 0; s < MQ_LEAD_N; s++)
			prom(f, "mailq_campaign_leads", c[i].k.lead[s], 2,
			    "campaign", c[i].c.name, "status", mq_db_lead_states[s]);
	prom_head(f, "mailq_campaign_messages", "gauge",
	    "Messages in the send log by state.");
	for (int i = 0; i < n; i++)
		for (int s = 0; s < MQ_MSG_N; s++)
			prom(f, "mailq_campaign_messages", c[i].k.msg[s], 2,
			    "campaign", c[i].c.name, "status", mq_db_msg_states[s]);
	prom_head(f, "mailq_campaign_queue", "gauge",
	    "Queue items waiting (pending) or claimed (sending).");
	for (int i = 0; i < n; i++) {
		prom(f, "mailq_campaign_queue", c[i].k.pending, 2, "campaign",
		    c[i].c.name, "status", "pending");
		prom(f, "mailq_campaign_queue", c[i].k.sending, 2, "campaign",
		    c[i].c.name, "status", "sending");
	}
	for (size_t m = 0; m < sizeof campaign_metric /
	    sizeof campaign_metric[0]; m++) {
		prom_head(f, campaign_metric[m].name, campaign_metric[m].type,
		    campaign_metric[m].help);
		for (int i = 0; i < n; i++)
			prom(f, campaign_metric[m].name,
			    campaign_value(&c[i], (int)m), 1, "campaign",
			    c[i].c.name);
	}
	prom_answers(st, f);
}

/* Per-mailbox families with one sample each. */
static const struct {
	const char *name, *type, *help;
} mailbox_metric[] = {
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

static double mailbox_value(const struct mq_stats_mailbox *b, int i)
{
	switch (i) {
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

static void prom_mailboxes(const struct mq_stats *st, FILE *f)
{
	const struct mq_stats_mailbox *b;

	for (size_t m = 0; m < sizeof mailbox_metric /
	    sizeof mailbox_metric[0]; m++) {
		prom_head(f, mailbox_metric[m].name, mailbox_metric[m].type,
		    mailbox_metric[m].help);
		for (int i = 0; i < st->n_mailboxes; i++) {
			b = &st->mailboxes[i];
			prom(f, mailbox_metric[m].name,
			    mailbox_value(b, (int)m), 2, "mailbox", b->m.name,
			    "sender", b->m.sender);
		}
	}
	prom_head(f, "mailq_inbound_messages_total", "counter",
	    "Messages mailq-fetch read from the mailbox, by class.");
	for (int i = 0; i < st->n_mailboxes; i++)
		for (int c = 0; c < MQ_IN_N; c++)
			prom(f, "mailq_inbound_messages_total",
			    st->mailboxes[i].m.inbound[c], 2, "mailbox",
			    st->mailboxes[i].m.name, "class",
			    mq_db_inbound_classes[c]);
	prom_head(f, "mailq_sender_sent_today", "gauge",
	    "Messages counted against the sender's limit today.");
	for (int i = 0; i < st->n_senders; i++)
		prom(f, "mailq_sender_sent_today", st->senders[i].today, 1,
		    "sender", st->senders[i].s.name);
	prom_head(f, "mailq_sender_daily_limit", "gauge",
	    "The sender's daily limit across its mailboxes.");
	for (int i = 0; i < st->n_senders; i++)
		prom(f, "mailq_sender_daily_limit", st->senders[i].s.daily_limit,
		    1, "sender", st->senders[i].s.name);
}

static void prom_steps(const struct mq_stats *st, FILE *f)
{
	const struct mq_stats_detail *d = st->detail;
	const char *name = st->campaigns[d->index].c.name;
	char step[32];

	prom_head(f, "mailq_step_messages", "gauge",
	    "Messages of one step and variant by state (with --campaign).");
	for (int i = 0; i < d->n_steps; i++)
		for (int s = 0; s < MQ_MSG_N; s++)
			prom(f, "mailq_step_messages", d->steps[i].msg[s], 4,
			    "campaign", name, "step", num(step, sizeof step,
			    d->steps[i].step), "variant", d->steps[i].letter,
			    "status", mq_db_msg_states[s]);
}

static void prometheus(const struct mq_stats *st, FILE *f)
{
	const struct mq_stats_health *h = &st->health;

	prom_campaigns(st, f);
	prom_mailboxes(st, f);
	if (st->detail != NULL)
		prom_steps(st, f);
	prom_head(f, "mailq_stuck_claims", "gauge",
	    "Claims in 'sending' for longer than the stuck limit.");
	prom(f, "mailq_stuck_claims", h->stuck, 0);
	prom_head(f, "mailq_unknown_messages", "gauge",
	    "Messages that may or may not have been delivered.");
	prom(f, "mailq_unknown_messages", h->unknown, 0);
	prom_head(f, "mailq_send_log_duplicates", "gauge",
	    "Messages with more than one send-log row; must be 0.");
	prom(f, "mailq_send_log_duplicates", h->duplicates, 0);
	prom_head(f, "mailq_mailboxes_failing", "gauge",
	    "Mailboxes failing authentication or TLS.");
	prom(f, "mailq_mailboxes_failing", h->mailboxes_failing, 0);
	prom_head(f, "mailq_stats_timestamp_seconds", "gauge",
	    "When these figures were read.");
	prom(f, "mailq_stats_timestamp_seconds", (double)st->now, 0);
}

int mq_stats_fmt_print(const struct mq_stats *st, enum mq_stats_fmt f,
    FILE *out, struct mq_err *err)
{
	if (f == MQ_STATS_JSON)
		json(st, out);
	else if (f == MQ_STATS_PROMETHEUS)
		prometheus(st, out);
	else if (st->inbox_asked)
		inbox_table(st, out);
	else if (st->detail != NULL)
		detail(st, out);
	else
		overview(st, out);
	if (fflush(out) != 0 || ferror(out))
		return mq_err_perm(err, EX_IOERR, "write: %s", strerror(errno));
	return MQ_OK;
}

int mq_stats_fmt_file(const struct mq_stats *st, enum mq_stats_fmt f,
    const char *path, struct mq_err *err)
{
	const char *slash = strrchr(path, '/');
	char tmp[4096];
	FILE *out = NULL;
	int fd, rc;

	if (snprintf(tmp, sizeof tmp, "%.*s.%s.XXXXXX",
	    slash ? (int)(slash - path + 1) : 0, path, slash ? slash + 1 : path)
	    >= (int)sizeof tmp)
		return mq_err_perm(err, EX_CANTCREAT, "%s: name too long", path);
	if ((fd = mkstemp(tmp)) < 0)
		return mq_err_perm(err, EX_CANTCREAT, "%s: %s", path,
		    strerror(errno));
	if (fchmod(fd, 0644) != 0 || (out = fdopen(fd, "w")) == NULL) {
		rc = mq_err_perm(err, EX_CANTCREAT, "%s: %s", path,
		    strerror(errno));
		goto out;
	}
	/* messages name the file asked for: the temporary one beside it
	 * is ours, not the user's */
	if ((rc = mq_stats_fmt_print(st, f, out, err)) != MQ_OK)
		mq_err_prefix(err, "%s", path);
	if (rc == MQ_OK && fsync(fileno(out)) != 0)
		rc = mq_err_perm(err, EX_IOERR, "%s: %s", path, strerror(errno));
	if (fclose(out) != 0 && rc == MQ_OK)
		rc = mq_err_perm(err, EX_IOERR, "%s: %s", path, strerror(errno));
	out = NULL;
	fd = -1;
	if (rc == MQ_OK && rename(tmp, path) != 0)
		rc = mq_err_perm(err, EX_CANTCREAT, "%s: %s", path,
		    strerror(errno));
out:
	if (out == NULL && fd >= 0)
		close(fd);
	if (rc != MQ_OK)
		unlink(tmp);
	return rc;
}
