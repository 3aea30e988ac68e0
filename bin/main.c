/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The vivarium command: run a Lua script observed, run the daemon that
 * lets unprivileged scripts be observed, or ask a daemon how it is doing.
 * Exit status 2 is a usage error, 1 a failure at run time.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "host.h"
#include "protocol.h"

unsigned long host_warnings;

const char host_usage_text[] =
"Usage: vivarium observe [OPTIONS] script.lua [ARGS...]\n"
"       vivarium daemon [--pin-dir DIR] [--log FILE] [--backend B] [daemon.lua]\n"
"       vivarium status [--pin-dir DIR]\n"
"       vivarium --help | --version\n"
"\n"
"Show which function of a Lua script made the kernel do what: files it\n"
"opens, programs it runs, sockets it connects, its children's too.\n"
"\n"
"observe   run script.lua (arg[0] is the script, arg[1..] the ARGS) and\n"
"          print each event with the Lua stack that caused it. Through a\n"
"          running daemon, or, as root, loading the kernel side itself.\n"
"  -f, --format FORMAT  human (default), json, a Lua module or a .lua file\n"
"  -o, --output FILE    write events there instead of standard output\n"
"      --pin-dir DIR    the daemon's pin directory\n"
"      --connect MODE   auto (default), daemon or local\n"
"      --ring-size BYTES  ring buffer size, a power of two of at least a\n"
"                       page; through a daemon at most the daemon's size\n"
"\n"
"daemon    (root) load and pin the kernel side and serve observers on a\n"
"          unix socket; daemon.lua returns a table of settings (pin_dir,\n"
"          events, backend, log, log_level, ring_size, caps, filters,\n"
"          debug). Options override it. SIGHUP reads it again, SIGTERM\n"
"          stops the daemon and removes its pins.\n"
"  --backend B          auto (default), lsm or tracepoint\n"
"\n"
"status    describe the running daemon\n"
"\n"
"Environment:\n"
"  VIVARIUM_BPF_PIN_DIR              pin directory (/sys/fs/bpf/vivarium)\n"
"  VIVARIUM_SOCKET                   daemon socket (derived from the pin dir)\n"
"  VIVARIUM_FORMAT, VIVARIUM_OUTPUT  defaults for --format and --output\n"
"  VIVARIUM_FILTER_INTERNAL_FRAMES   0 shows vivarium's own stack frames\n"
"  VIVARIUM_LOG_LEVEL                warn (default), info or debug\n";

int host_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("vivarium: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\ntry 'vivarium --help'\n", stderr);
	return 2;
}

int host_print(enum viv_log_level level, const char *fmt, va_list ap)
{
	if (level > viv_log_level())
		return 0;
	if (level == VIV_WARN)
		host_warnings++;
	return vfprintf(stderr, fmt, ap);
}

static int traceback(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);

	if (!msg) {
		if (luaL_callmeta(L, 1, "__tostring") && lua_isstring(L, -1))
			return 1;
		msg = lua_pushfstring(L, "(error object is a %s value)",
				      luaL_typename(L, 1));
	}
	luaL_traceback(L, L, msg, 1);
	return 1;
}

int host_pcall(lua_State *L, int nargs, int nresults)
{
	int base = lua_gettop(L) - nargs;
	int err;

	lua_pushcfunction(L, traceback);
	lua_insert(L, base);
	err = lua_pcall(L, nargs, nresults, base);
	lua_remove(L, base);
	return err;
}

lua_State *host_newstate(void)
{
	lua_State *L = luaL_newstate();

	if (!L)
		return NULL;
	luaL_openlibs(L);
	lua_getglobal(L, "package");
	lua_getfield(L, -1, "preload");
	lua_pushcfunction(L, host_open_native);
	lua_setfield(L, -2, "vivarium.native");
	lua_pop(L, 2);
	return L;
}

/* require(@module)[@func] on top of the stack, or a message and -1. */
static int push_module_function(lua_State *L, const char *module, const char *func)
{
	lua_getglobal(L, "require");
	lua_pushstring(L, module);
	if (host_pcall(L, 1, 1)) {
		fprintf(stderr, "vivarium: %s\n", lua_tostring(L, -1));
		return -1;
	}
	lua_getfield(L, -1, func);
	lua_remove(L, -2);
	return 0;
}

static void set_opt(lua_State *L, const char *key, const char *value)
{
	if (!value)
		return;
	lua_pushstring(L, value);
	lua_setfield(L, -2, key);
}

const char *host_bad_option(char **argv)
{
	const char *arg = argv[optind - 1];
	static char buf[3];

	if (!strncmp(arg, "--", 2))
		return arg;
	if (optopt) {
		snprintf(buf, sizeof(buf), "-%c", optopt);
		return buf;
	}
	return arg;
}

/* A power of two from a page (4096 on every machine we build for; the
 * library checks the real page size) to 1 GiB, which a ring can hold. */
