/* Unit tests of the queue's variant choice: deterministic per lead, and
 * split by weight over many leads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "db_queue.h"

static void split(const int *w, int n, sqlite3_int64 campaign, int leads,
    int *count)
{
	for (int i = 0; i < n; i++)
		count[i] = 0;
	for (int l = 1; l <= leads; l++) {
		int v = mq_db_pick_variant(w, n, campaign, l);

		assert_in_range(v, 0, n - 1);
		count[v]++;
	}
}

static void test_split_70_30(void **state)
{
	const int w[2] = { 70, 30 };
	int a[2], b[2];

	(void)state;
	for (sqlite3_int64 c = 1; c <= 20; c++) {
		split(w, 2, c, 10000, a);
		assert_in_range(a[0], 6700, 7300);     /* 70 % +- 3 % */
		assert_int_equal(a[0] + a[1], 10000);
		split(w, 2, c, 10000, b);              /* a rerun: the same */
		assert_memory_equal(a, b, sizeof a);
	}
}

static void test_split_three(void **state)
{
	const int w[3] = { 1, 1, 2 };
	int k[3];

	(void)state;
	split(w, 3, 7, 10000, k);
	assert_in_range(k[0], 2200, 2800);
	assert_in_range(k[1], 2200, 2800);
	assert_in_range(k[2], 4700, 5300);
}

static void test_stable(void **state)
{
	const int w[2] = { 1, 1 };
	int same = 0;

	(void)state;
	for (int l = 1; l <= 1000; l++) {
		assert_int_equal(mq_db_pick_variant(w, 2, 3, l),
		    mq_db_pick_variant(w, 2, 3, l));
		same += mq_db_pick_variant(w, 2, 3, l) ==
		    mq_db_pick_variant(w, 2, 4, l);
	}
	/* another campaign splits its leads independently */
	assert_in_range(same, 400, 600);
	assert_int_equal(mq_db_pick_variant(w, 1, 3, 5), 0);
	assert_int_equal(mq_db_pick_variant(w, 0, 3, 5), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_70_30),
		cmocka_unit_test(test_split_three),
		cmocka_unit_test(test_stable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
