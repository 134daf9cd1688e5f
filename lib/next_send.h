/*
 * When a campaign's next message can really go: the earliest message due
 * (or a lead waiting to be planned), no earlier than the campaign's pace,
 * on a day when neither the campaign nor its sender is at its limit, when
 * one of its mailboxes is not resting and not at its own limit, and
 * inside the window (days, hours, holidays, in the campaign's zone). One
 * function, used by every view (mailq-campaign list and show,
 * mailq-stats), so they agree. Reads only.
 */
#ifndef MQ_NEXT_SEND_H
#define MQ_NEXT_SEND_H

#include <time.h>

#include "db.h"
#include "db_campaign.h"
#include "err.h"

/* The moment into *at, or 0 when the campaign is not sending (not
 * scheduled or running, nothing left, no usable mailbox, a window that
 * never opens). MQ_TEMP/MQ_PERM on a database error. */
int mq_next_send(struct mq_db *db, const struct mq_db_campaign *c,
    time_t now, time_t *at, struct mq_err *err);

#endif
