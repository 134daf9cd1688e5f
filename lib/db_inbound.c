/* What comes back, recorded and applied once: see db_inbound.h. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "db_import.h"
#include "db_inbound.h"
#include "freemail.h"

/* A message mailq sent, as a match finds it. */
struct sent {
	sqlite3_int64 id, campaign, lead;
	int           step, found;
	char          status[16];
	char          email[MQ_ADDR_MAX];
	char          campaign_name[64];
};

#define SENT_COLS "s.id, s.campaign_id, s.lead_id, s.step, s.status, " \
    "l.email, c.name FROM send_log s JOIN lead l ON l.id = s.lead_id " \
    "JOIN campaign c ON c.id = s.campaign_id "

static int read_sent(struct mq_db *db, const char *sql, struct sent *s,
    struct mq_err *err, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int rc, sr;

	memset(s, 0, sizeof *s);
	if ((rc = mq_db_stmt(db, sql, &st, err)) != MQ_OK)
		return rc;
	va_start(ap, fmt);
	mq_db_vbind(st, fmt, ap);
	va_end(ap);
	if ((sr = sqlite3_step(st)) == SQLITE_ROW) {
		s->found = 1;
		s->id = sqlite3_column_int64(st, 0);
		s->campaign = sqlite3_column_int64(st, 1);
		s->lead = sqlite3_column_int64(st, 2);
		s->step = sqlite3_column_int(st, 3);
		mq_db_text(st, 4, s->status, sizeof s->status);
		mq_db_text(st, 5, s->email, sizeof s->email);
		mq_db_text(st, 6, s->campaign_name, sizeof s->campaign_name);
	} else if (sr != SQLITE_DONE)
		rc = mq_db_fail(db, sr, "find a sent message", err);
	mq_db_release(db, st);
	return rc;
}

/* The message mailq sent with this Message-ID (any mailbox: a thread
 * may come back to another alias). */
static int sent_by_id(struct mq_db *db, const char *id, struct sent *s,
    struct mq_err *err)
{
	static const char sql[] = "SELECT " SENT_COLS "WHERE s.message_id = ?1 "
	    "AND s.status IN ('sent', 'unknown', 'bounced')";

	return read_sent(db, sql, s, err, "s", id);
}

/* The latest message this mailbox sent to address. */
static int sent_to(struct mq_db *db, sqlite3_int64 mailbox,
    const char *addr, struct sent *s, struct mq_err *err)
{
	static const char sql[] = "SELECT " SENT_COLS "WHERE l.email = ?2 AND "
	    "s.mailbox_id = ?1 AND s.status IN ('sent', 'unknown', 'bounced') "
	    "ORDER BY s.claimed_at DESC, s.id DESC LIMIT 1";

	return read_sent(db, sql, s, err, "Is", mailbox, addr);
}

/* A report: the returned message's Message-ID, else the first failed or
 * delayed recipient this mailbox wrote to. */
static int match_report(struct mq_db *db, const struct mq_inbound_at *at,
    const struct mq_inbound *m, struct sent *s, struct mq_err *err)
{
	int rc = MQ_OK;

	memset(s, 0, sizeof *s);
	if (m->orig_message_id[0] != '\0' &&
	    (rc = sent_by_id(db, m->orig_message_id, s, err)) != MQ_OK)
		return rc;
	for (int i = 0; !s->found && i < m->n_rcpts; i++)
		if (strcmp(m->rcpts[i].action, "failed") == 0 ||
		    strcmp(m->rcpts[i].action, "delayed") == 0)
			if ((rc = sent_to(db, at->mailbox, m->rcpts[i].addr, s,
			    err)) != MQ_OK)
				return rc;
	return rc;
}

/* Anything else: its thread, else its sender. */
static int match_thread(struct mq_db *db, const struct mq_inbound_at *at,
    const struct mq_inbound *m, struct sent *s, struct mq_err *err)
{
	int rc = MQ_OK;

	memset(s, 0, sizeof *s);
	for (int i = 0; !s->found && i < m->n_ids; i++)
		if ((rc = sent_by_id(db, m->ids[i], s, err)) != MQ_OK)
			return rc;
	if (!s->found && m->from[0] != '\0')
		rc = sent_to(db, at->mailbox, m->from, s, err);
	return rc;
}

