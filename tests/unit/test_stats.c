/*
 * mailq-stats' pure parts: the window shown for a campaign, the
 * projection of the buffer's send times, percentages, and the three
 * renderings of hand-made collections (with and without what came back).
 * Display width and fitting are lib/text's (test_text). Expected epochs
 * were computed with date(1) and TZ=Europe/Warsaw.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stats.h"
#include "stats_fmt.h"
#include "text.h"

#define TUE_1000 1795510800     /* Tue 2026-11-24 10:00 CET */
#define TUE_1659 1795535940     /* Tue 2026-11-24 16:59 CET */
#define WED_0900 1795593600     /* Wed 2026-11-25 09:00 CET */
#define FRI_1700 1795795200     /* Fri 2026-11-27 17:00 CET */
#define MON_0900 1796025600     /* Mon 2026-11-30 09:00 CET */
#define XMAS_1000 1798189200    /* Fri 2026-12-25 10:00 CET */

static struct mq_sched office(void)
{
	struct mq_sched s = { "Europe/Warsaw", 0x1f, 9 * 60, 17 * 60, "PL", "" };

	return s;
}

static void window(void **state)
{
	struct mq_sched s = office(), weekend = { "Europe/Warsaw", 0x60,
	    10 * 60, 12 * 60, "", "" };
	char buf[96];
	int open = -1;

	(void)state;
	mq_stats_window(&s, TUE_1000, &open, buf, sizeof buf);
	assert_int_equal(open, 1);
	assert_string_equal(buf, "open");
	mq_stats_window(&s, FRI_1700, &open, buf, sizeof buf);
	assert_int_equal(open, 0);
	assert_string_equal(buf, "closed until Mon 09:00");
	mq_stats_window(&s, XMAS_1000, &open, buf, sizeof buf);
	assert_int_equal(open, 0);
	assert_string_equal(buf, "holiday: Boże Narodzenie (pierwszy dzień)");
	mq_stats_window(&weekend, TUE_1000, &open, buf, sizeof buf);
	assert_string_equal(buf, "closed until Sat 10:00");
	s.days = 0x01;                 /* Mondays only: over six days away */
	mq_stats_window(&s, MON_0900 + 9 * 3600, &open, buf, sizeof buf);
	assert_string_equal(buf, "closed until 2026-12-07 09:00");
}

static void project(void **state)
{
	struct mq_sched s = office();
	time_t due[4] = { 0 }, at[4];
	struct mq_err err;

	(void)state;
	assert_int_equal(mq_stats_project(&s, TUE_1000, TUE_1000, 90, 100, 0,
	    due, 3, at, &err), MQ_OK);
	assert_int_equal(at[0], TUE_1000);
	assert_int_equal(at[1], TUE_1000 + 90);
	assert_int_equal(at[2], TUE_1000 + 180);
	/* a next send time in the past starts now */
	assert_int_equal(mq_stats_project(&s, TUE_1000 - 500, TUE_1000 + 7, 90,
	    100, 0, due, 1, at, &err), MQ_OK);
	assert_int_equal(at[0], TUE_1000 + 7);
	/* the window closes at 17:00: the rest goes on Wednesday */
	assert_int_equal(mq_stats_project(&s, TUE_1659 - 60, TUE_1000, 90, 100,
	    0, due, 4, at, &err), MQ_OK);
	assert_int_equal(at[0], TUE_1659 - 60);
	assert_int_equal(at[1], TUE_1659 + 30);
	assert_int_equal(at[2], WED_0900);
	assert_int_equal(at[3], WED_0900 + 90);
	/* the daily limit: one used today, two a day */
	assert_int_equal(mq_stats_project(&s, TUE_1000, TUE_1000, 60, 2, 1,
	    due, 4, at, &err), MQ_OK);
	assert_int_equal(at[0], TUE_1000);
	assert_int_equal(at[1], WED_0900);
	assert_int_equal(at[2], WED_0900 + 60);
	assert_int_equal(at[3], WED_0900 + 86400);
	/* an item due later waits for it, moved into the window */
	due[1] = FRI_1700;
	assert_int_equal(mq_stats_project(&s, TUE_1000, TUE_1000, 60, 100, 0,
	    due, 3, at, &err), MQ_OK);
	assert_int_equal(at[0], TUE_1000);
	assert_int_equal(at[1], MON_0900);
	assert_int_equal(at[2], MON_0900 + 60);
	/* a limit of 0 sends nothing: no times */
	assert_int_equal(mq_stats_project(&s, TUE_1000, TUE_1000, 60, 0, 0,
	    due, 2, at, &err), MQ_OK);
	assert_int_equal(at[0], 0);
	assert_int_equal(at[1], 0);
	/* a window that never opens */
	s.days = 0;
	assert_int_equal(mq_stats_project(&s, TUE_1000, TUE_1000, 60, 10, 0,
	    due, 1, at, &err), MQ_PERM);
}

