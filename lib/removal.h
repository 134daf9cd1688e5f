/*
 * Requests to be removed: mail sent to one of our unsubscribe addresses
 * (To, Cc or Delivered-To), or whose Subject or first lines ask for it
 * in the words of the lexicon, folded (fold.h):
 *   English  unsubscribe, remove me, remove us, remove my address, take
 *            me off, take us off, opt out, opt-out, stop emailing, stop
 *            sending, do not contact, don't contact me
 *   Polish   wypisz mnie, wypisz, wypiszcie, wypisać, wypisanie, usuń
 *            mnie, usuńcie mnie, usunąć mnie, usunięcie z listy, proszę
 *            usunąć, nie chcę otrzymywać, rezygnuję, nie kontaktuj, nie
 *            piszcie, nie przysyłać
 *   German   abmelden, austragen, keine weiteren e-mails
 * The first lines are the first MQ_REMOVAL_LINES non-empty lines of the
 * text, skipping lines quoted with ">" and stopping at a quote header or
 * a signature, so that our own footer quoted below a reply never
 * counts. Internal to the classifier.
 */
#ifndef MQ_REMOVAL_H
#define MQ_REMOVAL_H

#include "classify.h"
#include "inmsg.h"

#define MQ_REMOVAL_LINES 5

/* The rule by address: when m's To, Cc or a Delivered-To names one of
 * the n addresses of unsub, the verdict goes into out and it returns 1;
 * 0 otherwise. */
int mq_removal_to_unsub(const struct mq_inmsg *m, const char *const *unsub,
    int n, struct mq_inbound *out);

/* The rule by words: when the folded Subject or the first lines of the
 * folded text hold a word of the lexicon, the verdict goes into out and
 * it returns 1; 0 otherwise. */
int mq_removal_asks(const char *fsubj, const char *ftext,
    struct mq_inbound *out);

/* Whether the folded line l (blanks around it taken off) ends the words
 * of the sender: a quote's header ("... wrote:", "From:") or a
 * signature ("-- "). */
int mq_removal_stop_line(const char *l);

#endif
