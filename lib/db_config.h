/*
 * Applying the config to the store: senders, mailboxes, campaigns, steps
 * and variants are added or updated to match the file, in one transaction.
 * A row that left the file is deleted when nothing refers to it; when it
 * has history (leads, queue items, sends) it is kept as retired, and only
 * with force: otherwise the whole apply is refused and nothing changes.
 * Running it twice with the same config changes nothing.
 */
#ifndef MQ_DB_CONFIG_H
#define MQ_DB_CONFIG_H

#include <time.h>

#include "conf.h"
#include "db.h"
#include "err.h"

enum mq_db_kind {
	MQ_KIND_SENDER, MQ_KIND_MAILBOX, MQ_KIND_CAMPAIGN, MQ_KIND_STEP,
	MQ_KIND_VARIANT, MQ_KIND_N
};

struct mq_db_changes {
	int added[MQ_KIND_N];
	int changed[MQ_KIND_N];
	int removed[MQ_KIND_N];
	int retired[MQ_KIND_N];
};

/* "sender", "mailbox", ... for messages. */
const char *mq_db_kind_name(enum mq_db_kind kind);

/* Makes the database match conf, counting what changed into *ch. Refuses
 * (MQ_PERM, EX_CONFIG) to retire a row with history unless force. */
int mq_db_config_apply(struct mq_db *db, const struct mq_conf *conf,
    int force, time_t now, struct mq_db_changes *ch, struct mq_err *err);

#endif
