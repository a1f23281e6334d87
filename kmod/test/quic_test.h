/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A KUnit-shaped test harness for quic_test.ko.
 *
 * The test kernel has no KUnit, so quic_test.ko carries this small
 * stand-in with KUnit's shape, and the suites port by renaming:
 *
 *	struct quic_test		struct kunit
 *	struct quic_test_case		struct kunit_case
 *	struct quic_test_suite		struct kunit_suite
 *	QUIC_TEST_CASE(fn)		KUNIT_CASE(fn)
 *	QUIC_TEST_CASE_PARAM(fn, gen)	KUNIT_CASE_PARAM(fn, gen)
 *	QUIC_TEST_ARRAY_PARAM()		KUNIT_ARRAY_PARAM()
 *	QUIC_EXPECT_*, QUIC_ASSERT_*	KUNIT_EXPECT_*, KUNIT_ASSERT_*
 *	quic_test_skip()		kunit_skip()
 *	quic_test_info()		kunit_info()
 *	quic_test_kzalloc()		kunit_kzalloc()
 *	quic_test_add_action()		kunit_add_action()
 *	quic_test_suites[] (harness.c)	kunit_test_suites()
 *
 * As in KUnit, each case runs in its own kernel thread: a failed assertion
 * ends the case at once (from any depth), and what the case allocated
 * with quic_test_kzalloc() or registered with quic_test_add_action() is
 * released after it, in reverse order.  An expectation that fails marks
 * the case failed and lets it go on.
 *
 * The results are printed in KTAP version 1, as KUnit prints them; unlike
 * KUnit, loading the module fails (-EINVAL) when any case failed, so that
 * insmod reports it.
 */

#ifndef __NET_QUIC_TEST_H
#define __NET_QUIC_TEST_H

#include <linux/completion.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/types.h>

#define QUIC_TEST_PARAM_DESC_SIZE	128

enum quic_test_status {
	QUIC_TEST_SUCCESS,
	QUIC_TEST_FAILURE,
	QUIC_TEST_SKIPPED,
};

/**
 * struct quic_test - the context of one running test case
 * @name: name of the case
 * @param_value: the current parameter of a parameterised case, else NULL
 * @status: outcome so far
 * @skip_reason: why the case was skipped
 * @resources: cleanup actions, newest first
 * @done: completed when the case's thread ends
 * @indent: indentation of the case's diagnostic lines
 */
struct quic_test {
	const char		*name;
	const void		*param_value;
	enum quic_test_status	status;
	char			skip_reason[64];
	struct list_head	resources;
	struct completion	done;
	int			indent;
};

/**
 * struct quic_test_case - one test case
 * @run_case: the test; fails through QUIC_EXPECT_*() and QUIC_ASSERT_*()
 * @name: the case's name in the KTAP output
 * @generate_params: for a parameterised case, returns the parameter after
 *	@prev (the first one for NULL), or NULL after the last one, and
 *	writes its description into @desc (QUIC_TEST_PARAM_DESC_SIZE bytes)
 */
struct quic_test_case {
	void (*run_case)(struct quic_test *test);
	const char *name;
	const void *(*generate_params)(const void *prev, char *desc);
};

