/*
 * Fuzz target: the IMAP response reader (lib/imap_wire.c), which reads
 * what a remote server sends. The first byte is flags; its lowest bit
 * chooses one of two modes.
 *
 * Raw (bit 0 clear): the rest is a server's bytes, any of them. Every
 * response mq_wire_next hands back follows the one before, lies within
 * the input and ends with its line end outside any literal: read as a
 * stranger would (line by line, a line ending in "{n}" or "{n+}" followed
 * by n bytes), every earlier line of it announces a literal that fits;
 * where it stops, no whole response is left. The tagged response
 * mq_wire_scan finds is the first of them that starts with the tag, and
 * feeding it the bytes a few at a time finds the same. A FETCH's body is
 * inside its response: a literal of exactly the size announced before
 * it, or a quoted string between its quotes. Each reading of the same
 * bytes gives the same result twice; status texts end within their
 * buffers without control characters; quoting the input (to its first
 * NUL) and unquoting it gives it back.
 *
 * Built (bit 0 set): the second byte is more flags, the rest is the
 * contents of a message, any bytes, lines that look like tagged
 * responses included. A UID FETCH reply is built around them the way
 * Dovecot and Gmail send it (items in either order, FLAGS, a response
 * before it, LF or CRLF, "{n}" or "{n+}", BODY[] or BODY[HEADER], the
 * contents quoted when they can be): the reader must find exactly the
 * responses built, the FETCH's UID and size, and the contents given back
 * byte for byte.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "imap_wire.h"

#define TAG "M7"

/* Steps in which mq_wire_scan is fed the growing buffer. */
static const size_t steps[] = { 1, 2, 3, 7, 16, 64, 512, 1 << 20 };

/* A literal announced at the end of line l[0..n) (its line end
 * included), read forwards: "{", 1 to 15 digits, maybe "+", "}", then
 * only CR and LF. Its size, or -1. */
static long long announced(const char *l, size_t n)
{
	const char *open = NULL;
	long long v = 0;
	size_t i, d;

	while (n > 0 && (l[n - 1] == '\n' || l[n - 1] == '\r'))
		n--;
	for (i = 0; i < n; i++)
		if (l[i] == '{')
			open = l + i;
	if (open == NULL)
		return -1;
	i = (size_t)(open - l) + 1;
	for (d = 0; i < n && l[i] >= '0' && l[i] <= '9'; i++, d++)
		if (d < 15)
			v = v * 10 + (l[i] - '0');
	if (d == 0 || d > 15)
		return -1;
	if (i < n && l[i] == '+')
		i++;
	return i + 1 == n && l[i] == '}' ? v : -1;
}

/* Where the response at b[off..len) ends, read line by line; 0 when it
 * is not whole. */
static size_t stranger_end(const char *b, size_t len, size_t off)
{
	const char *nl;
	long long lit;

	while (off < len && (nl = memchr(b + off, '\n', len - off)) != NULL) {
		lit = announced(b + off, (size_t)(nl - b) + 1 - off);
		off = (size_t)(nl - b) + 1;
		if (lit < 0)
			return off;
		if ((unsigned long long)lit > len - off)
			return 0;
		off += (size_t)lit;
	}
	return 0;
}

/* The scan fed b a step at a time agrees with the scan of it whole. */
static void scan_in_steps(const char *b, size_t len, size_t step,
    const struct mq_wire_scan *whole, int found)
{
	struct mq_wire_scan st = { 0 };
	size_t have = 0;
	int got = 0;

	while (!got && have < len) {
		have = len - have > step ? have + step : len;
		got = mq_wire_scan(&st, b, have, TAG);
		if (got && (have < whole->end || st.tagged != whole->tagged ||
		    st.end != whole->end))
			fz_fail("in steps of %zu: tagged at %zu..%zu with %zu "
			    "bytes, whole: %zu..%zu", step, st.tagged, st.end,
			    have, whole->tagged, whole->end);
	}
	if (got != found)
		fz_fail("in steps of %zu the tagged response is %sfound", step,
		    got ? "" : "not ");
}

/* A FETCH's body lies inside its response r[0..n), as announced. */
static void body_inside(const char *r, size_t n,
    const struct mq_wire_fetch *f)
{
	const char *p = f->body;
	long long v = 0, mul = 1;
	int d = 0;

	if (p < r || f->body_len > n || (size_t)(p - r) > n - f->body_len)
		fz_fail("a body of %zu bytes outside its response",
		    f->body_len);
	if (f->body_quoted) {
		if (p == r || p[-1] != '"' || p + f->body_len >= r + n ||
		    p[f->body_len] != '"')
			fz_fail("a quoted body not between quotes");
		return;
	}
	if (p - r < 4 || *--p != '\n')
		fz_fail("a literal not after a line end");
	p -= p[-1] == '\r';
	if (*--p != '}')
		fz_fail("a literal not after its announcement");
	p -= p[-1] == '+';
	for (; d < 16 && p[-1] >= '0' && p[-1] <= '9'; p--, d++, mul *= 10)
		v += (p[-1] - '0') * mul;
	if (d > 15 || p[-1] != '{' || v != (long long)f->body_len)
		fz_fail("a literal of %zu bytes announced as %lld",
		    f->body_len, v);
}

