/*
 * Talking to an OAuth 2.0 authorization server (RFC 6749) with libcurl:
 * the refresh of an access token, the device authorization grant (RFC
 * 8628) and the exchange of an authorization code with its PKCE verifier
 * (RFC 7636). Requests are form POSTs over HTTPS; replies are JSON, read
 * with SQLite's JSON functions. Nothing here stores a token or prints one:
 * errors carry the server's error code and description only.
 *
 * Results: MQ_OK; MQ_TEMP when the server cannot be reached, times out or
 * answers 5xx (or 429), so a later try may work; MQ_PERM with EX_NOPERM
 * when it refuses the grant or the client (invalid_grant, invalid_client,
 * unauthorized_client, access_denied, expired_token, ...), with
 * EX_PROTOCOL for a reply that is not what RFC 6749 says.
 */
#ifndef MQ_OAUTH_H
#define MQ_OAUTH_H

#include <time.h>

#include "conf.h"
#include "err.h"

#define MQ_OAUTH_TOKEN_MAX 8192    /* bytes of a token, NUL included */

/* Tokens as a server grants them. */
struct mq_oauth_grant {
	char access[MQ_OAUTH_TOKEN_MAX];
	char refresh[MQ_OAUTH_TOKEN_MAX];  /* "" when none came (the old one
	                                      stays valid) */
	long expires_in;                   /* seconds; 3600 when not said */
};

/* A device authorization in progress. */
struct mq_oauth_device {
	char device_code[2048];
	char user_code[128];
	char verification_uri[512];
	long interval;                     /* seconds between polls */
	long expires_in;
};

/* Whether s is a token mailq can keep and send: 1 to MQ_OAUTH_TOKEN_MAX - 1
 * printable ASCII characters, no space. */
int mq_oauth_token_ok(const char *s);

/* A new access token for refresh_token. */
int mq_oauth_refresh(const struct mq_conf_oauth2 *o, const char *refresh,
    struct mq_oauth_grant *g, struct mq_err *err);

/* Starts the device grant: MQ_PERM with EX_CONFIG when the provider has
 * no device endpoint. */
int mq_oauth_device_start(const struct mq_conf_oauth2 *o,
    struct mq_oauth_device *d, struct mq_err *err);

/* Polls once: MQ_OK with *pending = 0 and the grant, or *pending = 1
 * (authorization_pending; slow_down adds 5 s to d->interval). */
int mq_oauth_device_poll(const struct mq_conf_oauth2 *o,
    struct mq_oauth_device *d, int *pending, struct mq_oauth_grant *g,
    struct mq_err *err);

/* Exchanges an authorization code and its PKCE verifier. */
int mq_oauth_code(const struct mq_conf_oauth2 *o, const char *code,
    const char *verifier, const char *redirect_uri,
    struct mq_oauth_grant *g, struct mq_err *err);

/* A PKCE verifier (43 characters of base64url from 32 random bytes) and
 * its S256 challenge, and a state of the same kind. MQ_TEMP if the
 * system has no randomness to give. */
int mq_oauth_pkce(char verifier[64], char challenge[64], struct mq_err *err);

/* The S256 challenge of a PKCE verifier: base64url(SHA-256(verifier)). */
void mq_oauth_challenge(const char *verifier, char challenge[64]);

/* The URL the user opens for the authorization code grant (malloc'd). */
char *mq_oauth_authorize_url(const struct mq_conf_oauth2 *o,
    const char *redirect_uri, const char *challenge, const char *state,
    const char *login_hint);

#endif
