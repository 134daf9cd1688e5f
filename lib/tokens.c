/* The OAuth2 token file: see tokens.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "oauth.h"
#include "tokens.h"

#define FILE_MAX  (1024 * 1024)
#define LOCK_WAIT 45                /* seconds: longer than one refresh */
#define HEADER    "# mailq OAuth2 tokens: written by mailq, do not edit\n"

/* One mailbox's line, pointing into the file's text. */
struct entry {
	const char *mailbox, *client, *refresh, *access;
	time_t expires;
};

static void wipe_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* The file's text (malloc'd, "" when it does not exist), after checking
 * that nobody else may read it. */
static int read_file(const char *path, char **text, struct mq_err *err)
{
	struct mq_buf b = { 0 };
	char chunk[4096];
	struct stat st;
	ssize_t n;
	int fd, rc = MQ_OK;

	*text = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno != ENOENT)
			return mq_err_perm(err, EX_NOINPUT, "%s: %s", path,
			    strerror(errno));
		*text = strdup("");
		return *text != NULL ? MQ_OK : mq_err_temp(err, "out of memory");
	}
	if (fstat(fd, &st) < 0 || (st.st_mode & 077) != 0 ||
	    st.st_uid != geteuid())
		rc = mq_err_perm(err, EX_NOPERM, "%s: holds tokens and must be "
		    "owned by you and not accessible by group or others "
		    "(chmod 600 %s)", path, path);
	while (rc == MQ_OK && (n = read(fd, chunk, sizeof chunk)) > 0 &&
	    b.len + (size_t)n <= FILE_MAX)
		mq_buf_put(&b, chunk, (size_t)n);
	mq_buf_puts(&b, "");
	close(fd);
	if (rc == MQ_OK && (b.oom || b.len > FILE_MAX))
		rc = mq_err_perm(err, EX_DATAERR, "%s: too large", path);
	explicit_bzero(chunk, sizeof chunk);
	if (rc == MQ_OK)
		*text = b.p;
	else
		wipe_free(b.p);
	return rc;
}

/* Splits text into entries (in place); lines that are not entries are
 * comments. *out malloc'd. */
static int parse(char *text, struct entry **out, int *n)
{
	struct entry *e = NULL, *more;
	char *line, *save = NULL, *f[5], *s2;
	int cap = 0, k;

	*n = 0;
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#')
			continue;
		for (k = 0, s2 = line; k < 5 && s2 != NULL; k++)
			f[k] = strsep(&s2, " ");
		if (k < 5 || s2 != NULL)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			if ((more = realloc(e, cap * sizeof *e)) == NULL) {
				free(e);
				return -1;
			}
			e = more;
		}
		e[*n] = (struct entry){ f[0], f[1], f[3], f[4],
		    (time_t)atoll(f[2]) };
		(*n)++;
	}
	*out = e;
	return 0;
}

static struct entry *find(struct entry *e, int n, const char *mailbox)
{
	for (int i = 0; i < n; i++)
		if (strcmp(e[i].mailbox, mailbox) == 0)
			return &e[i];
	return NULL;
}

/* Writes the entries, with one replaced or added, to a temporary file
 * and renames it over path. */
static int write_file(const char *path, struct entry *e, int n,
    const struct entry *put, struct mq_err *err)
{
	struct mq_buf b = { 0 };
	char tmp[4200], line[64];
	int fd = -1, rc = MQ_OK, i;

	mq_buf_puts(&b, HEADER);
	for (i = 0; i <= n; i++) {
		const struct entry *x = i < n ? &e[i] : put;

		if (i < n && strcmp(e[i].mailbox, put->mailbox) == 0)
			continue;
		snprintf(line, sizeof line, " %lld ", (long long)x->expires);
		mq_buf_puts(&b, x->mailbox);
		mq_buf_puts(&b, " ");
		mq_buf_puts(&b, x->client);
		mq_buf_puts(&b, line);
		mq_buf_puts(&b, x->refresh);
		mq_buf_puts(&b, " ");
		mq_buf_puts(&b, x->access);
		mq_buf_puts(&b, "\n");
	}
	snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
	if (b.oom)
		rc = mq_err_temp(err, "out of memory");
	else if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) < 0 || fchmod(fd, 0600) < 0 ||
	    write(fd, b.p, b.len) != (ssize_t)b.len || fsync(fd) < 0 ||
	    close(fd) < 0 || (fd = -1, rename(tmp, path) < 0))
		rc = mq_err_temp(err, "%s: cannot write: %s", path,
		    strerror(errno));
	if (fd >= 0)
		close(fd);
	if (rc != MQ_OK)
		unlink(tmp);
	wipe_free(b.p);
	return rc;
}

