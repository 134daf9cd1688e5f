/*
 * Config → store, by mark and sweep: every row the config names is found
 * by its key and inserted, or updated only where a value differs, and
 * marked as seen; then every unseen row is deleted if nothing refers to
 * it, retired if it has history and force was given, or the whole apply is
 * refused. See db_config.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "db_campaign.h"
#include "db_config.h"

struct apply {
	struct mq_db         *db;
	struct mq_db_changes *ch;
	struct mq_err        *err;
	int                   force;
	time_t                now;
};

/* Per kind: its table, what counts as history, how to retire and delete a
 * row (statements take ?1 = id, ?2 = now; a retired campaign is also
 * stopped, see sweep_one), and how to name it. */
static const struct kind {
	const char *name;
	const char *unseen;
	const char *label;
	const char *history;
	const char *retire[3];
	const char *remove[3];
} kinds[MQ_KIND_N] = {
	[MQ_KIND_SENDER] = { "sender",
	    "SELECT id FROM sender WHERE NOT retired AND id NOT IN "
	    "(SELECT id FROM temp.seen WHERE kind = ?1)",
	    "SELECT 'sender ''' || name || '''' FROM sender WHERE id = ?1",
	    "SELECT EXISTS (SELECT 1 FROM campaign WHERE sender_id = ?1) OR "
	    "EXISTS (SELECT 1 FROM mailbox WHERE sender_id = ?1) OR "
	    "EXISTS (SELECT 1 FROM mailbox m CROSS JOIN attempt a ON "
	    "a.mailbox_id = m.id WHERE a.sender_id = ?1)",
	    { "UPDATE sender SET retired = 1 WHERE id = ?1", NULL },
	    { "DELETE FROM sender WHERE id = ?1", NULL } },
	[MQ_KIND_MAILBOX] = { "mailbox",
	    "SELECT id FROM mailbox WHERE NOT retired AND id NOT IN "
	    "(SELECT id FROM temp.seen WHERE kind = ?1)",
	    "SELECT 'mailbox ''' || name || '''' FROM mailbox WHERE id = ?1",
	    "SELECT EXISTS (SELECT 1 FROM send_log WHERE mailbox_id = ?1) OR "
	    "EXISTS (SELECT 1 FROM queue WHERE mailbox_id = ?1) OR "
	    "EXISTS (SELECT 1 FROM attempt WHERE mailbox_id = ?1)",
	    { "UPDATE mailbox SET retired = 1, enabled = 0 WHERE id = ?1",
	      "DELETE FROM campaign_mailbox WHERE mailbox_id = ?1" },
	    { "DELETE FROM campaign_mailbox WHERE mailbox_id = ?1",
	      "DELETE FROM mailbox WHERE id = ?1" } },
	[MQ_KIND_CAMPAIGN] = { "campaign",
	    "SELECT id FROM campaign WHERE NOT retired AND id NOT IN "
	    "(SELECT id FROM temp.seen WHERE kind = ?1)",
	    "SELECT 'campaign ''' || name || '''' FROM campaign WHERE id = ?1",
	    "SELECT EXISTS (SELECT 1 FROM campaign_lead WHERE campaign_id = ?1) "
	    "OR EXISTS (SELECT 1 FROM send_log WHERE campaign_id = ?1)",
	    { "UPDATE campaign SET retired = 1 WHERE id = ?1", NULL },
	    { "DELETE FROM campaign WHERE id = ?1", NULL } },
	[MQ_KIND_STEP] = { "step",
	    "SELECT s.id FROM step s JOIN campaign c ON c.id = s.campaign_id "
	    "WHERE NOT s.retired AND s.id NOT IN "
	    "(SELECT id FROM temp.seen WHERE kind = ?1) ORDER BY s.number DESC",
	    "SELECT 'campaign ''' || c.name || ''' step ' || s.number "
	    "FROM step s JOIN campaign c ON c.id = s.campaign_id WHERE s.id = ?1",
	    "SELECT EXISTS (SELECT 1 FROM step s JOIN queue q ON "
	    "q.campaign_id = s.campaign_id AND q.step = s.number "
	    "WHERE s.id = ?1) OR EXISTS (SELECT 1 FROM step s JOIN send_log l "
	    "ON l.campaign_id = s.campaign_id AND l.step = s.number "
	    "WHERE s.id = ?1)",
	    { "UPDATE step SET retired = 1 WHERE id = ?1",
	      "UPDATE queue SET status = 'cancelled', updated_at = ?2 "
	      "WHERE status = 'pending' AND (campaign_id, step) = "
	      "(SELECT campaign_id, number FROM step WHERE id = ?1)" },
	    { "DELETE FROM step WHERE id = ?1", NULL } },
	[MQ_KIND_VARIANT] = { "variant",
	    "SELECT id FROM variant WHERE NOT retired AND id NOT IN "
	    "(SELECT id FROM temp.seen WHERE kind = ?1)",
	    "SELECT 'campaign ''' || c.name || ''' step ' || s.number || "
	    "' variant ' || v.letter FROM variant v JOIN step s ON "
	    "s.id = v.step_id JOIN campaign c ON c.id = s.campaign_id "
	    "WHERE v.id = ?1",
	    "SELECT EXISTS (SELECT 1 FROM queue WHERE variant_id = ?1) OR "
	    "EXISTS (SELECT 1 FROM send_log WHERE variant_id = ?1)",
	    { "UPDATE variant SET retired = 1 WHERE id = ?1",
	      "UPDATE queue SET variant_id = NULL, updated_at = ?2 "
	      "WHERE variant_id = ?1 AND status = 'pending'" },
	    { "DELETE FROM variant WHERE id = ?1", NULL } },
};