/* --- outcomes ------------------------------------------------------------ */

/* The next step of s, planned wait_days after it left (and not before
 * now), unless its lead has stopped. */
static int plan_next(struct mq_db *db, const struct sent *s, time_t now,
    struct mq_err *err)
{
	int rc;

	rc = mq_db_run(db, err, "INSERT INTO queue (campaign_id, lead_id, "
	    "step, variant_id, scheduled_at, updated_at) SELECT ?1, ?2, "
	    "n.number, (SELECT v.id FROM variant v WHERE v.step_id = n.id AND "
	    "NOT v.retired ORDER BY v.letter = (SELECT letter FROM "
	    "campaign_lead WHERE campaign_id = ?1 AND lead_id = ?2) DESC, "
	    "v.letter LIMIT 1), max(?4, (SELECT coalesce(sent_at, claimed_at) FROM send_log "
	    "WHERE id = ?5) + n.wait_days * 86400), ?4 FROM step n JOIN "
	    "campaign_lead cl ON cl.campaign_id = n.campaign_id AND "
	    "cl.lead_id = ?2 WHERE n.campaign_id = ?1 AND n.number = ?3 + 1 "
	    "AND NOT n.retired AND cl.status = 'active' ON CONFLICT DO NOTHING",
	    "IIiII", s->campaign, s->lead, s->step, (sqlite3_int64)now, s->id);
	if (rc == MQ_OK && sqlite3_changes(db->h) > 0)
		return mq_db_run(db, err, "UPDATE campaign_lead SET next_step = "
		    "?3 + 1, updated_at = ?4 WHERE campaign_id = ?1 AND lead_id = "
		    "?2", "IIiI", s->campaign, s->lead, s->step, (sqlite3_int64)now);
	if (rc == MQ_OK)    /* no next step: the lead is done */
		rc = mq_db_run(db, err, "UPDATE campaign_lead SET status = "
		    "'done', updated_at = ?3 WHERE campaign_id = ?1 AND lead_id "
		    "= ?2 AND status = 'active' AND NOT EXISTS (SELECT 1 FROM "
		    "queue WHERE campaign_id = ?1 AND lead_id = ?2 AND status IN "
		    "('pending', 'sending'))", "III", s->campaign, s->lead,
		    (sqlite3_int64)now);
	return rc;
}

/* An 'unknown' message proved delivered: 'sent', with the evidence in
 * its last attempt, and its follow-up planned. */
static int resolve_sent(struct mq_db *db, struct sent *s,
    const char *evidence, time_t now, int *resolved, struct mq_err *err)
{
	int rc;

	*resolved = 0;
	rc = mq_db_run(db, err, "UPDATE send_log SET status = 'sent', sent_at "
	    "= coalesce(sent_at, claimed_at) WHERE id = ?1 AND status = "
	    "'unknown'", "I", s->id);
	if (rc != MQ_OK || sqlite3_changes(db->h) == 0)
		return rc;
	*resolved = 1;
	snprintf(s->status, sizeof s->status, "sent");
	rc = mq_db_run(db, err, "UPDATE attempt SET outcome = 'sent', detail "
	    "= ?2 WHERE id = (SELECT max(id) FROM attempt WHERE send_log_id = "
	    "?1) AND outcome = 'unknown'", "Is", s->id, evidence);
	if (rc == MQ_OK)
		rc = mq_db_run(db, err, "UPDATE queue SET status = 'sent', "
		    "last_error = NULL, updated_at = ?4 WHERE campaign_id = ?1 "
		    "AND lead_id = ?2 AND step = ?3 AND status = 'unknown'",
		    "IIiI", s->campaign, s->lead, s->step, (sqlite3_int64)now);
	if (rc == MQ_OK)
		rc = mq_db_run(db, err, "UPDATE campaign_lead SET status = "
		    "'active', updated_at = ?3 WHERE campaign_id = ?1 AND "
		    "lead_id = ?2 AND status = 'unknown'", "III", s->campaign,
		    s->lead, (sqlite3_int64)now);
	return rc == MQ_OK ? plan_next(db, s, now, err) : rc;
}

