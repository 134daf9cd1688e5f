/*
 * What becomes of a claimed message: the data phase, recorded and synced
 * just before its first body byte, and its outcome, recorded in one
 * transaction guarded by the claim it closes, with the next step planned
 * when it was sent. Used by the delivery.
 */
#ifndef MQ_DB_OUTCOME_H
#define MQ_DB_OUTCOME_H

#include <time.h>

#include "db.h"
#include "db_claim.h"
#include "err.h"
#include "owner.h"
#include "sched.h"

/* Just before the first body byte: phase 'data', the Message-ID and the
 * rendered subject, in a transaction of its own, guarded by the claim,
 * committed to disk (synchronous = FULL) so that a power cut cannot undo
 * it. MQ_PERM if the claim is no longer ours; the caller must then not
 * send. */
int mq_db_phase_data(struct mq_db *db, const struct mq_claim *c,
    const struct mq_owner *owner, const char *message_id,
    const char *subject, time_t now, struct mq_err *err);

enum mq_outcome {
	MQ_OUT_SENT,       /* delivered */
	MQ_OUT_RETRY,      /* temporary: back to pending at retry_at */
	MQ_OUT_FAILED,     /* permanent, or out of retries */
	MQ_OUT_BOUNCED,    /* recipient refused: suppressed, follow-ups cancelled */
	MQ_OUT_MAILBOX,    /* the mailbox failed: back to pending, not counted */
	MQ_OUT_UNKNOWN     /* may have been delivered: never resent automatically */
};

struct mq_result {
	enum mq_outcome outcome;
	int             code;          /* SMTP reply code or 0 */
	const char     *reply;         /* reply or error text */
	time_t          now;
	time_t          retry_at;      /* MQ_OUT_RETRY */
	int             exhausted;     /* MQ_OUT_FAILED: out of retries */
	const char     *fingerprint;   /* MQ_OUT_MAILBOX: the mailbox's, or
	                                  NULL */
	int             transient;     /* MQ_OUT_MAILBOX: only this time (its
	                                  token server was out of reach): the
	                                  mailbox is not marked failing */
};

/* What recording an outcome did beyond the message. */
struct mq_recorded {
	int stale;          /* the claim was no longer ours (someone reclaimed
	                       it): nothing changed */
	int mailbox_failed; /* the mailbox was not failing and now is */
	int mailbox_back;   /* the mailbox was failing and works again */
	int mailbox_paused; /* a bounce tripped the mailbox's bounce guard */
};

/* Records the outcome of claim c in one transaction, guarded by the claim
 * still being ours, and says what it did in *rec. MQ_OUT_SENT plans the
 * next step, if the campaign has one, due its wait after r->now at the
 * next time sched's window is open. MQ_OUT_MAILBOX also
 * marks the mailbox failing with the reply (never a secret) and sets it
 * resting (mailbox.h), under the fingerprint r->fingerprint; MQ_OUT_SENT
 * clears that mark. A message that reached the lead (sent, unknown,
 * bounced) fixes the mailbox of the lead's thread if it had none. */
int mq_db_record(struct mq_db *db, const struct mq_sched *sched,
    const struct mq_claim *c, const struct mq_owner *owner,
    const struct mq_result *r, struct mq_recorded *rec, struct mq_err *err);

#endif