const char *mq_db_kind_name(enum mq_db_kind kind)
{
	return kinds[kind].name;
}

/* Runs sql bound from fmt; *id gets the first column of the first row
 * (if id is not NULL) and *found whether there was one. */
static int run(struct apply *a, const char *sql, sqlite3_int64 *id,
    int *found, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = mq_db_vget(a->db, a->err, id, found, sql, fmt, ap);
	va_end(ap);
	return rc;
}

/* Finds a row with sel; if present runs upd (which changes it only where a
 * value differs), else ins (… RETURNING id). The three statements share
 * parameter numbers, bound from fmt. The row's id is marked seen. */
static int upsert(struct apply *a, enum mq_db_kind k, sqlite3_int64 *id,
    const char *sel, const char *upd, const char *ins, const char *fmt, ...)
{
	va_list ap;
	int found = 0, rc;

	va_start(ap, fmt);
	rc = mq_db_vget(a->db, a->err, id, &found, sel, fmt, ap);
	va_end(ap);
	va_start(ap, fmt);
	if (rc == MQ_OK && found) {
		rc = mq_db_vget(a->db, a->err, NULL, NULL, upd, fmt, ap);
		a->ch->changed[k] += sqlite3_changes(a->db->h) > 0;
	} else if (rc == MQ_OK) {
		rc = mq_db_vget(a->db, a->err, id, NULL, ins, fmt, ap);
		a->ch->added[k]++;
	}
	va_end(ap);
	if (rc == MQ_OK)
		rc = run(a, "INSERT OR IGNORE INTO temp.seen (kind, id) "
		    "VALUES (?1, ?2)", NULL, NULL, "iI", (int)k, *id);
	return rc;
}

static int apply_senders(struct apply *a, const struct mq_conf *conf)
{
	sqlite3_int64 id;
	int rc = MQ_OK;

	for (int i = 0; rc == MQ_OK && i < conf->n_senders; i++)
		rc = upsert(a, MQ_KIND_SENDER, &id,
		    "SELECT id FROM sender WHERE name = ?1",
		    "UPDATE sender SET daily_limit = ?2, retired = 0 "
		    "WHERE name = ?1 AND (daily_limit IS NOT ?2 OR retired)",
		    "INSERT INTO sender (name, daily_limit) VALUES (?1, ?2) "
		    "RETURNING id",
		    "si", conf->senders[i].name, conf->senders[i].daily_limit);
	return rc;
}

