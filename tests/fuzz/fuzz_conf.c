/*
 * Fuzz target: the config loader (lib/conf*.c) and its application to the
 * store (lib/db_config.c). The input is a flags byte and up to two
 * config files, split at a NUL; the files sit in a directory that also
 * holds templates (a.txt, b.html) and a password file (pw). Flags: bit 0
 * applies the second file with force, bit 1 gives the first file's
 * campaigns history (a lead and a queued message) before it.
 * The properties: any config the loader accepts, the store accepts, and
 * then holds exactly (every sender, mailbox, campaign, step and variant
 * read back as loaded); applying it again changes nothing; a second config
 * is accepted over the first, or refused (only over history, without
 * force) leaving the store as it was; the addresses, names and
 * unsubscribe values of an accepted config make messages the builder
 * accepts, composed as lib/deliver.c composes them.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf.h"
#include "db_config.h"
#include "fuzz.h"
#include "msg.h"
#include "tmpl.h"

#define F_FORCE   0x01
#define F_HISTORY 0x02

#define NOW 1795500000

/* the loader refuses a template that mq_tmpl_check refuses */
static const int loader_checks_templates = 1;

static void put_file(const char *name, const char *text, mode_t mode)
{
	char path[512];
	int fd;

	snprintf(path, sizeof path, "%s/%s", fz_dir(), name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode)) < 0 ||
	    write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
	    fchmod(fd, mode) != 0 || close(fd) != 0)
		fz_fail("cannot write %s", path);
}

/* The loader reads the files a config names, and libconfig the ones it
 * includes: a device or a fifo would hang the fuzzer, not the loader. */
static int harmless(const char *s)
{
	static const char *const bad[] = { "include", "/dev", "/proc",
	    "/sys", "/run", "..", NULL };

	for (int i = 0; bad[i] != NULL; i++)
		if (strcasestr(s, bad[i]) != NULL)
			return 0;
	return 1;
}

/* --- reading the store back -------------------------------------------- */

static long long count(struct mq_db *db, const char *sql, const char *fmt,
    ...)
{
	sqlite3_stmt *st;
	long long n = -1;
	va_list ap;

	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK)
		fz_fail("%s: %s", sql, sqlite3_errmsg(db->h));
	va_start(ap, fmt);
	mq_db_vbind(st, fmt, ap);
	va_end(ap);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void want(long long got, long long n, const char *what,
    const char *name)
{
	if (got != n)
		fz_fail("store holds %lld %s '%s', the config %lld", got, what,
		    name, n);
}

static void read_mailboxes(struct mq_db *db, const struct mq_conf *c)
{
	const struct mq_conf_mailbox *m;

	for (int i = 0; i < c->n_senders; i++)
		want(count(db, "SELECT count(*) FROM sender WHERE name = ?1 AND "
		    "daily_limit = ?2 AND NOT retired", "si", c->senders[i].name,
		    c->senders[i].daily_limit), 1, "sender", c->senders[i].name);
	want(count(db, "SELECT count(*) FROM sender WHERE NOT retired", ""),
	    c->n_senders, "senders", "");
	for (int i = 0; i < c->n_mailboxes; i++) {
		m = &c->mailboxes[i];
		want(count(db, "SELECT count(*) FROM mailbox m JOIN sender s ON "
		    "s.id = m.sender_id WHERE m.name = ?1 AND s.name = ?2 AND "
		    "address = ?3 AND display_name = ?4 AND m.daily_limit = ?5 "
		    "AND enabled = ?6 AND NOT m.retired", "ssssii", m->name,
		    m->sender, m->address, m->display_name, m->daily_limit,
		    m->enabled != 0), 1, "mailbox", m->name);
	}
	want(count(db, "SELECT count(*) FROM mailbox WHERE NOT retired", ""),
	    c->n_mailboxes, "mailboxes", "");
}

static void read_steps(struct mq_db *db, const struct mq_conf_campaign *k)
{
	const struct mq_conf_variant *v;

	want(count(db, "SELECT count(*) FROM step s JOIN campaign c ON "
	    "c.id = s.campaign_id WHERE c.name = ?1 AND NOT s.retired", "s",
	    k->name), k->n_steps, "steps of", k->name);
	for (int i = 0; i < k->n_steps; i++) {
		want(count(db, "SELECT count(*) FROM variant v JOIN step s ON "
		    "s.id = v.step_id JOIN campaign c ON c.id = s.campaign_id "
		    "WHERE c.name = ?1 AND s.number = ?2 AND NOT v.retired",
		    "si", k->name, i), k->steps[i].n_variants, "variants of",
		    k->name);
		for (int j = 0; j < k->steps[i].n_variants; j++) {
			v = &k->steps[i].variants[j];
			want(count(db, "SELECT count(*) FROM variant v JOIN step s "
			    "ON s.id = v.step_id JOIN campaign c ON c.id = "
			    "s.campaign_id WHERE c.name = ?1 AND s.number = ?2 "
			    "AND s.wait_days = ?3 AND NOT s.retired AND "
			    "v.letter = ?4 AND weight = ?5 AND subject = ?6 AND "
			    "body_text = ?7 AND body_html IS ?8 AND NOT v.retired",
			    "siisisss", k->name, i, k->steps[i].wait_days,
			    v->letter, v->weight, v->subject, v->text, v->html),
			    1, "variant of", k->name);
		}
	}
}

