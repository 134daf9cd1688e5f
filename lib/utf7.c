/* IMAP modified UTF-7: see utf7.h. Only the encoder: mailq names folders,
 * it never has to read a server's names back. */
#include <stdint.h>
#include <string.h>

#include "text.h"
#include "utf7.h"

static const char B64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

struct out {
	char   *p;
	size_t  len, n;
	int     full;
};

static void put(struct out *o, char c)
{
	if (o->n + 1 >= o->len) {
		o->full = 1;
		return;
	}
	o->p[o->n++] = c;
}

/* A run of UTF-16 units between "&" and "-", as base64 without padding
 * and with "," for "/"; one run, however long, since adjacent runs are
 * not the canonical form that servers compare names in. */
struct run {
	int      open;
	uint32_t bits;
	int      nbits;
};

static void run_unit(struct out *o, struct run *r, unsigned u)
{
	if (!r->open)
		put(o, '&');
	r->open = 1;
	r->bits = r->bits << 16 | u;
	r->nbits += 16;
	while (r->nbits >= 6) {
		r->nbits -= 6;
		put(o, B64[(r->bits >> r->nbits) & 0x3f]);
	}
}

static void run_end(struct out *o, struct run *r)
{
	if (!r->open)
		return;
	if (r->nbits > 0)
		put(o, B64[(r->bits << (6 - r->nbits)) & 0x3f]);
	put(o, '-');
	*r = (struct run){ 0 };
}

int mq_utf7_encode(char *dst, size_t len, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	const char *end = s + strlen(s);
	struct out o = { dst, len, 0, 0 };
	struct run r = { 0 };
	long cp;

	if (len == 0)
		return -1;
	while (*p != '\0' && !o.full) {
		if (*p < 0x20 || *p == 0x7f)
			return -1;
		if (*p < 0x80) {
			run_end(&o, &r);
			put(&o, (char)*p);
			if (*p++ == '&')
				put(&o, '-');
			continue;
		}
		p += mq_text_utf8_next((const char *)p,
		    (size_t)(end - (const char *)p), &cp);
		if (cp < 0)
			return -1;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			run_unit(&o, &r, 0xd800 | (unsigned)(cp >> 10));
			run_unit(&o, &r, 0xdc00 | (unsigned)(cp & 0x3ff));
		} else
			run_unit(&o, &r, (unsigned)cp);
	}
	run_end(&o, &r);
	if (o.full)
		return -1;
	dst[o.n] = '\0';
	return 0;
}
