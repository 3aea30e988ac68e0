/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The checks every C test uses: count passes and failures, print each
 * failure with its place, and end with the "N passed, N failed" line that
 * `make test-c` and CI read.
 */
#ifndef VIV_SPEC_CHECK_H
#define VIV_SPEC_CHECK_H

#include <stdio.h>
#include <string.h>

static int passed, failed;

/* CHECK(cond, printf-style message) */
#define CHECK(cond, ...)						\
	do {								\
		if (cond) {						\
			passed++;					\
		} else {						\
			failed++;					\
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);			\
			fputc('\n', stderr);				\
		}							\
	} while (0)

#define CHECK_STR(got, want)						\
	CHECK(!strcmp((got), (want)), "got '%s', want '%s'", (got), (want))

/* ASSERT(cond, fmt, ...): like CHECK, naming the function and the
 * condition that failed. */
#define ASSERT(cond, fmt, ...)						\
	CHECK(cond, "%s: %s: " fmt, __func__, #cond, ##__VA_ARGS__)

/* Print the closing line; the test's exit status. */
static inline int check_report(void)
{
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

#endif /* VIV_SPEC_CHECK_H */
