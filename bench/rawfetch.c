/*
 * The reference for reading an inbox: the same messages fetched with
 * plain libcurl, one easy handle (so one connection and one login for
 * all), each by its URL imap://HOST/FOLDER;UID=n, with no parsing, no
 * classification and no database. libcurl's URL fetch uses SELECT and
 * BODY[], so it marks the messages read: run it after mailq-fetch, on a
 * mailbox made for the benchmark.
 * Usage: rawfetch URL USER PASSWORD N   (URL: imap://host:port/INBOX)
 * Prints raw_fetch_s=S raw_msgs_per_s=R raw_bytes=B.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

static double secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t count(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	*(long long *)arg += (long long)(size * n);
	return size * n;
}

int main(int argc, char **argv)
{
	char url[1024];
	long long bytes = 0;
	double t0, t;
	CURL *c;
	int n, i;

	if (argc != 5 || (n = atoi(argv[4])) <= 0) {
		fprintf(stderr, "usage: rawfetch URL USER PASSWORD N\n");
		return 64;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if ((c = curl_easy_init()) == NULL)
		return 71;
	curl_easy_setopt(c, CURLOPT_USERNAME, argv[2]);
	curl_easy_setopt(c, CURLOPT_PASSWORD, argv[3]);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, count);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &bytes);
	t0 = secs();
	for (i = 1; i <= n; i++) {
		snprintf(url, sizeof url, "%s;UID=%d", argv[1], i);
		curl_easy_setopt(c, CURLOPT_URL, url);
		if (curl_easy_perform(c) != CURLE_OK) {
			fprintf(stderr, "rawfetch: UID %d failed\n", i);
			return 75;
		}
	}
	t = secs() - t0;
	printf("raw_fetch_s=%.3f raw_msgs_per_s=%.1f raw_bytes=%lld\n", t,
	    n / t, bytes);
	curl_easy_cleanup(c);
	curl_global_cleanup();
	return 0;
}
