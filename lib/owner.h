/*
 * Claim owners: a claim records the host, pid and process start time of
 * the run that holds it, so that a later run can tell a live owner from a
 * dead one even after the pid was reused.
 */
#ifndef MQ_OWNER_H
#define MQ_OWNER_H

#include "err.h"

/* Who holds a claim: enough for mailq-reclaim to tell if it is alive. */
struct mq_owner {
	char      host[256];
	long      pid;
	long long start;          /* process start time, clock ticks since boot */
};

/* Fills o with this process. MQ_PERM (EX_OSERR) if /proc is unreadable. */
int mq_owner_self(struct mq_owner *o, struct mq_err *err);

/* 1 if o is this host's live process (same pid and start time), 0 if it
 * is gone, -1 if o is another host's (cannot tell). */
int mq_owner_alive(const struct mq_owner *o);

#endif
