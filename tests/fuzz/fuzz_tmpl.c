/*
 * Fuzz target: templates (lib/tmpl.c). The input is a flags byte, the
 * template, then field names and values, all split at NULs. The
 * properties: mq_tmpl_check accepts exactly the templates of the grammar
 * in tmpl.h, read here by a scanner of its own; check, required and
 * render agree (a template check refuses renders nothing, with the same
 * error; one it accepts renders unless a field without fallback is
 * missing, and then fails naming the first); the rendered text is the
 * reference rendering; in HTML every value is escaped, so no value brings
 * a '<' of its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "buf.h"
#include "fuzz.h"
#include "tmpl.h"

#define MAXF 7

/* --- the reference: the grammar of tmpl.h, read independently -------- */

struct ref {
	int            ok;          /* the template is well-formed */
	struct mq_buf  out;         /* its rendering */
	const char    *missing;     /* first field without value or fallback */
	size_t         mlen;
	struct mq_buf  required;    /* "name," for each field without fallback */
};

static int alpha_(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static const char *value(const struct mq_tmpl_fields *f, const char *name,
    size_t n)
{
	for (int i = 0; i < f->n; i++)
		if (strlen(f->names[i]) == n && memcmp(f->names[i], name, n) == 0)
			return f->values[i];
	return NULL;
}

/* "{{" blank* name blank* ( "}}" | "|" fallback "}}" ), the fallback
 * holding neither "}}" nor "{{" ("{{" always opens a placeholder). Returns
 * the length of the placeholder at t, 0 when it is not one. */
static size_t placeholder(const char *t, const char **name, size_t *nlen,
    const char **fb, size_t *fblen)
{
	size_t i = 2;

	while (t[i] == ' ' || t[i] == '\t')
		i++;
	if (!alpha_((unsigned char)t[i]))
		return 0;
	*name = t + i;
	while (alpha_((unsigned char)t[i]) || (t[i] >= '0' && t[i] <= '9'))
		i++;
	*nlen = (size_t)(t + i - *name);
	while (t[i] == ' ' || t[i] == '\t')
		i++;
	*fb = NULL;
	if (t[i] == '}' && t[i + 1] == '}')
		return i + 2;
	if (t[i] != '|')
		return 0;
	*fb = t + ++i;
	for (; t[i] != '\0'; i++) {
		if (t[i] == '{' && t[i + 1] == '{')
			return 0;
		if (t[i] == '}' && t[i + 1] == '}') {
			*fblen = (size_t)(t + i - *fb);
			return i + 2;
		}
	}
	return 0;
}

static void reference(const char *t, const struct mq_tmpl_fields *f,
    struct ref *r)
{
	const char *name, *fb, *v;
	size_t i = 0, n, nlen, fblen = 0;

	memset(r, 0, sizeof *r);
	while (t[i] != '\0') {
		if (!(t[i] == '{' && t[i + 1] == '{')) {
			mq_buf_put(&r->out, t + i++, 1);
			continue;
		}
		if ((n = placeholder(t + i, &name, &nlen, &fb, &fblen)) == 0)
			return;
		v = value(f, name, nlen);
		if (v != NULL && *v != '\0')
			mq_buf_puts(&r->out, v);
		else if (fb != NULL)
			mq_buf_put(&r->out, fb, fblen);
		else if (r->missing == NULL) {
			r->missing = name;
			r->mlen = nlen;
		}
		if (fb == NULL) {
			mq_buf_put(&r->required, name, nlen);
			mq_buf_put(&r->required, ",", 1);
		}
		i += n;
	}
	mq_buf_put(&r->out, "", 0);
	mq_buf_put(&r->required, "", 0);
	if (r->out.oom || r->required.oom)
		fz_fail("out of memory");
	r->ok = 1;
}

static void ref_free(struct ref *r)
{
	free(r->out.p);
	free(r->required.p);
}

/* --- the properties ---------------------------------------------------- */

static int add_required(const char *name, size_t len, void *arg)
{
	mq_buf_put(arg, name, len);
	mq_buf_put(arg, ",", 1);
	return 0;
}

static char *escape(const char *s)
{
	struct mq_buf b = { NULL, 0, 0, 0 };

	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':  mq_buf_puts(&b, "&amp;");  break;
		case '<':  mq_buf_puts(&b, "&lt;");   break;
		case '>':  mq_buf_puts(&b, "&gt;");   break;
		case '"':  mq_buf_puts(&b, "&quot;"); break;
		case '\'': mq_buf_puts(&b, "&#39;");  break;
		default:   mq_buf_put(&b, s, 1);
		}
	}
	mq_buf_put(&b, "", 0);
	if (b.oom)
		fz_fail("out of memory");
	return b.p;
}

static size_t count(const char *s, char c)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == c;
	return n;
}

