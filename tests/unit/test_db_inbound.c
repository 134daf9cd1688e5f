/* Unit tests of the store's side of inbound mail (lib/db_inbound.c): each
 * class applied to a fixture of messages mailq sent, the matching rules
 * (thread, report, sender), exactly once under the key and for copies,
 * unknown messages resolved, the soft-bounce limit, the company stop
 * (not on free mail), and the bounce guard. Messages are given as the
 * classifier's output, so only the store is under test here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "db_inbound.h"
#include "mailbox.h"

#define NOW 1795510800LL
#define DAY 86400

/* Mailboxes m1 and m2; campaign c1 (two steps, 3 days apart) on m1 with
 * six leads whose first message went out (send_log 'sent', Message-ID
 * id<lead>.0@example.com), their follow-ups pending; lead 6's first
 * message is 'unknown' and its lead too; lead 7 is queued, never sent. */
static const char fixture_sql[] =
    "INSERT INTO sender (id, name, daily_limit) VALUES (1, 'anna', 100);"
    "INSERT INTO mailbox (id, name, sender_id, address, daily_limit, "
    "bounce_rate, bounce_window) VALUES (1, 'm1', 1, 'anna@example.com', "
    "100, 20, 10), (2, 'm2', 1, 'anna2@example.com', 100, 5, 100);"
    "INSERT INTO campaign (id, name, sender_id, status, timezone, days, "
    "start_min, end_min, delay, jitter, daily_limit, buffer, retry_attempts, "
    "retry_backoff, created_at, stop_on_reply) VALUES (1, 'c1', 1, "
    "'running', 'UTC', 127, 0, 1440, 0, 0, 100, 20, 3, '60', 0, 'domain');"
    "INSERT INTO campaign_mailbox VALUES (1, 1, 0);"
    "INSERT INTO step (id, campaign_id, number, wait_days) VALUES "
    "(1, 1, 0, 0), (2, 1, 1, 3);"
    "INSERT INTO variant (id, step_id, letter, subject, body_text) VALUES "
    "(1, 1, 'A', 's', 't'), (2, 2, 'A', '', 't');"
    "INSERT INTO lead (id, email, created_at) VALUES "
    "(1, 'ann@acme.example', 0), (2, 'bob@acme.example', 0), "
    "(3, 'cat@gmail.com', 0), (4, 'dan@gmail.com', 0), "
    "(5, 'eve@beta.example', 0), (6, 'fay@gamma.example', 0), "
    "(7, 'gus@acme.example', 0);"
    "INSERT INTO campaign_lead (campaign_id, lead_id, status, letter, "
    "next_step, mailbox_id, added_at, updated_at) SELECT 1, id, CASE id "
    "WHEN 6 THEN 'unknown' WHEN 7 THEN 'queued' ELSE 'active' END, 'A', "
    "1, CASE WHEN id < 7 THEN 1 END, 0, 0 FROM lead;"
    "INSERT INTO send_log (id, campaign_id, lead_id, step, variant_id, "
    "mailbox_id, status, message_id, claimed_at, sent_at) SELECT id, 1, "
    "id, 0, 1, 1, CASE id WHEN 6 THEN 'unknown' ELSE 'sent' END, 'id' || id "
    "|| '.0@example.com', 1795000000, CASE WHEN id != 6 THEN 1795000000 END "
    "FROM lead WHERE id < 7;"
    "INSERT INTO attempt (send_log_id, campaign_id, sender_id, mailbox_id, "
    "started_at, ended_at, outcome) SELECT id, 1, 1, 1, 1795000000, "
    "1795000000, status FROM send_log;"
    "INSERT INTO queue (campaign_id, lead_id, step, variant_id, status, "
    "scheduled_at, mailbox_id, updated_at) SELECT 1, id, 0, 1, CASE id "
    "WHEN 6 THEN 'unknown' ELSE 'sent' END, 0, 1, 0 FROM lead WHERE id < 7;"
    "INSERT INTO queue (campaign_id, lead_id, step, variant_id, "
    "scheduled_at, updated_at) SELECT 1, id, 1, 2, 1795000000 + 3 * 86400, "
    "0 FROM lead WHERE id < 6;"
    "INSERT INTO queue (campaign_id, lead_id, step, variant_id, "
    "scheduled_at, updated_at) VALUES (1, 7, 0, 1, 0, 0);";

struct fx {
	char          dir[256], path[300];
	struct mq_db *db;
	int           uid;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	const char *tmp = getenv("TMPDIR");
	struct mq_err err;
	int from, to;