static int apply_mailboxes(struct apply *a, const struct mq_conf *conf)
{
	const struct mq_conf_mailbox *m;
	sqlite3_int64 id;
	int rc = MQ_OK;

	for (int i = 0; rc == MQ_OK && i < conf->n_mailboxes; i++) {
		m = &conf->mailboxes[i];
		rc = upsert(a, MQ_KIND_MAILBOX, &id,
		    "SELECT id FROM mailbox WHERE name = ?1",
		    "UPDATE mailbox SET sender_id = (SELECT id FROM sender "
		    "WHERE name = ?2), address = ?3, display_name = ?4, "
		    "daily_limit = ?5, enabled = ?6, max_connections = ?7, "
		    "max_per_minute = ?8, bounce_rate = ?9, bounce_window = ?10, "
		    "retired = 0 WHERE name = ?1 "
		    "AND (sender_id IS NOT (SELECT id FROM sender WHERE name = ?2) "
		    "OR address IS NOT ?3 OR display_name IS NOT ?4 OR "
		    "daily_limit IS NOT ?5 OR enabled IS NOT ?6 OR "
		    "max_connections IS NOT ?7 OR max_per_minute IS NOT ?8 OR "
		    "bounce_rate IS NOT ?9 OR bounce_window IS NOT ?10 OR "
		    "retired)",
		    "INSERT INTO mailbox (name, sender_id, address, display_name, "
		    "daily_limit, enabled, max_connections, max_per_minute, "
		    "bounce_rate, bounce_window) "
		    "VALUES (?1, (SELECT id FROM sender WHERE name = ?2), ?3, ?4, "
		    "?5, ?6, ?7, ?8, ?9, ?10) RETURNING id",
		    "ssssiiiiii", m->name, m->sender, m->address, m->display_name,
		    m->daily_limit, m->enabled != 0, m->max_connections,
		    m->max_per_minute, m->bounce_rate, m->bounce_window);
	}
	return rc;
}

/* Rewrites the campaign's rotation when it differs from the config's. */
static int apply_rotation(struct apply *a, sqlite3_int64 cid,
    const struct mq_conf_campaign *c, int *changed)
{
	sqlite3_int64 same = 0;
	size_t len = 1;
	char *want;
	int rc;

	for (int i = 0; i < c->n_mailboxes; i++)
		len += strlen(c->mailboxes[i]) + 1;
	if ((want = calloc(1, len)) == NULL)
		return mq_err_perm(a->err, EX_OSERR, "out of memory");
	for (int i = 0; i < c->n_mailboxes; i++) {
		if (i > 0)
			strcat(want, ",");
		strcat(want, c->mailboxes[i]);
	}
	rc = run(a, "SELECT coalesce((SELECT group_concat(name, ',') FROM "
	    "(SELECT m.name FROM campaign_mailbox cm JOIN mailbox m ON "
	    "m.id = cm.mailbox_id WHERE cm.campaign_id = ?1 ORDER BY "
	    "cm.position)), '') = ?2", &same, NULL, "Is", cid, want);
	free(want);
	if (rc != MQ_OK || same)
		return rc;
	*changed = 1;
	rc = run(a, "DELETE FROM campaign_mailbox WHERE campaign_id = ?1",
	    NULL, NULL, "I", cid);
	for (int i = 0; rc == MQ_OK && i < c->n_mailboxes; i++)
		rc = run(a, "INSERT INTO campaign_mailbox (campaign_id, "
		    "mailbox_id, position) VALUES (?1, (SELECT id FROM mailbox "
		    "WHERE name = ?2), ?3)", NULL, NULL, "Isi", cid,
		    c->mailboxes[i], i);
	return rc;
}

static int apply_variants(struct apply *a, sqlite3_int64 sid,
    const struct mq_conf_step *s)
{
	const struct mq_conf_variant *v;
	sqlite3_int64 id;
	int rc = MQ_OK;

	for (int i = 0; rc == MQ_OK && i < s->n_variants; i++) {
		v = &s->variants[i];
		rc = upsert(a, MQ_KIND_VARIANT, &id,
		    "SELECT id FROM variant WHERE step_id = ?1 AND letter = ?2",
		    "UPDATE variant SET weight = ?3, subject = ?4, body_text = ?5, "
		    "body_html = ?6, retired = 0 WHERE step_id = ?1 AND "
		    "letter = ?2 AND (weight IS NOT ?3 OR subject IS NOT ?4 OR "
		    "body_text IS NOT ?5 OR body_html IS NOT ?6 OR retired)",
		    "INSERT INTO variant (step_id, letter, weight, subject, "
		    "body_text, body_html) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
		    "RETURNING id",
		    "Isisss", sid, v->letter, v->weight, v->subject, v->text,
		    v->html);
	}
	return rc;
}