static void read_campaigns(struct mq_db *db, const struct mq_conf *c)
{
	const struct mq_conf_campaign *k;
	char rot[4096] = "";

	for (int i = 0; i < c->n_campaigns; i++) {
		k = &c->campaigns[i];
		want(count(db, "SELECT count(*) FROM campaign c JOIN sender s ON "
		    "s.id = c.sender_id WHERE c.name = ?1 AND s.name = ?2 AND "
		    "timezone = ?3 AND days = ?4 AND start_min = ?5 AND "
		    "end_min = ?6 AND holidays = ?7 AND extra_holidays = ?8 AND "
		    "delay = ?9 AND jitter = ?10 AND c.daily_limit = ?11 AND "
		    "buffer = ?12 AND retry_attempts = ?13 AND "
		    "retry_backoff = ?14 AND contact_gap_days = ?15 AND "
		    "NOT c.retired", "sssiiissiiiiisi", k->name, k->sender,
		    k->timezone, k->days, k->start_min, k->end_min, k->holidays,
		    k->extra_holidays, k->delay, k->jitter, k->daily_limit,
		    k->buffer, k->retry_attempts, k->retry_backoff,
		    k->contact_gap_days), 1, "campaign", k->name);
		rot[0] = '\0';
		for (int j = 0; j < k->n_mailboxes; j++)
			snprintf(rot + strlen(rot), sizeof rot - strlen(rot),
			    "%s%s", j ? "," : "", k->mailboxes[j]);
		want(count(db, "SELECT (SELECT group_concat(name, ',') FROM "
		    "(SELECT m.name FROM campaign_mailbox cm JOIN mailbox m ON "
		    "m.id = cm.mailbox_id JOIN campaign c ON c.id = "
		    "cm.campaign_id WHERE c.name = ?1 ORDER BY cm.position)) "
		    "= ?2", "ss", k->name, rot), 1, "rotation of", k->name);
		read_steps(db, k);
	}
	want(count(db, "SELECT count(*) FROM campaign WHERE NOT retired", ""),
	    c->n_campaigns, "campaigns", "");
}

/* --- what follows from an accepted config ------------------------------ */

static int no_changes(const struct mq_db_changes *ch)
{
	for (int k = 0; k < MQ_KIND_N; k++)
		if (ch->added[k] || ch->changed[k] || ch->removed[k] ||
		    ch->retired[k])
			return 0;
	return 1;
}

/* Applies conf; when accepted, the store must hold it, and a second
 * apply must change nothing. Returns the result of the first. */
static int apply(struct mq_db *db, const struct mq_conf *conf, int force)
{
	struct mq_db_changes ch;
	struct mq_err err;
	uint64_t before = fz_db_hash(db);
	int rc;

	mq_err_clear(&err);
	rc = mq_db_config_apply(db, conf, force, NOW, &ch, &err);
	if (rc != MQ_OK) {
		if (fz_db_hash(db) != before)
			fz_fail("a refused config changed the store");
		return rc;
	}
	read_mailboxes(db, conf);
	read_campaigns(db, conf);
	before = fz_db_hash(db);
	if (mq_db_config_apply(db, conf, force, NOW, &ch, &err) != MQ_OK ||
	    !no_changes(&ch) || fz_db_hash(db) != before)
		fz_fail("applying the same config again changed something: %s",
		    err.msg);
	return rc;
}

/* A message from each of the campaign's mailboxes, with its
 * unsubscribe values as lib/deliver.c makes them. */
static void compose(const struct mq_conf *conf,
    const struct mq_conf_campaign *k)
{
	const struct mq_conf_mailbox *mb;
	char id[MQ_MSG_ID_MAX], tok[MQ_MSG_TOKEN_MAX], mailto[400], url[1024];
	struct mq_msg m;
	struct mq_err err;
	const char *to;
	char *out;
	size_t len;

	for (int i = 0; i < k->n_mailboxes; i++) {
		mb = mq_conf_mailbox(conf, k->mailboxes[i]);
		memset(&m, 0, sizeof m);
		mq_msg_id("salt", 1, 1, 0, mb->address, id, sizeof id);
		m.from_addr = mb->address;
		m.from_name = mb->display_name;
		m.to_addr = "jan@example.org";
		m.subject = "Hello";
		m.text = "Hi\n";
		m.message_id = id;
		m.date = NOW;
		to = k->unsubscribe_mailto ? k->unsubscribe_mailto :
		    mb->unsubscribe_mailto;
		if (to != NULL) {
			snprintf(mailto, sizeof mailto, "%s?subject=unsubscribe",
			    to);
			m.unsub_mailto = mailto;
		}
		if (k->unsubscribe_url != NULL) {
			mq_msg_unsub_token("salt", 1, 1, tok, sizeof tok);
			snprintf(url, sizeof url, "%s%st=%s", k->unsubscribe_url,
			    strchr(k->unsubscribe_url, '?') ? "&" : "?", tok);
			m.unsub_url = url;
		}
		if (mq_msg_build(&m, &out, &len, &err) != MQ_OK)
			fz_fail("campaign %s, mailbox %s: no message: %s",
			    k->name, mb->name, err.msg);
		free(out);
	}
}

