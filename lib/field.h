/*
 * The strings of a classification (struct mq_inbound, classify.h), each
 * written into its fixed buffer as one line of valid UTF-8 and cut
 * between characters, whatever bytes a message brought; and a rule's
 * verdict, the class with its reason. Internal to the classifier.
 */
#ifndef MQ_FIELD_H
#define MQ_FIELD_H

#include <stddef.h>

#include "classify.h"

/* Copies s (NULL: "") into dst[cap] as one line of valid UTF-8: a
 * control becomes a space, a byte that starts no valid character '?',
 * and the cut falls between characters. Nothing when cap is 0. */
void mq_field_put(char *dst, size_t cap, const char *s);

/* ASCII letters of s made lower case, in place. */
void mq_field_lower(char *s);

/* An address as a report writes it ("rfc822; <Jan@Example.org>") into
 * dst[cap]: the address alone, as mq_field_put writes it, lower case. */
void mq_field_addr(char *dst, size_t cap, const char *s);

/* Sets out->cls to cls and out->reason to the formatted text (one line,
 * valid UTF-8; "?" rather than ""). Returns 1, so that a rule can return
 * it. */
int mq_field_verdict(struct mq_inbound *out, enum mq_class cls,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