static int apply_steps(struct apply *a, sqlite3_int64 cid,
    const struct mq_conf_campaign *c)
{
	sqlite3_int64 sid;
	int rc = MQ_OK;

	for (int i = 0; rc == MQ_OK && i < c->n_steps; i++) {
		rc = upsert(a, MQ_KIND_STEP, &sid,
		    "SELECT id FROM step WHERE campaign_id = ?1 AND number = ?2",
		    "UPDATE step SET wait_days = ?3, retired = 0 WHERE "
		    "campaign_id = ?1 AND number = ?2 AND "
		    "(wait_days IS NOT ?3 OR retired)",
		    "INSERT INTO step (campaign_id, number, wait_days) "
		    "VALUES (?1, ?2, ?3) RETURNING id",
		    "Iii", cid, i, c->steps[i].wait_days);
		if (rc == MQ_OK)
			rc = apply_variants(a, sid, &c->steps[i]);
	}
	return rc;
}

static int apply_campaign(struct apply *a, const struct mq_conf_campaign *c)
{
	int *added = &a->ch->added[MQ_KIND_CAMPAIGN];
	int *changed = &a->ch->changed[MQ_KIND_CAMPAIGN];
	int before = *added + *changed, rot = 0, rc;
	sqlite3_int64 cid;

	rc = upsert(a, MQ_KIND_CAMPAIGN, &cid,
	    "SELECT id FROM campaign WHERE name = ?1",
	    "UPDATE campaign SET sender_id = (SELECT id FROM sender WHERE "
	    "name = ?2), timezone = ?3, days = ?4, start_min = ?5, "
	    "end_min = ?6, holidays = ?7, extra_holidays = ?8, delay = ?9, "
	    "jitter = ?10, daily_limit = ?11, buffer = ?12, "
	    "retry_attempts = ?13, retry_backoff = ?14, "
	    "contact_gap_days = ?16, auto_reply_pause_days = ?17, "
	    "stop_on_reply = ?18, retired = 0 "
	    "WHERE name = ?1 AND (sender_id IS NOT (SELECT id FROM sender "
	    "WHERE name = ?2) OR timezone IS NOT ?3 OR days IS NOT ?4 OR "
	    "start_min IS NOT ?5 OR end_min IS NOT ?6 OR holidays IS NOT ?7 "
	    "OR extra_holidays IS NOT ?8 OR delay IS NOT ?9 OR "
	    "jitter IS NOT ?10 OR daily_limit IS NOT ?11 OR buffer IS NOT ?12 "
	    "OR retry_attempts IS NOT ?13 OR retry_backoff IS NOT ?14 OR "
	    "contact_gap_days IS NOT ?16 OR auto_reply_pause_days IS NOT ?17 "
	    "OR stop_on_reply IS NOT ?18 OR retired)",
	    "INSERT INTO campaign (name, sender_id, timezone, days, start_min, "
	    "end_min, holidays, extra_holidays, delay, jitter, daily_limit, "
	    "buffer, retry_attempts, retry_backoff, created_at, status_at, "
	    "contact_gap_days, auto_reply_pause_days, stop_on_reply) VALUES "
	    "(?1, (SELECT id FROM sender WHERE "
	    "name = ?2), ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
	    "?15, ?15, ?16, ?17, ?18) RETURNING id",
	    "sssiiissiiiiisIiis", c->name, c->sender, c->timezone, c->days,
	    c->start_min, c->end_min, c->holidays, c->extra_holidays, c->delay,
	    c->jitter, c->daily_limit, c->buffer, c->retry_attempts,
	    c->retry_backoff, (sqlite3_int64)a->now, c->contact_gap_days,
	    c->auto_reply_pause_days, c->stop_on_domain ? "domain" : "lead");
	if (rc == MQ_OK)
		rc = apply_rotation(a, cid, c, &rot);
	if (rc == MQ_OK && rot && *added + *changed == before)
		(*changed)++;
	if (rc == MQ_OK)
		rc = apply_steps(a, cid, c);
	return rc;
}

