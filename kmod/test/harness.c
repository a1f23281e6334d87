// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * quic_test.ko: the known-answer tests of quic.ko's packet protection,
 * tokens and transport parameter codec, run when the module is loaded.
 *
 * The runner of the KUnit-shaped harness (quic_test.h): it runs every case
 * of every suite, each in its own kernel thread, prints KTAP version 1 and
 * fails the load when a case failed.  Module parameters: corrupt=1 breaks
 * one expected vector (the run must then fail), bench=1 adds a rough
 * throughput measurement of every cipher suite.
 */

#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "quic_test.h"

static struct quic_test_suite * const quic_test_suites[] = {
	&quic_crypto_test_suite,
	&quic_token_test_suite,
	&quic_tp_test_suite,
	&quic_hello_test_suite,
};

/**
 * struct quic_test_resource - a cleanup action of the running case
 * @list: entry in &quic_test.resources
 * @action: the cleanup
 * @ctx: its argument
 */
struct quic_test_resource {
	struct list_head	list;
	void			(*action)(void *ctx);
	void			*ctx;
};

void quic_test_abort(struct quic_test *test)
{
	kthread_complete_and_exit(&test->done, 0);
}

void quic_test_fail(struct quic_test *test, bool assert, const char *file,
		    int line, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	test->status = QUIC_TEST_FAILURE;
	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_info("%*s# %s: %s FAILED at %s:%d: %pV\n", test->indent, "",
		test->name, assert ? "ASSERTION" : "EXPECTATION",
		kbasename(file), line, &vaf);
	va_end(args);
	if (assert)
		quic_test_abort(test);
}

void quic_test_check_eq(struct quic_test *test, bool assert, const char *file,
			int line, const char *left, const char *right,
			long long lv, long long rv)
{
	if (lv != rv)
		quic_test_fail(test, assert, file, line,
			       "%s == %s: %lld != %lld", left, right, lv, rv);
}

void quic_test_check_memeq(struct quic_test *test, bool assert,
			   const char *file, int line, const char *left,
			   const char *right, const void *lv, const void *rv,
			   size_t len)
{
	size_t n = min_t(size_t, len, 32);

	if (!memcmp(lv, rv, len))
		return;
	quic_test_fail(test, assert, file, line,
		       "%s == %s (%zu bytes): %*phN != %*phN%s", left, right,
		       len, (int)n, lv, (int)n, rv, n < len ? "..." : "");
}

void quic_test_skip(struct quic_test *test, const char *reason)
{
	test->status = QUIC_TEST_SKIPPED;
	strscpy(test->skip_reason, reason);
	quic_test_abort(test);
}

void quic_test_info(struct quic_test *test, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_info("%*s# %s: %pV\n", test->indent, "", test->name, &vaf);
	va_end(args);
}

int quic_test_add_action(struct quic_test *test, void (*action)(void *),
			 void *ctx)
{
	struct quic_test_resource *res;

	res = kmalloc(sizeof(*res), GFP_KERNEL);
	if (!res)
		return -ENOMEM;
	res->action = action;
	res->ctx = ctx;
	list_add(&res->list, &test->resources);
	return 0;
}

static void quic_test_kfree_action(void *ptr)
{
	kfree(ptr);
}

void *quic_test_kzalloc(struct quic_test *test, size_t size, gfp_t gfp)
{
	void *ptr = kzalloc(size, gfp);

	if (ptr && quic_test_add_action(test, quic_test_kfree_action, ptr)) {
		kfree(ptr);
		return NULL;
	}
	return ptr;
}

static void quic_test_cleanup(struct quic_test *test)
{
	struct quic_test_resource *res, *tmp;

	list_for_each_entry_safe(res, tmp, &test->resources, list) {
		list_del(&res->list);
		res->action(res->ctx);
		kfree(res);
	}
}

struct quic_test_run {
	struct quic_test		*test;
	const struct quic_test_case	*tc;
};

static int quic_test_thread(void *data)
{
	struct quic_test_run *run = data;

	run->tc->run_case(run->test);
	kthread_complete_and_exit(&run->test->done, 0);
}

/* Run one case (with one parameter) in its own thread: KUnit's try-catch. */
static void quic_test_run_once(struct quic_test *test,
			       const struct quic_test_case *tc)
{
	struct quic_test_run run = { .test = test, .tc = tc };
	struct task_struct *task;

	INIT_LIST_HEAD(&test->resources);
	init_completion(&test->done);
	test->status = QUIC_TEST_SUCCESS;
	test->skip_reason[0] = '\0';
	task = kthread_run(quic_test_thread, &run, "quic_test");
	if (IS_ERR(task)) {
		pr_info("%*s# %s: cannot start its thread: %ld\n", test->indent,
			"", test->name, PTR_ERR(task));
		test->status = QUIC_TEST_FAILURE;
		return;
	}
	wait_for_completion(&test->done);
	quic_test_cleanup(test);
}

