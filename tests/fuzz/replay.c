/*
 * Replays corpora through a fuzz target without libFuzzer, so that
 * `make check` runs every kept input with the normal compiler (and with
 * the sanitizers in CI): each argument is a file or a directory of them,
 * read whole and handed to LLVMFuzzerTestOneInput in name order. A broken
 * property aborts in the target; this prints what it replayed.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int one(const char *path)
{
	struct stat sb;
	uint8_t *data = NULL;
	size_t n = 0;
	FILE *fp;
	int rc = -1;

	if ((fp = fopen(path, "rb")) == NULL || fstat(fileno(fp), &sb) != 0)
		goto out;
	/* a copy of exactly its size, so that reading past it is caught */
	if ((data = malloc(sb.st_size > 0 ? (size_t)sb.st_size : 1)) == NULL)
		goto out;
	n = fread(data, 1, (size_t)sb.st_size, fp);
	if (ferror(fp) || n != (size_t)sb.st_size)
		goto out;
	fprintf(stderr, "replay %s\n", path);
	LLVMFuzzerTestOneInput(data, n);
	rc = 0;
out:
	if (rc != 0)
		perror(path);
	if (fp != NULL)
		fclose(fp);
	free(data);
	return rc;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Replays every regular file of dir; returns how many, -1 on an error. */
static int all(const char *dir)
{
	struct dirent **e;
	struct stat sb;
	char path[4096];
	int n, i, done = 0;

	if ((n = scandir(dir, &e, NULL, by_name)) < 0) {
		perror(dir);
		return -1;
	}
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, e[i]->d_name);
		if (done >= 0 && stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
			done = one(path) == 0 ? done + 1 : -1;
		free(e[i]);
	}
	free(e);
	return done;
}

int main(int argc, char **argv)
{
	struct stat sb;
	int i, n, total = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS-DIR|FILE ...\n", argv[0]);
		return 64;
	}
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &sb) == 0 && S_ISDIR(sb.st_mode))
			n = all(argv[i]);
		else
			n = one(argv[i]) == 0 ? 1 : -1;
		if (n < 0)
			return 1;
		total += n;
	}
	printf("# %d inputs replayed\n", total);
	return 0;
}