/* Every reading of the one response r[0..n). */
static void readings(const char *r, size_t n)
{
	struct mq_wire_fetch f, g;
	char text[64], text2[64];
	long long v = -1, w = -1;
	int k, any = -1, any2 = -1;

	k = mq_wire_fetch(r, n, &f);
	if (k != mq_wire_fetch(r, n, &g) || memcmp(&f, &g, sizeof f) != 0)
		fz_fail("a FETCH read twice, two results");
	if (k < -1 || k > 1)
		fz_fail("mq_wire_fetch returned %d", k);
	if (k == 1 && (f.uid < 0 || f.size < -1))
		fz_fail("uid %lld, size %lld", f.uid, f.size);
	if (k == 1 && f.body != NULL)
		body_inside(r, n, &f);
	k = mq_wire_search(r, n, &any);
	if (k != mq_wire_search(r, n, &any2) || any != any2 || k < 0 ||
	    k > 1 || any < 0 || any > 1 || (k == 0 && any != 0))
		fz_fail("SEARCH: %d, any %d then %d", k, any, any2);
	k = mq_wire_uidvalidity(r, n, &v);
	if (k != mq_wire_uidvalidity(r, n, &w) || (k == 1 && (v != w ||
	    v < 0 || strncasecmp(r, "* OK [UIDVALIDITY ", 18) != 0)))
		fz_fail("UIDVALIDITY: %d, %lld then %lld", k, v, w);
	if (mq_wire_status(r, n, TAG, text, sizeof text) != mq_wire_status(r,
	    n, TAG, text2, sizeof text2) || strcmp(text, text2) != 0)
		fz_fail("a status read twice, two results");
	for (size_t i = 0; text[i] != '\0'; i++)
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
			fz_fail("a control character in a status text");
}

/* Quoting the input to its first NUL, and unquoting it back. */
static void round_trip(const char *b, size_t len)
{
	char s[256], q[300];
	size_t n = strnlen(b, len < sizeof s - 1 ? len : sizeof s - 1), k;
	int printable = 1;

	memcpy(s, b, n);
	s[n] = '\0';
	for (size_t i = 0; i < n; i++)
		printable &= s[i] >= 0x20 && s[i] <= 0x7e;
	if (mq_wire_quote(q, sizeof q, s) != 0) {
		if (printable && 2 * n + 3 <= sizeof q)
			fz_fail("'%s' not quoted", s);
		return;
	}
	k = strlen(q);
	if (!printable || k < 2 || q[0] != '"' || q[k - 1] != '"')
		fz_fail("'%s' quoted as '%s'", s, q);
	k = mq_wire_unquote(q + 1, k - 2);
	if (k != n || memcmp(q + 1, s, n) != 0)
		fz_fail("'%s' quoted and unquoted is '%.*s'", s, (int)k, q + 1);
}

static void raw(const char *b, size_t len, unsigned flags)
{
	struct mq_wire_scan whole = { 0 };
	size_t off = 0, n, first_tagged = (size_t)-1, first_end = 0, e;
	const char *r;
	int found;

	while (mq_wire_next(b, len, &off, &r, &n)) {
		if (r < b || n == 0 || (size_t)(r - b) + n != off || off > len ||
		    r[n - 1] != '\n')
			fz_fail("a response at %td of %zu bytes, off %zu of %zu",
			    r - b, n, off, len);
		if ((e = stranger_end(b, len, (size_t)(r - b))) != off)
			fz_fail("a response ends at %zu, read line by line at "
			    "%zu", off, e);
		if (first_tagged == (size_t)-1 && n >= 3 &&
		    memcmp(r, TAG " ", 3) == 0) {
			first_tagged = (size_t)(r - b);
			first_end = off;
		}
		readings(r, n);
	}
	if (off > len || stranger_end(b, len, off) != 0)
		fz_fail("stopped at %zu of %zu before a whole response", off,
		    len);
	found = mq_wire_scan(&whole, b, len, TAG);
	if (found != (first_tagged != (size_t)-1) || (found &&
	    (whole.tagged != first_tagged || whole.end != first_end)))
		fz_fail("scan: %d at %zu..%zu, responses: at %zu..%zu", found,
		    whole.tagged, whole.end, first_tagged, first_end);
	scan_in_steps(b, len, steps[(flags >> 5) & 7], &whole, found);
	round_trip(b, len);
}

/* A buffer being built; aborts when memory runs out. */
struct out {
	char   *p;
	size_t  len, cap;
};