/* A collection made by hand: one campaign on Christmas Day. */
static void sample(struct mq_stats *st, struct mq_stats_campaign *c,
    struct mq_stats_mailbox *m, struct mq_stats_sender *s)
{
	memset(st, 0, sizeof *st);
	memset(c, 0, sizeof *c);
	memset(m, 0, sizeof *m);
	memset(s, 0, sizeof *s);
	c->c.name = (char *)"q\"4";
	c->c.status = MQ_CAMPAIGN_RUNNING;
	c->c.sender = (char *)"anna";
	c->c.sched.timezone = "Europe/Warsaw";
	c->c.daily_limit = 500;
	c->k.lead[MQ_LEAD_QUEUED] = 7;
	c->k.lead[MQ_LEAD_DONE] = 3;
	c->k.msg[MQ_MSG_SENT] = 3;
	c->leads = 10;
	c->today = 2;
	c->progress = 30.0;
	c->next_send = MON_0900 + 28 * 86400;
	snprintf(c->window, sizeof c->window, "holiday: Boże Narodzenie");
	snprintf(m->m.name, sizeof m->m.name, "m1");
	snprintf(m->m.sender, sizeof m->m.sender, "anna");
	snprintf(m->m.address, sizeof m->m.address, "anna@example.com");
	snprintf(m->m.last_error, sizeof m->m.last_error, "535 \"bad\"\\\n");
	m->m.enabled = 1;
	m->m.daily_limit = 50;
	m->m.failing_since = XMAS_1000;
	m->m.sent = 3;
	m->today = 1;
	snprintf(s->s.name, sizeof s->s.name, "anna");
	s->s.daily_limit = 120;
	st->now = XMAS_1000;
	st->stuck_after = 600;
	st->campaigns = c;
	st->n_campaigns = 1;
	st->mailboxes = m;
	st->n_mailboxes = 1;
	st->senders = s;
	st->n_senders = 1;
	st->health.mailboxes_failing = 1;
}

static char *render(const struct mq_stats *st, enum mq_stats_fmt f)
{
	struct mq_err err;
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	assert_int_equal(mq_stats_fmt_print(st, f, out, &err), MQ_OK);
	fclose(out);
	return buf;
}

