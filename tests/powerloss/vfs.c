/*
 * A power cut, for the end-to-end test tests/e2e/powerloss.sh: a VFS over
 * SQLite's default one, made the default from a constructor, so that a
 * program linked with this file (build/tests/powerloss-tick is the real
 * mailq-tick) runs unchanged until the power goes.
 *
 *   MQ_PL_CUT=N    the power goes at the Nth write of the process to a
 *                  database or WAL file (a truncation counts as a write):
 *                  that write and every write not synced before it are
 *                  lost, and the process ends at once with status 99, its
 *                  transfers cut off wherever they were
 *   MQ_PL_TEAR=P   but the first P/1000 of the Nth write lands, in whole
 *                  512-byte sectors when it is longer than one (a torn
 *                  page); 0 or unset: the Nth write is lost whole
 *   MQ_PL_COUNT=F  at a normal exit, the number of writes is put in F,
 *                  then the number of writes before each sync (of the
 *                  first 4096), a line each, so that the test can aim at
 *                  the moments around the data phases
 *
 * What the disk keeps (the model):
 *  - a file's bytes and size are durable from the moment it is synced
 *    through any of its handles, whichever connection wrote them (fsync
 *    syncs a file, not a descriptor); nothing is durable before that;
 *  - a file that exists when the process first opens it is durable as it
 *    is (the test starts each run from a closed database);
 *  - a file the process creates survives the cut only if it was synced
 *    (SQLite syncs a new journal's directory with its first sync);
 *  - a delete is durable at once: the only file that could matter is the
 *    WAL, and mailq keeps it (SQLITE_FCNTL_PERSIST_WAL), so a run never
 *    deletes one;
 *  - the WAL index (-shm) is memory, not disk: the test removes it when
 *    it "reboots".
 * At the cut every file is put back as its last sync left it, by undoing
 * what was written since, newest first: each write saves the bytes it
 * overwrites below the file's durable size, each truncation the bytes it
 * drops, and the file is then cut to its durable size. The real syncs are
 * skipped: the model decides what is durable, and runs go faster.
 *
 * Threads: a run writes from several connections at once, so the files'
 * states and every write, truncation and sync of a tracked file are kept
 * under one mutex; the cut happens under it, so no other thread writes
 * while the files are put back.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <sqlite3.h>

#define CUT_STATUS  99      /* the power was cut */
#define FAIL_STATUS 98      /* the cut could not be made: the test fails */
#define MAX_IMAGES  16
#define MAX_SYNCS   4096
#define SECTOR      512

/* Bytes a write or a truncation replaced, to be put back at the cut. */
struct undo {
	sqlite3_int64  off;
	int            n;
	unsigned char *old;
};

/* A database or WAL file as a power cut would leave it. */
struct image {
	char           path[4096];     /* "": a free slot */
	int            durable;        /* exists after a cut */
	sqlite3_int64  size;           /* its size at its last sync */
	struct undo   *u;              /* writes since then, oldest first */
	int            n, cap;
};

struct pl_file {
	sqlite3_file  base;
	struct image *im;              /* NULL: not tracked (temporary files) */
	sqlite3_file *real;            /* the real VFS's file, just after us */
};

static sqlite3_vfs pl_vfs, *real_vfs;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct image images[MAX_IMAGES];
static long writes, cut_at, tear;
static long syncs[MAX_SYNCS];      /* writes before each sync */
static int n_syncs;
static const char *count_file;

/* A line to stderr in one write, as threads may be dying around it. */
static void __attribute__((format(printf, 1, 2))) say(const char *fmt, ...)
{
	char line[4300];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n > 0 && write(2, line, (size_t)n < sizeof line ? (size_t)n :
	    sizeof line - 1) < 0)
		return;
}

static void forget(struct image *im)
{
	for (int i = 0; i < im->n; i++)
		free(im->u[i].old);
	im->n = 0;
}

