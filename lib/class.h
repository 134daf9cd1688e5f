/*
 * The classes of inbound mail and their names as stored and shown. Apart
 * from the classifier (classify.h), so that the store and the reports use
 * them without the MIME parser.
 */
#ifndef MQ_CLASS_H
#define MQ_CLASS_H

enum mq_class {
	MQ_CLASS_OWN,          /* from one of our mailboxes: ignored */
	MQ_CLASS_HARD_BOUNCE,  /* a report of a permanent failure (5.x.x) */
	MQ_CLASS_SOFT_BOUNCE,  /* a temporary failure (4.x.x) or a delay */
	MQ_CLASS_AUTO_REPLY,   /* out of office and other automatic replies */
	MQ_CLASS_UNSUBSCRIBE,  /* to an unsubscribe address, or asks to be
	                          removed in its first lines */
	MQ_CLASS_REPLY,        /* a person wrote: a reply if it matches */
	MQ_CLASS_UNMATCHED     /* none of these, e.g. a report that
	                          something was delivered */
};
#define MQ_CLASS_COUNT 7

/* The class's name as stored and shown: "own", "hard_bounce",
 * "soft_bounce", "auto_reply", "unsubscribe", "reply", "unmatched".
 * Static. */
const char *mq_class_name(enum mq_class c);

/* The class called name, or -1. */
int mq_class_from_name(const char *name);

#endif
