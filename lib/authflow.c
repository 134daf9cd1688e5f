/* The first OAuth2 grant: see authflow.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "authflow.h"
#include "oauth.h"
#include "tokens.h"

static int store(const struct mq_authflow_opts *o,
    const struct mq_oauth_grant *g, struct mq_err *err)
{
	if (g->refresh[0] == '\0')
		return mq_err_perm(err, EX_PROTOCOL, "the provider gave no "
		    "refresh token (is offline access in the scope?)");
	return mq_tokens_put(o->tokens, o->mb->name, o->mb->oauth2.client_id,
	    g->refresh, g->access, g->expires_in, err);
}

/* --- the device grant ----------------------------------------------------- */

static int device(const struct mq_authflow_opts *o,
    struct mq_oauth_grant *g, struct mq_err *err)
{
	const struct mq_conf_oauth2 *a = &o->mb->oauth2;
	struct mq_oauth_device d;
	time_t end;
	int pending = 1, rc;

	if ((rc = mq_oauth_device_start(a, &d, err)) != MQ_OK)
		return rc;
	fprintf(o->out, "To allow mailq to use mailbox %s (%s), open\n\n"
	    "    %s\n\nand enter the code %s\n\nWaiting for you to sign in "
	    "and allow it...\n", o->mb->name, o->mb->username,
	    d.verification_uri, d.user_code);
	fflush(o->out);
	end = time(NULL) + (d.expires_in < o->timeout ? d.expires_in :
	    o->timeout);
	while (pending) {
		if (time(NULL) + d.interval > end)
			return mq_err_temp(err, "the code expired before it "
			    "was entered; run mailq-auth again");
		sleep((unsigned)d.interval);
		if ((rc = mq_oauth_device_poll(a, &d, &pending, g, err)) !=
		    MQ_OK)
			return rc;
	}
	return MQ_OK;
}

/* --- the browser: authorization code with PKCE ---------------------------- */

/* A listening socket on 127.0.0.1, port of the kernel's choosing. */
static int listen_loopback(int *fd, int *port, struct mq_err *err)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((*fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(*fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    listen(*fd, 4) < 0 ||
	    getsockname(*fd, (struct sockaddr *)&sa, &len) < 0) {
		if (*fd >= 0)
			close(*fd);
		return mq_err_temp(err, "cannot listen on 127.0.0.1: %s",
		    strerror(errno));
	}
	*port = ntohs(sa.sin_port);
	return MQ_OK;
}

/* The value of query parameter key in the request line, decoded, into
 * buf ("" when absent). */
static void param(const char *line, const char *key, char *buf, size_t len)
{
	const char *q = strchr(line, '?'), *p, *end;
	size_t k = strlen(key);
	char *v;
	int n;

	buf[0] = '\0';
	for (p = q; p != NULL; p = strchr(p + 1, '&')) {
		if (strncmp(p + 1, key, k) != 0 || p[1 + k] != '=')
			continue;
		end = p + 2 + k + strcspn(p + 2 + k, "& \r\n");
		v = curl_easy_unescape(NULL, p + 2 + k, (int)(end - p - 2 - k),
		    &n);
		if (v != NULL)
			snprintf(buf, len, "%s", v);
		curl_free(v);
		return;
	}
}

/* Answers one request on the listening socket: *line gets its request
 * line; the browser is told it may close the window when the request
 * carried the answer (code or error). */
static int one_request(int lfd, int wait_ms, char *line, size_t len,
    struct mq_err *err)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain;"
	    " charset=utf-8\r\nConnection: close\r\n\r\nmailq: done. You may "
	    "close this window and return to the terminal.\r\n";
	struct pollfd p = { lfd, POLLIN, 0 };
	ssize_t n = 0, r;
	int fd;

	line[0] = '\0';
	if (wait_ms <= 0 || poll(&p, 1, wait_ms) <= 0)
		return mq_err_temp(err, "no answer from the browser in time; "
		    "run mailq-auth again");
	if ((fd = accept(lfd, NULL, NULL)) < 0)
		return MQ_OK;
	p = (struct pollfd){ fd, POLLIN, 0 };
	while ((size_t)n + 1 < len && strstr(line, "\r\n") == NULL &&
	    poll(&p, 1, 5000) > 0 && (r = read(fd, line + n,
	    len - 1 - (size_t)n)) > 0) {
		n += r;
		line[n] = '\0';
	}
	line[strcspn(line, "\r\n")] = '\0';
	if (write(fd, ok, sizeof ok - 1) < 0)
		n = 0;
	close(fd);
	return MQ_OK;
}

