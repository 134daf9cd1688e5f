/*
 * The rules about text that more than one part of mailq applies, each
 * written once: what is UTF-8 (the config loader, the importer, the
 * message builder, IMAP folder names, the stats' JSON), where text may be
 * cut without splitting a character (the stats, folded mail text, the
 * importer's excerpts, header words, template errors), what is an e-mail
 * address (a lead's in the importer, a mailbox's own in the config), and
 * how many terminal columns text takes (the stats' table). Pure: nothing
 * here allocates, prints or keeps state.
 */
#ifndef MQ_TEXT_H
#define MQ_TEXT_H

#include <stddef.h>

/* Decodes the character at s, of which n > 0 bytes may be read. Returns
 * its length in bytes and sets *cp to its code point; for a byte that
 * does not start a well-formed character (a stray continuation byte, an
 * overlong form, a surrogate, a code point past U+10FFFF, a sequence cut
 * short) returns 1 and sets *cp to -1. NUL is a character like any other. */
int mq_text_utf8_next(const char *s, size_t n, long *cp);

/* The length of the longest well-formed UTF-8 prefix of the n bytes at s:
 * n when they are all UTF-8, else the offset of the first bad byte. */
size_t mq_text_utf8_span(const char *s, size_t n);

/* 1 when the n bytes at s are well-formed UTF-8 (NUL included), else 0. */
int mq_text_utf8_ok(const char *s, size_t n);

/* Where to cut s to at most n bytes without splitting a UTF-8 sequence:
 * n itself when s[n] is no continuation byte (10xxxxxx), else before the
 * lead byte of the sequence s[n] continues, or after the ASCII character
 * that stray continuation bytes follow (they are none of its own). Reads
 * s[n], so n is at most the length of s; NUL is a character like any
 * other. */
size_t mq_text_cut(const char *s, size_t n);

/* The one address rule, for a lead and for a mailbox alike: NULL when the
 * already trimmed addr is a plain ASCII addr-spec (a dot-atom local part
 * of at most 64 characters, "@", a domain of at least two LDH labels of at
 * most 63, at most 254 characters in all), else a static string saying
 * why not. A domain without a dot (localhost, an intranet host name) is
 * refused alike for both: mailq writes between addresses on the Internet,
 * where "anna@gmail" is a typo rather than a host. */
const char *mq_text_addr_problem(const char *addr);

/* Terminal columns taken by the UTF-8 text s: combining marks and
 * zero-width characters take none, East Asian wide characters and emoji
 * two, any other character (and any byte that is not UTF-8) one. */
int mq_text_width(const char *s);

/* Copies s into buf (len bytes), cut to at most max columns, whole
 * characters only, with "…" at the end when it was cut. */
void mq_text_fit(const char *s, int max, char *buf, size_t len);

#endif