/* A permanent failure: the message bounced, the lead is suppressed
 * everywhere and nothing more goes to it. */
static int hard_bounce(struct mq_db *db, const struct mq_inbound_at *at,
    struct sent *s, const char *reason, struct mq_applied *out,
    struct mq_err *err)
{
	sqlite3_int64 now = at->now;
	int rc;

	rc = mq_db_run(db, err, "UPDATE send_log SET status = 'bounced', "
	    "smtp_reply = ?2 WHERE id = ?1 AND status IN ('sent', 'unknown')",
	    "Is", s->id, reason);
	if (rc == MQ_OK && sqlite3_changes(db->h) > 0) {
		out->resolved |= strcmp(s->status, "unknown") == 0;
		rc = mq_db_run(db, err, "UPDATE attempt SET outcome = "
		    "'bounced', detail = ?2 WHERE id = (SELECT max(id) FROM "
		    "attempt WHERE send_log_id = ?1) AND outcome IN ('sent', "
		    "'unknown')", "Is", s->id, reason);
		if (rc == MQ_OK)
			rc = mq_db_run(db, err, "UPDATE queue SET status = "
			    "'bounced', last_error = ?4, updated_at = ?5 WHERE "
			    "campaign_id = ?1 AND lead_id = ?2 AND step = ?3 AND "
			    "status IN ('sent', 'unknown')", "IIisI", s->campaign,
			    s->lead, s->step, reason, now);
	}
	if (rc == MQ_OK)
		rc = mq_db_run(db, err, "UPDATE campaign_lead SET status = "
		    "'bounced', updated_at = ?3 WHERE campaign_id = ?1 AND "
		    "lead_id = ?2 AND status IN ('queued', 'active', 'done', "
		    "'unknown', 'skipped')", "III", s->campaign, s->lead, now);
	if (rc == MQ_OK)
		out->stopped += sqlite3_changes(db->h) > 0;
	/* as a refusal at RCPT TO */
	if (rc == MQ_OK)
		rc = mq_db_bounced(db, s->email, reason, at->mailbox,
		    now, &out->paused, err);
	return rc;
}

/* A temporary failure: counted; soft_limit of them are a hard one. The
 * message did reach the relay, so an unknown one was sent. */
static int soft_bounce(struct mq_db *db, const struct mq_inbound_at *at,
    struct sent *s, const char *reason, struct mq_applied *out,
    struct mq_err *err)
{
	sqlite3_int64 n = 0;
	char why[400];
	int rc;

	if ((rc = resolve_sent(db, s, reason, at->now, &out->resolved, err)) !=
	    MQ_OK ||
	    (rc = mq_db_get(db, err, &n, NULL, "SELECT count(*) FROM inbound "
	    "WHERE lead_id = ?1 AND class = 'soft_bounce'", "I", s->lead)) !=
	    MQ_OK)
		return rc;
	if (n + 1 < at->soft_limit)
		return MQ_OK;
	snprintf(why, sizeof why, "%lld soft bounces; the last: %s",
	    (long long)n + 1, reason);
	snprintf(out->reason, sizeof out->reason, "%s", why);
	out->cls = "hard_bounce";
	return hard_bounce(db, at, s, why, out, err);
}

/* Out of office: the lead's follow-ups in that campaign wait until the
 * return date it gave, or auto_reply_pause_days. */
static int auto_reply(struct mq_db *db, const struct mq_inbound_at *at,
    const struct mq_inbound *m, struct sent *s, struct mq_applied *out,
    struct mq_err *err)
{
	sqlite3_int64 days = 7, until;
	int rc;