static void table(void **state)
{
	struct mq_stats st;
	struct mq_stats_campaign c;
	struct mq_stats_mailbox m;
	struct mq_stats_sender s;
	char *out, *row, *p;

	(void)state;
	sample(&st, &c, &m, &s);
	out = render(&st, MQ_STATS_TABLE);
	row = strchr(out, '\n') + 1;
	/* PROGRESS starts at the same display column in both lines */
	*strchr(row, '\n') = '\0';
	p = strstr(row, "30.0%");
	assert_non_null(p);
	*p = '\0';
	*strchr(out, '\n') = '\0';
	*strstr(out, "PROGRESS") = '\0';
	assert_int_equal(mq_text_width(row), mq_text_width(out));
	assert_int_not_equal(strlen(row), strlen(out));  /* bytes differ */
	assert_non_null(strstr(row, "  2/500  Mon 09:00 (in 2 days)  holiday: "));
	free(out);
	out = render(&st, MQ_STATS_TABLE);
	assert_non_null(strstr(out, "\nm1       anna    anna@example.com   1/50"));
	assert_non_null(strstr(out, "failing  535 \"bad\"\\\n"));
	assert_null(strstr(out, " \n"));              /* no trailing blanks */
	free(out);
}

static void json(void **state)
{
	struct mq_stats st;
	struct mq_stats_campaign c;
	struct mq_stats_mailbox m;
	struct mq_stats_sender s;
	char *out;

	(void)state;
	sample(&st, &c, &m, &s);
	out = render(&st, MQ_STATS_JSON);
	assert_non_null(strstr(out, "\"version\": 1,"));
	assert_non_null(strstr(out, "\"name\": \"q\\\"4\","));
	assert_non_null(strstr(out, "\"last_error\": \"535 \\\"bad\\\"\\\\\\u000a\""));
	assert_non_null(strstr(out, "\"state\": \"holiday: Boże Narodzenie\""));
	assert_non_null(strstr(out, "\"next_send_local\": \"2026-12-28T09:00:00+0100\""));
	assert_non_null(strstr(out, "\"progress\": 30.0"));
	assert_non_null(strstr(out, "\"failing_since\": 1798189200,"));
	assert_non_null(strstr(out, "\"detail\": null,\n  \"inbox\": null\n}\n"));
	assert_non_null(strstr(out, "\"reply_rate\": {\n        \"contacted\": 0,\n"
	    "        \"replied\": 0,\n        \"percent\": 0.0\n      },\n"
	    "      \"variants\": []\n"));
	free(out);
}

static void prometheus(void **state)
{
	struct mq_stats st;
	struct mq_stats_campaign c;
	struct mq_stats_mailbox m;
	struct mq_stats_sender s;
	char *out;

	(void)state;
	sample(&st, &c, &m, &s);
	out = render(&st, MQ_STATS_PROMETHEUS);
	assert_non_null(strstr(out, "# HELP mailq_campaign_sent_total "));
	assert_non_null(strstr(out, "# TYPE mailq_campaign_sent_total counter\n"
	    "mailq_campaign_sent_total{campaign=\"q\\\"4\"} 3\n"));
	assert_non_null(strstr(out, "mailq_campaign_leads{campaign=\"q\\\"4\","
	    "status=\"queued\"} 7\n"));
	assert_non_null(strstr(out, "mailq_campaign_progress_ratio{campaign="
	    "\"q\\\"4\"} 0.3\n"));
	assert_non_null(strstr(out, "mailq_campaign_next_send_timestamp_seconds"
	    "{campaign=\"q\\\"4\"} 1798444800\n"));
	assert_non_null(strstr(out, "mailq_mailbox_failing{mailbox=\"m1\","
	    "sender=\"anna\"} 1\n"));
	assert_non_null(strstr(out, "# TYPE mailq_send_log_duplicates gauge\n"
	    "mailq_send_log_duplicates 0\n"));
	assert_null(strstr(out, "mailq_step_messages"));
	free(out);
}

static void percent(void **state)
{
	(void)state;
	assert_true(mq_stats_percent(0, 0) == 0.0);
	assert_true(mq_stats_percent(3, 0) == 0.0);
	assert_true(mq_stats_percent(1, 8) == 12.5);
	assert_true(mq_stats_percent(8, 8) == 100.0);
	assert_true(mq_stats_percent(1, 3) > 33.33 &&
	    mq_stats_percent(1, 3) < 33.34);
}

