# The benchmark suite. Included from the top Makefile, whose variables and
# targets (deps, mounts) it uses.
#
#   make bench        (root) install what is missing, build, run every
#                     benchmark and print one table; method and a recorded
#                     run: docs/PERFORMANCE.md
#
# BENCH_ROUNDS (rounds per figure, default 7), BENCH_SCALE (loop length
# factor, default 1) and BENCH_QUICK=1 (3 rounds) trade time for steadier
# medians. The raw figures land in $(OUTPUT)/bench/results.txt.

BENCH_SRCS := $(sort $(wildcard bench/*.c))
BENCH_BINS := $(patsubst bench/%.c,$(OUTPUT)/bench/%,$(BENCH_SRCS))

# The tools the side by side compares against; a missing one is skipped.
BENCH_PKGS := strace bpftrace

.PHONY: bench bench-build bench-deps

$(OUTPUT)/bench:
	$(Q)mkdir -p $@

# lib/ for ring.h too: the drain benchmarks replay records through the
# consumer without a kernel.
$(OUTPUT)/bench/%: bench/%.c lib/*.h bpf/viv_event.h $(LIBVIV) | $(OUTPUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(LUAJIT_CFLAGS) -o $@ $< $(LIBVIV) \
		$(LUAJIT_LIBS) $(LIBS) -ldl -lm -lpthread

bench-build: $(VIVARIUM) $(BENCH_BINS)

bench-deps:
	$(Q)missing=; for p in $(BENCH_PKGS); do \
		dpkg-query -W -f='$${db:Status-Abbrev}' $$p 2>/dev/null | \
			grep -q '^ii' || missing="$$missing $$p"; \
	done; \
	[ -z "$$missing" ] && exit 0; \
	[ "$$(id -u)" = 0 ] || exit 0; \
	echo "bench-deps: installing$$missing"; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -qq && apt-get install -y -qq --no-install-recommends \
		$$missing >/dev/null || echo "bench-deps: could not install" \
		"$$missing; those comparisons are skipped" >&2

bench: deps mounts bench-deps
	$(Q)$(MAKE) --no-print-directory bench-build
	$(Q)VIVARIUM=$(abspath $(VIVARIUM)) BENCH_BIN=$(abspath $(OUTPUT)/bench) \
		bash bench/run.sh
