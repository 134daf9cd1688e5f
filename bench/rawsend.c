/*
 * The reference for queue throughput: the same messages sent with plain
 * libcurl, one easy handle for all of them so that its one connection is
 * reused, with no queue, no database and no composing. The messages are
 * read into memory before the clock starts.
 * Usage: rawsend URL FROM LIST, LIST holding "RCPT<TAB>FILE" lines.
 * Prints raw_curl_msgs_per_s=N.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

struct msg {
	char   rcpt[256];
	char  *data;
	size_t len;
	size_t off;
};

static double secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int slurp(const char *path, struct msg *m)
{
	FILE *f;
	long n;
	int rc = -1;

	if ((f = fopen(path, "rb")) == NULL)
		return -1;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0)
		goto out;
	if ((m->data = malloc(n + 1)) == NULL ||
	    fread(m->data, 1, n, f) != (size_t)n)
		goto out;
	m->len = n;
	rc = 0;
out:
	fclose(f);
	return rc;
}

/* Reads LIST; returns the number of messages in *v (caller frees), or -1. */
static int load(const char *list, struct msg **v)
{
	char line[4352], *tab;
	struct msg *m = NULL, *t;
	int n = 0, cap = 0;
	FILE *f;

	if ((f = fopen(list, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if ((tab = strchr(line, '\t')) == NULL)
			continue;
		*tab = '\0';
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			if ((t = realloc(m, cap * sizeof *m)) == NULL)
				break;
			m = t;
		}
		memset(&m[n], 0, sizeof m[n]);
		if ((size_t)snprintf(m[n].rcpt, sizeof m[n].rcpt, "<%s>",
		    line) >= sizeof m[n].rcpt || slurp(tab + 1, &m[n]) != 0) {
			fprintf(stderr, "rawsend: cannot read %s\n", tab + 1);
			break;
		}
		n++;
	}
	fclose(f);
	*v = m;
	return n;
}

static size_t on_read(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct msg *m = arg;
	size_t k = size * nmemb;

	if (k > m->len - m->off)
		k = m->len - m->off;
	memcpy(buf, m->data + m->off, k);
	m->off += k;
	return k;
}

/* Sends every message over handle c; returns how many were accepted. */
static int send_all(CURL *c, const char *from, struct msg *v, int n)
{
	struct curl_slist *to;
	int ok = 0;
	long code;

	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
	for (int i = 0; i < n; i++) {
		to = curl_slist_append(NULL, v[i].rcpt);
		curl_easy_setopt(c, CURLOPT_MAIL_RCPT, to);
		curl_easy_setopt(c, CURLOPT_READDATA, &v[i]);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
		    (curl_off_t)v[i].len);
		if (curl_easy_perform(c) == CURLE_OK &&
		    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) ==
		    CURLE_OK && code == 250)
			ok++;
		curl_slist_free_all(to);
	}
	return ok;
}

int main(int argc, char **argv)
{
	struct msg *v = NULL;
	double t0, t;
	int n, ok;
	CURL *c;

	if (argc != 4) {
		fprintf(stderr, "usage: rawsend URL FROM LIST\n");
		return 64;
	}
	if ((n = load(argv[3], &v)) <= 0) {
		fprintf(stderr, "rawsend: no messages in %s\n", argv[3]);
		return 66;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if ((c = curl_easy_init()) == NULL)
		return 70;
	curl_easy_setopt(c, CURLOPT_URL, argv[1]);
	t0 = secs();
	ok = send_all(c, argv[2], v, n);
	t = secs() - t0;
	curl_easy_cleanup(c);
	if (ok != n)
		fprintf(stderr, "rawsend: %d of %d messages accepted\n", ok, n);
	printf("raw_curl_msgs_per_s=%.1f\n", ok / t);
	for (int i = 0; i < n; i++)
		free(v[i].data);
	free(v);
	curl_global_cleanup();
	return ok == n ? 0 : 75;
}
