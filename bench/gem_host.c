/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The Ruby gem's transport, rebuilt as a reference point: a LuaJIT host
 * that runs a script the way the gem runs a Ruby block. The gem keeps its
 * events in a BPF_MAP_TYPE_ARRAY of 1024 event_t plus a write cursor, and
 * on every method return (:return and :c_return) reads the cursor and all
 * 1024 slots with one map lookup each, clears the slots it found filled
 * and resets the cursor. Here the same maps are created and drained the
 * same way on every Lua function return and every call of a C function
 * (LuaJIT fires no return hook for C functions; their call stands for the
 * gem's :c_return).
 *
 * Nothing writes into the array: the gem's BPF programs are not rebuilt,
 * so its per-event cost in the kernel is left out and the figure
 * understates the gem's total. The drain, which is the gem's cost per
 * boundary, is all here.
 *
 *   gem_host script.lua [args...]   run the script, draining as the gem
 *   gem_host --drains N             time N drains alone
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#define GEM_SLOTS	1024

/* The gem's event_t, as its README gives it. */
struct gem_event {
	__u64 ktime_ns;
	__u32 pid;
	char event_name[16];
	char payload[256];
};

static int events_fd = -1, cursor_fd = -1;
static unsigned long drains, found;

static void gem_drain(void)
{
	static const struct gem_event zero;
	struct gem_event ev;
	__u32 key = 0, pos = 0, i;
	int n = 0;

	bpf_map_lookup_elem(cursor_fd, &key, &pos);
	for (i = 0; i < GEM_SLOTS; i++) {
		if (bpf_map_lookup_elem(events_fd, &i, &ev))
			continue;
		if (!ev.ktime_ns)
			continue;
		bpf_map_update_elem(events_fd, &i, &zero, BPF_ANY);
		n++;
	}
	if (n) {
		pos = 0;
		bpf_map_update_elem(cursor_fd, &key, &pos, BPF_ANY);
	}
	drains++;
	found += n;
}

static void hook(lua_State *L, lua_Debug *ar)
{
	if (ar->event == LUA_HOOKCALL) {
		if (!lua_getinfo(L, "S", ar) || ar->what[0] != 'C')
			return;
	}
	gem_drain();
}

static int maps_create(void)
{
	events_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "event_invoked",
				   sizeof(__u32), sizeof(struct gem_event),
				   GEM_SLOTS, NULL);
	if (events_fd < 0)
		return events_fd;
	cursor_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "event_write_pos",
				   sizeof(__u32), sizeof(__u32), 1, NULL);
	return cursor_fd < 0 ? cursor_fd : 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	lua_State *L;
	uint64_t t0;
	long n;
	int err, i;

	if (argc < 2) {
		fprintf(stderr, "usage: gem_host script.lua [args...] | "
			"gem_host --drains N\n");
		return 2;
	}
	err = maps_create();
	if (err) {
		fprintf(stderr, "gem_host: failed to create the maps: %s\n",
			strerror(-err));
		return 1;
	}
	if (!strcmp(argv[1], "--drains")) {
		n = argc > 2 ? atol(argv[2]) : 1000;
		if (n < 1)
			n = 1;
		t0 = now_ns();
		for (i = 0; i < n; i++)
			gem_drain();
		printf("gem_drain_us %.1f\n", (now_ns() - t0) / 1e3 / n);
		return 0;
	}

	L = luaL_newstate();
	if (!L)
		return 1;
	luaL_openlibs(L);
	lua_createtable(L, argc - 1, 1);
	for (i = 1; i < argc; i++) {
		lua_pushstring(L, argv[i]);
		lua_rawseti(L, -2, i - 1);
	}
	lua_setglobal(L, "arg");

	/* Set before any code runs: nothing is compiled without it. */
	lua_sethook(L, hook, LUA_MASKCALL | LUA_MASKRET, 0);
	err = luaL_loadfile(L, argv[1]);
	if (!err) {
		for (i = 2; i < argc; i++)
			lua_pushstring(L, argv[i]);
		err = lua_pcall(L, argc - 2, 0, 0);
	}
	lua_sethook(L, NULL, 0, 0);
	if (err) {
		fprintf(stderr, "gem_host: %s\n", lua_tostring(L, -1));
		lua_close(L);
		return 1;
	}
	lua_close(L);
	fprintf(stderr, "gem_drains %lu\n", drains);
	return 0;
}
