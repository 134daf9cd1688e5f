/*
 * A claim's data phase and its outcome: see db_outcome.h. Each is one
 * short transaction guarded by the claim (status and owner), so that
 * overlapping runs and mailq-reclaim cannot both act on one message.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "db_inbound.h"
#include "db_outcome.h"
#include "mailbox.h"
#include "sched.h"

/* The guard of every write that closes or advances a claim. */
#define OURS "id = ?1 AND status = 'sending' AND claim_host = ?2 AND " \
	"claim_pid = ?3 AND claim_start = ?4"

static int phase_data_tx(struct mq_db *db, const struct mq_claim *c,
    const struct mq_owner *owner, const char *message_id,
    const char *subject, time_t now, struct mq_err *err)
{
	int rc;

	if ((rc = mq_db_begin(db, err)) != MQ_OK)
		return rc;
	rc = mq_db_run(db, err, "UPDATE queue SET phase = 'data', "
	    "updated_at = ?5 WHERE " OURS, "IsIII", c->queue_id, owner->host,
	    (sqlite3_int64)owner->pid, (sqlite3_int64)owner->start,
	    (sqlite3_int64)now);
	if (rc == MQ_OK && sqlite3_changes(db->h) != 1)
		rc = mq_err_perm(err, EX_SOFTWARE, "claim of %s is no longer "
		    "ours", c->email);
	if (rc == MQ_OK)
		rc = mq_db_run(db, err, "UPDATE send_log SET message_id = ?2, "
		    "subject = ?3 WHERE id = ?1", "Iss", c->send_log_id,
		    message_id, subject);
	if (rc == MQ_OK)
		return mq_db_commit(db, err);
	mq_db_rollback(db);
	return rc;
}

/* MQ_TEST_DATA_PHASE_NORMAL exists only for the power-loss test
 * (tests/e2e/powerloss.sh), which builds a mailq-tick with it to show that
 * without this sync a power cut does send messages twice. */
#ifdef MQ_TEST_DATA_PHASE_NORMAL
#define DATA_PHASE_SYNC "PRAGMA synchronous = NORMAL"
#else
#define DATA_PHASE_SYNC "PRAGMA synchronous = FULL"
#endif

int mq_db_phase_data(struct mq_db *db, const struct mq_claim *c,
    const struct mq_owner *owner, const char *message_id,
    const char *subject, time_t now, struct mq_err *err)
{
	int rc;

	/* this commit is what keeps a message from being sent twice: it
	 * must survive a power cut, not only a crash, so it waits for the
	 * disk (the others need not: a lost claim sent nothing, a lost
	 * outcome leaves 'data', which becomes unknown) */
	if ((rc = mq_db_run(db, err, DATA_PHASE_SYNC, "")) != MQ_OK)
		return rc;
	rc = phase_data_tx(db, c, owner, message_id, subject, now, err);
	mq_db_run(db, NULL, "PRAGMA synchronous = NORMAL", "");  /* speed only */
	return rc;
}

/* Per outcome: the guarded queue change, and the states it leaves in the
 * send log, the attempt history and the lead (NULL: lead unchanged). */
static const struct outcome_sql {
	const char *queue;
	const char *log_status;
	const char *attempt;
	const char *lead;
} outcomes[] = {
	[MQ_OUT_SENT] = { "UPDATE queue SET status = 'sent', phase = 'done', "
	    "last_error = NULL, updated_at = ?5 WHERE " OURS,
	    "sent", "sent", NULL },
	[MQ_OUT_RETRY] = { "UPDATE queue SET status = 'pending', phase = NULL, "
	    "scheduled_at = ?8, last_error = ?7, updated_at = ?5 WHERE " OURS,
	    "retry", "temporary", NULL },
	[MQ_OUT_FAILED] = { "UPDATE queue SET status = 'failed', phase = "
	    "'done', last_error = ?7, updated_at = ?5 WHERE " OURS,
	    "failed", "permanent", "failed" },
	[MQ_OUT_BOUNCED] = { "UPDATE queue SET status = 'bounced', phase = "
	    "'done', last_error = ?7, updated_at = ?5 WHERE " OURS,
	    "bounced", "bounced", "bounced" },
	[MQ_OUT_MAILBOX] = { "UPDATE queue SET status = 'pending', phase = "
	    "NULL, attempts = attempts - 1, last_error = ?7, updated_at = ?5 "
	    "WHERE " OURS, "retry", "mailbox", NULL },
	[MQ_OUT_UNKNOWN] = { "UPDATE queue SET status = 'unknown', last_error "
	    "= ?7, updated_at = ?5 WHERE " OURS, "unknown", "unknown",
	    "unknown" },
};

