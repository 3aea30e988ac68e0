/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * `vivarium daemon`: load and pin the kernel side, then serve observers on
 * a unix socket until SIGTERM or SIGINT, and unpin on the way out.
 *
 * The settings come from a Lua file checked by lua/vivarium/daemon.lua;
 * command-line options override it. Every message, the library's and
 * libbpf's included, goes to one log with a timestamp.
 *
 * SIGHUP reads the file again. The log and its level change at once;
 * everything the kernel side was loaded with (pin dir, events, backend,
 * caps, filters, debug) and the ring size stay until a restart, and the
 * log says so. Observers are not touched either way.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
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
/* The kernel side keeps a 64-bit capability mask and 8 path prefixes
 * (bpf/common.h); lua/vivarium/daemon.lua refuses more. */
#define MAX_CAPS	64
#define MAX_PREFIXES	8
#define TRACE_PIPE	"/sys/kernel/tracing/trace_pipe"
#define TRACE_PIPE_OLD	"/sys/kernel/debug/tracing/trace_pipe"
/* The mark every line of the kernel side's trace output carries. */
#define TRACE_MARK	"vivarium:"

struct daemon_cfg {
	const char *pin_dir;
	const char *log;
	uint32_t events;
	enum viv_backend backend;
	int log_level;		/* enum viv_log_level, -1 when not set */
	uint32_t ring_size;
	uint32_t caps[MAX_CAPS];
	size_t n_caps;		/* 0: the built-in list */
	const char *prefixes[MAX_PREFIXES];
	size_t n_prefixes;
	bool debug;
};

/* The command line, which wins over the file at start and at reload. */
struct daemon_args {
	const char *config;
	const char *pin_dir;
	const char *log;
	const char *backend;
};

/* Lines of the trace pipe are copied into the log as they come. */
struct trace_reader {
	int fd;
	size_t len;
	char buf[LOG_LINE_MAX];
};

static FILE *log_file;
static const char *log_path;	/* NULL: stderr */
static int log_level = VIV_INFO;
/* Without log_level in the file: VIVARIUM_LOG_LEVEL, else info. */
static int default_log_level = VIV_INFO;

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
static char *cfg_string(lua_State *L, const char *key)
{
	const char *s;

	lua_getfield(L, -1, key);
	s = lua_tostring(L, -1);
	lua_pop(L, 1);
	return s ? strdup(s) : NULL;
}

static void cfg_free(struct daemon_cfg *cfg)
{
	free((char *)cfg->pin_dir);
	free((char *)cfg->log);
	for (size_t i = 0; i < cfg->n_prefixes; i++)
		free((char *)cfg->prefixes[i]);
	memset(cfg, 0, sizeof(*cfg));
	cfg->log_level = -1;
}

/* A list of numbers or strings in the field @key of the table on top. */
static size_t cfg_list_len(lua_State *L, const char *key)
{
	lua_getfield(L, -1, key);
	return lua_istable(L, -1) ? lua_objlen(L, -1) : 0;
}

