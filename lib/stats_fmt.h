/*
 * Where mailq-stats goes and in which of its three renderings: a terminal
 * table (stats_table.h), JSON (stats_json.h) or Prometheus metrics
 * (stats_prom.h). The library writes only to the stream or file the
 * program names; a file is replaced atomically (a temporary file in the
 * same directory, then rename), so a scraper never reads half of it.
 */
#ifndef MQ_STATS_FMT_H
#define MQ_STATS_FMT_H

#include <stdio.h>

#include "err.h"
#include "stats.h"

enum mq_stats_fmt { MQ_STATS_TABLE, MQ_STATS_JSON, MQ_STATS_PROMETHEUS };

/* Writes st in format f to out. MQ_PERM (EX_IOERR) if writing failed. */
int mq_stats_fmt_print(const struct mq_stats *st, enum mq_stats_fmt f,
    FILE *out, struct mq_err *err);

/* Writes st in format f to path atomically, mode 0644: a temporary file
 * in the same directory, synced, then renamed over path. MQ_PERM with
 * EX_CANTCREAT when the file cannot be created, EX_IOERR when writing
 * fails; path is then unchanged. */
int mq_stats_fmt_file(const struct mq_stats *st, enum mq_stats_fmt f,
    const char *path, struct mq_err *err);

#endif
