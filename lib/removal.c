/*
 * Requests to be removed: see removal.h. A person rarely asks twice or
 * at length: the request is in the Subject or at the top of the text,
 * and the rest of a reply is mostly what it quotes, our own footer
 * (which says "unsubscribe") included. So only the first lines the
 * sender wrote are read, and a word counts only whole.
 */
#include <string.h>

#include "addrlist.h"
#include "field.h"
#include "fold.h"
#include "removal.h"

#define LINE_CAP 1024

static const char *const lexicon[] = {
	"unsubscribe", "remove me", "take me off", "opt out", "opt-out",
	"stop emailing", "stop sending", "do not contact", "don't contact me",
	"remove us", "take us off", "remove my address",
	"wypisz mnie", "wypisz", "wypiszcie", "wypisac", "wypisanie",
	"usun mnie", "usuncie mnie", "usunac mnie", "usuniecie z listy",
	"prosze usunac", "nie chce otrzymywac", "rezygnuje", "nie kontaktuj",
	"nie piszcie", "nie przysylac", "abmelden", "austragen",
	"keine weiteren e-mails", "keine weiteren emails",
};

/* A Delivered-To field naming one of unsub, or NULL. */
static const char *delivered_to(const struct mq_inmsg *m,
    const char *const *unsub, int n, InternetAddressList **owner)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(
	    GMIME_OBJECT(m->msg));
	const char *hit = NULL;

	for (int i = 0; hit == NULL && i < g_mime_header_list_get_count(hl);
	    i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		InternetAddressList *l;

		if (g_ascii_strcasecmp(g_mime_header_get_name(h),
		    "Delivered-To") != 0 || (l = internet_address_list_parse(
		    NULL, g_mime_header_get_value(h))) == NULL)
			continue;
		if ((hit = mq_addrlist_hit(l, unsub, n)) != NULL)
			*owner = l;
		else
			g_object_unref(l);
	}
	return hit;
}

int mq_removal_to_unsub(const struct mq_inmsg *m, const char *const *unsub,
    int n, struct mq_inbound *out)
{
	InternetAddressList *l = NULL;
	const char *hit;

	if ((hit = mq_addrlist_hit(g_mime_message_get_to(m->msg), unsub,
	    n)) != NULL ||
	    (hit = mq_addrlist_hit(g_mime_message_get_cc(m->msg), unsub,
	    n)) != NULL)
		return mq_field_verdict(out, MQ_CLASS_UNSUBSCRIBE, "to %s", hit);
	if ((hit = delivered_to(m, unsub, n, &l)) == NULL)
		return 0;
	mq_field_verdict(out, MQ_CLASS_UNSUBSCRIBE, "Delivered-To %s", hit);
	g_object_unref(l);
	return 1;
}

int mq_removal_stop_line(const char *l)
{
	static const char *const starts[] = { "-- ", "-----", "_____",
	    "from:", "od:", "von:", "sent from my", "wyslane z" };
	static const char *const ends[] = { "wrote:", "napisal:",
	    "napisala:", "napisal(a):", "pisze:", "schrieb:" };
	size_t n = strlen(l);

	if (strcmp(l, "--") == 0)
		return 1;
	for (size_t i = 0; i < G_N_ELEMENTS(starts); i++)
		if (strncmp(l, starts[i], strlen(starts[i])) == 0)
			return 1;
	for (size_t i = 0; i < G_N_ELEMENTS(ends); i++)
		if (n >= strlen(ends[i]) &&
		    strcmp(l + n - strlen(ends[i]), ends[i]) == 0)
			return 1;
	return 0;
}

/* The first word of the lexicon in the folded text s, or NULL. */
static const char *lexicon_word(const char *s)
{
	for (size_t i = 0; i < G_N_ELEMENTS(lexicon); i++)
		if (mq_fold_has_word(s, lexicon[i]))
			return lexicon[i];
	return NULL;
}

int mq_removal_asks(const char *fsubj, const char *ftext,
    struct mq_inbound *out)
{
	const char *p = ftext, *w;
	char line[LINE_CAP];
	int lines = 0;

	if ((w = lexicon_word(fsubj)) != NULL)
		return mq_field_verdict(out, MQ_CLASS_UNSUBSCRIBE, "Subject "
		    "asks to be removed: \"%s\"", w);
	while (lines < MQ_REMOVAL_LINES &&
	    mq_fold_next_line(&p, line, sizeof line)) {
		g_strstrip(line);
		if (line[0] == '\0' || line[0] == '>')
			continue;
		if (mq_removal_stop_line(line))
			break;
		lines++;
		if ((w = lexicon_word(line)) != NULL)
			return mq_field_verdict(out, MQ_CLASS_UNSUBSCRIBE,
			    "asks to be removed in line %d: \"%s\"", lines, w);
	}
	return 0;
}