#define QUIC_TEST_CASE(fn)	{ .run_case = fn, .name = #fn }
#define QUIC_TEST_CASE_PARAM(fn, gen)					\
	{ .run_case = fn, .name = #fn, .generate_params = gen }

/*
 * QUIC_TEST_ARRAY_PARAM - define @name##_gen_params(), the generator of a
 * case parameterised by each element of @array; @get_desc(elem, desc)
 * describes one.
 */
#define QUIC_TEST_ARRAY_PARAM(name, array, get_desc)			\
	static const void *name##_gen_params(const void *prev, char *desc) \
	{								\
		typeof((array) + 0) __first = (array);			\
		typeof(__first) __next = prev ? (typeof(__first))prev + 1 : \
						__first;		\
									\
		if (__next - __first >= sizeof(array) / sizeof((array)[0])) \
			return NULL;					\
		get_desc(__next, desc);					\
		return __next;						\
	}

/**
 * struct quic_test_suite - a named set of test cases
 * @name: the suite's name in the KTAP output
 * @test_cases: the cases, ended by an empty one
 */
struct quic_test_suite {
	const char *name;
	struct quic_test_case *test_cases;
};

extern struct quic_test_suite quic_crypto_test_suite;
extern struct quic_test_suite quic_token_test_suite;
extern struct quic_test_suite quic_tp_test_suite;
extern struct quic_test_suite quic_hello_test_suite;

void quic_test_fail(struct quic_test *test, bool assert, const char *file,
		    int line, const char *fmt, ...) __printf(5, 6);
void quic_test_check_eq(struct quic_test *test, bool assert, const char *file,
			int line, const char *left, const char *right,
			long long lv, long long rv);
void quic_test_check_memeq(struct quic_test *test, bool assert,
			   const char *file, int line, const char *left,
			   const char *right, const void *lv, const void *rv,
			   size_t len);
void __noreturn quic_test_abort(struct quic_test *test);

/**
 * quic_test_skip - mark the case skipped and end it
 * @test: the running case
 * @reason: printed after "# SKIP"
 */
void __noreturn quic_test_skip(struct quic_test *test, const char *reason);

/**
 * quic_test_info - print a diagnostic line of the running case
 * @test: the running case
 * @fmt: printf format
 */
void quic_test_info(struct quic_test *test, const char *fmt, ...) __printf(2, 3);

/**
 * quic_test_add_action - run @action(@ctx) when the case ends
 * @test: the running case
 * @action: the cleanup
 * @ctx: its argument
 *
 * Return: 0, or -ENOMEM (then @action was not registered and is not run).
 */
int quic_test_add_action(struct quic_test *test, void (*action)(void *),
			 void *ctx);

/**
 * quic_test_kzalloc - kzalloc() freed when the case ends
 * @test: the running case
 * @size: bytes
 * @gfp: allocation flags
 *
 * Return: the zeroed memory, or NULL.
 */
void *quic_test_kzalloc(struct quic_test *test, size_t size, gfp_t gfp);

#define QUIC_EXPECT_TRUE_MSG(test, cond, fmt, ...)			\
	do {								\
		if (!(cond))						\
			quic_test_fail(test, false, __FILE__, __LINE__,	\
				       "%s: " fmt, #cond, ##__VA_ARGS__); \
	} while (0)

#define QUIC_ASSERT_TRUE_MSG(test, cond, fmt, ...)			\
	do {								\
		if (!(cond))						\
			quic_test_fail(test, true, __FILE__, __LINE__,	\
				       "%s: " fmt, #cond, ##__VA_ARGS__); \
	} while (0)

#define QUIC_EXPECT_TRUE(test, cond)	QUIC_EXPECT_TRUE_MSG(test, cond, "false")
#define QUIC_ASSERT_TRUE(test, cond)	QUIC_ASSERT_TRUE_MSG(test, cond, "false")
#define QUIC_ASSERT_NOT_NULL(test, ptr)	QUIC_ASSERT_TRUE_MSG(test, ptr, "NULL")

#define QUIC_EXPECT_EQ(test, left, right)				\
	quic_test_check_eq(test, false, __FILE__, __LINE__, #left, #right, \
			   (long long)(left), (long long)(right))
#define QUIC_ASSERT_EQ(test, left, right)				\
	quic_test_check_eq(test, true, __FILE__, __LINE__, #left, #right, \
			   (long long)(left), (long long)(right))

#define QUIC_EXPECT_MEMEQ(test, left, right, len)			\
	quic_test_check_memeq(test, false, __FILE__, __LINE__, #left,	\
			      #right, left, right, len)
#define QUIC_ASSERT_MEMEQ(test, left, right, len)			\
	quic_test_check_memeq(test, true, __FILE__, __LINE__, #left,	\
			      #right, left, right, len)

#endif /* __NET_QUIC_TEST_H */