/* Puts im back as the disk holds it. */
static int restore(const struct image *im)
{
	int fd, rc = 0;

	if (!im->durable)
		return unlink(im->path) == 0 || access(im->path, F_OK) != 0 ?
		    0 : -1;
	if ((fd = open(im->path, O_WRONLY)) < 0)
		return -1;
	for (int i = im->n - 1; rc == 0 && i >= 0; i--)
		if (pwrite(fd, im->u[i].old, im->u[i].n, im->u[i].off) !=
		    im->u[i].n)
			rc = -1;
	if (rc == 0 && ftruncate(fd, im->size) != 0)
		rc = -1;
	close(fd);
	return rc;
}

/* The part of the cut write that landed (a torn page). */
static int torn(const struct image *im, const void *buf, int n,
    sqlite3_int64 off)
{
	long k = (long)n * tear / 1000;
	int fd, rc = 0;

	if (n > SECTOR)
		k -= k % SECTOR;
	if (k <= 0 || !im->durable)
		return 0;
	if ((fd = open(im->path, O_WRONLY)) < 0)
		return -1;
	if (pwrite(fd, buf, (size_t)k, off) != k)
		rc = -1;
	close(fd);
	say("powerloss: %s: torn write, %ld of %d bytes landed\n", im->path,
	    k, n);
	return rc;
}

/* The power goes: called with mu held, at write number cut_at, which is
 * buf (NULL for a truncation) of im. Never returns. */
static void cut(const struct image *im, const void *buf, int n,
    sqlite3_int64 off)
{
	for (int i = 0; i < MAX_IMAGES; i++)
		if (images[i].path[0] != '\0' && restore(&images[i]) != 0) {
			say("powerloss: %s: cannot put back\n",
			    images[i].path);
			_exit(FAIL_STATUS);
		}
	if (buf != NULL && tear > 0 && torn(im, buf, n, off) != 0)
		_exit(FAIL_STATUS);
	say("powerloss: %s: power cut at write %ld (%s %lld)\n", im->path,
	    writes, buf != NULL ? "a write at" : "a truncation to",
	    (long long)off);
	_exit(CUT_STATUS);
}

/* Saves what lies in [off, end) below im's durable size before it is
 * written or dropped (beyond the file's end it reads zeros, which an
 * older truncation's saved bytes cover at the cut). */
static int save(struct image *im, sqlite3_file *real, sqlite3_int64 off,
    sqlite3_int64 end)
{
	struct undo *u;
	int rc;

	if (end > im->size)
		end = im->size;
	if (end <= off)
		return SQLITE_OK;
	if (im->n == im->cap) {
		u = realloc(im->u, (im->cap ? im->cap * 2 : 64) * sizeof *u);
		if (u == NULL)
			return SQLITE_IOERR_NOMEM;
		im->u = u;
		im->cap = im->cap ? im->cap * 2 : 64;
	}
	u = &im->u[im->n];
	u->off = off;
	u->n = (int)(end - off);
	if ((u->old = malloc(u->n)) == NULL)
		return SQLITE_IOERR_NOMEM;
	rc = real->pMethods->xRead(real, u->old, u->n, off);
	if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ) {
		free(u->old);
		return rc;
	}
	im->n++;
	return SQLITE_OK;
}

static int pl_write(sqlite3_file *f, const void *buf, int n,
    sqlite3_int64 off)
{
	struct pl_file *p = (struct pl_file *)f;
	int rc;

	if (p->im == NULL)
		return p->real->pMethods->xWrite(p->real, buf, n, off);
	pthread_mutex_lock(&mu);
	if (++writes == cut_at)
		cut(p->im, buf, n, off);
	rc = save(p->im, p->real, off, off + n);
	if (rc == SQLITE_OK)
		rc = p->real->pMethods->xWrite(p->real, buf, n, off);
	pthread_mutex_unlock(&mu);
	return rc;
}

