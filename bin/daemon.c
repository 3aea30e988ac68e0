/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * `vivarium daemon`: load and pin the kernel side, then serve observers on
 * a unix socket until SIGTERM or SIGINT, and unpin on the way out.
 *
 * The settings come from a Lua file checked by lua/vivarium/daemon.lua;
 * command-line options override it. Every message, the library's and
 * libbpf's included, goes to one log with a timestamp.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "host.h"

/* Long enough to retire observers whose connection closed soon, short
 * enough to cost nothing while idle. */
#define LOOP_TIMEOUT_MS	200
#define LOG_LINE_MAX	1024
#define SOCK_PATH_MAX	256

struct daemon_cfg {
	const char *pin_dir;
	const char *log;
	uint32_t events;
	enum viv_backend backend;
	int log_level;		/* enum viv_log_level, -1 when not set */
	uint32_t ring_size;
};

static FILE *log_file;
static const char *log_path;	/* NULL: stderr */
static int log_level = VIV_INFO;

static void log_vline(const char *fmt, va_list ap)
{
	char stamp[32], msg[LOG_LINE_MAX];
	struct tm tm;
	time_t now;
	size_t len;

	now = time(NULL);
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S%z", &tm);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	len = strlen(msg);
	while (len && msg[len - 1] == '\n')
		msg[--len] = '\0';
	fprintf(log_file, "%s %s\n", stamp, msg);
	fflush(log_file);
}

/* A line that is logged whatever the level: start, backends, stop. */
__attribute__((format(printf, 1, 2)))
static void log_always(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(fmt, ap);
	va_end(ap);
}

static int log_print(enum viv_log_level level, const char *fmt, va_list ap)
{
	if ((int)level > log_level)
		return 0;
	if (level == VIV_WARN)
		host_warnings++;
	log_vline(fmt, ap);
	return 0;
}

/* Open (or, on SIGHUP, reopen after rotation) the log. */
static int log_open(void)
{
	FILE *f;

	if (!log_path) {
		log_file = stderr;
		return 0;
	}
	f = fopen(log_path, "ae");
	if (!f)
		return -errno;
	setvbuf(f, NULL, _IOLBF, 0);
	if (log_file && log_file != stderr)
		fclose(log_file);
	log_file = f;
	return 0;
}

static int parse_level(const char *s)
{
	if (!strcasecmp(s, "warn"))
		return VIV_WARN;
	if (!strcasecmp(s, "info"))
		return VIV_INFO;
	if (!strcasecmp(s, "debug"))
		return VIV_DEBUG;
	return -1;
}

static int parse_backend(const char *s, enum viv_backend *out)
{
	if (!strcmp(s, "auto"))
		*out = VIV_BACKEND_AUTO;
	else if (!strcmp(s, "lsm"))
		*out = VIV_BACKEND_LSM;
	else if (!strcmp(s, "tracepoint"))
		*out = VIV_BACKEND_TRACEPOINT;
	else
		return -EINVAL;
	return 0;
}

/* A string field of the table on top, copied out of the Lua state's
 * reach; NULL when not set. */
static const char *cfg_string(lua_State *L, const char *key)
{
	const char *s;

	lua_getfield(L, -1, key);
	s = lua_tostring(L, -1);
	s = s ? strdup(s) : NULL;
	lua_pop(L, 1);
	return s;
}

/*
 * Run daemon.lua through vivarium.daemon.load(), which validates it, and
 * fill @cfg. Returns 0 or -1 after one message on stderr.
 */
