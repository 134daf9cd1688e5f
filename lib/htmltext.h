/*
 * An HTML body as crude text, for a message that has no text/plain
 * part: tags taken off, the block ones (p, div, br, li, tr, table,
 * headings, hr, blockquote) a line break, the common entities and
 * numeric character references decoded, comments and head, style and
 * script left out, and what is inside a blockquote (a quoted message)
 * left out too. Not an HTML parser: enough to read the first lines a
 * person wrote. Internal to the classifier; pure.
 */
#ifndef MQ_HTMLTEXT_H
#define MQ_HTMLTEXT_H

#include <stddef.h>

/* The text of the HTML at h (NUL-terminated, NULL: ""), stopping once
 * it holds max bytes or more. Never NULL; the caller g_frees it. */
char *mq_htmltext(const char *h, size_t max);

#endif
