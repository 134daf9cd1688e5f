/*
 * Delivery status notifications: the report part of RFC 3464
 * (message/delivery-status) and RFC 6533 (message/global-delivery-
 * status), read recipient by recipient; the status codes of RFC 3463 and
 * RFC 5321 in the text of a reply; the returned message's Message-ID;
 * and the class a report earns from its recipients. The reports without
 * a report part (textbounce.h) gather their recipients with the same
 * functions. Internal to the classifier.
 */
#ifndef MQ_DSN_H
#define MQ_DSN_H

#include <stddef.h>

#include "classify.h"
#include "inmsg.h"

/* The rule: when m has a delivery-status part, its recipients (else
 * X-Failed-Recipients') and the returned message's Message-ID go into
 * out, with the verdict of mq_dsn_decide, and it returns 1; 0, with out
 * untouched, when m has no such part. */
int mq_dsn_report(const struct mq_inmsg *m, struct mq_inbound *out);

/* The length of an enhanced status code (RFC 3463, "5.1.1") at s, which
 * is inside the string base; 0 when there is none there, e.g. in an IP
 * address or a date. */
size_t mq_dsn_enhanced_at(const char *base, const char *s);

/* The class digit (2, 4, 5) of the first status code in s, an enhanced
 * one preferred, with that code in status[cap] ("" for a bare "550");
 * 0, status "", when s has none. */
int mq_dsn_find_code(const char *s, char *status, size_t cap);

/* An address of type utf-8 (RFC 6533 section 3) into dst[cap], each
 * "\x{HEX}" (2 to 6 hex digits naming a Unicode scalar value other than
 * NUL) replaced by that character in UTF-8; anything else, a malformed
 * escape included, copied as it is. Cut short of cap between escapes;
 * cap must not be 0. */
void mq_dsn_utf8_addr(char *dst, size_t cap, const char *s);

/* A new recipient of out for the address written at s (mq_field_addr)
 * with action; NULL, and out unchanged, when out has no room or s holds
 * no address. The recipient belongs to out. */
struct mq_dsn_rcpt *mq_dsn_new_rcpt(struct mq_inbound *out, const char *s,
    const char *action);

/* A line of the remote server's reply about r: the first line with a
 * status code gives r its status and diag; later ones change nothing. */
void mq_dsn_reply_line(struct mq_dsn_rcpt *r, const char *line);

/* The addresses of m's X-Failed-Recipients as recipients with action,
 * when out has none yet; each one's status and diag are the first code
 * m's text gives. */
void mq_dsn_failed_rcpts(const struct mq_inmsg *m, struct mq_inbound *out,
    const char *action);

/* The returned message's Message-ID into out->orig_message_id: from m's
 * message/rfc822 part, its headers part, a Message-ID line quoted in its
 * text, else m's own In-Reply-To when it names exactly one message (as
 * the reports of Gmail and Microsoft 365 do). "" when none says. */
void mq_dsn_orig_id(const struct mq_inmsg *m, struct mq_inbound *out);

/* The verdict on a report called what (for the reason) from out's
 * recipients: a permanent failure of any makes a hard bounce, else a
 * temporary one a soft bounce, else (only deliveries, relays and the
 * like) unmatched; with no recipient, the class none. Returns 1. */
int mq_dsn_decide(struct mq_inbound *out, const char *what,
    enum mq_class none);

#endif