static int load_config(lua_State *L, const char *path, struct daemon_cfg *cfg)
{
	const char *s;
	size_t n;

	lua_getglobal(L, "require");
	lua_pushliteral(L, "vivarium.daemon");
	if (host_pcall(L, 1, 1)) {
		fprintf(stderr, "vivarium: %s\n", lua_tostring(L, -1));
		return -1;
	}
	lua_getfield(L, -1, "load");
	lua_pushstring(L, path);
	if (host_pcall(L, 1, 2)) {
		fprintf(stderr, "vivarium: %s\n", lua_tostring(L, -1));
		return -1;
	}
	if (lua_isnil(L, -2)) {
		fprintf(stderr, "vivarium: %s\n", lua_tostring(L, -1));
		return -1;
	}
	lua_pop(L, 1);

	cfg->pin_dir = cfg_string(L, "pin_dir");
	cfg->log = cfg_string(L, "log");
	s = cfg_string(L, "log_level");
	if (s)
		cfg->log_level = parse_level(s);
	s = cfg_string(L, "backend");
	if (s)
		parse_backend(s, &cfg->backend);
	lua_getfield(L, -1, "ring_size");
	cfg->ring_size = lua_tointeger(L, -1);
	lua_pop(L, 1);

	/* names were checked against viv_event__name() already */
	lua_getfield(L, -1, "events");
	n = lua_istable(L, -1) ? lua_objlen(L, -1) : 0;
	for (size_t i = 1; i <= n; i++) {
		lua_rawgeti(L, -1, i);
		cfg->events |= VIV_EVENT_BIT(viv_event__kind(lua_tostring(L, -1)));
		lua_pop(L, 1);
	}
	lua_pop(L, 2);
	return 0;
}

static void log_backends(const struct viv_kernel *k)
{
	const char *backend, *why, *name;

	for (int kind = VIV_KIND_NONE + 1; kind < VIV_KIND_MAX; kind++) {
		name = viv_event__name(kind);
		if (!name)
			continue;
		why = NULL;
		backend = viv_kernel__backend(k, kind, &why);
		if (backend)
			log_always("vivarium daemon: event %s: %s", name, backend);
		else
			log_always("vivarium daemon: event %s: unavailable: %s", name,
				   why ? why : "switched off");
	}
}

