/* Unit tests of the config loader: defaults, paths, templates, secrets and
 * every class of error, each checked for its exit code and for the
 * "FILE:LINE:" that lets an operator find the mistake. Config files are
 * written into a scratch directory. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>
#include <cmocka.h>

#include "conf.h"
#include "msg.h"

static char dir[512];
static char cpath[600];         /* dir/mailq.conf */
static char text[8192];         /* the config last written */

/* A valid config with one key per line, so that a test can change one
 * line and know where the error must point. */
static const char base[] =
    "database = \"q.db\";\n"
    "timezone = \"Europe/Warsaw\";\n"
    "senders = (\n"
    "  {\n"
    "    name = \"anna\";\n"
    "    daily_limit = 120;\n"
    "  },\n"
    "  {\n"
    "    name = \"bob\";\n"
    "  }\n"
    ");\n"
    "mailboxes = (\n"
    "  {\n"
    "    name = \"anna-1\";\n"
    "    address = \"anna@example.com\";\n"
    "    display_name = \"Anna Nowak – Dział Sprzedaży\";\n"
    "    sender = \"anna\";\n"
    "    smtp = \"smtp://127.0.0.1:2525\";\n"
    "    tls = \"none\";\n"
    "  },\n"
    "  {\n"
    "    name = \"anna-2\";\n"
    "    address = \"anna.nowak@example.com\";\n"
    "    sender = \"anna\";\n"
    "    smtp = \"smtps://smtp.example.com\";\n"
    "  },\n"
    "  {\n"
    "    name = \"bob-1\";\n"
    "    address = \"bob@example.com\";\n"
    "    sender = \"bob\";\n"
    "    smtp = \"smtp://smtp.example.com:587\";\n"
    "  }\n"
    ");\n"
    "campaigns = (\n"
    "  {\n"
    "    name = \"q4\";\n"
    "    sender = \"anna\";\n"
    "    mailboxes = [ \"anna-1\", \"anna-2\" ];\n"
    "    delay = 90;\n"
    "    steps = (\n"
    "      {\n"
    "        variants = (\n"
    "          {\n"
    "            subject = \"Cześć {{first_name}}\";\n"
    "            text = \"Dzień dobry {{first_name}}\";\n"
    "          },\n"
    "          {\n"
    "            subject = \"Pytanie do {{company}}\";\n"
    "            text = \"Wariant B\";\n"
    "          }\n"
    "        );\n"
    "      },\n"
    "      {\n"
    "        variants = (\n"
    "          {\n"
    "            subject = \"Re: Cześć {{first_name}}\";\n"
    "            text = \"Przypomnienie\";\n"
    "          }\n"
    "        );\n"
    "      }\n"
    "    );\n"
    "  }\n"
    ");\n";

/* An absolute path from a name in the scratch directory. */
static const char *dir_path(const char *name)
{
	static char p[700];

	snprintf(p, sizeof p, "%s/%s", dir, name);
	return p;
}

static void write_file(const char *name, const char *data, size_t len,
    mode_t mode)
{
	char p[700];
	FILE *f;

	assert_true((size_t)snprintf(p, sizeof p, "%s/%s", dir, name) <
	    sizeof p);
	assert_non_null(f = fopen(p, "w"));
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(p, mode), 0);
}

/* Writes base with the first `find` replaced by `repl` as the config. */
static void write_conf(const char *find, const char *repl)
{
	const char *at = find != NULL ? strstr(base, find) : NULL;
	int n;

	if (find != NULL && at == NULL)
		fail_msg("test bug: '%s' is not in the base config", find);
	if (at == NULL)
		n = snprintf(text, sizeof text, "%s", base);
	else
		n = snprintf(text, sizeof text, "%.*s%s%s", (int)(at - base),
		    base, repl, at + strlen(find));
	assert_true(n > 0 && (size_t)n < sizeof text);
	write_file("mailq.conf", text, strlen(text), 0644);
}

/* The 1-based line of the first `s` in the config last written. */
static int line_of(const char *s)
{
	const char *at = strstr(text, s), *p;
	int line = 1;

	if (at == NULL)
		fail_msg("test bug: '%s' is not in the config", s);
	for (p = text; p < at; p++)
		line += *p == '\n';
	return line;
}

static struct mq_conf *load_ok(void)
{
	struct mq_conf *conf = NULL;
	struct mq_err err;

	if (mq_conf_load(&conf, cpath, &err) != MQ_OK)
		fail_msg("unexpected error: %s", err.msg);
	assert_non_null(conf);
	return conf;
}

/* Replaces find by repl, loads, and wants exit code ex, a message that
 * starts "CONFIG:LINE: " (line of `anchor`, else of `repl`) and contains
 * `needle`. */
static void check_err(const char *anchor, const char *needle)
{
	struct mq_conf *conf = NULL;
	struct mq_err err;
	char want[700];

	if (mq_conf_load(&conf, cpath, &err) != MQ_PERM)
		fail_msg("loaded, want an error '%s' in:\n%s", needle, text);
	assert_null(conf);
	snprintf(want, sizeof want, "%s:%d: ", cpath, line_of(anchor));
	if (err.ex != EX_CONFIG || strncmp(err.msg, want, strlen(want)) != 0 ||
	    strstr(err.msg, needle) == NULL)
		fail_msg("got ex %d '%s', want %d '%s...%s'", err.ex, err.msg,
		    EX_CONFIG, want, needle);
}

static void expect_err(const char *find, const char *repl,
    const char *anchor, const char *needle)
{
	write_conf(find, repl);
	check_err(anchor != NULL ? anchor : repl, needle);
}

/* A whole config, for errors the base cannot be bent into. */
static void expect_raw(const char *conf, const char *anchor,
    const char *needle)
{
	snprintf(text, sizeof text, "%s", conf);
	write_file("mailq.conf", text, strlen(text), 0644);
	check_err(anchor, needle);
}

