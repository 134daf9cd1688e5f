/*
 * Fuzz target: zone files (lib/tz.c), any bytes; the input is the file.
 * A zone that mq_tz_read accepts must give a clock that holds together
 * at every instant tried: before the file's first transition, around each
 * of them (a spread of some SPREAD, found by a reading of the file of
 * the target's own), far past the last, at each change of a walk from
 * one to the next, and near +-MQ_TZ_LIMIT. The properties: a reading's
 * time of day is in 0..86399, its offset in RFC 8536's bounds, its flag 0
 * or 1, its abbreviation not empty, and its date and time are the
 * instant plus the offset; the next change is after the instant, the
 * clock reads alike until just before it (and halfway) and otherwise at
 * it, and when there is none it reads alike a year on; the instant
 * mq_tz_utc gives for a reading is not later than the one it came from,
 * reads it or later, and the second before reads earlier (it is the
 * first); and what is out of range is refused.
 */
#include <string.h>

#include "fuzz.h"
#include "tz.h"

#define DAY     86400LL
#define YEAR    (366 * DAY)
#define SPREAD  32      /* transitions of the file looked at */
#define WALK    24      /* changes followed from one instant */
#define MIN_OFF (-89999)        /* RFC 8536's bounds of an offset */
#define MAX_OFF 93599

static int in_range(long long t)
{
	return t >= -MQ_TZ_LIMIT && t <= MQ_TZ_LIMIT;
}

static int same(const struct mq_tz_local *a, const struct mq_tz_local *b)
{
	return a->off == b->off && a->isdst == b->isdst &&
	    strcmp(a->abbr, b->abbr) == 0;
}

static long long clock_of(const struct mq_tz_local *l)
{
	return l->day * DAY + l->sec;
}

/* The reading at t, in range, which must be one. */
static void reading(const struct mq_tz *z, long long t,
    struct mq_tz_local *l)
{
	if (mq_tz_local(z, (time_t)t, l) != 0)
		fz_fail("%lld is in range, but has no reading", t);
	if (l->sec < 0 || l->sec >= DAY || l->off < MIN_OFF ||
	    l->off > MAX_OFF || (l->isdst != 0 && l->isdst != 1) ||
	    l->abbr == NULL || l->abbr[0] == '\0' ||
	    clock_of(l) != t + l->off)
		fz_fail("at %lld: day %lld sec %d off %ld dst %d abbr '%s'", t,
		    l->day, l->sec, l->off, l->isdst,
		    l->abbr != NULL ? l->abbr : "(null)");
}

/* The reading at t goes back to the first instant that reads it. */
static void back(const struct mq_tz *z, long long t,
    const struct mq_tz_local *l)
{
	struct mq_tz_local a, b;
	long long w = clock_of(l);
	time_t u;

	if (!in_range(w))
		return;
	if (mq_tz_utc(z, w, &u) != 0)
		fz_fail("reading %lld (of %lld) in range, but refused", w, t);
	if ((long long)u > t)
		fz_fail("reading %lld of %lld goes back to %lld, later", w, t,
		    (long long)u);
	if (!in_range((long long)u))     /* an offset before -MQ_TZ_LIMIT */
		return;
	reading(z, u, &a);
	if (clock_of(&a) < w)
		fz_fail("reading %lld of %lld goes back to %lld, which reads "
		    "%lld", w, t, (long long)u, clock_of(&a));
	if (!in_range((long long)u - 1))
		return;
	reading(z, (long long)u - 1, &b);
	if (clock_of(&b) >= w)
		fz_fail("reading %lld of %lld goes back to %lld, but the "
		    "second before reads %lld", w, t, (long long)u,
		    clock_of(&b));
}

/* The next change after t, whose reading is l; 0 if there is none. */
static int next(const struct mq_tz *z, long long t,
    const struct mq_tz_local *l, long long *at)
{
	struct mq_tz_local a, b;
	time_t c;

	if (!mq_tz_next_change(z, (time_t)t, &c)) {
		/* none: a year on, the clock reads as it does at t */
		if (!in_range(t + YEAR))
			return 0;
		reading(z, t + YEAR, &a);
		if (!same(l, &a))
			fz_fail("no change after %lld, but %lld reads %s, "
			    "not %s", t, t + YEAR, a.abbr, l->abbr);
		return 0;
	}
	*at = c;
	if (*at <= t)
		fz_fail("the change after %lld is at %lld", t, *at);
	if (in_range(*at - 1)) {
		reading(z, *at - 1, &a);
		reading(z, t + (*at - 1 - t) / 2, &b);
		if (!same(l, &a) || !same(l, &b))
			fz_fail("the change after %lld is at %lld, but %s "
			    "becomes %s/%s before it", t, *at, l->abbr,
			    b.abbr, a.abbr);
		if (!in_range(*at))
			return 1;
		reading(z, *at, &b);
		if (same(&a, &b))
			fz_fail("the change at %lld changes nothing (%s, %ld)",
			    *at, b.abbr, b.off);
	}
	return 1;
}

