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
 * (campaign_id or mailbox_id, each indexed with started_at) is id. */
#define MQ_DAY_ATTEMPTS(col, id) "(SELECT count(*) FROM attempt a WHERE " \
	"a." col " = " id " AND a.started_at >= ?2 AND " MQ_DAY_COUNTED ")"

/* The same for a sender, whose attempts have no index of their own: they
 * are found through every mailbox's attempts of the day, which costs the
 * day's attempts once (a run counts a sender's day once a day; senders
 * are few). Every attempt has a mailbox, and a mailbox with history is
 * never deleted. */
#define MQ_DAY_SENDER_ATTEMPTS(id) "(SELECT count(*) FROM mailbox m CROSS " \
	"JOIN attempt a ON a.mailbox_id = m.id AND a.started_at >= ?2 " \
	"WHERE a.sender_id = " id " AND " MQ_DAY_COUNTED ")"

#endif
