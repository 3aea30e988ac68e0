/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The two field offsets the kernel side takes from user space, read from
 * the running kernel's BTF with libbpf's parser: the Ruby gem ran bpftool
 * for this, which the C rewrite does not need at run time.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "internal.h"

#define VMLINUX_BTF	"/sys/kernel/btf/vmlinux"

/*
 * Bit offset of @member in the struct or union @t, looking into anonymous
 * members too: 6.18 keeps both file.f_path and dentry.d_name in anonymous
 * unions (next to a writable alias), older kernels do not.
 */
static int member_bits(const struct btf *btf, const struct btf_type *t,
		       const char *member, uint32_t *bits)
{
	const struct btf_member *m = btf_members(t);
	int i, n = btf_vlen(t);

	for (i = 0; i < n; i++, m++) {
		const char *name = btf__name_by_offset(btf, m->name_off);
		const struct btf_type *mt;
		uint32_t inner;
		int id;

		if (name && *name) {
			if (strcmp(name, member))
				continue;
			*bits = btf_member_bit_offset(t, i);
			return 0;
		}
		id = btf__resolve_type(btf, m->type);
		if (id < 0)
			continue;
		mt = btf__type_by_id(btf, id);
		if (!mt || !btf_is_composite(mt))
			continue;
		if (!member_bits(btf, mt, member, &inner)) {
			*bits = btf_member_bit_offset(t, i) + inner;
			return 0;
		}
	}
	return -ENOENT;
}

static int btf_member_offset(const struct btf *btf, const char *type,
			     const char *member, uint32_t *off)
{
	const struct btf_type *t;
	uint32_t bits;
	int id, err;

	id = btf__find_by_name_kind(btf, type, BTF_KIND_STRUCT);
	if (id < 0)
		id = btf__find_by_name_kind(btf, type, BTF_KIND_UNION);
	if (id < 0)
		return -ENOENT;
	t = btf__type_by_id(btf, id);
	err = member_bits(btf, t, member, &bits);
	if (err)
		return err;
	/* A bit-field has no byte offset to read a struct from. */
	if (bits % 8)
		return -EINVAL;
	*off = bits / 8;
	return 0;
}

int viv_btf__member_offset(const char *path, const char *type,
			   const char *member, uint32_t *off)
{
	struct btf *btf;
	int err;

	btf = btf__parse(path, NULL);
	if (!btf)
		return -errno;
	err = btf_member_offset(btf, type, member, off);
	btf__free(btf);
	return err;
}

int viv_offsets__resolve(struct viv_offsets *out)
{
	struct {
		const char *env;
		const char *type;
		const char *member;
		uint32_t *off;
	} want[] = {
		{ "VIVARIUM_FILE_F_PATH_OFFSET", "file", "f_path",
		  &out->file_f_path },
		{ "VIVARIUM_DENTRY_D_NAME_OFFSET", "dentry", "d_name",
		  &out->dentry_d_name },
	};
	struct btf *btf = NULL;
	size_t i;
	int err = 0;

	for (i = 0; i < VIV_ARRAY_SIZE(want); i++) {
		const char *env = getenv(want[i].env);

		/* An empty variable counts as unset, as in a shell. */
		if (env && *env) {
			err = viv_parse_u32(env, want[i].off);
			if (err) {
				pr_warn("btf: %s '%s' is not a number\n",
					want[i].env, env);
				goto out;
			}
			pr_debug("btf: %s.%s at %u, from %s\n", want[i].type,
				 want[i].member, *want[i].off, want[i].env);
			continue;
		}
		if (!btf) {
			btf = btf__parse(VMLINUX_BTF, NULL);
			if (!btf) {
				err = -errno;
				pr_warn("btf: failed to read %s: %s; the kernel "
					"needs CONFIG_DEBUG_INFO_BTF=y, or set %s\n",
					VMLINUX_BTF, viv_errstr(err), want[i].env);
				goto out;
			}
		}
		err = btf_member_offset(btf, want[i].type, want[i].member,
					want[i].off);
		if (err) {
			pr_warn("btf: failed to resolve %s.%s: %s; set %s\n",
				want[i].type, want[i].member, viv_errstr(err),
				want[i].env);
			goto out;
		}
		pr_debug("btf: %s.%s at %u\n", want[i].type, want[i].member,
			 *want[i].off);
	}
out:
	btf__free(btf);
	return err;
}
