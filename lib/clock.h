/*
 * One clock. Every stored time is UTC epoch seconds. MAILQ_NOW overrides
 * the system clock for tests and dry runs: epoch seconds ("1795500000") or
 * ISO 8601 ("2026-11-24T10:00:00Z", "2026-11-24T10:00+01:00",
 * "2026-11-24 10:00:00"; no zone means UTC).
 */
#ifndef MQ_CLOCK_H
#define MQ_CLOCK_H

#include <time.h>

#include "err.h"

/* Stores the current time in *now. MAILQ_NOW, when set, is the time of the
 * first call; the clock runs on from there. MQ_PERM (EX_USAGE) if MAILQ_NOW
 * is set but unreadable. */
int mq_clock_now(time_t *now, struct mq_err *err);

/* The same clock in milliseconds since the epoch. */
int mq_clock_now_ms(long long *now, struct mq_err *err);

/* Parses epoch seconds or ISO 8601 as above into *t: a real calendar date
 * and time from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z (epoch
 * 0 to 253402300799). MQ_PERM (EX_USAGE) on anything else. */
int mq_clock_parse(const char *s, time_t *t, struct mq_err *err);

/* Writes t as "2026-11-24T09:00:00Z" into buf (at least 21 bytes). */
void mq_clock_iso(time_t t, char *buf, size_t len);

#endif
