/*
 * One claimed message, from claim to outcome: compose it from the
 * variant's templates and the lead's fields, hand it to the mailbox's
 * transport (recording the data phase just before the first body byte),
 * and record what happened. Nothing here holds a transaction open while
 * the network is used.
 */
#ifndef MQ_DELIVER_H
#define MQ_DELIVER_H

#include <stddef.h>
#include <time.h>

#include "conf.h"
#include "db.h"
#include "db_campaign.h"
#include "db_claim.h"
#include "db_outcome.h"
#include "err.h"
#include "msg.h"
#include "smtp.h"

/* A composed message. All malloc'd; free with mq_deliver_free. */
struct mq_composed {
	char  *data;                  /* the whole message */
	size_t len;
	char  *subject;               /* rendered, for reports */
	char   message_id[MQ_MSG_ID_MAX];
	char   unsub_mailto[400];     /* "ADDR?subject=unsubscribe", or "" */
	char   unsub_url[1024];       /* the one-click URL, or "" */
	const struct mq_conf_mailbox *mb;   /* points into the config */
};

/* Composes the message of claim c from its parts (as the claim handed
 * them back) into *m: pure, no store. MQ_PERM with EX_DATAERR (a template
 * needs a field the lead lacks, a header would break), EX_CONFIG (the
 * mailbox is not in the config). */
int mq_deliver_compose(const struct mq_conf *conf, const struct mq_claim *c,
    const struct mq_db_parts *parts, time_t now, struct mq_composed *m,
    struct mq_err *err);

/* Frees what m holds (not m); a zeroed m is fine. */
void mq_deliver_free(struct mq_composed *m);

/* What became of a message, for logs and counts. */
struct mq_delivered {
	enum mq_outcome outcome;
	int             code;
	char            reply[512];
	struct mq_recorded rec;       /* stale, mailbox failed or back */
	int             unavailable;  /* the mailbox may not be used again
	                                 this run (its OAuth2 provider is out
	                                 of reach) */
};

/* A message between its claim and its outcome, its SMTP transfer run by
 * the caller (one thread per flight). */
struct mq_flight;

/* Composes claim c of campaign camp from its parts (which the flight
 * takes over: *parts is zeroed) and prepares its transfer into *fp (NULL
 * when the message is already done: it could not be composed, or went
 * through a transport that sends at once ("file"), and its outcome is
 * recorded and in *d). camp must outlive the flight. MQ_OK whenever an
 * outcome was recorded or a flight set up; MQ_TEMP/MQ_PERM when
 * recording failed (the claim then stays for mailq-reclaim). */
int mq_deliver_start(struct mq_db *db, const struct mq_conf *conf,
    const struct mq_owner *owner, const struct mq_db_campaign *camp,
    const struct mq_claim *c, struct mq_db_parts *parts,
    struct mq_flight **fp, struct mq_delivered *d, struct mq_err *err);

/* The flight's curl easy handle (owned by the flight). */
CURL *mq_flight_easy(struct mq_flight *f);

/* Runs the flight's transfer to its end (curl_easy_perform) in the
 * calling thread, its data hook, and then mq_deliver_finish, writing
 * through db: a connection no other thread uses meanwhile, with no
 * transaction open, so that many flights can run at once, one thread and
 * one connection each. */
void mq_flight_perform(struct mq_flight *f, struct mq_db *db);

/* How mq_flight_perform's transfer ended. */
CURLcode mq_flight_result(const struct mq_flight *f);

/* The claim the flight carries. */
const struct mq_claim *mq_flight_claim(const struct mq_flight *f);

/* Once the transfer ended with cc: classifies and records the outcome
 * into *d. The caller then frees the flight. */
int mq_deliver_finish(struct mq_flight *f, CURLcode cc,
    struct mq_delivered *d, struct mq_err *err);

/* Frees f; NULL is fine. */
void mq_flight_free(struct mq_flight *f);

#endif
