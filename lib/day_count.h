/*
 * What counts against a day's limit, as SQL text shared by the claim
 * (db_claim.c) and mailq-stats (db_stats.c): attempts that reached, or
 * may have reached, the recipient's server. The triggers that keep the
 * day_count table (upgrades/6.sql) say the same: changing this needs a
 * new upgrade that replaces them.
 */
#ifndef MQ_DAY_COUNT_H
#define MQ_DAY_COUNT_H

#define MQ_DAY_COUNTED "(a.outcome IS NULL OR a.outcome IN " \
	"('sent', 'unknown', 'bounced', 'permanent'))"

/* The counted attempts since ?2 (a day's start) whose column col
 * (campaign_id, sender_id or mailbox_id) is id. Only a mailbox's attempts
 * are indexed by day (attempt_mailbox_day); a campaign's or a sender's
 * are found through every mailbox's, which costs a day's attempts once:
 * every attempt has a mailbox, and a mailbox with history is never
 * deleted. */
#define MQ_DAY_ATTEMPTS(col, id) "(SELECT count(*) FROM mailbox m CROSS " \
	"JOIN attempt a ON a.mailbox_id = m.id AND a.started_at >= ?2 " \
	"WHERE a." col " = " id " AND " MQ_DAY_COUNTED ")"
#define MQ_DAY_MAILBOX_ATTEMPTS(id) "(SELECT count(*) FROM attempt a " \
	"WHERE a.mailbox_id = " id " AND a.started_at >= ?2 AND " \
	MQ_DAY_COUNTED ")"

#endif
