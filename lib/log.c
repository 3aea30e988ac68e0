/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One sink for every message: ours and libbpf's. Hosts replace it with
 * viv_set_print(); the default writes to stderr up to VIVARIUM_LOG_LEVEL.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <bpf/libbpf.h>

#include "internal.h"

static int default_print(enum viv_log_level level, const char *fmt, va_list ap);

static viv_print_fn print_fn = default_print;

enum viv_log_level viv_log_level(void)
{
	static int level = -1;
	const char *env;

	if (level >= 0)
		return level;
	level = VIV_WARN;
	env = getenv("VIVARIUM_LOG_LEVEL");
	if (!env || !*env)
		return level;
	if (!strcasecmp(env, "info"))
		level = VIV_INFO;
	else if (!strcasecmp(env, "debug"))
		level = VIV_DEBUG;
	else if (strcasecmp(env, "warn"))
		fprintf(stderr, "vivarium: VIVARIUM_LOG_LEVEL '%s' is not one of "
			"warn, info, debug; using warn\n", env);
	return level;
}

static int default_print(enum viv_log_level level, const char *fmt, va_list ap)
{
	if (level > viv_log_level())
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void viv_print(enum viv_log_level level, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	if (!print_fn)
		return;
	va_start(ap, fmt);
	print_fn(level, fmt, ap);
	va_end(ap);
	errno = saved;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum viv_log_level ours;

	if (!print_fn)
		return 0;
	switch (level) {
	case LIBBPF_WARN:
		ours = VIV_WARN;
		break;
	case LIBBPF_INFO:
		ours = VIV_INFO;
		break;
	default:
		ours = VIV_DEBUG;
		break;
	}
	return print_fn(ours, fmt, ap);
}

void viv_log_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}

viv_print_fn viv_set_print(viv_print_fn fn)
{
	viv_print_fn old = print_fn;

	print_fn = fn;
	viv_log_libbpf();
	return old;
}

const char *viv_errstr(int err)
{
	return strerror(err < 0 ? -err : err);
}

int viv_parse_u32(const char *s, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v > UINT32_MAX)
		return -EINVAL;
	*out = v;
	return 0;
}
