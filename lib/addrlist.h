/*
 * Addresses in a message's header fields, as GMime parses them: the
 * first mailbox of a list, whether an address is one of a list of ours,
 * and whether it is a mail system's own (mailer-daemon, postmaster).
 * Addresses compare ignoring ASCII case. Internal to the classifier.
 */
#ifndef MQ_ADDRLIST_H
#define MQ_ADDRLIST_H

#include <gmime/gmime.h>

/* The address of the first mailbox of l, looking into a group; NULL when
 * there is none. It belongs to l. */
const char *mq_addrlist_first(InternetAddressList *l);

/* Whether addr (NULL: no) is one of the n addresses of list (NULL
 * entries skipped). */
int mq_addrlist_has(const char *addr, const char *const *list, int n);

/* The first address of l (groups looked into, two deep; the first 100
 * entries of each list) that is one of the n of ours, or NULL. It
 * belongs to l. */
const char *mq_addrlist_hit(InternetAddressList *l, const char *const *our,
    int n);

/* Whether the lower-case address addr is a mail system's:
 * mailer-daemon@, postmaster@ and their spellings. */
int mq_addrlist_system(const char *addr);

#endif