static int setup(void **state)
{
	const char *tmp = getenv("TMPDIR");

	(void)state;
	snprintf(dir, sizeof dir, "%s/mailq-test-conf.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(cpath, sizeof cpath, "%s/mailq.conf", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[600];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd);
}

static void test_defaults(void **state)
{
	struct mq_conf *c;
	const struct mq_conf_mailbox *m;
	const struct mq_conf_campaign *k;
	char db[700];

	(void)state;
	write_conf(NULL, NULL);
	c = load_ok();
	snprintf(db, sizeof db, "%s/q.db", dir);
	assert_string_equal(c->path, cpath);
	assert_string_equal(c->database, db);
	assert_string_equal(c->timezone, "Europe/Warsaw");
	assert_int_equal(c->n_senders, 2);
	assert_int_equal(c->senders[0].daily_limit, 120);
	assert_int_equal(c->senders[1].daily_limit, 100);
	assert_int_equal(c->senders[1].line, line_of("  {\n    name = \"bob\""));
	assert_int_equal(c->n_mailboxes, 3);
	assert_non_null(m = mq_conf_mailbox(c, "anna-1"));
	assert_string_equal(m->display_name, "Anna Nowak – Dział Sprzedaży");
	assert_int_equal(m->tls, MQ_TLS_NONE);
	assert_non_null(m = mq_conf_mailbox(c, "anna-2"));
	assert_string_equal(m->address, "anna.nowak@example.com");
	assert_string_equal(m->display_name, "");
	assert_string_equal(m->sender, "anna");
	assert_int_equal(m->daily_limit, 50);
	assert_int_equal(m->enabled, 1);
	assert_int_equal(m->tls, MQ_TLS_IMPLICIT);
	assert_int_equal(m->verify, 1);
	assert_null(m->ca_file);
	assert_null(m->username);
	assert_null(m->password);
	assert_int_equal(mq_conf_mailbox(c, "bob-1")->tls, MQ_TLS_STARTTLS);
	assert_null(mq_conf_mailbox(c, "nobody"));
	assert_non_null(mq_conf_sender(c, "bob"));
	assert_null(mq_conf_campaign(c, "q5"));
	assert_non_null(k = mq_conf_campaign(c, "q4"));
	assert_int_equal(k->n_mailboxes, 2);
	assert_string_equal(k->mailboxes[1], "anna-2");
	assert_string_equal(k->timezone, "Europe/Warsaw");
	assert_int_equal(k->days, 0x1f);
	assert_int_equal(k->start_min, 9 * 60);
	assert_int_equal(k->end_min, 17 * 60);
	assert_string_equal(k->holidays, "");
	assert_string_equal(k->extra_holidays, "");
	assert_int_equal(k->delay, 90);
	assert_int_equal(k->jitter, 20);
	assert_int_equal(k->daily_limit, 500);
	assert_int_equal(k->buffer, 20);
	assert_int_equal(k->retry_attempts, 3);
	assert_string_equal(k->retry_backoff, "60,300,900");
	assert_int_equal(k->n_steps, 2);
	assert_int_equal(k->steps[0].wait_days, 0);
	assert_int_equal(k->steps[1].wait_days, 3);
	assert_int_equal(k->steps[0].n_variants, 2);
	assert_string_equal(k->steps[0].variants[0].letter, "A");
	assert_string_equal(k->steps[0].variants[1].letter, "B");
	assert_int_equal(k->steps[0].variants[1].weight, 1);
	assert_string_equal(k->steps[0].variants[0].subject,
	    "Cześć {{first_name}}");
	assert_string_equal(k->steps[0].variants[1].text, "Wariant B");
	assert_null(k->steps[0].variants[0].html);
	mq_conf_free(c);
}

static void test_explicit_values(void **state)
{
	struct mq_conf *c;
	const struct mq_conf_campaign *k;
	const struct mq_conf_mailbox *m;
	char ca[700];

	(void)state;
	write_conf("    delay = 90;\n",
	    "    timezone = \"America/New_York\";\n"
	    "    schedule = {\n"
	    "      days = \"mon-wed, fri\";\n"
	    "      start = \"8:30\";\n"
	    "      end = \"24:00\";\n"
	    "      holidays = \"PL\";\n"
	    "      extra_holidays = [ \"2025-12-31\", \"2024-02-29\", "
	    "\"2025-12-31\" ];\n"
	    "    };\n"
	    "    delay = 0L;\n    jitter = 100;\n    daily_limit = 0;\n"
	    "    buffer = 1;\n"
	    "    retry = { attempts = 5; backoff = [ 10, 20 ]; };\n");
	/* the mailbox keys go into bob-1, which the campaign does not use */
	assert_int_equal(chmod(cpath, 0600), 0);
	c = load_ok();
	assert_non_null(k = mq_conf_campaign(c, "q4"));
	assert_string_equal(k->timezone, "America/New_York");
	assert_int_equal(k->days, 0x17);
	assert_int_equal(k->start_min, 8 * 60 + 30);
	assert_int_equal(k->end_min, 1440);
	assert_string_equal(k->holidays, "PL");
	assert_string_equal(k->extra_holidays, "2024-02-29,2025-12-31");
	assert_int_equal(k->delay, 0);
	assert_int_equal(k->jitter, 100);
	assert_int_equal(k->daily_limit, 0);
	assert_int_equal(k->buffer, 1);
	assert_int_equal(k->retry_attempts, 5);
	assert_string_equal(k->retry_backoff, "10,20,20,20,20");
	mq_conf_free(c);

	write_conf("    smtp = \"smtp://smtp.example.com:587\";\n",
	    "    smtp = \"smtp://[::1]:25/client.example.com\";\n"
	    "    display_name = \"Bob\";\n    daily_limit = 0;\n"
	    "    enabled = false;\n    verify = false;\n"
	    "    ca_file = \"certs/ca.pem\";\n");
	c = load_ok();
	assert_non_null(m = mq_conf_mailbox(c, "bob-1"));
	snprintf(ca, sizeof ca, "%s/certs/ca.pem", dir);
	assert_string_equal(m->ca_file, ca);
	assert_int_equal(m->enabled, 0);
	assert_int_equal(m->verify, 0);
	assert_int_equal(m->daily_limit, 0);
	assert_int_equal(m->tls, MQ_TLS_STARTTLS);
	mq_conf_free(c);
}

static void test_days(void **state)
{
	static const struct { const char *in; int mask; } ok[] = {
		{ "MON-FRI", 0x1f }, { "MON,WED,FRI", 0x15 },
		{ "MON-WED,FRI", 0x17 }, { "SAT-SUN", 0x60 },
		{ "sun", 0x40 }, { "Mon-Sun", 0x7f },
	};
	static const char *const bad[] = {
		"", "MON-XYZ", "FRI-MON", "MON,,TUE", "MONDAY", "MON-", "1-5",
	};
	const char *find = "    delay = 90;\n";
	char repl[128];
	struct mq_conf *c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		snprintf(repl, sizeof repl, "    schedule = { days = \"%s\"; };\n",
		    ok[i].in);
		write_conf(find, repl);
		c = load_ok();
		assert_int_equal(c->campaigns[0].days, ok[i].mask);
		mq_conf_free(c);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(repl, sizeof repl, "    schedule = { days = \"%s\"; };\n",
		    bad[i]);
		expect_err(find, repl, NULL, "days");
	}
}

