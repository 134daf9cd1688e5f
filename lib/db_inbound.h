/*
 * The store's side of what comes back. An inbound message is recorded
 * under the UNIQUE key of where it was read (mailbox, folder,
 * UIDVALIDITY, UID or Maildir name) in the same short transaction that
 * matches it to what mailq sent and applies its outcome, so a second run,
 * or a run after a crash, changes nothing twice: the key is taken first,
 * and every change is guarded by the statuses it moves from.
 *
 * Matching: a report by the returned message's Message-ID, else by its
 * recipients against this mailbox's sends; anything else by its thread
 * (In-Reply-To, References) against the Message-IDs mailq sent, else by
 * its From against a lead this mailbox wrote to. A copy of a message
 * read before (same Message-ID, or same bytes, in this mailbox) is a
 * duplicate and changes nothing.
 *
 * Outcomes: a hard bounce makes the message 'bounced', the lead bounced
 * in its campaign and suppressed everywhere, its pending messages
 * cancelled, and may trip the mailbox's bounce guard; soft bounces are
 * counted, and soft_limit of one address count as a hard one; an
 * auto-reply moves the lead's pending follow-ups in that campaign to its
 * return date or auto_reply_pause_days later; an unsubscribe suppresses
 * the lead (and the sender's address) everywhere; a reply marks the lead
 * replied and cancels its follow-ups (with stop_on_reply = "domain",
 * those of every lead of the same company domain in the campaign). A
 * match with a message in the 'unknown' state proves it was delivered:
 * it becomes 'sent' (or 'bounced'), and its follow-up is planned.
 */
#ifndef MQ_DB_INBOUND_H
#define MQ_DB_INBOUND_H

#include <time.h>

#include "classify.h"
#include "db.h"
#include "err.h"

/* The id of the mailbox called name, in use (not retired): MQ_PERM with
 * EX_CONFIG when the database does not have it (run mailq-init). */
int mq_db_inbox_mailbox(struct mq_db *db, const char *name,
    sqlite3_int64 *id, struct mq_err *err);

/* Where reading a folder stands: *uidvalidity and *last_uid are 0 when it
 * was never read. */
int mq_db_inbox_cursor(struct mq_db *db, sqlite3_int64 mailbox,
    const char *folder, long long *uidvalidity, long long *last_uid,
    struct mq_err *err);

/* The folder was opened with this UIDVALIDITY: when it differs from the
 * one recorded, reading starts over from the first UID (*changed = 1;
 * what was read before is known by its Message-ID or bytes). Clears the
 * folder's error. */
int mq_db_inbox_opened(struct mq_db *db, sqlite3_int64 mailbox,
    const char *folder, long long uidvalidity, time_t now, int *changed,
    struct mq_err *err);

/* The folder could not be read: error (never a secret) is kept for
 * mailq-stats until a later read succeeds. */
int mq_db_inbox_failed(struct mq_db *db, sqlite3_int64 mailbox,
    const char *folder, const char *error, time_t now, struct mq_err *err);

/* *seen = 1 when the message at this key is already recorded. */
int mq_db_inbound_seen(struct mq_db *db, sqlite3_int64 mailbox,
    const char *folder, long long uidvalidity, const char *ref, int *seen,
    struct mq_err *err);

/* Where a message was read, and the rules for applying it. */
struct mq_inbound_at {
	sqlite3_int64 mailbox;
	const char   *folder;
	long long     uidvalidity;
	long long     uid;            /* 0 in a Maildir: no cursor to move */
	const char   *ref;            /* the UID in decimal or the file name */
	const char   *digest;         /* of its bytes, to know a copy */
	int           headers_only;   /* too big: only its header was read */
	int           soft_limit;     /* soft bounces that count as hard */
	time_t        now;
};

