/*
 * mailq-stats as JSON: one document in the stable schema of
 * docs/stats.schema.json (its "version" is MQ_STATS_JSON_VERSION), for
 * scripts and dashboards; epochs with their local time beside them,
 * absent values as null. Used by stats_fmt.
 */
#ifndef MQ_STATS_JSON_H
#define MQ_STATS_JSON_H

#include <stdio.h>

#include "stats.h"

/* The JSON schema version written as "version". */
#define MQ_STATS_JSON_VERSION 1

/* Writes st to out as one JSON document. Errors are the stream's. */
void mq_stats_json_print(const struct mq_stats *st, FILE *out);

#endif
