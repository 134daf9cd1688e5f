/*
 * The three renderings of one mq_stats collection: a terminal table
 * (columns aligned by display width, so UTF-8 names line up), JSON (the
 * stable schema in docs/stats.schema.json) and the Prometheus text
 * exposition format (for node_exporter's textfile collector). The library
 * writes only to the stream or file the program names; a file is replaced
 * atomically (a temporary file in the same directory, then rename), so a
 * scraper never reads half of it.
 */
#ifndef MQ_STATS_FMT_H
#define MQ_STATS_FMT_H

#include <stdio.h>

#include "err.h"
#include "stats.h"

enum mq_stats_fmt { MQ_STATS_TABLE, MQ_STATS_JSON, MQ_STATS_PROMETHEUS };

/* The JSON schema version written as "version". */
#define MQ_STATS_JSON_VERSION 1

/* Terminal columns taken by UTF-8 text s: combining marks and zero-width
 * characters take none, East Asian wide characters and emoji two, any
 * other character (and any byte that is not valid UTF-8) one. */
int mq_stats_fmt_width(const char *s);

/* Copies s into buf (len bytes), cut to at most max columns, whole
 * characters only, with "…" at the end when it was cut. */
void mq_stats_fmt_fit(const char *s, int max, char *buf, size_t len);

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