/* What applying it did. */
struct mq_applied {
	int           recorded;       /* 0: another run recorded it first,
	                                 nothing changed */
	const char   *cls;            /* as recorded: a class name of
	                                 classify.h, or "duplicate"; a reply
	                                 or bounce that matches nothing is
	                                 "unmatched". Static. */
	char          reason[400];
	char          campaign[64];   /* what it matched, or "" */
	char          lead[MQ_ADDR_MAX];
	int           stopped;        /* leads whose sequence stopped */
	int           delayed;        /* follow-ups moved by an auto-reply */
	int           resolved;       /* an 'unknown' message proved delivered */
	int           paused;         /* the mailbox's bounce guard tripped */
};

/* Records message m read at *at and applies its outcome, in one
 * transaction. MQ_TEMP when the database stays busy (nothing changed:
 * read it again next run). */
int mq_db_inbound_apply(struct mq_db *db, const struct mq_inbound_at *at,
    const struct mq_inbound *m, struct mq_applied *out, struct mq_err *err);

/* A message in the 'unknown' state that may be in a Sent folder. */
struct mq_db_unknown_send {
	sqlite3_int64 id;             /* send_log row */
	char          message_id[MQ_ID_MAX];
	time_t        claimed_at;
};

/* The mailbox's 'unknown' messages claimed since since, with their
 * Message-IDs, oldest first. *out malloc'd (free it), *n of them. */
int mq_db_unknown_sends(struct mq_db *db, sqlite3_int64 mailbox,
    time_t since, struct mq_db_unknown_send **out, int *n,
    struct mq_err *err);

/* How the evidence of a message found in the mailbox's Sent folder
 * begins (then the folder's name): kept as its attempt's detail, which
 * is how mailq-stats counts these resolutions. */
#define MQ_DB_SENT_EVIDENCE "found in the mailbox's folder "

/* Send-log row id, in the 'unknown' state, was found delivered (evidence
 * says where, e.g. MQ_DB_SENT_EVIDENCE "Sent Items"): it becomes 'sent',
 * with the evidence kept in its attempt history, and its follow-up is
 * planned. *resolved = 0 when it was no longer unknown. One transaction. */
int mq_db_unknown_sent(struct mq_db *db, sqlite3_int64 id,
    const char *evidence, time_t now, int *resolved, struct mq_err *err);

/* The figure the bounce guard judges: *bounced of the mailbox's last
 * *window (its bounce_window) sends since it was last resumed are hard
 * bounces. Reads only; inside the caller's transaction or snapshot. */
int mq_db_bounce_count(struct mq_db *db, sqlite3_int64 mailbox,
    int *bounced, int *window, struct mq_err *err);

/* An address that bounced for good, whether refused at RCPT TO or
 * reported later: never written to again (suppressed, so the lead's other
 * campaigns skip it when they plan), its pending messages cancelled, and
 * the bounce counted by mailbox's bounce guard (*paused: it tripped). In
 * the caller's transaction. */
int mq_db_bounced(struct mq_db *db, const char *email, const char *reason,
    sqlite3_int64 mailbox, time_t now, int *paused, struct mq_err *err);

/* The bounce guard of mailbox: when its hard bounces among its last
 * bounce_window sends since it was last resumed (mq_db_bounce_count) are
 * more than bounce_rate percent of bounce_window, it is paused
 * (*paused = 1) until an operator resumes it. Inside the caller's
 * transaction. */
int mq_db_bounce_guard(struct mq_db *db, sqlite3_int64 mailbox, time_t now,
    int *paused, struct mq_err *err);

/* Resumes a mailbox paused by its bounce guard: MQ_PERM with EX_DATAERR
 * when there is no such mailbox; *was = 0 when it was not paused. */
int mq_db_mailbox_resume(struct mq_db *db, const char *name, time_t now,
    int *was, struct mq_err *err);

/* A failing mailbox that rests is tried at once by the next run (what it
 * logs in with was just mended: mailq-auth), whatever its clock. Nothing
 * when it is not failing or not in the database. */
int mq_db_mailbox_retry(struct mq_db *db, const char *name,
    struct mq_err *err);

#endif