static bool valid_ring_size(const char *s)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end || v < 4096 || v > (1UL << 30))
		return false;
	return !(v & (v - 1));
}

static int cmd_observe(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "connect", required_argument, NULL, 'c' },
		{ "ring-size", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *format = NULL, *output = NULL, *pin_dir = NULL;
	const char *connect = NULL, *ring_size = NULL, *msg;
	lua_State *L;
	int opt, status;

	opterr = 0;
	/* "+": stop at the script; what follows belongs to it */
	while ((opt = getopt_long(argc, argv, "+:f:o:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			format = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case 'p':
			pin_dir = optarg;
			break;
		case 'c':
			connect = optarg;
			if (strcmp(connect, "auto") && strcmp(connect, "daemon") &&
			    strcmp(connect, "local"))
				return host_usage_error("observe: --connect must be "
							"auto, daemon or local, got '%s'",
							connect);
			break;
		case 'r':
			ring_size = optarg;
			if (!valid_ring_size(ring_size))
				return host_usage_error("observe: --ring-size must be "
							"a power of two of at least "
							"4096, got '%s'", ring_size);
			break;
		case 'h':
			fputs(host_usage_text, stdout);
			return 0;
		case ':':
			return host_usage_error("observe: %s needs a value",
						host_bad_option(argv));
		default:
			return host_usage_error("observe: unknown option '%s'",
						host_bad_option(argv));
		}
	}
	if (optind >= argc)
		return host_usage_error("observe: no script given");

	L = host_newstate();
	if (!L) {
		fprintf(stderr, "vivarium: out of memory\n");
		return 1;
	}
	viv_set_print(host_print);
	if (push_module_function(L, "vivarium.observer", "run_script")) {
		lua_close(L);
		return 1;
	}
	lua_pushstring(L, argv[optind]);
	lua_createtable(L, argc - optind - 1, 0);
	for (int i = optind + 1; i < argc; i++) {
		lua_pushstring(L, argv[i]);
		lua_rawseti(L, -2, i - optind);
	}
	lua_createtable(L, 0, 5);
	set_opt(L, "format", format);
	set_opt(L, "output", output);
	set_opt(L, "pin_dir", pin_dir);
	set_opt(L, "connect", connect);
	if (ring_size) {
		lua_pushnumber(L, strtoul(ring_size, NULL, 0));
		lua_setfield(L, -2, "ring_size");
	}

	if (host_pcall(L, 3, 2)) {
		fprintf(stderr, "vivarium: %s\n", lua_tostring(L, -1));
		lua_close(L);
		return 1;
	}
	status = lua_tointeger(L, -2);
	msg = lua_tostring(L, -1);
	fflush(stdout);
	if (msg && status == 2)
		host_usage_error("%s", msg);
	else if (msg)
		fprintf(stderr, "vivarium: %s\n", msg);
	lua_close(L);
	return status;
}

static int cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	char sock[256], text[VIV_STATUS_MAX + 1];
	const char *pin_dir = NULL;
	size_t len;
	int opt, err;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			pin_dir = optarg;
			break;
		case 'h':
			fputs(host_usage_text, stdout);
			return 0;
		case ':':
			return host_usage_error("status: %s needs a value",
						host_bad_option(argv));
		default:
			return host_usage_error("status: unknown option '%s'",
						host_bad_option(argv));
		}
	}
	if (optind < argc)
		return host_usage_error("status: unexpected argument '%s'",
					argv[optind]);
	if (!pin_dir)
		pin_dir = getenv("VIVARIUM_BPF_PIN_DIR");
	if (!pin_dir || !*pin_dir)
		pin_dir = VIV_DEFAULT_PIN_DIR;

	viv_set_print(host_print);
	err = viv_socket_path(pin_dir, sock, sizeof(sock));
	if (err) {
		fprintf(stderr, "vivarium: no socket path for pin dir %s: %s\n",
			pin_dir, viv_errstr(err));
		return 1;
	}
	err = viv_daemon__status(sock, text, sizeof(text));
	if (err == -ENOENT || err == -ECONNREFUSED) {
		fprintf(stderr, "vivarium: no vivarium daemon at %s; start one "
			"with `sudo vivarium daemon`\n", sock);
		return 1;
	}
	if (err) {
		fprintf(stderr, "vivarium: daemon at %s: failed to get its "
			"status: %s\n", sock, viv_errstr(err));
		return 1;
	}
	len = strlen(text);
	fputs(text, stdout);
	if (len && text[len - 1] != '\n')
		putchar('\n');
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2)
		return host_usage_error("no command given");
	cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		fputs(host_usage_text, stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		printf("vivarium %s\n", VIV_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "observe"))
		return cmd_observe(argc - 1, argv + 1);
	if (!strcmp(cmd, "daemon"))
		return host_daemon(argc - 1, argv + 1);
	if (!strcmp(cmd, "status"))
		return cmd_status(argc - 1, argv + 1);
	return host_usage_error("unknown command '%s'", cmd);
}
