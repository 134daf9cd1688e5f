/*
 * mailq-stats as Prometheus metrics: the text exposition format, for
 * node_exporter's textfile collector. Every family has its HELP and TYPE
 * lines; campaigns, mailboxes, senders, variants and states are labels,
 * ratios are 0 to 1 and moments epoch seconds. Used by stats_fmt.
 */
#ifndef MQ_STATS_PROM_H
#define MQ_STATS_PROM_H

#include <stdio.h>

#include "stats.h"

/* Writes st to out as metrics. Errors are the stream's (ferror). */
void mq_stats_prom_print(const struct mq_stats *st, FILE *out);

#endif
