/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Shared by the files of the vivarium host; not installed. */
#ifndef VIV_HOST_H
#define VIV_HOST_H

#include <stdbool.h>

#include <lua.h>

#include "vivarium.h"

/* Warnings printed through host_print() so far: a caller that sees the
 * count move after a failed call knows the library already said why. */
extern unsigned long host_warnings;

/* Print callback for viv_set_print(): stderr, up to VIVARIUM_LOG_LEVEL,
 * counting warnings. */
int host_print(enum viv_log_level level, const char *fmt, va_list ap);

/*
 * A Lua state with the standard libraries, "vivarium.native" in
 * package.preload, and the vivarium modules found as bytecode linked into
 * the executable (LuaJIT's preload loader looks for luaJIT_BC_<name>
 * symbols before it searches package.path). NULL when out of memory.
 */
lua_State *host_newstate(void);

/*
 * lua_pcall() with a traceback as the message handler: the only way the
 * host enters Lua. On failure the message, traceback included, is on top
 * of the stack.
 */
int host_pcall(lua_State *L, int nargs, int nresults);

/* package.preload["vivarium.native"]: the C side of vivarium.core. */
int host_open_native(lua_State *L);

/* `vivarium daemon ...` with argv[0] == "daemon"; returns the exit status. */
int host_daemon(int argc, char **argv);

/* What `vivarium --help` prints. */
extern const char host_usage_text[];

/* The option getopt_long() just refused, as the user wrote it. */
const char *host_bad_option(char **argv);

/* A one-line usage error and a pointer to --help; returns 2. */
int host_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* VIV_HOST_H */
