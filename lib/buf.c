/* A growing text buffer: see buf.h. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void mq_buf_put(struct mq_buf *b, const char *s, size_t n)
{
	size_t cap;
	char *p;

	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 256;
		while (b->len + n + 1 > cap)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void mq_buf_puts(struct mq_buf *b, const char *s)
{
	mq_buf_put(b, s, strlen(s));
}
