/*
 * The first grant of a mailbox's OAuth2 tokens, the one thing a person
 * must do by hand: sign in at the provider and allow mailq to send and
 * read mail. Two ways, by what the provider offers:
 *
 *   device   the device authorization grant (RFC 8628; Microsoft): the
 *            user opens a URL on any device and types a code; mailq polls
 *            the token endpoint meanwhile, at the interval the provider
 *            asks for (slowing down when told to).
 *   browser  the authorization code grant with PKCE (RFC 7636) and a
 *            loopback redirect (RFC 8252; Google): the user opens a URL
 *            in a browser on this machine; mailq listens on 127.0.0.1 on
 *            a port of the kernel's choosing for the redirect, checks its
 *            state, and exchanges the code with its verifier.
 *
 * The tokens go to the token file (tokens.h) only when the grant is
 * complete; a failure leaves it as it was. Instructions for the user are
 * written to out; nothing else is printed.
 */
#ifndef MQ_AUTHFLOW_H
#define MQ_AUTHFLOW_H

#include <stdio.h>

#include "conf.h"
#include "err.h"

enum mq_authflow_way { MQ_AUTHFLOW_AUTO, MQ_AUTHFLOW_DEVICE,
    MQ_AUTHFLOW_BROWSER };

struct mq_authflow_opts {
	const struct mq_conf_mailbox *mb;     /* auth = oauth2 */
	const char                   *tokens; /* the token file */
	enum mq_authflow_way          way;    /* AUTO: device when the
	                                         provider has it, else
	                                         browser */
	int                           timeout;/* seconds to wait for the
	                                         user; default 600 */
	FILE                         *out;    /* instructions */
};

/* Runs the grant and stores the tokens. MQ_PERM with EX_CONFIG when the
 * provider offers neither way (or not the one asked for), EX_NOPERM when
 * the user or the provider refuses (access_denied, expired_token,
 * invalid_client, a redirect with a foreign state, ...), EX_TEMPFAIL...
 * as MQ_TEMP when the provider cannot be reached or the user did not
 * answer in time. */
int mq_authflow_run(const struct mq_authflow_opts *o, struct mq_err *err);

#endif
