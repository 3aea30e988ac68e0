/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Shared by the files of libvivarium; not installed. */
#ifndef VIV_INTERNAL_H
#define VIV_INTERNAL_H

#include "vivarium.h"

#define VIV_ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

__attribute__((format(printf, 2, 3)))
void viv_print(enum viv_log_level level, const char *fmt, ...);

#define pr_warn(fmt, ...)	viv_print(VIV_WARN, "vivarium: " fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...)	viv_print(VIV_INFO, "vivarium: " fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...)	viv_print(VIV_DEBUG, "vivarium: " fmt, ##__VA_ARGS__)

/* Route libbpf's messages into viv_print(); idempotent. */
void viv_log_libbpf(void);

/* Drop what lib/thread.c keeps for @o's threads; called at close. */
void viv_observer__forget_threads(const struct viv_observer *o);

/* Parse an unsigned decimal or 0x-hex number that must fill @s. */
int viv_parse_u32(const char *s, uint32_t *out);

#endif /* VIV_INTERNAL_H */
