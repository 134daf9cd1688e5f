/*
 * Reports of a failed delivery that have no report part, read by their
 * well-known shapes: qmail ("This is the qmail-send program"), Exim's
 * plain text ("could not be delivered to one or more of its
 * recipients"), and any mail from a mail system (or with
 * X-Failed-Recipients) whose Subject says delivery failed. Mail from
 * postmaster or MAILER-DAEMON that says none of this is no bounce.
 * Internal to the classifier.
 */
#ifndef MQ_TEXTBOUNCE_H
#define MQ_TEXTBOUNCE_H

#include "classify.h"
#include "inmsg.h"

/* The rule: when m has one of the shapes, its recipients and the
 * returned message's Message-ID go into out with the verdict (a Subject
 * saying "delay" makes the failure temporary), and it returns 1; 0 when
 * it has none of them. out->from must be set. */
int mq_textbounce(const struct mq_inmsg *m, struct mq_inbound *out);

#endif
