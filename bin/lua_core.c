/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * "vivarium.native": the observer as Lua sees it, and the boundary hook.
 * Only lua/vivarium/core.lua calls these.
 *
 * The hook is a C lua_sethook() function on call and return. It returns
 * at once unless the ring has records, one load from shared memory, so
 * observed code pays the hook dispatch and little more; only when records
 * wait does it call the Lua handler, which drains, builds the stack and
 * formats.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "host.h"

#define OBSERVER_MT	"vivarium.observer"
#define PAYLOAD_LEN	1024

struct lobserver {
	struct viv_observer *o;
};

/*
 * LuaJIT keeps one hook per global state, shared by every coroutine, so
 * one observer and one handler per process is all the hook can serve.
 */
static struct viv_observer *hook_obs;
static int hook_ref = LUA_NOREF;
static bool hook_failed;

static struct lobserver *check_observer(lua_State *L, int idx)
{
	struct lobserver *lo = luaL_checkudata(L, idx, OBSERVER_MT);

	if (!lo->o)
		luaL_error(L, "observer is closed");
	return lo;
}

static int push_failure(lua_State *L, const char *what, int err)
{
	lua_pushnil(L);
	lua_pushfstring(L, "%s: %s", what, viv_errstr(err));
	return 2;
}

/* native.open{pin_dir=, connect=, ring_size=} -> observer | nil, err,
 * logged */
static int l_open(lua_State *L)
{
	struct viv_observer_opts opts = { .connect = VIV_CONNECT_AUTO };
	unsigned long warned = host_warnings;
	struct viv_observer *o;
	struct lobserver *lo;
	const char *connect;
	int err;

	if (!lua_isnoneornil(L, 1)) {
		luaL_checktype(L, 1, LUA_TTABLE);
		lua_getfield(L, 1, "pin_dir");
		opts.pin_dir = luaL_optstring(L, -1, NULL);
		lua_getfield(L, 1, "connect");
		connect = luaL_optstring(L, -1, "auto");
		if (!strcmp(connect, "daemon"))
			opts.connect = VIV_CONNECT_DAEMON;
		else if (!strcmp(connect, "local"))
			opts.connect = VIV_CONNECT_LOCAL;
		else if (strcmp(connect, "auto"))
			return luaL_error(L, "open: connect must be auto, daemon or "
					  "local, got '%s'", connect);
		lua_getfield(L, 1, "ring_size");
		opts.ring_size = luaL_optnumber(L, -1, 0);
	}

	lo = lua_newuserdata(L, sizeof(*lo));
	lo->o = NULL;
	luaL_getmetatable(L, OBSERVER_MT);
	lua_setmetatable(L, -2);

	o = viv_observer__open(&opts);
	if (!o) {
		err = errno;
		push_failure(L, "cannot start observing", err);
		/* the library logs how to start a daemon; say it once */
		lua_pushboolean(L, host_warnings != warned);
		return 3;
	}
	lo->o = o;
	return 1;
}

struct drain_ctx {
	lua_State *L;
	int n;
};

static void push_field(void *ctx, const struct viv_field *f)
{
	lua_State *L = ctx;
	const char *s, *end;
	int i = 0;

	switch (f->type) {
	case VIV_FIELD_INT:
		lua_pushnumber(L, (lua_Number)f->i);
		break;
	case VIV_FIELD_STR:
		lua_pushstring(L, f->s ? f->s : "");
		break;
	case VIV_FIELD_STRS:
		lua_createtable(L, f->n, 0);
		s = f->s;
		for (size_t k = 0; s && k < f->n; k++) {
			end = s + strlen(s);
			lua_pushlstring(L, s, end - s);
			lua_rawseti(L, -2, ++i);
			s = end + 1;
		}
		break;
	default:
		return;
	}
	lua_setfield(L, -2, f->name);
}

static int push_event(void *ctx, const struct viv_event *ev)
{
	struct drain_ctx *dc = ctx;
	lua_State *L = dc->L;
	char buf[PAYLOAD_LEN], *payload = buf;
	enum viv_severity sev;
	const char *name;
	int len;

	luaL_checkstack(L, 8, "draining events");
	name = viv_event__name(ev->kind);
	sev = viv_event__severity(ev->kind);

	lua_createtable(L, 0, 8);
	lua_pushstring(L, name ? name : "unknown");
	lua_setfield(L, -2, "name");
	lua_pushinteger(L, ev->kind);
	lua_setfield(L, -2, "kind");
	lua_pushstring(L, viv_severity__name(sev));
	lua_setfield(L, -2, "severity");
	lua_pushnumber(L, ev->pid);
	lua_setfield(L, -2, "pid");
	lua_pushnumber(L, ev->tid);
	lua_setfield(L, -2, "tid");
	/* exact up to 2^53 ns, 104 days of uptime; see docs/LIMITS.md */
	lua_pushnumber(L, (lua_Number)ev->ktime_ns);
	lua_setfield(L, -2, "ktime_ns");

	len = viv_event__payload(ev, buf, sizeof(buf));
	if (len >= (int)sizeof(buf)) {
		payload = malloc(len + 1);
		if (payload)
			viv_event__payload(ev, payload, len + 1);
		else
			payload = buf;	/* truncated beats nothing */
	}
	lua_pushstring(L, payload);
	lua_setfield(L, -2, "payload");
	if (payload != buf)
		free(payload);

	lua_createtable(L, 0, 4);
	viv_event__fields(ev, push_field, L);
	lua_setfield(L, -2, "fields");

	lua_rawseti(L, -2, ++dc->n);
	return 0;
}

