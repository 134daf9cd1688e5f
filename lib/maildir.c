/*
 * A Maildir, read only: see maildir.h. A message is its unique name, the
 * file name up to the ":" that starts the flags; its file is looked up by
 * that name each time it is read, in cur/ first (where mail goes once
 * seen) and then new/, and looked up again if it moved between the look
 * and the open. Message-IDs are found by reading each file's header,
 * unfolded, never the body.
 */
#define _GNU_SOURCE                 /* O_NOATIME */
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "maildir.h"
#include "utf7.h"

#define MAX_SIZE  (10 * 1024 * 1024)
#define SLACK     (1024 * 1024)     /* a header's bytes beyond max_size */
#define FIND_CAP  (256 * 1024)      /* a header read to find an id */
#define TRIES     3                 /* looks for a file that keeps moving */

struct maildir {
	char   root[PATH_MAX];
	char   dir[PATH_MAX + NAME_MAX + 2]; /* the open folder, "" before */
	size_t max_size;
};

/* Whether dir/cur and dir/new are directories. */
static int is_maildir(const char *dir)
{
	char p[PATH_MAX + 8];
	struct stat st;

	snprintf(p, sizeof p, "%s/cur", dir);
	if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))
		return 0;
	snprintf(p, sizeof p, "%s/new", dir);
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int md_open(void **h, const struct mq_inbox_opts *o,
    struct mq_err *err)
{
	const char *url = o->url != NULL ? o->url : "";
	const char *path = url + 10;
	struct maildir *m;

	*h = NULL;
	if (strncasecmp(url, "maildir://", 10) != 0 || path[0] != '/')
		return mq_err_perm(err, EX_CONFIG, "'%s' is not a "
		    "maildir:///absolute/path URL", url);
	if (strlen(path) >= sizeof m->root - 64)
		return mq_err_perm(err, EX_CONFIG, "%.80s...: path too long",
		    url);
	if (!is_maildir(path))
		return mq_err_perm(err, EX_NOINPUT, "%s: not a Maildir (no "
		    "cur/ and new/ in it)", path);
	if ((m = calloc(1, sizeof *m)) == NULL)
		return mq_err_temp(err, "out of memory");
	snprintf(m->root, sizeof m->root, "%s", path);
	m->max_size = o->max_size > 0 ? o->max_size : MAX_SIZE;
	*h = m;
	return MQ_OK;
}

static void md_close(void *h)
{
	free(h);
}

/* Folder as a Maildir++ directory name into out: ".Spam", ".a.b". */
static int folder_dir(char *out, size_t len, const char *folder)
{
	size_t n = strlen(folder);

	/* "." separates levels on disk: a name holding one has no place */
	if (n == 0 || folder[0] == '/' || folder[n - 1] == '/' ||
	    strchr(folder, '.') != NULL || strstr(folder, "//") != NULL ||
	    len < 2)
		return -1;
	out[0] = '.';
	if (mq_utf7_encode(out + 1, len - 1, folder) != 0)
		return -1;
	for (char *p = out; *p != '\0'; p++)
		if (*p == '/')
			*p = '.';
	return 0;
}

static int md_folder(void *h, const char *folder, long long *uidvalidity,
    struct mq_err *err)
{
	struct maildir *m = h;
	char name[NAME_MAX + 1], dir[sizeof m->dir];

	*uidvalidity = 0;
	m->dir[0] = '\0';
	if (strcasecmp(folder, "INBOX") == 0)
		snprintf(dir, sizeof dir, "%s", m->root);
	else if (folder_dir(name, sizeof name, folder) == 0)
		snprintf(dir, sizeof dir, "%s/%s", m->root, name);
	else
		return mq_err_perm(err, EX_DATAERR, "%s: folder \"%.80s\": "
		    "not a Maildir++ folder name", m->root, folder);
	if (!is_maildir(dir))
		return mq_err_perm(err, EX_NOINPUT, "%s: no folder \"%.200s\"",
		    m->root, folder);
	memcpy(m->dir, dir, sizeof m->dir);
	return MQ_OK;
}

static int need_folder(const struct maildir *m, struct mq_err *err)
{
	if (m->dir[0] != '\0')
		return MQ_OK;
	return mq_err_perm(err, EX_SOFTWARE, "%s: no folder open", m->root);
}

/* The length of a file name's unique part: up to the ":" of its flags. */
static size_t unique_len(const char *name)
{
	return strcspn(name, ":");
}

struct items {
	struct mq_inbox_item *v;
	int                   n, cap;
};

/* Adds the regular files of m->dir/sub to *it. */
static int scan(const struct maildir *m, const char *sub, struct items *it,
    struct mq_err *err)
{
	char path[sizeof m->dir + 8];
	struct mq_inbox_item *p;
	struct dirent *e;
	struct stat st;
	size_t u;
	DIR *d;
	int rc = MQ_OK;

