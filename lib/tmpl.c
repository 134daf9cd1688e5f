/*
 * Templates: see tmpl.h. One scanner, scan(), finds the next placeholder
 * and says exactly what is wrong with a bad one; check, required and render
 * are three walks over its results, so they cannot disagree about what a
 * template means. A lone "{" or "}" is text; "{{" always opens a
 * placeholder. A template with a syntax error renders nothing, even when
 * a missing field comes first. Output grows in one buffer: no size limit.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "buf.h"
#include "text.h"
#include "tmpl.h"

struct ph {
	size_t      at;         /* offset of "{{" */
	size_t      end;        /* offset just past "}}" */
	const char *name;
	size_t      nlen;
	const char *fb;         /* fallback text, NULL when there is none */
	size_t      fblen;
};

static int is_name0(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int is_name(char c)
{
	return is_name0(c) || (c >= '0' && c <= '9');
}

static size_t skip_blank(const char *t, size_t i)
{
	while (t[i] == ' ' || t[i] == '\t')
		i++;
	return i;
}

/* The first "cc" in s, or NULL. (Not strstr: a sanitizer's strstr
 * measures the whole rest of the string at every call.) */
static const char *pair(const char *s, char c)
{
	for (; *s != '\0'; s++)
		if (s[0] == c && s[1] == c)
			return s;
	return NULL;
}

/* Whether "cc" starts anywhere in [s, end). */
static int has_pair(const char *s, const char *end, char c)
{
	for (; s < end; s++)
		if (s[0] == c && s[1] == c)
			return 1;
	return 0;
}

/* The placeholder as written, for error messages: up to its "}}" or the
 * line's end, cut at 40 bytes without splitting a UTF-8 sequence. */
static int shown(const char *t, size_t at, char *buf, size_t len)
{
	const char *close = pair(t + at, '}');
	size_t n = strcspn(t + at, "\r\n");

	if (close != NULL && (size_t)(close - (t + at)) + 2 < n)
		n = (size_t)(close - (t + at)) + 2;
	if (n > 40) {
		n = mq_text_cut(t + at, 40);
		return snprintf(buf, len, "%.*s...", (int)n, t + at);
	}
	return snprintf(buf, len, "%.*s", (int)n, t + at);
}

static int bad(const char *t, size_t at, const char *what,
    struct mq_err *err)
{
	char s[64];
	size_t line = 1;

	for (size_t i = 0; i < at; i++)
		line += t[i] == '\n';
	shown(t, at, s, sizeof s);
	mq_err_perm(err, EX_CONFIG, "%s placeholder '%s' on line %zu", what,
	    s, line);
	return -1;
}

/* Finds the next placeholder at or after pos. Returns 1 and fills ph, 0
 * when there is none, or -1 with err set for a bad one. */
static int scan(const char *t, size_t pos, struct ph *ph, struct mq_err *err)
{
	const char *open = pair(t + pos, '{');
	const char *close;
	size_t i;

	if (open == NULL)
		return 0;
	memset(ph, 0, sizeof *ph);
	ph->at = (size_t)(open - t);
	i = skip_blank(t, ph->at + 2);
	if (!is_name0(t[i]))
		return bad(t, ph->at, pair(t + i, '}') == NULL ? "unclosed" :
		    "bad field name in", err);
	ph->name = t + i;
	while (is_name(t[i]))
		i++;
	ph->nlen = (size_t)(t + i - ph->name);
	i = skip_blank(t, i);
	if (t[i] == '|') {
		/* "{{" always opens a placeholder, so a fallback holding one
		 * is a placeholder left unclosed ("{{a|there}, {{b}}") */
		if ((close = pair(t + i + 1, '}')) == NULL ||
		    has_pair(t + i + 1, close, '{'))
			return bad(t, ph->at, "unclosed", err);
		ph->fb = t + i + 1;
		ph->fblen = (size_t)(close - ph->fb);
		ph->end = (size_t)(close - t) + 2;
		return 1;
	}
	if (t[i] == '}' && t[i + 1] == '}') {
		ph->end = i + 2;
		return 1;
	}
	return bad(t, ph->at, pair(t + i, '}') == NULL ? "unclosed" :
	    "bad field name in", err);
}

int mq_tmpl_check(const char *tmpl, struct mq_err *err)
{
	struct ph ph;
	size_t pos = 0;
	int r;

	while ((r = scan(tmpl, pos, &ph, err)) == 1)
		pos = ph.end;
	return r < 0 ? MQ_PERM : MQ_OK;
}

/* A template with a syntax error is only walked up to the error: callers
 * check it first (mq_tmpl_check), and render refuses it anyway. */
int mq_tmpl_required(const char *tmpl, int (*fn)(const char *name,
    size_t len, void *arg), void *arg)
{
	struct ph ph;
	size_t pos = 0;
	int r;

	while (scan(tmpl, pos, &ph, NULL) == 1) {
		pos = ph.end;
		if (ph.fb == NULL && (r = fn(ph.name, ph.nlen, arg)) != 0)
			return r;
	}
	return 0;
}

static void put_html(struct mq_buf *b, const char *s)
{
	const char *rep;
	size_t from = 0, i;

	for (i = 0; s[i] != '\0'; i++) {
		switch (s[i]) {
		case '&':  rep = "&amp;";  break;
		case '<':  rep = "&lt;";   break;
		case '>':  rep = "&gt;";   break;
		case '"':  rep = "&quot;"; break;
		case '\'': rep = "&#39;";  break;
		default:   continue;
		}
		mq_buf_put(b, s + from, i - from);
		mq_buf_put(b, rep, strlen(rep));
		from = i + 1;
	}
	mq_buf_put(b, s + from, i - from);
}

static const char *lookup(const struct mq_tmpl_fields *f, const char *name,
    size_t n)
{
	int i;

	if (f == NULL)
		return NULL;
	for (i = 0; i < f->n; i++)
		if (f->names[i] != NULL && strncmp(f->names[i], name, n) == 0 &&
		    f->names[i][n] == '\0')
			return f->values[i];
	return NULL;
}

int mq_tmpl_render(const char *tmpl, const struct mq_tmpl_fields *f,
    int mode, char **out, struct mq_err *err)
{
	struct mq_buf b = { NULL, 0, 0, 0 };
	struct ph ph;
	const char *v;
	size_t pos = 0;
	int r, rc = MQ_PERM;

	*out = NULL;
	if (mq_tmpl_check(tmpl, err) != MQ_OK)
		return MQ_PERM;
	while ((r = scan(tmpl, pos, &ph, err)) == 1) {
		mq_buf_put(&b, tmpl + pos, ph.at - pos);
		pos = ph.end;
		v = lookup(f, ph.name, ph.nlen);
		if (v != NULL && v[0] != '\0') {
			if (mode == MQ_TMPL_HTML)
				put_html(&b, v);
			else
				mq_buf_put(&b, v, strlen(v));
		} else if (ph.fb != NULL) {
			mq_buf_put(&b, ph.fb, ph.fblen);
		} else {
			mq_err_perm(err, EX_DATAERR, "missing field '%.*s'",
			    (int)ph.nlen, ph.name);
			goto out;
		}
	}
	if (r < 0)
		goto out;
	mq_buf_put(&b, tmpl + pos, strlen(tmpl + pos));
	if (b.oom) {
		rc = mq_err_temp(err, "template: out of memory");
		goto out;
	}
	*out = b.p;
	b.p = NULL;
	rc = MQ_OK;
out:
	free(b.p);
	return rc;
}