static void test_syntax_and_keys(void **state)
{
	(void)state;
	expect_err("    delay = 90;\n", "    delay 90;\n", "delay 90",
	    "syntax error");
	expect_err("    delay = 90;\n", "    dealy = 90;\n", NULL,
	    "unknown key 'dealy' in campaign 'q4'");
	expect_err("timezone = ", "timezon = ", NULL,
	    "unknown key 'timezon'");
	expect_err("    daily_limit = 120;\n", "    daily_limt = 120;\n",
	    NULL, "unknown key 'daily_limt' in sender 'anna'");
	expect_err("    tls = \"none\";\n", "    tls = \"none\";\n"
	    "    pasword = \"x\";\n", "pasword", "unknown key 'pasword' in "
	    "mailbox 'anna-1'");
	expect_err("    delay = 90;\n", "    retry = { tries = 3; };\n", NULL,
	    "unknown key 'tries' in campaign 'q4' retry");
	expect_err("            text = \"Wariant B\";\n",
	    "            txt = \"Wariant B\";\n", NULL,
	    "unknown key 'txt' in campaign 'q4' step 0 variant B");
	expect_err("      {\n        variants = (\n          {\n            "
	    "subject = \"Re:", "      {\n        wait = 3;\n        variants = "
	    "(\n          {\n            subject = \"Re:", "wait = 3",
	    "unknown key 'wait' in campaign 'q4' step 1");
}

static void test_types(void **state)
{
	(void)state;
	expect_err("    delay = 90;\n", "    delay = \"90\";\n", NULL,
	    "delay must be an integer");
	expect_err("    delay = 90;\n", "    delay = 1.5;\n", NULL,
	    "delay must be an integer");
	expect_err("    tls = \"none\";\n", "    tls = \"none\";\n"
	    "    enabled = 1;\n", "enabled", "enabled must be true or false");
	expect_err("    name = \"bob\";\n", "    name = 7;\n", NULL,
	    "name must be a string");
	expect_err("    daily_limit = 120;\n", "    daily_limit = -1;\n", NULL,
	    "sender 'anna': daily_limit must be >= 0");
	expect_err("    delay = 90;\n", "    jitter = 101;\n", NULL,
	    "jitter must be <= 100");
	expect_err("    delay = 90;\n", "    buffer = 0;\n", NULL,
	    "buffer must be >= 1");
	expect_err("    delay = 90;\n", "    schedule = \"MON-FRI\";\n", NULL,
	    "schedule must be a group");
	expect_err("    delay = 90;\n", "    retry = { attempts = 0; };\n",
	    NULL, "attempts must be >= 1");
	expect_err("    delay = 90;\n", "    retry = { backoff = [ 0 ]; };\n",
	    NULL, "backoff values must be 1 to 604800 seconds");
	expect_err("    delay = 90;\n", "    retry = { backoff = [ ]; };\n",
	    NULL, "backoff needs 1 to");
	expect_raw("\nmailboxes = \"x\";\n", "mailboxes",
	    "mailboxes must be a list");
	expect_raw("senders = ( \"anna\" );\n", "senders",
	    "each of senders must be a group");
	expect_raw("senders = ( { name = \"anna\"; } );\ncampaigns = (\n"
	    "  { name = \"q4\"; sender = \"anna\"; mailboxes = \"a\"; } );\n",
	    "  { name", "mailboxes must be an array [ ... ] of strings");
	expect_err("database = \"q.db\";", "database = 5;", NULL,
	    "database must be a string");
}

static void test_schedule_errors(void **state)
{
	const char *f = "    delay = 90;\n";

	(void)state;
	expect_err(f, "    schedule = { start = \"17:00\"; end = \"09:00\"; };\n",
	    NULL, "end 09:00 must be after start 17:00");
	expect_err(f, "    schedule = { start = \"10:00\"; end = \"10:00\"; };\n",
	    NULL, "must be after start");
	expect_err(f, "    schedule = { end = \"08:00\"; };\n", NULL,
	    "end 08:00 must be after start 09:00");
	expect_err(f, "    schedule = { start = \"24:00\"; };\n", NULL,
	    "start '24:00' is not a time");
	expect_err(f, "    schedule = { end = \"17:60\"; };\n", NULL,
	    "end '17:60' is not a time");
	expect_err(f, "    schedule = { start = \"9\"; };\n", NULL,
	    "start '9' is not a time");
	expect_err(f, "    schedule = { holidays = \"DE\"; };\n", NULL,
	    "holidays 'DE' is not a known calendar");
	expect_err(f, "    schedule = {\n      extra_holidays = [ \"2025-02-29\" "
	    "];\n    };\n", "extra_holidays", "'2025-02-29' is not a date");
	expect_err(f, "    schedule = {\n      extra_holidays = [ \"2025-1-01\" "
	    "];\n    };\n", "extra_holidays", "not a date");
	expect_err(f, "    schedule = {\n      extra_holidays = [ 20250101 "
	    "];\n    };\n", "extra_holidays", "array [ ... ] of strings");
}

static void test_timezone(void **state)
{
	(void)state;
	expect_err("timezone = \"Europe/Warsaw\";", "timezone = \"Europe/Warsw\";",
	    NULL, "unknown time zone 'Europe/Warsw'");
	expect_err("    delay = 90;\n", "    timezone = \"Mars/Olympus\";\n",
	    NULL, "campaign 'q4': unknown time zone 'Mars/Olympus'");
}

static void test_addresses_and_urls(void **state)
{
	static const char *const bad_addr[] = {
		"anna", "anna@", "@example.com", "a..b@example.com",
		".anna@example.com", "anna@-x.example.com", "anna@x..com",
		"an na@example.com", "anna@exa_mple.com", "anna@example.com>",
	};
	char repl[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad_addr / sizeof bad_addr[0]; i++) {
		snprintf(repl, sizeof repl, "    address = \"%s\";\n",
		    bad_addr[i]);
		expect_err("    address = \"bob@example.com\";\n", repl, NULL,
		    "mailbox 'bob-1': address");
	}
	expect_err("smtp://smtp.example.com:587", "http://smtp.example.com",
	    NULL, "must start with smtp://, smtps:// or file:///");
	expect_err("smtp://smtp.example.com:587", "smtp://", "\"smtp://\"",
	    "needs a host name");
	expect_err("smtp://smtp.example.com:587", "smtp://bob:pw@example.com",
	    NULL, "must not hold credentials");
	/* and never repeats them: cron would mail the password around */
	static const char *const creds[] = { "smtp://bob:Secr3tPW@example.com",
	    "smtp://bob:Secr3tPW@example.com:25/", "smtps://Secr3tPW@x.org",
	    "smtp://bob:p/Secr3tPW@example.com", "smtp://bob:Secr3tPW@a@b.org",
	    "smtpx://bob:Secr3tPW@example.com",
	    "file://bob:Secr3tPW@localhost/x" };
	for (size_t k = 0; k < sizeof creds / sizeof *creds; k++) {
		struct mq_conf *conf = NULL;
		struct mq_err err;

		write_conf("smtp://smtp.example.com:587", creds[k]);
		assert_int_equal(mq_conf_load(&conf, cpath, &err), MQ_PERM);
		if (strstr(err.msg, "Secr3tPW") != NULL ||
		    strstr(err.msg, "***@") == NULL)
			fail_msg("password shown: %s", err.msg);
	}
	expect_err("smtp://smtp.example.com:587", "smtp://example.com:99999",
	    NULL, "bad port number");
	expect_err("smtp://smtp.example.com:587", "smtp://example.com:25x",
	    NULL, "is not smtp://host[:port]");
	expect_err("    tls = \"none\";\n", "    tls = \"ssl\";\n", NULL,
	    "tls must be \"none\", \"starttls\" or \"tls\"");
	expect_err("    tls = \"none\";\n", "    tls = \"tls\";\n", NULL,
	    "tls = \"tls\" needs an smtps:// URL");
	expect_err("\"smtps://smtp.example.com\";\n",
	    "\"smtps://smtp.example.com\";\n    tls = \"starttls\";\n",
	    "starttls", "an smtps:// URL needs tls = \"tls\"");
	expect_err("    display_name = \"Anna Nowak – Dział Sprzedaży\";\n",
	    "    display_name = \"Anna\\r\\nBcc: x@example.com\";\n", NULL,
	    "display_name must not contain line breaks");
}