static void cfg_read(lua_State *L, struct daemon_cfg *cfg)
{
	const char *s;
	char *str;
	size_t n;

	cfg->pin_dir = cfg_string(L, "pin_dir");
	cfg->log = cfg_string(L, "log");
	str = cfg_string(L, "log_level");
	if (str)
		cfg->log_level = parse_level(str);
	free(str);
	str = cfg_string(L, "backend");
	if (str)
		parse_backend(str, &cfg->backend);
	free(str);
	lua_getfield(L, -1, "ring_size");
	cfg->ring_size = lua_tointeger(L, -1);
	lua_pop(L, 1);
	lua_getfield(L, -1, "debug");
	cfg->debug = lua_toboolean(L, -1);
	lua_pop(L, 1);

	/* names were checked against viv_event__name() already */
	n = cfg_list_len(L, "events");
	for (size_t i = 1; i <= n; i++) {
		lua_rawgeti(L, -1, i);
		cfg->events |= VIV_EVENT_BIT(viv_event__kind(lua_tostring(L, -1)));
		lua_pop(L, 1);
	}
	lua_pop(L, 1);

	/* validate() turned capability names into numbers */
	n = cfg_list_len(L, "caps");
	for (size_t i = 1; i <= n && cfg->n_caps < MAX_CAPS; i++) {
		lua_rawgeti(L, -1, i);
		cfg->caps[cfg->n_caps++] = lua_tointeger(L, -1);
		lua_pop(L, 1);
	}
	lua_pop(L, 1);

	lua_getfield(L, -1, "filters");
	if (lua_istable(L, -1)) {
		lua_getfield(L, -1, "path_open");
		if (lua_istable(L, -1)) {
			n = cfg_list_len(L, "prefixes");
			for (size_t i = 1; i <= n && cfg->n_prefixes < MAX_PREFIXES;
			     i++) {
				lua_rawgeti(L, -1, i);
				s = lua_tostring(L, -1);
				if (s)
					cfg->prefixes[cfg->n_prefixes++] = strdup(s);
				lua_pop(L, 1);
			}
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
}

/*
 * Run daemon.lua through vivarium.daemon.load(), which validates it, and
 * fill @cfg. Returns 0, or -1 with the reason in @err.
 */
static int load_config(lua_State *L, const char *path, struct daemon_cfg *cfg,
		       char *err, size_t len)
{
	int top = lua_gettop(L), ret = -1;

	lua_getglobal(L, "require");
	lua_pushliteral(L, "vivarium.daemon");
	if (host_pcall(L, 1, 1))
		goto out;
	lua_getfield(L, -1, "load");
	lua_pushstring(L, path);
	if (host_pcall(L, 1, 2))
		goto out;
	if (lua_isnil(L, -2))
		goto out;
	lua_pop(L, 1);
	cfg_read(L, cfg);
	ret = 0;
out:
	if (ret)
		snprintf(err, len, "%s", lua_tostring(L, -1) ?: "unknown error");
	lua_settop(L, top);
	return ret;
}

/* The command line over the file, then the environment and defaults. */
static void cfg_finish(struct daemon_cfg *cfg, const struct daemon_args *args)
{
	const char *env = getenv("VIVARIUM_BPF_PIN_DIR");

	if (args->pin_dir) {
		free((char *)cfg->pin_dir);
		cfg->pin_dir = strdup(args->pin_dir);
	}
	if (!cfg->pin_dir)
		cfg->pin_dir = strdup(env && *env ? env : VIV_DEFAULT_PIN_DIR);
	if (args->log) {
		free((char *)cfg->log);
		cfg->log = strdup(args->log);
	}
	if (args->backend)
		parse_backend(args->backend, &cfg->backend);
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

/* ---- the trace pipe, with `debug = true` --------------------------------- */

static void trace_open(struct trace_reader *t)
{
	t->len = 0;
	t->fd = open(TRACE_PIPE, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0)
		t->fd = open(TRACE_PIPE_OLD, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0) {
		log_always("vivarium daemon: debug: failed to open %s: %s; kernel "
			   "trace lines will not be logged", TRACE_PIPE,
			   viv_errstr(errno));
		return;
	}
	/* The pipe has one reader system-wide: say who took it. */
	log_always("vivarium daemon: debug: copying lines of %s that contain "
		   "'%s' into this log (other readers of the pipe miss them)",
		   TRACE_PIPE, TRACE_MARK);
}

static void trace_line(char *line)
{
	while (*line == ' ')
		line++;
	if (strstr(line, TRACE_MARK))
		log_always("vivarium daemon: kernel: %s", line);
}

/* Copy what the pipe holds; never blocks. */
static void trace_read(struct trace_reader *t)
{
	char *nl, *start;
	ssize_t n;

	for (;;) {
		n = read(t->fd, t->buf + t->len, sizeof(t->buf) - 1 - t->len);
		if (n <= 0)
			return;
		t->len += n;
		t->buf[t->len] = '\0';
		start = t->buf;
		while ((nl = strchr(start, '\n'))) {
			*nl = '\0';
			trace_line(start);
			start = nl + 1;
		}
		t->len -= start - t->buf;
		memmove(t->buf, start, t->len);
		/* A line longer than the buffer is logged in pieces. */
		if (t->len == sizeof(t->buf) - 1) {
			t->buf[t->len] = '\0';
			trace_line(t->buf);
			t->len = 0;
		}
	}
}

/* ---- start and reload ---------------------------------------------------- */

/*
 * A daemon that was killed (SIGKILL, out of memory) leaves its pins: its
 * programs stay attached, its observers' targets stay in the maps, and the
 * loader refuses a pin dir that holds pins, so a service manager could
 * never restart it. When no daemon answers on the socket, nobody serves
 * those pins: remove them, which detaches the programs. Only names the
 * kernel side pins are touched; anything else makes us leave the
 * directory to the operator.
 */
static int clear_stale_pins(const char *pin_dir, const char *sock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[PATH_MAX];
	struct dirent *ent;
	int fd, n = 0, err;
	DIR *d;

	d = opendir(pin_dir);
	if (!d)
		return 0;
	while ((ent = readdir(d))) {
		if (!strcmp(ent->d_name, ".") || !strcmp(ent->d_name, ".."))
			continue;
		if (strncmp(ent->d_name, "viv_", 4) &&
		    strncmp(ent->d_name, "link_viv_", 9) &&
		    strncmp(ent->d_name, "config_", 7)) {
			closedir(d);
			return 0;
		}
		n++;
	}
	if (!n) {
		closedir(d);
		return 0;
	}

	/* viv_socket_path() made sure it fits */
	if (strlen(sock) >= sizeof(sa.sun_path)) {
		closedir(d);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		closedir(d);
		return -errno;
	}
	err = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	close(fd);
	if (err != -ENOENT && err != -ECONNREFUSED) {
		/* A daemon answers (or we cannot tell): the loader says why
		 * it will not share the directory. */
		closedir(d);
		return 0;
	}

	rewinddir(d);
	while ((ent = readdir(d))) {
		if (!strcmp(ent->d_name, ".") || !strcmp(ent->d_name, ".."))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", pin_dir, ent->d_name) <
			    (int)sizeof(path) &&
		    unlink(path))
			log_always("vivarium daemon: failed to remove stale pin "
				   "%s: %s", path, viv_errstr(errno));
	}
	closedir(d);
	log_always("vivarium daemon: removed %d pins left in %s by a daemon that "
		   "is gone (nothing answers on %s)", n, pin_dir, sock);
	return 0;
}

static bool same_caps(const struct daemon_cfg *a, const struct daemon_cfg *b)
{
	return a->n_caps == b->n_caps &&
	       !memcmp(a->caps, b->caps, a->n_caps * sizeof(a->caps[0]));
}

static bool same_prefixes(const struct daemon_cfg *a, const struct daemon_cfg *b)
{
	if (a->n_prefixes != b->n_prefixes)
		return false;
	for (size_t i = 0; i < a->n_prefixes; i++)
		if (strcmp(a->prefixes[i], b->prefixes[i]))
			return false;
	return true;
}

/* Apply the log settings of @cfg; 0 or -errno with the old log kept. */
static int apply_log(const struct daemon_cfg *cfg)
{
	const char *old = log_path;
	int err;

	log_path = cfg->log && strcmp(cfg->log, "stderr") ? cfg->log : NULL;
	err = log_open();
	if (err) {
		log_path = old;
		return err;
	}
	log_level = cfg->log_level >= 0 ? cfg->log_level : default_log_level;
	return 0;
}

/*
 * SIGHUP: read the file again. What the kernel side was loaded with stays
 * until a restart; the log says which changes wait for one.
 */
static void reload(lua_State *L, const struct daemon_args *args,
		   struct daemon_cfg *cur)
{
	struct daemon_cfg cfg = { .log_level = -1 };
	char err[LOG_LINE_MAX];
	int e;

	if (!L) {
		/* No file: only the log can be reopened (rotation). */
		e = log_open();
		if (e)
			log_always("vivarium daemon: failed to reopen log %s: %s",
				   log_path, viv_errstr(e));
		else
			log_always("vivarium daemon: log reopened");
		return;
	}
	if (load_config(L, args->config, &cfg, err, sizeof(err))) {
		log_always("vivarium daemon: reload failed, keeping the running "
			   "configuration: %s", err);
		return;
	}
	cfg_finish(&cfg, args);

#define RESTART(what)							\
	log_always("vivarium daemon: reload: '%s' changed; it takes effect "	\
		   "when the daemon restarts", what)
	if (strcmp(cfg.pin_dir, cur->pin_dir))
		RESTART("pin_dir");
	if (cfg.events != cur->events)
		RESTART("events");
	if (cfg.backend != cur->backend)
		RESTART("backend");
	if (cfg.ring_size != cur->ring_size)
		RESTART("ring_size");
	if (!same_caps(&cfg, cur))
		RESTART("caps");
	if (!same_prefixes(&cfg, cur))
		RESTART("filters");
	if (cfg.debug != cur->debug)
		RESTART("debug");
#undef RESTART

	e = apply_log(&cfg);
	if (e) {
		log_always("vivarium daemon: reload: failed to open log %s: %s; "
			   "keeping %s", cfg.log, viv_errstr(e),
			   log_path ? log_path : "stderr");
		cfg_free(&cfg);
		return;
	}
	free((char *)cur->log);
	cur->log = cfg.log ? strdup(cfg.log) : NULL;
	log_path = cur->log && strcmp(cur->log, "stderr") ? cur->log : NULL;
	cur->log_level = cfg.log_level;
	cfg_free(&cfg);
	log_always("vivarium daemon: reloaded %s: log %s, level %s",
		   args->config, log_path ? log_path : "stderr",
		   log_level == VIV_WARN ? "warn" :
		   log_level == VIV_INFO ? "info" : "debug");
}

static const char *signal_name(uint32_t signo)
{
	return signo == SIGINT ? "SIGINT" : "SIGTERM";
}

static int serve(struct viv_server *srv, int sfd, struct trace_reader *trace,
		 lua_State *L, const struct daemon_args *args,
		 struct daemon_cfg *cfg)
{
	struct pollfd pfd[3] = {
		{ .fd = viv_server__fd(srv), .events = POLLIN },
		{ .fd = sfd, .events = POLLIN },
		{ .fd = trace->fd, .events = POLLIN },
	};
	struct signalfd_siginfo si;
	int err, last_err = 0;
	ssize_t n;

	for (;;) {
		if (poll(pfd, trace->fd >= 0 ? 3 : 2, LOOP_TIMEOUT_MS) < 0 &&
		    errno != EINTR) {
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
		if (trace->fd >= 0)
			trace_read(trace);

		if (!(pfd[1].revents & POLLIN))
			continue;
		n = read(sfd, &si, sizeof(si));
		if (n != sizeof(si))
			continue;
		if (si.ssi_signo == SIGHUP) {
			reload(L, args, cfg);
			continue;
		}
		log_always("vivarium daemon: stopping on %s: retiring %d "
			   "observer(s), detaching and unpinning",
			   signal_name(si.ssi_signo), err > 0 ? err : 0);
		return 0;
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
	struct trace_reader trace = { .fd = -1 };
	struct daemon_args args = {};
	struct viv_server *srv = NULL;
	struct viv_kernel *k = NULL;
	struct viv_kernel_opts kopts;
	char sock[SOCK_PATH_MAX];
	char err_msg[LOG_LINE_MAX];
	enum viv_backend backend;
	unsigned long warned;
	lua_State *L = NULL;
	int opt, err, sfd = -1, status = 1;
	sigset_t mask;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			args.pin_dir = optarg;
			break;
		case 'l':
			args.log = optarg;
			break;
		case 'b':
			args.backend = optarg;
			if (parse_backend(args.backend, &backend))
				return host_usage_error("daemon: --backend must be "
							"auto, lsm or tracepoint, got "
							"'%s'", args.backend);
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
		args.config = argv[optind];
		L = host_newstate();
		if (!L) {
			fprintf(stderr, "vivarium: out of memory\n");
			return 1;
		}
		if (load_config(L, args.config, &cfg, err_msg, sizeof(err_msg))) {
			fprintf(stderr, "vivarium: %s\n", err_msg);
			goto out;
		}
	}
	cfg_finish(&cfg, &args);
	if (getenv("VIVARIUM_LOG_LEVEL"))
		default_log_level = viv_log_level();

	err = apply_log(&cfg);
	if (err) {
		fprintf(stderr, "vivarium: cannot open log %s: %s\n", cfg.log,
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

	err = viv_socket_path(cfg.pin_dir, sock, sizeof(sock));
	if (err) {
		log_always("vivarium daemon: no socket path for pin dir %s: %s",
			   cfg.pin_dir, viv_errstr(err));
		goto out;
	}
	clear_stale_pins(cfg.pin_dir, sock);

	kopts = (struct viv_kernel_opts){
		.pin_dir = cfg.pin_dir,
		.events = cfg.events,
		.backend = cfg.backend,
		.caps = cfg.n_caps ? cfg.caps : NULL,
		.n_caps = cfg.n_caps,
		.path_prefixes = cfg.n_prefixes ? cfg.prefixes : NULL,
		.n_path_prefixes = cfg.n_prefixes,
		.kprint = cfg.debug,
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
	for (size_t i = 0; i < cfg.n_prefixes; i++)
		log_always("vivarium daemon: path_open: only paths under %s",
			   cfg.prefixes[i]);
	if (cfg.debug)
		trace_open(&trace);

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

	log_always("vivarium daemon: ready, pin dir %s, socket %s, pid %d",
		   cfg.pin_dir, sock, (int)getpid());
	if (!serve(srv, sfd, &trace, L, &args, &cfg))
		status = 0;

out:
	if (status && log_path && log_file)
		fprintf(stderr, "vivarium: the daemon stopped on an error; see "
			"%s\n", log_path);
	viv_server__close(srv);
	viv_kernel__close(k);
	if (k)
		log_always("vivarium daemon: stopped, programs detached and pins "
			   "removed");
	if (trace.fd >= 0)
		close(trace.fd);
	if (sfd >= 0)
		close(sfd);
	if (L)
		lua_close(L);
	cfg_free(&cfg);
	return status;
}
