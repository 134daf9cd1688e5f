/*
 * The Maildir source of inbox.h: maildir:///absolute/path, with Maildir++
 * folders (folder "Spam" is path/.Spam, "a/b" is path/.a.b, a name beyond
 * ASCII is in IMAP modified UTF-7 as Dovecot and Courier write it; "INBOX"
 * is the path itself). Files are only opened read-only and read (without
 * updating their access time where the system lets us): nothing is ever
 * renamed, touched or deleted, so a mail client or IMAP server may move a
 * file from new/ to cur/ or change its flags at any time, and a message
 * is found again by its unique name wherever it went.
 */
#ifndef MQ_MAILDIR_H
#define MQ_MAILDIR_H

#include "inbox_source.h"

/* Static; its handles are freed by its close. */
extern const struct mq_inbox_source mq_maildir_source;

#endif
