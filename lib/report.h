/*
 * Human-readable campaign reports for terminals: the table of all
 * campaigns and one campaign in detail. Output goes to the stream the
 * caller gives; times are shown in each campaign's own time zone.
 */
#ifndef MQ_REPORT_H
#define MQ_REPORT_H

#include <stdio.h>
#include <time.h>

#include "campaign.h"
#include "db.h"
#include "db_campaign.h"
#include "err.h"

/* One line per campaign under a header line. */
int mq_report_campaigns(struct mq_db *db, time_t now, FILE *out,
    struct mq_err *err);

/* Campaign name in detail. MQ_PERM (EX_NOINPUT) if there is none. */
int mq_report_campaign(struct mq_db *db, const char *name, time_t now,
    FILE *out, struct mq_err *err);

/* What a control command did, for the operator: "q4: draft -> scheduled"
 * and, for start and resume, when the first message goes. */
void mq_report_control(FILE *out, const char *name,
    enum mq_campaign_action action, const struct mq_campaign_result *r,
    time_t now);

#endif
