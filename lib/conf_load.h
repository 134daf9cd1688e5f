/*
 * The loaders of the config's objects, private to the config loader:
 * lib/conf.c reads the top level and calls them in the file's order of
 * dependence (senders, then mailboxes, which name a sender, then
 * campaigns, which name both); each fills the i-th slot of its array in
 * c->conf, which the caller allocated zeroed. The tools they read with
 * are in conf_read.h. MQ_OK, or MQ_PERM with c->err set (EX_CONFIG; an
 * unreadable or exposed secret: EX_NOINPUT or EX_NOPERM; EX_OSERR).
 */
#ifndef MQ_CONF_LOAD_H
#define MQ_CONF_LOAD_H

#include "conf_read.h"

/* Sender i from group g (conf_mailbox.c). */
int mq_conf_load_sender(struct ctx *c, const config_setting_t *g, int i);

/* Mailbox i from group g, its sender already loaded (conf_mailbox.c). */
int mq_conf_load_mailbox(struct ctx *c, const config_setting_t *g, int i);

/* unsubscribe_mailto of g, a mailbox or a campaign: *out NULL when absent
 * (conf_mailbox.c). */
int mq_conf_load_mailto(struct ctx *c, const config_setting_t *g,
    const char *what, char **out);

/* Campaign i from group g, its sender and mailboxes already loaded
 * (conf_campaign.c). */
int mq_conf_load_campaign(struct ctx *c, const config_setting_t *g, int i);

#endif
