/*
 * Domains where anyone can have an address (free mail): a reply from one
 * says nothing about a company, so stop_on_reply = "domain" never stops
 * the other leads of such a domain. The list is built in; mailq-fetch(8)
 * prints it.
 */
#ifndef MQ_FREEMAIL_H
#define MQ_FREEMAIL_H

/* Nonzero when domain (any case) is a free-mail domain. */
int mq_freemail(const char *domain);

/* The list, NULL-terminated. Static. */
const char *const *mq_freemail_list(void);

#endif