/* file:///path: the file transport's mbox, absolute, with no SMTP keys. */
static void test_file_mailbox(void **state)
{
	const char *f = "    smtp = \"smtp://smtp.example.com:587\";\n";
	const char *a = "    smtp = \"smtp://127.0.0.1:2525\";\n";
	const struct mq_conf_mailbox *m;
	struct mq_conf *c;

	(void)state;
	write_conf(f, "    smtp = \"file:///var/tmp/rehearsal.mbox\";\n");
	c = load_ok();
	m = mq_conf_mailbox(c, "bob-1");
	assert_string_equal(m->smtp, "file:///var/tmp/rehearsal.mbox");
	assert_int_equal(m->tls, MQ_TLS_NONE);
	assert_null(m->username);
	assert_null(m->password);
	assert_null(m->ca_file);
	mq_conf_free(c);

	expect_err(f, "    smtp = \"file://rehearsal.mbox\";\n", NULL,
	    "smtp URL 'file://rehearsal.mbox' must name an absolute path");
	expect_err(f, "    smtp = \"file:rehearsal.mbox\";\n", NULL,
	    "must name an absolute path");
	expect_err(f, "    smtp = \"file:/var/tmp/rehearsal.mbox\";\n", NULL,
	    "must name an absolute path");
	expect_err(f, "    smtp = \"file://localhost/var/tmp/x.mbox\";\n",
	    NULL, "must name an absolute path");
	expect_err(f, "    smtp = \"file:///var/tmp/\";\n", NULL,
	    "names a directory, not a file");
	expect_err(f, "    smtp = \"file:///\";\n", NULL,
	    "names a directory, not a file");
	expect_err(f, "    smtp = \"file:///var/tmp/a\\tb\";\n", NULL,
	    "must not contain control characters");
	/* anna-1 has tls = "none" on the line after its URL */
	expect_err(a, "    smtp = \"file:///var/tmp/a.mbox\";\n",
	    "    tls = \"none\";\n",
	    "mailbox 'anna-1': tls does not apply to a file:// mailbox");
	expect_err(f, "    smtp = \"file:///var/tmp/a.mbox\";\n"
	    "    verify = false;\n", "verify", "verify does not apply");
	expect_err(f, "    smtp = \"file:///var/tmp/a.mbox\";\n"
	    "    ca_file = \"ca.pem\";\n", "ca_file", "ca_file does not apply");
	expect_err(f, "    smtp = \"file:///var/tmp/a.mbox\";\n"
	    "    username = \"bob\";\n    password = \"x\";\n", "username",
	    "username does not apply to a file:// mailbox");
	expect_err(f, "    smtp = \"file:///var/tmp/a.mbox\";\n"
	    "    password_file = \"bob.pass\";\n", "password_file",
	    "password_file does not apply");
}

static void test_names_and_refs(void **state)
{
	(void)state;
	expect_err("    name = \"bob\";\n", "    name = \"-bob\";\n", NULL,
	    "name must be 1 to 64");
	expect_err("    name = \"bob\";\n", "    name = \"bo b\";\n", NULL,
	    "name must be 1 to 64");
	expect_err("    sender = \"bob\";\n", "    sender = \"carol\";\n", NULL,
	    "mailbox 'bob-1': unknown sender 'carol'");
	expect_err("    sender = \"anna\";\n    mailboxes",
	    "    sender = \"carol\";\n    mailboxes", NULL,
	    "campaign 'q4': unknown sender 'carol'");
	expect_err("[ \"anna-1\", \"anna-2\" ]", "[ \"anna-1\", \"anna-3\" ]",
	    NULL, "campaign 'q4': unknown mailbox 'anna-3'");
	expect_err("[ \"anna-1\", \"anna-2\" ]", "[ \"anna-1\", \"bob-1\" ]",
	    NULL, "mailbox 'bob-1' belongs to sender 'bob', not 'anna'");
	expect_err("[ \"anna-1\", \"anna-2\" ]", "[ \"anna-1\", \"anna-1\" ]",
	    NULL, "mailbox 'anna-1' is listed twice");
	expect_err("[ \"anna-1\", \"anna-2\" ]", "[ ]", NULL,
	    "mailboxes needs at least one mailbox");
	expect_err("    sender = \"bob\";\n", "    sendr = \"bob\";\n", NULL,
	    "unknown key 'sendr'");
	expect_err("    name = \"bob-1\";\n    address = \"bob@example.com\";\n",
	    "    address = \"bob@example.com\";\n", "  {\n    address = \"bob@",
	    "mailbox #3: missing required key 'name'");
}

static void test_duplicates(void **state)
{
	struct mq_err err;
	struct mq_conf *c;
	char want[700];

	(void)state;
	expect_err("    name = \"bob\";\n", "    name = \"anna\";\n",
	    "  {\n    name = \"anna\";\n  }",
	    "duplicate sender 'anna' (first defined at line 4)");
	expect_err("    name = \"bob-1\";\n", "    name = \"anna-1\";\n",
	    "  {\n    name = \"anna-1\";\n    address = \"bob",
	    "duplicate mailbox 'anna-1' (first defined at line 13)");
	snprintf(text, sizeof text, "%.*s%s", (int)strlen(base) - 3, base,
	    "  ,{ name = \"q4\";\n    sender = \"anna\"; }\n);\n");
	write_file("mailq.conf", text, strlen(text), 0644);
	assert_int_equal(mq_conf_load(&c, cpath, &err), MQ_PERM);
	assert_int_equal(err.ex, EX_CONFIG);
	snprintf(want, sizeof want, "%s:%d: duplicate campaign 'q4' (first "
	    "defined at line %d)", cpath, line_of("  ,{ name = \"q4\""),
	    line_of("  {\n    name = \"q4\";"));
	assert_string_equal(err.msg, want);
}