/* The lead's thread becomes its mailbox's with its first message that
 * may have reached it: appended to the lead's own update when the claim
 * found the thread without one. */
#define THREAD ", mailbox_id = coalesce(mailbox_id, ?5)"

/* After a send: the next step is planned, or the lead is done. */
static int after_sent(struct mq_db *db, const struct mq_claim *c,
    const struct mq_result *r, time_t followup_at, struct mq_recorded *rec,
    struct mq_err *err)
{
	static const char *const done[] = {
		"UPDATE campaign_lead SET status = 'done', updated_at = ?3 "
		    "WHERE campaign_id = ?1 AND lead_id = ?2 AND status = "
		    "'active'",
		"UPDATE campaign_lead SET status = CASE WHEN status = 'active' "
		    "THEN 'done' ELSE status END, updated_at = CASE WHEN status "
		    "= 'active' THEN ?3 ELSE updated_at END" THREAD " WHERE "
		    "campaign_id = ?1 AND lead_id = ?2 AND (status = 'active' "
		    "OR mailbox_id IS NULL)",
	};
	static const char *const next[] = {
		"UPDATE campaign_lead SET next_step = ?4 + 1, updated_at = ?3 "
		    "WHERE campaign_id = ?1 AND lead_id = ?2",
		"UPDATE campaign_lead SET next_step = ?4 + 1, updated_at = ?3"
		    THREAD " WHERE campaign_id = ?1 AND lead_id = ?2",
	};
	int rc;

	rc = mq_db_run(db, err, "UPDATE mailbox SET failing_since = NULL, "
	    "last_error = NULL, rest_until = NULL, fail_count = 0, fail_conf "
	    "= NULL WHERE id = ?1 AND failing_since IS NOT NULL", "I",
	    c->mailbox_id);
	rec->mailbox_back = rc == MQ_OK && sqlite3_changes(db->h) > 0;
	if (rc != MQ_OK)
		return rc;
	if (followup_at == 0)
		return mq_db_run(db, err, done[!c->thread_set], "IIIiI",
		    c->campaign, c->lead_id, (sqlite3_int64)r->now, c->step,
		    c->mailbox_id);
	rc = mq_db_run(db, err, "INSERT INTO queue (campaign_id, lead_id, step, "
	    "variant_id, scheduled_at, updated_at) SELECT ?1, ?2, ?3 + 1, "
	    "(SELECT v.id FROM variant v JOIN step s ON s.id = v.step_id "
	    "WHERE s.campaign_id = ?1 AND s.number = ?3 + 1 AND NOT v.retired "
	    "ORDER BY v.letter = (SELECT letter FROM campaign_lead WHERE "
	    "campaign_id = ?1 AND lead_id = ?2) DESC, v.letter LIMIT 1), ?4, ?5 "
	    "FROM campaign_lead cl WHERE cl.campaign_id = ?1 AND "
	    "cl.lead_id = ?2 AND cl.status = 'active' ON CONFLICT DO NOTHING",
	    "IIiII", c->campaign, c->lead_id, c->step,
	    (sqlite3_int64)followup_at, (sqlite3_int64)r->now);
	if (rc == MQ_OK)
		rc = mq_db_run(db, err, next[!c->thread_set], "IIIiI",
		    c->campaign, c->lead_id, (sqlite3_int64)r->now, c->step,
		    c->mailbox_id);
	return rc;
}

/* The lead's state after an outcome that ends its thread (q->lead). */
static int lead_ends(struct mq_db *db, const struct mq_claim *c,
    const struct mq_result *r, const char *status, struct mq_err *err)
{
	int thread = !c->thread_set && (r->outcome == MQ_OUT_UNKNOWN ||
	    r->outcome == MQ_OUT_BOUNCED);

	return mq_db_run(db, err, thread ? "UPDATE campaign_lead SET status = "
	    "?4, updated_at = ?3" THREAD " WHERE campaign_id = ?1 AND lead_id "
	    "= ?2" : "UPDATE campaign_lead SET status = ?4, updated_at = ?3 "
	    "WHERE campaign_id = ?1 AND lead_id = ?2", "IIIsI", c->campaign,
	    c->lead_id, (sqlite3_int64)r->now, status, c->mailbox_id);
}

