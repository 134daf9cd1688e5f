/*
 * The classification's strings: see field.h. A message may bring any
 * bytes; what reaches struct mq_inbound is always valid UTF-8 on one
 * line, NUL-terminated within its buffer, so that the store and the
 * terminal can take it as it is.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "field.h"

void mq_field_put(char *dst, size_t cap, const char *s)
{
	size_t i = 0, n;
	unsigned char c;

	if (cap == 0)
		return;
	for (; s != NULL && *s != '\0'; s += n) {
		c = (unsigned char)*s;
		n = 1;
		if (c >= 0x80 && (gint)g_utf8_get_char_validated(s, -1) >= 0)
			n = (size_t)g_utf8_skip[c];
		if (i + n >= cap)
			break;
		if (c < ' ' || c == 127)
			dst[i] = ' ';
		else if (c >= 0x80 && n == 1)
			dst[i] = '?';
		else
			memcpy(dst + i, s, n);
		i += n;
	}
	dst[i] = '\0';
}

void mq_field_lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = g_ascii_tolower(*s);
}

void mq_field_addr(char *dst, size_t cap, const char *s)
{
	const char *semi = strchr(s, ';');
	char tmp[MQ_ADDR_MAX];
	size_t n;

	if (semi != NULL)
		s = semi + 1;
	s += strspn(s, " \t\r\n<");
	n = strcspn(s, " \t\r\n>");
	snprintf(tmp, sizeof tmp, "%.*s", (int)(n < sizeof tmp ? n :
	    sizeof tmp - 1), s);
	mq_field_put(dst, cap, tmp);
	mq_field_lower(dst);
}

int mq_field_verdict(struct mq_inbound *out, enum mq_class cls,
    const char *fmt, ...)
{
	char tmp[sizeof out->reason];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	out->cls = cls;
	mq_field_put(out->reason, sizeof out->reason, tmp[0] != '\0' ? tmp :
	    "?");
	return 1;
}
