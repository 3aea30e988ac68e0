# Vivarium build. GNU make; everything generated goes under $(OUTPUT).
#
#   make            build libvivarium.a, the vivarium host and the examples
#   make demo       (root) install what is missing, run the example scripts
#   make check      (root) install what is missing, run every test
#   make test       the tests that need neither root nor BPF
#   make install    PREFIX=/usr/local DESTDIR=

OUTPUT ?= .output
CLANG ?= clang
BPFTOOL ?= bpftool
LUAJIT ?= luajit
CC ?= cc
AR ?= ar
PKG_CONFIG ?= pkg-config
PREFIX ?= /usr/local
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

LUAJIT_CFLAGS := $(shell $(PKG_CONFIG) --cflags luajit 2>/dev/null)
LUAJIT_LIBS := $(shell $(PKG_CONFIG) --libs luajit 2>/dev/null)

CFLAGS ?= -O2 -g
WARNINGS := -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
ALL_CFLAGS := $(CFLAGS) $(WARNINGS) -std=gnu11 -D_GNU_SOURCE -fPIC \
	-Ilib -Ibpf -I$(OUTPUT)
LIBS := -lbpf -lelf -lz

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall \
	-Wno-unused-function -I$(OUTPUT) -Ibpf

BPF_SRCS := $(sort $(wildcard bpf/*.bpf.c))
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/bpf/%.bpf.o,$(BPF_SRCS))
LIB_SRCS := $(sort $(wildcard lib/*.c))
LIB_OBJS := $(patsubst lib/%.c,$(OUTPUT)/lib/%.o,$(LIB_SRCS))
BIN_SRCS := $(sort $(wildcard bin/*.c))
BIN_OBJS := $(patsubst bin/%.c,$(OUTPUT)/bin/%.o,$(BIN_SRCS))
LUA_SRCS := $(sort $(shell find lua -name '*.lua'))
# lua/vivarium/formatter/json.lua -> $(OUTPUT)/lua/vivarium.formatter.json.o
LUA_OBJS := $(foreach f,$(LUA_SRCS),$(OUTPUT)/lua/$(subst /,.,$(patsubst lua/%.lua,%,$(f))).o)
CTEST_SRCS := $(sort $(wildcard spec/c/*_test.c))
CTESTS := $(patsubst spec/c/%.c,$(OUTPUT)/spec/%,$(CTEST_SRCS))

LIBVIV := $(OUTPUT)/libvivarium.a
SKEL := $(OUTPUT)/vivarium.skel.h
VIVARIUM := $(OUTPUT)/vivarium

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all deps mounts demo check test test-c test-lua test-kernel test-vm install \
	uninstall clean examples fuzz

all: $(VIVARIUM) $(LIBVIV) $(OUTPUT)/vivarium.pc examples

# ---- kernel side ------------------------------------------------------------

$(OUTPUT) $(OUTPUT)/bpf $(OUTPUT)/lib $(OUTPUT)/bin $(OUTPUT)/lua $(OUTPUT)/spec \
$(OUTPUT)/examples:
	$(Q)mkdir -p $@

$(OUTPUT)/vmlinux.h: | $(OUTPUT)
	$(call msg,GEN,$@)
	$(Q)test -r $(VMLINUX_BTF) || { echo "no kernel BTF at $(VMLINUX_BTF):" \
		"build on a kernel with CONFIG_DEBUG_INFO_BTF=y or set VMLINUX_BTF" >&2; exit 1; }
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@

$(OUTPUT)/bpf/%.bpf.o: bpf/%.bpf.c bpf/*.h $(OUTPUT)/vmlinux.h | $(OUTPUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# One object, one skeleton: the programs share the targets and ring maps.
$(OUTPUT)/vivarium.bpf.o: $(BPF_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(SKEL): $(OUTPUT)/vivarium.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name vivarium_bpf > $@

# ---- libvivarium.a ----------------------------------------------------------

$(OUTPUT)/lib/%.o: lib/%.c lib/*.h bpf/viv_event.h $(SKEL) | $(OUTPUT)/lib
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIBVIV): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# The pkg-config file names PREFIX, so it is made again whenever PREFIX
# differs from the one it was made for (make install PREFIX=/usr).
VERSION := $(shell sed -n 's/^\#define VIV_VERSION[^"]*"\(.*\)"/\1/p' lib/vivarium.h)

$(OUTPUT)/vivarium.pc: lib/vivarium.pc.in FORCE | $(OUTPUT)
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' $< > $@.tmp
	$(Q)cmp -s $@.tmp $@ && rm $@.tmp || mv $@.tmp $@

.PHONY: FORCE
FORCE:

# ---- the vivarium host ------------------------------------------------------

# The Lua modules are compiled to bytecode and linked in, so the host runs
# from any directory without a package.path; LuaJIT's require finds
# luaJIT_BC_<name> symbols in the executable (hence -Wl,-E).
$(OUTPUT)/lua/%.o: $(LUA_SRCS) | $(OUTPUT)/lua
	$(call msg,LUAC,$@)
	$(Q)$(LUAJIT) -b -n $* lua/$(subst .,/,$*).lua $@

$(OUTPUT)/bin/%.o: bin/%.c bin/*.h lib/*.h bpf/viv_event.h | $(OUTPUT)/bin
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(LUAJIT_CFLAGS) -c $< -o $@

$(VIVARIUM): $(BIN_OBJS) $(LUA_OBJS) $(LIBVIV)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) -Wl,-E -o $@ $(BIN_OBJS) $(LUA_OBJS) $(LIBVIV) \
		$(LUAJIT_LIBS) $(LIBS) -ldl -lm

# ---- examples ---------------------------------------------------------------

# The C example is built the way a user would build it: through pkg-config.
examples: $(OUTPUT)/examples/observe_command

$(OUTPUT)/examples/observe_command: examples/observe_command.c $(LIBVIV) \
		$(OUTPUT)/pc-local/vivarium.pc | $(OUTPUT)/examples
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Wall -o $@ $< $$(PKG_CONFIG_PATH=$(OUTPUT)/pc-local \
		$(PKG_CONFIG) --cflags --libs --static vivarium)

# The same pkg-config file, pointing at the build tree instead of PREFIX.
$(OUTPUT)/pc-local/vivarium.pc: lib/vivarium.pc.in
	$(Q)mkdir -p $(@D)
	$(Q)sed -e 's|^includedir=.*|includedir=$(CURDIR)/lib|' \
		-e 's|^libdir=.*|libdir=$(CURDIR)/$(OUTPUT)|' \
		-e 's|^Cflags:.*|Cflags: -I$(CURDIR)/lib -I$(CURDIR)/bpf|' \
		-e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|dev|' $< > $@

# ---- set-up -----------------------------------------------------------------

# Debian packages the build and the tests need. Installs only what is
# missing, so a prepared machine pays one dpkg query.
DEB_PKGS := clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool pkg-config \
	luajit libluajit-5.1-dev lua-cjson lua-busted make gcc libc6-dev \
	libclang-rt-dev ruby ruby-dev procps util-linux

deps:
	$(Q)missing=; for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${db:Status-Abbrev}' $$p 2>/dev/null | \
			grep -q '^ii' || missing="$$missing $$p"; \
	done; \
	[ -z "$$missing" ] && exit 0; \
	[ "$$(id -u)" = 0 ] || { echo "deps: missing$$missing; run as root" \
		"to install them" >&2; exit 1; }; \
	echo "deps: installing$$missing"; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -qq && apt-get install -y -qq --no-install-recommends \
		$$missing >/dev/null

# bpffs for pins, tracefs for tracepoints, securityfs for the LSM list.
MOUNTS := bpf:/sys/fs/bpf tracefs:/sys/kernel/tracing securityfs:/sys/kernel/security

mounts:
	$(Q)for m in $(MOUNTS); do fs=$${m%%:*} dir=$${m#*:}; \
		grep -qs " $$dir $$fs " /proc/mounts && continue; \
		[ "$$(id -u)" = 0 ] || { echo "mounts: $$fs is not mounted at" \
			"$$dir; as root: mount -t $$fs $$fs $$dir" >&2; exit 1; }; \
		mount -t $$fs $$fs $$dir || exit 1; \
	done

# ---- running ----------------------------------------------------------------

demo: deps mounts
	$(Q)$(MAKE) --no-print-directory all
	$(Q)sh examples/demo.sh $(VIVARIUM)

check: deps mounts
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory test-c test-lua test-kernel
	$(Q)$(MAKE) --no-print-directory test-ruby
	$(Q)$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=6
	$(Q)$(MAKE) --no-print-directory test-vm

test: test-c test-lua

test-c: $(CTESTS)
	$(Q)set -e; for t in $(CTESTS); do echo "  TEST     $$t"; $$t; done

$(OUTPUT)/spec/%: spec/c/%.c spec/c/check.h $(LIBVIV) | $(OUTPUT)/spec
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(LIBVIV) $(LIBS) -pthread

# Debian's busted script starts plain lua 5.1; run it under LuaJIT instead.
BUSTED := $(LUAJIT) /usr/bin/busted

test-lua:
	$(Q)$(BUSTED) --run=default

test-kernel: $(VIVARIUM) examples
	$(Q)VIVARIUM=$(CURDIR)/$(VIVARIUM) $(BUSTED) --run=kernel

# The C tests and the kernel specs of each event inside a QEMU guest
# booting Debian 12's kernel, where BPF LSM works (spec/vm/run.sh;
# docs/TESTING.md): once on the backend the kernel side picks there (LSM),
# once forced onto the fallback. The guest runs about ten times slower
# than the host, so the robustness specs stay on the host. Everything is
# built here first: the guest only runs it.
VM_SPECS := spec/kernel/events_spec.lua spec/kernel/observe_spec.lua

test-vm: $(VIVARIUM) $(CTESTS) examples
	$(Q)spec/vm/run.sh -- 'set -e; for t in $(CTESTS); do \
		echo "  TEST     $$t"; $$t; done; \
		export VIVARIUM=$(CURDIR)/$(VIVARIUM); \
		$(BUSTED) --run=kernel $(VM_SPECS); \
		export VIVARIUM_TEST_BACKEND=tracepoint; \
		$(OUTPUT)/spec/kernel_test; \
		VIVARIUM_SPEC_BACKEND=tracepoint \
			$(BUSTED) --run=kernel spec/kernel/events_spec.lua'

# ---- fuzzing ----------------------------------------------------------------

# libFuzzer targets (spec/fuzz/*_fuzz.c) linked with the library's sources,
# instrumented for coverage and AddressSanitizer; libFuzzer comes with
# clang (libclang-rt-dev). `make fuzz` runs each for FUZZ_SECONDS, `make
# check` for a few. Inputs that reach new code are kept in
# $(OUTPUT)/fuzz/corpus-<target>, one that crashes in $(OUTPUT)/fuzz/.
FUZZ_SRCS := $(sort $(wildcard spec/fuzz/*_fuzz.c))
FUZZ_BINS := $(patsubst spec/fuzz/%.c,$(OUTPUT)/fuzz/%,$(FUZZ_SRCS))
FUZZ_LIB_OBJS := $(patsubst lib/%.c,$(OUTPUT)/fuzz/lib/%.o,$(LIB_SRCS))
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE -Ilib -Ibpf -I$(OUTPUT)

$(OUTPUT)/fuzz/lib/%.o: lib/%.c lib/*.h bpf/viv_event.h $(SKEL)
	$(call msg,FUZZCC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address -c $< -o $@

$(OUTPUT)/fuzz/%: spec/fuzz/%.c $(FUZZ_LIB_OBJS)
	$(call msg,FUZZLD,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer,address -o $@ $< \
		$(FUZZ_LIB_OBJS) $(LIBS) -lpthread

fuzz: $(FUZZ_BINS)
	$(Q)set -e; for f in $(FUZZ_BINS); do n=$${f##*/}; \
		mkdir -p $(OUTPUT)/fuzz/corpus-$$n; \
		echo "  FUZZ     $$n ($(FUZZ_SECONDS) s)"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=$(OUTPUT)/fuzz/ \
			$(OUTPUT)/fuzz/corpus-$$n >$(OUTPUT)/fuzz/$$n.log 2>&1 || \
			{ tail -40 $(OUTPUT)/fuzz/$$n.log; exit 1; }; \
	done

# ---- install ----------------------------------------------------------------

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib \
		$(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig \
		$(DESTDIR)$(PREFIX)/share/lua/5.1
	install -m 0755 $(VIVARIUM) $(DESTDIR)$(PREFIX)/bin/vivarium
	install -m 0644 $(LIBVIV) $(DESTDIR)$(PREFIX)/lib/libvivarium.a
	install -m 0644 lib/vivarium.h bpf/viv_event.h $(DESTDIR)$(PREFIX)/include/
	install -m 0644 $(OUTPUT)/vivarium.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/
	cd lua && find . -name '*.lua' -exec install -D -m 0644 {} \
		$(DESTDIR)$(PREFIX)/share/lua/5.1/{} \;

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/vivarium $(DESTDIR)$(PREFIX)/lib/libvivarium.a \
		$(DESTDIR)$(PREFIX)/include/vivarium.h \
		$(DESTDIR)$(PREFIX)/include/viv_event.h \
		$(DESTDIR)$(PREFIX)/lib/pkgconfig/vivarium.pc
	rm -rf $(DESTDIR)$(PREFIX)/share/lua/5.1/vivarium \
		$(DESTDIR)$(PREFIX)/share/lua/5.1/vivarium.lua

clean:
	rm -rf $(OUTPUT)

# The Ruby extension: `make ruby`, `make test-ruby` (root).
include ext/ruby/ruby.mk
include bench/bench.mk