/* The mailbox failed: it rests (see mailbox.h). */
static int mailbox_failed(struct mq_db *db, const struct mq_claim *c,
    const struct mq_result *r, struct mq_recorded *rec, struct mq_err *err)
{
	sqlite3_int64 was = 1;
	int rc;

	rc = mq_db_get(db, err, &was, NULL, "SELECT failing_since IS NOT NULL "
	    "FROM mailbox WHERE id = ?1", "I", c->mailbox_id);
	if (rc == MQ_OK)
		rc = mq_db_run(db, err, "UPDATE mailbox SET failing_since = "
		    "coalesce(failing_since, ?2), last_error = ?3, fail_count = "
		    "fail_count + 1, rest_until = ?2 + CASE fail_count WHEN 0 "
		    "THEN ?5 WHEN 1 THEN ?6 ELSE ?7 END, fail_conf = ?4 "
		    "WHERE id = ?1", "IIssiii", c->mailbox_id,
		    (sqlite3_int64)r->now, r->reply, r->fingerprint,
		    mq_mailbox_rest(1), mq_mailbox_rest(2), mq_mailbox_rest(3));
	rec->mailbox_failed = rc == MQ_OK && !was;
	return rc;
}

static int record_locked(struct mq_db *db, const struct mq_claim *c,
    const struct mq_owner *o, const struct mq_result *r, time_t followup_at,
    struct mq_recorded *rec, struct mq_err *err)
{
	const struct outcome_sql *q = &outcomes[r->outcome];
	const char *attempt = q->attempt;
	sqlite3_int64 now = r->now;
	int rc;

	rc = mq_db_run(db, err, q->queue, "IsIIIisI", c->queue_id, o->host,
	    (sqlite3_int64)o->pid, (sqlite3_int64)o->start, now, r->code,
	    r->reply, (sqlite3_int64)r->retry_at);
	if (rc != MQ_OK || (rec->stale = sqlite3_changes(db->h) == 0))
		return rc;
	if (r->outcome == MQ_OUT_FAILED && r->exhausted)
		attempt = "temporary";      /* out of retries */
	rc = mq_db_run(db, err, "UPDATE send_log SET status = ?2, smtp_code = "
	    "?3, smtp_reply = ?4, sent_at = CASE WHEN ?2 = 'sent' THEN ?5 ELSE "
	    "sent_at END WHERE id = ?1", "IsisI", c->send_log_id, q->log_status,
	    r->code, r->reply, now);
	if (rc == MQ_OK)
		rc = mq_db_run(db, err, "UPDATE attempt SET outcome = ?2, "
		    "ended_at = ?3, smtp_code = ?4, detail = ?5 WHERE id = ?1",
		    "IsIis", c->attempt_id, attempt, now, r->code, r->reply);
	if (rc == MQ_OK && q->lead != NULL)
		rc = lead_ends(db, c, r, q->lead, err);
	if (rc == MQ_OK && r->outcome == MQ_OUT_SENT)
		rc = after_sent(db, c, r, followup_at, rec, err);
	/* a refusal of the recipient: never again, from any campaign */
	if (rc == MQ_OK && r->outcome == MQ_OUT_BOUNCED)
		rc = mq_db_bounced(db, c->email, r->reply != NULL ?
		    r->reply : "bounced", c->mailbox_id, r->now,
		    &rec->mailbox_paused, err);
	if (rc == MQ_OK && r->outcome == MQ_OUT_MAILBOX && !r->transient)
		rc = mailbox_failed(db, c, r, rec, err);
	return rc;
}

int mq_db_record(struct mq_db *db, const struct mq_sched *sched,
    const struct mq_claim *c, const struct mq_owner *owner,
    const struct mq_result *r, struct mq_recorded *rec, struct mq_err *err)
{
	time_t followup_at = 0;
	int rc;

	memset(rec, 0, sizeof *rec);
	/* the next step: its wait after this one, inside the window */
	if (r->outcome == MQ_OUT_SENT && c->next_wait >= 0 &&
	    (rc = mq_sched_next_open(sched, r->now + (time_t)c->next_wait *
	    86400, &followup_at, err)) != MQ_OK)
		return rc;
	if ((rc = mq_db_begin(db, err)) != MQ_OK)
		return rc;
	rc = record_locked(db, c, owner, r, followup_at, rec, err);
	if (rc == MQ_OK && !rec->stale)
		return mq_db_commit(db, err);
	mq_db_rollback(db);
	return rc;
}