	snprintf(path, sizeof path, "%s/%s", m->dir, sub);
	if ((d = opendir(path)) == NULL)
		return mq_err_temp(err, "%s: %s", path, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		/* gone meanwhile, or not a message: passed over */
		if (e->d_name[0] == '.' || fstatat(dirfd(d), e->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
		    (u = unique_len(e->d_name)) >= sizeof p->ref)
			continue;
		if (it->n == it->cap) {
			it->cap = it->cap ? it->cap * 2 : 64;
			if ((p = realloc(it->v, it->cap * sizeof *p)) == NULL) {
				rc = mq_err_temp(err, "out of memory");
				goto out;
			}
			it->v = p;
		}
		p = &it->v[it->n++];
		memset(p, 0, sizeof *p);
		memcpy(p->ref, e->d_name, u);
		p->size = (size_t)st.st_size;
	}
out:
	closedir(d);
	return rc;
}

static int by_ref(const void *a, const void *b)
{
	return strcmp(((const struct mq_inbox_item *)a)->ref,
	    ((const struct mq_inbox_item *)b)->ref);
}

static int md_list(void *h, long long after_uid,
    struct mq_inbox_item **items, int *n, struct mq_err *err)
{
	struct maildir *m = h;
	struct items it = { 0 };
	int rc, j = 0;

	(void)after_uid;
	*items = NULL;
	*n = 0;
	if ((rc = need_folder(m, err)) != MQ_OK ||
	    (rc = scan(m, "new", &it, err)) != MQ_OK ||
	    (rc = scan(m, "cur", &it, err)) != MQ_OK) {
		free(it.v);
		return rc;
	}
	if (it.n > 1)
		qsort(it.v, it.n, sizeof *it.v, by_ref);
	/* a file moved from new/ to cur/ during the scan is seen twice */
	for (int i = 0; i < it.n; i++)
		if (j == 0 || strcmp(it.v[i].ref, it.v[j - 1].ref) != 0)
			it.v[j++] = it.v[i];
	*items = it.v;
	*n = j;
	return MQ_OK;
}

/* Looks for ref's file in m->dir's cur/ then new/: its path into out. */
static int locate(const struct maildir *m, const char *ref, char *out,
    size_t len)
{
	static const char *subs[] = { "cur", "new" };
	size_t r = strlen(ref);
	struct dirent *e;
	DIR *d;

	for (int i = 0; i < 2; i++) {
		snprintf(out, len, "%s/%s", m->dir, subs[i]);
		if ((d = opendir(out)) == NULL)
			continue;
		while ((e = readdir(d)) != NULL)
			if (unique_len(e->d_name) == r &&
			    memcmp(e->d_name, ref, r) == 0 &&
			    e->d_name[0] != '.')
				break;
		if (e != NULL)
			snprintf(out, len, "%s/%s/%s", m->dir, subs[i],
			    e->d_name);
		closedir(d);
		if (e != NULL)
			return 0;
	}
	return -1;
}

/* Opens ref's file read-only: a descriptor, or -1 with errno (ENOENT
 * when it is nowhere to be found). */
static int open_ref(const struct maildir *m, const char *ref)
{
	char path[sizeof m->dir + NAME_MAX + 8];
	int fd = -1;

	for (int i = 0; i < TRIES && fd < 0; i++) {
		if (locate(m, ref, path, sizeof path) != 0) {
			errno = ENOENT;
			return -1;
		}
		/* the access time is the owner's to keep: not changed by us
		 * where the system allows it (O_NOATIME needs ownership) */
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
		    O_NOATIME);
		if (fd < 0 && errno == EPERM)
			fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno != ENOENT)
			return -1;
	}
	return fd;
}

/* Where the header of p[0..n) ends: just past its empty line, or 0 while
 * it has not come. *from is where to look on from, a line's start. */
static size_t header_end(const char *p, size_t n, size_t *from)
{
	const char *nl;
	size_t i = *from;

	while (i < n && (nl = memchr(p + i, '\n', n - i)) != NULL) {
		if (nl == p + i || (nl == p + i + 1 && p[i] == '\r'))
			return (size_t)(nl - p) + 1;
		i = (size_t)(nl - p) + 1;
	}
	*from = i;
	return 0;
}

/* Reads fd into b: all of it, or with head only up to its header's end.
 * 0, or -1 with errno: EFBIG past cap bytes (b holds what was read). */
