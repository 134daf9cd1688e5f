/*
 * IMAP's modified UTF-7 (RFC 3501 5.1.3), the form a folder name takes on
 * the wire and, in a Maildir++ written by Dovecot or Courier, on disk:
 * printable ASCII stays as it is except "&", written "&-"; any run of
 * other characters becomes "&" + base64 (with "," for "/") of its UTF-16
 * + "-". "Wysłane" is "Wys&AUI-ane".
 */
#ifndef MQ_UTF7_H
#define MQ_UTF7_H

#include <stddef.h>

/* Encodes the UTF-8 string s into dst (size len, NUL-terminated). 0, or
 * -1 when s is not valid UTF-8, holds a control character, or the result
 * does not fit. */
int mq_utf7_encode(char *dst, size_t len, const char *s);

#endif