/* What came back: replies by variant, a paused mailbox, the inbox. */
static void answers(struct mq_stats *st, struct mq_stats_campaign *c,
    struct mq_stats_mailbox *m, struct mq_stats_sender *s,
    struct mq_db_stats_inbound *in)
{
	sample(st, c, m, s);
	c->k.inbound[MQ_IN_REPLY] = 3;
	c->k.inbound[MQ_IN_HARD_BOUNCE] = 1;
	c->k.resolved = 2;
	c->k.contacted = 8;
	c->k.replied = 2;
	c->k.n_variants = 2;
	snprintf(c->k.variant[0].letter, 16, "A");
	c->k.variant[0].contacted = 5;
	c->k.variant[0].replied = 0;
	snprintf(c->k.variant[1].letter, 16, "B");
	c->k.variant[1].contacted = 3;
	c->k.variant[1].replied = 2;
	m->m.paused_at = XMAS_1000 - 3600;
	snprintf(m->m.paused_why, sizeof m->m.paused_why, "6 hard bounces");
	m->m.bounce_rate = 5;
	m->bounced = 6;
	m->window = 100;
	m->m.fetched_at = XMAS_1000 - 60;
	m->m.inbound[MQ_IN_UNMATCHED] = 1;
	m->m.inbound[MQ_IN_REPLY] = 3;
	m->m.read = 4;
	memset(in, 0, 2 * sizeof *in);
	in[0].read_at = XMAS_1000 - 120;
	snprintf(in[0].mailbox, sizeof in[0].mailbox, "m1");
	snprintf(in[0].folder, sizeof in[0].folder, "INBOX");
	snprintf(in[0].from, sizeof in[0].from, "x@unrelated.example");
	snprintf(in[0].cls, sizeof in[0].cls, "unmatched");
	snprintf(in[0].reason, sizeof in[0].reason, "matches nothing");
	in[1] = in[0];
	snprintf(in[1].cls, sizeof in[1].cls, "reply");
	snprintf(in[1].lead, sizeof in[1].lead, "lead@example.com");
	snprintf(in[1].campaign, sizeof in[1].campaign, "q4");
	in[1].resolved = 1;
	st->inbox = in;
	st->n_inbox = 2;
}

static void answers_table(void **state)
{
	struct mq_stats st;
	struct mq_stats_campaign c;
	struct mq_stats_mailbox m;
	struct mq_stats_sender s;
	struct mq_db_stats_inbound in[2];
	char *out;

	(void)state;
	answers(&st, &c, &m, &s, in);
	out = render(&st, MQ_STATS_TABLE);
	assert_non_null(strstr(out, "\nCAMPAIGN  REPLIES  AUTO-REPLIES  HARD "
	    "BOUNCES  SOFT BOUNCES  UNSUBSCRIBES  RESOLVED  CONTACTED  REPLY "
	    "RATE\n"));
	assert_non_null(strstr(out, "         2          8       25.0%\n"));
	/* paused before failing, and not tried again: the operator resumes */
	assert_non_null(strstr(out, "  -         paused  535"));
	assert_non_null(strstr(out, "\nm1       2026-12-25 08:59     4  6.0% "
	    "(6/100)           5%  2026-12-25 08:00  6 hard bounces  -\n"));
	assert_null(strstr(out, "unmatched"));     /* no inbox without asking */
	free(out);
	st.inbox_asked = 1;
	out = render(&st, MQ_STATS_TABLE);
	assert_ptr_equal(strstr(out, "READ              MAILBOX  FOLDER  FROM"),
	    out);
	assert_non_null(strstr(out, "\n2026-12-25 08:58  m1       INBOX   "
	    "x@unrelated.example  unmatched  -                 -         "
	    "matches nothing\n"));
	assert_non_null(strstr(out, "  reply      lead@example.com  q4  "));
	free(out);
	st.n_inbox = 0;
	out = render(&st, MQ_STATS_TABLE);
	assert_string_equal(out, "INBOX  none\n");
	free(out);
}

