/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * lib/btf.c against an independent reading of the same BTF: bpftool's
 * raw dump of /sys/kernel/btf/vmlinux, parsed here, with anonymous members
 * followed by hand. Then the environment overrides.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "vivarium.h"

#define VMLINUX_BTF	"/sys/kernel/btf/vmlinux"
#define F_PATH_ENV	"VIVARIUM_FILE_F_PATH_OFFSET"
#define D_NAME_ENV	"VIVARIUM_DENTRY_D_NAME_OFFSET"

/* The raw dump, one string per line, and where each type id starts. */
static char **lines;
static size_t nlines;
static size_t *type_line;
static size_t ntypes;

static int load_dump(void)
{
	size_t cap = 0, len = 0;
	char *line = NULL;
	unsigned int id;
	ssize_t n;
	FILE *f;

	f = popen("bpftool btf dump file " VMLINUX_BTF " 2>/dev/null", "r");
	if (!f)
		return -errno;
	while ((n = getline(&line, &len, f)) > 0) {
		if (nlines == cap) {
			cap = cap ? 2 * cap : 65536;
			lines = realloc(lines, cap * sizeof(*lines));
			if (!lines)
				return -ENOMEM;
		}
		line[n - 1] = '\0';
		if (sscanf(line, "[%u]", &id) == 1) {
			if (id >= ntypes) {
				size_t more = 2 * id + 1;

				type_line = realloc(type_line,
						    more * sizeof(*type_line));
				if (!type_line)
					return -ENOMEM;
				memset(type_line + ntypes, 0,
				       (more - ntypes) * sizeof(*type_line));
				ntypes = more;
			}
			type_line[id] = nlines;
		}
		lines[nlines++] = strdup(line);
	}
	free(line);
	return pclose(f) == 0 && nlines ? 0 : -ENOENT;
}

/* Bit offset of @member in the struct or union on line @at of the dump. */
static long dump_member_bits(size_t at, const char *member)
{
	char name[128];
	unsigned int type, bits;
	size_t i;
	long inner;

	for (i = at + 1; i < nlines && lines[i][0] == '\t'; i++) {
		if (sscanf(lines[i], "\t'%127[^']' type_id=%u bits_offset=%u",
			   name, &type, &bits) != 3)
			continue;
		if (!strcmp(name, member))
			return bits;
		if (strcmp(name, "(anon)") || type >= ntypes || !type_line[type])
			continue;
		if (!strstr(lines[type_line[type]], "] STRUCT ") &&
		    !strstr(lines[type_line[type]], "] UNION "))
			continue;
		inner = dump_member_bits(type_line[type], member);
		if (inner >= 0)
			return bits + inner;
	}
	return -1;
}

static long dump_offset(const char *type, const char *member)
{
	char head[160];
	size_t i;
	long bits;

	snprintf(head, sizeof(head), "] STRUCT '%s' ", type);
	for (i = 0; i < nlines; i++) {
		if (lines[i][0] != '[' || !strstr(lines[i], head))
			continue;
		bits = dump_member_bits(i, member);
		return bits < 0 ? -1 : bits / 8;
	}
	return -1;
}

static char last_msg[512];

static int capture(enum viv_log_level level, const char *fmt, va_list ap)
{
	vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
	return 0;
}

static void test_against_bpftool(void)
{
	static const char *const fields[][2] = {
		{ "file", "f_path" },
		{ "dentry", "d_name" },
		{ "task_struct", "pid" },
		{ "qstr", "name" },
	};
	struct viv_offsets off;
	long want[2] = { -1, -1 };
	uint32_t got;
	size_t i;
	int err;

	if (load_dump()) {
		printf("btf_test: skipped the bpftool cross-check: `bpftool btf "
		       "dump file %s` failed\n", VMLINUX_BTF);
		return;
	}
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		long expect = dump_offset(fields[i][0], fields[i][1]);

		ASSERT(expect >= 0, "bpftool has no %s.%s", fields[i][0],
		       fields[i][1]);
		err = viv_btf__member_offset(VMLINUX_BTF, fields[i][0],
					     fields[i][1], &got);
		ASSERT(!err && got == expect, "%s.%s: %u, bpftool says %ld",
		       fields[i][0], fields[i][1], got, expect);
		if (i < 2)
			want[i] = expect;
	}
	unsetenv(F_PATH_ENV);
	unsetenv(D_NAME_ENV);
	err = viv_offsets__resolve(&off);
	ASSERT(!err && off.file_f_path == want[0] &&
	       off.dentry_d_name == want[1], "resolve: %u %u, want %ld %ld",
	       off.file_f_path, off.dentry_d_name, want[0], want[1]);
}

static void test_lookup_errors(void)
{
	uint32_t off;

	ASSERT(viv_btf__member_offset(VMLINUX_BTF, "file", "no_such_field",
				      &off) == -ENOENT, "unknown member");
	ASSERT(viv_btf__member_offset(VMLINUX_BTF, "no_such_struct_viv",
				      "f_path", &off) == -ENOENT,
	       "unknown type");
	ASSERT(viv_btf__member_offset("/nonexistent/vmlinux", "file", "f_path",
				      &off) == -ENOENT, "missing file");
}

static void test_overrides(void)
{
	struct viv_offsets base, off;
	viv_print_fn old;
	int err;

	unsetenv(F_PATH_ENV);
	unsetenv(D_NAME_ENV);
	err = viv_offsets__resolve(&base);
	ASSERT(!err, "resolve: %s", viv_errstr(err));

	setenv(F_PATH_ENV, "123", 1);
	err = viv_offsets__resolve(&off);
	ASSERT(!err && off.file_f_path == 123 &&
	       off.dentry_d_name == base.dentry_d_name, "decimal override");

	setenv(F_PATH_ENV, "0x40", 1);
	setenv(D_NAME_ENV, "48", 1);
	err = viv_offsets__resolve(&off);
	ASSERT(!err && off.file_f_path == 64 && off.dentry_d_name == 48,
	       "hex and decimal overrides: %u %u", off.file_f_path,
	       off.dentry_d_name);

	/* An empty variable is unset, as in a shell. */
	setenv(F_PATH_ENV, "", 1);
	unsetenv(D_NAME_ENV);
	err = viv_offsets__resolve(&off);
	ASSERT(!err && off.file_f_path == base.file_f_path, "empty override");

	old = viv_set_print(capture);
	setenv(F_PATH_ENV, "abc", 1);
	last_msg[0] = '\0';
	ASSERT(viv_offsets__resolve(&off) == -EINVAL, "non-numeric override");
	ASSERT(strstr(last_msg, F_PATH_ENV " 'abc' is not a number"),
	       "message: %s", last_msg);
	setenv(F_PATH_ENV, "12abc", 1);
	ASSERT(viv_offsets__resolve(&off) == -EINVAL, "trailing garbage");
	setenv(F_PATH_ENV, "-8", 1);
	ASSERT(viv_offsets__resolve(&off) == -EINVAL, "negative override");
	unsetenv(F_PATH_ENV);
	setenv(D_NAME_ENV, "4294967296", 1);
	ASSERT(viv_offsets__resolve(&off) == -EINVAL, "override over 32 bits");
	unsetenv(D_NAME_ENV);
	viv_set_print(old);
}

int main(void)
{
	if (access(VMLINUX_BTF, R_OK)) {
		printf("btf_test: skipped: the kernel has no BTF at %s\n",
		       VMLINUX_BTF);
		return 0;
	}
	test_against_bpftool();
	test_lookup_errors();
	test_overrides();
	return check_report();
}