static int pl_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	struct pl_file *p = (struct pl_file *)f;
	int rc;

	if (p->im == NULL)
		return p->real->pMethods->xTruncate(p->real, size);
	pthread_mutex_lock(&mu);
	if (++writes == cut_at)
		cut(p->im, NULL, 0, size);
	rc = save(p->im, p->real, size, p->im->size);
	if (rc == SQLITE_OK)
		rc = p->real->pMethods->xTruncate(p->real, size);
	pthread_mutex_unlock(&mu);
	return rc;
}

/* What the file holds now is what the disk holds. */
static int pl_sync(sqlite3_file *f, int flags)
{
	struct pl_file *p = (struct pl_file *)f;
	sqlite3_int64 size;
	int rc;

	if (p->im == NULL)
		return p->real->pMethods->xSync(p->real, flags);
	pthread_mutex_lock(&mu);
	rc = p->real->pMethods->xFileSize(p->real, &size);
	if (rc == SQLITE_OK && n_syncs < MAX_SYNCS)
		syncs[n_syncs++] = writes;
	if (rc == SQLITE_OK) {
		forget(p->im);
		p->im->size = size;
		p->im->durable = 1;
	}
	pthread_mutex_unlock(&mu);
	return rc;
}

static int pl_close(sqlite3_file *f)
{
	struct pl_file *p = (struct pl_file *)f;

	return p->real->pMethods->xClose(p->real);
}

static int pl_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	struct pl_file *p = (struct pl_file *)f;

	return p->real->pMethods->xRead(p->real, buf, n, off);
}

static int pl_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	struct pl_file *p = (struct pl_file *)f;

	return p->real->pMethods->xFileSize(p->real, size);
}

static int pl_lock(sqlite3_file *f, int level)
{
	struct pl_file *p = (struct pl_file *)f;

	return p->real->pMethods->xLock(p->real, level);
}

static int pl_unlock(sqlite3_file *f, int level)
{
	struct pl_file *p = (struct pl_file *)f;

	return p->real->pMethods->xUnlock(p->real, level);
}

static int pl_check_reserved(sqlite3_file *f, int *out)
{
	struct pl_file *p = (struct pl_file *)f;

	return p->real->pMethods->xCheckReservedLock(p->real, out);
}

static int pl_file_control(sqlite3_file *f, int op, void *arg)
{
	struct pl_file *p = (struct pl_file *)f;

	return p->real->pMethods->xFileControl(p->real, op, arg);
}

static int pl_sector_size(sqlite3_file *f)
{
	struct pl_file *p = (struct pl_file *)f;

	return p->real->pMethods->xSectorSize(p->real);
}

static int pl_device(sqlite3_file *f)
{
	struct pl_file *p = (struct pl_file *)f;

	return p->real->pMethods->xDeviceCharacteristics(p->real);
}

static int pl_shm_map(sqlite3_file *f, int pg, int sz, int extend,
    void volatile **pp)
{
	struct pl_file *p = (struct pl_file *)f;

	if (p->real->pMethods->iVersion < 2)
		return SQLITE_IOERR_SHMMAP;
	return p->real->pMethods->xShmMap(p->real, pg, sz, extend, pp);
}

static int pl_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
	struct pl_file *p = (struct pl_file *)f;

	return p->real->pMethods->xShmLock(p->real, off, n, flags);
}

static void pl_shm_barrier(sqlite3_file *f)
{
	struct pl_file *p = (struct pl_file *)f;

	p->real->pMethods->xShmBarrier(p->real);
}

static int pl_shm_unmap(sqlite3_file *f, int del)
{
	struct pl_file *p = (struct pl_file *)f;

	return p->real->pMethods->xShmUnmap(p->real, del);
}

static int pl_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
	struct pl_file *p = (struct pl_file *)f;

	*pp = NULL;
	if (p->real->pMethods->iVersion < 3)
		return SQLITE_OK;
	return p->real->pMethods->xFetch(p->real, off, n, pp);
}