	if ((rc = resolve_sent(db, s, "an automatic reply came back",
	    at->now, &out->resolved, err)) != MQ_OK ||
	    (rc = mq_db_get(db, err, &days, NULL, "SELECT "
	    "auto_reply_pause_days FROM campaign WHERE id = ?1", "I",
	    s->campaign)) != MQ_OK)
		return rc;
	until = at->now + days * 86400;
	if (m->back_on > at->now && m->back_on <= at->now + 90 * 86400)
		until = m->back_on;
	rc = mq_db_run(db, err, "UPDATE queue SET scheduled_at = ?3, "
	    "updated_at = ?4 WHERE campaign_id = ?1 AND lead_id = ?2 AND "
	    "status = 'pending' AND step > 0 AND scheduled_at < ?3", "IIII",
	    s->campaign, s->lead, until, (sqlite3_int64)at->now);
	if (rc == MQ_OK)
		out->delayed = sqlite3_changes(db->h);
	return rc;
}

/* The other leads of the company that replied leave the campaign. */
static int stop_domain(struct mq_db *db, const struct sent *s, time_t now,
    struct mq_applied *out, struct mq_err *err)
{
	const char *at = strrchr(s->email, '@');
	sqlite3_int64 domain = 0;
	int rc;

	if ((rc = mq_db_get(db, err, &domain, NULL, "SELECT stop_on_reply = "
	    "'domain' FROM campaign WHERE id = ?1", "I", s->campaign)) !=
	    MQ_OK || !domain || at == NULL || mq_freemail(at + 1))
		return rc;
	rc = mq_db_run(db, err, "UPDATE queue SET status = 'cancelled', "
	    "last_error = 'the company replied', updated_at = ?3 WHERE "
	    "campaign_id = ?1 AND status = 'pending' AND lead_id IN (SELECT id "
	    "FROM lead WHERE substr(email, instr(email, '@') + 1) = ?2 COLLATE "
	    "NOCASE)", "IsI", s->campaign, at + 1, (sqlite3_int64)now);
	if (rc == MQ_OK)
		rc = mq_db_run(db, err, "UPDATE campaign_lead SET status = "
		    "'cancelled', updated_at = ?3 WHERE campaign_id = ?1 AND "
		    "status IN ('queued', 'active') AND lead_id IN (SELECT id FROM "
		    "lead WHERE substr(email, instr(email, '@') + 1) = ?2 COLLATE "
		    "NOCASE)", "IsI", s->campaign, at + 1, (sqlite3_int64)now);
	if (rc == MQ_OK)
		out->stopped += sqlite3_changes(db->h);
	return rc;
}

static int reply(struct mq_db *db, const struct mq_inbound_at *at,
    struct sent *s, struct mq_applied *out, struct mq_err *err)
{
	int rc;

	rc = resolve_sent(db, s, "a reply came back", at->now, &out->resolved,
	    err);
	if (rc == MQ_OK)
		rc = mq_db_run(db, err, "UPDATE campaign_lead SET status = "
		    "'replied', updated_at = ?3 WHERE campaign_id = ?1 AND "
		    "lead_id = ?2 AND status IN ('queued', 'active', 'done', "
		    "'unknown', 'skipped')", "III", s->campaign, s->lead,
		    (sqlite3_int64)at->now);
	if (rc == MQ_OK)
		out->stopped += sqlite3_changes(db->h) > 0;
	if (rc == MQ_OK)
		rc = mq_db_run(db, err, "UPDATE queue SET status = 'cancelled', "
		    "last_error = 'replied', updated_at = ?3 WHERE campaign_id = "
		    "?1 AND lead_id = ?2 AND status = 'pending'", "III",
		    s->campaign, s->lead, (sqlite3_int64)at->now);
	return rc == MQ_OK ? stop_domain(db, s, at->now, out, err) : rc;
}

/* Never again, whoever asked: the lead the thread leads to and the
 * address that wrote. */
static int unsubscribe(struct mq_db *db, const struct mq_inbound_at *at,
    const struct mq_inbound *m, struct sent *s, struct mq_applied *out,
    struct mq_err *err)
{
	int added = 0, more = 0, rc = MQ_OK;