/* fsync of the directory that holds path, so the rename lasts. */
static void sync_dir(const char *path)
{
	char dir[4096];
	char *slash;
	int fd;

	snprintf(dir, sizeof dir, "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof dir, ".");
	else
		slash[slash == dir ? 1 : 0] = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* Takes the exclusive lock of path (FILE.lock), waiting up to LOCK_WAIT
 * seconds. *fd is the lock; closing it releases it. */
static int lock(const char *path, int *fd, struct mq_err *err)
{
	char lk[4200];

	snprintf(lk, sizeof lk, "%s.lock", path);
	if ((*fd = open(lk, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return mq_err_perm(err, EX_CANTCREAT, "%s: %s", lk,
		    strerror(errno));
	for (int i = 0; i < LOCK_WAIT * 10; i++) {
		if (flock(*fd, LOCK_EX | LOCK_NB) == 0)
			return MQ_OK;
		if (errno != EWOULDBLOCK)
			break;
		usleep(100000);
	}
	close(*fd);
	*fd = -1;
	return mq_err_temp(err, "%s: still locked after %d s (a token "
	    "refresh of another run)", lk, LOCK_WAIT);
}

/* The mailbox's entry in the text read: NULL when it has none of this
 * client. */
static const struct entry *entry_of(struct entry *e, int n,
    const struct mq_conf_mailbox *mb)
{
	const struct entry *x = find(e, n, mb->name);

	return x != NULL && strcmp(x->client, mb->oauth2.client_id) == 0 &&
	    mq_oauth_token_ok(x->refresh) ? x : NULL;
}

static int no_token(const struct mq_conf_mailbox *mb, const char *path,
    struct mq_err *err)
{
	return mq_err_perm(err, EX_NOPERM, "no OAuth2 token for mailbox %s "
	    "(of client %s) in %s: run mailq-auth %s", mb->name,
	    mb->oauth2.client_id, path, mb->name);
}

/* The cached access token when it has long enough to live: *access set,
 * or left NULL. */
static int cached(const char *path, const struct mq_conf_mailbox *mb,
    char **access, int *known, struct mq_err *err)
{
	const struct entry *x;
	struct entry *e = NULL;
	char *text;
	int n = 0, rc;

	*known = 0;
	if ((rc = read_file(path, &text, err)) != MQ_OK)
		return rc;
	if (parse(text, &e, &n) != 0)
		rc = mq_err_temp(err, "out of memory");
	else if ((x = entry_of(e, n, mb)) != NULL) {
		*known = 1;
		if (x->expires - time(NULL) > MQ_TOKENS_MARGIN &&
		    mq_oauth_token_ok(x->access) &&
		    (*access = strdup(x->access)) == NULL)
			rc = mq_err_temp(err, "out of memory");
	}
	free(e);
	wipe_free(text);
	return rc;
}

/* Under the lock: the entry again (another run may have refreshed it),
 * else a refresh, written before the lock goes. */
static int refresh_locked(const char *path, const struct mq_conf_mailbox *mb,
    char **access, int *refreshed, struct mq_err *err)
{
	struct mq_oauth_grant *g = NULL;
	const struct entry *x;
	struct entry *e = NULL, put;
	char *text = NULL;
	int n = 0, rc;

	if ((rc = read_file(path, &text, err)) != MQ_OK)
		return rc;
	if (parse(text, &e, &n) != 0 || (g = malloc(sizeof *g)) == NULL) {
		rc = mq_err_temp(err, "out of memory");
		goto out;
	}
	if ((x = entry_of(e, n, mb)) == NULL) {
		rc = no_token(mb, path, err);
		goto out;
	}
	if (x->expires - time(NULL) > MQ_TOKENS_MARGIN) {
		if ((*access = strdup(x->access)) == NULL)
			rc = mq_err_temp(err, "out of memory");
		goto out;
	}
	if ((rc = mq_oauth_refresh(&mb->oauth2, x->refresh, g, err)) != MQ_OK) {
		mq_err_prefix(err, "mailbox %s: OAuth2", mb->name);
		if (rc == MQ_PERM)
			snprintf(err->msg + strlen(err->msg), sizeof err->msg -
			    strlen(err->msg), "; run mailq-auth %s", mb->name);
		goto out;
	}
	put = (struct entry){ mb->name, mb->oauth2.client_id,
	    g->refresh[0] ? g->refresh : x->refresh, g->access,
	    time(NULL) + g->expires_in };
	if ((rc = write_file(path, e, n, &put, err)) == MQ_OK) {
		sync_dir(path);
		*refreshed = 1;
		if ((*access = strdup(g->access)) == NULL)
			rc = mq_err_temp(err, "out of memory");
	}
out:
	if (g != NULL)
		explicit_bzero(g, sizeof *g);
	free(g);
	free(e);
	wipe_free(text);
	return rc;
}

int mq_tokens_access(const char *path, const struct mq_conf_mailbox *mb,
    char **access, int *refreshed, struct mq_err *err)
{
	int fd = -1, known, rc;

	*access = NULL;
	*refreshed = 0;
	if ((rc = cached(path, mb, access, &known, err)) != MQ_OK ||
	    *access != NULL)
		return rc;
	if (!known)
		return no_token(mb, path, err);
	if ((rc = lock(path, &fd, err)) != MQ_OK)
		return rc;
	rc = refresh_locked(path, mb, access, refreshed, err);
	close(fd);
	return rc;
}

int mq_tokens_put(const char *path, const char *mailbox,
    const char *client_id, const char *refresh, const char *access,
    long expires_in, struct mq_err *err)
{
	struct entry *e = NULL;
	struct entry put = { mailbox, client_id, refresh, access,
	    time(NULL) + expires_in };
	char *text = NULL;
	int fd = -1, n = 0, rc;

	if (!mq_oauth_token_ok(refresh) || !mq_oauth_token_ok(access))
		return mq_err_perm(err, EX_PROTOCOL, "the provider's tokens "
		    "are not printable text");
	if ((rc = lock(path, &fd, err)) != MQ_OK)
		return rc;
	if ((rc = read_file(path, &text, err)) == MQ_OK) {
		if (parse(text, &e, &n) != 0)
			rc = mq_err_temp(err, "out of memory");
		else if ((rc = write_file(path, e, n, &put, err)) == MQ_OK)
			sync_dir(path);
	}
	free(e);
	wipe_free(text);
	close(fd);
	return rc;
}

int mq_tokens_expire(const char *path, const char *mailbox,
    struct mq_err *err)
{
	struct entry *e = NULL, put;
	const struct entry *x;
	char *text = NULL;
	int fd = -1, n = 0, rc;

	if ((rc = lock(path, &fd, err)) != MQ_OK)
		return rc;
	if ((rc = read_file(path, &text, err)) == MQ_OK) {
		if (parse(text, &e, &n) != 0)
			rc = mq_err_temp(err, "out of memory");
		else if ((x = find(e, n, mailbox)) != NULL && x->expires != 0) {
			put = *x;
			put.expires = 0;
			if ((rc = write_file(path, e, n, &put, err)) == MQ_OK)
				sync_dir(path);
		}
	}
	free(e);
	wipe_free(text);
	close(fd);
	return rc;
}