static void answers_json(void **state)
{
	struct mq_stats st;
	struct mq_stats_campaign c;
	struct mq_stats_mailbox m;
	struct mq_stats_sender s;
	struct mq_db_stats_inbound in[2];
	char *out;

	(void)state;
	answers(&st, &c, &m, &s, in);
	st.inbox_asked = 1;
	out = render(&st, MQ_STATS_JSON);
	assert_non_null(strstr(out, "\"inbound\": {\n        \"reply\": 3,\n"));
	assert_non_null(strstr(out, "\"resolved\": 2,\n"));
	assert_non_null(strstr(out, "\"variant\": \"B\",\n          \"contacted\": "
	    "3,\n          \"replied\": 2,\n          \"percent\": 66.7\n"));
	assert_non_null(strstr(out, "\"paused\": true,\n"));
	assert_non_null(strstr(out, "\"paused_since\": 1798185600,\n"));
	assert_non_null(strstr(out, "\"percent\": 6.0,\n        \"pause_above\": "
	    "5\n"));
	assert_non_null(strstr(out, "\"last_fetch\": 1798189140,\n"));
	assert_non_null(strstr(out, "\"fetch_error\": null,\n"));
	assert_non_null(strstr(out, "\"inbox\": [\n    {\n      \"read_at\": "
	    "1798189080,\n"));
	assert_non_null(strstr(out, "\"class\": \"unmatched\",\n"));
	assert_non_null(strstr(out, "\"lead\": null,\n"));
	assert_non_null(strstr(out, "\"resolved\": true\n    }\n  ]\n}\n"));
	free(out);
}

static void answers_prometheus(void **state)
{
	struct mq_stats st;
	struct mq_stats_campaign c;
	struct mq_stats_mailbox m;
	struct mq_stats_sender s;
	struct mq_db_stats_inbound in[2];
	char *out;

	(void)state;
	answers(&st, &c, &m, &s, in);
	out = render(&st, MQ_STATS_PROMETHEUS);
	assert_non_null(strstr(out, "# TYPE mailq_campaign_replies_total counter\n"
	    "mailq_campaign_replies_total{campaign=\"q\\\"4\"} 3\n"));
	assert_non_null(strstr(out, "mailq_campaign_bounces_total{campaign="
	    "\"q\\\"4\",kind=\"hard\"} 1\n"));
	assert_non_null(strstr(out, "mailq_campaign_reply_rate{campaign="
	    "\"q\\\"4\"} 0.25\n"));
	assert_non_null(strstr(out, "# TYPE mailq_variant_reply_rate gauge\n"
	    "mailq_variant_reply_rate{campaign=\"q\\\"4\",variant=\"A\"} 0\n"
	    "mailq_variant_reply_rate{campaign=\"q\\\"4\",variant=\"B\"} "
	    "0.6666666667\n"));
	assert_non_null(strstr(out, "mailq_mailbox_paused{mailbox=\"m1\","
	    "sender=\"anna\"} 1\n"));
	assert_non_null(strstr(out, "mailq_mailbox_bounce_rate{mailbox=\"m1\","
	    "sender=\"anna\"} 0.06\n"));
	assert_non_null(strstr(out, "mailq_mailbox_last_fetch_timestamp_seconds{"
	    "mailbox=\"m1\",sender=\"anna\"} 1798189140\n"));
	assert_non_null(strstr(out, "mailq_inbound_messages_total{mailbox=\"m1\","
	    "class=\"unmatched\"} 1\n"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(window),
		cmocka_unit_test(project),
		cmocka_unit_test(table),
		cmocka_unit_test(json),
		cmocka_unit_test(prometheus),
		cmocka_unit_test(percent),
		cmocka_unit_test(answers_table),
		cmocka_unit_test(answers_json),
		cmocka_unit_test(answers_prometheus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