static int read_fd(int fd, int head, size_t cap, struct mq_buf *b)
{
	char chunk[65536];
	size_t from = 0, end;
	ssize_t r;

	mq_buf_put(b, "", 0);
	for (;;) {
		if ((r = read(fd, chunk, sizeof chunk)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			return 0;
		mq_buf_put(b, chunk, (size_t)r);
		if (b->oom) {
			errno = ENOMEM;
			return -1;
		}
		if (head && (end = header_end(b->p, b->len, &from)) > 0) {
			b->len = end;
			b->p[end] = '\0';
			return 0;
		}
		if (b->len > cap) {
			errno = EFBIG;
			return -1;
		}
	}
}

static int md_fetch(void *h, const struct mq_inbox_item *item, char **buf,
    size_t *len, int *headers_only, struct mq_err *err)
{
	struct maildir *m = h;
	struct mq_buf b = { 0 };
	struct stat st;
	int fd = -1, rc;

	*buf = NULL;
	*len = 0;
	*headers_only = 0;
	if ((rc = need_folder(m, err)) != MQ_OK)
		return rc;
	if ((fd = open_ref(m, item->ref)) < 0 && errno == ENOENT)
		return mq_err_perm(err, EX_DATAERR, "%s: message %s is gone",
		    m->dir, item->ref);
	if (fd < 0 || fstat(fd, &st) != 0)
		goto fail;
	*headers_only = (size_t)st.st_size > m->max_size;
	if (read_fd(fd, *headers_only, m->max_size + SLACK, &b) != 0)
		goto fail;
	*buf = b.p;
	*len = b.len;
	b.p = NULL;
	rc = MQ_OK;
	goto out;
fail:
	if (errno == EFBIG)
		rc = mq_err_perm(err, EX_DATAERR, "%s: message %s: a header "
		    "bigger than %zu bytes", m->dir, item->ref,
		    m->max_size + SLACK);
	else
		rc = mq_err_temp(err, "%s: message %s: %s", m->dir, item->ref,
		    strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	free(b.p);
	return rc;
}

/* The first field called name in header h (n bytes), unfolded and with
 * no white space left, into out (size len): 1, or 0 when there is none. */
static int field(const char *h, size_t n, const char *name, char *out,
    size_t len)
{
	size_t k = strlen(name), i = 0, j = 0, e, s;
	const char *nl;
	int in = 0;

	while (i < n) {
		nl = memchr(h + i, '\n', n - i);
		e = nl != NULL ? (size_t)(nl - h) : n;
		if (e == i || (e == i + 1 && h[i] == '\r'))
			break;
		s = i;
		if (h[i] != ' ' && h[i] != '\t') {
			if (in)
				break;
			in = e - i > k && strncasecmp(h + i, name, k) == 0 &&
			    h[i + k] == ':';
			s = i + k + 1;
		}
		for (; in && s < e; s++)
			if (h[s] != ' ' && h[s] != '\t' && h[s] != '\r' &&
			    j + 1 < len)
				out[j++] = h[s];
		i = e + 1;
	}
	out[j] = '\0';
	return in;
}

/* Whether header h (n bytes) has Message-ID <id>. */
static int has_id(const char *h, size_t n, const char *id)
{
	char v[1000];
	size_t k;

	if (!field(h, n, "Message-ID", v, sizeof v))
		return 0;
	if ((k = strlen(v)) >= 2 && v[0] == '<' && v[k - 1] == '>') {
		v[k - 1] = '\0';
		return strcmp(v + 1, id) == 0;
	}
	return strcmp(v, id) == 0;
}

/* Whether the file of item has Message-ID <id>: 1, 0, or -1 (errno). */
static int item_has_id(const struct maildir *m,
    const struct mq_inbox_item *item, const char *id)
{
	struct mq_buf b = { 0 };
	int fd, r;

	if ((fd = open_ref(m, item->ref)) < 0)
		return errno == ENOENT ? 0 : -1;
	/* a header cut at the cap is still searched */
	r = read_fd(fd, 1, FIND_CAP, &b) == 0 || errno == EFBIG ? 0 : -1;
	if (r == 0 && b.p != NULL)
		r = has_id(b.p, b.len, id);
	close(fd);
	free(b.p);
	return r;
}

static int md_find(void *h, const char *message_id, int *found,
    struct mq_err *err)
{
	struct maildir *m = h;
	struct mq_inbox_item *items = NULL;
	int n = 0, rc, r = 0;

	*found = 0;
	if ((rc = md_list(h, 0, &items, &n, err)) != MQ_OK)
		return rc;
	for (int i = 0; i < n && r == 0; i++)
		if ((r = item_has_id(m, &items[i], message_id)) < 0)
			rc = mq_err_temp(err, "%s: message %s: %s", m->dir,
			    items[i].ref, strerror(errno));
	*found = r > 0;
	free(items);
	return rc;
}

const struct mq_inbox_source mq_maildir_source = {
	"maildir", md_open, md_folder, md_list, md_fetch, md_find, md_close,
};