	assert_non_null(f);
	snprintf(f->dir, sizeof f->dir, "%s/mq-inbound.XXXXXX",
	    tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/q.db", f->dir);
	assert_int_equal(mq_db_open(&f->db, f->path, MQ_DB_CREATE, &err),
	    MQ_OK);
	assert_int_equal(mq_db_migrate(f->db, &from, &to, &err), MQ_OK);
	assert_int_equal(mq_db_exec(f->db, fixture_sql, &err), MQ_OK);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	mq_db_close(f->db);
	mq_db_remove(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static long long one(struct fx *f, const char *sql)
{
	sqlite3_stmt *st;
	long long v = -1;

	assert_int_equal(sqlite3_prepare_v2(f->db->h, sql, -1, &st, NULL),
	    SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static const char *lead_status(struct fx *f, int lead)
{
	static char buf[32];
	sqlite3_stmt *st;
	char sql[160];

	snprintf(sql, sizeof sql, "SELECT status FROM campaign_lead WHERE "
	    "lead_id = %d", lead);
	assert_int_equal(sqlite3_prepare_v2(f->db->h, sql, -1, &st, NULL),
	    SQLITE_OK);
	buf[0] = '\0';
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(buf, sizeof buf, "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return buf;
}

/* A message as the classifier would give it. */
static struct mq_inbound *msg(enum mq_class c, const char *from,
    const char *in_reply_to)
{
	static struct mq_inbound m;

	memset(&m, 0, sizeof m);
	m.cls = c;
	snprintf(m.reason, sizeof m.reason, "test %s", mq_class_name(c));
	snprintf(m.from, sizeof m.from, "%s", from);
	if (in_reply_to != NULL) {
		snprintf(m.ids[0], sizeof m.ids[0], "%s", in_reply_to);
		m.n_ids = 1;
	}
	return &m;
}

static void rcpt(struct mq_inbound *m, const char *addr, const char *action,
    const char *status)
{
	struct mq_dsn_rcpt *r = &m->rcpts[m->n_rcpts++];

	snprintf(r->addr, sizeof r->addr, "%s", addr);
	snprintf(r->action, sizeof r->action, "%s", action);
	snprintf(r->status, sizeof r->status, "%s", status);
}

/* Applies m as read from mailbox 1's INBOX at the next UID. */
static struct mq_applied apply_at(struct fx *f, sqlite3_int64 mailbox,
    const struct mq_inbound *m)
{
	struct mq_inbound_at at = { mailbox, "INBOX", 7, 0, NULL, NULL, 0, 3,
	    NOW };
	struct mq_applied a;
	struct mq_err err;
	char ref[24], digest[32];

	at.uid = ++f->uid;
	snprintf(ref, sizeof ref, "%d", f->uid);
	snprintf(digest, sizeof digest, "d%d", f->uid);
	at.ref = ref;
	at.digest = digest;
	if (mq_db_inbound_apply(f->db, &at, m, &a, &err) != MQ_OK)
		fail_msg("apply: %s", err.msg);
	assert_int_equal(a.recorded, 1);
	return a;
}

static struct mq_applied apply(struct fx *f, const struct mq_inbound *m)
{
	return apply_at(f, 1, m);
}

static void test_reply_by_thread_stops_company(void **state)
{
	struct fx *f = *state;
	struct mq_applied a;

	/* a colleague answers in ann's thread */
	a = apply(f, msg(MQ_CLASS_REPLY, "boss@acme.example",
	    "id1.0@example.com"));
	assert_string_equal(a.cls, "reply");
	assert_string_equal(a.lead, "ann@acme.example");
	assert_string_equal(a.campaign, "c1");
	assert_string_equal(lead_status(f, 1), "replied");
	assert_string_equal(lead_status(f, 2), "cancelled");   /* bob */
	assert_string_equal(lead_status(f, 7), "cancelled");   /* gus */
	assert_int_equal(a.stopped, 3);
	assert_int_equal(one(f, "SELECT count(*) FROM queue WHERE lead_id IN "
	    "(1, 2) AND status = 'pending'"), 0);
	assert_int_equal(one(f, "SELECT count(*) FROM suppression"), 0);
	assert_int_equal(one(f, "SELECT lead_id FROM inbound"), 1);
}

static void test_reply_free_mail_stops_one(void **state)
{
	struct fx *f = *state;
	struct mq_applied a;

	/* no thread headers: matched by From; gmail.com is free mail */
	a = apply(f, msg(MQ_CLASS_REPLY, "cat@gmail.com", NULL));
	assert_string_equal(a.cls, "reply");
	assert_string_equal(lead_status(f, 3), "replied");
	assert_string_equal(lead_status(f, 4), "active");       /* dan */
	assert_int_equal(a.stopped, 1);
}

static void test_unmatched(void **state)
{
	struct fx *f = *state;
	struct mq_applied a;

	a = apply(f, msg(MQ_CLASS_REPLY, "stranger@else.example",
	    "nothing@else.example"));
	assert_string_equal(a.cls, "unmatched");
	assert_string_equal(a.lead, "");
	/* a reply to m1's lead read from m2 (which never wrote to it) */
	a = apply_at(f, 2, msg(MQ_CLASS_REPLY, "dan@gmail.com", NULL));
	assert_string_equal(a.cls, "unmatched");
	assert_int_equal(one(f, "SELECT count(*) FROM campaign_lead WHERE "
	    "status != 'active' AND lead_id < 6"), 0);
}

static void test_hard_bounce_by_report(void **state)
{
	struct fx *f = *state;
	struct mq_inbound *m = msg(MQ_CLASS_HARD_BOUNCE,
	    "mailer-daemon@mx.example", NULL);
	struct mq_applied a;

	rcpt(m, "eve@beta.example", "failed", "5.1.1");
	a = apply(f, m);
	assert_string_equal(a.cls, "hard_bounce");
	assert_string_equal(lead_status(f, 5), "bounced");
	assert_int_equal(one(f, "SELECT count(*) FROM suppression WHERE "
	    "email = 'eve@beta.example'"), 1);
	assert_int_equal(one(f, "SELECT count(*) FROM send_log WHERE id = 5 "
	    "AND status = 'bounced'"), 1);
	assert_int_equal(one(f, "SELECT count(*) FROM queue WHERE lead_id = 5 "
	    "AND status = 'pending'"), 0);
	assert_int_equal(one(f, "SELECT count(*) FROM attempt WHERE "
	    "send_log_id = 5 AND outcome = 'bounced'"), 1);
}

static void test_bounce_by_original_id_resolves_unknown(void **state)
{
	struct fx *f = *state;
	struct mq_inbound *m = msg(MQ_CLASS_HARD_BOUNCE, "postmaster@x", NULL);
	struct mq_applied a;

	snprintf(m->orig_message_id, sizeof m->orig_message_id,
	    "id6.0@example.com");
	a = apply(f, m);
	assert_string_equal(a.lead, "fay@gamma.example");
	assert_int_equal(a.resolved, 1);
	assert_string_equal(lead_status(f, 6), "bounced");
	assert_int_equal(one(f, "SELECT count(*) FROM queue WHERE lead_id = 6 "
	    "AND status = 'bounced'"), 1);
}

static void test_reply_resolves_unknown(void **state)
{
	struct fx *f = *state;
	struct mq_applied a;

	a = apply(f, msg(MQ_CLASS_AUTO_REPLY, "fay@gamma.example",
	    "id6.0@example.com"));
	assert_int_equal(a.resolved, 1);
	assert_int_equal(one(f, "SELECT count(*) FROM send_log WHERE id = 6 "
	    "AND status = 'sent' AND sent_at = 1795000000"), 1);
	assert_string_equal(lead_status(f, 6), "active");
	/* its follow-up is planned, and the out-of-office holds it 7 days */
	assert_int_equal(one(f, "SELECT scheduled_at FROM queue WHERE lead_id "
	    "= 6 AND step = 1 AND status = 'pending'"), NOW + 7 * DAY);
	assert_int_equal(a.delayed, 1);
	/* applied again under another key: a copy, not applied twice */
	a = apply(f, msg(MQ_CLASS_AUTO_REPLY, "fay@gamma.example",
	    "id6.0@example.com"));
	assert_string_equal(a.cls, "auto_reply");   /* no Message-ID: bytes
	                                               differ, so not a copy */
	assert_int_equal(a.resolved, 0);
}

static void test_auto_reply_return_date(void **state)
{
	struct fx *f = *state;
	struct mq_inbound *m = msg(MQ_CLASS_AUTO_REPLY, "dan@gmail.com",
	    "id4.0@example.com");
	struct mq_applied a;

	m->back_on = NOW + 20 * DAY;
	a = apply(f, m);
	assert_int_equal(a.delayed, 1);
	assert_int_equal(one(f, "SELECT scheduled_at FROM queue WHERE lead_id "
	    "= 4 AND step = 1"), NOW + 20 * DAY);
	assert_string_equal(lead_status(f, 4), "active");
	/* a return date over 90 days away is not believed */
	m = msg(MQ_CLASS_AUTO_REPLY, "cat@gmail.com", "id3.0@example.com");
	m->back_on = NOW + 200 * DAY;
	apply(f, m);
	assert_int_equal(one(f, "SELECT scheduled_at FROM queue WHERE lead_id "
	    "= 3 AND step = 1"), NOW + 7 * DAY);
}

static void test_unsubscribe(void **state)
{
	struct fx *f = *state;
	struct mq_applied a;

	a = apply(f, msg(MQ_CLASS_UNSUBSCRIBE, "eve-home@else.example",
	    "id5.0@example.com"));
	assert_string_equal(a.cls, "unsubscribe");
	assert_int_equal(one(f, "SELECT count(*) FROM suppression WHERE email "
	    "IN ('eve@beta.example', 'eve-home@else.example')"), 2);
	assert_string_equal(lead_status(f, 5), "unsubscribed");
	/* a stranger who writes to the unsubscribe address: suppressed */
	a = apply(f, msg(MQ_CLASS_UNSUBSCRIBE, "who@else.example", NULL));
	assert_string_equal(a.cls, "unsubscribe");
	assert_int_equal(one(f, "SELECT count(*) FROM suppression"), 3);
}

static void test_soft_limit(void **state)
{
	struct fx *f = *state;
	struct mq_applied a;

	for (int i = 1; i <= 3; i++) {
		struct mq_inbound *m = msg(MQ_CLASS_SOFT_BOUNCE, "mailer-daemon@x",
		    NULL);

		rcpt(m, "dan@gmail.com", "delayed", "4.2.2");
		a = apply(f, m);
		assert_string_equal(a.cls, i < 3 ? "soft_bounce" :
		    "hard_bounce");
		assert_string_equal(lead_status(f, 4), i < 3 ? "active" :
		    "bounced");
	}
	assert_int_equal(one(f, "SELECT count(*) FROM suppression"), 1);
}

static void test_once(void **state)
{
	struct fx *f = *state;
	struct mq_inbound_at at = { 1, "INBOX", 7, 42, "42", "dd", 0, 3, NOW };
	struct mq_inbound *m = msg(MQ_CLASS_REPLY, "ann@acme.example",
	    "id1.0@example.com");
	struct mq_applied a;
	struct mq_err err;
	long long v, last;
	int changed, seen;

	snprintf(m->message_id, sizeof m->message_id, "r1@acme.example");
	assert_int_equal(mq_db_inbox_opened(f->db, 1, "INBOX", 7, NOW,
	    &changed, &err), MQ_OK);
	assert_int_equal(mq_db_inbound_apply(f->db, &at, m, &a, &err), MQ_OK);
	assert_int_equal(a.recorded, 1);
	assert_int_equal(mq_db_inbox_cursor(f->db, 1, "INBOX", &v, &last,
	    &err), MQ_OK);
	assert_int_equal(v, 7);
	assert_int_equal(last, 42);
	/* the same key again: nothing */
	assert_int_equal(mq_db_inbound_apply(f->db, &at, m, &a, &err), MQ_OK);
	assert_int_equal(a.recorded, 0);
	assert_int_equal(mq_db_inbound_seen(f->db, 1, "INBOX", 7, "42", &seen,
	    &err), MQ_OK);
	assert_int_equal(seen, 1);
	/* a new UIDVALIDITY: read from the start; the message is a copy */
	assert_int_equal(mq_db_inbox_opened(f->db, 1, "INBOX", 8, NOW,
	    &changed, &err), MQ_OK);
	assert_int_equal(changed, 1);
	assert_int_equal(mq_db_inbox_cursor(f->db, 1, "INBOX", &v, &last,
	    &err), MQ_OK);
	assert_int_equal(last, 0);
	at.uidvalidity = 8;
	assert_int_equal(mq_db_inbound_apply(f->db, &at, m, &a, &err), MQ_OK);
	assert_int_equal(a.recorded, 1);
	assert_string_equal(a.cls, "duplicate");
	assert_int_equal(one(f, "SELECT count(*) FROM inbound"), 2);
	assert_int_equal(one(f, "SELECT count(*) FROM inbound WHERE class = "
	    "'reply'"), 1);
}

static void test_own(void **state)
{
	struct fx *f = *state;
	struct mq_inbound *m = msg(MQ_CLASS_REPLY, "someone@else.example",
	    NULL);
	struct mq_applied a;

	/* a copy of a message mailq sent, e.g. Bcc'd back */
	snprintf(m->message_id, sizeof m->message_id, "id2.0@example.com");
	a = apply(f, m);
	assert_string_equal(a.cls, "own");
	assert_string_equal(lead_status(f, 2), "active");
}

static void test_sent_folder(void **state)
{
	struct fx *f = *state;
	struct mq_db_unknown_send *u = NULL;
	struct mq_err err;
	int n, done;

	assert_int_equal(mq_db_unknown_sends(f->db, 1, 1794000000, &u, &n,
	    &err), MQ_OK);
	assert_int_equal(n, 1);
	assert_string_equal(u[0].message_id, "id6.0@example.com");
	if (mq_db_unknown_sent(f->db, u[0].id, "found in Sent", NOW, &done,
	    &err) != MQ_OK)
		fail_msg("unknown_sent: %s", err.msg);
	assert_int_equal(done, 1);
	assert_int_equal(mq_db_unknown_sent(f->db, u[0].id, "found in Sent",
	    NOW, &done, &err), MQ_OK);
	assert_int_equal(done, 0);
	free(u);
	assert_int_equal(one(f, "SELECT count(*) FROM attempt WHERE "
	    "send_log_id = 6 AND outcome = 'sent' AND detail = 'found in "
	    "Sent'"), 1);
	/* the follow-up: 3 days after it went, not before now */
	assert_int_equal(one(f, "SELECT scheduled_at FROM queue WHERE lead_id "
	    "= 6 AND step = 1"), NOW);
	/* too old to look for */
	assert_int_equal(mq_db_unknown_sends(f->db, 1, 1796000000, &u, &n,
	    &err), MQ_OK);
	assert_int_equal(n, 0);
	free(u);
}

static void test_bounce_guard(void **state)
{
	struct fx *f = *state;
	struct mq_err err;
	int was;

	/* m1: rate 20 % of a window of 10: the third hard bounce of its six
	 * sends (3 > 2) pauses it */
	for (int l = 1; l <= 3; l++) {
		struct mq_inbound *m = msg(MQ_CLASS_HARD_BOUNCE, "postmaster@x",
		    NULL);
		struct mq_applied a;
		char id[64];

		snprintf(id, sizeof id, "id%d.0@example.com", l);
		snprintf(m->orig_message_id, sizeof m->orig_message_id, "%s",
		    id);
		a = apply(f, m);
		assert_int_equal(a.paused, l == 3);
	}
	assert_int_equal(one(f, "SELECT bounce_paused_at FROM mailbox WHERE "
	    "id = 1"), NOW);
	assert_int_equal(mq_db_mailbox_resume(f->db, "m1", NOW + 1, &was,
	    &err), MQ_OK);
	assert_int_equal(was, 1);
	assert_int_equal(one(f, "SELECT bounce_paused_at IS NULL FROM mailbox "
	    "WHERE id = 1"), 1);
	assert_int_equal(mq_db_mailbox_resume(f->db, "m1", NOW + 1, &was,
	    &err), MQ_OK);
	assert_int_equal(was, 0);
	assert_int_equal(mq_db_mailbox_resume(f->db, "nope", NOW, &was, &err),
	    MQ_PERM);
}

static void test_paused_mailbox_rule(void **state)
{
	struct mq_mailbox_state m;
	char buf[200];

	(void)state;
	memset(&m, 0, sizeof m);
	m.usable = 1;
	m.daily_limit = 10;
	m.max_connections = 2;
	assert_int_equal(mq_mailbox_why(&m, NOW, NULL), MQ_MAILBOX_OK);
	snprintf(m.paused_why, sizeof m.paused_why, "3 hard bounces");
	assert_int_equal(mq_mailbox_why(&m, NOW, NULL), MQ_MAILBOX_PAUSED);
	assert_int_equal(mq_mailbox_free_at(&m, MQ_MAILBOX_PAUSED, NOW), 0);
	mq_mailbox_describe(&m, MQ_MAILBOX_PAUSED, buf, sizeof buf);
	assert_non_null(strstr(buf, "3 hard bounces"));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_reply_by_thread_stops_company),
		T(test_reply_free_mail_stops_one),
		T(test_unmatched),
		T(test_hard_bounce_by_report),
		T(test_bounce_by_original_id_resolves_unknown),
		T(test_reply_resolves_unknown),
		T(test_auto_reply_return_date),
		T(test_unsubscribe),
		T(test_soft_limit),
		T(test_once),
		T(test_own),
		T(test_sent_folder),
		T(test_bounce_guard),
		cmocka_unit_test(test_paused_mailbox_rule),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