static int pl_unfetch(sqlite3_file *f, sqlite3_int64 off, void *pg)
{
	struct pl_file *p = (struct pl_file *)f;

	if (p->real->pMethods->iVersion < 3)
		return SQLITE_OK;
	return p->real->pMethods->xUnfetch(p->real, off, pg);
}

static const sqlite3_io_methods pl_methods = {
	3, pl_close, pl_read, pl_write, pl_truncate, pl_sync, pl_file_size,
	pl_lock, pl_unlock, pl_check_reserved, pl_file_control,
	pl_sector_size, pl_device, pl_shm_map, pl_shm_lock, pl_shm_barrier,
	pl_shm_unmap, pl_fetch, pl_unfetch
};

static struct image *find(const char *path)
{
	for (int i = 0; i < MAX_IMAGES; i++)
		if (strcmp(images[i].path, path) == 0)
			return &images[i];
	return NULL;
}

/* The image of path; the first time, the file as it is (durable if it
 * exists). NULL when the table is full. Called with mu held. */
static struct image *image_of(const char *path)
{
	struct image *im = path[0] != '\0' ? find(path) : NULL;
	struct stat st;

	if (im != NULL || strlen(path) >= sizeof im->path ||
	    (im = find("")) == NULL)
		return im;
	snprintf(im->path, sizeof im->path, "%s", path);
	im->durable = stat(path, &st) == 0;
	im->size = im->durable ? st.st_size : 0;
	return im;
}

static int tracked(int flags)
{
	return (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL |
	    SQLITE_OPEN_MAIN_JOURNAL)) != 0;
}

static int pl_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f,
    int flags, int *out)
{
	struct pl_file *p = (struct pl_file *)f;
	struct image *im = NULL;
	int rc;

	(void)vfs;
	p->real = (sqlite3_file *)(p + 1);
	p->im = NULL;
	pthread_mutex_lock(&mu);
	if (name != NULL && tracked(flags) && (im = image_of(name)) == NULL) {
		pthread_mutex_unlock(&mu);
		return SQLITE_CANTOPEN;
	}
	rc = real_vfs->xOpen(real_vfs, name, p->real, flags, out);
	pthread_mutex_unlock(&mu);
	p->im = im;
	p->base.pMethods = p->real->pMethods != NULL ? &pl_methods : NULL;
	return rc;
}

static int pl_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	struct image *im;
	int rc;

	(void)vfs;
	pthread_mutex_lock(&mu);
	rc = real_vfs->xDelete(real_vfs, name, sync_dir);
	if (rc == SQLITE_OK && (im = find(name)) != NULL) {
		forget(im);
		im->path[0] = '\0';
	}
	pthread_mutex_unlock(&mu);
	return rc;
}

static void __attribute__((destructor)) pl_fini(void)
{
	FILE *fp;

	if (count_file == NULL || (fp = fopen(count_file, "w")) == NULL)
		return;
	fprintf(fp, "%ld\n", writes);
	for (int i = 0; i < n_syncs; i++)
		fprintf(fp, "%ld\n", syncs[i]);
	fclose(fp);
}

static void __attribute__((constructor)) pl_init(void)
{
	const char *s;

	cut_at = (s = getenv("MQ_PL_CUT")) != NULL ? atol(s) : 0;
	tear = (s = getenv("MQ_PL_TEAR")) != NULL ? atol(s) : 0;
	count_file = getenv("MQ_PL_COUNT");
	if ((real_vfs = sqlite3_vfs_find(NULL)) == NULL) {
		say("powerloss: no default VFS\n");
		_exit(FAIL_STATUS);
	}
	pl_vfs = *real_vfs;
	pl_vfs.zName = "powerloss";
	pl_vfs.szOsFile = (int)sizeof(struct pl_file) + real_vfs->szOsFile;
	pl_vfs.xOpen = pl_open;
	pl_vfs.xDelete = pl_delete;
	if (sqlite3_vfs_register(&pl_vfs, 1) != SQLITE_OK) {
		say("powerloss: cannot register the VFS\n");
		_exit(FAIL_STATUS);
	}
}
