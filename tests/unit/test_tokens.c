/* Unit tests of the token file (lib/tokens.c) and of what needs no server
 * in lib/oauth.c: a grant stored and read back, others' entries kept,
 * the file's mode enforced, a missing or foreign grant told to run
 * mailq-auth, an expired token refreshed (here: the provider out of
 * reach, a temporary failure that changes nothing), a refused token
 * expired; PKCE's S256 by RFC 7636's own example; token syntax. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>
#include <cmocka.h>

#include <curl/curl.h>

#include "oauth.h"
#include "tokens.h"

static char dir[256], path[300];

static struct mq_conf_mailbox box(const char *name, const char *client)
{
	struct mq_conf_mailbox m;

	memset(&m, 0, sizeof m);
	m.name = (char *)(uintptr_t)name;
	m.auth = MQ_AUTH_OAUTH2;
	m.oauth2.provider = (char *)(uintptr_t)"custom";
	m.oauth2.client_id = (char *)(uintptr_t)client;
	m.oauth2.token_url = (char *)(uintptr_t)"https://127.0.0.1:1/token";
	m.oauth2.scope = (char *)(uintptr_t)"mail";
	return m;
}

static int setup(void **state)
{
	const char *tmp = getenv("TMPDIR");

	(void)state;
	snprintf(dir, sizeof dir, "%s/mq-tokens.XXXXXX", tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/mailq.tokens", dir);
	return 0;
}

static int teardown(void **state)
{
	char p[400];

	(void)state;
	unlink(path);
	snprintf(p, sizeof p, "%s.lock", path);
	unlink(p);
	rmdir(dir);
	return 0;
}

static char *slurp(void)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void test_put_and_read(void **state)
{
	struct mq_conf_mailbox a = box("anna", "client-1");
	struct mq_conf_mailbox b = box("bob", "client-2");
	struct mq_err err;
	struct stat st;
	char *tok;
	int refreshed;

	(void)state;
	assert_int_equal(mq_tokens_put(path, "anna", "client-1", "r-anna",
	    "a-anna", 3600, &err), MQ_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(mq_tokens_put(path, "bob", "client-2", "r-bob",
	    "a-bob", 3600, &err), MQ_OK);
	assert_int_equal(mq_tokens_access(path, &a, &tok, &refreshed, &err),
	    MQ_OK);
	assert_string_equal(tok, "a-anna");
	assert_int_equal(refreshed, 0);
	free(tok);
	/* a new grant replaces anna's, bob's stays */
	assert_int_equal(mq_tokens_put(path, "anna", "client-1", "r-anna2",
	    "a-anna2", 3600, &err), MQ_OK);
	assert_int_equal(mq_tokens_access(path, &a, &tok, &refreshed, &err),
	    MQ_OK);
	assert_string_equal(tok, "a-anna2");
	free(tok);
	assert_int_equal(mq_tokens_access(path, &b, &tok, &refreshed, &err),
	    MQ_OK);
	assert_string_equal(tok, "a-bob");
	free(tok);
	assert_null(strstr(slurp(), "r-anna "));
	assert_non_null(strstr(slurp(), "r-anna2"));
}

static void test_refused(void **state)
{
	struct mq_conf_mailbox a = box("anna", "client-1");
	struct mq_conf_mailbox other = box("anna", "client-9");
	struct mq_conf_mailbox nobody = box("carl", "client-1");
	struct mq_err err;
	char *tok = NULL;
	int refreshed;

	(void)state;
	assert_int_equal(mq_tokens_access(path, &a, &tok, &refreshed, &err),
	    MQ_PERM);       /* no file yet */
	assert_int_equal(err.ex, EX_NOPERM);
	assert_non_null(strstr(err.msg, "run mailq-auth anna"));
	assert_int_equal(mq_tokens_put(path, "anna", "client-1", "r", "a",
	    3600, &err), MQ_OK);
	assert_int_equal(mq_tokens_access(path, &nobody, &tok, &refreshed,
	    &err), MQ_PERM);
	assert_non_null(strstr(err.msg, "run mailq-auth carl"));
	/* a grant of another client is no grant */
	assert_int_equal(mq_tokens_access(path, &other, &tok, &refreshed,
	    &err), MQ_PERM);
	assert_null(tok);
	/* others may read it: refused, as a loose config is */
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(mq_tokens_access(path, &a, &tok, &refreshed, &err),
	    MQ_PERM);
	assert_int_equal(err.ex, EX_NOPERM);
	assert_non_null(strstr(err.msg, "chmod 600"));
	assert_int_equal(chmod(path, 0600), 0);
}

static void test_expiry(void **state)
{
	struct mq_conf_mailbox a = box("anna", "client-1");
	struct mq_err err;
	char before[4096], *tok = NULL;
	int refreshed;

	(void)state;
	/* 200 s to live is less than the margin: a refresh is due, and the
	 * provider is out of reach: temporary, the file unchanged */
	assert_int_equal(mq_tokens_put(path, "anna", "client-1", "r", "a",
	    200, &err), MQ_OK);
	snprintf(before, sizeof before, "%s", slurp());
	assert_int_equal(mq_tokens_access(path, &a, &tok, &refreshed, &err),
	    MQ_TEMP);
	assert_null(tok);
	assert_string_equal(slurp(), before);
	/* a token a server refused is taken as expired */
	assert_int_equal(mq_tokens_put(path, "anna", "client-1", "r", "a",
	    3600, &err), MQ_OK);
	assert_int_equal(mq_tokens_expire(path, "anna", &err), MQ_OK);
	assert_int_equal(mq_tokens_access(path, &a, &tok, &refreshed, &err),
	    MQ_TEMP);
	assert_int_equal(mq_tokens_expire(path, "nobody", &err), MQ_OK);
}

static void test_oauth_pure(void **state)
{
	char c[64], v[64], c2[64];
	struct mq_err err;

	(void)state;
	/* RFC 7636 appendix B */
	mq_oauth_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", c);
	assert_string_equal(c, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
	assert_int_equal(mq_oauth_pkce(v, c2, &err), MQ_OK);
	assert_int_equal(strlen(v), 43);
	assert_int_equal(strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	    "qrstuvwxyz0123456789-_"), 43);
	mq_oauth_challenge(v, c);
	assert_string_equal(c, c2);
	assert_true(mq_oauth_token_ok("ya29.a0Af-_~+/="));
	assert_false(mq_oauth_token_ok(""));
	assert_false(mq_oauth_token_ok("two words"));
	assert_false(mq_oauth_token_ok("line\nbreak"));
}

static void test_bad_tokens_refused(void **state)
{
	struct mq_err err;

	(void)state;
	assert_int_equal(mq_tokens_put(path, "anna", "c", "has space", "a",
	    60, &err), MQ_PERM);
	assert_int_equal(access(path, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_and_read, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
		cmocka_unit_test(test_oauth_pure),
		cmocka_unit_test_setup_teardown(test_bad_tokens_refused, setup,
		    teardown),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
