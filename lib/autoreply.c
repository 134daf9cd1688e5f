/*
 * Automatic replies and their return dates: see autoreply.h. The
 * markers are read in their order of trust: a header field a program
 * set, then a read receipt's report type, and last the Subject, which a
 * person could have written. A return date needs its keyword, because
 * an automatic reply quotes dates of every kind (the day it was sent,
 * the message it answers); dates that disagree give none at all.
 */
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "autoreply.h"
#include "field.h"
#include "fold.h"

static const struct { const char *name; int m; } months[] = {
	{ "january", 1 }, { "february", 2 }, { "march", 3 }, { "april", 4 },
	{ "may", 5 }, { "june", 6 }, { "july", 7 }, { "august", 8 },
	{ "september", 9 }, { "october", 10 }, { "november", 11 },
	{ "december", 12 }, { "jan", 1 }, { "feb", 2 }, { "mar", 3 },
	{ "apr", 4 }, { "jun", 6 }, { "jul", 7 }, { "aug", 8 }, { "sep", 9 },
	{ "sept", 9 }, { "oct", 10 }, { "nov", 11 }, { "dec", 12 },
	{ "stycznia", 1 }, { "lutego", 2 }, { "marca", 3 }, { "kwietnia", 4 },
	{ "maja", 5 }, { "czerwca", 6 }, { "lipca", 7 }, { "sierpnia", 8 },
	{ "wrzesnia", 9 }, { "pazdziernika", 10 }, { "listopada", 11 },
	{ "grudnia", 12 }, { "januar", 1 }, { "februar", 2 }, { "marz", 3 },
	{ "mai", 5 }, { "juni", 6 }, { "juli", 7 }, { "oktober", 10 },
	{ "dezember", 12 },
};

/* A number of 1..max digits at s; its length, 0 if none. */
static size_t num(const char *s, size_t max, int *v)
{
	size_t n = 0;

	for (*v = 0; n < max && g_ascii_isdigit(s[n]); n++)
		*v = *v * 10 + (s[n] - '0');
	return n > 0 && !g_ascii_isdigit(s[n]) ? n : 0;
}

/* A month's name at s (a whole word, maybe with a "."); its length. */
static size_t month(const char *s, int *m)
{
	size_t n = 0;

	while (s[n] >= 'a' && s[n] <= 'z')
		n++;
	if (mq_fold_is_word_char(s + n))
		return 0;
	for (size_t i = 0; n > 0 && i < G_N_ELEMENTS(months); i++)
		if (strlen(months[i].name) == n &&
		    strncmp(s, months[i].name, n) == 0) {
			*m = months[i].m;
			return n + (s[n] == '.');
		}
	return 0;
}

/* "7th", "7.", "7": a day; its length. */
static size_t day(const char *s, int *d)
{
	size_t n = num(s, 2, d);

	if (n == 0)
		return 0;
	if (s[n] == '.')
		return n + 1;
	if (strncmp(s + n, "st", 2) == 0 || strncmp(s + n, "nd", 2) == 0 ||
	    strncmp(s + n, "rd", 2) == 0 || strncmp(s + n, "th", 2) == 0)
		return n + 2;
	return n;
}

size_t mq_autoreply_date_at(const char *s, int *y, int *m, int *d)
{
	const char *p;
	size_t n;

	if (num(s, 4, y) == 4 && s[4] == '-' && (n = num(s + 5, 2, m)) > 0 &&
	    s[5 + n] == '-') {
		p = s + 6 + n;
		return (n = num(p, 2, d)) > 0 ? (size_t)(p + n - s) : 0;
	}
	if ((n = num(s, 2, d)) > 0 && s[n] == '.') {
		p = s + n + 1;
		if ((n = num(p, 2, m)) > 0 && p[n] == '.' &&
		    num(p + n + 1, 4, y) == 4)
			return (size_t)(p + n + 5 - s);
	}
	if ((n = day(s, d)) > 0 && s[n] == ' ') {
		p = s + n + 1;
		if ((n = month(p, m)) > 0 && p[n] == ' ' &&
		    num(p + n + 1, 4, y) == 4)
			return (size_t)(p + n + 5 - s);
	}
	if ((n = month(s, m)) > 0 && s[n] == ' ') {
		p = s + n + 1;
		if ((n = day(p, d)) > 0) {
			p += n + (p[n] == ',');
			if (*p == ' ' && num(p + 1, 4, y) == 4)
				return (size_t)(p + 5 - s);
		}
	}
	return 0;
}

/* The words that may come between a keyword and its date. */
static int filler(const char *w)
{
	static const char *const f[] = { "on", "the", "in", "office", "at",
	    "work", "am", "dem", "den", "dnia", "w", "dniu", "im", "buro",
	    "biura", "biurze", "monday", "tuesday", "wednesday", "thursday",
	    "friday", "saturday", "sunday", "montag", "dienstag", "mittwoch",
	    "donnerstag", "freitag", "samstag", "sonntag", "poniedzialek",
	    "wtorek", "srode", "sroda", "czwartek", "piatek", "sobote",
	    "niedziele", "and", "including", "einschliesslich", "wlacznie" };

	for (size_t i = 0; i < G_N_ELEMENTS(f); i++)
		if (strcmp(w, f[i]) == 0)
			return 1;
	return 0;
}

/* Whether the words before a date (ls up to p: its line and the one
 * before, folded) end in a keyword saying the sender is back then,
 * fillers aside; "ab" counts only with "wieder" after the date, at
 * after. */