/* The smallest config up to a campaign's steps. */
#define RAW \
	"senders = ( { name = \"a\"; } );\n" \
	"mailboxes = ( { name = \"a-1\"; address = \"a@example.com\";\n" \
	"  sender = \"a\"; smtp = \"smtp://mail.example.com\"; } );\n" \
	"campaigns = ( {\n" \
	"  name = \"c\"; sender = \"a\"; mailboxes = [ \"a-1\" ];\n"

static void test_steps_and_variants(void **state)
{
	(void)state;
	expect_err("    steps = (\n      {\n        variants",
	    "    steps = (\n      {\n        wait_days = 2;\n        variants",
	    "wait_days = 2", "step 0 is the first email: wait_days must be "
	    "absent or 0");
	expect_err("      {\n        variants = (\n          {\n            "
	    "subject = \"Re:", "      {\n        wait_days = 0;\n        "
	    "variants = (\n          {\n            subject = \"Re:",
	    "wait_days = 0", "step 1: wait_days must be >= 1");
	expect_err("            text = \"Wariant B\";\n", "",
	    "          {\n            subject = \"Pytanie",
	    "step 0 variant B: needs text or text_file");
	expect_err("            text = \"Wariant B\";\n",
	    "            text = \"Wariant B\";\n"
	    "            text_file = \"b.txt\";\n", "text_file",
	    "text and text_file: use one, not both");
	expect_err("            text = \"Wariant B\";\n",
	    "            text = \"Wariant B\";\n"
	    "            html = \"<p>B</p>\";\n            html_file = \"b.html\";\n",
	    "html_file", "html and html_file: use one, not both");
	expect_err("            subject = \"Pytanie do {{company}}\";\n",
	    "            subject = \"Pytanie\\nBcc: x@example.com\";\n", NULL,
	    "subject must be non-empty, without line breaks");
	expect_err("            subject = \"Pytanie do {{company}}\";\n",
	    "            subject = \"Pytanie\\r\";\n", NULL, "line breaks");
	expect_err("            subject = \"Pytanie do {{company}}\";\n",
	    "            subject = \"\";\n", NULL, "subject must be non-empty");
	expect_err("            subject = \"Re: Cześć {{first_name}}\";\n",
	    "            subject = \"Re\\nBcc: x@example.com\";\n", NULL,
	    "without line breaks");
	expect_err("            subject = \"Pytanie do {{company}}\";\n", "",
	    "          {\n            text = \"Wariant B\"",
	    "variant B: missing required key "
	    "'subject'");
	expect_err("            subject = \"Pytanie do {{company}}\";\n",
	    "            letter = \"A\";\n"
	    "            subject = \"Pytanie do {{company}}\";\n", NULL,
	    "letter A is used twice in this step");
	expect_err("            subject = \"Pytanie do {{company}}\";\n",
	    "            letter = \"b\";\n"
	    "            subject = \"Pytanie do {{company}}\";\n", NULL,
	    "letter must be one capital letter");
	expect_err("            subject = \"Pytanie do {{company}}\";\n",
	    "            weight = 0;\n"
	    "            subject = \"Pytanie do {{company}}\";\n", NULL,
	    "weight must be >= 1");
	expect_raw(RAW "  steps = ( );\n} );\n", "steps = ( )",
	    "campaign 'c': steps needs at least 1 entry");
	expect_raw(RAW "  steps = ( { variants = ( ); } );\n} );\n",
	    "steps = (", "campaign 'c' step 0: variants needs at least 1 "
	    "entry");
	expect_raw(RAW "} );\n", "campaigns = ( {",
	    "campaign 'c': missing required key 'steps'");
}

static void test_followup_subject(void **state)
{
	struct mq_conf *conf;

	(void)state;
	write_conf("            subject = \"Re: Cześć {{first_name}}\";\n", "");
	conf = load_ok();
	assert_string_equal(conf->campaigns[0].steps[1].variants[0].subject,
	    "");
	assert_string_equal(conf->campaigns[0].steps[0].variants[0].subject,
	    "Cześć {{first_name}}");
	mq_conf_free(conf);
	write_conf("            subject = \"Re: Cześć {{first_name}}\";\n",
	    "            subject = \"\";\n");
	conf = load_ok();
	assert_string_equal(conf->campaigns[0].steps[1].variants[0].subject,
	    "");
	mq_conf_free(conf);
}

static void test_unsubscribe(void **state)
{
	struct mq_conf *conf;

	(void)state;
	write_conf(NULL, NULL);
	conf = load_ok();
	assert_null(conf->campaigns[0].unsubscribe_mailto);
	assert_null(conf->campaigns[0].unsubscribe_url);
	assert_null(conf->mailboxes[0].unsubscribe_mailto);
	assert_int_equal(conf->campaigns[0].contact_gap_days, 0);
	mq_conf_free(conf);
	write_conf("    delay = 90;\n", "    delay = 90;\n"
	    "    unsubscribe_mailto = \"wypisz@example.com\";\n"
	    "    unsubscribe_url = \"https://example.com/u?c=q4\";\n"
	    "    contact_gap_days = 30;\n");
	conf = load_ok();
	assert_string_equal(conf->campaigns[0].unsubscribe_mailto,
	    "wypisz@example.com");
	assert_string_equal(conf->campaigns[0].unsubscribe_url,
	    "https://example.com/u?c=q4");
	assert_int_equal(conf->campaigns[0].contact_gap_days, 30);
	mq_conf_free(conf);
	write_conf("    tls = \"none\";\n", "    tls = \"none\";\n"
	    "    unsubscribe_mailto = \"optout@example.com\";\n");
	conf = load_ok();
	assert_string_equal(conf->mailboxes[0].unsubscribe_mailto,
	    "optout@example.com");
	mq_conf_free(conf);
	expect_err("    delay = 90;\n", "    unsubscribe_mailto = \"nope\";\n",
	    NULL, "unsubscribe_mailto 'nope' is not a valid email address");
	expect_err("    delay = 90;\n",
	    "    unsubscribe_url = \"http://example.com/u\";\n", NULL,
	    "unsubscribe_url must be an https:// URL");
	expect_err("    delay = 90;\n",
	    "    unsubscribe_url = \"https://example.com/a b\";\n", NULL,
	    "unsubscribe_url must be an https:// URL");
	expect_err("    delay = 90;\n",
	    "    unsubscribe_url = \"https://\";\n", NULL,
	    "unsubscribe_url must be an https:// URL");
	expect_err("    delay = 90;\n", "    contact_gap_days = -1;\n", NULL,
	    "contact_gap_days must be >= 0");
}

