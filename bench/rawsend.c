/*
 * The reference for queue throughput: the same messages sent with plain
 * libcurl by K threads (default 1), one easy handle each, with no queue,
 * no database and no composing: each thread's connection kept for every
 * K-th message, or with "fresh" a session of its own for each message,
 * closed with it, as mailq-tick does. The messages are read into memory
 * before the clock starts.
 * Usage: rawsend URL FROM LIST [K [fresh]], LIST holding "RCPT<TAB>FILE"
 * lines. Prints raw_curl_msgs_per_s=N.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <pthread.h>

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

/* One connection's share: messages first, first + step, ... */
struct lane {
	const char *url, *from;
	struct msg *v;
	int         n, first, step, fresh, ok;
	pthread_t   t;
};

/* Sends the lane's messages over one handle; counts the accepted. */
static void *send_lane(void *p)
{
	struct lane *l = p;
	struct curl_slist *to;
	long code;
	CURL *c;

	if ((c = curl_easy_init()) == NULL)
		return NULL;
	curl_easy_setopt(c, CURLOPT_URL, l->url);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, l->from);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(c, CURLOPT_FORBID_REUSE, (long)l->fresh);
	for (int i = l->first; i < l->n; i += l->step) {
		to = curl_slist_append(NULL, l->v[i].rcpt);
		curl_easy_setopt(c, CURLOPT_MAIL_RCPT, to);
		curl_easy_setopt(c, CURLOPT_READDATA, &l->v[i]);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
		    (curl_off_t)l->v[i].len);
		if (curl_easy_perform(c) == CURLE_OK &&
		    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) ==
		    CURLE_OK && code == 250)
			l->ok++;
		curl_slist_free_all(to);
	}
	curl_easy_cleanup(c);
	return NULL;
}

int main(int argc, char **argv)
{
	struct lane lanes[16];
	struct msg *v = NULL;
	double t0, t;
	int n, k, fresh, ok = 0;

	fresh = argc == 6 && strcmp(argv[5], "fresh") == 0;
	if (argc < 4 || argc > 6 || (argc == 6 && !fresh) ||
	    (k = argc >= 5 ? atoi(argv[4]) : 1) < 1 || k > 16) {
		fprintf(stderr, "usage: rawsend URL FROM LIST [1-16 [fresh]]\n");
		return 64;
	}
	if ((n = load(argv[3], &v)) <= 0) {
		fprintf(stderr, "rawsend: no messages in %s\n", argv[3]);
		return 66;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	t0 = secs();
	for (int i = 0; i < k; i++) {
		lanes[i] = (struct lane){ argv[1], argv[2], v, n, i, k, fresh,
		    0, 0 };
		if (pthread_create(&lanes[i].t, NULL, send_lane, &lanes[i]))
			return 71;
	}
	for (int i = 0; i < k; i++) {
		pthread_join(lanes[i].t, NULL);
		ok += lanes[i].ok;
	}
	t = secs() - t0;
	if (ok != n)
		fprintf(stderr, "rawsend: %d of %d messages accepted\n", ok, n);
	printf("raw_curl_msgs_per_s=%.1f\n", ok / t);
	for (int i = 0; i < n; i++)
		free(v[i].data);
	free(v);
	curl_global_cleanup();
	return ok == n ? 0 : 75;
}
