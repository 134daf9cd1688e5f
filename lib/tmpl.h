/*
 * Templates: subjects and bodies with {{field}} and {{field|fallback}}
 * placeholders filled from a lead's fields (its CSV columns). Field names
 * match [A-Za-z_][A-Za-z0-9_]*; spaces inside the braces are allowed. A
 * missing field without a fallback is an error, never an empty hole.
 * Anything else that starts with "{{" is a syntax error, a "{{" inside
 * a fallback included.
 */
#ifndef MQ_TMPL_H
#define MQ_TMPL_H

#include <stddef.h>

#include "err.h"

struct mq_tmpl_fields {
	const char *const *names;
	const char *const *values;
	int                n;
};

enum { MQ_TMPL_TEXT = 0, MQ_TMPL_HTML = 1 };

/* Checks the syntax of tmpl. MQ_PERM (EX_CONFIG) naming the offending
 * placeholder as written and its line in tmpl ("unclosed placeholder
 * '{{first_name}' on line 3"). */
int mq_tmpl_check(const char *tmpl, struct mq_err *err);

/* Calls fn(name, arg) for every field tmpl uses without a fallback, in
 * order of appearance (repeats included). Stops and returns fn's nonzero
 * result. Returns 0 otherwise. */
int mq_tmpl_required(const char *tmpl, int (*fn)(const char *name,
    size_t len, void *arg), void *arg);

/* Renders tmpl with fields into *out (malloc'd; caller frees). With
 * MQ_TMPL_HTML, values are escaped for HTML (& < > " '). MQ_PERM
 * (EX_DATAERR) "missing field 'company'" when a field without fallback is
 * absent or empty. */
int mq_tmpl_render(const char *tmpl, const struct mq_tmpl_fields *f,
    int mode, char **out, struct mq_err *err);

#endif