/* The longest URL the loader takes still makes a header value once
 * deliver.c has added "?t=" and a token; one more character is refused. */
static void test_unsubscribe_url_length(void **state)
{
	char url[1024], line[1100], tok[MQ_MSG_TOKEN_MAX], full[1100], *out;
	struct mq_conf *conf;
	struct mq_msg m;
	struct mq_err err;
	size_t len;

	(void)state;
	memset(url, 'u', sizeof url);
	memcpy(url, "https://e.com/", 14);
	url[865] = '\0';
	snprintf(line, sizeof line, "    unsubscribe_url = \"%s\";\n", url);
	write_conf("    delay = 90;\n", line);
	conf = load_ok();
	mq_msg_unsub_token("salt", 1, 1, tok, sizeof tok);
	snprintf(full, sizeof full, "%s?t=%s", conf->campaigns[0].unsubscribe_url,
	    tok);
	memset(&m, 0, sizeof m);
	m.from_addr = "anna@example.com";
	m.to_addr = "jan@example.org";
	m.message_id = "x@example.com";
	m.unsub_url = full;
	m.date = 1700000000;
	if (mq_msg_build(&m, &out, &len, &err) != MQ_OK)
		fail_msg("build: %s", err.msg);
	free(out);
	mq_conf_free(conf);
	url[865] = 'u';
	url[866] = '\0';
	snprintf(line, sizeof line, "    unsubscribe_url = \"%s\";\n", url);
	expect_err("    delay = 90;\n", line, NULL,
	    "unsubscribe_url is longer than 865 characters");
}

static void test_template_files(void **state)
{
	struct mq_conf *c;
	const struct mq_conf_variant *v;
	static const char a[] = "Dzień dobry {{first_name}},\nz {{company}}.\n";
	static const char h[] = "<p>Dzień dobry {{first_name}}</p>\n";

	(void)state;
	assert_true(mkdir(dir_path("tpl"), 0755) == 0 || errno == EEXIST);
	write_file("tpl/a.txt", a, strlen(a), 0644);
	write_file("tpl/a.html", h, strlen(h), 0644);
	write_conf("            text = \"Dzień dobry {{first_name}}\";\n",
	    "            text_file = \"tpl/a.txt\";\n"
	    "            html_file = \"tpl/a.html\";\n");
	c = load_ok();
	v = &c->campaigns[0].steps[0].variants[0];
	assert_string_equal(v->text, a);
	assert_string_equal(v->html, h);
	mq_conf_free(c);

	write_file("tpl/bad.txt", "Cze\xc5\x9b\xc4 \xff\n", 9, 0644);
	expect_err("            text = \"Wariant B\";\n",
	    "            text_file = \"tpl/bad.txt\";\n", NULL,
	    "tpl/bad.txt: not valid UTF-8 text (byte 6)");
	write_file("tpl/overlong.txt", "\xc0\xafx", 3, 0644);
	expect_err("            text = \"Wariant B\";\n",
	    "            text_file = \"tpl/overlong.txt\";\n", NULL,
	    "not valid UTF-8");
	write_file("tpl/empty.txt", "", 0, 0644);
	expect_err("            text = \"Wariant B\";\n",
	    "            text_file = \"tpl/empty.txt\";\n", NULL,
	    "tpl/empty.txt: is empty");
	expect_err("            text = \"Wariant B\";\n",
	    "            text_file = \"tpl/missing.txt\";\n", NULL,
	    "tpl/missing.txt: cannot read: No such file");
	expect_err("            text = \"Wariant B\";\n",
	    "            text = \"Zepsuty \\xff tekst\";\n", NULL,
	    "text is not valid UTF-8");
}

/* A template that could not be rendered is refused at load, naming the
 * setting's line, the file and the placeholder: never at send time. */
static void test_template_syntax(void **state)
{
	static const char t[] = "Dzień dobry,\n\nco u {{company}?\n";

	(void)state;
	expect_err("Cześć {{first_name}}\";\n            text",
	    "Cześć {{company Pomysł na rozmowę\";\n            text", NULL,
	    "subject: unclosed placeholder '{{company Pomysł na rozmowę' "
	    "on line 1");
	expect_err("Pytanie do {{company}}", "Pytanie do {{first_name}", NULL,
	    "unclosed placeholder '{{first_name}' on line 1");
	expect_err("Re: Cześć {{first_name}}", "Re: {{ }}", NULL,
	    "bad field name in placeholder '{{ }}'");
	expect_err("\"Wariant B\"", "\"Wariant {{}}\"", NULL,
	    "text: bad field name in placeholder '{{}}' on line 1");
	write_file("tpl/typo.txt", t, strlen(t), 0644);
	expect_err("            text = \"Wariant B\";\n",
	    "            text_file = \"tpl/typo.txt\";\n", NULL,
	    "text_file tpl/typo.txt: unclosed placeholder '{{company}?' "
	    "on line 3");
	write_file("tpl/typo.html", t, strlen(t), 0644);
	expect_err("            text = \"Wariant B\";\n",
	    "            text = \"B\";\n            html_file = "
	    "\"tpl/typo.html\";\n", "html_file",
	    "html_file tpl/typo.html: unclosed placeholder");
}


static void test_database_path(void **state)
{
	struct mq_conf *c;
	struct mq_err err;
	char want[700], cwd[4096];

	(void)state;
	write_conf("database = \"q.db\";\n", "database = \"data/q.db\";\n");
	c = load_ok();
	snprintf(want, sizeof want, "%s/data/q.db", dir);
	assert_string_equal(c->database, want);
	mq_conf_free(c);

	write_conf("database = \"q.db\";\n",
	    "database = \"/var/lib/mailq/q.db\";\n");
	c = load_ok();
	assert_string_equal(c->database, "/var/lib/mailq/q.db");
	mq_conf_free(c);

	write_conf("database = \"q.db\";\n", "");
	c = load_ok();
	snprintf(want, sizeof want, "%s/mailq.db", dir);
	assert_string_equal(c->database, want);
	mq_conf_free(c);

	/* a config named without a directory: paths stay relative */
	write_conf(NULL, NULL);
	assert_non_null(getcwd(cwd, sizeof cwd));
	assert_int_equal(chdir(dir), 0);
	assert_int_equal(mq_conf_load(&c, "mailq.conf", &err), MQ_OK);
	assert_int_equal(chdir(cwd), 0);
	assert_string_equal(c->database, "q.db");
	assert_string_equal(c->path, "mailq.conf");
	mq_conf_free(c);

	expect_err("database = \"q.db\";", "database = \"\";", NULL,
	    "database is empty");
}

