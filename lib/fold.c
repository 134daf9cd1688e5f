/*
 * Folding and whole-word matching: see fold.h. One rule of comparison
 * for every list of words the classifier keeps (report subjects,
 * automatic-reply subjects, the removal lexicon, return-date keywords),
 * so that none of them can drift into comparing another way.
 */
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "fold.h"
#include "text.h"

static int is_blank(gunichar u)
{
	return u == ' ' || u == '\t' || u == '\r' || u == 0xa0 || u == '\f' ||
	    u == '\v';
}

char *mq_fold(const char *s)
{
	char *valid = g_utf8_make_valid(s, -1);
	char *cf = g_utf8_casefold(valid, -1);
	char *nfd = g_utf8_normalize(cf, -1, G_NORMALIZE_NFD);
	GString *out = g_string_sized_new(strlen(s) + 1);
	int blank = 0;

	for (const char *p = nfd != NULL ? nfd : ""; *p != '\0';
	    p += g_utf8_skip[(unsigned char)*p]) {
		gunichar u = g_utf8_get_char(p);

		if (u == '\n') {
			g_string_append_c(out, '\n');
			blank = 0;
		} else if (is_blank(u)) {
			blank = 1;
		} else if (g_unichar_type(u) != G_UNICODE_NON_SPACING_MARK) {
			if (blank && out->len > 0 &&
			    out->str[out->len - 1] != '\n')
				g_string_append_c(out, ' ');
			blank = 0;
			if (u == 0x142)
				u = 'l';
			else if (u == 0x2019)
				u = '\'';
			g_string_append_unichar(out, u);
		}
	}
	g_free(valid);
	g_free(cf);
	g_free(nfd);
	return g_string_free(out, FALSE);
}

int mq_fold_is_word_char(const char *s)
{
	return *s != '\0' && g_unichar_isalnum(g_utf8_get_char(s));
}

int mq_fold_has_word(const char *s, const char *w)
{
	size_t n = strlen(w);

	for (const char *p = strstr(s, w); p != NULL; p = strstr(p + 1, w)) {
		const char *prev = p > s ? g_utf8_find_prev_char(s, p) : NULL;

		if ((prev == NULL || !mq_fold_is_word_char(prev)) &&
		    !mq_fold_is_word_char(p + n))
			return 1;
	}
	return 0;
}

int mq_fold_starts_word(const char *s, const char *w)
{
	size_t n = strlen(w);

	return strncmp(s, w, n) == 0 && !mq_fold_is_word_char(s + n);
}

char *mq_fold_cut(char *s, size_t max)
{
	if (strlen(s) > max)
		s[mq_text_cut(s, max)] = '\0';
	return s;
}

int mq_fold_next_line(const char **p, char *buf, size_t cap)
{
	size_t n;

	if (**p == '\0')
		return 0;
	n = strcspn(*p, "\n");
	snprintf(buf, cap, "%.*s", (int)(n < cap ? n : cap - 1), *p);
	buf[strcspn(buf, "\r")] = '\0';
	*p += n + ((*p)[n] == '\n');
	return 1;
}