/* Removes or retires one row that left the config. */
static int sweep_one(struct apply *a, const struct kind *k, enum mq_db_kind i,
    sqlite3_int64 id)
{
	const char *const *sqls;
	sqlite3_int64 history = 0;
	char label[256] = "row";
	sqlite3_stmt *st;
	int rc;

	if ((rc = run(a, k->history, &history, NULL, "I", id)) != MQ_OK)
		return rc;
	if (history && !a->force) {
		if (mq_db_prepare(a->db, k->label, &st, NULL) == MQ_OK) {
			mq_db_bind(st, "I", id);
			if (sqlite3_step(st) == SQLITE_ROW)
				snprintf(label, sizeof label, "%s",
				    (const char *)sqlite3_column_text(st, 0));
			sqlite3_finalize(st);
		}
		return mq_err_perm(a->err, EX_CONFIG,
		    "%s is no longer in the config but has leads or send "
		    "history; keep it, or run with --force to retire it", label);
	}
	sqls = history ? k->retire : k->remove;
	for (int j = 0; rc == MQ_OK && j < 3 && sqls[j] != NULL; j++)
		rc = run(a, sqls[j], NULL, NULL, "II", id, (sqlite3_int64)a->now);
	/* a retired campaign stops, as the status machine stops one */
	if (rc == MQ_OK && history && i == MQ_KIND_CAMPAIGN)
		rc = mq_db_campaign_move(a->db, id, MQ_MOVE_RETIRE, a->now, -1,
		    NULL, a->err);
	if (history)
		a->ch->retired[i]++;
	else
		a->ch->removed[i]++;
	return rc;
}

static int sweep(struct apply *a, enum mq_db_kind i)
{
	const struct kind *k = &kinds[i];
	sqlite3_int64 *ids = NULL, *more;
	sqlite3_stmt *st = NULL;
	int n = 0, cap = 0, rc, sr;

	if ((rc = mq_db_prepare(a->db, k->unseen, &st, a->err)) != MQ_OK)
		return rc;
	mq_db_bind(st, "i", (int)i);
	while ((sr = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((more = realloc(ids, cap * sizeof *ids)) == NULL) {
				rc = mq_err_perm(a->err, EX_OSERR, "out of memory");
				goto out;
			}
			ids = more;
		}
		ids[n++] = sqlite3_column_int64(st, 0);
	}
	if (sr != SQLITE_DONE) {
		rc = mq_db_fail(a->db, sr, "apply config", a->err);
		goto out;
	}
	for (int j = 0; rc == MQ_OK && j < n; j++)
		rc = sweep_one(a, k, i, ids[j]);
out:
	sqlite3_finalize(st);
	free(ids);
	return rc;
}

static int apply_all(struct apply *a, const struct mq_conf *conf)
{
	static const enum mq_db_kind order[] = { MQ_KIND_VARIANT, MQ_KIND_STEP,
	    MQ_KIND_CAMPAIGN, MQ_KIND_MAILBOX, MQ_KIND_SENDER };
	int rc;

	rc = mq_db_exec(a->db, "CREATE TEMP TABLE IF NOT EXISTS seen (kind "
	    "INTEGER, id INTEGER, PRIMARY KEY (kind, id)); "
	    "DELETE FROM temp.seen", a->err);
	if (rc == MQ_OK)
		rc = apply_senders(a, conf);
	if (rc == MQ_OK)
		rc = apply_mailboxes(a, conf);
	for (int i = 0; rc == MQ_OK && i < conf->n_campaigns; i++)
		rc = apply_campaign(a, &conf->campaigns[i]);
	for (size_t i = 0; rc == MQ_OK && i < sizeof order / sizeof *order; i++)
		rc = sweep(a, order[i]);
	return rc;
}

int mq_db_config_apply(struct mq_db *db, const struct mq_conf *conf,
    int force, time_t now, struct mq_db_changes *ch, struct mq_err *err)
{
	struct apply a = { db, ch, err, force, now };
	int rc;

	memset(ch, 0, sizeof *ch);
	if ((rc = mq_db_begin(db, err)) != MQ_OK)
		return rc;
	rc = apply_all(&a, conf);
	if (rc == MQ_OK)
		return mq_db_commit(db, err);
	mq_db_rollback(db);
	memset(ch, 0, sizeof *ch);
	return rc;
}