static void test_missing_file(void **state)
{
	struct mq_conf *c = NULL;
	struct mq_err err;
	char want[800];

	(void)state;
	assert_int_equal(mq_conf_load(&c, dir_path("nope.conf"), &err),
	    MQ_PERM);
	assert_null(c);
	assert_int_equal(err.ex, EX_NOINPUT);
	snprintf(want, sizeof want, "%s: cannot read: No such file or "
	    "directory", dir_path("nope.conf"));
	assert_string_equal(err.msg, want);
	assert_int_equal(mq_conf_load(&c, dir, &err), MQ_PERM);
	assert_int_equal(err.ex, EX_NOINPUT);
	assert_non_null(strstr(err.msg, "Is a directory"));
}

static void test_secret_inline(void **state)
{
	struct mq_conf *c = NULL;
	struct mq_err err;
	char want[1600];
	const char *f = "    smtp = \"smtp://smtp.example.com:587\";\n";
	const char *r = "    smtp = \"smtp://smtp.example.com:587\";\n"
	    "    username = \"bob@example.com\";\n"
	    "    password = \"tajne-hasło\";\n";

	(void)state;
	write_conf(f, r);
	assert_int_equal(mq_conf_load(&c, cpath, &err), MQ_PERM);
	assert_null(c);
	assert_int_equal(err.ex, EX_NOPERM);
	snprintf(want, sizeof want, "%s: contains a password and must be "
	    "owned by you and not accessible by group or others (chmod 600 "
	    "%s)", cpath, cpath);
	assert_string_equal(err.msg, want);
	assert_null(strstr(err.msg, "tajne"));
	assert_int_equal(chmod(cpath, 0640), 0);
	assert_int_equal(mq_conf_load(&c, cpath, &err), MQ_PERM);
	assert_int_equal(err.ex, EX_NOPERM);
	assert_int_equal(chmod(cpath, 0600), 0);
	c = load_ok();
	assert_string_equal(mq_conf_mailbox(c, "bob-1")->username,
	    "bob@example.com");
	assert_string_equal(mq_conf_mailbox(c, "bob-1")->password,
	    "tajne-hasło");
	mq_conf_free(c);

	/* no secret, no rule: the base config is 0644 in every other test */
	write_conf(NULL, NULL);
	c = load_ok();
	mq_conf_free(c);

	expect_err(f, "    smtp = \"smtp://smtp.example.com:587\";\n"
	    "    username = \"bob\";\n", "username",
	    "username needs a password or password_file");
	expect_err(f, "    smtp = \"smtp://smtp.example.com:587\";\n"
	    "    password = \"x\";\n", "password", "a password needs a "
	    "username");
}

static void test_secret_file(void **state)
{
	struct mq_conf *c = NULL;
	struct mq_err err;
	char want[1600];
	const char *f = "    smtp = \"smtp://smtp.example.com:587\";\n";
	char r[300];

	(void)state;
	snprintf(r, sizeof r, "%s    username = \"bob\";\n"
	    "    password_file = \"bob.pass\";\n", f);
	write_file("bob.pass", "s3cret hasło\r\nsecond line\n", 26, 0644);
	write_conf(f, r);
	assert_int_equal(mq_conf_load(&c, cpath, &err), MQ_PERM);
	assert_int_equal(err.ex, EX_NOPERM);
	snprintf(want, sizeof want, "%s: contains a password and must be "
	    "owned by you and not accessible by group or others (chmod 600 "
	    "%s)", dir_path("bob.pass"), dir_path("bob.pass"));
	assert_string_equal(err.msg, want);

	assert_int_equal(chmod(dir_path("bob.pass"), 0600), 0);
	c = load_ok();      /* the config itself (0644) holds no secret */
	assert_string_equal(mq_conf_mailbox(c, "bob-1")->password,
	    "s3cret hasło");
	mq_conf_free(c);

	write_file("empty.pass", "\n", 1, 0600);
	snprintf(r, sizeof r, "%s    username = \"bob\";\n"
	    "    password_file = \"empty.pass\";\n", f);
	expect_err(f, r, "password_file", "empty.pass: first line is empty");
	snprintf(r, sizeof r, "%s    username = \"bob\";\n"
	    "    password_file = \"nope.pass\";\n", f);
	expect_err(f, r, "password_file", "nope.pass: cannot read");
	snprintf(r, sizeof r, "%s    username = \"bob\";\n"
	    "    password = \"x\";\n    password_file = \"bob.pass\";\n", f);
	expect_err(f, r, "password_file", "password and password_file: use "
	    "one, not both");
}

/* The inbox keys: defaults, credentials that default to the SMTP ones,
 * and an inbox password file that must be the user's alone. */
static void test_inbox(void **state)
{
	const char *f = "    smtp = \"smtp://smtp.example.com:587\";\n";
	const struct mq_conf_mailbox *m;
	const struct mq_conf_campaign *k;
	struct mq_conf *c;
	struct mq_err err;
	char r[600];

	(void)state;
	write_conf(NULL, NULL);
	c = load_ok();
	m = mq_conf_mailbox(c, "bob-1");
	assert_null(m->inbox);
	assert_int_equal(m->n_inbox_folders, 0);
	assert_int_equal(m->bounce_rate, 5);
	assert_int_equal(m->bounce_window, 100);
	assert_int_equal(c->soft_bounce_limit, 3);
	k = mq_conf_campaign(c, "q4");
	assert_int_equal(k->auto_reply_pause_days, 7);
	assert_int_equal(k->stop_on_domain, 0);
	mq_conf_free(c);

	write_file("bob.pass", "smtp-pw\n", 8, 0600);
	snprintf(r, sizeof r, "%s    username = \"bob\";\n"
	    "    password_file = \"bob.pass\";\n"
	    "    inbox = \"imaps://imap.example.com\";\n"
	    "    bounce_pause = { rate = 0; };\n", f);
	write_conf(f, r);
	c = load_ok();
	m = mq_conf_mailbox(c, "bob-1");
	assert_string_equal(m->inbox, "imaps://imap.example.com");
	assert_string_equal(m->inbox_username, "bob");
	assert_string_equal(m->inbox_password, "smtp-pw");
	assert_int_equal(m->n_inbox_folders, 1);
	assert_string_equal(m->inbox_folders[0], "INBOX");
	assert_null(m->inbox_sent_folder);
	assert_int_equal(m->inbox_max_size, 10 << 20);
	assert_int_equal(m->bounce_rate, 0);
	mq_conf_free(c);

	write_file("imap.pass", "imap-pw\n", 8, 0600);
	snprintf(r, sizeof r, "%s    inbox = \"maildir:///var/mail/bob\";\n"
	    "    inbox_username = \"bob@imap\";\n"
	    "    inbox_password_file = \"imap.pass\";\n"
	    "    inbox_folders = [ \"INBOX\", \"Wysłane\", \"[Gmail]/Spam\" ];\n"
	    "    inbox_sent_folder = \"[Gmail]/Sent Mail\";\n", f);
	write_conf(f, r);
	c = load_ok();
	m = mq_conf_mailbox(c, "bob-1");
	assert_null(m->password);
	assert_string_equal(m->inbox_password, "imap-pw");
	assert_int_equal(m->n_inbox_folders, 3);
	assert_string_equal(m->inbox_folders[1], "Wysłane");
	assert_string_equal(m->inbox_sent_folder, "[Gmail]/Sent Mail");
	mq_conf_free(c);

	assert_int_equal(chmod(dir_path("imap.pass"), 0644), 0);
	snprintf(r, sizeof r, "%s    inbox = \"imaps://imap.example.com\";\n"
	    "    inbox_username = \"bob@imap\";\n"
	    "    inbox_password_file = \"imap.pass\";\n", f);
	write_conf(f, r);
	assert_int_equal(mq_conf_load(&c, cpath, &err), MQ_PERM);
	assert_int_equal(err.ex, EX_NOPERM);
	write_conf("    delay = 90;\n", "    delay = 90;\n"
	    "    stop_on_reply = \"domain\";\n"
	    "    auto_reply_pause_days = 0;\n");
	c = load_ok();
	k = mq_conf_campaign(c, "q4");
	assert_int_equal(k->stop_on_domain, 1);
	assert_int_equal(k->auto_reply_pause_days, 0);
	mq_conf_free(c);
}

