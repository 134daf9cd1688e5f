/* Times and days for people: see timefmt.h. */
#include <stdio.h>

#include "err.h"
#include "sched.h"
#include "timefmt.h"

const char *mq_timefmt_at(const char *tz, time_t t, const char *fmt,
    char *buf, size_t len)
{
	if (t == 0 || mq_sched_format(tz != NULL ? tz : "UTC", t, fmt, buf,
	    len, NULL) != MQ_OK)
		snprintf(buf, len, "-");
	return buf;
}

void mq_timefmt_relative(time_t t, time_t now, char *buf, size_t len)
{
	long d = (long)(t > now ? t - now : now - t);
	const char *pre = t > now ? "in " : "", *post = t > now ? "" : " ago";

	if (d == 0)
		snprintf(buf, len, "now");
	else if (d < 60)
		snprintf(buf, len, "%s%ld s%s", pre, d, post);
	else if (d < 3600)
		snprintf(buf, len, "%s%ld min%s", pre, d / 60, post);
	else if (d < 48 * 3600)
		snprintf(buf, len, "%s%ld h %ld min%s", pre, d / 3600,
		    d % 3600 / 60, post);
	else
		snprintf(buf, len, "%s%ld days%s", pre, d / 86400, post);
}

void mq_timefmt_days(int days, char *buf, size_t len)
{
	size_t n = 0;
	int i = 0, j;

	buf[0] = '\0';
	while (i < 7) {
		if (!(days & 1 << i)) {
			i++;
			continue;
		}
		for (j = i; j + 1 < 7 && days & 1 << (j + 1); j++)
			;
		n += snprintf(buf + n, n < len ? len - n : 0, "%s%s", n ? "," : "",
		    mq_sched_day_name(i));
		if (j > i)
			n += snprintf(buf + n, n < len ? len - n : 0, "%s%s",
			    j > i + 1 ? "-" : ",", mq_sched_day_name(j));
		i = j + 1;
	}
	if (n == 0)
		snprintf(buf, len, "none");
}
