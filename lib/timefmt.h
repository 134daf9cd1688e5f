/*
 * Times and days written for people, as the terminal reports of
 * mailq-campaign (report.h) and mailq-stats (stats_table.h) show them:
 * a moment in a time zone, how far it is from now, a weekday mask. The
 * zone arithmetic is lib/sched's (mq_sched_format); this module only
 * words its results.
 */
#ifndef MQ_TIMEFMT_H
#define MQ_TIMEFMT_H

#include <stddef.h>
#include <time.h>

/* Writes t in the time zone tz (NULL: UTC) with the strftime format fmt
 * into buf (len bytes), or "-" when t is 0 or cannot be written so.
 * Returns buf. */
const char *mq_timefmt_at(const char *tz, time_t t, const char *fmt,
    char *buf, size_t len);

/* "in 2 h 5 min", "in 40 s", "now", "3 min ago" for t - now. */
void mq_timefmt_relative(time_t t, time_t now, char *buf, size_t len);

/* "Mon-Fri", "Mon,Wed,Fri", "Sat-Sun", "none" for a weekday mask (bit 0:
 * Monday). */
void mq_timefmt_days(int days, char *buf, size_t len);

#endif