/* auth = "oauth2": the providers' presets, a custom provider's own
 * endpoints, and the token file's default place. */
static void test_oauth2(void **state)
{
	const char *f = "    smtp = \"smtp://smtp.example.com:587\";\n";
	const struct mq_conf_mailbox *m;
	struct mq_conf *c;
	char r[800], want[700];

	(void)state;
	snprintf(r, sizeof r, "%s    username = \"bob@example.com\";\n"
	    "    auth = \"oauth2\";\n    oauth2 = { provider = \"microsoft\"; "
	    "tenant = \"firma.example\"; client_id = \"abc\"; };\n", f);
	write_conf(f, r);
	c = load_ok();
	m = mq_conf_mailbox(c, "bob-1");
	assert_int_equal(m->auth, MQ_AUTH_OAUTH2);
	assert_null(m->password);
	assert_null(m->oauth2.client_secret);
	assert_string_equal(m->oauth2.token_url, "https://login."
	    "microsoftonline.com/firma.example/oauth2/v2.0/token");
	assert_string_equal(m->oauth2.device_url, "https://login."
	    "microsoftonline.com/firma.example/oauth2/v2.0/devicecode");
	assert_non_null(strstr(m->oauth2.scope, "offline_access"));
	snprintf(want, sizeof want, "%s/mailq.tokens", dir);
	assert_string_equal(c->tokens, want);
	assert_int_equal(mq_conf_mailbox(c, "anna-1")->auth,
	    MQ_AUTH_PASSWORD);
	mq_conf_free(c);

	write_file("g.secret", "gsecret\n", 8, 0600);
	snprintf(r, sizeof r, "%s    username = \"bob@example.com\";\n"
	    "    auth = \"oauth2\";\n    oauth2 = { provider = \"google\"; "
	    "client_id = \"g\"; client_secret_file = \"g.secret\"; };\n", f);
	write_conf(f, r);
	c = load_ok();
	m = mq_conf_mailbox(c, "bob-1");
	assert_string_equal(m->oauth2.client_secret, "gsecret");
	assert_null(m->oauth2.device_url);
	assert_string_equal(m->oauth2.scope, "https://mail.google.com/");
	mq_conf_free(c);

	snprintf(r, sizeof r, "%s    username = \"bob@example.com\";\n"
	    "    auth = \"oauth2\";\n    oauth2 = { provider = \"custom\"; "
	    "client_id = \"c\"; token_url = \"https://t.example/token\"; "
	    "scope = \"mail\"; ca_file = \"ca.pem\"; };\n", f);
	write_conf(f, r);
	c = load_ok();
	m = mq_conf_mailbox(c, "bob-1");
	assert_string_equal(m->oauth2.token_url, "https://t.example/token");
	assert_null(m->oauth2.authorize_url);
	snprintf(want, sizeof want, "%s/ca.pem", dir);
	assert_string_equal(m->oauth2.ca_file, want);
	mq_conf_free(c);

	write_conf("database = \"q.db\";\n", "database = \"q.db\";\n"
	    "tokens = \"state/t.tokens\";\n");
	c = load_ok();
	snprintf(want, sizeof want, "%s/state/t.tokens", dir);
	assert_string_equal(c->tokens, want);
	mq_conf_free(c);
}

static void test_default_path(void **state)
{
	char cwd[4096];

	(void)state;
	assert_non_null(getcwd(cwd, sizeof cwd));
	setenv("MAILQ_CONFIG", "/srv/mailq/mailq.conf", 1);
	assert_string_equal(mq_conf_default_path(), "/srv/mailq/mailq.conf");
	setenv("MAILQ_CONFIG", "", 1);
	assert_true(mkdir(dir_path("empty"), 0755) == 0 || errno == EEXIST);
	assert_int_equal(chdir(dir_path("empty")), 0);
	assert_string_equal(mq_conf_default_path(), "/etc/mailq.conf");
	write_conf(NULL, NULL);
	assert_int_equal(chdir(dir), 0);
	assert_string_equal(mq_conf_default_path(), "./mailq.conf");
	unsetenv("MAILQ_CONFIG");
	assert_string_equal(mq_conf_default_path(), "./mailq.conf");
	assert_int_equal(chdir(cwd), 0);
	mq_conf_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_explicit_values),
		cmocka_unit_test(test_days),
		cmocka_unit_test(test_syntax_and_keys),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_schedule_errors),
		cmocka_unit_test(test_timezone),
		cmocka_unit_test(test_addresses_and_urls),
		cmocka_unit_test(test_file_mailbox),
		cmocka_unit_test(test_names_and_refs),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_steps_and_variants),
		cmocka_unit_test(test_template_files),
		cmocka_unit_test(test_inbox),
		cmocka_unit_test(test_oauth2),
		cmocka_unit_test(test_template_syntax),
		cmocka_unit_test(test_followup_subject),
		cmocka_unit_test(test_unsubscribe),
		cmocka_unit_test(test_unsubscribe_url_length),
		cmocka_unit_test(test_database_path),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_secret_inline),
		cmocka_unit_test(test_secret_file),
		cmocka_unit_test(test_default_path),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