	if (s->found)
		rc = resolve_sent(db, s, "an unsubscribe request came back",
		    at->now, &out->resolved, err);
	if (rc == MQ_OK && s->found)
		rc = mq_db_suppress(db, s->email, "unsubscribed by mail",
		    at->now, &added, err);
	if (rc == MQ_OK && m->from[0] != '\0' && (!s->found ||
	    strcasecmp(m->from, s->email) != 0))
		rc = mq_db_suppress(db, m->from, "unsubscribed by mail",
		    at->now, &more, err);
	out->stopped += added + more;
	return rc;
}

/* --- recording ------------------------------------------------------------ */

/* A copy of a message this mailbox has read before, elsewhere. */
static int is_copy(struct mq_db *db, const struct mq_inbound_at *at,
    const struct mq_inbound *m, sqlite3_int64 self, int *copy,
    struct mq_err *err)
{
	sqlite3_int64 id = 0;
	int rc;

	if (m->message_id[0] != '\0')
		rc = mq_db_get(db, err, &id, copy, "SELECT id FROM inbound WHERE "
		    "mailbox_id = ?1 AND message_id = ?2 AND id != ?3 LIMIT 1",
		    "IsI", at->mailbox, m->message_id, self);
	else
		rc = mq_db_get(db, err, &id, copy, "SELECT id FROM inbound WHERE "
		    "mailbox_id = ?1 AND digest = ?2 AND id != ?3 LIMIT 1",
		    "IsI", at->mailbox, at->digest, self);
	return rc;
}

static int insert(struct mq_db *db, const struct mq_inbound_at *at,
    const struct mq_inbound *m, sqlite3_int64 *id, struct mq_err *err)
{
	int found = 0, rc;

	*id = 0;
	rc = mq_db_get(db, err, id, &found, "INSERT INTO inbound (mailbox_id, "
	    "folder, uidvalidity, ref, message_id, digest, from_addr, subject, "
	    "class, reason, headers_only, received_at, read_at) VALUES (?1, "
	    "?2, ?3, ?4, nullif(?5, ''), ?6, ?7, ?8, ?9, ?10, ?11, nullif(?12, "
	    "0), ?13) ON CONFLICT DO NOTHING RETURNING id", "IsIsssssssiII",
	    at->mailbox, at->folder, (sqlite3_int64)at->uidvalidity, at->ref,
	    m->message_id, at->digest, m->from, m->subject,
	    mq_class_name(m->cls), m->reason, at->headers_only,
	    (sqlite3_int64)m->date, (sqlite3_int64)at->now);
	if (rc == MQ_OK && !found)
		*id = 0;
	return rc;
}

/* What the message does, once it is known to be new. */
static int decide(struct mq_db *db, const struct mq_inbound_at *at,
    const struct mq_inbound *m, struct sent *s, struct mq_applied *out,
    struct mq_err *err)
{
	int bounce = m->cls == MQ_CLASS_HARD_BOUNCE ||
	    m->cls == MQ_CLASS_SOFT_BOUNCE;
	int rc;

	if (m->cls == MQ_CLASS_OWN || m->cls == MQ_CLASS_UNMATCHED)
		return MQ_OK;
	rc = bounce ? match_report(db, at, m, s, err) :
	    match_thread(db, at, m, s, err);
	if (rc != MQ_OK)
		return rc;
	if (s->found) {
		snprintf(out->campaign, sizeof out->campaign, "%s",
		    s->campaign_name);
		snprintf(out->lead, sizeof out->lead, "%s", s->email);
	}
	if (m->cls == MQ_CLASS_UNSUBSCRIBE)
		return unsubscribe(db, at, m, s, out, err);
	if (!s->found) {
		out->cls = "unmatched";
		snprintf(out->reason, sizeof out->reason, "%s; matches nothing "
		    "mailq sent from this mailbox", m->reason);
		return MQ_OK;
	}
	switch (m->cls) {
	case MQ_CLASS_HARD_BOUNCE:
		return hard_bounce(db, at, s, m->reason, out, err);
	case MQ_CLASS_SOFT_BOUNCE:
		return soft_bounce(db, at, s, m->reason, out, err);
	case MQ_CLASS_AUTO_REPLY:
		return auto_reply(db, at, m, s, out, err);
	default:
		return reply(db, at, s, out, err);
	}
}

