/*
 * A growing text buffer for building output of unknown size (messages,
 * rendered templates, JSON). Appends never fail loudly: on a failed
 * allocation the buffer is marked oom and further appends are ignored, so
 * a builder checks once, at the end.
 */
#ifndef MQ_BUF_H
#define MQ_BUF_H

#include <stddef.h>

struct mq_buf {
	char   *p;       /* NUL-terminated once anything was appended; owned
	                    by the buffer's user, who frees it */
	size_t  len, cap;
	int     oom;
};

/* Appends n bytes of s. */
void mq_buf_put(struct mq_buf *b, const char *s, size_t n);

/* Appends the string s. */
void mq_buf_puts(struct mq_buf *b, const char *s);

#endif