static void add(struct out *o, const void *s, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		o->cap = (o->len + n + 1) * 2;
		if ((o->p = realloc(o->p, o->cap)) == NULL)
			fz_fail("out of memory");
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void adds(struct out *o, const char *s)
{
	add(o, s, strlen(s));
}

/* The built reply's landmarks. */
struct built {
	struct out o;
	size_t     ends[3];    /* where each response ends */
	int        n;
	size_t     body;       /* where the contents (or their quoting) start */
	size_t     body_len;
	int        quoted;
};

/* The FETCH response around the contents c[0..n). */
static void fetch_response(struct built *b, unsigned more, const char *c,
    size_t n, const char *eol)
{
	char q[1100], s[500], head[96], lit[40];

	b->quoted = 0;
	if ((more & 1) && n < sizeof s && memchr(c, '\0', n) == NULL) {
		memcpy(s, c, n);
		s[n] = '\0';
		b->quoted = mq_wire_quote(q, sizeof q, s) == 0;
	}
	snprintf(head, sizeof head, "* 12 FETCH (%s%sRFC822.SIZE %zu ",
	    more & 4 ? "FLAGS (\\Seen $Forwarded) " : "",
	    more & 2 ? "" : "UID 345 ", n);
	adds(&b->o, head);
	adds(&b->o, more & 8 ? "BODY[HEADER] " : "BODY[] ");
	if (b->quoted) {
		b->body = b->o.len + 1;
		b->body_len = strlen(q) - 2;
		adds(&b->o, q);
	} else {
		snprintf(lit, sizeof lit, "{%zu%s}%s", n, more & 16 ? "+" : "",
		    eol);
		adds(&b->o, lit);
		b->body = b->o.len;
		b->body_len = n;
		add(&b->o, c, n);
	}
	adds(&b->o, more & 2 ? " UID 345)" : ")");
	adds(&b->o, eol);
	b->ends[b->n++] = b->o.len;
}

static void build(struct built *b, unsigned flags, unsigned more,
    const char *c, size_t n)
{
	const char *eol = more & 32 ? "\n" : "\r\n";

	memset(b, 0, sizeof *b);
	if (flags & 2) {
		adds(&b->o, more & 64 ? "* OK [UIDVALIDITY 1700000000] UIDs "
		    "valid" : "* 12 FETCH (FLAGS (\\Seen))");
		adds(&b->o, eol);
		b->ends[b->n++] = b->o.len;
	}
	fetch_response(b, more, c, n, eol);
	adds(&b->o, TAG " OK Fetch completed (0.001 + 0.000 secs).");
	adds(&b->o, eol);
	b->ends[b->n++] = b->o.len;
}

/* The reader finds exactly the responses built, and the contents. */
static void built(unsigned flags, unsigned more, const char *c, size_t n)
{
	struct mq_wire_scan st = { 0 };
	struct mq_wire_fetch f;
	struct built b;
	size_t off = 0, rn, tagged;
	const char *r, *fetch = NULL;
	char *copy;
	int i;

	build(&b, flags, more, c, n);
	/* read from a copy of exactly its size, so that reading past it is
	 * caught */
	if ((copy = malloc(b.o.len)) == NULL)
		fz_fail("out of memory");
	memcpy(copy, b.o.p, b.o.len);
	free(b.o.p);
	b.o.p = copy;
	for (i = 0; mq_wire_next(b.o.p, b.o.len, &off, &r, &rn); i++)
		if (i >= b.n || off != b.ends[i])
			fz_fail("response %d ends at %zu, built at %zu", i, off,
			    i < b.n ? b.ends[i] : 0);
		else if (i == b.n - 2)
			fetch = r;
	if (i != b.n || off != b.o.len)
		fz_fail("%d responses read, %d built", i, b.n);
	tagged = b.ends[b.n - 2];
	if (!mq_wire_scan(&st, b.o.p, b.o.len, TAG) || st.tagged != tagged ||
	    st.end != b.o.len)
		fz_fail("the tagged response not found at %zu", tagged);
	scan_in_steps(b.o.p, b.o.len, steps[(flags >> 5) & 7], &st, 1);
	rn = b.ends[b.n - 2] - (size_t)(fetch - b.o.p);
	if (mq_wire_fetch(fetch, rn, &f) != 1 || f.uid != 345 ||
	    f.size != (long long)n || f.body != b.o.p + b.body ||
	    f.body_len != b.body_len || f.body_quoted != b.quoted)
		fz_fail("the FETCH read as uid %lld size %lld body %td+%zu",
		    f.uid, f.size, f.body != NULL ? f.body - b.o.p : -1,
		    f.body_len);
	if ((copy = malloc(f.body_len + 1)) == NULL)
		fz_fail("out of memory");
	memcpy(copy, f.body, f.body_len);
	if (f.body_quoted)
		f.body_len = mq_wire_unquote(copy, f.body_len);
	if (f.body_len != n || memcmp(copy, c, n) != 0)
		fz_fail("the contents came back changed");
	free(copy);
	free(b.o.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *b;

	if (size < 1 || size > 1 << 20)
		return 0;
	/* a copy of exactly its size, so that reading past it is caught */
	if ((b = malloc(size - 1 > 0 ? size - 1 : 1)) == NULL)
		fz_fail("out of memory");
	memcpy(b, data + 1, size - 1);
	if (!(data[0] & 1))
		raw(b, size - 1, data[0]);
	else if (size >= 2)
		built(data[0], data[1], b + 1, size - 2);
	free(b);
	return 0;
}