/* Every property at t, in range or not. */
static void instant(const struct mq_tz *z, long long t)
{
	struct mq_tz_local l;
	long long at;

	if (!in_range(t))
		return;
	reading(z, t, &l);
	back(z, t, &l);
	next(z, t, &l, &at);
}

/* From t, WALK changes on, each one checked. */
static void walk(const struct mq_tz *z, long long t)
{
	struct mq_tz_local l;
	int i;

	for (i = 0; i < WALK && in_range(t); i++) {
		reading(z, t, &l);
		back(z, t, &l);
		if (!next(z, t, &l, &t))
			break;
		instant(z, t - 1);
	}
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* Far beyond the range, and still far from overflowing. */
static long long clamp(long long t)
{
	return t < -2 * MQ_TZ_LIMIT ? -2 * MQ_TZ_LIMIT :
	    t > 2 * MQ_TZ_LIMIT ? 2 * MQ_TZ_LIMIT : t;
}

/* The transitions of an accepted file, read here: the 32-bit block of a
 * version 1 file, else the 64-bit one after it. Up to max of them, spread
 * over all, into at; returns how many, and the last of all in *last.
 * Times beyond twice the range are brought to it. */
static int transitions(const uint8_t *p, size_t len, long long *at,
    int max, long long *last)
{
	size_t off = 0, n;
	uint32_t times = 0, i;
	int size = 4, k = 0;

	for (;;) {
		if (len - off < 44)
			return 0;
		times = be32(p + off + 32);
		n = (size_t)times * (size + 1) + be32(p + off + 36) * 6 +
		    be32(p + off + 40) + be32(p + off + 28) * (size + 4) +
		    be32(p + off + 24) + be32(p + off + 20);
		if (size == 8 || p[4] < '2')
			break;
		off += 44 + n;
		size = 8;
	}
	if (times == 0 || 44 + (size_t)times * size > len - off)
		return 0;
	p += off + 44;
	for (i = 0; i < times; i++) {
		long long t = size == 4 ? (int32_t)be32(p + 4 * i) :
		    (long long)((uint64_t)be32(p + 8 * i) << 32 |
		    be32(p + 8 * i + 4));

		t = clamp(t);
		if (i + 1 == times)
			*last = t;
		/* the first, the last and an even spread between */
		if (k < max && (i == 0 || i + 1 == times ||
		    (uint64_t)i * max / times != (uint64_t)(i + 1) * max /
		    times))
			at[k++] = t;
	}
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mq_tz_local l;
	struct mq_tz *z;
	long long at[SPREAD + 2], last = 0, t;
	time_t u;
	int n, i;

	if ((z = mq_tz_read(data, size)) == NULL)
		return 0;
	n = transitions(data, size, at, SPREAD + 2, &last);
	for (i = 0; i < n; i++)
		for (t = at[i] - 1; t <= at[i] + 1; t++)
			instant(z, t);
	if (n > 0) {
		instant(z, at[0] - DAY);
		instant(z, at[0] - 100 * YEAR);
		walk(z, at[0] - 1);
		walk(z, last);
	}
	walk(z, -MQ_TZ_LIMIT);
	walk(z, 0);
	walk(z, 1767225600);            /* 2026 */
	for (t = last + YEAR; t < last + 1000 * YEAR; t += 37 * YEAR)
		instant(z, t);
	walk(z, last + 10000 * YEAR);
	walk(z, MQ_TZ_LIMIT - 2 * YEAR);
	instant(z, MQ_TZ_LIMIT - DAY);
	instant(z, MQ_TZ_LIMIT);
	instant(z, -MQ_TZ_LIMIT + 1);
	/* and no further */
	if (mq_tz_local(z, MQ_TZ_LIMIT + 1, &l) != -1 ||
	    mq_tz_local(z, -MQ_TZ_LIMIT - 1, &l) != -1 ||
	    mq_tz_utc(z, MQ_TZ_LIMIT + 1, &u) != -1 ||
	    mq_tz_utc(z, -MQ_TZ_LIMIT - 1, &u) != -1 ||
	    mq_tz_next_change(z, MQ_TZ_LIMIT + 1, &u) != 0)
		fz_fail("an instant or reading out of range is accepted");
	mq_tz_free(z);
	return 0;
}