static int apply_locked(struct mq_db *db, const struct mq_inbound_at *at,
    const struct mq_inbound *m, struct mq_applied *out, struct mq_err *err)
{
	struct sent s;
	sqlite3_int64 id, mine = 0;
	int copy = 0, rc;

	memset(&s, 0, sizeof s);
	if ((rc = insert(db, at, m, &id, err)) != MQ_OK || id == 0)
		return rc;
	out->recorded = 1;
	if (at->uid > 0 && (rc = mq_db_run(db, err, "UPDATE inbox_folder SET "
	    "last_uid = max(last_uid, ?4) WHERE mailbox_id = ?1 AND folder = "
	    "?2 AND uidvalidity = ?3", "IsII", at->mailbox, at->folder,
	    (sqlite3_int64)at->uidvalidity, (sqlite3_int64)at->uid)) != MQ_OK)
		return rc;
	if ((rc = is_copy(db, at, m, id, &copy, err)) != MQ_OK)
		return rc;
	if (!copy && m->message_id[0] != '\0' && (rc = mq_db_get(db, err,
	    &mine, NULL, "SELECT count(*) FROM send_log WHERE message_id = ?1",
	    "s", m->message_id)) != MQ_OK)
		return rc;
	if (copy)
		out->cls = "duplicate";
	else if (mine) {
		out->cls = "own";
		snprintf(out->reason, sizeof out->reason, "a copy of a message "
		    "mailq sent");
	} else if ((rc = decide(db, at, m, &s, out, err)) != MQ_OK)
		return rc;
	if (copy)
		snprintf(out->reason, sizeof out->reason, "read before, in this "
		    "or another folder");
	return mq_db_run(db, err, "UPDATE inbound SET class = ?2, reason = ?3, "
	    "campaign_id = nullif(?4, 0), lead_id = nullif(?5, 0), "
	    "send_log_id = nullif(?6, 0), resolved = ?7 WHERE id = ?1",
	    "IssIIIi", id, out->cls, out->reason, s.found ? s.campaign : 0,
	    s.found ? s.lead : 0, s.found ? s.id : 0, out->resolved);
}

int mq_db_inbound_apply(struct mq_db *db, const struct mq_inbound_at *at,
    const struct mq_inbound *m, struct mq_applied *out, struct mq_err *err)
{
	int rc;

	memset(out, 0, sizeof *out);
	out->cls = mq_class_name(m->cls);
	snprintf(out->reason, sizeof out->reason, "%s", m->reason);
	if ((rc = mq_db_begin(db, err)) != MQ_OK)
		return rc;
	if ((rc = apply_locked(db, at, m, out, err)) == MQ_OK)
		return mq_db_commit(db, err);
	mq_db_rollback(db);
	return rc;
}

/* --- folders ----------------------------------------------------------- */

int mq_db_inbox_mailbox(struct mq_db *db, const char *name,
    sqlite3_int64 *id, struct mq_err *err)
{
	int found = 0, rc;

	rc = mq_db_get(db, err, id, &found, "SELECT id FROM mailbox WHERE name "
	    "= ?1 AND NOT retired", "s", name);
	if (rc == MQ_OK && !found)
		rc = mq_err_perm(err, EX_CONFIG, "mailbox %s is not in the "
		    "database; run mailq-init", name);
	return rc;
}

int mq_db_inbox_cursor(struct mq_db *db, sqlite3_int64 mailbox,
    const char *folder, long long *uidvalidity, long long *last_uid,
    struct mq_err *err)
{
	sqlite3_int64 v = 0, u = 0;
	int rc;

	rc = mq_db_get(db, err, &v, NULL, "SELECT uidvalidity FROM "
	    "inbox_folder WHERE mailbox_id = ?1 AND folder = ?2", "Is",
	    mailbox, folder);
	if (rc == MQ_OK)
		rc = mq_db_get(db, err, &u, NULL, "SELECT last_uid FROM "
		    "inbox_folder WHERE mailbox_id = ?1 AND folder = ?2", "Is",
		    mailbox, folder);
	*uidvalidity = v;
	*last_uid = u;
	return rc;
}

