/*
 * A message's fingerprint: the SHA-256 of its bytes in hex, so that a
 * copy without a Message-ID is still known as one.
 */
#ifndef MQ_DIGEST_H
#define MQ_DIGEST_H

#include <stddef.h>

#define MQ_DIGEST_LEN 65      /* 64 hex digits and NUL */

/* Writes the hex SHA-256 of the len bytes at p into out. */
void mq_digest(const char *p, size_t len, char out[MQ_DIGEST_LEN]);

#endif
