/* Error results: see err.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "err.h"

static void vset(struct mq_err *err, int ex, const char *fmt, va_list ap)
{
	if (err == NULL)
		return;
	err->ex = ex;
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
}

int mq_err_perm(struct mq_err *err, int ex, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(err, ex, fmt, ap);
	va_end(ap);
	return MQ_PERM;
}

int mq_err_temp(struct mq_err *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(err, EX_TEMPFAIL, fmt, ap);
	va_end(ap);
	return MQ_TEMP;
}

void mq_err_prefix(struct mq_err *err, const char *fmt, ...)
{
	char old[sizeof err->msg];
	size_t n;
	va_list ap;

	if (err == NULL)
		return;
	memcpy(old, err->msg, sizeof old);
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	n = strlen(err->msg);
	if (n + 2 < sizeof err->msg) {
		memcpy(err->msg + n, ": ", 3);
		n += 2;
		strncat(err->msg + n, old, sizeof err->msg - n - 1);
	}
}

void mq_err_clear(struct mq_err *err)
{
	if (err == NULL)
		return;
	err->ex = 0;
	err->msg[0] = '\0';
}

int mq_err_exit(int rc, const struct mq_err *err)
{
	if (rc == MQ_OK)
		return EX_OK;
	if (rc == MQ_TEMP)
		return EX_TEMPFAIL;
	return err != NULL && err->ex != 0 ? err->ex : EX_SOFTWARE;
}