static int says_back(const char *ls, const char *p, const char *after)
{
	static const char *const kw[] = { "back", "return", "returning",
	    "until", "till", "do", "wracam", "powrot", "powrotu", "bis",
	    "zuruck", "wieder", "ab" };
	char buf[96], tail[48], *w[16], *save = NULL, *t;
	int n = 0;

	if (p - ls > (ptrdiff_t)sizeof buf - 1)
		ls = p - (sizeof buf - 1);
	snprintf(buf, sizeof buf, "%.*s", (int)(p - ls), ls);
	g_strdelimit(buf, "\n", ' ');
	for (t = strtok_r(buf, " ", &save); t != NULL;
	    t = strtok_r(NULL, " ", &save)) {
		t[strcspn(t, ",;:")] = '\0';
		if (n == (int)G_N_ELEMENTS(w)) {   /* keep the last ones */
			memmove(w, w + 1, sizeof w - sizeof *w);
			n--;
		}
		w[n++] = t;
	}
	snprintf(tail, sizeof tail, "%.*s", (int)strcspn(after, "\n"), after);
	for (int i = n - 1; i >= 0 && i >= n - 5; i--) {
		for (size_t k = 0; k < G_N_ELEMENTS(kw); k++)
			if (strcmp(w[i], kw[k]) == 0)
				return strcmp(w[i], "ab") != 0 ||
				    mq_fold_has_word(tail, "wieder");
		if (!filler(w[i]))
			return 0;
	}
	return 0;
}

/* The day y-m-d at 00:00 UTC; 0 when it is out of range or no date. */
static time_t midnight(int y, int m, int d)
{
	struct tm tm;
	time_t t;

	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	if (y < 2000 || y > 2100 || m < 1 || m > 12 || d < 1 ||
	    (t = timegm(&tm)) == (time_t)-1 || tm.tm_mday != d)
		return 0;
	return t;
}

time_t mq_autoreply_back_on(const char *fsubj, const char *ftext,
    time_t date)
{
	char *s = g_strconcat(fsubj, "\n", ftext, NULL);
	const char *ls = s, *prev = s, *p;
	time_t lo = 0, hi = 0, t;
	int y, m, d;
	size_t n;

	mq_fold_cut(s, 4096);
	for (p = s; *p != '\0'; p++) {
		if (*p == '\n') {
			prev = ls;
			ls = p + 1;
		}
		if ((p > s && mq_fold_is_word_char(
		    g_utf8_find_prev_char(s, p))) ||
		    (n = mq_autoreply_date_at(p, &y, &m, &d)) == 0)
			continue;
		if ((t = midnight(y, m, d)) != 0 && says_back(prev, p, p + n)) {
			lo = lo == 0 || t < lo ? t : lo;
			hi = t > hi ? t : hi;
		}
		p += n - 1;
	}
	g_free(s);
	if (hi == 0 || hi - lo > 3 * 86400 || (date != 0 &&
	    (hi < date - 86400 || hi > date + 400 * 86400)))
		return 0;
	return hi;
}

/* Precedence: auto_reply, bulk or junk. */
static int precedence(const char *v)
{
	char *f = g_strstrip(mq_fold(v));
	int hit;

	hit = strcmp(f, "auto_reply") == 0 || strcmp(f, "bulk") == 0 ||
	    strcmp(f, "junk") == 0;
	g_free(f);
	return hit;
}

/* A header field a program sets on what it sends unasked. */
static int marked(const struct mq_inmsg *m, struct mq_inbound *out)
{
	static const char *const marks[] = { "X-Autoreply", "X-Autorespond",
	    "X-MS-Exchange-Generated-Message-Source",
	    "X-MS-Exchange-Inbox-Rules-Loop" };
	const char *v;

	if ((v = mq_inmsg_header(m, "Auto-Submitted")) != NULL &&
	    g_ascii_strncasecmp(v + strspn(v, " \t"), "no", 2) != 0)
		return mq_field_verdict(out, MQ_CLASS_AUTO_REPLY,
		    "Auto-Submitted: %.60s", v);
	for (size_t i = 0; i < G_N_ELEMENTS(marks); i++)
		if ((v = mq_inmsg_header(m, marks[i])) != NULL)
			return mq_field_verdict(out, MQ_CLASS_AUTO_REPLY,
			    "%s: %.60s", marks[i], v);
	if ((v = mq_inmsg_header(m, "X-Autogenerated")) != NULL &&
	    g_ascii_strncasecmp(v + strspn(v, " \t"), "reply", 5) == 0)
		return mq_field_verdict(out, MQ_CLASS_AUTO_REPLY,
		    "X-Autogenerated: %.60s", v);
	if ((v = mq_inmsg_header(m, "Precedence")) != NULL && precedence(v))
		return mq_field_verdict(out, MQ_CLASS_AUTO_REPLY,
		    "Precedence: %.60s", v);
	return 0;
}

int mq_autoreply(const struct mq_inmsg *m, struct mq_inbound *out)
{
	static const char *const subj[] = { "automatyczna odpowiedz",
	    "odpowiedz automatyczna", "autoodpowiedz", "nieobecnosc",
	    "out of office", "automatic reply", "auto-reply", "autoreply",
	    "auto reply", "abwesenheitsnotiz", "automatische antwort",
	    "abwesend" };
	int hit = marked(m, out);

	if (!hit && m->p.mdn)
		hit = mq_field_verdict(out, MQ_CLASS_AUTO_REPLY, "a read "
		    "receipt (report-type=disposition-notification)");
	for (size_t i = 0; !hit && i < G_N_ELEMENTS(subj); i++)
		if (mq_fold_starts_word(m->fsubj, subj[i]))
			hit = mq_field_verdict(out, MQ_CLASS_AUTO_REPLY,
			    "Subject starts with \"%s\"", subj[i]);
	if (hit)
		out->back_on = mq_autoreply_back_on(m->fsubj, m->ftext,
		    out->date);
	return hit;
}
