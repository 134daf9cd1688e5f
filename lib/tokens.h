/*
 * The OAuth2 token file: per mailbox, the refresh token, the access token
 * and when it expires, and the client they belong to. One line each:
 *
 *   MAILBOX CLIENT_ID EXPIRES REFRESH_TOKEN ACCESS_TOKEN
 *
 * It is mailq's own state, never the database's (tokens are secrets) and
 * never shown: mode 0600, owned by the user, refused otherwise, as a
 * config with a password is. It is replaced whole (a temporary file,
 * fsync, rename, fsync of the directory), so a reader never sees half of
 * it and a run killed while writing leaves the old one.
 *
 * Writers hold an exclusive lock (flock on FILE.lock) from reading the
 * file to renaming the new one, and a run that finds its access token
 * about to expire takes the lock, reads the file again, and refreshes
 * only if no other run did meanwhile: overlapping runs refresh once.
 * That matters because providers rotate refresh tokens: each works once,
 * so two refreshes at once would leave the file holding a dead one. The
 * lock is held only across the refresh, never across a send.
 *
 * Expiry is by the real clock, not MAILQ_NOW: the token's lifetime is the
 * provider's.
 */
#ifndef MQ_TOKENS_H
#define MQ_TOKENS_H

#include "conf.h"
#include "err.h"

/* An access token is refreshed when it has less than this to live. */
#define MQ_TOKENS_MARGIN 300

/* A usable access token for mailbox mb (auth oauth2) into *access
 * (malloc'd; the caller wipes and frees it): the cached one, or a new one
 * from the provider (*refreshed = 1). MQ_PERM with EX_NOPERM when the
 * file has no token for the mailbox, or holds one of another client_id,
 * or the provider refuses it (revoked, expired): the message says to run
 * mailq-auth; with EX_NOPERM also when the file is readable by others;
 * MQ_TEMP when the provider cannot be reached or answers 5xx, or the lock
 * stays taken. */
int mq_tokens_access(const char *path, const struct mq_conf_mailbox *mb,
    char **access, int *refreshed, struct mq_err *err);

/* Stores a new grant for mailbox (mailq-auth): refresh and access token,
 * the access token's lifetime in seconds, and the client it came from.
 * Creates the file (0600) if needed. */
int mq_tokens_put(const char *path, const char *mailbox,
    const char *client_id, const char *refresh, const char *access,
    long expires_in, struct mq_err *err);

/* The mailbox's access token was refused by a server: it is taken as
 * expired, so the next use refreshes it. Quietly does nothing when the
 * file or the entry is missing. */
int mq_tokens_expire(const char *path, const char *mailbox,
    struct mq_err *err);

#endif
