/*
 * Text rules: see text.h. The decoder is the one reading of UTF-8; the
 * checks, the width and the JSON of mailq-stats all go through it, so
 * what one part calls a character no other part calls a broken byte.
 */
#include <stdio.h>
#include <string.h>

#include "text.h"

int mq_text_utf8_next(const char *s, size_t n, long *cp)
{
	const unsigned char *p = (const unsigned char *)s;
	static const long min[] = { 0, 0x80, 0x800, 0x10000 };
	size_t more, k;
	long v;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		more = 1, v = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		more = 2, v = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		more = 3, v = p[0] & 0x07;
	else
		goto bad;
	if (n <= more)
		goto bad;
	for (k = 1; k <= more; k++) {
		if ((p[k] & 0xc0) != 0x80)
			goto bad;
		v = v << 6 | (p[k] & 0x3f);
	}
	if (v < min[more] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		goto bad;
	*cp = v;
	return (int)more + 1;
bad:
	*cp = -1;
	return 1;
}

size_t mq_text_utf8_span(const char *s, size_t n)
{
	size_t i = 0;
	long cp;
	int k;

	while (i < n) {
		k = mq_text_utf8_next(s + i, n - i, &cp);
		if (cp < 0)
			break;
		i += (size_t)k;
	}
	return i;
}

int mq_text_utf8_ok(const char *s, size_t n)
{
	return mq_text_utf8_span(s, n) == n;
}

size_t mq_text_cut(const char *s, size_t n)
{
	size_t m = n;

	while (m > 0 && ((unsigned char)s[m] & 0xc0) == 0x80)
		m--;
	/* stray continuation bytes after an ASCII character are none of
	 * its own: cutting after it splits nothing */
	if (m < n && (unsigned char)s[m] < 0x80)
		m++;
	return m;
}

/* --- the address rule -------------------------------------------------- */

static int is_alnum(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9');
}

static int is_atext(int c)
{
	return is_alnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

static int has_8bit(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

static const char *local_problem(const char *s, size_t n)
{
	if (n == 0)
		return "empty local part";
	if (n > 64)
		return "local part longer than 64 characters";
	if (s[0] == '.' || s[n - 1] == '.')
		return "local part starts or ends with a dot";
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.' && s[i + 1] == '.')
			return "two dots in a row in the local part";
		if (s[i] != '.' && !is_atext((unsigned char)s[i]))
			return "character not allowed in the local part";
	}
	return NULL;
}

static const char *domain_problem(const char *d)
{
	size_t n = strlen(d), label = 0;
	int dots = 0;

	if (n == 0)
		return "no domain";
	if (n > 253)
		return "domain longer than 253 characters";
	if (strchr(d, '@') != NULL)
		return "more than one @";
	for (size_t i = 0; i <= n; i++) {
		if (d[i] == '.' || d[i] == '\0') {
			if (label == 0)
				return "empty label in the domain";
			if (label > 63)
				return "domain label longer than 63 characters";
			if (d[i - 1] == '-')
				return "domain label ends with a hyphen";
			dots += d[i] == '.';
			label = 0;
			continue;
		}
		if (!is_alnum((unsigned char)d[i]) && d[i] != '-')
			return "character not allowed in the domain";
		if (label++ == 0 && d[i] == '-')
			return "domain label starts with a hyphen";
	}
	return dots == 0 ? "domain has no dot" : NULL;
}

const char *mq_text_addr_problem(const char *addr)
{
	const char *at = strchr(addr, '@'), *why;

	if (*addr == '\0')
		return "empty address";
	if (has_8bit(addr))
		return "non-ASCII address not supported";
	if (strlen(addr) > 254)
		return "longer than 254 characters";
	if (at == NULL)
		return "no @";
	why = local_problem(addr, (size_t)(at - addr));
	return why != NULL ? why : domain_problem(at + 1);
}

/* --- display width ----------------------------------------------------- */

static int cp_width(long c)
{
	static const long zero[][2] = { { 0x0300, 0x036f }, { 0x0483, 0x0489 },
	    { 0x0591, 0x05bd }, { 0x0610, 0x061a }, { 0x064b, 0x065f },
	    { 0x1ab0, 0x1aff }, { 0x1dc0, 0x1dff }, { 0x200b, 0x200f },
	    { 0x20d0, 0x20ff }, { 0xfe00, 0xfe0f }, { 0xfe20, 0xfe2f },
	    { 0xfeff, 0xfeff } };
	static const long wide[][2] = { { 0x1100, 0x115f }, { 0x2e80, 0x303e },
	    { 0x3041, 0x33ff }, { 0x3400, 0x4dbf }, { 0x4e00, 0x9fff },
	    { 0xa000, 0xa4cf }, { 0xac00, 0xd7a3 }, { 0xf900, 0xfaff },
	    { 0xfe30, 0xfe4f }, { 0xff00, 0xff60 }, { 0xffe0, 0xffe6 },
	    { 0x1f300, 0x1f64f }, { 0x1f900, 0x1f9ff }, { 0x20000, 0x3fffd } };

	if (c < 0)
		return 1;
	for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++)
		if (c >= zero[i][0] && c <= zero[i][1])
			return 0;
	for (size_t i = 0; i < sizeof wide / sizeof wide[0]; i++)
		if (c >= wide[i][0] && c <= wide[i][1])
			return 2;
	return 1;
}

int mq_text_width(const char *s)
{
	size_t i = 0, n = strlen(s);
	long cp;
	int w = 0;

	while (i < n) {
		i += (size_t)mq_text_utf8_next(s + i, n - i, &cp);
		w += cp_width(cp);
	}
	return w;
}

void mq_text_fit(const char *s, int max, char *buf, size_t len)
{
	size_t keep = 0, n = strlen(s), k;
	long cp;
	int w = 0, cw;

	if (mq_text_width(s) <= max) {
		snprintf(buf, len, "%s", s);
		return;
	}
	while (keep < n) {
		k = (size_t)mq_text_utf8_next(s + keep, n - keep, &cp);
		cw = cp_width(cp);
		if (w + cw > max - 1 || keep + k + sizeof "…" > len)
			break;
		w += cw;
		keep += k;
	}
	snprintf(buf, len, "%.*s…", (int)keep, s);
}