/* obs:drain() -> { event, ... } | nil, err */
static int l_drain(lua_State *L)
{
	struct lobserver *lo = check_observer(L, 1);
	struct drain_ctx dc = { .L = L };
	int err;

	lua_newtable(L);
	err = viv_observer__drain(lo->o, push_event, &dc);
	if (err < 0)
		return push_failure(L, "drain", err);
	return 1;
}

static int l_pending(lua_State *L)
{
	struct lobserver *lo = check_observer(L, 1);

	lua_pushboolean(L, viv_observer__pending(lo->o));
	return 1;
}

static int l_lost(lua_State *L)
{
	struct lobserver *lo = check_observer(L, 1);

	lua_pushnumber(L, (lua_Number)viv_observer__lost(lo->o));
	return 1;
}

static int l_mode(lua_State *L)
{
	struct lobserver *lo = check_observer(L, 1);

	lua_pushstring(L, viv_observer__mode(lo->o));
	return 1;
}

static void hook_clear(lua_State *L)
{
	lua_sethook(L, NULL, 0, 0);
	hook_obs = NULL;
	if (hook_ref != LUA_NOREF) {
		luaL_unref(L, LUA_REGISTRYINDEX, hook_ref);
		hook_ref = LUA_NOREF;
	}
}

static int l_close(lua_State *L)
{
	struct lobserver *lo = luaL_checkudata(L, 1, OBSERVER_MT);

	if (!lo->o)
		return 0;
	if (hook_obs == lo->o)
		hook_clear(L);
	viv_observer__close(lo->o);
	lo->o = NULL;
	return 0;
}

static int l_tostring(lua_State *L)
{
	struct lobserver *lo = luaL_checkudata(L, 1, OBSERVER_MT);

	if (lo->o)
		lua_pushfstring(L, "vivarium observer %d (%s)",
				(int)viv_observer__id(lo->o),
				viv_observer__mode(lo->o));
	else
		lua_pushliteral(L, "vivarium observer (closed)");
	return 1;
}

static void hook(lua_State *L, lua_Debug *ar)
{
	if (!hook_obs || !viv_observer__pending(hook_obs))
		return;

	lua_rawgeti(L, LUA_REGISTRYINDEX, hook_ref);
	if (ar->event == LUA_HOOKCALL)
		lua_pushliteral(L, "call");
	else
		lua_pushliteral(L, "return");
	if (host_pcall(L, 1, 0)) {
		if (!hook_failed)
			fprintf(stderr, "vivarium: boundary handler failed: %s\n",
				lua_tostring(L, -1));
		hook_failed = true;
		lua_pop(L, 1);
	}
}

/* native.sethook(obs, handler) */
static int l_sethook(lua_State *L)
{
	struct lobserver *lo = check_observer(L, 1);

	luaL_checktype(L, 2, LUA_TFUNCTION);
	hook_clear(L);
	lua_pushvalue(L, 2);
	hook_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	hook_obs = lo->o;
	hook_failed = false;
	lua_sethook(L, hook, LUA_MASKCALL | LUA_MASKRET, 0);
	return 0;
}

static int l_clearhook(lua_State *L)
{
	hook_clear(L);
	return 0;
}

/* native.isatty(fh): does this Lua file handle write to a terminal? */
static int l_isatty(lua_State *L)
{
	FILE **fp = lua_touserdata(L, 1);
	bool tty = false;

	/* LuaJIT's file handles start with the FILE *, like Lua 5.1's */
	if (fp && lua_getmetatable(L, 1)) {
		luaL_getmetatable(L, LUA_FILEHANDLE);
		if (lua_rawequal(L, -1, -2) && *fp)
			tty = isatty(fileno(*fp));
		lua_pop(L, 2);
	}
	lua_pushboolean(L, tty);
	return 1;
}

/* native.event_names() -> { "path_open", ... } in kind order */
static int l_event_names(lua_State *L)
{
	const char *name;
	int i = 0;

	lua_newtable(L);
	for (int kind = VIV_KIND_NONE + 1; kind < VIV_KIND_MAX; kind++) {
		name = viv_event__name(kind);
		if (!name)
			continue;
		lua_pushstring(L, name);
		lua_rawseti(L, -2, ++i);
	}
	return 1;
}

static const luaL_Reg observer_methods[] = {
	{ "drain", l_drain },
	{ "pending", l_pending },
	{ "lost", l_lost },
	{ "mode", l_mode },
	{ "close", l_close },
	{ NULL, NULL },
};

static const luaL_Reg native_functions[] = {
	{ "open", l_open },
	{ "sethook", l_sethook },
	{ "clearhook", l_clearhook },
	{ "isatty", l_isatty },
	{ "event_names", l_event_names },
	{ NULL, NULL },
};

int host_open_native(lua_State *L)
{
	luaL_newmetatable(L, OBSERVER_MT);
	lua_newtable(L);
	luaL_register(L, NULL, observer_methods);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, l_close);
	lua_setfield(L, -2, "__gc");
	lua_pushcfunction(L, l_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pop(L, 1);

	lua_newtable(L);
	luaL_register(L, NULL, native_functions);
	lua_pushliteral(L, VIV_VERSION);
	lua_setfield(L, -2, "version");
	return 1;
}
