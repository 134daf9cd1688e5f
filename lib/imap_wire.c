/*
 * The IMAP wire format: see imap_wire.h. Responses are read as the
 * grammar of RFC 3501 has them, but leniently where it costs nothing (a
 * bare LF ends a line too, items come in any order, unknown items are
 * skipped whatever their shape), because the same code reads every
 * server that mailq will meet.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "imap_wire.h"

/* The largest count taken from a server: beyond it, the response is
 * bigger than any buffer the caller would accept anyway. */
#define MAX_NUM 999999999999999LL

/* The value of the digits at s[0..n), or -1 when they are not digits. */
static long long number(const char *s, size_t n)
{
	long long v = 0;

	if (n == 0 || n > 15)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* When the line s[0..n) (line end included) announces a literal,
 * "{123}" or "{123+}" at its end: its size; else -1. */
static long long literal_at_end(const char *s, size_t n)
{
	size_t close, open;

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	if (n < 3 || s[n - 1] != '}')
		return -1;
	close = n - 1;
	if (s[close - 1] == '+')
		close--;
	open = close;
	while (open > 0 && isdigit((unsigned char)s[open - 1]))
		open--;
	if (open == 0 || s[open - 1] != '{')
		return -1;
	return number(s + open, close - open);
}

/* Where the response starting at off ends: 1 with *end, 0 if incomplete. */
static int response_end(const char *buf, size_t len, size_t off,
    size_t *end)
{
	const char *nl;
	long long lit;

	for (;;) {
		if (off >= len ||
		    (nl = memchr(buf + off, '\n', len - off)) == NULL)
			return 0;
		lit = literal_at_end(buf + off, (size_t)(nl - buf) + 1 - off);
		off = (size_t)(nl - buf) + 1;
		if (lit < 0)
			break;
		if ((unsigned long long)lit > len - off)
			return 0;
		off += (size_t)lit;
	}
	*end = off;
	return 1;
}

static int is_tagged(const char *r, size_t n, const char *tag)
{
	size_t t = strlen(tag);

	return n > t && memcmp(r, tag, t) == 0 && r[t] == ' ';
}

int mq_wire_scan(struct mq_wire_scan *st, const char *buf, size_t len,
    const char *tag)
{
	size_t end;

	while (response_end(buf, len, st->pos, &end)) {
		if (is_tagged(buf + st->pos, end - st->pos, tag)) {
			st->tagged = st->pos;
			st->end = end;
			st->pos = end;
			return 1;
		}
		st->pos = end;
	}
	return 0;
}

int mq_wire_next(const char *buf, size_t len, size_t *off, const char **r,
    size_t *n)
{
	size_t end;

	if (!response_end(buf, len, *off, &end))
		return 0;
	*r = buf + *off;
	*n = end - *off;
	*off = end;
	return 1;
}

/* Whether r starts with word (any case) followed by a space. */
static int starts(const char *r, size_t n, const char *word)
{
	size_t w = strlen(word);

	return n > w && strncasecmp(r, word, w) == 0 && r[w] == ' ';
}

enum mq_wire_status mq_wire_status(const char *r, size_t n, const char *tag,
    char *text, size_t len)
{
	enum mq_wire_status st = MQ_WIRE_BAD;
	size_t t = strlen(tag) + 1, j = 0;

	if (n < t)
		t = n;
	r += t;
	n -= t;
	if (starts(r, n, "OK") || (n == 4 && strncasecmp(r, "OK\r\n", 4) == 0))
		st = MQ_WIRE_OK;
	else if (starts(r, n, "NO"))
		st = MQ_WIRE_NO;
	while (n > 0 && (r[n - 1] == '\n' || r[n - 1] == '\r'))
		n--;
	for (size_t i = 0; i < n && j + 1 < len; i++)
		text[j++] = iscntrl((unsigned char)r[i]) ? '?' : r[i];
	if (len > 0)
		text[j] = '\0';
	return st;
}

int mq_wire_uidvalidity(const char *r, size_t n, long long *v)
{
	static const char key[] = "* OK [UIDVALIDITY ";
	size_t k = sizeof key - 1, e = k;

	if (n <= k || strncasecmp(r, key, k) != 0)
		return 0;
	while (e < n && isdigit((unsigned char)r[e]))
		e++;
	if (e >= n || r[e] != ']' || (*v = number(r + k, e - k)) < 0)
		return 0;
	return 1;
}

enum tok_type { T_END, T_ATOM, T_STRING, T_QUOTED, T_OPEN, T_CLOSE, T_BAD };

struct tok {
	enum tok_type type;
	const char   *p;
	size_t        n;
};

/* A literal at r[i] ("{n}" or "{n+}", line end, n bytes) into *t. */
static size_t literal(const char *r, size_t n, size_t i, struct tok *t)
{
	const char *close = memchr(r + i, '}', n - i);
	size_t d = i + 1, e;
	long long lit;

	t->type = T_BAD;
	if (close == NULL)
		return n;
	e = (size_t)(close - r);
	lit = number(r + d, e - d - (r[e - 1] == '+'));
	e++;
	if (e < n && r[e] == '\r')
		e++;
	if (lit < 0 || e >= n || r[e] != '\n' ||
	    (unsigned long long)lit > n - e - 1)
		return n;
	t->type = T_STRING;
	t->p = r + e + 1;
	t->n = (size_t)lit;
	return e + 1 + (size_t)lit;
}

static size_t quoted(const char *r, size_t n, size_t i, struct tok *t)
{
	size_t s = ++i;

	for (; i < n && r[i] != '"'; i++) {
		if (r[i] == '\\')
			i++;
		if (i >= n || r[i] == '\r' || r[i] == '\n') {
			t->type = T_BAD;
			return n;
		}
	}
	if (i >= n) {
		t->type = T_BAD;
		return n;
	}
	t->type = T_QUOTED;
	t->p = r + s;
	t->n = i - s;
	return i + 1;
}

/* An atom, where "[...]" may hold spaces and parentheses: BODY[HEADER]. */
static size_t atom(const char *r, size_t n, size_t i, struct tok *t)
{
	size_t s = i;
	int depth = 0;

	for (; i < n && r[i] != '\r' && r[i] != '\n'; i++) {
		if (r[i] == '[')
			depth++;
		else if (r[i] == ']' && depth > 0)
			depth--;
		else if (depth == 0 && (r[i] == ' ' || r[i] == '(' ||
		    r[i] == ')'))
			break;
	}
	t->type = T_ATOM;
	t->p = r + s;
	t->n = i - s;
	return i;
}

/* The token at r[*off] into *t; *off moves past it. */
static void token(const char *r, size_t n, size_t *off, struct tok *t)
{
	size_t i = *off;

	while (i < n && r[i] == ' ')
		i++;
	t->p = r + i;
	t->n = 0;
	if (i >= n || r[i] == '\r' || r[i] == '\n') {
		t->type = T_END;
		*off = i;
		return;
	}
	if (r[i] == '(' || r[i] == ')') {
		t->type = r[i] == '(' ? T_OPEN : T_CLOSE;
		*off = i + 1;
	} else if (r[i] == '"')
		*off = quoted(r, n, i, t);
	else if (r[i] == '{')
		*off = literal(r, n, i, t);
	else
		*off = atom(r, n, i, t);
}

static int is_atom(const struct tok *t, const char *word)
{
	return t->type == T_ATOM && t->n == strlen(word) &&
	    strncasecmp(t->p, word, t->n) == 0;
}

/* Skips one value of any shape: atom, string or parenthesised list. */
static int skip_value(const char *r, size_t n, size_t *off)
{
	struct tok t;
	int depth = 0;

	do {
		token(r, n, off, &t);
		if (t.type == T_END || t.type == T_BAD ||
		    (t.type == T_CLOSE && depth == 0))
			return -1;
		depth += t.type == T_OPEN;
		depth -= t.type == T_CLOSE;
	} while (depth > 0);
	return 0;
}

static int fetch_item(const char *r, size_t n, size_t *off,
    const struct tok *name, struct mq_wire_fetch *f)
{
	struct tok v;

	if (is_atom(name, "UID") || is_atom(name, "RFC822.SIZE")) {
		token(r, n, off, &v);
		long long x = v.type == T_ATOM ? number(v.p, v.n) : -1;
		if (x < 0 || (x == 0 && is_atom(name, "UID")))
			return -1;
		*(is_atom(name, "UID") ? &f->uid : &f->size) = x;
		return 0;
	}
	if (name->n < 5 || strncasecmp(name->p, "BODY[", 5) != 0)
		return skip_value(r, n, off);
	token(r, n, off, &v);
	if (is_atom(&v, "NIL"))
		return 0;
	if (v.type != T_STRING && v.type != T_QUOTED)
		return -1;
	f->body = v.p;
	f->body_len = v.n;
	f->body_quoted = v.type == T_QUOTED;
	return 0;
}

int mq_wire_fetch(const char *r, size_t n, struct mq_wire_fetch *f)
{
	struct tok t;
	size_t off = 0;

	*f = (struct mq_wire_fetch){ .size = -1 };
	token(r, n, &off, &t);
	if (!is_atom(&t, "*"))
		return 0;
	token(r, n, &off, &t);
	if (t.type != T_ATOM || number(t.p, t.n) < 0)
		return 0;
	token(r, n, &off, &t);
	if (!is_atom(&t, "FETCH"))
		return 0;
	token(r, n, &off, &t);
	if (t.type != T_OPEN)
		return -1;
	for (;;) {
		token(r, n, &off, &t);
		if (t.type == T_CLOSE)
			return 1;
		if (t.type != T_ATOM || fetch_item(r, n, &off, &t, f) != 0)
			return -1;
	}
}

int mq_wire_search(const char *r, size_t n, int *any)
{
	struct tok t;
	size_t off = 0;

	*any = 0;
	token(r, n, &off, &t);
	if (!is_atom(&t, "*"))
		return 0;
	token(r, n, &off, &t);
	if (!is_atom(&t, "SEARCH"))
		return 0;
	for (token(r, n, &off, &t); t.type != T_END && t.type != T_BAD;
	    token(r, n, &off, &t))
		if (t.type == T_ATOM && number(t.p, t.n) > 0)
			*any = 1;
	return 1;
}

int mq_wire_quote(char *dst, size_t len, const char *s)
{
	size_t j = 0;

	if (len < 3)
		return -1;
	dst[j++] = '"';
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e ||
		    j + 4 > len)
			return -1;
		if (*s == '"' || *s == '\\')
			dst[j++] = '\\';
		dst[j++] = *s;
	}
	dst[j++] = '"';
	dst[j] = '\0';
	return 0;
}

size_t mq_wire_unquote(char *s, size_t n)
{
	size_t j = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n)
			i++;
		s[j++] = s[i];
	}
	return j;
}
