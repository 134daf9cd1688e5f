/*
 * HTML as text: see htmltext.h. One pass over the bytes: a tag is read
 * to its ">" (a line break when it is a block, a count of the open
 * blockquotes, a switch for head, style and script), an entity decoded
 * when known, and every other byte kept unless it is quoted or hidden;
 * line ends in the source are only spaces, as a browser shows them.
 */
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "htmltext.h"

static const char *const block_tags[] = { "br", "p", "div", "tr", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote", "hr" };

/* An HTML entity at s appended to t; returns its length, 0 if unknown. */
static size_t entity(const char *s, GString *t)
{
	static const struct { const char *e; const char *u; } named[] = {
		{ "&nbsp;", " " }, { "&amp;", "&" }, { "&lt;", "<" },
		{ "&gt;", ">" }, { "&quot;", "\"" }, { "&apos;", "'" },
	};
	char *end;
	long u;

	for (size_t i = 0; i < G_N_ELEMENTS(named); i++)
		if (strncmp(s, named[i].e, strlen(named[i].e)) == 0) {
			g_string_append(t, named[i].u);
			return strlen(named[i].e);
		}
	if (s[1] != '#')
		return 0;
	u = s[2] == 'x' || s[2] == 'X' ? strtol(s + 3, &end, 16) :
	    strtol(s + 2, &end, 10);
	if (*end != ';' || end - s > 10 || u <= 0 || u > 0x10ffff ||
	    !g_unichar_validate((gunichar)u))
		return 0;
	g_string_append_unichar(t, (gunichar)u);
	return (size_t)(end + 1 - s);
}

/* One tag at s (just past its "<"): a line break for the block ones;
 * *quote counts the open blockquotes, *skip is set inside head, style
 * and script. Returns where the tag ends, NULL when it never does. */
static const char *tag(const char *s, GString *t, int *quote, int *skip)
{
	int close = *s == '/';
	size_t n;

	s += close;
	n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789");
	for (size_t i = 0; i < G_N_ELEMENTS(block_tags); i++)
		if (strlen(block_tags[i]) == n &&
		    g_ascii_strncasecmp(s, block_tags[i], n) == 0)
			g_string_append_c(t, '\n');
	if (n == 10 && g_ascii_strncasecmp(s, "blockquote", n) == 0)
		*quote += close ? (*quote > 0 ? -1 : 0) : 1;
	if ((n == 4 && g_ascii_strncasecmp(s, "head", n) == 0) ||
	    (n == 5 && g_ascii_strncasecmp(s, "style", n) == 0) ||
	    (n == 6 && g_ascii_strncasecmp(s, "script", n) == 0))
		*skip = !close;
	s = strchr(s, '>');
	return s != NULL ? s + 1 : s;
}

char *mq_htmltext(const char *h, size_t max)
{
	GString *t = g_string_new(NULL);
	int quote = 0, skip = 0;
	size_t n;

	while (h != NULL && *h != '\0' && t->len < max) {
		if (strncmp(h, "<!--", 4) == 0) {
			h = strstr(h + 4, "-->");
			h = h != NULL ? h + 3 : NULL;
		} else if (*h == '<') {
			h = tag(h + 1, t, &quote, &skip);
		} else if (skip || quote > 0) {
			h++;
		} else if (*h == '&' && (n = entity(h, t)) > 0) {
			h += n;
		} else {
			g_string_append_c(t, *h == '\n' || *h == '\r' ? ' ' :
			    *h);
			h++;
		}
	}
	return g_string_free(t, FALSE);
}
