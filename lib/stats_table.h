/*
 * mailq-stats for a terminal: tables of campaigns, what came back,
 * mailboxes, senders and health; with a campaign asked for, its steps,
 * failures, upcoming and recent messages; with --inbox, the inbound
 * messages. Columns are aligned by display width (text.h); times are in
 * each campaign's zone, or the config's. Used by stats_fmt.
 */
#ifndef MQ_STATS_TABLE_H
#define MQ_STATS_TABLE_H

#include <stdio.h>

#include "stats.h"

/* Writes st to out as tables. Errors are the stream's (ferror). */
void mq_stats_table_print(const struct mq_stats *st, FILE *out);

#endif