static void quic_test_print_result(int indent, enum quic_test_status status,
				   int n, const char *name, const char *reason)
{
	if (status == QUIC_TEST_SKIPPED)
		pr_info("%*sok %d %s # SKIP %s\n", indent, "", n, name, reason);
	else
		pr_info("%*s%s %d %s\n", indent, "",
			status == QUIC_TEST_FAILURE ? "not ok" : "ok", n, name);
}

static void quic_test_print_counts(int indent, const char *name,
				   const int *counts)
{
	pr_info("%*s# %s: pass:%d fail:%d skip:%d total:%d\n", indent, "",
		name, counts[QUIC_TEST_SUCCESS], counts[QUIC_TEST_FAILURE],
		counts[QUIC_TEST_SKIPPED], counts[QUIC_TEST_SUCCESS] +
		counts[QUIC_TEST_FAILURE] + counts[QUIC_TEST_SKIPPED]);
}

static enum quic_test_status quic_test_run_params(struct quic_test *test,
						  const struct quic_test_case *tc)
{
	int counts[3] = {}, n = 0;
	char *desc;

	desc = kzalloc(QUIC_TEST_PARAM_DESC_SIZE, GFP_KERNEL);
	if (!desc)
		return QUIC_TEST_FAILURE;
	pr_info("        KTAP version 1\n");
	pr_info("        # Subtest: %s\n", tc->name);
	test->indent = 8;
	test->param_value = tc->generate_params(NULL, desc);
	while (test->param_value) {
		quic_test_run_once(test, tc);
		quic_test_print_result(8, test->status, ++n, desc,
				       test->skip_reason);
		counts[test->status]++;
		memset(desc, 0, QUIC_TEST_PARAM_DESC_SIZE);
		test->param_value = tc->generate_params(test->param_value, desc);
	}
	kfree(desc);
	pr_info("        1..%d\n", n);
	quic_test_print_counts(4, tc->name, counts);
	if (counts[QUIC_TEST_FAILURE] || !n)
		return QUIC_TEST_FAILURE;
	if (counts[QUIC_TEST_SKIPPED] == n)
		return QUIC_TEST_SKIPPED;
	return QUIC_TEST_SUCCESS;
}

/* Run a suite; return whether every case passed or was skipped. */
static bool quic_test_run_suite(const struct quic_test_suite *suite, int n)
{
	const struct quic_test_case *tc;
	int counts[3] = {}, i = 0;
	struct quic_test test;

	for (tc = suite->test_cases; tc->run_case; tc++)
		i++;
	pr_info("    KTAP version 1\n");
	pr_info("    # Subtest: %s\n", suite->name);
	pr_info("    # module: %s\n", KBUILD_MODNAME);
	pr_info("    1..%d\n", i);
	i = 0;
	for (tc = suite->test_cases; tc->run_case; tc++) {
		enum quic_test_status status;

		memset(&test, 0, sizeof(test));
		test.name = tc->name;
		if (tc->generate_params) {
			status = quic_test_run_params(&test, tc);
			test.skip_reason[0] = '\0';
		} else {
			test.indent = 4;
			quic_test_run_once(&test, tc);
			status = test.status;
		}
		quic_test_print_result(4, status, ++i, tc->name,
				       test.skip_reason);
		counts[status]++;
	}
	quic_test_print_counts(0, suite->name, counts);
	quic_test_print_result(0, counts[QUIC_TEST_FAILURE] ?
			       QUIC_TEST_FAILURE : QUIC_TEST_SUCCESS, n,
			       suite->name, NULL);
	return !counts[QUIC_TEST_FAILURE];
}

static int __init quic_test_init(void)
{
	bool ok = true;
	int i;

	pr_info("KTAP version 1\n");
	pr_info("1..%zu\n", ARRAY_SIZE(quic_test_suites));
	for (i = 0; i < ARRAY_SIZE(quic_test_suites); i++)
		ok &= quic_test_run_suite(quic_test_suites[i], i + 1);
	return ok ? 0 : -EINVAL;
}

static void __exit quic_test_exit(void)
{
}

module_init(quic_test_init);
module_exit(quic_test_exit);

MODULE_IMPORT_NS(QUIC_TEST);
MODULE_DESCRIPTION("Known-answer tests of the QUIC module (KTAP output; load fails on a failure)");
MODULE_LICENSE("GPL");