int mq_db_inbox_opened(struct mq_db *db, sqlite3_int64 mailbox,
    const char *folder, long long uidvalidity, time_t now, int *changed,
    struct mq_err *err)
{
	int rc;

	*changed = 0;
	if ((rc = mq_db_begin(db, err)) != MQ_OK)
		return rc;
	rc = mq_db_run(db, err, "UPDATE inbox_folder SET uidvalidity = ?3, "
	    "last_uid = 0 WHERE mailbox_id = ?1 AND folder = ?2 AND "
	    "uidvalidity != ?3", "IsI", mailbox, folder,
	    (sqlite3_int64)uidvalidity);
	if (rc == MQ_OK)
		*changed = sqlite3_changes(db->h) > 0;
	if (rc == MQ_OK)
		rc = mq_db_run(db, err, "INSERT INTO inbox_folder (mailbox_id, "
		    "folder, uidvalidity, read_at) VALUES (?1, ?2, ?3, ?4) ON "
		    "CONFLICT DO UPDATE SET read_at = ?4, error = NULL", "IsII",
		    mailbox, folder, (sqlite3_int64)uidvalidity,
		    (sqlite3_int64)now);
	if (rc == MQ_OK)
		return mq_db_commit(db, err);
	mq_db_rollback(db);
	return rc;
}

int mq_db_inbox_failed(struct mq_db *db, sqlite3_int64 mailbox,
    const char *folder, const char *error, time_t now, struct mq_err *err)
{
	return mq_db_run(db, err, "INSERT INTO inbox_folder (mailbox_id, "
	    "folder, error, read_at) VALUES (?1, ?2, ?3, NULL) ON CONFLICT DO "
	    "UPDATE SET error = ?3", "IssI", mailbox, folder, error,
	    (sqlite3_int64)now);
}

int mq_db_inbound_seen(struct mq_db *db, sqlite3_int64 mailbox,
    const char *folder, long long uidvalidity, const char *ref, int *seen,
    struct mq_err *err)
{
	sqlite3_int64 id;

	return mq_db_get(db, err, &id, seen, "SELECT id FROM inbound WHERE "
	    "mailbox_id = ?1 AND folder = ?2 AND uidvalidity = ?3 AND ref = "
	    "?4", "IsIs", mailbox, folder, (sqlite3_int64)uidvalidity, ref);
}

/* --- unknown messages, found in a Sent folder ---------------------------- */

static void read_unknown(sqlite3_stmt *st, void *elem)
{
	struct mq_db_unknown_send *u = elem;

	u->id = sqlite3_column_int64(st, 0);
	mq_db_text(st, 1, u->message_id, sizeof u->message_id);
	u->claimed_at = (time_t)sqlite3_column_int64(st, 2);
}

int mq_db_unknown_sends(struct mq_db *db, sqlite3_int64 mailbox,
    time_t since, struct mq_db_unknown_send **out, int *n,
    struct mq_err *err)
{
	static const char sql[] = "SELECT id, message_id, claimed_at FROM "
	    "send_log WHERE mailbox_id = ?1 AND status = 'unknown' AND "
	    "message_id IS NOT NULL AND claimed_at >= ?2 ORDER BY claimed_at "
	    "LIMIT 1000";

	return mq_db_rows(db, sql, mailbox, (int)(since > 0 ? since : 0),
	    sizeof **out, read_unknown, (void **)out, n, err);
}

int mq_db_unknown_sent(struct mq_db *db, sqlite3_int64 id,
    const char *evidence, time_t now, int *resolved, struct mq_err *err)
{
	static const char sql[] = "SELECT " SENT_COLS "WHERE s.id = ?1";
	struct sent s;
	int rc;

	*resolved = 0;
	if ((rc = mq_db_begin(db, err)) != MQ_OK)
		return rc;
	if ((rc = read_sent(db, sql, &s, err, "I", id)) == MQ_OK && s.found)
		rc = resolve_sent(db, &s, evidence, now, resolved, err);
	if (rc == MQ_OK)
		return mq_db_commit(db, err);
	mq_db_rollback(db);
	return rc;
}

/* --- the bounce guard ------------------------------------------------------ */