/* Waits for the redirect that carries the code (or the refusal), past
 * whatever else the browser asks for. */
static int redirect(const struct mq_authflow_opts *o, int lfd,
    const char *state, char *code, size_t len, struct mq_err *err)
{
	char line[8192], got[256], error[128], desc[300];
	time_t end = time(NULL) + o->timeout;
	int rc;

	for (;;) {
		if ((rc = one_request(lfd, (int)(end - time(NULL)) * 1000, line,
		    sizeof line, err)) != MQ_OK)
			return rc;
		param(line, "code", code, len);
		param(line, "error", error, sizeof error);
		if (code[0] != '\0' || error[0] != '\0')
			break;
	}
	param(line, "state", got, sizeof got);
	if (strcmp(got, state) != 0)
		return mq_err_perm(err, EX_NOPERM, "the redirect's state does "
		    "not match this request (another sign-in?); nothing "
		    "stored");
	if (error[0] != '\0') {
		param(line, "error_description", desc, sizeof desc);
		return mq_err_perm(err, EX_NOPERM, "the provider said: %s%s%s%s",
		    error, desc[0] ? " (" : "", desc, desc[0] ? ")" : "");
	}
	return MQ_OK;
}

static int browser(const struct mq_authflow_opts *o,
    struct mq_oauth_grant *g, struct mq_err *err)
{
	const struct mq_conf_oauth2 *a = &o->mb->oauth2;
	char verifier[64], challenge[64], state[64], unused[64];
	char uri[64], code[2048], *url = NULL;
	int lfd = -1, port = 0, rc;

	if ((rc = mq_oauth_pkce(verifier, challenge, err)) != MQ_OK ||
	    (rc = mq_oauth_pkce(state, unused, err)) != MQ_OK ||
	    (rc = listen_loopback(&lfd, &port, err)) != MQ_OK)
		return rc;
	snprintf(uri, sizeof uri, "http://127.0.0.1:%d/", port);
	if ((url = mq_oauth_authorize_url(a, uri, challenge, state,
	    o->mb->username)) == NULL) {
		rc = mq_err_temp(err, "out of memory");
		goto out;
	}
	fprintf(o->out, "To allow mailq to use mailbox %s (%s), open this URL "
	    "in a browser on this machine:\n\n    %s\n\nWaiting for the "
	    "provider to send the browser back to %s ...\n", o->mb->name,
	    o->mb->username, url, uri);
	fflush(o->out);
	if ((rc = redirect(o, lfd, state, code, sizeof code, err)) == MQ_OK)
		rc = mq_oauth_code(a, code, verifier, uri, g, err);
out:
	explicit_bzero(verifier, sizeof verifier);
	free(url);
	close(lfd);
	return rc;
}

int mq_authflow_run(const struct mq_authflow_opts *o, struct mq_err *err)
{
	const struct mq_conf_oauth2 *a = &o->mb->oauth2;
	struct mq_authflow_opts x = *o;
	struct mq_oauth_grant *g;
	int rc;

	if (o->mb->auth != MQ_AUTH_OAUTH2)
		return mq_err_perm(err, EX_DATAERR, "mailbox %s does not use "
		    "OAuth2 (auth = \"oauth2\")", o->mb->name);
	if (x.timeout <= 0)
		x.timeout = 600;
	if (x.way == MQ_AUTHFLOW_AUTO)
		x.way = a->device_url != NULL ? MQ_AUTHFLOW_DEVICE :
		    MQ_AUTHFLOW_BROWSER;
	if ((x.way == MQ_AUTHFLOW_DEVICE && a->device_url == NULL) ||
	    (x.way == MQ_AUTHFLOW_BROWSER && a->authorize_url == NULL))
		return mq_err_perm(err, EX_CONFIG, "provider %s of mailbox %s "
		    "offers no %s sign-in", a->provider, o->mb->name,
		    x.way == MQ_AUTHFLOW_DEVICE ? "device" : "browser");
	if ((g = calloc(1, sizeof *g)) == NULL)
		return mq_err_temp(err, "out of memory");
	rc = x.way == MQ_AUTHFLOW_DEVICE ? device(&x, g, err) :
	    browser(&x, g, err);
	if (rc == MQ_OK)
		rc = store(&x, g, err);
	explicit_bzero(g, sizeof *g);
	free(g);
	return rc;
}
