/*
 * The IMAP wire format, without any I/O: where a server's responses end,
 * what they say, and how a string goes into a command. A response is one
 * line, or several joined by literals ("{n}" at a line's end, then n bytes
 * of anything, then the rest of the response): a literal is skipped by
 * its count, never read as lines, so nothing inside a message can pass
 * for a response. Every offset and pointer handed back points into the
 * caller's buffer.
 */
#ifndef MQ_IMAP_WIRE_H
#define MQ_IMAP_WIRE_H

#include <stddef.h>

/* Where a command's responses stand, fed the same growing buffer again
 * and again. Zero it before the first call. */
struct mq_wire_scan {
	size_t pos;          /* start of the first response not yet whole */
	size_t tagged;       /* the tagged response's offset, once found */
	size_t end;          /* just past it */
};

/* 1 once buf[0..len) holds every response up to and including the one
 * tagged tag (st->tagged, st->end set), 0 while more is needed. */
int mq_wire_scan(struct mq_wire_scan *st, const char *buf, size_t len,
    const char *tag);

/* The next whole response in buf[*off..len): 1 with *r and *n (its bytes,
 * line end included) and *off moved past it; 0 when none is left. */
int mq_wire_next(const char *buf, size_t len, size_t *off, const char **r,
    size_t *n);

enum mq_wire_status { MQ_WIRE_OK, MQ_WIRE_NO, MQ_WIRE_BAD };

/* The status of tagged response r (n bytes) of tag, and in *text (size
 * len) its text without line end or control characters. */
enum mq_wire_status mq_wire_status(const char *r, size_t n, const char *tag,
    char *text, size_t len);

/* From untagged response r: 1 with *v when it is "* OK [UIDVALIDITY v]". */
int mq_wire_uidvalidity(const char *r, size_t n, long long *v);

/* What a FETCH response says about a message. */
struct mq_wire_fetch {
	long long   uid;         /* 0 when not given */
	long long   size;        /* RFC822.SIZE, -1 when not given */
	const char *body;        /* BODY[...] as sent, NULL when not given or
	                            NIL */
	size_t      body_len;
	int         body_quoted; /* a quoted string: see mq_wire_unquote */
};

/* 1 when r is "* n FETCH (...)", *f filled; 0 for any other response;
 * -1 for a FETCH that does not parse. */
int mq_wire_fetch(const char *r, size_t n, struct mq_wire_fetch *f);

/* 1 when r is "* SEARCH ...", *any = whether it names a message; else 0. */
int mq_wire_search(const char *r, size_t n, int *any);

/* s as a quoted string ("..." with " and \ escaped) into dst (size len).
 * 0, or -1 when s holds a byte outside printable ASCII or dst is short. */
int mq_wire_quote(char *dst, size_t len, const char *s);

/* Undoes the escapes of a quoted string's n bytes in place; the new
 * length. */
size_t mq_wire_unquote(char *s, size_t n);

#endif