int mq_db_bounce_count(struct mq_db *db, sqlite3_int64 mailbox,
    int *bounced, int *window, struct mq_err *err)
{
	sqlite3_int64 w = 100, b = 0;
	int rc;

	if ((rc = mq_db_get(db, err, &w, NULL, "SELECT bounce_window FROM "
	    "mailbox WHERE id = ?1", "I", mailbox)) == MQ_OK)
		rc = mq_db_get(db, err, &b, NULL, "SELECT count(*) FROM (SELECT "
		    "status FROM send_log WHERE mailbox_id = ?1 AND status IN "
		    "('sent', 'bounced', 'unknown') AND claimed_at >= "
		    "coalesce((SELECT bounce_resumed_at FROM mailbox WHERE id = "
		    "?1), 0) ORDER BY claimed_at DESC LIMIT ?2) WHERE status = "
		    "'bounced'", "II", mailbox, w);
	*bounced = (int)b;
	*window = (int)w;
	return rc;
}

int mq_db_bounced(struct mq_db *db, const char *email, const char *reason,
    sqlite3_int64 mailbox, time_t now, int *paused, struct mq_err *err)
{
	int rc;

	rc = mq_db_never_again(db, email, reason, "bounced", now, NULL, err);
	if (rc == MQ_OK)
		rc = mq_db_bounce_guard(db, mailbox, now, paused, err);
	return rc;
}

int mq_db_bounce_guard(struct mq_db *db, sqlite3_int64 mailbox, time_t now,
    int *paused, struct mq_err *err)
{
	sqlite3_int64 rate = 0;
	int window = 100, bounced = 0;
	char why[200];
	int rc;

	*paused = 0;
	if ((rc = mq_db_get(db, err, &rate, NULL, "SELECT bounce_rate FROM "
	    "mailbox WHERE id = ?1 AND bounce_paused_at IS NULL", "I",
	    mailbox)) != MQ_OK || rate == 0 ||
	    (rc = mq_db_bounce_count(db, mailbox, &bounced, &window, err)) !=
	    MQ_OK)
		return rc;
	if ((sqlite3_int64)bounced * 100 <= rate * window)
		return MQ_OK;
	snprintf(why, sizeof why, "%d hard bounces in its last %d sends "
	    "(more than %lld %%)", bounced, window, (long long)rate);
	rc = mq_db_run(db, err, "UPDATE mailbox SET bounce_paused_at = ?2, "
	    "bounce_paused_why = ?3 WHERE id = ?1 AND bounce_paused_at IS NULL",
	    "IIs", mailbox, (sqlite3_int64)now, why);
	*paused = rc == MQ_OK && sqlite3_changes(db->h) > 0;
	return rc;
}

int mq_db_mailbox_resume(struct mq_db *db, const char *name, time_t now,
    int *was, struct mq_err *err)
{
	sqlite3_int64 paused = 0;
	int found = 0, rc;

	*was = 0;
	if ((rc = mq_db_begin(db, err)) != MQ_OK)
		return rc;
	rc = mq_db_get(db, err, &paused, &found, "SELECT bounce_paused_at IS "
	    "NOT NULL FROM mailbox WHERE name = ?1 AND NOT retired", "s", name);
	if (rc == MQ_OK && !found)
		rc = mq_err_perm(err, EX_DATAERR, "no mailbox '%s'", name);
	if (rc == MQ_OK && paused)
		rc = mq_db_run(db, err, "UPDATE mailbox SET bounce_paused_at = "
		    "NULL, bounce_paused_why = NULL, bounce_resumed_at = ?2 "
		    "WHERE name = ?1", "sI", name, (sqlite3_int64)now);
	if (rc != MQ_OK) {
		mq_db_rollback(db);
		return rc;
	}
	*was = (int)paused;
	return mq_db_commit(db, err);
}

int mq_db_mailbox_retry(struct mq_db *db, const char *name,
    struct mq_err *err)
{
	return mq_db_run(db, err, "UPDATE mailbox SET rest_until = NULL WHERE "
	    "name = ?1 AND failing_since IS NOT NULL", "s", name);
}