/* Renders and checks the outcome against the reference. */
static char *render(const char *t, const struct mq_tmpl_fields *f, int mode,
    const struct ref *r, const struct mq_err *check_err)
{
	struct mq_err err;
	char *out = NULL;
	int rc;

	mq_err_clear(&err);
	rc = mq_tmpl_render(t, f, mode, &out, &err);
	if (!r->ok) {
		if (rc != MQ_PERM || out != NULL ||
		    strcmp(err.msg, check_err->msg) != 0 || err.ex != EX_CONFIG)
			fz_fail("render of a refused template: rc %d '%s', "
			    "check said '%s'", rc, err.msg, check_err->msg);
		return NULL;
	}
	if (r->missing != NULL) {
		char want[sizeof err.msg];

		snprintf(want, sizeof want, "missing field '%.*s'",
		    (int)r->mlen, r->missing);
		if (rc != MQ_PERM || out != NULL || err.ex != EX_DATAERR ||
		    strcmp(err.msg, want) != 0)
			fz_fail("render: rc %d '%s', want '%s'", rc, err.msg,
			    want);
		return NULL;
	}
	if (rc != MQ_OK || out == NULL)
		fz_fail("render of a good template failed: %s", err.msg);
	return out;
}

static void check_html(const char *t, const struct mq_tmpl_fields *f,
    const struct ref *r, const struct mq_err *check_err)
{
	char *esc_s[MAXF], *plain_s[MAXF], *html, *text, *nolt;
	const char *esc_v[MAXF], *plain_v[MAXF];
	struct mq_tmpl_fields esc = *f, plain = *f;
	struct ref r2;

	for (int i = 0; i < f->n; i++) {
		esc_v[i] = esc_s[i] = escape(f->values[i]);
		if ((plain_s[i] = strdup(f->values[i])) == NULL)
			fz_fail("out of memory");
		for (char *p = plain_s[i]; *p != '\0'; p++)
			if (*p == '<')
				*p = '_';
		plain_v[i] = plain_s[i];
	}
	esc.values = esc_v;
	plain.values = plain_v;
	html = render(t, f, MQ_TMPL_HTML, r, check_err);
	reference(t, &esc, &r2);
	if (html != NULL && strcmp(html, r2.out.p) != 0)
		fz_fail("HTML rendering '%s', want '%s'", html, r2.out.p);
	text = render(t, &esc, MQ_TMPL_TEXT, r, check_err);
	nolt = render(t, &plain, MQ_TMPL_HTML, r, check_err);
	/* as many '<' as with values that hold none: none came from a value */
	if (html != NULL && count(html, '<') != count(nolt, '<'))
		fz_fail("a value brought a '<' into HTML: '%s'", html);
	if (html != NULL && strcmp(html, text) != 0)
		fz_fail("HTML rendering differs from escaped text rendering");
	for (int i = 0; i < f->n; i++) {
		free(esc_s[i]);
		free(plain_s[i]);
	}
	ref_free(&r2);
	free(html);
	free(text);
	free(nolt);
}

static void check_all(const char *t, const struct mq_tmpl_fields *f)
{
	struct mq_buf req = { NULL, 0, 0, 0 };
	struct mq_err err;
	struct ref r;
	char *out;
	int rc;

	reference(t, f, &r);
	mq_err_clear(&err);
	rc = mq_tmpl_check(t, &err);
	if ((rc == MQ_OK) != r.ok)
		fz_fail("check says %s, the grammar says %s: '%s' (%s)",
		    rc == MQ_OK ? "good" : "bad", r.ok ? "good" : "bad", t,
		    err.msg);
	if (rc != MQ_OK && (err.ex != EX_CONFIG || err.msg[0] == '\0'))
		fz_fail("check failed without a message");
	if (r.ok) {
		mq_tmpl_required(t, add_required, &req);
		mq_buf_put(&req, "", 0);
		if (strcmp(req.p, r.required.p) != 0)
			fz_fail("required fields '%s', want '%s'", req.p,
			    r.required.p);
	}
	out = render(t, f, MQ_TMPL_TEXT, &r, &err);
	if (out != NULL && strcmp(out, r.out.p) != 0)
		fz_fail("rendering '%s', want '%s'", out, r.out.p);
	check_html(t, f, &r, &err);
	free(out);
	free(req.p);
	ref_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *names[MAXF], *values[MAXF];
	struct mq_tmpl_fields f = { names, values, 0 };
	struct fz_parts p;

	if (size > 65536)
		return 0;
	fz_split(&p, data, size, 1 + 2 * MAXF);
	for (int i = 1; i + 1 < p.n; i += 2) {
		names[f.n] = p.s[i];
		values[f.n++] = p.s[i + 1];
	}
	/* flag bit 0: the fields in reverse, so a repeated name's first
	 * occurrence changes */
	if (p.flags & 1)
		for (int i = 0; i < f.n / 2; i++) {
			const char *n = names[i], *v = values[i];

			names[i] = names[f.n - 1 - i];
			values[i] = values[f.n - 1 - i];
			names[f.n - 1 - i] = n;
			values[f.n - 1 - i] = v;
		}
	check_all(p.s[0], &f);
	fz_parts_free(&p);
	return 0;
}