static int serve(struct viv_server *srv, int sfd)
{
	struct pollfd pfd[2] = {
		{ .fd = viv_server__fd(srv), .events = POLLIN },
		{ .fd = sfd, .events = POLLIN },
	};
	struct signalfd_siginfo si;
	int err, last_err = 0;
	ssize_t n;

	for (;;) {
		if (poll(pfd, 2, LOOP_TIMEOUT_MS) < 0 && errno != EINTR) {
			err = -errno;
			log_always("vivarium daemon: failed to wait: %s",
				   viv_errstr(err));
			return err;
		}
		err = viv_server__process(srv);
		/* the same failure every 200 ms is one message */
		if (err < 0 && err != last_err)
			log_always("vivarium daemon: failed to serve observers: %s",
				   viv_errstr(err));
		last_err = err < 0 ? err : 0;

		if (!(pfd[1].revents & POLLIN))
			continue;
		n = read(sfd, &si, sizeof(si));
		if (n != sizeof(si))
			continue;
		if (si.ssi_signo != SIGHUP) {
			log_always("vivarium daemon: stopping on %s",
				   si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
			return 0;
		}
		err = log_open();
		if (err)
			log_always("vivarium daemon: failed to reopen log %s: %s",
				   log_path, viv_errstr(err));
		else
			log_always("vivarium daemon: log reopened");
	}
}

int host_daemon(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "log", required_argument, NULL, 'l' },
		{ "backend", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct daemon_cfg cfg = { .log_level = -1 };
	const char *pin_dir = NULL, *log = NULL, *backend = NULL;
	struct viv_server *srv = NULL;
	struct viv_kernel *k = NULL;
	struct viv_kernel_opts kopts;
	char sock[SOCK_PATH_MAX];
	unsigned long warned;
	lua_State *L = NULL;
	int opt, err, sfd = -1, status = 1;
	sigset_t mask;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			pin_dir = optarg;
			break;
		case 'l':
			log = optarg;
			break;
		case 'b':
			backend = optarg;
			if (parse_backend(backend, &cfg.backend))
				return host_usage_error("daemon: --backend must be "
							"auto, lsm or tracepoint, got "
							"'%s'", backend);
			break;
		case 'h':
			fputs(host_usage_text, stdout);
			return 0;
		case ':':
			return host_usage_error("daemon: %s needs a value",
						host_bad_option(argv));
		default:
			return host_usage_error("daemon: unknown option '%s'",
						host_bad_option(argv));
		}
	}
	if (argc - optind > 1)
		return host_usage_error("daemon: one configuration file at most, "
					"got '%s' and '%s'", argv[optind],
					argv[optind + 1]);
	if (geteuid() != 0) {
		fprintf(stderr, "vivarium: the daemon must run as root: it loads "
			"and pins BPF programs\n");
		return 1;
	}

	if (optind < argc) {
		L = host_newstate();
		if (!L) {
			fprintf(stderr, "vivarium: out of memory\n");
			return 1;
		}
		if (load_config(L, argv[optind], &cfg))
			goto out;
		if (backend)
			parse_backend(backend, &cfg.backend);
	}
	if (pin_dir)
		cfg.pin_dir = pin_dir;
	if (!cfg.pin_dir)
		cfg.pin_dir = getenv("VIVARIUM_BPF_PIN_DIR");
	if (!cfg.pin_dir || !*cfg.pin_dir)
		cfg.pin_dir = VIV_DEFAULT_PIN_DIR;
	if (log)
		cfg.log = log;
	log_path = cfg.log && strcmp(cfg.log, "stderr") ? cfg.log : NULL;
	if (cfg.log_level >= 0)
		log_level = cfg.log_level;
	else if (getenv("VIVARIUM_LOG_LEVEL"))
		log_level = viv_log_level();

	err = log_open();
	if (err) {
		fprintf(stderr, "vivarium: cannot open log %s: %s\n", log_path,
			viv_errstr(err));
		goto out;
	}
	viv_set_print(log_print);

	/*
	 * Block the signals before anything is pinned: a SIGTERM while
	 * loading must still unpin on the way out, not kill us midway.
	 */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		err = -errno;
		log_always("vivarium daemon: failed to create a signalfd: %s",
			   viv_errstr(err));
		goto out;
	}

	kopts = (struct viv_kernel_opts){
		.pin_dir = cfg.pin_dir,
		.events = cfg.events,
		.backend = cfg.backend,
	};
	warned = host_warnings;
	k = viv_kernel__load(&kopts);
	if (!k) {
		err = -errno;
		if (host_warnings == warned)
			log_always("vivarium daemon: failed to load the kernel side: %s",
				   viv_errstr(err));
		goto out;
	}
	log_backends(k);

	err = viv_socket_path(cfg.pin_dir, sock, sizeof(sock));
	if (err) {
		log_always("vivarium daemon: no socket path for pin dir %s: %s",
			   cfg.pin_dir, viv_errstr(err));
		goto out;
	}
	warned = host_warnings;
	srv = viv_server__open(k, sock, &(struct viv_server_opts){
		.ring_size = cfg.ring_size,
	});
	if (!srv) {
		err = -errno;
		if (host_warnings == warned)
			log_always("vivarium daemon: failed to listen on %s: %s",
				   sock, viv_errstr(err));
		goto out;
	}

	log_always("vivarium daemon: ready, pin dir %s, socket %s", cfg.pin_dir,
		   sock);
	if (!serve(srv, sfd))
		status = 0;

out:
	if (status && log_path && log_file)
		fprintf(stderr, "vivarium: the daemon stopped on an error; see "
			"%s\n", log_path);
	viv_server__close(srv);
	viv_kernel__close(k);
	if (k)
		log_always("vivarium daemon: stopped, pins removed");
	if (sfd >= 0)
		close(sfd);
	if (L)
		lua_close(L);
	return status;
}