static void check_templates(const struct mq_conf *conf)
{
	const struct mq_conf_variant *v;
	struct mq_err err;

	for (int i = 0; i < conf->n_campaigns; i++)
		for (int s = 0; s < conf->campaigns[i].n_steps; s++)
			for (int j = 0; j < conf->campaigns[i].steps[s].n_variants;
			    j++) {
				v = &conf->campaigns[i].steps[s].variants[j];
				if (mq_tmpl_check(v->subject, &err) != MQ_OK ||
				    mq_tmpl_check(v->text, &err) != MQ_OK ||
				    (v->html != NULL &&
				    mq_tmpl_check(v->html, &err) != MQ_OK))
					fz_fail("the loader took a bad template: "
					    "%s", err.msg);
			}
}

/* Leads and a queued message in every campaign: history, which only
 * force may retire. */
static void history(struct mq_db *db)
{
	struct mq_err err;

	if (mq_db_exec(db, "INSERT INTO lead (email, created_at) SELECT "
	    "'lead' || id || '@example.com', 0 FROM campaign;"
	    "INSERT INTO campaign_lead (campaign_id, lead_id, added_at, "
	    "updated_at) SELECT c.id, l.id, 0, 0 FROM campaign c JOIN lead l "
	    "ON l.email = 'lead' || c.id || '@example.com';"
	    "INSERT INTO queue (campaign_id, lead_id, step, variant_id, "
	    "scheduled_at, updated_at) SELECT c.id, l.id, 0, (SELECT v.id "
	    "FROM variant v JOIN step s ON s.id = v.step_id WHERE "
	    "s.campaign_id = c.id AND s.number = 0 ORDER BY v.letter LIMIT 1), "
	    "0, 0 FROM campaign c JOIN lead l ON l.email = 'lead' || c.id || "
	    "'@example.com'", &err) != MQ_OK)
		fz_fail("history: %s", err.msg);
}

static struct mq_conf *load(const char *text)
{
	char path[512];
	struct mq_conf *conf = NULL;
	struct mq_err err;
	int rc;

	put_file("mailq.conf", text, 0600);
	snprintf(path, sizeof path, "%s/mailq.conf", fz_dir());
	rc = mq_conf_load(&conf, path, &err);
	if ((rc == MQ_OK) != (conf != NULL) ||
	    (rc != MQ_OK && err.msg[0] == '\0'))
		fz_fail("load: rc %d without a config or a message", rc);
	return conf;
}

static void check_all(struct fz_parts *p)
{
	struct mq_conf *c1, *c2 = NULL;
	struct mq_db *db = NULL;
	int rc;

	if ((c1 = load(p->s[0])) == NULL)
		goto out;
	if (loader_checks_templates)
		check_templates(c1);
	for (int i = 0; i < c1->n_campaigns; i++)
		compose(c1, &c1->campaigns[i]);
	db = fz_db(NULL);
	if (apply(db, c1, 0) != MQ_OK)
		fz_fail("a config the loader took, the store refused");
	if (p->n < 2 || (c2 = load(p->s[1])) == NULL)
		goto out;
	if (p->flags & F_HISTORY)
		history(db);
	rc = apply(db, c2, p->flags & F_FORCE);
	if (rc != MQ_OK && ((p->flags & (F_HISTORY | F_FORCE)) != F_HISTORY))
		fz_fail("a second config refused without history, or with "
		    "force");
out:
	mq_db_close(db);
	mq_conf_free(c1);
	mq_conf_free(c2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct fz_parts p;

	if (size > 65536)
		return 0;
	if (!ready) {
		put_file("a.txt", "Hi {{first_name|there}},\n", 0644);
		put_file("b.html", "<p>Hi {{first_name}}</p>\n", 0644);
		put_file("pw", "secret\n", 0600);
		ready = 1;
	}
	fz_split(&p, data, size, 2);
	if (harmless(p.s[0]) && (p.n < 2 || harmless(p.s[1])))
		check_all(&p);
	fz_parts_free(&p);
	return 0;
}
